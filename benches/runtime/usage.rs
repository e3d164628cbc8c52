//! What a process uses, read from /proc: memory (smaps_rollup, status) and, per invocation, CPU time,
//! times put on a CPU and page faults.

use std::time::Duration;

/// (RSS, PSS) in KiB from smaps_rollup.
pub fn memory(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("Rss:")?, field("Pss:")?))
}

pub fn memory_sum(pids: &[u32]) -> (u64, u64) {
    pids.iter()
        .filter_map(|p| memory(*p))
        .fold((0, 0), |(r, p), (r2, p2)| (r + r2, p + p2))
}

/// What a process has used so far, all threads: CPU time and the times it was switched in (from
/// /proc/PID/task/*/schedstat), and minor page faults (from /proc/PID/stat).
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    pub cpu: Duration,
    /// Times a thread of the process was put on a CPU: its wake-ups, plus preemptions.
    pub runs: u64,
    pub minor_faults: u64,
}

impl Usage {
    pub fn of(pid: u32) -> Usage {
        let mut usage = Usage::default();
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for task in tasks.flatten() {
                if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
                    // "time on CPU (ns)  time waiting to run (ns)  timeslices run"
                    let fields: Vec<u64> = stat
                        .split_whitespace()
                        .filter_map(|v| v.parse().ok())
                        .collect();
                    usage.cpu += Duration::from_nanos(fields.first().copied().unwrap_or(0));
                    usage.runs += fields.get(2).copied().unwrap_or(0);
                }
            }
        }
        // minflt is the 10th field, the 8th after the command's closing parenthesis.
        usage.minor_faults = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(7))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0);
        usage
    }

    /// Per invocation, from `before` to now: (CPU µs, runs, minor faults).
    pub fn per_invocation(self, before: Usage, count: usize) -> (f64, f64, f64) {
        let n = count.max(1) as f64;
        (
            self.cpu.saturating_sub(before.cpu).as_secs_f64() * 1e6 / n,
            self.runs.saturating_sub(before.runs) as f64 / n,
            self.minor_faults.saturating_sub(before.minor_faults) as f64 / n,
        )
    }
}

/// A `/proc/PID/status` field in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Resets the peak RSS (`VmHWM`) of `pid` to its current RSS (`/proc/PID/clear_refs`, value 5).
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}
