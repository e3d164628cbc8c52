//! Figures → the markdown table (printed, and written into docs/benchmarks.md between markers) and the JSON
//! the chart script reads.

use std::time::Duration;

use serde_json::json;

use crate::stats::{Cold, Figures, FrameworkCold, Memory, Restore, Row, StreamRate};
use crate::throughput::Throughput;

mod tables;
mod targets;

pub struct Report {
    pub quick: bool,
    pub cpu: Option<usize>,
    pub framework: String,
    pub rows: Vec<Row>,
    /// The 100 MiB stream (None when `--only` left it out).
    pub streamed: Option<StreamRate>,
    pub cold: Cold,
    pub framework_cold: FrameworkCold,
    pub restore: Restore,
    pub memory: Memory,
    pub throughput: Throughput,
    pub elapsed: Duration,
}

fn us(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn ratio(v: f64, floor: f64) -> String {
    if floor <= 0.0 {
        return "–".into();
    }
    format!("{:.2}×", v / floor)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

fn command_line(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

impl Report {
    pub fn machine(&self) -> String {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        // Not available_parallelism(): the benchmark runs under taskset, which it would count.
        let cpus = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let model = Some(&cpuinfo)
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, m)| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let php = crate::procs::php_fpm_bin()
            .map(|b| command_line(&b.display().to_string(), &["-v"]))
            .unwrap_or_default();
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        format!(
            "nproc {cpus}, {model}, Linux {kernel}; {php}; load average at the end {load}; pinned to CPU {}; \
             task root {}",
            self.cpu.map_or("none".into(), |c| c.to_string()),
            if crate::procs::read_only_possible() {
                "read-only (a bind mount in the bootstrap's own mount namespace, as Lambda's /var/task)"
            } else {
                "writable (read-only needs root and unshare): the router's cache is off"
            }
        )
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let date = command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
        md.push_str(&format!(
            "Run {date} with `cargo bench --bench runtime{} in {:.0} s.\n\nMachine: {}.\n\n",
            if self.quick {
                " -- --quick` (smoke run: few invocations, figures indicative only)"
            } else {
                "`"
            },
            self.elapsed.as_secs_f64(),
            self.machine()
        ));
        self.latency_tables(&mut md);
        md.push_str(&format!("\nFramework page: {}.\n\n", self.framework));

        let c = &self.cold;
        md.push_str("### Cold start (empty TMPDIR, hello world; median of the runs)\n\n");
        md.push_str("| | lambda-fpm | php-fpm alone (floor) | ratio |\n|---|--:|--:|--:|\n");
        md.push_str(&format!(
            "| spawn → first `/next` (floor: socket ready) | {} | {} | {} (+{:.1} ms) |\n",
            ms(c.next),
            ms(c.fpm_ready),
            ratio(c.next.as_secs_f64(), c.fpm_ready.as_secs_f64()),
            (c.next.as_secs_f64() - c.fpm_ready.as_secs_f64()) * 1e3
        ));
        md.push_str(&format!(
            "| spawn → first response | {} | {} | {} |\n\n",
            ms(c.first_response),
            ms(c.fpm_first_response),
            ratio(
                c.first_response.as_secs_f64(),
                c.fpm_first_response.as_secs_f64()
            )
        ));

        let f = &self.framework_cold;
        md.push_str(&format!(
            "Framework page on a fresh bootstrap (empty TMPDIR: empty opcache{}): spawn → first `/next` {}; \
             first invocation {}, second {}, third {} (steady state: the latency table). With provisioned \
             concurrency or SnapStart, `LAMBDA_FPM_WARMUP` moves the first invocation's extra cost into init (and, \
             with SnapStart, into the snapshot).\n\n",
            if self.framework.starts_with("Symfony") { ", no compiled container" } else { "" },
            ms(f.next),
            ms(f.first),
            ms(f.second),
            ms(f.third)
        ));

        md.push_str(&format!(
            "SnapStart restore in the emulator (hello world as the warm-up; median of the runs): the pending \
             `/restore/next` answered → the bootstrap's first `/next` {} (php-fpm's workers replaced, connections \
             reopened); the first invocation after it {}.\n\n",
            ms(self.restore.next),
            ms(self.restore.first)
        ));

        let m = &self.memory;
        md.push_str("### Memory (smaps_rollup, after the same mix of requests on each side, each side running alone)\n\n");
        md.push_str("| | RSS | PSS | PSS ratio to floor |\n|---|--:|--:|--:|\n");
        md.push_str(&format!(
            "| bootstrap alone, after small requests only | {} | {} | +{:.0} % of the floor |\n",
            mb(m.bootstrap_small.0),
            mb(m.bootstrap_small.1),
            m.bootstrap_small.1 as f64 * 100.0 / m.floor_tree.1.max(1) as f64
        ));
        md.push_str(&format!(
            "| bootstrap alone, after the whole mix (1 MiB bodies included) | {} | {} | +{:.0} % of the floor |\n",
            mb(m.bootstrap.0),
            mb(m.bootstrap.1),
            m.bootstrap.1 as f64 * 100.0 / m.floor_tree.1.max(1) as f64
        ));
        md.push_str(&format!(
            "| lambda-fpm tree ({} processes: bootstrap, php-fpm master, worker) | {} | {} | {} |\n",
            m.tree_len,
            mb(m.tree.0),
            mb(m.tree.1),
            ratio(m.tree.1 as f64, m.floor_tree.1 as f64)
        ));
        md.push_str(&format!(
            "| floor: php-fpm alone ({} processes) | {} | {} | 1.00× |\n",
            m.floor_tree_len,
            mb(m.floor_tree.0),
            mb(m.floor_tree.1)
        ));
        match m.growth {
            Some((n, boot, tree)) => md.push_str(&format!(
                "\nRSS change over {n} more hello-world invocations: bootstrap {boot:+} KB, whole tree {tree:+} KB.\n\n"
            )),
            None => md.push_str("\nRSS growth over 100,000 invocations: measured by the full run only.\n\n"),
        }
        md.push_str(
            "PSS divides each shared page among the processes that map it, so the php-fpm processes' PSS also \
             depends on other php-fpm instances running on the machine at the time; the bootstrap's does not.\n\n",
        );

        md.push_str(&self.throughput.markdown());

        md.push_str("### Targets\n\n| target | measured | met |\n|---|---|---|\n");
        for (target, measured, met) in self.targets() {
            md.push_str(&format!(
                "| {target} | {measured} | {} |\n",
                if met { "yes" } else { "**no**" }
            ));
        }
        md
    }

    pub fn json(&self) -> serde_json::Value {
        let f = |f: Figures| json!({"count": f.count, "p50": f.p50, "p90": f.p90, "p99": f.p99, "per_second": f.per_second, "cpu_us": f.cpu_us, "runs": f.runs, "faults": f.faults, "first_byte": f.first_byte});
        json!({
            "quick": self.quick,
            "machine": self.machine(),
            "framework": self.framework,
            "workloads": self.rows.iter().map(|r| json!({
                "name": r.name,
                "lambda_fpm": f(r.lambda()),
                "streamed": r.kind.streamed(),
                "null_runtime": f(r.null()),
                "minimal_runtime": f(r.minimal()),
                "floor": f(r.wire()),
                "fastcgi_client": f(r.krate()),
            })).collect::<Vec<_>>(),
            "streamed": self.streamed.map(|t| json!({
                "bytes": t.bytes,
                "lambda_ms": t.lambda.as_secs_f64() * 1e3,
                "floor_ms": t.floor.as_secs_f64() * 1e3,
                "cpu_us_per_mib": t.cpu_us_per_mib,
                "rss_before_kib": t.rss_before,
                "rss_peak_kib": t.rss_peak,
                "rss_after_kib": t.rss_after,
            })),
            "framework_cold_ms": {
                "first_next": self.framework_cold.next.as_secs_f64() * 1e3,
                "first": self.framework_cold.first.as_secs_f64() * 1e3,
                "second": self.framework_cold.second.as_secs_f64() * 1e3,
                "third": self.framework_cold.third.as_secs_f64() * 1e3,
            },
            "cold_start_ms": {
                "first_next": self.cold.next.as_secs_f64() * 1e3,
                "first_response": self.cold.first_response.as_secs_f64() * 1e3,
                "php_fpm_ready": self.cold.fpm_ready.as_secs_f64() * 1e3,
                "php_fpm_first_response": self.cold.fpm_first_response.as_secs_f64() * 1e3,
            },
            "restore_ms": {
                "first_next": self.restore.next.as_secs_f64() * 1e3,
                "first": self.restore.first.as_secs_f64() * 1e3,
            },
            "throughput": {
                "cpus": self.throughput.cpus,
                "allowed": self.throughput.allowed,
                "load": self.throughput.load,
                "workloads": self.throughput.rows.iter().map(|(name, n, one, four)| json!({
                    "name": name, "count": n, "one_slot_per_second": one, "four_slots_per_second": four,
                })).collect::<Vec<_>>(),
            },
            "memory_kib": {
                "bootstrap_small_rss": self.memory.bootstrap_small.0,
                "bootstrap_small_pss": self.memory.bootstrap_small.1,
                "bootstrap_rss": self.memory.bootstrap.0,
                "bootstrap_pss": self.memory.bootstrap.1,
                "tree_rss": self.memory.tree.0,
                "tree_pss": self.memory.tree.1,
                "floor_rss": self.memory.floor_tree.0,
                "floor_pss": self.memory.floor_tree.1,
                "growth": self.memory.growth.map(|(n, b, t)| json!({"invocations": n, "bootstrap_rss": b, "tree_rss": t})),
            },
        })
    }
}

const BEGIN: &str =
    "<!-- bench:begin (generated by `cargo bench --bench runtime`; edit outside these markers) -->";
const END: &str = "<!-- bench:end -->";

/// Replaces the generated section of docs/benchmarks.md, keeping everything around it.
pub fn write_docs(markdown: &str) -> std::io::Result<()> {
    let path = crate::procs::repo().join("docs/benchmarks.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = format!("{BEGIN}\n\n{markdown}\n{END}");
    let text = match (existing.find("<!-- bench:begin"), existing.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{}{}", &existing[..b], generated, &existing[e + END.len()..])
        }
        _ => format!(
            "# Benchmarks\n\n```sh\ncargo bench --bench runtime               # full run (about 5 minutes); rewrites this section and benchmarks.png\ncargo bench --bench runtime -- --quick    # smoke run (CI)\n```\n\n## Latest results\n\n{generated}\n\n![latency per workload](benchmarks.png)\n"
        ),
    };
    std::fs::write(path, text)
}
