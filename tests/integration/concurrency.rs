//! Lambda Managed Instances: `AWS_LAMBDA_MAX_CONCURRENCY` concurrent invocations, each with its own
//! `/next` loop and php-fpm worker.

use std::time::{Duration, Instant};

use crate::support::events::Source;
use crate::support::Lambda;

#[tokio::test]
async fn max_concurrency_serves_invocations_in_parallel() {
    let mut l = Lambda::start_env(&[("AWS_LAMBDA_MAX_CONCURRENCY", "2")]).await;
    l.ready().await;
    assert!(
        l.api.wait_next_calls(2, Duration::from_secs(10)).await,
        "two loops must poll /next; logs:\n{}",
        l.bs.logs()
    );
    let sleep = Source::HttpV2.event("GET", "/sleep/2", &[]);
    let started = Instant::now();
    let (a, b) = tokio::join!(l.respond(&sleep), l.respond(&sleep));
    let elapsed = started.elapsed();
    assert_eq!(a["statusCode"], 200);
    assert_eq!(b["statusCode"], 200);
    // One after the other would take 4 s.
    assert!(
        elapsed < Duration::from_millis(3500),
        "two 2 s requests took {elapsed:?}: not in parallel"
    );
}

#[tokio::test]
async fn one_worker_by_default_serves_one_at_a_time() {
    let mut l = Lambda::start().await;
    l.ready().await;
    // Give a second loop (if there were one) time to poll.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        l.api.next_calls(),
        1,
        "classic Lambda: exactly one /next loop"
    );
}
