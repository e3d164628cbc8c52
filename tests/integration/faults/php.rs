//! Scripts that misbehave: exit() halfway, a worker killed mid-response, a busy loop past the deadline,
//! floods of stderr and log lines; responses too large for Lambda, and oversized headers.

use std::time::{Duration, Instant};

use crate::support::events::remove_header;
use crate::support::{body_bytes, Lambda, Source, MAX_RESPONSE_BYTES};

use super::{alive, children, count, eventually, faults, pattern, Warm};

// ----- PHP ------------------------------------------------------------------------------------------------

/// exit() halfway through the output: what was printed is the (successful) response. Nothing failed, so
/// nothing is logged as an error; the worker is reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_halfway_through_output_sends_what_was_printed() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    for size in ["10", "200000"] {
        let resp = lambda
            .respond(&faults("/exit-halfway", &[("size", size)]))
            .await;
        assert_eq!(resp["statusCode"], 200, "{resp}");
        let body = body_bytes(&resp);
        let n: usize = size.parse().expect("size");
        assert_eq!(body.len(), n + "|first-half".len());
        assert!(body.ends_with(b"|first-half"));
        assert!(!String::from_utf8_lossy(&body).contains("second-half"));
    }
    warm.check(&mut lambda, "exit() halfway", true).await;
}

/// The worker SIGKILLed after part of its output has reached php-fpm: 502, a log line that says the
/// connection closed mid-response, and php-fpm's master (same pid) forks a new worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_mid_response_is_502_same_master() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    for source in [Source::HttpV2, Source::Rest, Source::Alb] {
        let resp = lambda
            .respond(&source.event("GET", "/faults.php/kill-mid-response", &[]))
            .await;
        assert_eq!(resp["statusCode"], 502, "{source:?}: {resp}");
        assert!(
            !body_bytes(&resp).starts_with(b"kkkk"),
            "{source:?}: a partial body must not pass for a response"
        );
    }
    // The worker's death reaches the runtime as EOF or as a reset, depending on timing: either way the
    // 502 is logged with the same cause, and php-fpm's own line names the signal. The harness reads the
    // logs from a pipe, so wait for all three lines rather than counting once.
    let cause = "502 Bad Gateway: php-fpm closed the connection before the end of the response";
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let logs = loop {
        let logs = lambda.bs.logs();
        let logged = logs.lines().filter(|l| l.contains(cause)).count();
        if (logged >= 3 && logs.contains("exited on signal 9 (SIGKILL)"))
            || std::time::Instant::now() > deadline
        {
            break logs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        logs.contains("exited on signal 9 (SIGKILL)"),
        "php-fpm's line; logs:\n{logs}"
    );
    assert_eq!(
        logs.lines().filter(|l| l.contains(cause)).count(),
        3,
        "one 502 log line per killed worker; logs:\n{logs}"
    );
    warm.check(&mut lambda, "a worker killed mid-response", true)
        .await;
}

/// A busy loop that ignores everything (no sleep, no signal handling) past the deadline: 504 before the
/// deadline, the worker is SIGKILLed (logged), and the master (same pid) serves the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_loop_past_the_deadline_is_504_and_the_worker_is_killed() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    let worker_before = children(warm.master);
    let inv = lambda
        .invoke_detailed(&faults("/busy", &[]), Duration::from_secs(3))
        .await;
    let resp = lambda.expect_response(&inv.outcome);
    assert_eq!(resp["statusCode"], 504, "{resp}");
    assert!(
        inv.answered_at <= inv.deadline,
        "the 504 came {:?} after delivery, after the 3 s deadline",
        inv.elapsed()
    );
    // Logged in this order: the kill (backend), then the 504 (app). Wait for the later one.
    let logs = lambda
        .bs
        .wait_for_log(
            "504 Gateway Timeout: the script ran past the deadline",
            Duration::from_secs(5),
        )
        .await;
    assert!(
        logs.contains("killed the php-fpm worker of pool lambda, still running"),
        "{logs}"
    );
    assert!(
        eventually(Duration::from_secs(3), || worker_before
            .iter()
            .all(|w| !alive(*w)))
        .await,
        "the busy worker {worker_before:?} is still alive"
    );
    warm.check(&mut lambda, "a busy loop past the deadline", true)
        .await;
}

/// 1 MB written to stderr in one fwrite, then 10,000 error_log() lines: no deadlock, and every line is in
/// the logs exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_megabyte_of_stderr_and_ten_thousand_log_lines_are_all_logged() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    let started = Instant::now();
    let resp = lambda
        .respond(&faults("/stderr-mb", &[("lines", "11000"), ("n", "mbA")]))
        .await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert_eq!(resp["body"], "wrote 1111000 bytes");
    let resp = lambda
        .respond(&faults("/log-lines", &[("lines", "10000"), ("n", "llB")]))
        .await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "logging took {:?}",
        started.elapsed()
    );
    // Lines may arrive a little after the response (php-fpm's master relays them).
    let complete = eventually(Duration::from_secs(10), || {
        let logs = lambda.bs.logs();
        count(&logs, "stderr-mb-mbA-") >= 11000 && count(&logs, "log-line-llB-") >= 10000
    })
    .await;
    let logs = lambda.bs.logs();
    let missing_mb: Vec<usize> = (0..11000)
        .filter(|i| count(&logs, &format!("stderr-mb-mbA-{i:05} ")) != 1)
        .take(10)
        .collect();
    let missing_ll: Vec<usize> = (0..10000)
        .filter(|i| count(&logs, &format!("log-line-llB-{i:05}")) != 1)
        .take(10)
        .collect();
    assert!(
        complete && missing_mb.is_empty() && missing_ll.is_empty(),
        "lines lost or repeated: stderr {missing_mb:?}…, error_log {missing_ll:?}… ({} and {} seen)",
        count(&logs, "stderr-mb-mbA-"),
        count(&logs, "log-line-llB-")
    );
    warm.check(&mut lambda, "1 MB of stderr", true).await;
}

// ----- response sizes -------------------------------------------------------------------------------------

/// 4.5 MB of binary fits once base64-encoded: 200 with the exact bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_of_4_5_mb_fits_byte_exact() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    let size = 4_500_000;
    for source in [Source::HttpV2, Source::Rest] {
        let outcome = lambda
            .invoke(&source.event("GET", "/faults.php/binary", &[("size", &size.to_string())]))
            .await;
        let bytes = outcome.bytes().len();
        assert!(bytes <= MAX_RESPONSE_BYTES, "{source:?}: {bytes} bytes");
        let resp = lambda.expect_response(&outcome);
        assert_eq!(resp["statusCode"], 200, "{source:?}");
        assert_eq!(resp["isBase64Encoded"], true, "{source:?}");
        let body = body_bytes(&resp);
        assert_eq!(body.len(), size, "{source:?}");
        assert!(body == pattern(size), "{source:?}: the bytes differ");
    }
    warm.check(&mut lambda, "a 4.5 MB binary response", true)
        .await;
}

/// 5 MiB of binary (6.99 MB base64) and 7 MB of text cannot be returned: a 502 whose body says why, a
/// log line with the sizes, and the connection to php-fpm stays usable (same master).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_of_5_mib_and_text_of_7_mb_are_a_clear_502() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    for (route, size) in [("/binary", 5 * 1024 * 1024), ("/text", 7_000_000)] {
        for source in [Source::HttpV2, Source::Rest, Source::Alb] {
            let mut event = source.event(
                "GET",
                &format!("/faults.php{route}"),
                &[("size", &size.to_string())],
            );
            // A client that accepts no compression: compressed, the text would fit (compression.rs).
            remove_header(&mut event, "accept-encoding");
            let outcome = lambda.invoke(&event).await;
            let resp = lambda.expect_response(&outcome);
            assert_eq!(resp["statusCode"], 502, "{source:?} {route}: {resp}");
            let body = String::from_utf8_lossy(&body_bytes(&resp)).into_owned();
            assert!(
                body.contains("too large"),
                "{source:?} {route}: the 502 should say why: {body}"
            );
            assert!(
                body.contains(&size.to_string())
                    || body.contains("bytes of response JSON")
                    || body.contains("printed"),
                "{source:?} {route}: the 502 should give the sizes: {body}"
            );
        }
    }
    lambda
        .bs
        .wait_for_log(
            "502 Bad Gateway: The response is too large for Lambda",
            Duration::from_secs(5),
        )
        .await;
    lambda
        .bs
        .wait_for_log(
            "502 Bad Gateway: the script printed 7000",
            Duration::from_secs(5),
        )
        .await;
    warm.check(&mut lambda, "oversized responses", true).await;
}

/// Response headers over 10 KB are served but logged as a warning (API Gateway refuses them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_over_10_kb_are_served_with_a_warning() {
    let mut lambda = Lambda::start().await;
    let warm = Warm::take(&mut lambda).await;
    let resp = lambda
        .respond(&faults("/big-headers", &[("count", "12")]))
        .await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let big = resp["headers"]
        .as_object()
        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-big-11")))
        .and_then(|(_, v)| v.as_str())
        .map(str::len);
    assert_eq!(big, Some(1000), "{resp}");
    lambda
        .bs
        .wait_for_log(
            "API Gateway refuses more than about 10 KB",
            Duration::from_secs(5),
        )
        .await;
    // under the threshold: no warning
    let before = count(&lambda.bs.logs(), "API Gateway refuses");
    let resp = lambda
        .respond(&faults("/big-headers", &[("count", "5")]))
        .await;
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(count(&lambda.bs.logs(), "API Gateway refuses"), before);
    warm.check(&mut lambda, "big headers", true).await;
}
