//! Cold starts: a fresh bootstrap (empty TMPDIR) against php-fpm started alone, the framework page's
//! first invocations in a fresh sandbox, and a SnapStart restore in the emulator.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::floor::{FloorClient, WireClient};
use crate::lambda::{check_response, Lambda, EVENT_DEADLINE};
use crate::procs::{AppSpec, Bootstrap, PhpFpm, TaskRoot};
use crate::stats::{Cold, FrameworkCold, Restore};
use crate::support::RuntimeApi;
use crate::workloads::{self, Workload};
use crate::{io, Result};

/// A bootstrap spawned after `events` were queued, so its first GET /next finds one waiting.
async fn spawn_with(app: &AppSpec, php_fpm: &Path, events: &[&Workload]) -> Result<Lambda> {
    let api = RuntimeApi::start().await;
    for w in events {
        api.enqueue(w.event.clone(), EVENT_DEADLINE);
    }
    // The task root as it is: mounting it read-only would add the mount's own time to the start-up.
    let process = Bootstrap::start(app, &api.address(), php_fpm, &[], TaskRoot::AsIs)
        .map_err(io("bootstrap"))?;
    Ok(Lambda { api, process })
}

/// One cold start each: the bootstrap (spawn → first /next, spawn → first response) and php-fpm alone
/// (spawn → socket ready, spawn → first response), each with an empty TMPDIR.
pub async fn cold_start(
    app: &AppSpec,
    php_fpm: &Path,
    hello: &Workload,
    floor_first: bool,
) -> Result<Cold> {
    let mut cold = Cold::default();
    for side in if floor_first { [1, 0] } else { [0, 1] } {
        if side == 0 {
            let mut lambda = spawn_with(app, php_fpm, &[hello]).await?;
            let answer = lambda.answer("cold start", Duration::from_secs(20)).await?;
            check_response(hello, &answer.outcome)?;
            let first_next = lambda
                .api
                .first_next_at()
                .ok_or("cold start: no /next seen")?;
            cold.next = first_next - lambda.process.spawned;
            cold.first_response = answer.answered_at - lambda.process.spawned;
            if std::env::var_os("LAMBDA_FPM_BENCH_VERBOSE").is_some() {
                print!("bootstrap log: {}", lambda.process.log());
            }
            let _ = lambda.process.tree();
        } else {
            let request = workloads::fcgi_request(&hello.event, app)?;
            let spawned = Instant::now();
            let fpm = PhpFpm::start(app, php_fpm).map_err(io("floor php-fpm"))?;
            let mut client = WireClient::new(fpm.connect().map_err(io("floor connect"))?);
            client
                .execute(&request)
                .await
                .map_err(io("floor first request"))?;
            cold.fpm_ready = fpm.startup;
            cold.fpm_first_response = spawned.elapsed();
        }
    }
    Ok(cold)
}

/// A fresh bootstrap on the framework app (empty TMPDIR, so an empty opcache and, for Symfony, no compiled
/// container): spawn → first `/next`, then the first three invocations' latencies.
pub async fn framework_cold_start(
    app: &AppSpec,
    php_fpm: &Path,
    page: &Workload,
) -> Result<FrameworkCold> {
    let mut lambda = spawn_with(app, php_fpm, &[page, page, page]).await?;
    let mut latencies = Vec::new();
    for _ in 0..3 {
        let answer = lambda
            .answer("framework cold start", Duration::from_secs(30))
            .await?;
        if latencies.is_empty() {
            check_response(page, &answer.outcome)?;
        }
        latencies.push(answer.elapsed());
    }
    let first_next = lambda
        .api
        .first_next_at()
        .ok_or("framework cold start: no /next seen")?;
    Ok(FrameworkCold {
        next: first_next - lambda.process.spawned,
        first: latencies[0],
        second: latencies[1],
        third: latencies[2],
    })
}

/// One SnapStart restore: a bootstrap with `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start` (hello world as
/// its warm-up) waits at `/restore/next`; the emulator restores it with one event queued. Measured: the
/// restore → the first `/next` (new php-fpm workers, new connections), and that first invocation.
pub async fn restore(app: &AppSpec, php_fpm: &Path, hello: &Workload) -> Result<Restore> {
    let env = [
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start"),
        ("LAMBDA_FPM_WARMUP", "/hello"),
    ];
    let mut lambda = Lambda::start_with(app, php_fpm, &env).await?;
    if !lambda.api.wait_for_snapshot(Duration::from_secs(20)).await {
        return Err(format!(
            "restore: the bootstrap never called /restore/next; its log:\n{}",
            lambda.process.log()
        ));
    }
    // The snapshot is taken while the environment idles.
    tokio::time::sleep(Duration::from_millis(100)).await;
    lambda.api.enqueue(hello.event.clone(), EVENT_DEADLINE);
    lambda.api.restore();
    let answer = lambda.answer("restore", Duration::from_secs(20)).await?;
    check_response(hello, &answer.outcome)?;
    Ok(Restore {
        next: lambda
            .api
            .restore_duration()
            .ok_or("restore: no /next after the restore")?,
        first: answer.elapsed(),
    })
}
