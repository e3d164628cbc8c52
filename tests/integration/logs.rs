//! Log format: with AWS_LAMBDA_LOG_FORMAT=JSON every line is a JSON object with "level" and "timestamp".

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
    let mut count = 0;
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        count += 1;
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
    }
    assert!(count >= 4, "expected log lines, got:\n{logs}");
}
