//! Time per SQS record (a hello job) against a web hello, through one bootstrap serving both
//! (docs/events.md).
//!
//! ```sh
//! cargo bench --bench events               # 3 interleaved repetitions
//! cargo bench --bench events -- --quick    # a smoke run
//! ```
//! Two apps: the benchmark's plain-PHP app (benches/runtime/app: `/hello`, and worker.php on the layer's
//! PHP glue), and, when `tests/apps/install.sh` has run, the Laravel app of the app suite (`/ping`, and
//! its `App\Jobs\Hello` through `LambdaFpm\Laravel\EventHandler`). Each figure is the median latency
//! (delivery to answer, at the emulator) of every invocation of its kind, events queued ahead so the
//! runtime never waits; a record's time is the median of a 10-record batch divided by 10.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use support::events::load;
use support::{Lambda, Source};

const REPS: usize = 3;
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// What is measured for one app: a web hello, and SQS batches of one and ten hello jobs.
struct App {
    name: &'static str,
    root: PathBuf,
    env: Vec<(String, String)>,
    web: &'static str,
    /// The body of a hello job's message: the app's own payload.
    job: Option<String>,
    count: usize,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main() -> ExitCode {
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    support::bench_main(runtime, run(quick))
}

async fn run(quick: bool) -> Result<(), String> {
    let glue = repo().join("layer-build/php").display().to_string();
    let mut apps = vec![App {
        name: "plain PHP",
        root: repo().join("benches/runtime/app"),
        env: vec![("LAMBDA_FPM_PHP_DIR".into(), glue.clone())],
        web: "/hello",
        job: Some(r#"{"hello":"world"}"#.into()),
        count: if quick { 100 } else { 2000 },
    }];
    let apps_dir = std::env::var_os("LAMBDA_FPM_APPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/apps"));
    if apps_dir.join("laravel/worker.php").is_file() {
        apps.push(App {
            name: "Laravel 8",
            root: apps_dir.join("laravel"),
            env: vec![
                ("LAMBDA_FPM_PHP_DIR".into(), glue),
                (
                    "APP_KEY".into(),
                    "base64:bGFtYmRhLWZwbSBhcHAgc3VpdGUga2V5IDMyYnl0ZXM=".into(),
                ),
            ],
            web: "/ping",
            job: None,
            count: if quick { 30 } else { 300 },
        });
    } else {
        println!("(the Laravel app is not installed: tests/apps/install.sh; plain PHP only)");
    }
    println!("app | web hello p50 | SQS, 1 record p50 | SQS, 10 records p50 | per record (of 10)");
    println!("---|---|---|---|---");
    for app in &mut apps {
        let row = measure(app).await?;
        println!("{row}");
    }
    Ok(())
}

async fn measure(app: &mut App) -> Result<String, String> {
    let mut env: Vec<(&str, &str)> = app
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    env.push(("LAMBDA_FPM_EVENT_HANDLER", "worker.php"));
    let handler = "public/index.php";
    let mut lambda = Lambda::start_app(&app.root, handler, &env).await;
    lambda.ready().await;
    let web = Bytes::from(
        serde_json::to_vec(&Source::HttpV2.event("GET", app.web, &[]))
            .map_err(|e| e.to_string())?,
    );
    if app.job.is_none() {
        app.job = Some(laravel_hello_payload(&lambda).await?);
    }
    let job = app.job.clone().unwrap_or_default();
    let one = Bytes::from(sqs_event(&job, 1));
    let ten = Bytes::from(sqs_event(&job, 10));
    let (mut web_ms, mut one_ms, mut ten_ms) = (Vec::new(), Vec::new(), Vec::new());
    batch(&lambda, &web, 50, &mut Vec::new(), app.name).await?;
    batch(&lambda, &one, 50, &mut Vec::new(), app.name).await?;
    for _ in 0..REPS {
        batch(&lambda, &web, app.count, &mut web_ms, app.name).await?;
        batch(&lambda, &one, app.count, &mut one_ms, app.name).await?;
        batch(&lambda, &ten, app.count / 5, &mut ten_ms, app.name).await?;
    }
    let (web, one, ten) = (
        median(&mut web_ms),
        median(&mut one_ms),
        median(&mut ten_ms),
    );
    Ok(format!(
        "{} | {web:.2} ms | {one:.2} ms | {ten:.2} ms | {:.2} ms ({:.0} % of a web hello)",
        app.name,
        ten / 10.0,
        100.0 * ten / 10.0 / web
    ))
}

/// `count` invocations of `event`, all queued first; their latencies (ms) go into `into`. Every answer
/// must be a success: a 200, or a batch response without failures.
async fn batch(
    lambda: &Lambda,
    event: &Bytes,
    count: usize,
    into: &mut Vec<f64>,
    app: &str,
) -> Result<(), String> {
    for _ in 0..count {
        lambda.api.enqueue(event.clone(), Duration::from_secs(300));
    }
    for _ in 0..count {
        let answer = lambda
            .api
            .next_answer(ANSWER_TIMEOUT)
            .await
            .ok_or_else(|| format!("{app}: no answer; logs:\n{}", lambda.bs.logs()))?;
        let body = answer.outcome.bytes();
        let ok = body.starts_with(br#"{"statusCode":200"#)
            || body == br#"{"batchItemFailures":[]}"#.as_slice();
        if !ok {
            return Err(format!(
                "{app}: unexpected answer {}; logs:\n{}",
                answer.outcome.describe(),
                lambda.bs.logs()
            ));
        }
        into.push(answer.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(())
}

/// An SQS event of `records` copies of one message (AWS's example record, tests/fixtures/events).
fn sqs_event(body: &str, records: usize) -> Vec<u8> {
    let template = load("sqs")["Records"][0].clone();
    let records: Vec<Value> = (0..records)
        .map(|i| {
            let mut record = template.clone();
            record["messageId"] = json!(format!("bench-{i}"));
            record["body"] = json!(body);
            record
        })
        .collect();
    serde_json::to_vec(&json!({ "Records": records })).unwrap_or_default()
}

/// The payload Laravel queues for `App\Jobs\Hello`: dispatched by the app's `/jobs/hello` page into
/// its outbox (the app suite's stand-in for SQS) under the bootstrap's TMPDIR.
async fn laravel_hello_payload(lambda: &Lambda) -> Result<String, String> {
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/jobs/hello", &[]))
        .await;
    if resp["statusCode"] != 200 {
        return Err(format!("/jobs/hello answered {resp}"));
    }
    let outbox = lambda.bs.tmpdir().join("laravel/outbox.jsonl");
    let text =
        std::fs::read_to_string(&outbox).map_err(|e| format!("{}: {e}", outbox.display()))?;
    let last: Value = text
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or("an empty outbox")?;
    last["payload"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no payload in {last}"))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
