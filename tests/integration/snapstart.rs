//! SnapStart (`AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`) against the emulator's snapshot: after the
//! warm-up the runtime waits in `GET /runtime/restore/next`; the test holds the snapshot, then restores.
//! A restore drops every connection opened before it (a request on one is never answered), and a
//! process cannot be forked into two copies, so "two restored environments" are two bootstraps that
//! went through the same init (the same warm-up seeding `mt_rand` with the same value).
//!
//! The clock jump: the bootstrap (and php-fpm under it) runs on a wall clock hours behind during init
//! (libfaketime, `support::clock`), which is set right at the restore, as a restore's wall clock jumps from
//! the snapshot's time to now. The emulator's deadlines are on the real clock, as Lambda's are.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::clock::{real_now, FakeClock};
use crate::support::{body_bytes, Lambda, Source};

/// What `mt_rand()` returns first after `mt_srand(42)` (PHP's MT19937, the same since PHP 7.1).
const MT_RAND_AFTER_SEED_42: i64 = 804_318_771;

/// Warm-up seeds `mt_rand` in the worker and compiles other.php into opcache.
const WARMUP: &str = "/lifecycle.php?seed=42,/other.php";

fn lifecycle() -> Value {
    Source::HttpV2.event("GET", "/lifecycle.php", &[])
}

/// A bootstrap with SnapStart, stopped at the snapshot (its `/restore/next` pending).
async fn at_snapshot(extra: &[(&str, &str)]) -> Lambda {
    let mut env = vec![
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start"),
        ("LAMBDA_FPM_WARMUP", WARMUP),
    ];
    env.extend_from_slice(extra);
    let l = Lambda::start_env(&env).await;
    assert!(
        l.api.wait_for_snapshot(Duration::from_secs(20)).await,
        "the bootstrap never called GET /runtime/restore/next; logs:\n{}",
        l.bs.logs()
    );
    l
}

/// The fixture's record of the warm-up request (its request log).
fn warmup_record(l: &Lambda) -> Value {
    let log = std::fs::read_to_string(l.bs.tmpdir().join("lifecycle.log")).unwrap_or_default();
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|r| r["uri"] == "/lifecycle.php?seed=42")
        .unwrap_or_else(|| panic!("no warm-up request in lifecycle.log: {log:?}"))
}

/// The pid of the worker that served the warm-up.
fn warmup_pid(l: &Lambda) -> i64 {
    let record = warmup_record(l);
    record["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("no pid in the warm-up's record: {record}"))
}

/// Restores and waits for the first `/next` after it; panics with the emulator's view otherwise.
async fn restore(l: &Lambda) -> Duration {
    let before = l.api.next_calls();
    l.api.restore();
    let end = Instant::now() + Duration::from_secs(10);
    while l.api.next_calls() == before && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(
        l.api.stale_requests(),
        0,
        "the runtime sent a request on a connection from before the snapshot; requests: {:?}\nlogs:\n{}",
        l.api.request_log(),
        l.bs.logs()
    );
    l.api.restore_duration().unwrap_or_else(|| {
        panic!(
            "no GET /next after the restore; requests: {:?}\nlogs:\n{}",
            l.api.request_log(),
            l.bs.logs()
        )
    })
}

async fn draw(l: &Lambda) -> Value {
    let resp = l.respond(&lifecycle()).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    serde_json::from_slice(&body_bytes(&resp)).expect("lifecycle.php answers JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_restored_copies_get_their_own_workers_and_random_state() {
    let (a, b) = tokio::join!(at_snapshot(&[]), at_snapshot(&[]));
    // Nothing is invoked before the snapshot: init ends at /restore/next, not /next.
    assert_eq!((a.api.next_calls(), b.api.next_calls()), (0, 0));
    let warm = (warmup_pid(&a), warmup_pid(&b));
    let (ta, tb) = tokio::join!(restore(&a), restore(&b));
    let (da, db) = tokio::join!(draw(&a), draw(&b));
    for (copy, l, drawn, warm_pid, took) in [("A", &a, &da, warm.0, ta), ("B", &b, &db, warm.1, tb)]
    {
        println!("copy {copy}: restore → first /next {took:?}; after the restore {drawn}");
        assert_ne!(
            drawn["pid"].as_i64(),
            Some(warm_pid),
            "copy {copy}: the worker of the warm-up still serves after the restore"
        );
        assert_ne!(
            drawn["mt_rand"].as_i64(),
            Some(MT_RAND_AFTER_SEED_42),
            "copy {copy}: mt_rand continues the state seeded before the snapshot"
        );
        assert_eq!(
            drawn["other_cached"], true,
            "copy {copy}: opcache lost what the warm-up compiled (php-fpm's master must stay)"
        );
        l.bs.wait_for_log("SnapStart: restored in", Duration::from_secs(1))
            .await;
    }
    assert_ne!(da["mt_rand"], db["mt_rand"], "the two copies share mt_rand");
    assert_ne!(da["random_int"], db["random_int"]);
}

/// The snapshot is held for 6 s: longer than php-fpm keeps an accepted connection that carries no
/// request (5 s) and than the first php-fpm restart back-off (1 s), as a restore days later would be.
/// After it: no request on an old socket, the first invocation is served, and deadlines are counted on
/// the clock after the restore (a script past its deadline still gets its 504 in time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_long_snapshot_sockets_and_deadlines_are_fresh() {
    let l = at_snapshot(&[]).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    restore(&l).await;
    let first = l.respond(&Source::HttpV2.event("GET", "/json", &[])).await;
    assert_eq!(first["statusCode"], 200, "{first}");
    let slow = Source::HttpV2.event("GET", "/sleep/10", &[]);
    let inv = l.invoke_detailed(&slow, Duration::from_millis(2500)).await;
    let resp = l.expect_response(&inv.outcome);
    assert_eq!(resp["statusCode"], 504, "{resp}");
    assert!(
        inv.elapsed() < Duration::from_millis(2500),
        "the 504 came after the deadline: {:?}",
        inv.elapsed()
    );
    l.assert_serving("a restore and a timeout").await;
    assert_eq!(l.api.stale_requests(), 0, "{:?}", l.api.request_log());
}

/// How far behind the real clock the environment's wall clock is while the snapshot is taken.
const SNAPSHOT_AGE_SECS: i64 = 3 * 3600;

/// The wall clock jumps 3 hours forward at the restore. What a user sees after it: PHP's `time()`,
/// `REQUEST_TIME` and `date()` in the first invocation give the time after the jump (nothing in php-fpm
/// or the runtime kept the clock of before); a script past its deadline still gets its 504 on time, and
/// neither the first invocation nor a script well within its deadline is taken for a timeout. Both
/// deadline checks fail if the runtime still counted on the clock of before the restore: 3 hours behind,
/// the slow script would run its full 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_jump_at_restore_is_seen_by_php_and_is_not_a_timeout() {
    let clock = FakeClock::new(-SNAPSHOT_AGE_SECS);
    let env = clock.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let l = at_snapshot(&env).await;
    // The fake clock did reach php-fpm: the warm-up ran 3 hours in the past.
    let warm = warmup_record(&l);
    let behind = real_now() - warm["time"].as_i64().unwrap_or_default();
    assert!(
        (SNAPSHOT_AGE_SECS - 60..=SNAPSHOT_AGE_SECS + 60).contains(&behind),
        "the warm-up's time() is {behind} s behind the real clock, not about {SNAPSHOT_AGE_SECS} s: \
         libfaketime is not in effect ({warm})"
    );

    clock.set(0);
    restore(&l).await;
    let first = draw(&l).await;
    let now = real_now();
    println!("first invocation after the 3 h jump: {first}");
    for field in ["time", "request_time"] {
        let seen = first[field].as_i64().unwrap_or_default();
        assert!(
            (seen - now).abs() <= 5,
            "PHP's {field} after the restore is {seen}, the clock says {now} ({} s off): {first}",
            seen - now
        );
    }

    // 2.5 s left: a 1 s script is served, a 10 s one gets its 504 before the deadline, not at once.
    let quick = Source::HttpV2.event("GET", "/sleep/1", &[]);
    let inv = l.invoke_detailed(&quick, Duration::from_millis(2500)).await;
    let resp = l.expect_response(&inv.outcome);
    assert_eq!(
        resp["statusCode"], 200,
        "a script within its deadline after the jump: {resp}"
    );
    let slow = Source::HttpV2.event("GET", "/sleep/10", &[]);
    let inv = l.invoke_detailed(&slow, Duration::from_millis(2500)).await;
    let resp = l.expect_response(&inv.outcome);
    assert_eq!(resp["statusCode"], 504, "{resp}");
    assert!(
        (Duration::from_millis(1500)..Duration::from_millis(2500)).contains(&inv.elapsed()),
        "the 504 came {:?} after delivery: it must come after most of the 2.5 s and before the deadline",
        inv.elapsed()
    );
    l.assert_serving("a clock jump and a timeout").await;
    assert_eq!(l.api.stale_requests(), 0, "{:?}", l.api.request_log());
}

/// php-fpm dies while the snapshot is stored and cannot start again (its configuration is gone): the
/// runtime posts `/runtime/restore/error` and exits instead of calling `/next`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_restore_is_posted_to_restore_error() {
    use crate::faults::{alive, eventually, kill, master_pid};
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("php-fpm.conf");
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/fpm-config/php-fpm.conf");
    std::fs::copy(shipped, &conf).expect("copy php-fpm.conf");
    let conf_var = conf.display().to_string();
    let mut l = at_snapshot(&[("LAMBDA_FPM_FPM_CONFIG", &conf_var)]).await;
    std::fs::write(&conf, "[global]\n; no pool any more\n").expect("break php-fpm.conf");
    let master = master_pid(&l.bs).expect("a php-fpm master");
    kill("KILL", master);
    assert!(eventually(Duration::from_secs(5), || !alive(master)).await);
    l.api.restore();
    let (error_type, body) = l
        .api
        .restore_error(Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("no /restore/error; logs:\n{}", l.bs.logs()));
    assert_eq!(error_type, "Runtime.AfterRestoreError");
    assert_eq!(body["errorType"], "Runtime.AfterRestoreError");
    let message = body["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("no pool section"), "{message}");
    let status = l.bs.wait_exit(Duration::from_secs(10)).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "the bootstrap must exit non-zero after a failed restore: {status:?}"
    );
    assert_eq!(l.api.next_calls(), 0, "no /next after a failed restore");
    assert_eq!(l.api.stale_requests(), 0, "{:?}", l.api.request_log());
}

/// Without SnapStart nothing waits for a snapshot: init ends with the first `/next`.
#[tokio::test]
async fn other_initialization_types_never_wait_for_a_snapshot() {
    for init_type in ["on-demand", "provisioned-concurrency"] {
        let mut l = Lambda::start_env(&[("AWS_LAMBDA_INITIALIZATION_TYPE", init_type)]).await;
        l.ready().await;
        assert!(
            !l.api.wait_for_snapshot(Duration::from_millis(200)).await,
            "{init_type}: the runtime called /restore/next"
        );
        l.assert_serving(init_type).await;
    }
}
