//! The fault matrix of docs/reliability.md: each fault gets the right answer (HTTP status or `/error`), a log line that
//! names the cause, and the next invocation is served by the same bootstrap without a cold start (same
//! bootstrap pid, still running, the emulator's GET /next count keeps growing, and the php-fpm master is
//! unchanged wherever the fault does not kill it).
//!
//! Cases already covered elsewhere (see docs/reliability.md for the whole matrix): PHP fatal, uncaught
//! exception, memory_limit, a worker dying before any output, a script sleeping past the deadline
//! (failures/php.rs, failures/timeouts.rs); /response answered 413/500/400, /next answered 500, a dropped
//! /next connection, a slow /next (reliability.rs); a missing handler or php-fpm (failures/init.rs).

mod init;
mod php;
mod php_fpm;
mod runtime_api;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Bootstrap, Lambda, Source};

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
