//! `LAMBDA_FPM_EVENT_HANDLER`: events that are not HTTP requests run tests/fixtures/app/worker.php
//! through php-fpm. Each AWS source (events from the AWS documentation's examples) reaches PHP byte for
//! byte with its `LAMBDA_EVENT_SOURCE`; the output is the result; fatals, bad statuses, output that is
//! not JSON, timeouts and killed workers are `/error`s that say why, and the next event is served warm.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::faults::Warm;
use crate::support::events::load_raw;
use crate::support::{app_root, Bootstrap, Lambda, RuntimeApi, Source, HANDLER};

const HANDLER_ENV: (&str, &str) = ("LAMBDA_FPM_EVENT_HANDLER", "worker.php");

async fn lambda() -> Lambda {
    let mut lambda = Lambda::start_env(&[HANDLER_ENV]).await;
    lambda.ready().await;
    lambda
}

/// What the fixture handler saw of `event` (its default answer).
async fn seen(lambda: &Lambda, event: Vec<u8>) -> Value {
    let outcome = lambda.invoke_bytes(event).await;
    lambda.expect_response(&outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_source_reaches_the_handler_byte_for_byte() {
    let lambda = lambda().await;
    let worker = std::fs::canonicalize(app_root().join("worker.php")).expect("worker.php");
    for (fixture, source) in [
        ("sns", "aws:sns"),
        ("s3-put", "aws:s3"),
        ("dynamodb", "aws:dynamodb"),
        ("kinesis", "aws:kinesis"),
        ("eventbridge-schedule", "aws.events"),
        ("eventbridge-ec2", "aws.events"),
    ] {
        let raw = load_raw(fixture);
        let inv = lambda
            .api
            .invoke_detailed(raw.clone(), Duration::from_secs(30))
            .await;
        let seen = lambda.expect_response(&inv.outcome);
        assert_eq!(seen["source"], source, "{fixture}: {seen}");
        assert_eq!(seen["method"], "POST", "{fixture}");
        assert_eq!(seen["contentType"], "application/json", "{fixture}");
        assert_eq!(seen["contentLength"], raw.len().to_string(), "{fixture}");
        assert_eq!(
            seen["body"].as_str().map(str::as_bytes),
            Some(&raw[..]),
            "{fixture}: the event reaches PHP byte for byte"
        );
        assert_eq!(seen["context"]["awsRequestId"], inv.request_id.as_str());
        assert_eq!(seen["context"]["deadlineMs"], inv.deadline_ms);
        assert_eq!(seen["scriptFilename"], worker.display().to_string());
        assert_eq!(seen["scriptName"], "/worker.php");
    }
    // Direct invocations: any JSON at all, whitespace and escapes kept.
    for event in [
        &b"{\"job\": \"resize\",\n \"id\": 7}"[..],
        b"[1, 2, 3]",
        b"42",
        b"null",
        b"\"a string without a console\"",
        "{\"name\":\"caf\\u00e9 ✓\"}".as_bytes(),
    ] {
        let seen = seen(&lambda, event.to_vec()).await;
        assert_eq!(seen["source"], "direct", "{seen}");
        assert_eq!(seen["body"].as_str().map(str::as_bytes), Some(event));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_partial_batch_responses_pass_through_unchanged() {
    let lambda = lambda().await;
    let outcome = lambda.invoke_bytes(load_raw("sqs-batch")).await;
    assert_eq!(
        outcome.bytes(),
        br#"{"batchItemFailures":[{"itemIdentifier":"2e1424d4-f796-459a-8184-9c92662be6da"}]}"#,
        "logs:\n{}",
        lambda.bs.logs()
    );
    lambda
        .bs
        .wait_for_log(
            "reported 1 of 2 records as failed (batchItemFailures)",
            Duration::from_secs(5),
        )
        .await;
    let outcome = lambda.invoke_bytes(load_raw("sqs")).await;
    assert_eq!(outcome.bytes(), br#"{"batchItemFailures":[]}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_errors_are_errors_that_carry_php_s_message() {
    let mut lambda = lambda().await;
    let warm = Warm::take(&mut lambda).await;
    for (event, kind, needle) in [
        (
            json!({"do": "fatal"}),
            "Function.PhpError",
            "Call to undefined function undefined_function_marker_for_events()",
        ),
        (
            json!({"do": "exception"}),
            "Function.PhpError",
            "Uncaught RuntimeException: boom-event-marker",
        ),
        (
            json!({"do": "partial-fatal"}),
            "Function.PhpError",
            "undefined_function_after_output()",
        ),
        (
            json!({"do": "status", "status": 422}),
            "Function.PhpError",
            "status 422: \"{\\\"error\\\":\\\"status-marker\\\"}\"",
        ),
        (
            json!({"do": "oom"}),
            "Function.PhpError",
            "Allowed memory size of 33554432 bytes exhausted",
        ),
    ] {
        let outcome = lambda.invoke(&event).await;
        let (error_type, message) = lambda.error_of(&outcome);
        assert_eq!(error_type, kind, "{event}: {message}");
        assert!(message.contains(needle), "{event}: {message}");
        warm.check(&mut lambda, &event.to_string(), true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_must_be_json_and_empty_output_is_null() {
    let lambda = lambda().await;
    let outcome = lambda.invoke(&json!({"do": "html"})).await;
    let (error_type, message) = lambda.error_of(&outcome);
    assert_eq!(error_type, "Function.InvalidOutput");
    assert!(message.contains("\"<p>not json</p>\""), "{message}");
    for event in [json!({"do": "empty"}), json!({"do": "exit"})] {
        let outcome = lambda.invoke(&event).await;
        assert_eq!(outcome.bytes(), b"null", "{event}: {}", outcome.describe());
    }
    // Written as PHP wrote it: no re-serialisation.
    let raw = "  {\"b\": 1.50, \"a\": [\"\\u00e9\", true]}\n";
    let outcome = lambda.invoke(&json!({"do": "raw", "raw": raw})).await;
    assert_eq!(outcome.bytes(), raw.as_bytes());
    let outcome = lambda
        .invoke(&json!({"do": "raw", "raw": "{\"a\":1} trailing"}))
        .await;
    assert_eq!(lambda.error_of(&outcome).0, "Function.InvalidOutput");
    let outcome = lambda
        .invoke(&json!({"do": "large", "bytes": 7_000_000}))
        .await;
    let (error_type, message) = lambda.error_of(&outcome);
    assert_eq!(error_type, "Function.ResponseSizeTooLarge", "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_past_the_deadline_is_killed_in_time() {
    let mut lambda = lambda().await;
    let warm = Warm::take(&mut lambda).await;
    let event = serde_json::to_vec(&json!({"do": "sleep", "seconds": 10})).expect("json");
    let inv = lambda
        .api
        .invoke_detailed(event, Duration::from_secs(3))
        .await;
    let (error_type, message) = lambda.error_of(&inv.outcome);
    assert_eq!(error_type, "Function.Timeout", "{message}");
    assert!(message.contains("its PHP worker was killed"), "{message}");
    assert!(
        inv.answered_at <= inv.deadline,
        "answered {:?} after delivery, after the 3 s deadline",
        inv.elapsed()
    );
    assert!(
        inv.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        inv.elapsed()
    );
    let started = Instant::now();
    warm.check(&mut lambda, "an event handler timeout", true)
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let outcome = lambda.invoke(&json!({"do": "sleep", "seconds": 1})).await;
    assert_eq!(outcome.bytes(), br#"{"slept":1}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_is_an_error_and_a_fresh_worker_takes_the_next_event() {
    let mut lambda = lambda().await;
    let warm = Warm::take(&mut lambda).await;
    let first = seen(&lambda, b"{}".to_vec()).await;
    let outcome = lambda.invoke(&json!({"do": "die"})).await;
    let (error_type, message) = lambda.error_of(&outcome);
    assert_eq!(error_type, "Function.WorkerDied", "{message}");
    warm.check(&mut lambda, "a killed worker", true).await;
    let next = seen(&lambda, b"{}".to_vec()).await;
    assert_ne!(first["pid"], next["pid"], "a new worker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_s_log_lines_reach_the_logs() {
    let lambda = lambda().await;
    let outcome = lambda.invoke(&json!({"do": "stderr"})).await;
    assert_eq!(outcome.bytes(), br#"{"logged":true}"#);
    lambda
        .bs
        .wait_for_log("event-error-log-marker", Duration::from_secs(5))
        .await;
    lambda
        .bs
        .wait_for_log("event-stderr-marker", Duration::from_secs(5))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_events_still_go_to_the_app() {
    let lambda = lambda().await;
    lambda.assert_serving("an event handler configured").await;
    // An HTTP event with a field of the wrong type is still the HTTP parser's error.
    let mut bad = Source::HttpV2.event("GET", "/", &[]);
    bad["headers"] = json!(["not", "a", "map"]);
    let (error_type, _) = lambda.error_of(&lambda.invoke(&bad).await);
    assert_eq!(error_type, "Runtime.InvalidEvent");
    // Not JSON at all is not an event for PHP either.
    let (error_type, _) = lambda.error_of(&lambda.invoke_bytes(b"not json".to_vec()).await);
    assert_eq!(error_type, "Runtime.InvalidEvent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_handler_events_are_unsupported_and_say_what_to_set() {
    let lambda = Lambda::start().await;
    let (error_type, message) = lambda.error_of(&lambda.invoke_bytes(load_raw("sns")).await);
    assert_eq!(error_type, "Runtime.UnsupportedEvent");
    assert!(message.contains("aws:sns"), "{message}");
    assert!(message.contains("LAMBDA_FPM_EVENT_HANDLER"), "{message}");
    let (_, message) = lambda.error_of(&lambda.invoke_bytes(&b"\"migrate\""[..]).await);
    assert!(message.contains("LAMBDA_FPM_CONSOLE"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_fails_when_the_handler_is_missing_or_not_php() {
    for (value, kind, mention) in [
        (
            "jobs/missing.php",
            "Runtime.HandlerNotFound",
            "jobs/missing.php",
        ),
        (
            "worker.txt",
            "Runtime.InvalidConfiguration",
            "LAMBDA_FPM_EVENT_HANDLER",
        ),
    ] {
        let api = RuntimeApi::start().await;
        let env = [("LAMBDA_FPM_EVENT_HANDLER", value)];
        let mut bs = Bootstrap::start(&api, &app_root(), HANDLER, &env);
        let Some((error_type, body)) = api.init_error(Duration::from_secs(15)).await else {
            panic!("no /init/error for {value}; logs:\n{}", bs.logs());
        };
        assert_eq!(error_type, kind, "{body}");
        let message = body["errorMessage"].as_str().unwrap_or_default();
        assert!(message.contains(mention), "{message}");
        assert!(bs.wait_exit(Duration::from_secs(10)).await.is_some());
        assert_eq!(api.next_calls(), 0);
    }
}
