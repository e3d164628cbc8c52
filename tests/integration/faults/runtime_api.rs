//! A Runtime API that misbehaves: /response closed without an answer, answered 413, answering slowly.

use std::time::Duration;

use crate::support::{Lambda, Outcome, Source};

use super::Warm;

// ----- the Runtime API ------------------------------------------------------------------------------------

/// POST /response whose connection is closed without an answer: logged, and the next invocation works
/// over a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_connection_closed_is_logged_and_the_loop_goes_on() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    for _ in 0..2 {
        lambda.api.close_next_response();
        let outcome = lambda
            .invoke(&Source::HttpV2.event("GET", "/json", &[]))
            .await;
        assert!(
            matches!(outcome, Outcome::Rejected { status: 0, .. }),
            "{}",
            outcome.describe()
        );
        warm.check(&mut lambda, "a closed /response connection", true)
            .await;
    }
    lambda
        .bs
        .wait_for_log("posting the result failed", Duration::from_secs(5))
        .await;
}

/// A 413 from /response is logged as such (the client sees Lambda's own error, the runtime can no
/// longer post /error) and the loop goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_413_is_logged() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    lambda.api.fail_next_response(413);
    let outcome = lambda
        .invoke(&Source::HttpV2.event("GET", "/json", &[]))
        .await;
    assert!(matches!(outcome, Outcome::Rejected { status: 413, .. }));
    lambda
        .bs
        .wait_for_log(
            "Lambda refused the response as too large (413)",
            Duration::from_secs(5),
        )
        .await;
    lambda.api.fail_next_response(500);
    let outcome = lambda
        .invoke(&Source::HttpV2.event("GET", "/json", &[]))
        .await;
    assert!(matches!(outcome, Outcome::Rejected { status: 500, .. }));
    lambda
        .bs
        .wait_for_log("posting the result failed", Duration::from_secs(5))
        .await;
    warm.check(&mut lambda, "a 413 and a 500 from /response", true)
        .await;
}

/// A slow Runtime API (every /response and /error answered after 1.5 s, /next after 0.5 s): answers are
/// still delivered, nothing times out on the runtime's side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_runtime_api_answers() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    lambda.api.delay_answers(Some(Duration::from_millis(1500)));
    lambda.api.delay_next(Some(Duration::from_millis(500)));
    let resp = lambda
        .respond(&Source::Rest.event("GET", "/json", &[]))
        .await;
    assert_eq!(resp["statusCode"], 200);
    let outcome = lambda.invoke_bytes(b"[]".to_vec()).await;
    assert_eq!(outcome.error().0, Some("Runtime.UnsupportedEvent"));
    warm.check(&mut lambda, "a slow Runtime API", true).await;
    lambda.api.delay_answers(None);
    lambda.api.delay_next(None);
}
