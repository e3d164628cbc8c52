//! Response streaming (`LAMBDA_FPM_INVOKE_MODE=response_stream`): the bytes Lambda receives (a chunked
//! POST with the streaming headers, the JSON prelude, 8 NUL bytes, the raw body, error trailers), what
//! PHP's `flush()` does to time to first byte, flat memory for large bodies, and failures before and
//! after the first byte.
//!
//! This module holds the helpers every streaming test uses; the tests are grouped by what they check:
//! [`prelude`] (the bytes per source), [`flush`] (time to first byte), [`cuts`] (failures that end a
//! stream), [`large`] (large bodies and static files).

mod cuts;
mod flush;
mod large;
mod prelude;

use std::time::Duration;

use serde_json::Value;

use crate::support::runtime_api::Invocation;
use crate::support::{unb64, Lambda, Source};

const STREAM: &[(&str, &str)] = &[("LAMBDA_FPM_INVOKE_MODE", "response_stream")];

/// `$size` bytes of 0, 1, …, 255, 0, … as faults.php's `pattern()` prints them.
fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 256) as u8).collect()
}

fn faults(route: &str, query: &[(&str, &str)]) -> Value {
    Source::FunctionUrl.event("GET", &format!("/faults.php{route}"), query)
}

async fn streamed(lambda: &Lambda, event: &Value, timeout: Duration) -> Invocation {
    let inv = lambda.invoke_detailed(event, timeout).await;
    assert_eq!(
        inv.posted.response_mode(),
        Some("streaming"),
        "not posted as a stream: {}; logs:\n{}",
        inv.outcome.describe(),
        lambda.bs.logs()
    );
    assert!(inv.posted.is_chunked(), "a streamed body must be chunked");
    assert_eq!(
        inv.posted.header("content-type"),
        Some("application/vnd.awslambda.http-integration-response")
    );
    inv
}

/// A faults.php route, streamed (see [`streamed`]).
async fn streamed_fault(
    lambda: &Lambda,
    route: &str,
    query: &[(&str, &str)],
    timeout: Duration,
) -> Invocation {
    streamed(lambda, &faults(route, query), timeout).await
}

/// After a failure, the next stream is served whole: a 200 without error trailers.
async fn assert_streams_again(lambda: &Lambda) {
    let next = streamed_fault(lambda, "/cookies-and-flush", &[], Duration::from_secs(10)).await;
    assert_eq!(next.outcome.streamed_http().0["statusCode"], 200);
    assert!(
        next.posted.trailers.is_empty(),
        "{:?}",
        next.posted.trailers
    );
}

/// The trailers of a cut stream: the error type, and the error JSON in base64.
fn error_trailers(inv: &Invocation) -> (String, Value) {
    let kind = inv
        .posted
        .trailer("lambda-runtime-function-error-type")
        .unwrap_or_else(|| panic!("no error-type trailer: {:?}", inv.posted.trailers))
        .to_owned();
    let body = inv
        .posted
        .trailer("lambda-runtime-function-error-body")
        .expect("an error-body trailer");
    let body: Value = serde_json::from_slice(&unb64(body)).expect("the error body is JSON");
    (kind, body)
}
