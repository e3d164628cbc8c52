//! The performance targets, each with what this run measured. Latency targets count against the
//! two-part floor (null runtime + FastCGI floor, [`crate::stats::Row::floor_p50`]).

use std::time::Duration;

use super::{mb, ms, ratio, us, Report};
use crate::workloads::{Kind, FIRST_BYTE};

/// Lowest throughput through the bootstrap for the 100 MiB stream, MB/s.
const MIN_STREAM_MB_S: f64 = 300.0;
/// Most the bootstrap's RSS may rise while it streams 100 MiB ("flat"), KiB.
const MAX_STREAM_RSS_RISE_KIB: u64 = 2 * 1024;

impl Report {
    /// (target, measured, met).
    pub fn targets(&self) -> Vec<(String, String, bool)> {
        let mut t = Vec::new();
        for hello in ["hello world (HTTP API v2)", "hello world (REST v1)"] {
            if let Some(r) = self.row(hello) {
                let (l, n, w) = (r.lambda(), r.null(), r.wire());
                let floor = r.floor_p50();
                t.push((
                    format!("{hello}: p50 ≤ floor + 20 µs"),
                    format!(
                        "{} µs vs {} + 20 µs ({:+.0} µs)",
                        us(l.p50),
                        us(floor),
                        l.p50 - floor
                    ),
                    l.p50 <= floor + 20.0,
                ));
                let floor_p99 = n.p99 + w.p99;
                t.push((
                    format!("{hello}: p99 ≤ 2 × floor p99"),
                    format!(
                        "{} µs vs 2 × {} µs ({})",
                        us(l.p99),
                        us(floor_p99),
                        ratio(l.p99, floor_p99)
                    ),
                    l.p99 <= 2.0 * floor_p99,
                ));
            }
        }
        for (name, limit) in [
            ("1 MiB text response", 1.15),
            ("1 MiB binary response", 1.15),
            ("1 MiB base64 POST body", 1.25),
        ] {
            if let Some(r) = self.row(name) {
                let (l, floor) = (r.lambda(), r.floor_p50());
                t.push((
                    format!("{name}: p50 ≤ {limit} × floor"),
                    format!(
                        "{} µs vs {} µs ({})",
                        us(l.p50),
                        us(floor),
                        ratio(l.p50, floor)
                    ),
                    l.p50 <= limit * floor,
                ));
            }
        }
        for r in &self.rows {
            let Kind::Streamed { buffered } = r.kind else {
                continue;
            };
            if let Some(b) = self.row(buffered) {
                let (s, b) = (r.lambda().p50, b.lambda().p50);
                t.push((
                    format!("{}: p50 ≤ 0.8 × buffered", r.name),
                    format!("{} µs vs {} µs ({})", us(s), us(b), ratio(s, b)),
                    s <= 0.8 * b,
                ));
            }
        }
        if let Some(r) = self.row(FIRST_BYTE) {
            let (l, w) = (r.lambda().first_byte, r.wire().first_byte);
            t.push((
                "time to first byte after `flush()` ≤ floor + 1 ms".into(),
                format!("{} µs vs {} + 1000 µs", us(l), us(w)),
                l <= w + 1000.0,
            ));
        }
        self.stream_targets(&mut t);
        let c = &self.cold;
        t.push((
            "spawn → first `/next` ≤ php-fpm start-up + 2 ms".into(),
            format!("{} vs {} + 2 ms", ms(c.next), ms(c.fpm_ready)),
            c.next <= c.fpm_ready + Duration::from_millis(2),
        ));
        t.push((
            "bootstrap PSS ≤ 3 MB (after small requests / after 1 MiB bodies)".into(),
            format!(
                "{} / {}",
                mb(self.memory.bootstrap_small.1),
                mb(self.memory.bootstrap.1)
            ),
            self.memory.bootstrap.1 <= 3 * 1024,
        ));
        if let Some((n, boot, _)) = self.memory.growth {
            t.push((
                format!("bootstrap RSS change < 512 KB over {n} invocations"),
                format!("{boot:+} KB"),
                boot < 512,
            ));
        }
        t
    }

    fn stream_targets(&self, t: &mut Vec<(String, String, bool)>) {
        let Some(s) = self.streamed else {
            return;
        };
        let mib = s.bytes / (1024 * 1024);
        let rate = s.bytes as f64 / s.lambda.as_secs_f64().max(1e-9) / 1e6;
        t.push((
            format!("{mib} MiB streamed ≥ {MIN_STREAM_MB_S:.0} MB/s"),
            format!("{rate:.0} MB/s"),
            rate >= MIN_STREAM_MB_S,
        ));
        let peak = s.rss_peak.unwrap_or(s.rss_after.max(s.rss_before));
        let rise = peak.saturating_sub(s.rss_before);
        t.push((
            format!(
                "{mib} MiB streamed: bootstrap RSS flat (peak ≤ before + {})",
                mb(MAX_STREAM_RSS_RISE_KIB)
            ),
            format!("{} → peak {} ({:+} KB)", mb(s.rss_before), mb(peak), rise),
            rise <= MAX_STREAM_RSS_RISE_KIB,
        ));
    }
}
