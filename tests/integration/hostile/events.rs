//! Events that are not what they claim: truncated JSON, wrong types, unknown shapes, hostile methods,
//! invalid UTF-8.

use serde_json::{json, Value};

use crate::faults::{assert_no_panic, Warm};
use crate::support::events::load_raw;
use crate::support::{Lambda, Outcome, Source};

use super::status;

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
