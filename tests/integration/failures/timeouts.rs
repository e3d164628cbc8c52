//! The deadline: a 504 in time for a script past it, and the margin scaled down for short function timeouts.

use std::time::{Duration, Instant};

use super::next_works;
use crate::support::{Lambda, Source};

/// A script still running at the deadline minus 1 s: 504 before the deadline, then the next invocation
/// works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_past_the_deadline_gets_504_in_time() {
    let mut lambda = Lambda::start().await;
    lambda.ready().await;
    let inv = lambda
        .invoke_detailed(
            &Source::HttpV2.event("GET", "/sleep/10", &[]),
            Duration::from_secs(3),
        )
        .await;
    let resp = lambda.expect_response(&inv.outcome);
    assert_eq!(resp["statusCode"], 504, "{resp}");
    assert!(
        inv.answered_at <= inv.deadline,
        "answered {:?} after delivery, the deadline was 3 s",
        inv.elapsed()
    );
    assert!(
        inv.elapsed() >= Duration::from_millis(1500),
        "504 came too early: {:?}",
        inv.elapsed()
    );
    let started = Instant::now();
    next_works(&lambda, "a timeout").await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "recovery took {:?}",
        started.elapsed()
    );

    // and once more with ALB, to see php-fpm was really restarted and works again
    let inv = lambda
        .invoke_detailed(
            &Source::Alb.event("GET", "/sleep/10", &[]),
            Duration::from_secs(3),
        )
        .await;
    let resp = lambda.expect_response(&inv.outcome);
    assert_eq!(resp["statusCode"], 504, "{resp}");
    assert_eq!(resp["statusDescription"], "504 Gateway Timeout");
    assert!(
        inv.answered_at <= inv.deadline,
        "answered {:?} after delivery",
        inv.elapsed()
    );
    next_works(&lambda, "a second timeout").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_sleep_within_the_deadline_is_fine() {
    let lambda = Lambda::start().await;
    let inv = lambda
        .invoke_detailed(
            &Source::HttpV2.event("GET", "/sleep/1", &[]),
            Duration::from_secs(5),
        )
        .await;
    let resp = lambda.expect_response(&inv.outcome);
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(resp["body"], "slept 1");
}

/// A function with a 1 s timeout: the 504 margin shrinks to a tenth of the time left, so a fast
/// script is served (a fixed 1 s margin left it no time at all), and a slow one still gets its 504
/// before the deadline. The scaling is logged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_second_function_timeout_still_serves() {
    let lambda = Lambda::start().await;
    for _ in 0..2 {
        let inv = lambda
            .invoke_detailed(
                &Source::HttpV2.event("GET", "/", &[]),
                Duration::from_secs(1),
            )
            .await;
        let resp = lambda.expect_response(&inv.outcome);
        assert_eq!(
            resp["statusCode"],
            200,
            "{resp}; logs:\n{}",
            lambda.bs.logs()
        );
    }
    let inv = lambda
        .invoke_detailed(
            &Source::HttpV2.event("GET", "/sleep/3", &[]),
            Duration::from_secs(1),
        )
        .await;
    let resp = lambda.expect_response(&inv.outcome);
    assert_eq!(resp["statusCode"], 504, "{resp}");
    assert!(
        inv.answered_at <= inv.deadline,
        "answered {:?} after delivery",
        inv.elapsed()
    );
    assert!(
        inv.elapsed() >= Duration::from_millis(800),
        "504 too early: {:?}",
        inv.elapsed()
    );
    let logs = lambda.bs.logs();
    assert_eq!(
        logs.matches("too little for the default 1s timeout margin")
            .count(),
        1,
        "{logs}"
    );
}
