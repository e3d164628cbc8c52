//! Stopping the process: signals, SIGTERM then SIGKILL, and its descendants found through /proc and killed by pid.

use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::Bootstrap;

impl Bootstrap {
    /// Pids of all living descendants (php-fpm master and workers), found through /proc.
    pub fn descendants(&mut self) -> Vec<u32> {
        let found = descendants_of(self.pid());
        for &(pid, start) in &found {
            if !self
                .seen_descendants
                .iter()
                .any(|&(p, s)| p == pid && s == start)
            {
                self.seen_descendants.push((pid, start));
            }
        }
        found.into_iter().map(|(p, _)| p).collect()
    }

    /// Pids among the recorded descendants that are still alive (same pid and start time).
    pub fn surviving_descendants(&self) -> Vec<u32> {
        self.seen_descendants
            .iter()
            .filter(|&&(pid, start)| proc_start_time(pid) == Some(start) && !is_zombie(pid))
            .map(|&(pid, _)| pid)
            .collect()
    }

    /// Sends a signal (e.g. "TERM", "KILL") to the bootstrap process only.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// SIGTERM, wait up to 5 s, SIGKILL; then kill surviving descendants by pid. Returns the exit status.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        if self.try_exit().is_none() {
            self.descendants();
            self.signal("TERM");
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end && self.try_exit().is_none() {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.try_exit().is_none() {
                let _ = self.child.kill();
                self.exit = self.child.wait().ok();
            }
        }
        // php-fpm calls setsid(), so it survives its parent if the bootstrap did not stop it: give it a
        // moment, then kill what is left, by pid.
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end && !self.surviving_descendants().is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
        for pid in self.surviving_descendants() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
        // Its last lines are in the pipes: let the readers reach the end before anyone reads `logs()`.
        let drained = Instant::now() + Duration::from_secs(5);
        while !self.readers.iter().all(|r| r.is_finished()) && Instant::now() < drained {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.exit
    }
}

/// (ppid, start time) of a process from /proc/PID/stat.
fn proc_stat(pid: u32) -> Option<(u32, u64, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // after the comm: state(0) ppid(1) ... starttime is field 22 of stat = index 19 here
    let state = fields.first()?.chars().next()?;
    let ppid = fields.get(1)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((ppid, start, state))
}

fn proc_start_time(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|(_, s, _)| s)
}

fn is_zombie(pid: u32) -> bool {
    matches!(proc_stat(pid), Some((_, _, 'Z')))
}

/// All descendants of `root` as (pid, start time).
pub fn descendants_of(root: u32) -> Vec<(u32, u64)> {
    let mut table = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            if let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            {
                if let Some((ppid, start, state)) = proc_stat(pid) {
                    if state != 'Z' {
                        table.push((pid, ppid, start));
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid, start) in &table {
            if ppid == parent && !out.iter().any(|&(p, _)| p == pid) {
                out.push((pid, start));
                frontier.push(pid);
            }
        }
    }
    out
}
