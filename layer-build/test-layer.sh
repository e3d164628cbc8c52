#!/usr/bin/env bash
# Proves a layer zip works with nothing but itself: unpacks it into an empty root that has only /opt (the
# layer, read-only), /var/task (an app, read-only), a fresh /tmp, /proc and /dev (bubblewrap), runs
# /opt/bootstrap there as an unprivileged user (uid 65534) against a local Runtime API
# (layer-build/runtime_api.py) and checks real invocations, then `php -v` / `php -m` in the same root.
#
#   layer-build/test-layer.sh target/layer/lambda-fpm-php84-x86_64.zip
#
# Prints one line per check ("ok NAME", "FAIL NAME (detail)") and ends with
# "test-layer: N passed, N failed, N skipped"; exits non-zero on any failure. COLD_RUNS (default 5) sets how
# many cold starts are measured.
# A layer of another architecture (arm64 on an x86_64 host) runs under qemu-user: with qemu registered in
# binfmt_misc (`mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc`, then install qemu-user-static)
# every check runs, invocations included; without it only the PHP CLI checks can, through qemu called
# explicitly (the bootstrap could not exec an arm64 php-fpm).
# Needs: bubblewrap, unzip, python3, setpriv (util-linux), unprivileged user namespaces.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 LAYER.zip|IMAGE_DIR" >&2; exit 2; }
ZIP=$(realpath "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
COLD_RUNS=${COLD_RUNS:-5}
# The PHP version the zip's name promises (lambda-fpm-php84-... -> 8.4), checked against `php -v`.
LAYER_PHP=""
if [[ $(basename "$ZIP") =~ php([0-9])([0-9]+) ]]; then LAYER_PHP="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}."; fi

. "$HERE/sandbox.sh"
sandbox_workdir

RESULTS=$WORK/checks.txt
: > "$RESULTS"
record() { echo "$1 $2${3:+ ($3)}" | tee -a "$RESULTS"; }   # record ok|FAIL name [detail]

# The examples/hello checks below run this app (an image brings its own) with this entrypoint and handler.
HELLO_SRC=$REPO/examples/hello
ENTRYPOINT=/opt/bootstrap
if [ -f "$ZIP/oci-layout" ]; then
  # An OCI image (layer-build/oci_image.py): unpacked as a container runtime would (umoci), then the same
  # checks run on its /opt, and the examples/hello checks on its /var/task with its entrypoint and _HANDLER.
  command -v umoci > /dev/null || { echo "test-layer: umoci is needed to unpack an image (apt-get install umoci)" >&2; exit 1; }
  umoci unpack --rootless --image "$ZIP:latest" "$WORK/bundle" > /dev/null
  mv "$WORK/bundle/rootfs/opt" "$WORK/opt"
  HELLO_SRC=$WORK/bundle/rootfs/var/task
  read -r ENTRYPOINT HANDLER < <(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["process"]
env = dict(e.split("=", 1) for e in p["env"])
print(" ".join(p["args"]), env.get("_HANDLER", ""))' "$WORK/bundle/config.json")
  [ "$ENTRYPOINT" = /opt/bootstrap ] && [ -f "$HELLO_SRC/$HANDLER" ] \
    && record ok "image: entrypoint /opt/bootstrap, _HANDLER=$HANDLER in /var/task" \
    || record FAIL "image: entrypoint and handler" "entrypoint '$ENTRYPOINT', _HANDLER '$HANDLER'"
  IMAGE_HANDLER=$HANDLER
else
  unzip -q "$ZIP" -d "$WORK/opt"
fi
# The test app, copied so that uid 65534 can read it wherever the repo lives.
cp -r "$HERE/test-app" "$WORK/task"
chmod -R a+rX "$WORK/task"

sandbox_init "$WORK/opt"
# Under qemu everything takes 5-10 times longer: so do the time limits.
SLOW=1
[ "$SANDBOX_EMULATION" = none ] || SLOW=5

# The CLI as a user would run it by hand (artisan, bin/console): php.ini and the layer's conf.d.
# PHP_CLI_SCAN_DIR adds the app's conf.d, as docs/deploy.md tells users to.
php_cli() {
  sandbox_argv "$WORK/task" "$(fresh_tmp)" --setenv PHP_INI_SCAN_DIR "${PHP_CLI_SCAN_DIR:-/opt/php-ini/conf.d}"
  "${SB[@]}" /opt/bin/php -c /opt/php-ini/php.ini "$@"
}

# ---- CLI in the same root
if out=$(php_cli -v 2>&1) && grep -q "^PHP ${LAYER_PHP//./\\.}" <<< "$out"; then
  record ok "php -v" "$(head -1 <<< "$out")"
else
  record FAIL "php -v" "$out"
fi
MODULES=$(php_cli -m 2>&1 || true)
missing=""
for m in bcmath ctype date dom exif fileinfo filter ftp gettext hash iconv json libxml mbstring mysqli mysqlnd \
  openssl pcntl pcre PDO pdo_mysql pdo_sqlite Phar posix Reflection session SimpleXML sockets sodium SPL sqlite3 \
  tokenizer xml xmlreader xmlwriter zip zlib "Zend OPcache"; do
  grep -qxF "$m" <<< "$MODULES" || missing="$missing $m"
done
# ... and not the ones left off for their start-up cost.
for m in curl intl pdo_pgsql xsl gd imagick; do grep -qxF "$m" <<< "$MODULES" && missing="$missing (on: $m)"; done
[ -z "$missing" ] && record ok "php -m lists the default extensions, and not the optional ones" || record FAIL "php -m" "missing:$missing"
if grep -qiE 'warning|error' <<< "$MODULES"; then record FAIL "php -m starts cleanly" "$(grep -iE 'warning|error' <<< "$MODULES" | head -3)"; else record ok "php -m starts cleanly"; fi

# php-fpm itself accepts the layer's php-fpm.conf and php.ini (the values the bootstrap fills in at start).
sandbox_argv "$WORK/task" "$(fresh_tmp)" --setenv LAMBDA_FPM_SOCKET /tmp/fpm.sock --setenv LAMBDA_FPM_WORKERS 1 \
  --setenv LAMBDA_FPM_TMP /tmp --setenv LAMBDA_FPM_OPCACHE_REVALIDATE 0 --setenv PHP_INI_SCAN_DIR /opt/php-ini/conf.d
# error_log = /proc/self/fd/2 reopens stderr, which must belong to the sandbox user (as the bootstrap's pipe does).
FPM_OUT=$WORK/fpm-t.txt
install -o 65534 -g 65534 /dev/null "$FPM_OUT"
if "${SB[@]}" /opt/bin/php-fpm -t -y /opt/fpm-config/php-fpm.conf -c /opt/php-ini/php.ini >> "$FPM_OUT" 2>&1; then
  record ok "php-fpm -t" "$(tail -1 "$FPM_OUT")"
else
  record FAIL "php-fpm -t" "$(cat "$FPM_OUT")"
fi

# Every library mapped into PHP comes from /opt, even with Lambda's LD_LIBRARY_PATH naming other dirs.
maps=$(php_cli -r 'echo file_get_contents("/proc/self/maps");' 2>&1 | grep -oE '/[^ ]+\.so[^ ]*' | sort -u || true)
outside=$(grep -v '^/opt/' <<< "$maps" || true)
[ -n "$maps" ] && [ -z "$outside" ] && record ok "CLI loads libraries only from /opt" "$(wc -l <<< "$maps") files" \
  || record FAIL "CLI loads libraries only from /opt" "$outside"

# Extensions shipped but off load once enabled, with their data (ImageMagick coders) found.
OPTIONAL=$(cd "$WORK/opt/lib/php/extensions" && ls)
ENABLE=()
for e in curl intl pdo_pgsql xsl apcu igbinary redis gd imagick; do
  grep -qx "$e.so" <<< "$OPTIONAL" && ENABLE+=(-d "extension=$e")
done
opt_out=$(php_cli "${ENABLE[@]}" -r '
  $r = [];
  foreach (["curl", "intl", "pdo_pgsql", "xsl", "apcu", "igbinary", "redis", "gd", "imagick"] as $e) { $r[$e] = extension_loaded($e); }
  if (class_exists("Imagick")) {
    $i = new Imagick(); $i->newImage(8, 8, "red"); $i->setImageFormat("png");
    $j = new Imagick(); $j->readImageBlob($i->getImagesBlob()); $j->setImageFormat("jpeg");
    $r["imagick_png_to_jpeg"] = strlen($j->getImagesBlob()) > 100;
    $r["imagick_formats"] = count(Imagick::queryFormats());
  }
  if (function_exists("imagecreatetruecolor")) {
    ob_start(); imagepng(imagecreatetruecolor(4, 4)); $r["gd_png"] = strlen(ob_get_clean()) > 50;
    $r["gd_webp"] = function_exists("imagewebp");
  }
  echo json_encode($r);' 2>&1 || true)
python3 - "$opt_out" "$OPTIONAL" <<'EOF' | tee -a "$RESULTS"
import json, sys
out, shipped = sys.argv[1], sys.argv[2].split()
try:
    r = json.loads(out)
except ValueError:
    print(f"FAIL optional extensions load when enabled ({out[:300]})")
    sys.exit()
for e in ("curl", "intl", "pdo_pgsql", "xsl", "apcu", "igbinary", "redis", "gd", "imagick"):
    if f"{e}.so" in shipped:
        print(("ok" if r.get(e) else "FAIL") + f" {e} loads when enabled")
if "imagick.so" in shipped:
    print(("ok" if r.get("imagick_png_to_jpeg") else "FAIL") + f" imagick converts PNG to JPEG ({r.get('imagick_formats')} formats)")
if "gd.so" in shipped:
    print(("ok" if r.get("gd_png") else "FAIL") + " gd writes PNG")
EOF

# ---- the runtime: invocations through /opt/bootstrap
python3 - "$WORK/events.json" <<'EOF'
import json, sys
def v2(path, query=""):
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {"host": "x.example.com", "accept": "*/*", "user-agent": "test-layer"},
            "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                                        "sourceIp": "1.2.3.4", "userAgent": "test-layer"},
                               "domainName": "x.example.com", "requestId": "r", "stage": "$default"},
            "isBase64Encoded": False}
# /session twice: the second carries the cookie the first answer set
events = [v2("/"), v2("/date"), v2("/text"), v2("/db"), v2("/session"),
          {"event": v2("/session"), "cookie_from": 4}, v2("/tls"), v2("/env"), v2("/missing")]
json.dump(events, open(sys.argv[1], "w"))
EOF
if [ "$SANDBOX_EMULATION" != explicit ]; then
  [ "$SANDBOX_EMULATION" = none ] || record ok "$LAYER_ARCH binaries run through binfmt_misc" "invocations under qemu"
  sandbox_argv "$WORK/task" "$(fresh_tmp)" --setenv AWS_LAMBDA_RUNTIME_API @RUNTIME_API@
  python3 "$HERE/runtime_api.py" --events "$WORK/events.json" --out "$WORK/run.json" --timeout $((60 * SLOW)) -- \
    "${SB[@]}" /opt/bootstrap > "$WORK/bootstrap.log" 2>&1 || true
  python3 "$HERE/check_run.py" "$WORK/run.json" | tee -a "$RESULTS"

  # Cold start of the layer as it ships: the test app without its php/conf.d (so no optional extension), a
  # fresh /tmp each time (no opcache file cache), median of COLD_RUNS.
  mkdir -p "$WORK/bare"
  cp -r "$WORK/task/public" "$WORK/bare/"
  python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))[:1], open(sys.argv[2], "w"))' \
    "$WORK/events.json" "$WORK/one.json"
  for i in $(seq "$COLD_RUNS"); do
    sandbox_argv "$WORK/bare" "$(fresh_tmp)" --setenv AWS_LAMBDA_RUNTIME_API @RUNTIME_API@
    python3 "$HERE/runtime_api.py" --events "$WORK/one.json" --out "$WORK/cold$i.json" --timeout $((30 * SLOW)) -- \
      "${SB[@]}" /opt/bootstrap > /dev/null 2>&1 || true
  done
  python3 - "$WORK" "$COLD_RUNS" <<'EOF' | tee -a "$RESULTS"
import json, statistics, sys
work, n = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(f"{work}/cold{i}.json"))["cold_start"] for i in range(1, n + 1)]
nxt = [r["spawn_to_first_next_ms"] for r in runs if r["spawn_to_first_next_ms"] is not None]
rsp = [r["spawn_to_first_response_ms"] for r in runs if r["spawn_to_first_response_ms"] is not None]
if len(rsp) == n:
    print(f"ok cold start, median of {n}: spawn -> first /next {statistics.median(nxt):.0f} ms,"
          f" spawn -> first response {statistics.median(rsp):.0f} ms (min {min(rsp):.0f}, max {max(rsp):.0f})")
else:
    print(f"FAIL cold start runs ({len(rsp)}/{n} answered)")
EOF

  # The example app, as examples/hello/template.yaml deploys it: a PHP page and a static asset.
  if [ -d "$HELLO_SRC" ]; then
    cp -r "$HELLO_SRC" "$WORK/hello"
    chmod -R a+rX "$WORK/hello"
    python3 - "$WORK/hello.json" <<'EOF'
import json, sys
def v2(path):
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": {"host": "x.example.com"},
            "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4"},
                               "domainName": "x.example.com", "requestId": "r"}, "isBase64Encoded": False}
json.dump([v2("/"), v2("/style.css")], open(sys.argv[1], "w"))
EOF
    SANDBOX_HANDLER=${IMAGE_HANDLER:-public/index.php} sandbox_argv "$WORK/hello" "$(fresh_tmp)" \
      --setenv AWS_LAMBDA_RUNTIME_API @RUNTIME_API@
    python3 "$HERE/runtime_api.py" --events "$WORK/hello.json" --out "$WORK/hello-run.json" --timeout $((30 * SLOW)) -- \
      "${SB[@]}" $ENTRYPOINT > "$WORK/hello.log" 2>&1 || true
    python3 - "$WORK/hello-run.json" <<'EOF' | tee -a "$RESULTS"
import json, sys
try:
    res = {r["event"]: json.loads(r["body"]) for r in json.load(open(sys.argv[1]))["results"] if r["status"] == "response"}
except (OSError, ValueError):
    res = {}
page, css = res.get(0, {}), res.get(1, {})
print(("ok" if page.get("statusCode") == 200 and "lambda-fpm" in page.get("body", "") else "FAIL")
      + f" examples/hello page (status {page.get('statusCode')})")
ctype = {k.lower(): v for k, v in (css.get("headers") or {}).items()}.get("content-type", "")
print(("ok" if css.get("statusCode") == 200 and "text/css" in ctype else "FAIL")
      + f" examples/hello style.css (status {css.get('statusCode')}, {ctype or 'no content-type'})")
EOF
  fi

  # Events that are not HTTP requests: an SQS batch through the event handler (on the layer's PHP glue in
  # /opt/lambda-fpm/php), a direct invocation, and console commands with the layer's PHP CLI.
  python3 - "$REPO/tests/fixtures/events/sqs-batch.json" "$WORK/more.json" <<'EOF'
import json, sys
sqs = json.load(open(sys.argv[1]))
json.dump([sqs, {"hello": 1}, "info 'two words'", "exit 3"], open(sys.argv[2], "w"))
EOF
  sandbox_argv "$WORK/task" "$(fresh_tmp)" --setenv AWS_LAMBDA_RUNTIME_API @RUNTIME_API@ \
    --setenv LAMBDA_FPM_EVENT_HANDLER worker.php --setenv LAMBDA_FPM_CONSOLE console.php
  python3 "$HERE/runtime_api.py" --events "$WORK/more.json" --out "$WORK/more-run.json" --timeout 60 -- \
    "${SB[@]}" /opt/bootstrap > "$WORK/events.log" 2>&1 || true
  python3 - "$WORK/more-run.json" "$LAYER_PHP" <<'EOF' | tee -a "$RESULTS"
import json, sys
try:
    res = {r["event"]: r for r in json.load(open(sys.argv[1]))["results"]}
except (OSError, ValueError):
    res = {}
def body(i):
    try:
        return json.loads(res[i]["body"])
    except (KeyError, ValueError):
        return {}
sqs, direct, info, fail = body(0), body(1), body(2), body(3)
failed = [f.get("itemIdentifier") for f in sqs.get("batchItemFailures", [{}])]
print(("ok" if res.get(0, {}).get("status") == "response" and failed == ["2e1424d4-f796-459a-8184-9c92662be6da"]
       else "FAIL") + f" SQS batch through the event handler and /opt/lambda-fpm/php (batchItemFailures {failed})")
print(("ok" if direct.get("source") == "direct" and direct.get("sapi") == "fpm-fcgi" and direct.get("uid") == 65534
       else "FAIL") + f" direct invocation through php-fpm ({direct})")
try:
    cli = json.loads(info.get("output", ""))
except ValueError:
    cli = {}
good = (info.get("exitCode") == 0 and cli.get("args") == ["info", "two words"] and cli.get("binary") == "/opt/bin/php"
        and cli.get("ini") == "/opt/php-ini/php.ini" and cli.get("cwd") == "/var/task" and cli.get("pcntl") is True
        and cli.get("pdo_sqlite") is True and cli.get("tmp") == "/tmp" and cli.get("timezone") == "UTC"
        and cli.get("version", "").startswith(sys.argv[2]) and cli.get("uid") == 65534)
print(("ok" if good else "FAIL") + f" console command with the layer's PHP CLI ({info.get('exitCode')}: {cli or info})")
print(("ok" if res.get(3, {}).get("status") == "error" and fail.get("errorType") == "Function.CommandFailed"
       and "exiting with 3" in fail.get("errorMessage", "") else "FAIL")
      + f" console exit code 3 is Function.CommandFailed ({fail.get('errorType')})")
EOF

  # A precompiled app (layer-build/precompile.sh): php-fpm must run the compiled scripts it finds in the
  # app's .opcache (read-only, through the bootstrap's link) instead of compiling the sources. Proof: the
  # source changes after precompiling and the page still says what the compiled script says (opcache does
  # not revalidate on Lambda).
  cp -r "$HERE/test-app" "$WORK/pre"
  if "$HERE/precompile.sh" "$WORK/opt" "$WORK/pre" > "$WORK/precompile.log" 2>&1; then
    sed -i 's/Hello from PHP/Changed after precompiling/' "$WORK/pre/public/index.php"
    chmod -R a+rX "$WORK/pre"
    PRE_TMP=$(fresh_tmp)
    sandbox_argv "$WORK/pre" "$PRE_TMP" --setenv AWS_LAMBDA_RUNTIME_API @RUNTIME_API@
    python3 "$HERE/runtime_api.py" --events "$WORK/one.json" --out "$WORK/pre-run.json" --timeout $((30 * SLOW)) -- \
      "${SB[@]}" /opt/bootstrap > "$WORK/pre.log" 2>&1 || true
    links=$(find "$PRE_TMP/opcache" -mindepth 3 -maxdepth 3 -type l -path '*/var/task' | wc -l)
    python3 - "$WORK/pre-run.json" "$links" "$(grep -o '[0-9]* scripts' "$WORK/precompile.log")" <<'EOF' | tee -a "$RESULTS"
import json, sys
try:
    r = json.load(open(sys.argv[1]))["results"][0]
    body = json.loads(r["body"]).get("body", "")
except (OSError, ValueError, IndexError, KeyError):
    body = ""
ok = "Hello from PHP" in body and sys.argv[2] == "1"
print(("ok" if ok else "FAIL") + f" precompiled app runs its compiled scripts from /var/task/.opcache ({sys.argv[3]},"
      f" {sys.argv[2]} link, page: {body[:80]!r})")
EOF
  else
    record FAIL "layer-build/precompile.sh on the test app" "$(tail -5 "$WORK/precompile.log")"
  fi
else
  record skip "invocations" "a $LAYER_ARCH bootstrap cannot start php-fpm on this $(uname -m) host without binfmt_misc"
  # Still, the bootstrap itself must start on the layer's loader under qemu, read its configuration and talk
  # to the Runtime API: it reports php-fpm's failed start (exec format error) as an init error.
  python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))[:1], open(sys.argv[2], "w"))' \
    "$WORK/events.json" "$WORK/one.json"
  sandbox_argv "$WORK/task" "$(fresh_tmp)" --setenv AWS_LAMBDA_RUNTIME_API @RUNTIME_API@
  python3 "$HERE/runtime_api.py" --events "$WORK/one.json" --out "$WORK/init.json" --timeout $((30 * SLOW)) -- \
    "${SB[@]}" /opt/bootstrap > "$WORK/bootstrap.log" 2>&1 || true
  init_error=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["init_error"] or "")' "$WORK/init.json")
  if grep -q 'Runtime\.' <<< "$init_error"; then
    record ok "$LAYER_ARCH bootstrap starts under qemu and reaches the Runtime API" "init error, as expected"
  else
    record FAIL "$LAYER_ARCH bootstrap starts under qemu" "$(tail -5 "$WORK/bootstrap.log")"
  fi
  # The same pages rendered by the CLI under qemu: PHP's side of the checks (time zones, gconv, ICU, SQLite,
  # CA bundle) for this architecture.
  for i in 1:/date 2:/text 3:/db 6:/tls; do
    PHP_CLI_SCAN_DIR=/opt/php-ini/conf.d:/var/task/php/conf.d \
      php_cli -r '$_SERVER["REQUEST_URI"] = $argv[1]; include "/var/task/public/index.php";' "${i#*:}" \
      > "$WORK/page${i%%:*}.txt" 2>&1 || true
  done
  python3 - "$WORK" > "$WORK/run.json" <<'EOF'
import json, sys
results = [{"event": i, "status": "response",
            "body": json.dumps({"statusCode": 200, "body": open(f"{sys.argv[1]}/page{i}.txt").read()})}
           for i in (1, 2, 3, 6)]
print(json.dumps({"results": results, "init_error": None}))
EOF
  python3 "$HERE/check_run.py" "$WORK/run.json" --partial | sed 's/^\(ok\|FAIL\) /\1 CLI: /' | tee -a "$RESULTS"
fi

if grep -q '^FAIL' "$RESULTS"; then
  for log in bootstrap hello events pre; do
    [ -s "$WORK/$log.log" ] && { echo "--- $log run: bootstrap output (last 30 lines)"; tail -30 "$WORK/$log.log"; }
  done
fi
passed=$(grep -c '^ok' "$RESULTS" || true)
failed=$(grep -c '^FAIL' "$RESULTS" || true)
skipped=$(grep -c '^skip' "$RESULTS" || true)
echo "($(basename "$ZIP"))"
echo "test-layer: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
