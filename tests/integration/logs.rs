//! Log format: with AWS_LAMBDA_LOG_FORMAT=JSON, and always on Lambda Managed Instances, every line is a
//! JSON object with "level" and "timestamp".

use std::time::Duration;

use serde_json::Value;

use crate::support::{Lambda, Source};

fn looks_rfc3339(ts: &str) -> bool {
    let b = ts.as_bytes();
    b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't')
        && b[13] == b':'
        && (ts.ends_with('Z')
            || ts.ends_with('z')
            || ts[19..].contains('+')
            || ts[19..].contains('-'))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_format_every_line_is_a_json_object() {
    let mut lambda = Lambda::start_env(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).await;
    for path in ["/stderr", "/fatal", "/json", "/exception"] {
        let _ = lambda
            .respond(&Source::HttpV2.event("GET", path, &[]))
            .await;
    }
    let _ = lambda.invoke_bytes(b"not json".to_vec()).await;
    lambda
        .bs
        .wait_for_log("marker-error-log", Duration::from_secs(5))
        .await;
    lambda
        .bs
        .wait_for_log("marker-php-stderr", Duration::from_secs(5))
        .await;
    lambda
        .bs
        .wait_for_log("undefined_marker_function", Duration::from_secs(5))
        .await;
    lambda
        .bs
        .wait_for_log("boom-exception-marker", Duration::from_secs(5))
        .await;
    lambda.bs.terminate();
    let logs = lambda.bs.logs();
    let count = assert_json_lines(&logs).len();
    assert!(count >= 4, "expected log lines, got:\n{logs}");
}

/// Every non-empty line is a JSON object with a level and an RFC 3339 timestamp; returns them.
fn assert_json_lines(logs: &str) -> Vec<Value> {
    let mut lines = Vec::new();
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line:?}"));
        assert!(v.is_object(), "not an object: {line}");
        assert!(v["level"].is_string(), "no \"level\": {line}");
        let ts = v["timestamp"]
            .as_str()
            .unwrap_or_else(|| panic!("no \"timestamp\": {line}"));
        assert!(
            looks_rfc3339(ts),
            "timestamp is not RFC 3339: {ts:?} in {line}"
        );
        lines.push(v);
    }
    lines
}

/// Managed Instances accept only JSON logs: with AWS_LAMBDA_MAX_CONCURRENCY set the runtime writes JSON
/// even when the format variable says Text, and the runtime's lines about an invocation carry its
/// request id (lines of concurrent invocations interleave).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_instances_log_json_whatever_the_log_format_says() {
    let mut lambda = Lambda::start_env(&[
        ("AWS_LAMBDA_MAX_CONCURRENCY", "2"),
        ("AWS_LAMBDA_LOG_FORMAT", "Text"),
    ])
    .await;
    lambda.ready().await;
    let fatal = Source::HttpV2.event("GET", "/fatal", &[]);
    let stderr = Source::HttpV2.event("GET", "/stderr", &[]);
    let (a, b) = tokio::join!(lambda.respond(&fatal), lambda.respond(&stderr));
    assert_eq!(
        (a["statusCode"].clone(), b["statusCode"].clone()),
        (500.into(), 200.into())
    );
    let invalid = lambda.invoke_bytes(b"not json".to_vec()).await;
    assert_eq!(invalid.error().0, Some("Runtime.InvalidEvent"));
    lambda
        .bs
        .wait_for_log("undefined_marker_function", Duration::from_secs(5))
        .await;
    lambda
        .bs
        .wait_for_log("marker-php-stderr", Duration::from_secs(5))
        .await;
    lambda.bs.terminate();
    let lines = assert_json_lines(&lambda.bs.logs());
    let invalid = lines
        .iter()
        .find(|v| v["errorType"] == "Runtime.InvalidEvent")
        .expect("the invalid event's line");
    assert!(
        invalid["requestId"].is_string(),
        "the runtime's lines name their invocation: {invalid}"
    );
}
