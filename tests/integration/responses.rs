//! Response mapping: the exact JSON the bootstrap posts to /response for each event source. REST v1:
//! `multiValueHeaders`, never `cookies` (API Gateway answers 502 to an unknown key); v2 and function URLs:
//! `headers` with repeated values joined and every Set-Cookie in `cookies`; ALB: `statusDescription`, and
//! `multiValueHeaders` exactly when the request had them.

use serde_json::{json, Value};

use crate::support::events::{remove_header, set_method};
use crate::support::{
    app_root, b64, body_bytes, keys, wire_body, Lambda, Outcome, Source, MAX_RESPONSE_BYTES,
};

fn get(source: Source, path: &str) -> Value {
    source.event("GET", path, &[])
}

/// Each source's answer to GET `path` is exactly `want`.
async fn assert_exact(lambda: &Lambda, sources: &[Source], path: &str, want: Value) {
    for &source in sources {
        let resp = lambda.respond(&get(source, path)).await;
        assert_eq!(resp, want, "{source:?} {path}");
    }
}

/// GET `path` through `source` answers `status`; the response, for the checks that follow.
async fn get_status(lambda: &Lambda, source: Source, path: &str, status: u16) -> Value {
    let resp = lambda.respond(&get(source, path)).await;
    assert_eq!(resp["statusCode"], status, "{source:?} {path}: {resp}");
    resp
}

/// The `/headers` route's headers in the `multiValueHeaders` shape (REST, HTTP API 1.0, ALB multi).
fn headers_route_multi_value() -> Value {
    json!({
        "Content-Type": ["text/plain; charset=UTF-8"],
        "X-Multi": ["a", "b"],
        "x-lower-case": ["v"],
        "X-MiXeD-CaSe": ["v"]
    })
}

// ----- exact shapes -------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_and_v1_response_is_exactly_multi_value_headers() {
    let lambda = Lambda::start().await;
    let want = json!({
        "statusCode": 200,
        "multiValueHeaders": headers_route_multi_value(),
        "body": "headers route",
        "isBase64Encoded": false
    });
    assert_exact(&lambda, &[Source::Rest, Source::HttpV1], "/headers", want).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_and_v1_cookies_stay_in_multi_value_headers_and_no_cookies_key() {
    let lambda = Lambda::start().await;
    for source in [Source::Rest, Source::HttpV1] {
        let resp = lambda.respond(&get(source, "/cookies")).await;
        assert_eq!(
            keys(&resp),
            ["body", "isBase64Encoded", "multiValueHeaders", "statusCode"],
            "{source:?}: {resp}"
        );
        assert_eq!(
            resp["multiValueHeaders"],
            json!({
                "Content-Type": ["text/html; charset=UTF-8"],
                "Set-Cookie": ["a=1; Path=/", "b=2; HttpOnly", "c=x%20y"]
            }),
            "{source:?}"
        );
        assert_eq!(resp["body"], "<p>cookies</p>");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_response_is_exactly_headers_and_cookies() {
    let lambda = Lambda::start().await;
    let want = json!({
        "statusCode": 200,
        "headers": {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-Multi": "a, b",
            "x-lower-case": "v",
            "X-MiXeD-CaSe": "v"
        },
        "cookies": [],
        "body": "headers route",
        "isBase64Encoded": false
    });
    assert_exact(
        &lambda,
        &[Source::HttpV2, Source::FunctionUrl],
        "/headers",
        want,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_every_set_cookie_goes_to_cookies() {
    let lambda = Lambda::start().await;
    let want = json!({
        "statusCode": 200,
        "headers": {"Content-Type": "text/html; charset=UTF-8"},
        "cookies": ["a=1; Path=/", "b=2; HttpOnly", "c=x%20y"],
        "body": "<p>cookies</p>",
        "isBase64Encoded": false
    });
    assert_exact(
        &lambda,
        &[Source::HttpV2, Source::FunctionUrl],
        "/cookies",
        want,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_single_value_response_uses_headers_and_status_description() {
    let lambda = Lambda::start().await;
    let want = json!({
        "statusCode": 200,
        "statusDescription": "200 OK",
        "headers": {"Content-Type": "application/json"},
        "body": r#"{"ok":true,"caf\u00e9":"\u2713"}"#,
        "isBase64Encoded": false
    });
    assert_exact(&lambda, &[Source::Alb], "/json", want).await;
    let resp = lambda.respond(&get(Source::Alb, "/cookies")).await;
    assert_eq!(
        keys(&resp),
        [
            "body",
            "headers",
            "isBase64Encoded",
            "statusCode",
            "statusDescription"
        ],
        "{resp}"
    );
    assert_eq!(resp["headers"]["Content-Type"], "text/html; charset=UTF-8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_multi_value_response_uses_multi_value_headers() {
    let lambda = Lambda::start().await;
    let want = json!({
        "statusCode": 200,
        "statusDescription": "200 OK",
        "multiValueHeaders": headers_route_multi_value(),
        "body": "headers route",
        "isBase64Encoded": false
    });
    assert_exact(&lambda, &[Source::AlbMulti], "/headers", want).await;
    let resp = lambda.respond(&get(Source::AlbMulti, "/cookies")).await;
    assert_eq!(
        resp["multiValueHeaders"]["Set-Cookie"],
        json!(["a=1; Path=/", "b=2; HttpOnly", "c=x%20y"]),
        "{resp}"
    );
    assert_eq!(
        keys(&resp),
        [
            "body",
            "isBase64Encoded",
            "multiValueHeaders",
            "statusCode",
            "statusDescription"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_status_descriptions() {
    let lambda = Lambda::start().await;
    for (code, desc) in [
        (200, "200 OK"),
        (201, "201 Created"),
        (404, "404 Not Found"),
        (500, "500 Internal Server Error"),
        (503, "503 Service Unavailable"),
    ] {
        for source in [Source::Alb, Source::AlbMulti] {
            let resp = get_status(&lambda, source, &format!("/status/{code}"), code).await;
            assert_eq!(resp["statusDescription"], desc, "{source:?}");
            assert_eq!(resp["body"], format!("status {code}"), "{source:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_status_description_outside_alb() {
    let lambda = Lambda::start().await;
    for source in [
        Source::Rest,
        Source::HttpV1,
        Source::HttpV2,
        Source::FunctionUrl,
    ] {
        let resp = get_status(&lambda, source, "/status/404", 404).await;
        assert!(
            resp.get("statusDescription").is_none(),
            "{source:?}: {resp}"
        );
    }
}

// ----- status codes -------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_from_http_response_code_and_status_line() {
    let lambda = Lambda::start().await;
    for source in Source::ALL {
        for code in [201, 404, 418, 503] {
            // http_response_code($code), then header("HTTP/1.1 $code ...").
            get_status(&lambda, source, &format!("/status/{code}"), code).await;
            get_status(&lambda, source, &format!("/status-line/{code}"), code).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_keeps_location() {
    let lambda = Lambda::start().await;
    for source in Source::ALL {
        let resp = get_status(&lambda, source, "/redirect", 302).await;
        let location = match source {
            Source::Rest | Source::HttpV1 | Source::AlbMulti => {
                resp["multiValueHeaders"]["Location"].clone()
            }
            _ => resp["headers"]["Location"].clone(),
        };
        let want = if matches!(source, Source::Rest | Source::HttpV1 | Source::AlbMulti) {
            json!(["/target?from=redirect"])
        } else {
            json!("/target?from=redirect")
        };
        assert_eq!(location, want, "{source:?}: {resp}");
        if source.is_alb() {
            assert_eq!(resp["statusDescription"], "302 Found");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_content_has_empty_body() {
    let lambda = Lambda::start().await;
    for source in Source::ALL {
        let resp = get_status(&lambda, source, "/no-content", 204).await;
        assert_eq!(body_bytes(&resp), b"", "{source:?}");
    }
}

// ----- bodies and isBase64Encoded -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_bodies_are_base64() {
    let lambda = Lambda::start().await;
    let all: Vec<u8> = (0..=255u8).collect();
    let png = std::fs::read(app_root().join("public/img.png")).expect("img.png");
    for source in Source::ALL {
        let resp = lambda.respond(&get(source, "/binary")).await;
        assert_eq!(resp["isBase64Encoded"], true, "{source:?}");
        assert_eq!(resp["body"], b64(&all), "{source:?}");
        let resp = lambda.respond(&get(source, "/png")).await;
        assert_eq!(resp["isBase64Encoded"], true, "{source:?}");
        assert_eq!(body_bytes(&resp), png, "{source:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn textual_bodies_are_plain_text() {
    let lambda = Lambda::start().await;
    let cases: [(&str, &str); 5] = [
        ("/html", "<!doctype html><p>héllo ✓</p>"),
        ("/json", r#"{"ok":true,"caf\u00e9":"\u2713"}"#),
        (
            "/svg",
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>"#,
        ),
        ("/problem", r#"{"title":"invalid"}"#),
        ("/headers", "headers route"),
    ];
    for source in Source::ALL {
        for (path, body) in cases {
            let resp = lambda.respond(&get(source, path)).await;
            assert_eq!(resp["isBase64Encoded"], false, "{source:?} {path}");
            assert_eq!(resp["body"], body, "{source:?} {path}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_or_content_encoding_means_base64() {
    let lambda = Lambda::start().await;
    for source in Source::ALL {
        let resp = lambda.respond(&get(source, "/latin1")).await;
        assert_eq!(resp["isBase64Encoded"], true, "{source:?} latin-1 text");
        assert_eq!(body_bytes(&resp), b"caf\xe9", "{source:?}");
        let resp = lambda.respond(&get(source, "/gzip")).await;
        assert_eq!(resp["isBase64Encoded"], true, "{source:?} gzip");
        let gz = wire_body(&resp);
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "{source:?}: gzip magic");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_answers_have_empty_bodies() {
    let lambda = Lambda::start().await;
    for source in Source::ALL {
        for path in ["/html", "/binary", "/"] {
            let mut event = get(source, path);
            set_method(&mut event, "HEAD");
            let resp = lambda.respond(&event).await;
            assert_eq!(resp["statusCode"], 200, "{source:?} HEAD {path}");
            assert_eq!(body_bytes(&resp), b"", "{source:?} HEAD {path}: {resp}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_body_within_the_limit() {
    let lambda = Lambda::start().await;
    let size = 4_000_000;
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/large", &[("size", &size.to_string())]))
        .await;
    assert_eq!(resp["statusCode"], 200);
    let body = body_bytes(&resp);
    assert_eq!(body.len(), size);
    assert!(body.iter().all(|&b| b == b'a'));
}

/// Over 6,291,556 bytes of JSON Lambda would answer 413 and the client an opaque error: the bootstrap
/// must answer a 502 itself, and the next invocation works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_over_the_limit_becomes_502() {
    let lambda = Lambda::start().await;
    let size = MAX_RESPONSE_BYTES + 10_000;
    for source in [Source::HttpV2, Source::Rest] {
        // A client that accepts no compression: compressed, this text would fit (compression.rs).
        let mut event = source.event("GET", "/large", &[("size", &size.to_string())]);
        remove_header(&mut event, "accept-encoding");
        let outcome = lambda.invoke(&event).await;
        match &outcome {
            Outcome::Response(bytes) => {
                assert!(bytes.len() <= MAX_RESPONSE_BYTES, "{source:?}");
                let resp = outcome.json();
                assert_eq!(
                    resp["statusCode"],
                    502,
                    "{source:?}: {}",
                    outcome.describe()
                );
            }
            other => panic!(
                "{source:?}: expected a 502 response, got {}",
                other.describe()
            ),
        }
        // The next invocation is served.
        get_status(&lambda, source, "/json", 200).await;
    }
}
