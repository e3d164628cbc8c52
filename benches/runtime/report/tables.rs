//! The latency tables: against the two-part floor, streamed against buffered, time to first byte, the
//! 100 MiB stream, and the distributions.

use super::{mb, ms, ratio, us, Report};
use crate::stats::{Figures, Row};
use crate::workloads::Kind;

impl Report {
    pub(super) fn latency_tables(&self, md: &mut String) {
        self.floor_table(md);
        self.streamed_table(md);
        self.first_byte_table(md);
        self.stream_rate_table(md);
        self.distribution_table(md);
    }

    pub(super) fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    fn floor_table(&self, md: &mut String) {
        md.push_str("### Latency against the floor\n\n");
        md.push_str(
            "The floor of an invocation is the sum of two round trips no runtime can avoid, each measured \
             alone: the **null runtime**'s (a process that asks `/next` and posts the very bytes lambda-fpm \
             answered with, in one write, through the same emulator: the Runtime API alone) and the \
             **FastCGI floor**'s (the same request straight to the same php-fpm over one kept-alive \
             connection: php-fpm alone). The **minimal runtime** does both round trips in one process and \
             nothing else (the null runtime plus the same FastCGI exchange between `/next` and the response): \
             the same three processes taking turns on the CPU as with lambda-fpm, so it also shows what \
             sharing one CPU cycle costs beyond the sum. p50 in µs, median of 3 interleaved repetitions. CPU: the runtime \
             process's own CPU time per invocation (`/proc/PID/task/*/schedstat`), which other load on the \
             machine does not inflate; runs: times it was put on the CPU per invocation (wake-ups and \
             preemptions); faults: its minor page faults per invocation.\n\n",
        );
        md.push_str(
            "| workload | lambda-fpm | null runtime | FastCGI floor | floor (sum) | ratio | over the floor | \
             minimal runtime | over the minimal | CPU µs/inv lambda-fpm / null / minimal | \
             runs/inv lambda-fpm / null / minimal | faults/inv lambda-fpm |\n\
             |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for row in self.rows.iter().filter(|r| r.kind != Kind::FirstByte) {
            let (l, n, m, w) = (row.lambda(), row.null(), row.minimal(), row.wire());
            let floor = row.floor_p50();
            md.push_str(&format!(
                "| {} | **{}** | {} | {} | {} | **{}** | {:+.0} µs | {} | {:+.0} µs | {:.0} / {:.0} / {:.0} | \
                 {:.1} / {:.1} / {:.1} | {:.1} |\n",
                row.name,
                us(l.p50),
                us(n.p50),
                us(w.p50),
                us(floor),
                ratio(l.p50, floor),
                l.p50 - floor,
                us(m.p50),
                l.p50 - m.p50,
                l.cpu_us,
                n.cpu_us,
                m.cpu_us,
                l.runs,
                n.runs,
                m.runs,
                l.faults
            ));
        }
    }

    fn streamed_table(&self, md: &mut String) {
        let streamed: Vec<(&Row, &Row)> = self
            .rows
            .iter()
            .filter_map(|r| match r.kind {
                Kind::Streamed { buffered } => Some((r, self.row(buffered)?)),
                _ => None,
            })
            .collect();
        if streamed.is_empty() {
            return;
        }
        md.push_str("\n### Streamed against buffered (same run)\n\n");
        md.push_str(
            "`LAMBDA_FPM_INVOKE_MODE=response_stream`, Function URL events: latency from handing out `/next` \
             to the stream's last byte at the emulator; the buffered figure is the same script through the \
             buffered bootstrap. First body byte: from handing out `/next` to the arrival of the body's first \
             byte.\n\n",
        );
        md.push_str(
            "| workload | streamed p50 µs | buffered p50 µs | streamed / buffered | first body byte µs | \
             bootstrap CPU µs/inv streamed / buffered |\n|---|--:|--:|--:|--:|--:|\n",
        );
        for (s, b) in streamed {
            let (sl, bl) = (s.lambda(), b.lambda());
            md.push_str(&format!(
                "| {} | {} | {} | **{}** | {} | {:.0} / {:.0} |\n",
                s.name,
                us(sl.p50),
                us(bl.p50),
                ratio(sl.p50, bl.p50),
                us(sl.first_byte),
                sl.cpu_us,
                bl.cpu_us
            ));
        }
    }

    fn first_byte_table(&self, md: &mut String) {
        let Some(row) = self.rows.iter().find(|r| r.kind == Kind::FirstByte) else {
            return;
        };
        let (l, w) = (row.lambda(), row.wire());
        md.push_str("\n### Time to first byte after `flush()`\n\n");
        md.push_str(
            "A script that prints the start of a page, calls `flush()`, works 5 ms more and prints the rest, \
             streamed. lambda-fpm: from handing out `/next` to the first body byte at the emulator; floor: \
             from writing the FastCGI request to the first STDOUT record with body bytes (after the CGI \
             head).\n\n",
        );
        md.push_str("| | lambda-fpm | floor | over the floor |\n|---|--:|--:|--:|\n");
        md.push_str(&format!(
            "| first body byte, p50 | **{} µs** | {} µs | {:+.0} µs |\n",
            us(l.first_byte),
            us(w.first_byte),
            l.first_byte - w.first_byte
        ));
        md.push_str(&format!(
            "| whole response, p50 | {} µs | {} µs | {:+.0} µs |\n",
            us(l.p50),
            us(w.p50),
            l.p50 - w.p50
        ));
    }

    fn stream_rate_table(&self, md: &mut String) {
        let Some(t) = self.streamed else {
            return;
        };
        let rate = |d: std::time::Duration| t.bytes as f64 / d.as_secs_f64().max(1e-9) / 1e6;
        md.push_str(&format!(
            "\n### {} MiB streamed\n\n",
            t.bytes / (1024 * 1024)
        ));
        md.push_str(
            "One `echo` of 1 MiB at a time; the emulator counts the bytes and keeps only the first 64 KiB, as \
             Lambda passes a stream on. Median of the runs.\n\n",
        );
        md.push_str("| | time | throughput | bootstrap CPU per MiB |\n|---|--:|--:|--:|\n");
        md.push_str(&format!(
            "| lambda-fpm (handing out `/next` → last byte at the emulator) | {} | **{:.0} MB/s** | {:.0} µs |\n",
            ms(t.lambda),
            rate(t.lambda),
            t.cpu_us_per_mib
        ));
        md.push_str(&format!(
            "| php-fpm alone (FastCGI request → END_REQUEST) | {} | {:.0} MB/s | |\n\n",
            ms(t.floor),
            rate(t.floor)
        ));
        md.push_str(&format!(
            "Bootstrap RSS: {} before, {} at the peak while streaming, {} after.\n",
            mb(t.rss_before),
            t.rss_peak.map_or("not measured".into(), mb),
            mb(t.rss_after)
        ));
    }

    fn distribution_table(&self, md: &mut String) {
        md.push_str("\n### Latency distribution\n\n");
        md.push_str(
            "µs; the ratio to the FastCGI floor in parentheses. Invocations/s: back to back, one at a time. \
             `fastcgi-client` 0.12 is the crate lambda-fpm's own FastCGI client replaced, on the same \
             connection set-up.\n\n",
        );
        md.push_str(
            "| workload | client | n | p50 µs | p90 µs | p99 µs | invocations/s |\n\
             |---|---|--:|--:|--:|--:|--:|\n",
        );
        for row in &self.rows {
            let w = row.wire();
            let line = |md: &mut String, name: &str, first: &str, f: Figures| {
                if f.count == 0 {
                    return;
                }
                let cell = |v: f64, floor: f64| format!("{} ({})", us(v), ratio(v, floor));
                md.push_str(&format!(
                    "| {first} | {name} | {} | {} | {} | {} | {:.0} |\n",
                    f.count,
                    cell(f.p50, w.p50),
                    cell(f.p90, w.p90),
                    cell(f.p99, w.p99),
                    f.per_second
                ));
            };
            line(md, "**lambda-fpm**", row.name, row.lambda());
            line(md, "null runtime", "", row.null());
            line(md, "minimal runtime", "", row.minimal());
            line(md, "floor: FastCGI direct", "", w);
            line(md, "fastcgi-client 0.12", "", row.krate());
        }
    }
}
