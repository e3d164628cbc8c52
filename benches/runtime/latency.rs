//! The latency phase: every workload on lambda-fpm, on the null runtime (the Runtime API round trip
//! alone), on the minimal runtime (both round trips in one process), on the FastCGI floor and, for
//! buffered ones, on the `fastcgi-client` crate; repetitions interleaved, rotating who goes first.

use std::path::Path;
use std::time::Instant;

use crate::floor::{self, CrateClient, FcgiRequest, FloorClient, WireClient};
use crate::lambda::{Lambda, ANSWER_TIMEOUT, EVENT_DEADLINE};
use crate::null::NullRuntime;
use crate::procs::{AppSpec, PhpFpm};
use crate::stats::{Batch, Row};
use crate::workloads::{Kind, Workload};
use crate::{io, Result, REPS};
use lambda_fpm::fastcgi::wire;

/// The environment of the bootstrap that streams.
pub const STREAM_MODE: &[(&str, &str)] = &[("LAMBDA_FPM_INVOKE_MODE", "response_stream")];

/// Everything the workloads run on.
pub struct Sides {
    /// The bench app in the default (buffered) mode, the framework app, the bench app streaming.
    pub lambda: Lambda,
    pub lambda_fw: Lambda,
    pub lambda_stream: Lambda,
    pub fpm: PhpFpm,
    pub fpm_fw: PhpFpm,
    /// Per workload: its null runtime and its minimal runtime (none for the first-byte workload,
    /// whose answer would be one piece).
    pub nulls: Vec<Option<NullRuntime>>,
    pub minimals: Vec<Option<NullRuntime>>,
}

#[derive(Clone, Copy)]
enum Side {
    Lambda,
    Null,
    Minimal,
    Wire,
    Crate,
}

impl Sides {
    pub async fn start(
        bench_app: &AppSpec,
        framework_app: &AppSpec,
        php_fpm: &Path,
        workloads: &[Workload],
        requests: &[FcgiRequest],
    ) -> Result<Sides> {
        let mut sides = Sides {
            lambda: Lambda::start(bench_app, php_fpm).await?,
            lambda_fw: Lambda::start(framework_app, php_fpm).await?,
            lambda_stream: Lambda::start_with(bench_app, php_fpm, STREAM_MODE).await?,
            fpm: PhpFpm::start(bench_app, php_fpm).map_err(io("floor php-fpm"))?,
            fpm_fw: PhpFpm::start(framework_app, php_fpm).map_err(io("floor php-fpm"))?,
            nulls: Vec::new(),
            minimals: Vec::new(),
        };
        // Each null runtime answers with the very bytes lambda-fpm answered its workload with.
        for (w, request) in workloads.iter().zip(requests) {
            if w.kind == Kind::FirstByte {
                sides.nulls.push(None);
                sides.minimals.push(None);
                continue;
            }
            let lambda = sides.lambda_for(w);
            lambda.api.enqueue(w.event.clone(), EVENT_DEADLINE);
            let answer = lambda.answer(w.name, ANSWER_TIMEOUT).await?;
            crate::lambda::check_answer(w, &answer)?;
            let response = answer.outcome.bytes();
            let null = NullRuntime::start(response, w.kind.streamed(), None).await?;
            sides.nulls.push(Some(null));
            let socket = if w.framework {
                &sides.fpm_fw.socket
            } else {
                &sides.fpm.socket
            };
            let encoded = wire::encode_request(1, &request.params, &request.stdin);
            let minimal =
                NullRuntime::start(response, w.kind.streamed(), Some((socket, &encoded))).await?;
            sides.minimals.push(Some(minimal));
        }
        Ok(sides)
    }

    fn lambda_for(&mut self, w: &Workload) -> &mut Lambda {
        if w.framework {
            &mut self.lambda_fw
        } else if w.kind.streamed() {
            &mut self.lambda_stream
        } else {
            &mut self.lambda
        }
    }

    /// `REPS` interleaved repetitions of every workload on every side, each batch after a warm-up.
    pub async fn measure(
        &mut self,
        workloads: &[Workload],
        requests: &[FcgiRequest],
        quick: bool,
    ) -> Result<Vec<Row>> {
        let mut rows: Vec<Row> = workloads.iter().map(|w| Row::new(w.name, w.kind)).collect();
        for rep in 0..REPS {
            for (i, w) in workloads.iter().enumerate() {
                let plan: &[Side] = match w.kind {
                    Kind::Buffered => &[
                        Side::Lambda,
                        Side::Null,
                        Side::Minimal,
                        Side::Wire,
                        Side::Crate,
                    ],
                    Kind::Streamed { .. } => &[Side::Lambda, Side::Null, Side::Minimal, Side::Wire],
                    Kind::FirstByte => &[Side::Lambda, Side::Wire],
                };
                // Rotate who goes first, so no side always runs right after another.
                for k in 0..plan.len() {
                    let side = plan[(rep + k) % plan.len()];
                    self.side(side, w, &requests[i], &mut rows[i], i, quick)
                        .await?;
                }
                println!(
                    "rep {}/{REPS} {:<34} {}",
                    rep + 1,
                    w.name,
                    rows[i].last_line()
                );
            }
        }
        Ok(rows)
    }

    async fn side(
        &mut self,
        side: Side,
        w: &Workload,
        request: &FcgiRequest,
        row: &mut Row,
        i: usize,
        quick: bool,
    ) -> Result<()> {
        let count = if quick { w.count.1 } else { w.count.0 };
        let warmup = (count / 10).clamp(20, 500);
        let fpm = if w.framework { &self.fpm_fw } else { &self.fpm };
        match side {
            Side::Lambda => {
                let lambda = self.lambda_for(w);
                lambda.batch(w, warmup).await?;
                row.lambda.push(lambda.batch(w, count).await?);
            }
            Side::Null => {
                if let Some(null) = self.nulls.get_mut(i).and_then(Option::as_mut) {
                    null.batch(w, warmup).await?;
                    row.null.push(null.batch(w, count).await?);
                }
            }
            Side::Minimal => {
                if let Some(minimal) = self.minimals.get_mut(i).and_then(Option::as_mut) {
                    minimal.batch(w, warmup).await?;
                    row.minimal.push(minimal.batch(w, count).await?);
                }
            }
            Side::Wire => {
                let mut client = WireClient::new(fpm.connect().map_err(io("floor connect"))?);
                floor_batch(w, request, warmup, &mut client).await?;
                row.wire
                    .push(floor_batch(w, request, count, &mut client).await?);
            }
            Side::Crate => {
                let mut client = CrateClient::new(fpm.connect().map_err(io("floor connect"))?);
                floor_batch(w, request, warmup, &mut client).await?;
                row.krate
                    .push(floor_batch(w, request, count, &mut client).await?);
            }
        }
        Ok(())
    }
}

/// `count` requests straight to php-fpm; the first answer is checked.
pub async fn floor_batch<C: FloorClient>(
    w: &Workload,
    request: &FcgiRequest,
    count: usize,
    client: &mut C,
) -> Result<Batch> {
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(count);
    let mut first_bytes = Vec::new();
    for i in 0..count {
        let t0 = Instant::now();
        let stdout = client.execute(request).await.map_err(io(w.name))?;
        latencies.push(t0.elapsed());
        first_bytes.extend(client.first_body());
        if i == 0 {
            let (status, body_len) = floor::status_and_body_len(&stdout);
            let body = &stdout[stdout.len() - body_len..];
            if status != 200 || !w.check.ok(body) {
                return Err(format!(
                    "{}: the floor got status {status} and an unexpected body: {}",
                    w.name,
                    String::from_utf8_lossy(&stdout[..stdout.len().min(400)])
                ));
            }
        }
    }
    let batch = Batch::new(latencies, start.elapsed());
    Ok(if w.kind.streamed() {
        batch.with_first_bytes(first_bytes)
    } else {
        batch
    })
}
