//! Hostile input (issue 6): every event gets a correct answer (a 4xx/5xx in the event's response shape, or
//! an `/error` when it is not an HTTP event at all), never a panic, never a secret file, never PHP source.
//!
//! Covered elsewhere: `_` and odd characters in header names, the `Proxy` header (events.rs
//! `headers_with_underscores_or_odd_characters_are_dropped`, `proxy_header_never_becomes_http_proxy`),
//! `X-Forwarded-For` vs `REMOTE_ADDR` per source (events.rs `remote_addr_is_the_real_client`), non-JSON
//! and non-HTTP events (failures.rs).

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::faults::{assert_no_panic, Warm};
use crate::support::events::{load_raw, set_body, set_header, set_method};
use crate::support::{app_root, body_bytes, server, Lambda, Outcome, Source, HANDLER};

/// Strings that must never appear in a response: secret files' contents and PHP source.
const NEVER_SERVED: &[&str] = &[
    "SECRET_ENV_MARKER",
    "hunter2",
    "SECRET_BACKUP_MARKER",
    "SECRET_OUTSIDE_MARKER",
    "BACKUP_SOURCE_MARKER",
    "GIT_CONFIG_MARKER",
    "HTACCESS_MARKER",
    "IMAGE_EXECUTED_MARKER",
    "FAULTS_SOURCE_MARKER",
    "Fixture front controller",
    "<?php",
    "root:x:0:0",
];

fn assert_nothing_leaked(what: &str, resp: &Value) {
    let body = String::from_utf8_lossy(&body_bytes(resp)).into_owned();
    let headers = format!("{}{}", resp["headers"], resp["multiValueHeaders"]);
    for secret in NEVER_SERVED {
        assert!(
            !body.contains(secret) && !headers.contains(secret),
            "{what}: served {secret:?}: {resp}"
        );
    }
}

/// A copy of the fixture app with more files that must never be served: backups and source of every
/// kind, a `.git` directory, an image holding PHP code, and symlinks out of the document root.
/// `private/secret.txt` (outside `public/`, the document root) holds SECRET_OUTSIDE_MARKER.
pub fn hostile_root() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("lfpm-hostile-")
        .tempdir()
        .expect("tempdir");
    copy_dir(&app_root(), dir.path());
    let public = dir.path().join("public");
    let backup = "<?php // BACKUP_SOURCE_MARKER\necho 'BACKUP_SOURCE' . '_MARKER';\n";
    for name in [
        "index.phps",
        "config.inc",
        "index.php~",
        "index.php.bak",
        "index.php.orig",
        ".index.php.swp",
        "index.php.swp",
        "index.phtml",
        "old.php7",
        "legacy.php5",
        "tool.phar",
        "upper.PHP",
        "mixed.PhP",
        "x.pht",
    ] {
        std::fs::write(public.join(name), backup).expect("write backup");
    }
    std::fs::create_dir_all(public.join(".git")).expect("mkdir .git");
    std::fs::write(public.join(".git/config"), "[core] GIT_CONFIG_MARKER\n").expect("write");
    std::fs::write(public.join(".htaccess"), "HTACCESS_MARKER\n").expect("write");
    std::fs::write(
        public.join("image.jpg"),
        "<?php echo 'IMAGE_EXECUTED' . '_MARKER';\n",
    )
    .expect("write");
    std::fs::create_dir_all(public.join("assets")).expect("mkdir");
    std::fs::write(public.join("assets/app.css"), "body{}\n").expect("write");
    std::os::unix::fs::symlink("../private/secret.txt", public.join("link-out.txt"))
        .expect("symlink");
    std::os::unix::fs::symlink("../private", public.join("dir-link")).expect("symlink");
    std::os::unix::fs::symlink("/etc/passwd", public.join("passwd.txt")).expect("symlink");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

async fn start_hostile() -> (tempfile::TempDir, Lambda) {
    let root = hostile_root();
    let mut lambda = Lambda::start_app(root.path(), HANDLER, &[]).await;
    lambda.ready().await;
    (root, lambda)
}

fn status(resp: &Value) -> i64 {
    resp["statusCode"].as_i64().unwrap_or(-1)
}

/// Whether a 200 came from the front controller's dump (so no file was served).
fn is_front_controller(resp: &Value) -> bool {
    serde_json::from_slice::<Value>(&body_bytes(resp))
        .map(|d| d["script"] == "index.php")
        .unwrap_or(false)
}

// ----- files ----------------------------------------------------------------------------------------------

/// Path traversal in every encoding, dotfiles, PHP source and backups, symlinks out of the root and the
/// `/image.jpg/x.php` trick, through every event source: each is 400, 404, a redirect, or the front
/// controller (which serves no file): never a secret, never source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_dotfiles_source_and_backups_are_never_served() {
    let (_root, mut lambda) = start_hostile().await;
    let warm = Warm::take(&mut lambda).await;
    let paths = [
        // traversal, every encoding
        "/../private/secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/private/secret.txt",
        "/%2E%2E/private/secret.txt",
        "/.%2e/private/secret.txt",
        "/..%2fprivate%2fsecret.txt",
        "/%2e%2e%2fprivate%2fsecret.txt",
        "/..%5cprivate%5csecret.txt",
        "/..\\private\\secret.txt",
        "/%252e%252e/private/secret.txt",
        "/%252e%252e%252fprivate%252fsecret.txt",
        "/%c0%ae%c0%ae/private/secret.txt",
        "/%c0%ae%c0%ae%c0%afprivate%c0%afsecret.txt",
        "/%e0%80%ae%e0%80%ae/private/secret.txt",
        "/..%00/private/secret.txt",
        "/hello.txt%00.php",
        "/./.././private/secret.txt",
        "//../private/secret.txt",
        "/assets/../../private/secret.txt",
        "/index.php/../../private/secret.txt",
        "/other.php/%2e%2e/%2e%2e/private/secret.txt",
        // symlinks out of the root
        "/link-out.txt",
        "/dir-link/secret.txt",
        "/dir-link/",
        "/passwd.txt",
        // dotfiles and dot-directories
        "/.env",
        "/%2eenv",
        "/.env%00",
        "/.env/",
        "/.ENV",
        "/assets/../.env",
        "/.git/config",
        "/%2egit/config",
        "/.htaccess",
        "/.index.php.swp",
        // source and backups
        "/secret.php~",
        "/index.php~",
        "/index.phps",
        "/config.inc",
        "/index.php.bak",
        "/index.php.orig",
        "/index.php.swp",
        "/index.phtml",
        "/old.php7",
        "/legacy.php5",
        "/tool.phar",
        "/upper.PHP",
        "/mixed.PhP",
        "/x.pht",
        "/faults.php%00.txt",
        "/INDEX.PHPS",
        // a file that is not PHP never runs as PHP
        "/image.jpg/x.php",
        "/image.jpg/index.php",
        "/image.jpg%2fx.php",
        "/hello.txt/.php",
    ];
    let mut table = Vec::new();
    for path in paths {
        for source in Source::ALL {
            let what = format!("{source:?} {path}");
            let outcome = lambda.invoke(&source.event("GET", path, &[])).await;
            let resp = lambda.expect_response(&outcome);
            assert_nothing_leaked(&what, &resp);
            let st = status(&resp);
            let ok = matches!(st, 400 | 404 | 301) || (st == 200 && is_front_controller(&resp));
            assert!(ok, "{what}: unexpected answer {st}: {resp}");
            if source == Source::HttpV2 {
                table.push(format!(
                    "{path} -> {st}{}",
                    if st == 200 { " (front controller)" } else { "" }
                ));
            }
        }
    }
    eprintln!("traversal matrix (HTTP API v2):\n{}", table.join("\n"));
    // a directory redirect keeps the query, but a hostile raw query cannot split the Location header
    for source in [Source::HttpV2, Source::Alb] {
        let mut event = source.event("GET", "/assets", &[]);
        if source.is_v2() {
            event["rawQueryString"] = json!("a=1\r\nSet-Cookie: evil=1");
        } else {
            event["queryStringParameters"] = json!({"a": "1\r\nSet-Cookie: evil=1"});
        }
        let resp = lambda.respond(&event).await;
        assert_eq!(resp["statusCode"], 301, "{source:?}: {resp}");
        let location = resp["headers"]
            .as_object()
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("location")))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            location, "/assets/?a=1%0D%0ASet-Cookie: evil=1",
            "{source:?}"
        );
    }
    // the legitimate neighbours still work
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/assets/app.css", &[]))
        .await;
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(body_bytes(&resp), b"body{}\n");
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/hello.txt", &[]))
        .await;
    assert_eq!(resp["statusCode"], 200);
    warm.check(&mut lambda, "the traversal matrix", true).await;
}

/// A PHP script is always run, never sent: its source never leaves, whatever method or Accept header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_files_are_run_never_sent() {
    let (_root, mut lambda) = start_hostile().await;
    let warm = Warm::take(&mut lambda).await;
    for path in ["/index.php", "/other.php", "/faults.php/none", "/INDEX.php"] {
        for method in ["GET", "HEAD", "POST", "OPTIONS", "PROPFIND"] {
            let mut event = Source::Rest.event("GET", path, &[]);
            set_method(&mut event, method);
            set_header(&mut event, "Accept", &["application/x-httpd-php-source"]);
            let resp = lambda.respond(&event).await;
            assert_nothing_leaked(&format!("{method} {path}"), &resp);
        }
    }
    warm.check(&mut lambda, "source requests", true).await;
}

// ----- paths, queries, header values ------------------------------------------------------------------------

/// Invalid UTF-8 (percent-encoded) and control bytes in paths and queries: answered, and what reaches PHP
/// holds no raw control byte in REQUEST_URI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_and_control_bytes_in_paths_and_queries() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    let paths = [
        "/%ff%fe%fd",
        "/caf%e9",
        "/a\u{1}b\u{7f}c",
        "/tab\there",
        "/%0d%0aSet-Cookie:%20evil=1",
        "/line\r\nX-Injected: 1",
        "/\u{202e}gnp.php",
        "/%ef%bf%bf",
    ];
    for path in paths {
        for source in [Source::HttpV2, Source::Rest, Source::Alb, Source::AlbMulti] {
            let what = format!("{source:?} {path:?}");
            let resp = lambda.respond(&source.event("GET", path, &[])).await;
            assert_nothing_leaked(&what, &resp);
            let st = status(&resp);
            assert!(
                st == 400 || (st == 200 && is_front_controller(&resp)),
                "{what}: {st} {resp}"
            );
            if st == 200 {
                let dump = lambda.dump_of(&resp);
                for name in ["REQUEST_URI", "DOCUMENT_URI"] {
                    let v = server(&dump, name).unwrap_or_default();
                    assert!(
                        !v.bytes().any(|b| b < 0x20 || b == 0x7f),
                        "{what}: raw control bytes in {name} {v:?}"
                    );
                }
                let headers = format!("{}{}", resp["headers"], resp["multiValueHeaders"]);
                assert!(!headers.contains("evil"), "{what}: {headers}");
            }
        }
    }
    // control bytes and invalid escapes in the query string (raw for v2 and ALB)
    let queries = [
        "a=%ff%fe&b=%c0%ae",
        "a=\u{1}\u{7f}",
        "x=1\r\nX-Injected:%201",
        "a=1%00b",
    ];
    for q in queries {
        for source in [Source::HttpV2, Source::FunctionUrl] {
            let mut event = source.event("GET", "/q", &[]);
            event["rawQueryString"] = json!(q);
            let (resp, dump) = lambda.php(&event).await;
            assert_eq!(resp["statusCode"], 200, "{source:?} {q:?}");
            let uri = server(&dump, "REQUEST_URI").unwrap_or_default();
            let qs = server(&dump, "QUERY_STRING").unwrap_or_default();
            for (name, v) in [("REQUEST_URI", uri), ("QUERY_STRING", qs)] {
                assert!(
                    !v.bytes().any(|b| b < 0x20 || b == 0x7f),
                    "{source:?} {q:?}: raw control bytes in {name} {v:?}"
                );
            }
        }
        let mut event = Source::Alb.event("GET", "/q", &[]);
        event["queryStringParameters"] = json!({"a": q});
        let (resp, _) = lambda.php(&event).await;
        assert_eq!(resp["statusCode"], 200, "ALB {q:?}");
        // REST: parameters arrive decoded and are re-encoded
        let mut event = Source::Rest.event("GET", "/q", &[]);
        event["queryStringParameters"] = json!({"a": q});
        event["multiValueQueryStringParameters"] = json!({"a": [q]});
        let (resp, dump) = lambda.php(&event).await;
        assert_eq!(resp["statusCode"], 200, "REST {q:?}");
        assert_eq!(dump["get"]["a"], json!(q), "REST {q:?}: $_GET round trip");
    }
    warm.check(&mut lambda, "odd paths and queries", true).await;
}

/// CR, LF and NUL in header values become spaces: no header can be injected into what PHP sees, in any
/// source. Odd header names (NUL, colon, non-ASCII, CRLF) never reach PHP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crlf_and_nul_in_header_values_and_odd_names_inject_nothing() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    for source in Source::ALL {
        let mut event = source.event("GET", "/", &[]);
        set_header(&mut event, "X-Crlf", &["a\r\nX-Injected: 1\r\n\r\nbody"]);
        set_header(&mut event, "X-Nul", &["a\u{0}b"]);
        set_header(&mut event, "X-Ctl", &["\u{1b}[31mred\u{7}"]);
        set_header(&mut event, "X\u{0}Nul-Name", &["v"]);
        set_header(&mut event, "X:Colon", &["v"]);
        set_header(&mut event, "X-Ünï", &["v"]);
        set_header(&mut event, "X-Name\r\nX-Injected2", &["v"]);
        set_header(&mut event, "", &["empty name"]);
        let (resp, dump) = lambda.php(&event).await;
        assert_eq!(resp["statusCode"], 200, "{source:?}");
        assert_eq!(
            dump["server_hex"]["HTTP_X_CRLF"],
            hex(b"a  X-Injected: 1    body"),
            "{source:?}"
        );
        assert_eq!(dump["server_hex"]["HTTP_X_NUL"], hex(b"a b"), "{source:?}");
        assert_eq!(
            dump["server_hex"]["HTTP_X_CTL"],
            hex(b"\x1b[31mred\x07"),
            "{source:?}: other control bytes pass as bytes"
        );
        let keys: Vec<&String> = dump["server"]
            .as_object()
            .expect("$_SERVER")
            .keys()
            .filter(|k| k.starts_with("HTTP_"))
            .collect();
        for k in &keys {
            assert!(
                k.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{source:?}: odd $_SERVER key {k:?}"
            );
            assert!(!k.contains("INJECTED"), "{source:?}: {k}");
            assert!(
                !k.contains("COLON") && !k.contains("NUL_NAME"),
                "{source:?}: {k}"
            );
        }
    }
    warm.check(&mut lambda, "hostile headers", true).await;
}

/// 1,000 request headers: all reach PHP, in one FastCGI request, in every source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_headers() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    for source in Source::ALL {
        let mut event = source.event("GET", "/", &[]);
        for i in 0..1000 {
            set_header(&mut event, &format!("X-H-{i}"), &[&format!("value-{i}")]);
        }
        let (resp, dump) = lambda.php(&event).await;
        assert_eq!(resp["statusCode"], 200, "{source:?}");
        for i in [0, 1, 499, 998, 999] {
            assert_eq!(
                server(&dump, &format!("HTTP_X_H_{i}")),
                Some(format!("value-{i}").as_str()),
                "{source:?}"
            );
        }
        let n = dump["server"]
            .as_object()
            .expect("$_SERVER")
            .keys()
            .filter(|k| k.starts_with("HTTP_X_H_"))
            .count();
        assert_eq!(n, 1000, "{source:?}");
    }
    warm.check(&mut lambda, "1,000 headers", true).await;
}

/// X-Forwarded-For and its cousins never set REMOTE_ADDR for API Gateway sources; for ALB only the last
/// X-Forwarded-For entry (the one the load balancer appended) counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_client_address_headers_never_change_remote_addr() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    for source in [
        Source::Rest,
        Source::HttpV1,
        Source::HttpV2,
        Source::FunctionUrl,
    ] {
        let mut event = source.event("GET", "/", &[]);
        set_header(&mut event, "X-Forwarded-For", &["6.6.6.6", "7.7.7.7"]);
        set_header(&mut event, "X-Real-IP", &["6.6.6.6"]);
        set_header(&mut event, "Client-IP", &["6.6.6.6"]);
        set_header(&mut event, "Forwarded", &["for=6.6.6.6"]);
        set_header(&mut event, "True-Client-IP", &["6.6.6.6"]);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(
            server(&dump, "REMOTE_ADDR"),
            Some(source.client_ip()),
            "{source:?}"
        );
    }
    // ALB: the client can prepend entries, never replace the last one
    let mut event = Source::Alb.event("GET", "/", &[]);
    set_header(
        &mut event,
        "X-Forwarded-For",
        &["6.6.6.6, 7.7.7.7, 198.51.100.9"],
    );
    set_header(&mut event, "X-Real-IP", &["6.6.6.6"]);
    let (_, dump) = lambda.php(&event).await;
    assert_eq!(server(&dump, "REMOTE_ADDR"), Some("198.51.100.9"));
    warm.check(&mut lambda, "spoofed addresses", true).await;
}

// ----- bodies --------------------------------------------------------------------------------------------

/// Invalid base64 with isBase64Encoded: a 400 in the event's own response shape, logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_base64_body_is_400_in_every_shape() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    for bad in [
        "***not base64***",
        "YWJj$",
        "Y",
        "\u{0}\u{1}",
        "YWJjZA=====x",
    ] {
        for source in Source::ALL {
            let mut event = source.event("POST", "/", &[]);
            event["body"] = json!(bad);
            event["isBase64Encoded"] = json!(true);
            let resp = lambda.respond(&event).await;
            assert_eq!(resp["statusCode"], 400, "{source:?} {bad:?}: {resp}");
            if source.is_alb() {
                assert_eq!(resp["statusDescription"], "400 Bad Request");
            }
            if source.is_v2() {
                assert!(resp.get("cookies").is_some(), "{resp}");
            } else {
                assert!(resp.get("cookies").is_none(), "{resp}");
            }
        }
    }
    lambda
        .bs
        .wait_for_log(
            "400 Bad Request: the body is marked isBase64Encoded but is not valid base64",
            Duration::from_secs(5),
        )
        .await;
    warm.check(&mut lambda, "invalid base64", true).await;
}

/// A 6 MB body (Lambda's request limit), raw and base64: PHP receives every byte. 7 MB (past PHP's
/// post_max_size of 6M): PHP drops it with a warning (logged), the request is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_megabyte_bodies() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    let digest = |lambda: &Lambda, resp: &Value| -> Value {
        assert_eq!(resp["statusCode"], 200, "{resp}");
        serde_json::from_slice(&body_bytes(resp))
            .unwrap_or_else(|e| panic!("not the digest ({e}): {resp}\nlogs:\n{}", lambda.bs.logs()))
    };
    let text = "a".repeat(6_000_000);
    let mut event = Source::HttpV2.event("POST", "/faults.php/input-digest", &[]);
    set_header(&mut event, "content-type", &["text/plain"]);
    set_body(&mut event, text.as_bytes(), false);
    let resp = lambda.respond(&event).await;
    let seen = digest(&lambda, &resp);
    assert_eq!(seen["len"], 6_000_000);
    assert_eq!(seen["sha1"], sha1_hex(text.as_bytes()));
    let binary: Vec<u8> = (0..6_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut event = Source::Rest.event("POST", "/faults.php/input-digest", &[]);
    set_header(&mut event, "Content-Type", &["application/octet-stream"]);
    set_body(&mut event, &binary, true);
    let resp = lambda.respond(&event).await;
    let seen = digest(&lambda, &resp);
    assert_eq!(seen["len"], 6_000_000);
    assert_eq!(
        seen["sha1"],
        sha1_hex(&binary),
        "the 6 MB binary body arrived changed"
    );
    // 7 MB of form data: over post_max_size (6M), PHP drops $_POST and says so
    let mut event = Source::HttpV2.event("POST", "/faults.php/input-digest", &[]);
    set_header(
        &mut event,
        "content-type",
        &["application/x-www-form-urlencoded"],
    );
    set_body(
        &mut event,
        format!("a={}", "b".repeat(7_000_000)).as_bytes(),
        false,
    );
    let resp = lambda.respond(&event).await;
    let seen = digest(&lambda, &resp);
    assert_eq!(seen["post_keys"], json!([]), "{seen}");
    lambda
        .bs
        .wait_for_log("exceeds the limit", Duration::from_secs(5))
        .await;
    warm.check(&mut lambda, "6 MB bodies", true).await;
}

/// SHA-1 through the system's `sha1sum` (no hashing crate in the test dependencies).
fn sha1_hex(bytes: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha1sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    let out = child.wait_with_output().expect("sha1sum output");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

// ----- events ----------------------------------------------------------------------------------------------

fn expect_invalid(outcome: &Outcome, what: &str, logs: &str) {
    match outcome {
        Outcome::Error { error_type, body } => {
            let kind = error_type.as_deref().unwrap_or_default();
            assert!(
                kind == "Runtime.InvalidEvent" || kind == "Runtime.UnsupportedEvent",
                "{what}: /error {kind}: {body}"
            );
            assert!(
                !body["errorMessage"].as_str().unwrap_or_default().is_empty(),
                "{what}: {body}"
            );
        }
        Outcome::Response(_) => {
            let resp = outcome.json();
            let st = status(&resp);
            assert!((400..600).contains(&st) || st == 200, "{what}: {resp}");
        }
        other => panic!("{what}: {}\nlogs:\n{logs}", other.describe()),
    }
}

/// Every source's fixture cut at 60 points: each is an `/error` Runtime.InvalidEvent, and the runtime
/// goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_events_are_invalid_events() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    for source in Source::ALL {
        let raw = load_raw(source.fixture());
        let trimmed = raw.trim_ascii_end().len();
        for k in 0..60 {
            let cut = trimmed * k / 60;
            let outcome = lambda.invoke_bytes(raw[..cut].to_vec()).await;
            let (kind, _) = outcome.error();
            assert_eq!(
                kind,
                Some("Runtime.InvalidEvent"),
                "{source:?} cut at {cut}: {}",
                outcome.describe()
            );
        }
    }
    warm.check(&mut lambda, "truncated events", true).await;
}

/// Known fields with the wrong JSON type, unknown shapes and hostile methods: an `/error` naming the
/// problem (or a 4xx), never a crash; raw invalid UTF-8 in the JSON, too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_types_unknown_shapes_and_invalid_utf8_events() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    type Edit = fn(&mut Value);
    let edits: &[(&str, Source, Edit)] = &[
        ("headers array", Source::HttpV2, |e| {
            e["headers"] = json!(["a"])
        }),
        ("header value number", Source::HttpV2, |e| {
            e["headers"]["x"] = json!(1)
        }),
        ("header value object", Source::Rest, |e| {
            e["headers"]["x"] = json!({"a": 1})
        }),
        ("multi headers not arrays", Source::Rest, |e| {
            e["multiValueHeaders"] = json!({"a": "b"})
        }),
        ("multi headers numbers", Source::AlbMulti, |e| {
            e["multiValueHeaders"] = json!({"a": [1, 2]})
        }),
        ("body number", Source::HttpV2, |e| e["body"] = json!(12)),
        ("body object", Source::Rest, |e| e["body"] = json!({"a": 1})),
        ("isBase64Encoded string", Source::HttpV2, |e| {
            e["isBase64Encoded"] = json!("yes")
        }),
        ("httpMethod number", Source::Rest, |e| {
            e["httpMethod"] = json!(42)
        }),
        ("httpMethod empty", Source::Rest, |e| {
            e["httpMethod"] = json!("")
        }),
        ("method with CRLF", Source::HttpV2, |e| {
            e["requestContext"]["http"]["method"] = json!("GET\r\nX: 1")
        }),
        ("method with space", Source::Alb, |e| {
            e["httpMethod"] = json!("GET /x")
        }),
        ("requestContext string", Source::HttpV2, |e| {
            e["requestContext"] = json!("ctx")
        }),
        ("requestContext.http array", Source::HttpV2, |e| {
            e["requestContext"]["http"] = json!([])
        }),
        ("no method in v2", Source::HttpV2, |e| {
            e["requestContext"]["http"] = json!({})
        }),
        ("rawPath number", Source::HttpV2, |e| {
            e["rawPath"] = json!(7)
        }),
        ("path array", Source::Rest, |e| e["path"] = json!(["/"])),
        ("cookies object", Source::HttpV2, |e| {
            e["cookies"] = json!({"a": "b"})
        }),
        ("cookies numbers", Source::HttpV2, |e| {
            e["cookies"] = json!([1])
        }),
        ("query params number", Source::Rest, |e| {
            e["queryStringParameters"] = json!(5)
        }),
        ("multi query strings", Source::AlbMulti, |e| {
            e["multiValueQueryStringParameters"] = json!({"a": "b"})
        }),
        ("rawQueryString object", Source::HttpV2, |e| {
            e["rawQueryString"] = json!({})
        }),
        ("sourceIp number", Source::Rest, |e| {
            e["requestContext"]["identity"]["sourceIp"] = json!(1)
        }),
        ("elb null", Source::Alb, |e| {
            e["requestContext"]["elb"] = Value::Null
        }),
        ("version 3.0", Source::HttpV2, |e| {
            e["version"] = json!("3.0")
        }),
        ("version number", Source::HttpV2, |e| {
            e["version"] = json!(2)
        }),
        ("huge nesting", Source::HttpV2, |e| {
            let mut v = json!(1);
            for _ in 0..100 {
                v = json!([v]);
            }
            e["extra"] = v;
        }),
    ];
    for (what, source, edit) in edits {
        let mut event = source.event("GET", "/", &[]);
        edit(&mut event);
        let outcome = lambda.invoke(&event).await;
        expect_invalid(&outcome, &format!("{source:?} {what}"), &lambda.bs.logs());
    }
    // raw bytes JSON cannot hold: invalid UTF-8, lone surrogates, deep nesting past serde's limit
    let v2 = String::from_utf8(load_raw("http-api-v2")).expect("utf8 fixture");
    let mut bad_utf8 = v2
        .replacen("\"rawPath\": \"", "\"rawPath\": \"/\u{1}", 1)
        .into_bytes();
    let at = bad_utf8
        .windows(2)
        .position(|w| w == b"/\x01")
        .expect("marker");
    bad_utf8[at + 1] = 0xff;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for (what, bytes) in [
        ("invalid UTF-8 in a string", bad_utf8),
        (
            "lone surrogate",
            v2.replacen("\"rawPath\": \"", "\"rawPath\": \"/\\ud800", 1)
                .into_bytes(),
        ),
        ("deep nesting", deep.into_bytes()),
        ("NUL bytes", b"\0\0\0\0".to_vec()),
        (
            "BOM then JSON",
            [b"\xef\xbb\xbf".as_slice(), v2.as_bytes()].concat(),
        ),
    ] {
        let outcome = lambda.invoke_bytes(bytes).await;
        expect_invalid(&outcome, what, &lambda.bs.logs());
    }
    warm.check(&mut lambda, "malformed events", true).await;
    assert_no_panic(&lambda);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
