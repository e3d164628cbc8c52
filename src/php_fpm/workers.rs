//! php-fpm's workers, found through /proc by title: killing one slot's worker (a script past its
//! deadline; found by process group, as a dead master's workers are no one's children) and replacing
//! every worker while the master stays (after a SnapStart restore), so the opcache in the master's
//! shared memory stays warm.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// One worker process and the pool it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    pub pid: i32,
    pub pool: String,
}

/// The workers in process group `group` (the master's pid: php-fpm calls `setsid()`). php-fpm titles
/// each worker `php-fpm: pool NAME`; the master's title is different, and an exited worker not yet
/// reaped has no title at all.
pub fn list(group: u32) -> Vec<Worker> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| process_group(*pid) == Some(group))
        .filter_map(worker)
        .collect()
}

/// `pid` as a worker, when its title names a pool (the master's and a finished worker's do not).
fn worker(pid: i32) -> Option<Worker> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    pool_of(&cmdline).map(|pool| Worker { pid, pool })
}

/// The pool named in a worker's title. php-fpm overwrites its argv with the title and pads it with
/// NULs.
fn pool_of(cmdline: &[u8]) -> Option<String> {
    let shown = String::from_utf8_lossy(cmdline);
    let pool = shown
        .trim_end_matches(['\0', ' '])
        .strip_prefix("php-fpm: pool ")?;
    Some(pool.to_owned()).filter(|p| !p.is_empty() && !p.contains('\0'))
}

/// SIGKILLs the worker of pool `pool` in process group `group` (the master forks a fresh one when it
/// is alive). Used when a script outlives its deadline: the master and the other slots' workers stay.
/// Returns how many processes were killed.
pub fn kill_worker(group: u32, pool: &str) -> usize {
    let mut killed = 0;
    for worker in list(group).into_iter().filter(|w| w.pool == pool) {
        let _ = kill(Pid::from_raw(worker.pid), Signal::SIGKILL);
        killed += 1;
    }
    killed
}

/// The workers the master `master` forked and that are still running, from the kernel's list of its
/// children (cheaper than scanning all of /proc, which takes milliseconds on a busy machine).
pub fn children(master: u32) -> Vec<Worker> {
    std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|pid| pid.parse::<i32>().ok())
        .filter_map(worker)
        .collect()
}

/// Stops the workers `old` of master `master` and waits until each of `pools` is served by a new
/// one; returns the new workers. SIGTERM ends an idle worker at once (a few milliseconds, where
/// SIGQUIT's graceful exit takes tens); one still there after half of `timeout` gets SIGKILL. The
/// caller closes its connections to the old workers first: they are useless afterwards.
pub async fn replace(
    master: u32,
    old: &[Worker],
    pools: &[String],
    timeout: Duration,
) -> Result<Vec<Worker>, String> {
    let old: Vec<i32> = old.iter().map(|w| w.pid).collect();
    for pid in &old {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGTERM);
    }
    let started = Instant::now();
    let mut escalated = false;
    loop {
        let now = children(master);
        let lingering: Vec<i32> = now
            .iter()
            .map(|w| w.pid)
            .filter(|pid| old.contains(pid))
            .collect();
        let unserved: Vec<&String> = pools
            .iter()
            .filter(|pool| {
                !now.iter()
                    .any(|w| &w.pool == *pool && !old.contains(&w.pid))
            })
            .collect();
        if lingering.is_empty() && unserved.is_empty() {
            return Ok(now);
        }
        let elapsed = started.elapsed();
        if elapsed >= timeout {
            return Err(format!(
                "old workers still running: {lingering:?}; pools without a new worker: {unserved:?}"
            ));
        }
        if !escalated && elapsed >= timeout / 2 {
            for pid in &lingering {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
            }
            escalated = true;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

/// The process group of `pid`, from /proc/PID/stat (the fifth field, after the parenthesised name).
fn process_group(pid: i32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_titles_name_their_pool() {
        assert_eq!(
            pool_of(b"php-fpm: pool lambda-3\0\0\0\0\0\0\0"),
            Some("lambda-3".into())
        );
        assert_eq!(pool_of(b"php-fpm: pool lambda   "), Some("lambda".into()));
        assert_eq!(
            pool_of(b"php-fpm: master process (/tmp/x/php-fpm.slots.conf)\0"),
            None
        );
        assert_eq!(pool_of(b""), None, "an exited worker not yet reaped");
        assert_eq!(pool_of(b"php-fpm: pool \0"), None);
        assert_eq!(pool_of(b"/usr/sbin/php-fpm8.2\0-F\0"), None);
    }

    #[test]
    fn the_own_process_has_no_workers() {
        let me = std::process::id();
        let group = process_group(me as i32).expect("own stat");
        assert!(list(group).is_empty());
        assert!(children(me).is_empty());
    }
}
