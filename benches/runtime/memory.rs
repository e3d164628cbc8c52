//! Memory: the bootstrap's and the whole tree's (smaps_rollup) after the same mix of requests on each
//! side, each side running alone; and the bootstrap's RSS growth over many more invocations.

use std::path::Path;

use crate::floor::{FcgiRequest, FloorClient, WireClient};
use crate::lambda::Lambda;
use crate::procs::{AppSpec, PhpFpm};
use crate::stats::Memory;
use crate::usage;
use crate::workloads::{Kind, Workload};
use crate::{io, Result};

pub async fn measure(
    app: &AppSpec,
    php_fpm: &Path,
    workloads: &[Workload],
    requests: &[FcgiRequest],
    quick: bool,
) -> Result<Memory> {
    // The same mix on both sides: every bench-app workload a few times, then hello world.
    let plan: Vec<(usize, usize)> = workloads
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.framework && w.kind == Kind::Buffered)
        .map(|(i, w)| (i, if w.count.0 > 5_000 { 1_000 } else { 100 }))
        .chain(std::iter::once((0, 1_000)))
        .collect();
    let mut memory = Memory::default();

    let mut lambda = Lambda::start(app, php_fpm).await?;
    // First the small workloads only: the bootstrap's steady state before any large body.
    for (i, n) in plan.iter().filter(|(i, _)| workloads[*i].count.0 > 5_000) {
        lambda.batch(&workloads[*i], *n).await?;
    }
    memory.bootstrap_small =
        usage::memory(lambda.process.pid()).ok_or("no smaps_rollup for the bootstrap")?;
    for (i, n) in &plan {
        lambda.batch(&workloads[*i], *n).await?;
    }
    let tree = lambda.process.tree();
    memory.bootstrap =
        usage::memory(lambda.process.pid()).ok_or("no smaps_rollup for the bootstrap")?;
    if std::env::var_os("LAMBDA_FPM_BENCH_VERBOSE").is_some() {
        let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", lambda.process.pid()))
            .unwrap_or_default();
        let mut name = String::new();
        for line in smaps.lines() {
            if line
                .split_whitespace()
                .next()
                .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
            {
                name = line
                    .split_whitespace()
                    .nth(5)
                    .unwrap_or("[anon]")
                    .to_owned();
            } else if let Some(rss) = line.strip_prefix("Rss:") {
                let kb: u64 = rss
                    .trim()
                    .trim_end_matches(" kB")
                    .trim()
                    .parse()
                    .unwrap_or(0);
                if kb >= 256 {
                    println!("bootstrap mapping {name}: {kb} kB");
                }
            }
        }
    }
    memory.tree = usage::memory_sum(&tree);
    memory.tree_len = tree.len();
    if !quick {
        const GROWTH_INVOCATIONS: usize = 100_000;
        let before = memory.bootstrap.0;
        let tree_before = memory.tree.0;
        for _ in 0..GROWTH_INVOCATIONS / 10_000 {
            lambda.batch(&workloads[0], 10_000).await?;
        }
        let after = usage::memory(lambda.process.pid()).map_or(0, |m| m.0);
        let tree_after = usage::memory_sum(&lambda.process.tree()).0;
        memory.growth = Some((
            GROWTH_INVOCATIONS,
            after as i64 - before as i64,
            tree_after as i64 - tree_before as i64,
        ));
    }
    drop(lambda);

    let fpm = PhpFpm::start(app, php_fpm).map_err(io("floor php-fpm"))?;
    let mut client = WireClient::new(fpm.connect().map_err(io("floor connect"))?);
    for (i, n) in &plan {
        for _ in 0..*n {
            client.execute(&requests[*i]).await.map_err(io("floor"))?;
        }
    }
    let tree = fpm.tree();
    memory.floor_tree = usage::memory_sum(&tree);
    memory.floor_tree_len = tree.len();
    Ok(memory)
}
