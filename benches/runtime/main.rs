//! The lambda-fpm benchmark (docs/benchmarks.md).
//!
//! ```sh
//! cargo bench --bench runtime               # full run; rewrites docs/benchmarks.md and docs/benchmarks.png
//! cargo bench --bench runtime -- --quick    # CI smoke: a few hundred invocations per workload, prints the table
//! ```
//! Options after `--`: `--quick`, `--no-docs` (full run without touching docs/), `--no-pin`, `--cpu N`,
//! `--only TEXT` (just the workloads whose name contains TEXT, no cold start or memory phase: for
//! profiling, e.g. `perf record -e cpu-clock -g -- target/release/deps/runtime-* --only text`).
//!
//! The release bootstrap runs in Lambda mode against the suites' Runtime API emulator, a real HTTP server
//! ([`lambda`]). The floor has two parts, each measured alone: the Runtime API round trip of a runtime
//! that does nothing else ([`null`]), and the same FastCGI requests sent straight to php-fpm started the
//! same way ([`floor`]). The benchmark re-executes itself under `taskset -c CPU` (the least busy CPU, or `--cpu N`),
//! so the emulator, the bootstrap and php-fpm share one CPU. Each figure is the median of 3 interleaved repetitions.

#[path = "../../tests/support/mod.rs"]
mod support;

mod cold;
mod floor;
mod lambda;
mod latency;
mod memory;
mod null;
mod procs;
mod report;
mod stats;
mod streaming;
mod throughput;
mod usage;
mod workloads;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use cold::{cold_start, framework_cold_start};
use latency::Sides;
use procs::AppSpec;
use report::Report;
use stats::{Cold, FrameworkCold, Restore};

const REPS: usize = 3;

pub struct Options {
    pub quick: bool,
    /// Only the workloads whose name contains this; no cold start or memory phase (for profiling).
    pub only: Option<String>,
    pub docs: bool,
    pub cpu: Option<usize>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == null::ARG) {
        return null::child_main(&args[1..]);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let cpu_arg = args
        .iter()
        .position(|a| a == "--cpu")
        .and_then(|i| args.get(i + 1))
        .and_then(|c| c.parse::<usize>().ok());
    let pinned_cpu = std::env::var("LAMBDA_FPM_BENCH_PINNED")
        .ok()
        .and_then(|c| c.parse::<usize>().ok());
    if pinned_cpu.is_none() && !args.iter().any(|a| a == "--no-pin") {
        let cpu = cpu_arg.unwrap_or_else(least_busy_cpu);
        match std::env::current_exe() {
            Ok(exe) => {
                let status = std::process::Command::new("taskset")
                    .arg("-c")
                    .arg(cpu.to_string())
                    .arg(exe)
                    .args(&args)
                    .env("LAMBDA_FPM_BENCH_PINNED", cpu.to_string())
                    .status();
                match status {
                    Ok(s) => {
                        return if s.success() {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::FAILURE
                        }
                    }
                    Err(e) => eprintln!("bench: taskset is unavailable ({e}); running unpinned"),
                }
            }
            Err(e) => eprintln!("bench: cannot find my own executable ({e}); running unpinned"),
        }
    }
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let options = Options {
        quick,
        docs: !quick && only.is_none() && !args.iter().any(|a| a == "--no-docs"),
        only,
        cpu: pinned_cpu,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    support::bench_main(runtime, run(options))
}

type Result<T> = std::result::Result<T, String>;

/// The CPU that was least busy over half a second (from /proc/stat): other work on the machine then
/// disturbs the pinned benchmark least. The last CPU when /proc/stat cannot be read.
fn least_busy_cpu() -> usize {
    fn sample() -> Vec<(usize, u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        stat.lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let cpu = fields.next()?.strip_prefix("cpu")?.parse::<usize>().ok()?;
                let times: Vec<u64> = fields.filter_map(|f| f.parse().ok()).collect();
                let idle = times.get(3).copied().unwrap_or(0) + times.get(4).copied().unwrap_or(0);
                Some((cpu, times.iter().sum(), idle))
            })
            .collect()
    }
    let before = sample();
    std::thread::sleep(Duration::from_millis(500));
    let after = sample();
    after
        .iter()
        .filter_map(|(cpu, total, idle)| {
            let (_, total0, idle0) = before.iter().find(|(c, _, _)| c == cpu)?;
            let busy = (total - total0).saturating_sub(idle - idle0);
            Some((busy, std::cmp::Reverse(*cpu), *cpu))
        })
        .min()
        .map(|(_, _, cpu)| cpu)
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(0, |n| n.get().saturating_sub(1))
        })
}

fn io<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

async fn run(options: Options) -> Result<()> {
    let started = Instant::now();
    let php_fpm = procs::php_fpm_bin()
        .ok_or("php-fpm not found: install php8.2-fpm or set LAMBDA_FPM_PHP_FPM")?;
    let scratch = procs::repo().join("target/bench");
    std::fs::create_dir_all(&scratch).map_err(io("target/bench"))?;
    let bench_app = AppSpec {
        task_root: procs::repo().join("benches/runtime/app"),
        handler: "public/index.php".into(),
        env: Vec::new(),
    };
    let (framework_app, framework_path, framework_name) =
        workloads::framework_app(&scratch).map_err(io("framework app"))?;
    let mut workloads = workloads::all(framework_path);
    if let Some(only) = &options.only {
        workloads.retain(|w| w.name.contains(only.as_str()));
    }
    println!(
        "lambda-fpm benchmark ({}): php-fpm {}, CPU {}, framework page: {}",
        if options.quick { "quick" } else { "full" },
        php_fpm.display(),
        options.cpu.map_or("unpinned".to_owned(), |c| c.to_string()),
        framework_name
    );

    // ---- cold starts (first: nothing warm yet) --------------------------------------------------
    let cold_runs = if options.only.is_some() {
        0
    } else if options.quick {
        2
    } else {
        7
    };
    let mut colds = Vec::new();
    for i in 0..cold_runs {
        let run = cold_start(&bench_app, &php_fpm, &workloads[0], i % 2 == 1).await?;
        println!("cold start {}/{cold_runs}: {run:?}", i + 1);
        colds.push(run);
    }
    let cold = Cold::median(&colds);
    println!("cold start: {cold:?}");
    // The framework page right after a cold start: what an init-time warm-up request could save.
    let mut framework_colds = Vec::new();
    if let Some(page) = workloads.iter().find(|w| w.framework) {
        for _ in 0..cold_runs.min(3) {
            framework_colds.push(framework_cold_start(&framework_app, &php_fpm, page).await?);
        }
    }
    let framework_cold = FrameworkCold::median(&framework_colds);
    println!("framework cold start: {framework_cold:?}");
    let mut restores = Vec::new();
    for _ in 0..cold_runs {
        restores.push(cold::restore(&bench_app, &php_fpm, &workloads[0]).await?);
    }
    let restore = Restore::median(&restores);
    println!("SnapStart restore: {restore:?}");

    // ---- latency: lambda-fpm, the null runtime and the floors, interleaved ------------------------
    let mut requests = Vec::new();
    for w in &workloads {
        let app = if w.framework {
            &framework_app
        } else {
            &bench_app
        };
        requests.push(workloads::fcgi_request(&w.event, app)?);
    }
    let mut sides =
        Sides::start(&bench_app, &framework_app, &php_fpm, &workloads, &requests).await?;
    let rows = sides.measure(&workloads, &requests, options.quick).await?;

    // ---- 100 MiB streamed ----------------------------------------------------------------------------
    let large = workloads::large_stream();
    let streamed = if options
        .only
        .as_ref()
        .is_none_or(|o| large.name.contains(o.as_str()))
    {
        let request = workloads::fcgi_request(&large.event, &bench_app)?;
        let runs = if options.quick {
            large.count.1
        } else {
            large.count.0
        };
        let t = streaming::throughput(&mut sides.lambda_stream, &sides.fpm, &large, &request, runs)
            .await?;
        println!("{}: {t:?}", large.name);
        Some(t)
    } else {
        None
    };
    drop(sides);

    // ---- memory: each side alone, after the same requests ------------------------------------------
    if options.only.is_some() {
        return Ok(());
    }
    let memory =
        memory::measure(&bench_app, &php_fpm, &workloads, &requests, options.quick).await?;
    let throughput = throughput::measure(&bench_app, &php_fpm, options.quick, REPS).await?;

    let report = Report {
        quick: options.quick,
        cpu: options.cpu,
        framework: framework_name,
        rows,
        streamed,
        cold,
        framework_cold,
        restore,
        memory,
        throughput,
        elapsed: started.elapsed(),
    };
    let markdown = report.markdown();
    println!("\n{markdown}");
    std::fs::write(scratch.join("report.md"), &markdown).map_err(io("target/bench/report.md"))?;
    let json = report.json();
    let json_path = scratch.join("results.json");
    std::fs::write(
        &json_path,
        serde_json::to_vec_pretty(&json).unwrap_or_default(),
    )
    .map_err(io("target/bench/results.json"))?;
    if options.docs {
        report::write_docs(&markdown).map_err(io("docs/benchmarks.md"))?;
        let chart = procs::repo().join("docs/benchmarks.png");
        match std::process::Command::new("python3")
            .arg(procs::repo().join("benches/runtime/chart.py"))
            .arg(&json_path)
            .arg(&chart)
            .status()
        {
            Ok(s) if s.success() => println!("wrote docs/benchmarks.md and {}", chart.display()),
            other => eprintln!(
                "bench: the chart was not drawn (python3 with matplotlib needed): {other:?}"
            ),
        }
    }
    Ok(())
}
