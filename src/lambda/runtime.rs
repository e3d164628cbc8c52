//! The invocation loop: `/next` → the handler → `/response` or `/error`, forever. One loop per allowed
//! concurrent invocation (one on classic Lambda). The handler is a parameter (the app in production),
//! so the loop knows nothing of HTTP or php-fpm.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;

use super::diagnostic::Diagnostic;
use super::runtime_api::{ApiError, RuntimeApi};
use super::InvocationInfo;

/// Why the loop ended: the process should exit non-zero.
#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    #[error("the Runtime API asked the runtime to exit: {0}")]
    Exit(ApiError),
    #[error("the Runtime API is unreachable: {0}")]
    Unreachable(ApiError),
}

/// Consecutive failures to reach `/next` before giving up (Lambda then starts a fresh sandbox).
const MAX_NEXT_FAILURES: u32 = 20;

/// Serves invocations until the Runtime API says to stop or cannot be reached. `handler` turns an event
/// into the response JSON or the error to report.
pub async fn run<H, F>(handler: H, mut api: RuntimeApi) -> Result<(), LoopError>
where
    H: Fn(Bytes, InvocationInfo) -> F,
    F: Future<Output = Result<Vec<u8>, Diagnostic>> + Send + 'static,
{
    let mut failures = 0u32;
    loop {
        let next = match api.next().await {
            Ok(next) => {
                failures = 0;
                next
            }
            // The Runtime API answers 500 when the runtime must exit (FACTS §1).
            Err(
                e @ ApiError::Status {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    ..
                },
            ) => return Err(LoopError::Exit(e)),
            Err(e) => {
                failures += 1;
                if failures >= MAX_NEXT_FAILURES {
                    return Err(LoopError::Unreachable(e));
                }
                tracing::warn!("GET /next failed ({failures}/{MAX_NEXT_FAILURES}): {e}");
                tokio::time::sleep(Duration::from_millis(10 * u64::from(failures))).await;
                continue;
            }
        };
        let request_id = next.info.request_id.clone();
        // A spawned task turns a bug's panic into an /error post instead of a dead runtime.
        let handled = tokio::spawn(handler(next.event, next.info)).await;
        let outcome = handled.unwrap_or_else(|panic| {
            Err(Diagnostic::new(
                "Runtime.InternalError",
                format!("the runtime failed while handling the event: {panic}"),
            ))
        });
        let posted = match outcome {
            Ok(json) => api.respond(&request_id, json.into()).await,
            Err(diagnostic) => {
                tracing::error!(requestId = %request_id, errorType = %diagnostic.error_type, "{}", diagnostic.error_message);
                api.fail(&request_id, &diagnostic).await
            }
        };
        match posted {
            Ok(()) => {}
            Err(ApiError::Status {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                ..
            }) => {
                tracing::error!(requestId = %request_id, "Lambda refused the response as too large (413)");
            }
            Err(e) => tracing::error!(requestId = %request_id, "posting the result failed: {e}"),
        }
    }
}
