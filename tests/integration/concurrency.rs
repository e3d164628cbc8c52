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

/// Managed Instances with 4 slots: each fault kind (a script past its deadline, a PHP fatal, a worker
/// SIGKILLed, the php-fpm master SIGKILLed) strikes while three slow requests are in flight on the
/// other slots. Those three are answered normally every time; only the faulty request sees the fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_stays_in_its_slot_with_four_concurrent_invocations() {
    use crate::faults::{alive, children, eventually, kill, master_pid};
    let mut l = Lambda::start_env(&[("AWS_LAMBDA_MAX_CONCURRENCY", "4")]).await;
    l.ready().await;
    assert!(l.api.wait_next_calls(4, Duration::from_secs(10)).await);
    let slow = Source::HttpV2.event("GET", "/sleep/2", &[]);
    let faults = Source::HttpV2.event("GET", "/faults.php/kill-mid-response", &[]);
    let busy = Source::HttpV2.event("GET", "/faults.php/busy", &[]);
    let fatal = Source::HttpV2.event("GET", "/fatal", &[]);
    let hello = Source::HttpV2.event("GET", "/other.php", &[]);
    for fault in ["timeout", "fatal", "worker killed", "master killed"] {
        let master = master_pid(&l.bs).expect("a php-fpm master");
        let old_workers = children(master);
        let normal = async { tokio::join!(l.respond(&slow), l.respond(&slow), l.respond(&slow)) };
        let faulty = async {
            // Strike once the slow requests hold three of the four workers.
            tokio::time::sleep(Duration::from_millis(400)).await;
            match fault {
                "timeout" => l
                    .api
                    .invoke_with(busy.to_string(), Duration::from_millis(1200))
                    .await
                    .json()["statusCode"]
                    .clone(),
                "fatal" => l.respond(&fatal).await["statusCode"].clone(),
                "worker killed" => l.respond(&faults).await["statusCode"].clone(),
                _ => {
                    kill("KILL", master);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    l.respond(&hello).await["statusCode"].clone()
                }
            }
        };
        let ((a, b, c), status) = tokio::join!(normal, faulty);
        for (i, r) in [a, b, c].iter().enumerate() {
            assert_eq!(
                r["statusCode"],
                200,
                "{fault}: in-flight request {i} was hit: {r}; logs:\n{}",
                l.bs.logs()
            );
        }
        let expected = match fault {
            "timeout" => 504,
            "fatal" => 500,
            "worker killed" => 502,
            _ => 200,
        };
        assert_eq!(status, expected, "{fault}; logs:\n{}", l.bs.logs());
        if fault == "master killed" {
            // The request after the kill restarted php-fpm; the dead master's workers finished the three
            // slow requests and are then killed.
            assert!(
                eventually(Duration::from_secs(5), || old_workers
                    .iter()
                    .all(|w| !alive(*w)))
                .await,
                "the dead master's workers {old_workers:?} outlived the requests they served"
            );
        }
    }
    // And all four slots serve afterwards.
    let (a, b, c, d) = tokio::join!(
        l.respond(&hello),
        l.respond(&hello),
        l.respond(&hello),
        l.respond(&hello)
    );
    for r in [a, b, c, d] {
        assert_eq!(r["statusCode"], 200, "{r}");
    }
}
