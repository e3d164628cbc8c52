//! Throughput under load with concurrent invocations (Lambda Managed Instances,
//! `AWS_LAMBDA_MAX_CONCURRENCY`): one batch of events queued at once, served by a bootstrap with 1 slot
//! and by one with 4, alternately. This phase runs on every CPU of the machine (the rest of the
//! benchmark is pinned to one): concurrency can only show where there is more than one CPU.

use std::path::Path;

use crate::lambda::Lambda;
use crate::procs::AppSpec;
use crate::stats::{median, Batch};
use crate::support::events::{Request, Source};
use crate::workloads::{self, Check, Kind, Workload};
use crate::Result;

/// Slots compared: classic Lambda, and four concurrent invocations.
const SLOTS: [usize; 2] = [1, 4];

pub struct Throughput {
    /// CPUs the phase ran on.
    pub cpus: usize,
    /// The CPUs this process was allowed during the phase (`Cpus_allowed_list`), as a check.
    pub allowed: String,
    /// The 1-minute load average at the end of the phase: other work competing for the same CPUs.
    pub load: String,
    /// (workload, invocations per batch, invocations/s with 1 slot, with 4 slots): medians.
    pub rows: Vec<(&'static str, usize, f64, f64)>,
}

/// The workloads: hello world (the runtime's and the emulator's own work dominates), 2 ms of PHP CPU
/// (PHP's work dominates; both keep a CPU busy for the invocation's whole duration), and a script that
/// waits 20 ms (as one waiting on a database does: its CPU is free meanwhile).
fn workloads(quick: bool) -> Vec<Workload> {
    vec![
        Workload {
            name: "hello world (HTTP API v2)",
            framework: false,
            kind: Kind::Buffered,
            event: workloads::event(Source::HttpV2, Request::get("/hello")),
            check: Check::Exact("Hello, world!"),
            count: (5_000, if quick { 300 } else { 5_000 }),
        },
        Workload {
            name: "2 ms of PHP CPU",
            framework: false,
            kind: Kind::Buffered,
            event: workloads::event(Source::HttpV2, Request::get("/compute")),
            check: Check::Prefix("md5 chain "),
            count: (1_000, if quick { 60 } else { 1_000 }),
        },
        Workload {
            name: "20 ms wait (a query's latency)",
            framework: false,
            kind: Kind::Buffered,
            event: workloads::event(Source::HttpV2, Request::get("/wait")),
            check: Check::Exact("waited 20 ms"),
            count: (300, if quick { 40 } else { 300 }),
        },
    ]
}

/// Runs the phase: for each workload, `reps` rounds of (1 slot, 4 slots), each after a warm-up.
pub async fn measure(
    app: &AppSpec,
    php_fpm: &Path,
    quick: bool,
    reps: usize,
) -> Result<Throughput> {
    let cpus = std::fs::read_to_string("/proc/cpuinfo")
        .map(|c| c.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(1)
        .max(1);
    let pinned = std::env::var("LAMBDA_FPM_BENCH_PINNED").ok();
    set_affinity(&format!("0-{}", cpus - 1));
    let allowed = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|l| l.trim().to_owned())
        .unwrap_or_default();
    println!("throughput phase on CPUs {allowed}");
    let result = run(app, php_fpm, quick, reps).await;
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default();
    if let Some(cpu) = pinned {
        set_affinity(&cpu);
    }
    Ok(Throughput {
        cpus,
        allowed,
        load,
        rows: result?,
    })
}

async fn run(
    app: &AppSpec,
    php_fpm: &Path,
    quick: bool,
    reps: usize,
) -> Result<Vec<(&'static str, usize, f64, f64)>> {
    let mut sides = Vec::new();
    for slots in SLOTS {
        let n = slots.to_string();
        let extra = [("AWS_LAMBDA_MAX_CONCURRENCY", n.as_str())];
        sides.push(Lambda::start_with(app, php_fpm, &extra).await?);
    }
    let mut rows = Vec::new();
    for w in workloads(quick) {
        let count = w.count.1;
        let mut per_second: Vec<Vec<f64>> = vec![Vec::new(); SLOTS.len()];
        for rep in 0..reps {
            for k in 0..SLOTS.len() {
                // Alternate who goes first.
                let i = (rep + k) % SLOTS.len();
                sides[i].batch(&w, (count / 10).max(8)).await?;
                let batch: Batch = sides[i].batch(&w, count).await?;
                per_second[i].push(batch.per_second);
            }
        }
        let one = median(per_second[0].clone());
        let four = median(per_second[1].clone());
        println!(
            "throughput {:<32} 1 slot {one:.0}/s, 4 slots {four:.0}/s ({:.2}×)",
            w.name,
            four / one.max(1e-9)
        );
        rows.push((w.name, count, one, four));
    }
    Ok(rows)
}

/// Moves this process (every thread) to `cpus` (`taskset` syntax); the bootstraps it spawns inherit it.
fn set_affinity(cpus: &str) {
    let pid = std::process::id().to_string();
    let status = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid])
        .stdout(std::process::Stdio::null())
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("bench: cannot set the CPU affinity to {cpus}: {status:?}");
    }
}

impl Throughput {
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "### Throughput with concurrent invocations (Managed Instances)\n\n\
             One batch of events queued at once, answered by a bootstrap with `AWS_LAMBDA_MAX_CONCURRENCY=1` \
             and one with `4` (each slot: its own `/next` loop and single-worker php-fpm pool); invocations/s, \
             median of the repetitions. This phase runs unpinned, on CPUs {} ({} in all), with the emulator on the \
             same CPUs; the load average was {} at its end (other work competing for them).\n\n\
             | workload | n | 1 slot | 4 slots | 4 ÷ 1 | ceiling on {} idle CPUs |\n|---|--:|--:|--:|--:|---|\n",
            self.allowed, self.cpus, self.load, self.cpus
        );
        for (name, count, one, four) in &self.rows {
            let ceiling = if name.contains("wait") {
                "4×: a waiting worker leaves its CPU free".to_owned()
            } else {
                format!(
                    "{}×: every invocation keeps a CPU busy (emulator, bootstrap and php-fpm share them)",
                    self.cpus
                )
            };
            md.push_str(&format!(
                "| {name} | {count} | {one:.0} | {four:.0} | {:.2}× | {ceiling} |\n",
                four / one.max(1e-9)
            ));
        }
        md.push('\n');
        md
    }
}
