//! The measurements: latency batches and their medians over repetitions, cold starts, memory.

use std::time::Duration;

use crate::workloads::Kind;

/// One batch of invocations.
pub struct Batch {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub per_second: f64,
    /// The runtime's own CPU time per invocation (not the floor's): what the runtime costs, whatever
    /// else runs on the machine.
    pub cpu_us: Option<f64>,
    /// Times the runtime was switched in per invocation (wake-ups and preemptions).
    pub runs: Option<f64>,
    /// Minor page faults of the runtime per invocation.
    pub faults: Option<f64>,
    /// Median time to the first body byte (streamed answers; the floor's first STDOUT body byte).
    pub first_byte: Option<f64>,
}

/// The `q` quantile of sorted durations, in µs.
fn quantile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e6
}

impl Batch {
    pub fn new(mut latencies: Vec<Duration>, wall: Duration) -> Self {
        latencies.sort_unstable();
        Self {
            count: latencies.len(),
            p50: quantile(&latencies, 0.50),
            p90: quantile(&latencies, 0.90),
            p99: quantile(&latencies, 0.99),
            per_second: latencies.len() as f64 / wall.as_secs_f64().max(1e-9),
            cpu_us: None,
            runs: None,
            faults: None,
            first_byte: None,
        }
    }

    /// (CPU µs, runs, minor faults) per invocation.
    pub fn with_usage(mut self, (cpu_us, runs, faults): (f64, f64, f64)) -> Self {
        self.cpu_us = Some(cpu_us);
        self.runs = Some(runs);
        self.faults = Some(faults);
        self
    }

    pub fn with_first_bytes(mut self, mut times: Vec<Duration>) -> Self {
        if !times.is_empty() {
            times.sort_unstable();
            self.first_byte = Some(quantile(&times, 0.5));
        }
        self
    }
}

/// Median of the repetitions, figure by figure.
#[derive(Clone, Copy, Default)]
pub struct Figures {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub per_second: f64,
    pub cpu_us: f64,
    pub runs: f64,
    pub faults: f64,
    pub first_byte: f64,
}

pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn figures(batches: &[Batch]) -> Figures {
    let of = |f: fn(&Batch) -> Option<f64>| median(batches.iter().filter_map(f).collect());
    Figures {
        count: batches.first().map_or(0, |b| b.count),
        p50: of(|b| Some(b.p50)),
        p90: of(|b| Some(b.p90)),
        p99: of(|b| Some(b.p99)),
        per_second: of(|b| Some(b.per_second)),
        cpu_us: of(|b| b.cpu_us),
        runs: of(|b| b.runs),
        faults: of(|b| b.faults),
        first_byte: of(|b| b.first_byte),
    }
}

/// One workload's batches on every side.
pub struct Row {
    pub name: &'static str,
    pub kind: Kind,
    pub lambda: Vec<Batch>,
    /// The null runtime: the Runtime API round trip alone.
    pub null: Vec<Batch>,
    /// The minimal runtime: both round trips in one process, nothing else.
    pub minimal: Vec<Batch>,
    /// The FastCGI floor: lambda-fpm's encoder, one kept-alive connection.
    pub wire: Vec<Batch>,
    /// The `fastcgi-client` crate (buffered workloads only).
    pub krate: Vec<Batch>,
}

impl Row {
    pub fn new(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            kind,
            lambda: Vec::new(),
            null: Vec::new(),
            minimal: Vec::new(),
            wire: Vec::new(),
            krate: Vec::new(),
        }
    }

    pub fn last_line(&self) -> String {
        let f = |b: Option<&Batch>| {
            b.map_or("-".to_owned(), |b| {
                let cpu = b.cpu_us.map_or(String::new(), |c| {
                    format!(
                        " cpu {c:.0} µs {:.1} runs {:.0} faults",
                        b.runs.unwrap_or(0.0),
                        b.faults.unwrap_or(0.0)
                    )
                });
                let first = b
                    .first_byte
                    .map_or(String::new(), |t| format!(" first byte {t:.0} µs"));
                format!("p50 {:.0} µs{first} p99 {:.0} µs{cpu}", b.p50, b.p99)
            })
        };
        format!(
            "lambda-fpm {} | null {} | minimal {} | FastCGI {}",
            f(self.lambda.last()),
            f(self.null.last()),
            f(self.minimal.last()),
            f(self.wire.last()),
        )
    }

    pub fn lambda(&self) -> Figures {
        figures(&self.lambda)
    }
    pub fn null(&self) -> Figures {
        figures(&self.null)
    }
    pub fn minimal(&self) -> Figures {
        figures(&self.minimal)
    }
    pub fn wire(&self) -> Figures {
        figures(&self.wire)
    }
    pub fn krate(&self) -> Figures {
        figures(&self.krate)
    }
    /// The floor of the whole invocation: the null runtime's p50 plus the FastCGI floor's.
    pub fn floor_p50(&self) -> f64 {
        self.null().p50 + self.wire().p50
    }
}

/// The 100 MiB stream: throughput through the bootstrap and straight from php-fpm, and the
/// bootstrap's memory around it.
#[derive(Debug, Default, Clone, Copy)]
pub struct StreamRate {
    pub bytes: usize,
    /// Delivery → last byte at the emulator, median of the runs.
    pub lambda: Duration,
    /// FastCGI request → END_REQUEST, straight from php-fpm, median of the runs.
    pub floor: Duration,
    /// The bootstrap's CPU per MiB streamed.
    pub cpu_us_per_mib: f64,
    /// Bootstrap RSS in KiB: before, the peak while streaming (None when the peak could not be
    /// reset), after.
    pub rss_before: u64,
    pub rss_peak: Option<u64>,
    pub rss_after: u64,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Cold {
    /// Bootstrap spawn → its first GET /next.
    pub next: Duration,
    /// Bootstrap spawn → the first /response.
    pub first_response: Duration,
    /// php-fpm spawn → its socket accepts.
    pub fpm_ready: Duration,
    /// php-fpm spawn → the first FastCGI response.
    pub fpm_first_response: Duration,
}

impl Cold {
    pub fn median(runs: &[Cold]) -> Cold {
        let m = |f: fn(&Cold) -> Duration| {
            let mut v: Vec<Duration> = runs.iter().map(f).collect();
            v.sort();
            v.get(v.len() / 2).copied().unwrap_or_default()
        };
        Cold {
            next: m(|c| c.next),
            first_response: m(|c| c.first_response),
            fpm_ready: m(|c| c.fpm_ready),
            fpm_first_response: m(|c| c.fpm_first_response),
        }
    }
}

/// The framework page on a fresh bootstrap.
#[derive(Debug, Default, Clone, Copy)]
pub struct FrameworkCold {
    pub next: Duration,
    pub first: Duration,
    pub second: Duration,
    pub third: Duration,
}

impl FrameworkCold {
    pub fn median(runs: &[FrameworkCold]) -> FrameworkCold {
        let m = |f: fn(&FrameworkCold) -> Duration| {
            let mut v: Vec<Duration> = runs.iter().map(f).collect();
            v.sort();
            v.get(v.len() / 2).copied().unwrap_or_default()
        };
        FrameworkCold {
            next: m(|c| c.next),
            first: m(|c| c.first),
            second: m(|c| c.second),
            third: m(|c| c.third),
        }
    }
}

/// A SnapStart restore in the emulator.
#[derive(Debug, Default, Clone, Copy)]
pub struct Restore {
    /// The restore (the pending `/restore/next` answered) → the bootstrap's first `/next`.
    pub next: Duration,
    /// The first invocation after it: delivery → response.
    pub first: Duration,
}

impl Restore {
    pub fn median(runs: &[Restore]) -> Restore {
        let m = |f: fn(&Restore) -> Duration| {
            let mut v: Vec<Duration> = runs.iter().map(f).collect();
            v.sort();
            v.get(v.len() / 2).copied().unwrap_or_default()
        };
        Restore {
            next: m(|r| r.next),
            first: m(|r| r.first),
        }
    }
}

/// KiB, from smaps_rollup: (RSS, PSS).
#[derive(Debug, Default)]
pub struct Memory {
    /// After small requests only (hello world, headers + cookies).
    pub bootstrap_small: (u64, u64),
    /// After the whole mix, 1 MiB bodies included.
    pub bootstrap: (u64, u64),
    pub tree: (u64, u64),
    pub tree_len: usize,
    pub floor_tree: (u64, u64),
    pub floor_tree_len: usize,
    /// (invocations, bootstrap RSS change, tree RSS change) in KiB.
    pub growth: Option<(usize, i64, i64)>,
}
