//! The fault matrix (issue 6): each fault gets the right answer (HTTP status or `/error`), a log line that
//! names the cause, and the next invocation is served by the same bootstrap without a cold start (same
//! bootstrap pid, still running, the emulator's GET /next count keeps growing, and the php-fpm master is
//! unchanged wherever the fault does not kill it).
//!
//! Cases already covered elsewhere (see docs/reliability.md for the whole matrix): PHP fatal, uncaught
//! exception, memory_limit, a worker dying before any output, a script sleeping past the deadline
//! (failures.rs); /response answered 413/500/400, /next answered 500, a dropped /next connection, a
//! slow /next (reliability.rs); a missing handler or php-fpm (failures.rs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    app_root, body_bytes, Bootstrap, Lambda, Outcome, RuntimeApi, Source, HANDLER,
    MAX_RESPONSE_BYTES,
};

// ----- helpers ------------------------------------------------------------------------------------------

/// The php-fpm master: the bootstrap's direct child.
pub fn master_pid(bs: &Bootstrap) -> Option<u32> {
    children(bs.pid()).into_iter().next()
}

/// Direct children of `pid` (from /proc, the kernel's own list).
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

pub fn kill(sig: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// Waits until `f` holds, up to `timeout`.
pub async fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The bootstrap's logs never mention a panic.
pub fn assert_no_panic(lambda: &Lambda) {
    let logs = lambda.bs.logs();
    assert!(
        !logs.contains("panicked"),
        "the bootstrap panicked; logs:\n{logs}"
    );
}

/// What must hold before and after a fault: same bootstrap process, same php-fpm master.
pub struct Warm {
    pid: u32,
    pub master: u32,
    next_calls: usize,
}

impl Warm {
    pub async fn take(lambda: &mut Lambda) -> Warm {
        lambda.ready().await;
        let resp = lambda
            .respond(&Source::HttpV2.event("GET", "/json", &[]))
            .await;
        assert_eq!(resp["statusCode"], 200, "before the fault: {resp}");
        Warm {
            pid: lambda.bs.pid(),
            master: master_pid(&lambda.bs).expect("a php-fpm master under the bootstrap"),
            next_calls: lambda.api.next_calls(),
        }
    }

    /// The next invocation is served normally by the same bootstrap; `same_master`: and the same
    /// php-fpm master (no restart of anything).
    pub async fn check(&self, lambda: &mut Lambda, what: &str, same_master: bool) {
        lambda.assert_serving(what).await;
        assert_eq!(lambda.bs.pid(), self.pid);
        assert!(
            lambda.bs.try_exit().is_none(),
            "the bootstrap exited after {what}"
        );
        // after answering, the runtime polls /next again: the count keeps growing
        assert!(
            lambda
                .api
                .wait_next_calls(self.next_calls + 1, Duration::from_secs(5))
                .await,
            "GET /next stopped counting after {what}"
        );
        if same_master {
            assert_eq!(
                master_pid(&lambda.bs),
                Some(self.master),
                "php-fpm's master changed after {what} (a restart where none was needed); logs:\n{}",
                lambda.bs.logs()
            );
        }
        assert_no_panic(lambda);
    }
}

fn faults(route: &str, query: &[(&str, &str)]) -> Value {
    Source::HttpV2.event("GET", &format!("/faults.php{route}"), query)
}

fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 256) as u8).collect()
}

fn count(logs: &str, needle: &str) -> usize {
    logs.matches(needle).count()
}

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
    assert!(logs.contains("killed 1 php-fpm worker(s)"), "{logs}");
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
            let outcome = lambda
                .invoke(&source.event(
                    "GET",
                    &format!("/faults.php{route}"),
                    &[("size", &size.to_string())],
                ))
                .await;
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

// ----- php-fpm's master -----------------------------------------------------------------------------------

/// The master SIGKILLed between invocations: the next invocation is served after an automatic restart
/// (logged), by the same bootstrap, and the orphaned worker of the dead master does not linger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_killed_between_invocations_is_restarted() {
    let mut lambda = Lambda::start().await;
    for round in 0..2 {
        let warm = Warm::take(&mut lambda).await;
        let old_workers = children(warm.master);
        assert!(!old_workers.is_empty(), "no php-fpm worker");
        kill("KILL", warm.master);
        tokio::time::sleep(Duration::from_millis(100)).await;
        warm.check(&mut lambda, "the master was killed", false)
            .await;
        // The harness reads the logs from a pipe: wait for both lines rather than reading once.
        let logged = eventually(Duration::from_secs(5), || {
            let logs = lambda.bs.logs();
            count(&logs, "it will be restarted") == round + 1
                && count(&logs, "php-fpm restarted in") == round + 1
        })
        .await;
        let logs = lambda.bs.logs();
        assert!(
            logged,
            "the master's death and the restart should each be logged once per round; logs:\n{logs}"
        );
        let master = master_pid(&lambda.bs).expect("a new master");
        assert_ne!(master, warm.master);
        assert!(
            eventually(Duration::from_secs(3), || old_workers
                .iter()
                .all(|w| !alive(*w)))
            .await,
            "the dead master's workers {old_workers:?} are still running (orphans)"
        );
    }
}

/// A php-fpm that refuses to start again: each invocation gets `/error` Runtime.PhpFpmUnavailable with
/// php-fpm's own last words, restarts back off (no tight loop), and once php-fpm can start again the
/// same bootstrap serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_fpm_refusing_to_restart_backs_off_then_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flag = dir.path().join("refuse");
    let attempts = dir.path().join("attempts");
    let wrapper = dir.path().join("php-fpm-wrapper");
    let real = real_php_fpm();
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho attempt >> '{attempts}'\nif [ -e '{flag}' ]; then\n  echo 'refusing-to-start-marker: cannot load the configuration' >&2\n  exit 78\nfi\nexec '{real}' \"$@\"\n",
            attempts = attempts.display(),
            flag = flag.display(),
            real = real.display()
        ),
    )
    .expect("write the wrapper");
    chmod_x(&wrapper);
    let wrapper_s = wrapper.display().to_string();
    let mut lambda = Lambda::start_env(&[("LAMBDA_FPM_PHP_FPM", &wrapper_s)]).await;
    let warm = Warm::take(&mut lambda).await;
    std::fs::write(&flag, "").expect("flag");
    let attempts_before = lines(&attempts);
    kill("KILL", warm.master);
    tokio::time::sleep(Duration::from_millis(100)).await;

    // First invocation: a restart is tried, fails, and the error says what php-fpm said.
    let outcome = lambda
        .invoke(&Source::HttpV2.event("GET", "/json", &[]))
        .await;
    let (kind, body) = outcome.error();
    assert_eq!(kind, Some("Runtime.PhpFpmUnavailable"), "{body}");
    let msg = body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        msg.contains("refusing-to-start-marker") && msg.contains("exited during start-up"),
        "the error should carry php-fpm's own message: {msg}"
    );
    // Keep invoking for 3.5 s: every invocation is answered at once, but restarts back off.
    let window = Instant::now();
    let mut answered = 1;
    while window.elapsed() < Duration::from_millis(3500) {
        let started = Instant::now();
        let outcome = lambda
            .invoke(&Source::HttpV2.event("GET", "/json", &[]))
            .await;
        assert_eq!(
            outcome.error().0,
            Some("Runtime.PhpFpmUnavailable"),
            "{}",
            outcome.describe()
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "an invocation waited {:?} while php-fpm was down",
            started.elapsed()
        );
        answered += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tried = lines(&attempts) - attempts_before;
    assert!(
        (2..=4).contains(&tried),
        "{tried} start attempts for {answered} invocations in ~3.5 s: expected a back-off (1 s, 2 s, …)"
    );
    assert!(
        answered > tried * 3,
        "{answered} invocations, {tried} tries"
    );
    lambda
        .bs
        .wait_for_log("php-fpm is down; after", Duration::from_secs(5))
        .await;
    // php-fpm can start again: within the back-off (≤ 4 s more) the same bootstrap serves.
    std::fs::remove_file(&flag).expect("remove flag");
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let outcome = lambda
            .invoke(&Source::HttpV2.event("GET", "/json", &[]))
            .await;
        if outcome.is_response() {
            assert_eq!(outcome.json()["statusCode"], 200);
            break;
        }
        assert!(
            Instant::now() < end,
            "php-fpm never came back; logs:\n{}",
            lambda.bs.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    warm.check(&mut lambda, "php-fpm came back", false).await;
}

fn real_php_fpm() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/local/sbin", "/usr/bin"] {
        for name in ["php-fpm8.2", "php-fpm8.3", "php-fpm8.4", "php-fpm"] {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("php-fpm not found (apt-get install php8.2-fpm)");
}

fn chmod_x(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

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

// ----- init ---------------------------------------------------------------------------------------------

/// A php.ini with a syntax error: php-fpm itself reports it ("syntax error … on line N") and starts with
/// the settings before it; the runtime relays that message to the logs and serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_with_a_php_ini_syntax_error_serves_and_logs_phps_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ini = dir.path().join("broken.ini");
    std::fs::write(
        &ini,
        "[PHP]\nmemory_limit = 256M\nerror_reporting = E_ALL\nbroken = \"unterminated\n",
    )
    .expect("write ini");
    let ini_s = ini.display().to_string();
    let mut lambda = Lambda::start_env(&[("LAMBDA_FPM_PHP_INI", &ini_s)]).await;
    let warm = Warm::take(&mut lambda).await;
    let logs = lambda
        .bs
        .wait_for_log("syntax error", Duration::from_secs(5))
        .await;
    assert!(logs.contains("broken.ini on line"), "{logs}");
    warm.check(&mut lambda, "a broken php.ini", true).await;
}

/// A php.ini that loads an extension that does not exist: PHP warns ("Unable to load dynamic library"),
/// php-fpm starts, the warning is in the logs, requests are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_with_an_unknown_extension_serves_and_logs_the_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ini = dir.path().join("ext.ini");
    let base =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("php-ini/php.ini"))
            .expect("read php-ini/php.ini");
    std::fs::write(
        &ini,
        format!("{base}\n[extensions]\nextension=lambda_fpm_no_such_extension\n"),
    )
    .expect("write ini");
    let ini_s = ini.display().to_string();
    let mut lambda = Lambda::start_env(&[("LAMBDA_FPM_PHP_INI", &ini_s)]).await;
    let warm = Warm::take(&mut lambda).await;
    lambda
        .bs
        .wait_for_log("lambda_fpm_no_such_extension", Duration::from_secs(5))
        .await;
    warm.check(&mut lambda, "an unknown extension", true).await;
}

/// A tmpfs mounted for one test (root only) and unmounted on drop.
struct Mount {
    dir: tempfile::TempDir,
}

impl Mount {
    fn tmpfs(options: &str) -> Mount {
        let dir = tempfile::Builder::new()
            .prefix("lfpm-mnt-")
            .tempdir()
            .expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "`mount -t tmpfs -o {options}` failed: these tests need root (as in CI here)"
        );
        Mount { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

async fn expect_init_error_mentioning(env: &[(&str, &str)], mention: &str) {
    let api = RuntimeApi::start().await;
    let mut bs = Bootstrap::start(&api, &app_root(), HANDLER, env);
    let Some((kind, body)) = api.init_error(Duration::from_secs(15)).await else {
        panic!(
            "no /init/error (exit {:?}); logs:\n{}",
            bs.try_exit(),
            bs.logs()
        );
    };
    assert!(kind.starts_with("Runtime."), "{kind}: {body}");
    let msg = body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        msg.contains(mention),
        "the init error should say {mention:?}: {body}"
    );
    assert!(
        matches!(bs.wait_exit(Duration::from_secs(10)).await, Some(s) if !s.success()),
        "the bootstrap should exit non-zero"
    );
    assert_eq!(api.next_calls(), 0);
    assert!(!bs.logs().contains("panicked"), "{}", bs.logs());
}

/// TMPDIR on a read-only file system: /init/error that names the directory and the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_with_a_read_only_tmp_is_a_clear_init_error() {
    let mount = Mount::tmpfs("ro,size=64k");
    let tmp = mount.path().display().to_string();
    expect_init_error_mentioning(&[("TMPDIR", &tmp)], "Read-only file system").await;
}

/// TMPDIR on a full file system: /init/error that says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_with_a_full_tmp_is_a_clear_init_error() {
    let mount = Mount::tmpfs("size=64k,nr_inodes=64");
    fill(mount.path());
    let tmp = mount.path().display().to_string();
    expect_init_error_mentioning(&[("TMPDIR", &tmp)], "No space left on device").await;
}

/// /tmp filling up after init: an upload that cannot be written is PHP's UPLOAD_ERR_CANT_WRITE (7) or
/// UPLOAD_ERR_PARTIAL, the request is still answered, and the next one too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmp_full_after_init_still_answers() {
    let mount = Mount::tmpfs("size=2m");
    let tmp = mount.path().display().to_string();
    let mut lambda = Lambda::start_env(&[("TMPDIR", &tmp)]).await;
    let warm = Warm::take(&mut lambda).await;
    fill(mount.path());
    let (ctype, body) = crate::support::events::multipart(
        &[],
        &[(
            "upload",
            "big.bin",
            "application/octet-stream",
            &vec![7u8; 300_000],
        )],
    );
    let mut event = Source::HttpV2.event("POST", "/faults.php/upload-size", &[]);
    crate::support::events::set_header(&mut event, "content-type", &[&ctype]);
    crate::support::events::set_body(&mut event, &body, true);
    let resp = lambda.respond(&event).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let seen: Value = serde_json::from_slice(&body_bytes(&resp)).expect("json");
    let err = seen["upload"]["error"].as_i64();
    assert!(
        matches!(err, Some(3 | 7)),
        "the upload should fail to be written (UPLOAD_ERR_PARTIAL or _CANT_WRITE): {seen}"
    );
    warm.check(&mut lambda, "a full /tmp", true).await;
}

/// Fills a file system: a big file until ENOSPC, then small files until no inode is left.
fn fill(dir: &Path) {
    use std::io::Write as _;
    if let Ok(mut f) = std::fs::File::create(dir.join("filler")) {
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    for i in 0..100_000 {
        if std::fs::write(dir.join(format!("f{i}")), b"").is_err() {
            break;
        }
    }
}
