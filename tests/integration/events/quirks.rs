//! Quirks of real and hand-written events: cookies sent twice by Function URLs, header values given as
//! JSON numbers, source addresses that are not IP addresses.

use serde_json::{json, Value};

use crate::support::events::{set_body, set_header};
use crate::support::{server, Lambda, Source};

/// A Function URL event as Lambda delivers it carries the cookies twice, in `headers.cookie` and in
/// `cookies`; PHP must see each cookie once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_url_cookies_reach_php_once() {
    let lambda = Lambda::start().await;
    let mut event = Source::FunctionUrl.event("GET", "/", &[]);
    event["cookies"] = json!(["test=hi", "theme=dark"]);
    set_header(&mut event, "cookie", &["test=hi; theme=dark"]);
    let (resp, dump) = lambda.php(&event).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(server(&dump, "HTTP_COOKIE"), Some("test=hi; theme=dark"));
    assert_eq!(dump["cookie"], json!({"test": "hi", "theme": "dark"}));
}

/// Hand-written test events (SAM `local invoke`, Bref's fixtures) give header values as JSON numbers
/// and booleans: served, with the values as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_values_given_as_numbers_are_served() {
    let lambda = Lambda::start().await;
    for source in [Source::Rest, Source::HttpV2, Source::Alb] {
        let mut event = source.event("POST", "/", &[]);
        set_body(&mut event, b"a=1&b=22&c=333", false);
        set_header(
            &mut event,
            "Content-Type",
            &["application/x-www-form-urlencoded"],
        );
        let mut bytes = serde_json::to_vec(&event).expect("json");
        // Replace the header values with JSON scalars that are not strings.
        let mut event: Value = serde_json::from_slice(&bytes).expect("json");
        for key in ["headers", "multiValueHeaders"] {
            if let Some(map) = event[key].as_object_mut() {
                let multi = key == "multiValueHeaders";
                let put = |v: Value| if multi { json!([v]) } else { v };
                map.insert("Content-Length".into(), put(json!(14)));
                map.insert("X-Flag".into(), put(json!(true)));
            }
        }
        bytes = serde_json::to_vec(&event).expect("json");
        let (resp, dump) = lambda.php_bytes(bytes).await;
        assert_eq!(resp["statusCode"], 200, "{source:?}: {resp}");
        assert_eq!(server(&dump, "HTTP_X_FLAG"), Some("true"), "{source:?}");
        assert_eq!(
            dump["post"],
            json!({"a": "1", "b": "22", "c": "333"}),
            "{source:?}"
        );
    }
}

/// API Gateway's console test sends `sourceIp: "test-invoke-source-ip"`, other tools `"IP"`:
/// `REMOTE_ADDR` is still an IP address (127.0.0.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_addr_is_always_an_ip_address() {
    let lambda = Lambda::start().await;
    for (source, ip) in [
        (Source::Rest, "test-invoke-source-ip"),
        (Source::HttpV1, "IP"),
        (Source::HttpV2, "test-invoke-source-ip"),
    ] {
        let mut event = source.event("GET", "/", &[]);
        let context = event["requestContext"].as_object_mut().expect("context");
        if source.is_v2() {
            context["http"]["sourceIp"] = json!(ip);
        } else {
            context["identity"]["sourceIp"] = json!(ip);
        }
        let (resp, dump) = lambda.php(&event).await;
        assert_eq!(resp["statusCode"], 200, "{source:?}");
        assert_eq!(
            server(&dump, "REMOTE_ADDR"),
            Some("127.0.0.1"),
            "{source:?}"
        );
    }
}
