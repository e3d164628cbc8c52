//! The soak (docs/reliability.md): 100,000 invocations of mixed workloads through the local Runtime API emulator, a
//! fault injected every 1,000th, against the real (release) bootstrap and php-fpm.
//!
//! ```text
//! cargo bench --bench soak                 # 100,000 invocations (a few minutes)
//! cargo bench --bench soak -- --quick      # 2,000 (CI)
//! cargo bench --bench soak -- --invocations 20000
//! ```
//!
//! Checks: every event gets exactly one answer (the emulator refuses a second answer for an id and the
//! run counts the refusals: must be 0), none is garbled (each workload's answer carries the event's own
//! nonce, or the exact bytes of the static file), every fault gets its expected answer and the next
//! invocation is served, the bootstrap never restarts (same pid, alive), and its RSS, sampled every
//! 10,000 invocations (every 500 with --quick), stays flat after warm-up (< 512 KB growth). Exit status 1
//! on any failure. Pin it away from other work with `taskset -c 1 cargo bench --bench soak`.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::events::{set_body, set_header};
use support::{body_bytes, Lambda, Outcome, Source};

const WORKLOADS: [&str; 6] = ["hello", "json-post", "static", "404", "redirect", "binary"];
const FAULTS: [&str; 6] = [
    "php-fatal",
    "worker-sigkill",
    "timeout",
    "oversized",
    "malformed-event",
    "master-killed",
];
const RSS_GROWTH_LIMIT_KB: u64 = 512;

struct Args {
    invocations: usize,
    sample_every: usize,
    fault_every: usize,
}

fn args() -> Args {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let quick = argv.iter().any(|a| a == "--quick");
    let mut invocations = if quick { 2_000 } else { 100_000 };
    if let Some(i) = argv.iter().position(|a| a == "--invocations") {
        invocations = argv
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .expect("--invocations N");
    }
    Args {
        invocations,
        sample_every: if quick { 500 } else { 10_000 },
        // --quick still goes through every fault kind: one every 300
        fault_every: if quick { 300 } else { 1_000 },
    }
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn master_pid(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn source_for(i: usize) -> Source {
    [
        Source::HttpV2,
        Source::Rest,
        Source::Alb,
        Source::FunctionUrl,
    ][(i / 6) % 4]
}

#[derive(Default)]
struct Stats {
    ok: usize,
    failures: Vec<String>,
    per_kind: std::collections::BTreeMap<&'static str, Vec<Duration>>,
}

impl Stats {
    fn fail(&mut self, msg: String) {
        if self.failures.len() < 50 {
            eprintln!("FAIL {msg}");
        }
        self.failures.push(msg);
    }
}

fn hello_txt() -> Vec<u8> {
    std::fs::read(support::app_root().join("public/hello.txt")).expect("hello.txt")
}

/// One normal invocation of workload `kind`; checks its answer carries `nonce`.
async fn workload(
    lambda: &Lambda,
    i: usize,
    kind: &'static str,
    static_body: &[u8],
) -> Result<(), String> {
    let nonce = format!("n{i:06}x{:08x}", (i as u32).wrapping_mul(2_654_435_761));
    let source = source_for(i);
    let q = [("n", nonce.as_str())];
    let event = match kind {
        "hello" => source.event("GET", "/faults.php/echo", &q),
        "json-post" => {
            let mut e = source.event("POST", "/faults.php/echo", &q);
            set_header(&mut e, "content-type", &["application/json"]);
            set_body(
                &mut e,
                json!({"nonce": nonce}).to_string().as_bytes(),
                false,
            );
            e
        }
        "static" => source.event("GET", "/hello.txt", &q),
        "404" => source.event("GET", "/faults.php/missing", &q),
        "redirect" => source.event("GET", "/faults.php/redirect", &q),
        "binary" => source.event("GET", "/faults.php/nonce-binary", &q),
        _ => unreachable!(),
    };
    let outcome = lambda.invoke(&event).await;
    let Outcome::Response(_) = &outcome else {
        return Err(format!("{kind} #{i}: {}", outcome.describe()));
    };
    let resp = outcome.json();
    let status = resp["statusCode"].as_u64().unwrap_or(0);
    let body = body_bytes(&resp);
    let has_nonce = body.windows(nonce.len()).any(|w| w == nonce.as_bytes());
    let ok = match kind {
        "hello" | "json-post" => {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            status == 200
                && v["n"] == nonce.as_str()
                && (kind == "hello" || v["body"].as_str().is_some_and(|b| b.contains(&nonce)))
        }
        "static" => status == 200 && body == static_body,
        "404" => status == 404 && has_nonce,
        "redirect" => {
            let location = [&resp["headers"], &resp["multiValueHeaders"]]
                .iter()
                .filter_map(|h| h.as_object())
                .flat_map(|h| h.iter())
                .find(|(k, _)| k.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
            status == 302 && location.contains(&nonce)
        }
        "binary" => {
            status == 200
                && resp["isBase64Encoded"] == true
                && body.starts_with(b"\0\xff")
                && has_nonce
                && body.len() == 2 + nonce.len() + 1 + 4096
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{kind} #{i} ({source:?}): garbled or wrong answer for nonce {nonce}: {}",
            String::from_utf8_lossy(&outcome.bytes()[..outcome.bytes().len().min(600)])
        ))
    }
}

/// One fault of kind `kind`; checks the expected answer.
async fn fault(lambda: &Lambda, i: usize, kind: &'static str) -> Result<(), String> {
    let source = source_for(i);
    let expect_status = |outcome: &Outcome, want: u64| -> Result<(), String> {
        match outcome {
            Outcome::Response(_) if outcome.json()["statusCode"] == want => Ok(()),
            other => Err(format!(
                "{kind} #{i}: expected {want}, got {}",
                other.describe()
            )),
        }
    };
    match kind {
        "php-fatal" => {
            let o = lambda.invoke(&source.event("GET", "/fatal", &[])).await;
            expect_status(&o, 500)
        }
        "worker-sigkill" => {
            let o = lambda
                .invoke(&source.event("GET", "/faults.php/kill-mid-response", &[]))
                .await;
            expect_status(&o, 502)
        }
        "timeout" => {
            let o = lambda
                .api
                .invoke_with(
                    serde_json::to_vec(&source.event("GET", "/faults.php/busy", &[]))
                        .expect("json"),
                    Duration::from_millis(1600),
                )
                .await;
            expect_status(&o, 504)
        }
        "oversized" => {
            // Without Accept-Encoding: 7 MB of text would otherwise be compressed under the limit.
            let mut event = source.event("GET", "/faults.php/text", &[("size", "7000000")]);
            support::events::remove_header(&mut event, "accept-encoding");
            let o = lambda.invoke(&event).await;
            expect_status(&o, 502)
        }
        "malformed-event" => {
            let o = lambda
                .invoke_bytes(br#"{"version":"2.0","rawPath":"/x","#.to_vec())
                .await;
            match o.error() {
                (Some("Runtime.InvalidEvent"), _) => Ok(()),
                (other, body) => Err(format!("{kind} #{i}: /error {other:?} {body}")),
            }
        }
        "master-killed" => {
            let pid = lambda.bs.pid();
            let Some(master) = master_pid(pid) else {
                return Err(format!("{kind} #{i}: no php-fpm master"));
            };
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &master.to_string()])
                .status();
            tokio::time::sleep(Duration::from_millis(50)).await;
            // the next invocation is served after an automatic restart
            let o = lambda
                .invoke(&source.event("GET", "/faults.php/echo", &[("n", "after-kill")]))
                .await;
            expect_status(&o, 200)?;
            match master_pid(pid) {
                Some(m) if m != master => Ok(()),
                other => Err(format!("{kind} #{i}: master {master} -> {other:?}")),
            }
        }
        _ => unreachable!(),
    }
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p) as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    let mut lambda = Lambda::start().await;
    lambda.ready().await;
    let pid = lambda.bs.pid();
    let static_body = hello_txt();
    let mut stats = Stats::default();
    let mut samples: Vec<(usize, u64)> = vec![(0, rss_kb(pid))];
    let mut faults_done: std::collections::BTreeMap<&str, usize> = Default::default();
    let started = Instant::now();
    println!(
        "soak: {} invocations, a fault every {}, RSS sampled every {} (bootstrap pid {pid}, {})",
        args.invocations,
        args.fault_every,
        args.sample_every,
        support::bootstrap::bootstrap_bin()
    );
    for i in 1..=args.invocations {
        let t = Instant::now();
        let (kind, result) = if i % args.fault_every == 0 {
            let kind = FAULTS[(i / args.fault_every - 1) % FAULTS.len()];
            *faults_done.entry(kind).or_default() += 1;
            (kind, fault(&lambda, i, kind).await)
        } else {
            let kind = WORKLOADS[i % WORKLOADS.len()];
            (kind, workload(&lambda, i, kind, &static_body).await)
        };
        stats.per_kind.entry(kind).or_default().push(t.elapsed());
        match result {
            Ok(()) => stats.ok += 1,
            Err(e) => stats.fail(e),
        }
        if lambda.bs.try_exit().is_some() || lambda.bs.pid() != pid {
            stats.fail(format!("the bootstrap exited at invocation {i}"));
            break;
        }
        if i % args.sample_every == 0 {
            let rss = rss_kb(pid);
            samples.push((i, rss));
            println!(
                "  {i:>7} invocations  {:>6.1} s  bootstrap RSS {rss} KB",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let elapsed = started.elapsed();

    // exactly one answer per event: the emulator refuses (400) any second answer for an id
    let answers = lambda.api.answers_posted();
    let refused = lambda.api.answers_refused();
    let logs = lambda.bs.logs();
    let panics = logs.matches("panicked").count();
    let restarts = logs.matches("php-fpm restarted in").count();

    println!("\nsoak results");
    println!(
        "  invocations        {} in {:.1} s ({:.0}/s)",
        args.invocations,
        elapsed.as_secs_f64(),
        args.invocations as f64 / elapsed.as_secs_f64()
    );
    println!("  answered as expected {} / {}", stats.ok, args.invocations);
    println!("  answers posted     {answers} (second answers refused: {refused})");
    println!("  faults injected    {faults_done:?}");
    println!(
        "  php-fpm restarts   {restarts} (master kills: {})",
        faults_done.get("master-killed").copied().unwrap_or(0)
    );
    println!("  panics in the logs {panics}");
    println!("  latency per kind (p50 / p99 / max):");
    for (kind, v) in stats.per_kind.iter_mut() {
        let max = v.iter().max().copied().unwrap_or_default();
        println!(
            "    {kind:<16} n={:<6} {:>8.2?} {:>8.2?} {:>8.2?}",
            v.len(),
            percentile(v, 0.5),
            percentile(v, 0.99),
            max
        );
    }
    println!("  bootstrap RSS samples (invocations: KB): {samples:?}");
    // warm-up: the first sample after start-up (allocator and buffers reach their working size)
    let warm = samples.get(1).map(|s| s.1).unwrap_or(0);
    let last = samples.last().map(|s| s.1).unwrap_or(0);
    let max = samples.iter().skip(1).map(|s| s.1).max().unwrap_or(0);
    let growth = max.saturating_sub(warm);
    println!(
        "  RSS after warm-up {warm} KB, last {last} KB, max {max} KB: growth {growth} KB (limit {RSS_GROWTH_LIMIT_KB} KB)"
    );

    let mut failed = !stats.failures.is_empty();
    if refused > 0 || answers != args.invocations {
        eprintln!(
            "FAIL answers posted {answers}, expected exactly one per event ({})",
            args.invocations
        );
        failed = true;
    }
    if panics > 0 {
        eprintln!("FAIL the bootstrap panicked");
        failed = true;
    }
    if samples.len() > 2 && growth >= RSS_GROWTH_LIMIT_KB {
        eprintln!("FAIL the bootstrap's RSS grew by {growth} KB after warm-up");
        failed = true;
    }
    if failed {
        eprintln!("soak FAILED: {} failures", stats.failures.len());
        drop(lambda);
        std::process::exit(1);
    }
    println!("soak passed");
}
