//! The Runtime API misbehaving (fault injection in the emulator), start-up and shutdown.

use std::time::{Duration, Instant};

use crate::support::{Lambda, Outcome, Source};

async fn works(lambda: &Lambda, what: &str) {
    lambda.assert_serving(what).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_and_polls_next_quickly() {
    let started = Instant::now();
    let mut lambda = Lambda::start().await;
    lambda.ready().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "init took {:?}",
        started.elapsed()
    );
    works(&lambda, "start").await;
}

/// A 500 from GET /next means "exit now" (the Runtime API reference:
/// <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_answering_500_makes_the_runtime_exit() {
    let mut lambda = Lambda::start().await;
    lambda.api.fail_next_next();
    let exited = lambda.bs.wait_exit(Duration::from_secs(10)).await;
    assert!(
        exited.is_some(),
        "still running after GET /next answered 500; requests {:?}",
        lambda.api.request_log()
    );
    let stray: Vec<u32> = {
        tokio::time::sleep(Duration::from_millis(500)).await;
        lambda.bs.surviving_descendants()
    };
    assert!(stray.is_empty(), "php-fpm processes left behind: {stray:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_next_connection_is_retried() {
    let lambda = Lambda::start().await;
    lambda.api.close_next_next();
    works(&lambda, "a dropped /next connection").await;
    lambda.api.close_next_next();
    works(&lambda, "a second dropped /next connection").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_next_answers_are_fine() {
    let lambda = Lambda::start().await;
    lambda.api.delay_next(Some(Duration::from_millis(1500)));
    works(&lambda, "a slow /next").await;
    works(&lambda, "another slow /next").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_response_does_not_break_the_loop() {
    let lambda = Lambda::start().await;
    for status in [500, 413, 400] {
        lambda.api.fail_next_response(status);
        let outcome = lambda
            .invoke(&Source::HttpV2.event("GET", "/json", &[]))
            .await;
        assert_eq!(
            std::mem::discriminant(&outcome),
            std::mem::discriminant(&Outcome::Rejected {
                status,
                body_len: 0
            }),
            "{}",
            outcome.describe()
        );
        works(&lambda, &format!("a /response answered {status}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_bootstrap_and_php_fpm() {
    let mut lambda = Lambda::start().await;
    works(&lambda, "start").await;
    let children = lambda.bs.descendants();
    assert!(
        !children.is_empty(),
        "expected php-fpm processes under the bootstrap"
    );
    lambda.bs.signal("TERM");
    let status = lambda.bs.wait_exit(Duration::from_secs(5)).await;
    assert!(
        status.is_some(),
        "the bootstrap did not exit within 5 s of SIGTERM"
    );
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end && !lambda.bs.surviving_descendants().is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        lambda.bs.surviving_descendants(),
        Vec::<u32>::new(),
        "php-fpm survived the bootstrap's SIGTERM"
    );
}

/// The per-bootstrap TMPDIR is where its files go (socket, sessions, opcache), so parallel bootstraps
/// never collide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bootstraps_side_by_side() {
    let a = Lambda::start().await;
    let b = Lambda::start().await;
    let (ea, eb) = (
        Source::HttpV2.event("GET", "/json", &[]),
        Source::Rest.event("GET", "/json", &[]),
    );
    let (ra, rb) = tokio::join!(a.respond(&ea), b.respond(&eb));
    assert_eq!(ra["statusCode"], 200);
    assert_eq!(rb["statusCode"], 200);
    let used = std::fs::read_dir(a.bs.tmpdir())
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        used > 0,
        "the bootstrap wrote nothing under its TMPDIR {}",
        a.bs.tmpdir().display()
    );
}

/// On Lambda the runtime runs as a non-root user, so php-fpm ignores its `user` setting: run the bootstrap
/// as `nobody`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_as_a_non_root_user() {
    use crate::support::{app_root, Bootstrap, RuntimeApi, HANDLER};
    let api = RuntimeApi::start().await;
    let bs = Bootstrap::start_as(&api, &app_root(), HANDLER, &[], 65534, 65534);
    let lambda = Lambda { bs, api };
    let (resp, dump) = lambda
        .php(&Source::HttpV2.event("GET", "/as-nobody", &[]))
        .await;
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(
        crate::support::server(&dump, "REQUEST_URI"),
        Some("/as-nobody")
    );
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", lambda.bs.pid())).unwrap_or_default();
    let uid_line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap_or_default()
        .to_string();
    assert!(
        uid_line.split_whitespace().nth(1) == Some("65534"),
        "not running as nobody: {uid_line:?}"
    );
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/stderr", &[]))
        .await;
    assert_eq!(resp["statusCode"], 200);
    lambda
        .bs
        .wait_for_log("marker-error-log", Duration::from_secs(5))
        .await;
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/fatal", &[]))
        .await;
    assert_eq!(resp["statusCode"], 500);
    lambda
        .bs
        .wait_for_log("undefined_marker_function", Duration::from_secs(5))
        .await;
    // a timeout restarts php-fpm: that must work as a normal user too
    let inv = lambda
        .invoke_detailed(
            &Source::HttpV2.event("GET", "/sleep/10", &[]),
            Duration::from_secs(3),
        )
        .await;
    assert_eq!(lambda.expect_response(&inv.outcome)["statusCode"], 504);
    works(&lambda, "a timeout as nobody").await;
}

/// The timeout margin is configurable (LAMBDA_FPM_TIMEOUT_MARGIN_MS, default 1 s: docs/configuration.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_margin_is_configurable() {
    let lambda = Lambda::start_env(&[("LAMBDA_FPM_TIMEOUT_MARGIN_MS", "2500")]).await;
    let inv = lambda
        .invoke_detailed(
            &Source::HttpV2.event("GET", "/sleep/10", &[]),
            Duration::from_secs(4),
        )
        .await;
    assert_eq!(lambda.expect_response(&inv.outcome)["statusCode"], 504);
    assert!(
        inv.answered_at + Duration::from_millis(2000) <= inv.deadline,
        "with a 2.5 s margin the 504 should come about 1.5 s after delivery, came after {:?}",
        inv.elapsed()
    );
    works(&lambda, "a timeout with a custom margin").await;
}

/// php-fpm drops a connection it accepted when no request arrives within 5 s; the one the runtime opened
/// at init must not be the first request's (provisioned concurrency: the first event can come much later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_invocation_long_after_init_is_served() {
    let mut lambda = Lambda::start().await;
    lambda.ready().await;
    tokio::time::sleep(Duration::from_millis(6500)).await;
    works(&lambda, "the first invocation 6.5 s after init").await;
    works(&lambda, "the next one").await;
}
