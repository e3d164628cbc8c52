//! php-fpm's master killed between invocations, and a php-fpm that refuses to start again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{Lambda, Source};

use super::{alive, children, count, eventually, kill, master_pid, Warm};

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
