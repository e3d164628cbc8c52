//! What happens between php-fpm being ready and the first `/next`: the warm-up requests, and with
//! SnapStart the wait for the snapshot and the work after each restore.
//!
//! The SnapStart sequence for a custom runtime (AWS, "Implementing SnapStart hooks for container
//! images", and the Runtime API reference's "Restore next" / "Restore error"; AWS's own runtime
//! interface clients do the same): after init the runtime calls `GET /runtime/restore/next`; Lambda
//! takes the snapshot while the call is pending, and in each environment restored from it the call
//! returns 200. The runtime then does its after-restore work and calls `/runtime/invocation/next`; if
//! that work fails it posts `/runtime/restore/error` (the `/init/error` body, type
//! `Runtime.AfterRestoreError`) instead.

use std::time::{Duration, Instant};

use crate::app::App;
use crate::config::InitType;
use crate::lambda::diagnostic::Diagnostic;
use crate::lambda::runtime_api::{ApiError, Endpoint, RuntimeApi};
use crate::lambda::InvocationInfo;
use crate::message::{Header, HttpRequest};
use crate::php_fpm::FpmError;

/// How long php-fpm may take to replace its workers after a restore: the master forks each in about
/// a millisecond, so this only bounds a php-fpm that is stuck.
const RENEW_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the runtime cannot serve after a restore: it exits, and Lambda discards the environment.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("waiting for the SnapStart restore failed: {0}")]
    RestoreNext(ApiError),
    #[error("the work after the SnapStart restore failed: {0}")]
    AfterRestore(FpmError),
}

/// Runs the init steps the initialization type calls for, just before the first `/next`: the
/// warm-up requests (only when no request waits for init), then, with SnapStart, the snapshot and the
/// restore.
pub async fn before_first_next(
    app: &App,
    endpoint: &Endpoint,
    init_type: &InitType,
    warmup: &[String],
) -> Result<(), LifecycleError> {
    if let InitType::Other(unknown) = init_type {
        tracing::info!(
            "AWS_LAMBDA_INITIALIZATION_TYPE={unknown:?} is not one this version knows: no warm-up, no snapshot"
        );
    }
    if !warmup.is_empty() {
        if init_type.warms_up() {
            warm_up(app, warmup).await;
        } else {
            // On-demand init is billed, limited to 10 s, and a client is waiting for it to end.
            tracing::info!(
                "LAMBDA_FPM_WARMUP is not requested: this environment's initialization type is not provisioned-concurrency or snap-start"
            );
        }
    }
    if *init_type == InitType::SnapStart {
        snapshot_and_restore(app, endpoint).await?;
    }
    Ok(())
}

/// Requests each target through the app, as an invocation would, and discards the answers: opcache
/// compiles the scripts, and the app builds its caches, before the first real request (and before
/// the snapshot, with SnapStart). A failed warm-up is logged, never fatal: the app may still serve.
async fn warm_up(app: &App, targets: &[String]) {
    for (i, target) in targets.iter().enumerate() {
        let request = warmup_request(target);
        let info = InvocationInfo {
            request_id: format!("warm-up-{}", i + 1),
            ..InvocationInfo::default()
        };
        let started = Instant::now();
        let answer = app
            .handle_request(&request, None, &info, crate::compress::Choice::Off)
            .await;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        match answer {
            Ok(response) if response.status < 500 => {
                tracing::info!("warm-up GET {target}: {} in {ms:.1} ms", response.status)
            }
            Ok(response) => {
                tracing::warn!("warm-up GET {target}: {} in {ms:.1} ms", response.status)
            }
            Err(e) => tracing::warn!("warm-up GET {target} failed after {ms:.1} ms: {e}"),
        }
    }
}

/// A warm-up target (`/path?query`) as the request a browser would send. Pure.
fn warmup_request(target: &str) -> HttpRequest {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    HttpRequest {
        method: "GET".into(),
        path: path.into(),
        query: query.into(),
        headers: vec![
            Header::new("Host", "localhost"),
            Header::new("User-Agent", "lambda-fpm warm-up"),
        ],
        protocol: "HTTP/1.1".into(),
        ..HttpRequest::default()
    }
}

/// Waits for the snapshot, then makes this copy of the environment its own: new php-fpm workers, new
/// connections (php-fpm and the Runtime API), and no back-off or connection age carried over from the
/// clock before the snapshot.
async fn snapshot_and_restore(app: &App, endpoint: &Endpoint) -> Result<(), LifecycleError> {
    let mut api = RuntimeApi::new(endpoint.clone());
    tracing::info!("SnapStart: init done, waiting for the snapshot (GET /runtime/restore/next)");
    api.restore_next()
        .await
        .map_err(LifecycleError::RestoreNext)?;
    let started = Instant::now();
    match app.backend.renew_workers(RENEW_TIMEOUT).await {
        Ok(workers) => {
            let pids: Vec<i32> = workers.iter().map(|w| w.pid).collect();
            tracing::info!(
                "SnapStart: restored in {:.1} ms: new php-fpm workers {pids:?}, connections reopened",
                started.elapsed().as_secs_f64() * 1e3
            );
            Ok(())
        }
        Err(e) => {
            let error = LifecycleError::AfterRestore(e);
            tracing::error!("{error}");
            let diagnostic = Diagnostic::new("Runtime.AfterRestoreError", error.to_string());
            if let Err(post) = api.restore_error(&diagnostic).await {
                tracing::error!("reporting the restore error failed: {post}");
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_targets_become_plain_get_requests() {
        let r = warmup_request("/login");
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/login"));
        assert_eq!(r.query, "");
        assert!(r.body.is_empty());
        assert_eq!(r.header_str("host"), Some("localhost"));
        assert_eq!(r.header_str("user-agent"), Some("lambda-fpm warm-up"));
        assert_eq!(r.client_ip, None);
        let r = warmup_request("/api/ping?warm=1&x=%20");
        assert_eq!(r.path, "/api/ping");
        assert_eq!(r.query, "warm=1&x=%20");
    }
}
