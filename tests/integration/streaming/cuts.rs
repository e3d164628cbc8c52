//! Failures that end a stream: a worker dying after its first bytes, the deadline, the Runtime API closing it.

use std::time::Duration;

use super::{assert_streams_again, error_trailers, faults, streamed, streamed_fault, STREAM};
use crate::support::{Lambda, Source};

/// A worker that dies after its first bytes: the stream ends with error trailers (never a complete
/// looking body), and the next invocation is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_dying_mid_stream_ends_it_with_error_trailers() {
    let lambda = Lambda::start_env(STREAM).await;
    let inv = streamed_fault(&lambda, "/stream-then-die", &[], Duration::from_secs(10)).await;
    let (prelude, body) = inv.outcome.streamed_http();
    assert_eq!(prelude["statusCode"], 200);
    assert!(
        body.starts_with(b"dddd"),
        "the part sent before the crash is there"
    );
    let (kind, error) = error_trailers(&inv);
    assert_eq!(kind, "Runtime.ScriptOutputCut");
    assert_eq!(error["errorType"], "Runtime.ScriptOutputCut");
    assert!(
        error["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("closed")),
        "{error}"
    );
    assert_streams_again(&lambda).await;
}

/// Past the deadline after the first byte: the worker is killed and the stream ends with a timeout
/// trailer before Lambda's own deadline. Before the first byte: a streamed 504, as in buffered mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_cuts_a_stream_or_answers_504_before_its_first_byte() {
    let lambda = Lambda::start_env(STREAM).await;
    let inv = streamed_fault(&lambda, "/stream-then-busy", &[], Duration::from_secs(2)).await;
    assert!(
        inv.answered_at <= inv.deadline,
        "answered after the deadline"
    );
    let (_, body) = inv.outcome.streamed_http();
    assert_eq!(body, b"started;");
    assert_eq!(error_trailers(&inv).0, "Runtime.ScriptTimeout");

    let sleepy = Source::FunctionUrl.event("GET", "/sleep/5", &[]);
    let inv = streamed(&lambda, &sleepy, Duration::from_secs(2)).await;
    let (prelude, body) = inv.outcome.streamed_http();
    assert_eq!(prelude["statusCode"], 504);
    assert_eq!(body, b"504 Gateway Timeout\n");
    assert!(inv.posted.trailers.is_empty());
    assert_streams_again(&lambda).await;
}

/// The Runtime API closing the stream halfway (the client went away): the script's worker is killed
/// rather than left writing into nothing, and the next invocation is served at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_closed_by_the_runtime_api_frees_its_worker() {
    let lambda = Lambda::start_env(STREAM).await;
    lambda.api.cut_next_response_after(2 * 1024 * 1024);
    let inv = lambda
        .invoke_detailed(
            &faults("/stream-mb", &[("mb", "50")]),
            Duration::from_secs(30),
        )
        .await;
    assert!(
        matches!(
            inv.outcome,
            crate::support::Outcome::Rejected { status: 0, .. }
        ),
        "{}",
        inv.outcome.describe()
    );
    let logs = lambda
        .bs
        .wait_for_log("when its request was abandoned", Duration::from_secs(5))
        .await;
    assert!(
        logs.contains("killed the php-fpm worker of pool lambda"),
        "{logs}"
    );
    let started = std::time::Instant::now();
    assert_streams_again(&lambda).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
