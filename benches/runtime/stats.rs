//! The measurements: latency batches and their medians over repetitions, cold starts, memory.

use std::time::Duration;

/// One batch of invocations.
pub struct Batch {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub per_second: f64,
    /// The bootstrap's own CPU time per invocation (lambda-fpm only): what the runtime costs, whatever
    /// else runs on the machine.
    pub cpu_us: Option<f64>,
}

impl Batch {
    pub fn new(mut latencies: Vec<Duration>, wall: Duration, _measured: bool) -> Self {
        latencies.sort_unstable();
        let pick = |q: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[i].as_secs_f64() * 1e6
        };
        Self {
            count: latencies.len(),
            p50: pick(0.50),
            p90: pick(0.90),
            p99: pick(0.99),
            per_second: latencies.len() as f64 / wall.as_secs_f64().max(1e-9),
            cpu_us: None,
        }
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
}

pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn figures(batches: &[Batch]) -> Figures {
    Figures {
        count: batches.first().map_or(0, |b| b.count),
        p50: median(batches.iter().map(|b| b.p50).collect()),
        p90: median(batches.iter().map(|b| b.p90).collect()),
        p99: median(batches.iter().map(|b| b.p99).collect()),
        per_second: median(batches.iter().map(|b| b.per_second).collect()),
        cpu_us: median(batches.iter().filter_map(|b| b.cpu_us).collect()),
    }
}

pub struct Row {
    pub name: &'static str,
    pub lambda: Vec<Batch>,
    pub wire: Vec<Batch>,
    pub krate: Vec<Batch>,
}

impl Row {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            lambda: Vec::new(),
            wire: Vec::new(),
            krate: Vec::new(),
        }
    }

    pub fn last_line(&self) -> String {
        let f = |b: Option<&Batch>| {
            b.map_or("-".to_owned(), |b| {
                let cpu = b
                    .cpu_us
                    .map_or(String::new(), |c| format!(" cpu {c:.0} µs"));
                format!("p50 {:.0} µs p99 {:.0} µs{cpu}", b.p50, b.p99)
            })
        };
        format!(
            "lambda-fpm {} | floor {} | fastcgi-client {}",
            f(self.lambda.last()),
            f(self.wire.last()),
            f(self.krate.last())
        )
    }

    pub fn lambda(&self) -> Figures {
        figures(&self.lambda)
    }
    pub fn wire(&self) -> Figures {
        figures(&self.wire)
    }
    pub fn krate(&self) -> Figures {
        figures(&self.krate)
    }
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
