//! Paths, queries, header values and bodies: invalid UTF-8 and control bytes, CRLF and NUL injection,
//! 1,000 headers, spoofed client addresses, invalid base64, 6 MB bodies.

use std::time::Duration;

use serde_json::{json, Value};

use crate::faults::Warm;
use crate::support::events::{set_body, set_header};
use crate::support::{body_bytes, server, Lambda, Source};

use super::{assert_nothing_leaked, hex, is_front_controller, status};

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
