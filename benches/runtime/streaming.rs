//! The 100 MiB stream: how fast the bootstrap passes a large body on in `response_stream` mode, how
//! fast php-fpm produces it on its own, and whether the bootstrap's memory stays flat meanwhile.

use std::time::Duration;

use crate::floor::{FcgiRequest, WireClient};
use crate::lambda::{check_answer, Lambda, ANSWER_TIMEOUT, EVENT_DEADLINE};
use crate::procs::PhpFpm;
use crate::stats::{median, StreamRate};
use crate::usage::{self, Usage};
use crate::workloads::{Check, Workload, MIB};
use crate::{io, Result};

/// What the emulator keeps of each streamed body (the rest is counted): enough to check the prelude.
const KEEP: usize = 64 * 1024;

/// `runs` streams of `w` through `lambda` (a bootstrap in `response_stream` mode), then as many
/// straight from `fpm`.
pub async fn throughput(
    lambda: &mut Lambda,
    fpm: &PhpFpm,
    w: &Workload,
    request: &FcgiRequest,
    runs: usize,
) -> Result<StreamRate> {
    let pid = lambda.process.pid();
    lambda.api.keep_body_bytes(Some(KEEP));
    // A small stream first: what every stream allocates is then in place before RSS is read.
    let warm = lambda.batch(w, 1).await;
    let rss_before = usage::status_kib(pid, "VmRSS").unwrap_or(0);
    let peak_reset = usage::reset_peak_rss(pid);
    let before = Usage::of(pid);
    let mut times = Vec::new();
    for _ in 0..runs {
        lambda.api.enqueue(w.event.clone(), EVENT_DEADLINE);
        let answer = lambda.answer(w.name, ANSWER_TIMEOUT).await?;
        check_answer(w, &answer)?;
        times.push(answer.elapsed().as_secs_f64());
    }
    let (cpu_us, _, _) = Usage::of(pid).per_invocation(before, runs);
    let rss_peak = peak_reset
        .then(|| usage::status_kib(pid, "VmHWM"))
        .flatten();
    let rss_after = usage::status_kib(pid, "VmRSS").unwrap_or(0);
    lambda.api.keep_body_bytes(None);
    warm?;

    let mut client = WireClient::new(fpm.connect().map_err(io("floor connect"))?);
    let mut floor = Vec::new();
    for _ in 0..runs {
        let start = std::time::Instant::now();
        let run = client
            .run(request, KEEP)
            .await
            .map_err(io("floor stream"))?;
        floor.push(start.elapsed().as_secs_f64());
        if run.len < w_len(w) {
            return Err(format!("{}: the floor read only {} bytes", w.name, run.len));
        }
    }
    Ok(StreamRate {
        bytes: w_len(w),
        lambda: Duration::from_secs_f64(median(times)),
        floor: Duration::from_secs_f64(median(floor)),
        cpu_us_per_mib: cpu_us / (w_len(w) as f64 / MIB as f64),
        rss_before,
        rss_peak,
        rss_after,
    })
}

/// The body length the workload checks for.
fn w_len(w: &Workload) -> usize {
    match w.check {
        Check::Len(n) => n,
        _ => 0,
    }
}
