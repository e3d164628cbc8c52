//! Events that are not HTTP requests: unsupported sources, malformed JSON, ill-typed fields.

use serde_json::Value;

use super::next_works;
use crate::support::events::load_raw;
use crate::support::{Lambda, Outcome, Source};

fn expect_error(outcome: &Outcome, kind: &str, logs: &str) -> Value {
    match outcome {
        Outcome::Error { error_type, body } => {
            assert_eq!(
                error_type.as_deref(),
                Some(kind),
                "Lambda-Runtime-Function-Error-Type; body {body}"
            );
            assert_eq!(
                body["errorType"], kind,
                "the error body's errorType: {body}"
            );
            let msg = body["errorMessage"].as_str().unwrap_or_default();
            assert!(
                !msg.is_empty(),
                "errorMessage must explain what happened: {body}"
            );
            body.clone()
        }
        other => panic!(
            "expected /error {kind}, got {}\nlogs:\n{logs}",
            other.describe()
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_event_is_unsupported() {
    let lambda = Lambda::start().await;
    let outcome = lambda.invoke_bytes(load_raw("sqs")).await;
    let body = expect_error(&outcome, "Runtime.UnsupportedEvent", &lambda.bs.logs());
    let msg = body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        msg.contains("Records") || msg.contains("sqs") || msg.contains("SQS"),
        "the message should name what arrived: {msg}"
    );
    next_works(&lambda, "an SQS event").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_non_http_json_is_unsupported() {
    let lambda = Lambda::start().await;
    for event in [
        r#"{}"#,
        r#"[]"#,
        r#""hello""#,
        r#"42"#,
        r#"null"#,
        r#"{"detail-type":"Scheduled Event","source":"aws.events"}"#,
    ] {
        let outcome = lambda.invoke_bytes(event.as_bytes().to_vec()).await;
        expect_error(&outcome, "Runtime.UnsupportedEvent", &lambda.bs.logs());
        next_works(&lambda, event).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_invalid_event() {
    let lambda = Lambda::start().await;
    for event in [
        &b"{\"version\": \"2.0\", "[..],
        b"not json at all",
        b"",
        b"\xff\xfe{}",
    ] {
        let outcome = lambda.invoke_bytes(event.to_vec()).await;
        expect_error(&outcome, "Runtime.InvalidEvent", &lambda.bs.logs());
        next_works(&lambda, &String::from_utf8_lossy(event)).await;
    }
}

/// An HTTP-looking event with fields of the wrong type is answered (error or 4xx/5xx), never a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_event_with_wrong_field_types_never_crashes() {
    let lambda = Lambda::start().await;
    let mut bad = Source::HttpV2.event("GET", "/", &[]);
    bad["headers"] = serde_json::json!(["not", "a", "map"]);
    bad["body"] = serde_json::json!(12);
    let outcome = lambda.invoke(&bad).await;
    assert!(
        !matches!(outcome, Outcome::Rejected { .. }),
        "{}",
        outcome.describe()
    );
    let mut bad = Source::Rest.event("GET", "/", &[]);
    bad["isBase64Encoded"] = serde_json::json!(true);
    bad["body"] = serde_json::json!("***not base64***");
    let _ = lambda.invoke(&bad).await;
    next_works(&lambda, "malformed HTTP events").await;
}
