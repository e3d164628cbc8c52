//! The invocation loop: `/next` → the handler → `/response` or `/error`, forever. One loop per allowed
//! concurrent invocation (one on classic Lambda). The handler is a parameter (the app in production),
//! so the loop knows nothing of HTTP or php-fpm.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use http::StatusCode;

use super::diagnostic::Diagnostic;
use super::heap::HeapKeeper;
use super::runtime_api::{ApiError, RuntimeApi};
use super::InvocationInfo;
use crate::body::BodyStream;

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

/// What the handler answers an event with; the loop posts it.
pub enum Reply {
    /// The whole response JSON, posted to `/response`.
    Buffered(Vec<u8>),
    /// A streamed HTTP response: `head` (the JSON prelude, the 8 NUL bytes and the body's first part),
    /// then `rest` piece by piece as it is produced. A failure after the first byte ends the stream
    /// with Lambda's error trailers.
    Streamed {
        head: Bytes,
        rest: Option<BodyStream>,
    },
    /// The invocation failed: posted to `/error`.
    Failed(Diagnostic),
}

/// Serves invocations until the Runtime API says to stop or cannot be reached. `handler` turns an event
/// into its [`Reply`].
pub async fn run<H, F>(handler: H, mut api: RuntimeApi) -> Result<(), LoopError>
where
    H: Fn(Bytes, InvocationInfo) -> F,
    F: Future<Output = Reply>,
{
    let mut failures = 0u32;
    let mut heap = HeapKeeper::default();
    loop {
        let next = match api.next().await {
            Ok(next) => {
                failures = 0;
                next
            }
            // The Runtime API answers /next with 500 when the runtime must exit.
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
        let event_len = next.event.len();
        // A bug's panic becomes an /error post instead of a dead runtime. Caught in place rather than by
        // spawning a task per invocation (2 µs of a 50 µs hello world): everything the handler holds is
        // dropped on unwind, and the app's shared state has no invariants a half-done request can break.
        let handled = AssertUnwindSafe(handler(next.event, next.info))
            .catch_unwind()
            .await;
        let reply = handled.unwrap_or_else(|panic| {
            Reply::Failed(Diagnostic::new(
                "Runtime.InternalError",
                format!(
                    "the runtime failed while handling the event: {}",
                    panic_message(&*panic)
                ),
            ))
        });
        let moved = event_len.saturating_add(reply.len());
        post(&mut api, &request_id, reply).await;
        // After the post, so the response does not wait for it.
        heap.after_invocation(moved);
    }
}

impl Reply {
    /// The bytes it carries; `usize::MAX` for a stream, whose size is unknown up front.
    fn len(&self) -> usize {
        match self {
            Reply::Buffered(json) => json.len(),
            Reply::Streamed { .. } => usize::MAX,
            Reply::Failed(_) => 0,
        }
    }
}

/// Posts a reply; what goes wrong is logged, and the loop goes on with the next event.
async fn post(api: &mut RuntimeApi, request_id: &str, reply: Reply) {
    let posted = match reply {
        Reply::Buffered(json) => api.respond(request_id, json.into()).await,
        Reply::Failed(diagnostic) => {
            tracing::error!(requestId = %request_id, errorType = %diagnostic.error_type, "{}", diagnostic.error_message);
            api.fail(request_id, &diagnostic).await
        }
        Reply::Streamed { head, rest } => {
            // The body is produced while it is posted: a panic there is caught here too.
            let streamed = AssertUnwindSafe(api.respond_streaming(request_id, head, rest))
                .catch_unwind()
                .await;
            match streamed {
                Ok(Ok(Some(cut))) => {
                    tracing::error!(requestId = %request_id, errorType = %cut.error_type(), "the streamed response was cut: {cut}");
                    Ok(())
                }
                Ok(Ok(None)) => Ok(()),
                Ok(Err(e)) => Err(e),
                Err(panic) => {
                    tracing::error!(requestId = %request_id, "the runtime failed while streaming: {}", panic_message(&*panic));
                    Ok(())
                }
            }
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

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::runtime_api::Endpoint;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Reads one HTTP/1.1 request (head + Content-Length body) from a kept-alive connection.
    async fn read_request(
        stream: &mut tokio::net::TcpStream,
        buf: &mut Vec<u8>,
    ) -> (String, String) {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().to_owned())
                    })
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                while buf.len() < end + 4 + length {
                    let mut chunk = [0u8; 4096];
                    let n = stream.read(&mut chunk).await.expect("read");
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned();
                buf.drain(..end + 4 + length);
                return (head, body);
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the runtime closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_is_reported_and_the_loop_goes_on() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("addr").to_string();
        let api = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut buf = Vec::new();
            let mut seen = Vec::new();
            for (id, event) in [("panics", "{}"), ("works", "{}")] {
                let (head, _) = read_request(&mut stream, &mut buf).await;
                assert!(
                    head.starts_with("GET /2018-06-01/runtime/invocation/next "),
                    "{head}"
                );
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nContent-Length: {}\r\n\r\n{event}",
                    event.len()
                );
                stream.write_all(answer.as_bytes()).await.expect("write");
                let (head, body) = read_request(&mut stream, &mut buf).await;
                seen.push((
                    head.lines().next().unwrap_or_default().to_owned(),
                    head,
                    body,
                ));
                stream
                    .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                    .await
                    .expect("write");
            }
            // Then tell the runtime to exit, as Lambda does.
            let _ = read_request(&mut stream, &mut buf).await;
            stream
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
                .await
                .expect("write");
            seen
        });
        let handler = |_event: Bytes, info: InvocationInfo| async move {
            if info.request_id == "panics" {
                panic!("a bug in the handler");
            }
            Reply::Buffered(b"{\"statusCode\":200}".to_vec())
        };
        let api_client = RuntimeApi::new(Endpoint::parse(&address).expect("endpoint"));
        let ended = tokio::time::timeout(Duration::from_secs(10), run(handler, api_client))
            .await
            .expect("ends");
        assert!(matches!(ended, Err(LoopError::Exit(_))), "{ended:?}");
        let seen = api.await.expect("api");
        assert_eq!(
            seen[0].0,
            "POST /2018-06-01/runtime/invocation/panics/error HTTP/1.1"
        );
        assert!(seen[0]
            .1
            .to_ascii_lowercase()
            .contains("lambda-runtime-function-error-type: runtime.internalerror"));
        assert!(seen[0].2.contains("a bug in the handler"), "{}", seen[0].2);
        assert_eq!(
            seen[1].0,
            "POST /2018-06-01/runtime/invocation/works/response HTTP/1.1"
        );
        assert_eq!(seen[1].2, "{\"statusCode\":200}");
    }
}
