#!/usr/bin/env python3
"""Asserts the invocations of layer-build/test-app made by test-layer.sh (runtime_api.py's RESULTS.json).

Prints "ok NAME" / "FAIL NAME (detail)" lines, one per check, in the order of the events in test-layer.sh:
/, /date, /text, /db, /session, /session (with the cookie of the previous answer), /tls, /env, /missing.
"""
import base64
import json
import sys

# Bref's default set: the layer's defaults plus curl, intl, pdo_pgsql and xsl, which the test app enables in its
# php/conf.d. pcntl is left out: Debian compiles it into the CLI only (test-layer.sh checks it there).
BREF_DEFAULT = ["bcmath", "ctype", "curl", "dom", "exif", "fileinfo", "ftp", "gettext", "iconv", "mbstring", "mysqli",
                "pdo_mysql", "pdo_pgsql", "pdo_sqlite", "posix", "sodium", "sockets", "sqlite3", "xml",
                "xsl", "zip", "intl", "openssl"]


def main():
    # --partial: only the events present are checked (a foreign-architecture layer, whose pages test-layer.sh
    # renders with the CLI under qemu instead of through the bootstrap)
    partial = "--partial" in sys.argv
    run = json.load(open(sys.argv[1]))
    responses = {}
    for r in run["results"]:
        if r["status"] != "response":
            print(f"FAIL event {r['event']} answered with /error ({r['body'][:300]})")
            continue
        try:
            resp = json.loads(r["body"])
            body = resp.get("body") or ""
            if resp.get("isBase64Encoded"):
                body = base64.b64decode(body).decode(errors="replace")
            resp["text"] = body
            responses[r["event"]] = resp
        except ValueError:
            print(f"FAIL event {r['event']}: response is not JSON ({r['body'][:200]})")
    if run.get("init_error"):
        print(f"FAIL init ({run['init_error'][:300]})")

    def check(name, cond, detail=""):
        print(("ok " if cond else "FAIL ") + name + (f" ({detail})" if detail and not cond else ""))

    def page(i, name):
        resp = responses.get(i)
        if resp is None and partial:
            return None
        if resp is None:
            check(name, False, "no response")
            return None
        if resp.get("statusCode") != 200:
            check(name, False, f"status {resp.get('statusCode')}: {resp['text'][:300]}")
            return None
        try:
            return json.loads(resp["text"]) if i else resp
        except ValueError:
            check(name, False, f"not JSON: {resp['text'][:300]}")
            return None

    home = page(0, "page /")
    if home:
        ctype = {k.lower(): v for k, v in home.get("headers", {}).items()}.get("content-type", "")
        check("page / renders HTML", "Hello from PHP" in home["text"] and "text/html" in ctype, home["text"][:200])
        check("v2 response has cookies array", isinstance(home.get("cookies"), list), str(home.keys()))

    d = page(1, "date")
    if d:
        check("date: default time zone UTC", d["default"] == "UTC", d["default"])
        check("date: UTC -> Europe/Paris (summer time)", d["paris"] == "2024-07-01T14:00:00+02:00", d["paris"])
        check("date: UTC -> America/New_York (winter)", d["new_york_winter"] == "2024-01-15T07:00:00-05:00",
              d["new_york_winter"])
        check("date: Asia/Tokyo abbreviation", d["tokyo"] == "2024-07-01 21:00 JST", d["tokyo"])
        check("date: zone.tab lists the identifiers", d["identifiers"] > 300, d["identifiers"])
        check("date: strtotime leap day", d["strtotime"] == "2024-02-29", d["strtotime"])

    t = page(2, "text")
    if t:
        check("iconv UTF-8 -> ISO-8859-1", t["latin1"] == "e9", t["latin1"])
        check("iconv via gconv module (ISO-8859-15 euro)", t["latin9_euro"] == "a4", t["latin9_euro"])
        check("iconv via gconv module (SHIFT_JIS)", t["shift_jis"] == "93fa967b", t["shift_jis"])
        check("mbstring upper-case", t["mb_upper"] == "ÄRGER", t["mb_upper"])
        check("C.UTF-8 locale found", t["locale_c_utf8"] == "C.UTF-8", t["locale_c_utf8"])
        check("intl NumberFormatter de_DE", t["intl_number"] == "1.234.567,891", t["intl_number"])
        check("intl IntlDateFormatter fr_FR", t["intl_date"] == "14 juillet 2024", t["intl_date"])
        check("intl Collator de_DE", t["intl_collator"] == "Äpfel,apple,Zebra", t["intl_collator"])
        check("intl Transliterator", t["intl_translit"] == "Privet", t["intl_translit"])

    db = page(3, "db")
    if db:
        check("pdo_sqlite in memory", db["memory"] == "héllo", db["memory"])
        check("pdo_sqlite file in /tmp", db["file"] == "ok", db["file"])
        check("sqlite3 extension", isinstance(db["sqlite3"], str) and db["sqlite3"][:1] == "3", db["sqlite3"])
        check("PDO drivers mysql, pgsql, sqlite", {"mysql", "pgsql", "sqlite"} <= set(db["drivers"]), db["drivers"])

    s1, s2 = page(4, "session start"), page(5, "session resume")
    if s1 and s2:
        check("session stored and resumed with its cookie", (s1["visits"], s2["visits"]) == (1, 2),
              f"visits {s1['visits']} then {s2['visits']}, save_path {s1['save_path']}")

    tls = page(6, "tls")
    if tls:
        check("CA bundle readable with the Mozilla roots", tls["bundle_certs"] > 100, tls)
        check("CA bundle has ISRG Root X1", tls["bundle_has_isrg_root_x1"], tls)
        check("openssl.cafile and curl.cainfo set", tls["openssl_cafile"] == tls["curl_cainfo"] != "", tls)
        check("curl https: fails to connect (7), not on TLS setup", tls["curl_errno"] == 7 and tls["curl_https"],
              f"{tls['curl_errno']} {tls['curl_error']}")

    env = page(7, "env")
    if env:
        loaded = {e.lower() for e in env["extensions"]}
        missing = [e for e in BREF_DEFAULT if e not in loaded]
        check("php-fpm has Bref's default extensions", not missing, f"missing {missing}")
        check("opcache enabled in php-fpm", env["opcache"] is True, env["opcache"])
        check("runs as the unprivileged user", env["uid"] == 65534, env["uid"])
        check("/tmp writable, /var/task read-only", env["tmp_writable"] and not env["task_writable"], env)
        check("SAPI is fpm-fcgi", env["sapi"] == "fpm-fcgi", env["sapi"])

    miss = responses.get(8)
    if partial and miss is None:
        return
    check("unknown path gives the app's 404", miss is not None and miss.get("statusCode") == 404,
          miss and miss.get("statusCode"))


if __name__ == "__main__":
    main()
