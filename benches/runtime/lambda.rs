//! The side measured: the release bootstrap in Lambda mode against the shared Runtime API emulator
//! (tests/support/runtime_api: a hyper HTTP/1.1 server, as Lambda serves the API over HTTP), fed through
//! its queue so nothing waits per invocation. [`batch`] also drives the null runtime.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::procs::{AppSpec, Bootstrap, TaskRoot};
use crate::stats::Batch;
use crate::support::{body_bytes, Invocation, Outcome, RuntimeApi};
use crate::usage::Usage;
use crate::workloads::Workload;
use crate::{io, Result};

/// How long a batch waits for any one answer before it gives up.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
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

    /// With more environment (`LAMBDA_FPM_INVOKE_MODE=response_stream`, `AWS_LAMBDA_MAX_CONCURRENCY`,
    /// the initialization type). The task root is read-only,
    /// as on Lambda, where the machine allows it ([`crate::procs::read_only_possible`]).
    pub async fn start_with(app: &AppSpec, php_fpm: &Path, env: &[(&str, &str)]) -> Result<Self> {
        let api = RuntimeApi::start().await;
        let process = Bootstrap::start(app, &api.address(), php_fpm, env, TaskRoot::ReadOnly)
            .map_err(io("bootstrap"))?;
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

    /// `count` invocations of `w` (see [`batch`]).
    pub async fn batch(&mut self, w: &Workload, count: usize) -> Result<Batch> {
        let pid = self.process.pid();
        match batch(&self.api, pid, w, count).await {
            Ok(batch) => Ok(batch),
            Err(e) => Err(format!(
                "{e} (bootstrap exited: {})\nThe bootstrap's log:\n{}",
                self.process.exited(),
                self.process.log()
            )),
        }
    }
}

/// `count` invocations of `w` through `api`, answered by the runtime process `pid`: all queued first
/// (the runtime takes the next as soon as it asks), latency = the emulator's delivery → the answer's
/// last byte, plus the runtime's CPU, wake-ups and page faults per invocation.
pub async fn batch(api: &RuntimeApi, pid: u32, w: &Workload, count: usize) -> Result<Batch> {
    let before = Usage::of(pid);
    let start = Instant::now();
    for _ in 0..count {
        api.enqueue(w.event.clone(), EVENT_DEADLINE);
    }
    let mut latencies = Vec::with_capacity(count);
    let mut first_bytes = Vec::new();
    let mut last = start;
    for i in 0..count {
        let answer = api
            .next_answer(ANSWER_TIMEOUT)
            .await
            .ok_or_else(|| format!("{}: no answer within {ANSWER_TIMEOUT:?}", w.name))?;
        if i == 0 || !is_200(&answer) {
            check_answer(w, &answer)?;
        }
        latencies.push(answer.elapsed());
        first_bytes.extend(first_body_byte(&answer));
        last = answer.answered_at;
    }
    let usage = Usage::of(pid).per_invocation(before, count);
    Ok(Batch::new(latencies, last - start)
        .with_usage(usage)
        .with_first_bytes(first_bytes))
}

fn is_streamed(answer: &Invocation) -> bool {
    answer.posted.response_mode() == Some("streaming")
}

/// A `/response` with status 200: a buffered JSON starts with it (every shape the bootstrap writes
/// puts it first), so does a streamed one's prelude.
fn is_200(answer: &Invocation) -> bool {
    matches!(&answer.outcome, Outcome::Response(body) if body.starts_with(br#"{"statusCode":200"#))
}

/// Where a streamed response's prelude ends: the 8 NUL bytes after it (JSON holds no NUL).
fn prelude_end(body: &[u8]) -> Option<usize> {
    body.windows(8).position(|w| w == [0u8; 8])
}

/// From delivery to the arrival of a streamed response's first body byte.
fn first_body_byte(answer: &Invocation) -> Option<Duration> {
    if !is_streamed(answer) {
        return None;
    }
    let body_start = prelude_end(answer.outcome.bytes())? + 8;
    let at = answer.posted.time_of_byte(body_start + 1)?;
    Some(at.duration_since(answer.delivered_at))
}

/// The answer is a 200 in the workload's shape (buffered JSON, or a stream) whose body passes its check.
pub fn check_answer(w: &Workload, answer: &Invocation) -> Result<()> {
    let outcome = &answer.outcome;
    let fail = |why: &str| format!("{}: {why}: {}", w.name, outcome.describe());
    if !is_200(answer) {
        return Err(fail("the runtime did not answer 200"));
    }
    if is_streamed(answer) != w.kind.streamed() {
        return Err(fail(if w.kind.streamed() {
            "a buffered answer where a stream was expected"
        } else {
            "a stream where a buffered answer was expected"
        }));
    }
    if w.kind.streamed() {
        let bytes = outcome.bytes();
        let start = prelude_end(bytes).ok_or_else(|| fail("no prelude"))? + 8;
        if !w
            .check
            .ok_len(&bytes[start..], answer.posted.body_len - start)
        {
            return Err(fail("unexpected body"));
        }
        return Ok(());
    }
    check_response(w, outcome)
}

/// A buffered answer is a 200 whose body passes the workload's check.
pub fn check_response(w: &Workload, outcome: &Outcome) -> Result<()> {
    let fail = |why: &str| format!("{}: {why}: {}", w.name, outcome.describe());
    if !matches!(outcome, Outcome::Response(body) if body.starts_with(br#"{"statusCode":200"#)) {
        return Err(fail("the bootstrap did not answer 200"));
    }
    let json: serde_json::Value = serde_json::from_slice(outcome.bytes())
        .map_err(|e| fail(&format!("invalid response JSON ({e})")))?;
    if !w.check.ok(&body_bytes(&json)) {
        return Err(fail("unexpected body"));
    }
    Ok(())
}
