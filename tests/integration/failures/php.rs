//! PHP errors (fatals, uncaught exceptions, memory exhaustion, a dying worker), stderr, and output API
//! Gateway would reject.

use std::time::{Duration, Instant};

use super::next_works;
use crate::support::{Lambda, Source};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_fatal_error_is_500_and_logged() {
    let lambda = Lambda::start().await;
    for source in [Source::HttpV2, Source::Rest, Source::Alb] {
        let resp = lambda.respond(&source.event("GET", "/fatal", &[])).await;
        assert_eq!(resp["statusCode"], 500, "{source:?}: {resp}");
        if source.is_alb() {
            assert_eq!(resp["statusDescription"], "500 Internal Server Error");
        }
    }
    lambda
        .bs
        .wait_for_log("undefined_marker_function", Duration::from_secs(5))
        .await;
    next_works(&lambda, "a fatal error").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncaught_exception_is_500_and_logged() {
    let lambda = Lambda::start().await;
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/exception", &[]))
        .await;
    assert_eq!(resp["statusCode"], 500, "{resp}");
    lambda
        .bs
        .wait_for_log("boom-exception-marker", Duration::from_secs(5))
        .await;
    next_works(&lambda, "an uncaught exception").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_exhaustion_is_500_and_logged() {
    let lambda = Lambda::start().await;
    let resp = lambda
        .respond(&Source::Rest.event("GET", "/oom", &[]))
        .await;
    assert_eq!(resp["statusCode"], 500, "{resp}");
    lambda
        .bs
        .wait_for_log("Allowed memory size", Duration::from_secs(5))
        .await;
    next_works(&lambda, "memory exhaustion").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_stderr_and_error_log_reach_the_logs() {
    let lambda = Lambda::start().await;
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/stderr", &[]))
        .await;
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(resp["body"], "logged");
    lambda
        .bs
        .wait_for_log("marker-error-log", Duration::from_secs(5))
        .await;
    lambda
        .bs
        .wait_for_log("marker-php-stderr", Duration::from_secs(5))
        .await;
    next_works(&lambda, "writing to stderr").await;
}

/// Lots of stderr output never blocks a request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_log_lines_never_block() {
    let lambda = Lambda::start().await;
    let started = Instant::now();
    for _ in 0..40 {
        let resp = lambda
            .respond(&Source::HttpV2.event("GET", "/stderr", &[]))
            .await;
        assert_eq!(resp["statusCode"], 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "40 logging requests took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_dying_mid_request_is_502_and_recovers() {
    let lambda = Lambda::start().await;
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/die", &[]))
        .await;
    assert_eq!(resp["statusCode"], 502, "{resp}");
    next_works(&lambda, "a worker crash").await;
    let resp = lambda.respond(&Source::Alb.event("GET", "/die", &[])).await;
    assert_eq!(resp["statusCode"], 502, "{resp}");
    assert_eq!(resp["statusDescription"], "502 Bad Gateway");
    next_works(&lambda, "a second worker crash").await;
}

/// CGI output that API Gateway would refuse with an opaque 502 (a header name that is not a token, a
/// status outside 100-599) is a clear 502 from the runtime, with a log line naming what was wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_api_gateway_would_reject_is_a_named_502() {
    let lambda = Lambda::start().await;
    for (route, named) in [
        ("/faults.php/bad-header-name", "\"Bad Name\""),
        ("/faults.php/bad-status", "\"700 Odd\""),
    ] {
        for source in [Source::Rest, Source::HttpV2] {
            let resp = lambda.respond(&source.event("GET", route, &[])).await;
            assert_eq!(resp["statusCode"], 502, "{route} {source:?}: {resp}");
        }
        // The logs reach the test through a pipe read on another thread: wait for the line.
        let logs = lambda.bs.wait_for_log(named, Duration::from_secs(5)).await;
        assert!(
            logs.lines()
                .any(|l| l.contains("502 Bad Gateway") && l.contains(named)),
            "{route}: the log names {named}; logs:\n{logs}"
        );
    }
    next_works(&lambda, "rejected output").await;
}
