//! The side measured: the release bootstrap in Lambda mode against the shared Runtime API emulator
//! (tests/support/runtime_api: a hyper HTTP/1.1 server, as Lambda serves the API over HTTP), fed through
//! its queue so nothing waits per invocation.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::procs::{self, AppSpec, Bootstrap};
use crate::stats::Batch;
use crate::support::{body_bytes, Invocation, Outcome, RuntimeApi};
use crate::workloads::Workload;
use crate::{io, Result};

/// How long a batch waits for any one answer before it gives up.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// The deadline every event carries: far away, so no invocation is cut short.
pub const EVENT_DEADLINE: Duration = Duration::from_secs(300);

/// A bootstrap in Lambda mode behind its own emulator.
pub struct Lambda {
    pub api: RuntimeApi,
    pub process: Bootstrap,
}

impl Lambda {
    pub async fn start(app: &AppSpec, php_fpm: &Path) -> Result<Self> {
        Self::start_with(app, php_fpm, &[]).await
    }

    /// With extra environment variables (`AWS_LAMBDA_MAX_CONCURRENCY`, the initialization type).
    pub async fn start_with(app: &AppSpec, php_fpm: &Path, extra: &[(&str, &str)]) -> Result<Self> {
        let api = RuntimeApi::start().await;
        let process =
            Bootstrap::start(app, &api.address(), php_fpm, extra).map_err(io("bootstrap"))?;
        Ok(Self { api, process })
    }

    /// The next answer, or an error with the bootstrap's log.
    pub async fn answer(&mut self, what: &str, timeout: Duration) -> Result<Invocation> {
        self.api.next_answer(timeout).await.ok_or_else(|| {
            format!(
                "{what}: no answer from the bootstrap within {timeout:?} (exited: {}); its log:\n{}",
                self.process.exited(),
                self.process.log()
            )
        })
    }

    /// `count` invocations of `w`, all queued first (the runtime takes the next as soon as it asks). The
    /// latency of each is the emulator's delivery → answer time.
    pub async fn batch(&mut self, w: &Workload, count: usize, measure: bool) -> Result<Batch> {
        let cpu_before = procs::cpu_time(self.process.pid());
        let start = Instant::now();
        for _ in 0..count {
            self.api.enqueue(w.event.clone(), EVENT_DEADLINE);
        }
        let mut latencies = Vec::with_capacity(count);
        let mut last = start;
        for i in 0..count {
            let answer = self.answer(w.name, ANSWER_TIMEOUT).await?;
            if i == 0 || !is_200(&answer.outcome) {
                check_response(w, &answer.outcome)
                    .map_err(|e| format!("{e}\nThe bootstrap's log:\n{}", self.process.log()))?;
            }
            latencies.push(answer.elapsed());
            last = answer.answered_at;
        }
        let cpu = procs::cpu_time(self.process.pid()).saturating_sub(cpu_before);
        let mut batch = Batch::new(latencies, last - start, measure);
        batch.cpu_us = Some(cpu.as_secs_f64() * 1e6 / count.max(1) as f64);
        Ok(batch)
    }
}

/// A `/response` whose JSON starts with status 200 (every shape the bootstrap writes puts it first).
fn is_200(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Response(body) if body.starts_with(br#"{"statusCode":200"#))
}

/// The answer is a 200 whose body passes the workload's check.
pub fn check_response(w: &Workload, outcome: &Outcome) -> Result<()> {
    let fail = |why: &str| format!("{}: {why}: {}", w.name, outcome.describe());
    if !is_200(outcome) {
        return Err(fail("the bootstrap did not answer 200"));
    }
    let json: serde_json::Value = serde_json::from_slice(outcome.bytes())
        .map_err(|e| fail(&format!("invalid response JSON ({e})")))?;
    if !w.check.ok(&body_bytes(&json)) {
        return Err(fail("unexpected body"));
    }
    Ok(())
}
