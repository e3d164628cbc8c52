//! Failures: a correct HTTP answer, a clear log line, and the next invocation works (the failure table of
//! docs/design.md).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::events::load_raw;
use crate::support::{app_root, Bootstrap, Lambda, Outcome, RuntimeApi, Source, HANDLER};

async fn next_works(lambda: &Lambda, what: &str) {
    lambda.assert_serving(what).await;
}

// ----- PHP errors --------------------------------------------------------------------------------------

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

// ----- timeouts ------------------------------------------------------------------------------------------

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
        let logs = lambda.bs.logs();
        assert!(
            logs.lines()
                .any(|l| l.contains("502 Bad Gateway") && l.contains(named)),
            "{route}: the log names {named}; logs:\n{logs}"
        );
    }
    next_works(&lambda, "rejected output").await;
}

// ----- events that are not HTTP requests ----------------------------------------------------------------

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

// ----- init failures -------------------------------------------------------------------------------------

async fn expect_init_failure(env: &[(&str, &str)], handler: &str, mention: &str) {
    let api = RuntimeApi::start().await;
    let mut bs = Bootstrap::start(&api, &app_root(), handler, env);
    let Some((kind, body)) = api.init_error(Duration::from_secs(15)).await else {
        panic!(
            "no POST /runtime/init/error within 15 s (exit: {:?}; requests: {:?}); logs:\n{}",
            bs.try_exit(),
            api.request_log(),
            bs.logs()
        );
    };
    assert!(
        kind.starts_with("Runtime."),
        "init error type {kind:?} (body {body})"
    );
    let msg = body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        msg.contains(mention),
        "the init error should tell the user what to fix (mention {mention:?}): {body}"
    );
    let status = bs.wait_exit(Duration::from_secs(10)).await;
    let Some(status) = status else {
        panic!(
            "the bootstrap did not exit after an init error; logs:\n{}",
            bs.logs()
        )
    };
    assert!(
        !status.success(),
        "exit status after an init error: {status:?}"
    );
    assert_eq!(api.next_calls(), 0, "no GET /next after a failed init");
    assert!(
        bs.logs().contains(mention),
        "the logs should say it too; logs:\n{}",
        bs.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_when_handler_is_missing() {
    expect_init_failure(&[], "public/missing.php", "missing.php").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_when_php_fpm_is_missing() {
    expect_init_failure(
        &[("LAMBDA_FPM_PHP_FPM", "/nonexistent")],
        HANDLER,
        "/nonexistent",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_when_php_fpm_exits_at_once() {
    let api = RuntimeApi::start().await;
    let mut bs = Bootstrap::start(
        &api,
        &app_root(),
        HANDLER,
        &[("LAMBDA_FPM_PHP_FPM", "/bin/false")],
    );
    let Some((kind, body)) = api.init_error(Duration::from_secs(15)).await else {
        panic!(
            "no init error when php-fpm exits at once (exit {:?}); logs:\n{}",
            bs.try_exit(),
            bs.logs()
        );
    };
    assert!(kind.starts_with("Runtime."), "{kind}");
    assert!(
        !body["errorMessage"].as_str().unwrap_or_default().is_empty(),
        "{body}"
    );
    let status = bs.wait_exit(Duration::from_secs(10)).await;
    assert!(
        matches!(status, Some(s) if !s.success()),
        "exit status {status:?}"
    );
    assert_eq!(api.next_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_when_task_root_is_missing() {
    let api = RuntimeApi::start().await;
    let missing = std::path::Path::new("/nonexistent-task-root");
    let mut bs = Bootstrap::start(&api, missing, HANDLER, &[]);
    let Some((_, body)) = api.init_error(Duration::from_secs(15)).await else {
        panic!(
            "no init error for a missing task root; logs:\n{}",
            bs.logs()
        );
    };
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("nonexistent-task-root"),
        "{body}"
    );
    assert!(matches!(bs.wait_exit(Duration::from_secs(10)).await, Some(s) if !s.success()));
}
