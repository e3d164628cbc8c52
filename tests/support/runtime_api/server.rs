//! The emulator's HTTP side: one hyper service answering the Runtime API's routes from the shared state.
//!
//! `GET /next` long-polls the queue; `POST /response` and `/error` read the body frame by frame
//! (`posted`: a chunked, streamed body and its trailers recorded as they arrive) and complete the
//! invocation.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Notify};

use super::outcome::{Invocation, Outcome, Posted};
use super::posted::{parse_body, read_posted};
use super::snapshot::{self, Snapshot};
use super::{FUNCTION_ARN, MAX_RESPONSE_BYTES, MAX_STREAMED_BYTES};

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How many requests the diagnostic log keeps (the oldest are dropped).
const LOG_CAPACITY: usize = 1_000;

/// When and with which deadline GET /next handed an event over.
#[derive(Clone, Copy)]
pub(super) struct Delivered {
    pub at: Instant,
    pub deadline: Instant,
    pub deadline_ms: u64,
}

/// Who learns about an invocation's answer.
pub(super) enum Reply {
    /// `RuntimeApi::invoke*`: the caller waits on these.
    Waiter {
        on_delivered: Option<oneshot::Sender<Delivered>>,
        on_answer: oneshot::Sender<Invocation>,
    },
    /// `RuntimeApi::enqueue`: the answer goes to the emulator's answer channel.
    Queue,
}

/// One queued or delivered invocation, until it is answered.
pub(super) struct Slot {
    /// The event; emptied once delivered.
    pub event: Bytes,
    pub timeout: Duration,
    pub trace_id: String,
    /// Sent as `Lambda-Runtime-Aws-Tenant-Id` when set.
    pub tenant_id: Option<String>,
    pub delivered: Option<Delivered>,
    pub reply: Reply,
}

#[derive(Default)]
pub(super) struct Faults {
    /// Statuses for the next /response calls (one per call).
    pub response_status: VecDeque<u16>,
    /// Number of upcoming /next calls answered 500.
    pub next_500: usize,
    /// Number of upcoming /next calls whose connection is closed without an answer.
    pub next_close: usize,
    /// Delay added before answering every /next.
    pub next_delay: Option<Duration>,
    /// Number of upcoming POST /response calls whose connection is closed without an answer (the
    /// invocation is recorded as `Outcome::Rejected { status: 0 }`).
    pub response_close: usize,
    /// The next POST /response has its connection closed once this many body bytes arrived (a client
    /// that goes away in the middle of a stream); recorded as `Outcome::Rejected { status: 0 }`.
    pub response_cut_after: Option<usize>,
    /// Delay added before answering every POST /response and /error.
    pub answer_delay: Option<Duration>,
}

#[derive(Default)]
pub(super) struct State {
    pub queue: VecDeque<String>,
    /// Invocations not answered yet, by request id. An answered one is removed, so a second answer for
    /// the same id is refused (400) like an unknown id.
    pub slots: HashMap<String, Slot>,
    pub init_error: Option<(String, Value)>,
    pub faults: Faults,
    /// The last requests received: "METHOD path -> status".
    pub log: VecDeque<String>,
    pub first_next: Option<Instant>,
    /// Bodies are kept up to this many bytes; past it they are only counted (None: kept whole).
    pub keep_body: Option<usize>,
}

pub(super) struct Shared {
    pub state: Mutex<State>,
    pub queued: Notify,
    pub next_calls: AtomicUsize,
    /// POST /response and /error requests received, whatever their answer.
    pub answers_posted: AtomicUsize,
    /// Of those, the ones refused with 400 (unknown or already answered request id).
    pub answers_refused: AtomicUsize,
    /// Where answers of `Reply::Queue` invocations go.
    pub answers: mpsc::UnboundedSender<Invocation>,
    /// SnapStart: the pending `/restore/next`, the restores and the connections they made stale.
    pub snapshot: Snapshot,
}

pub(super) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub(super) fn reply(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

fn error_json(kind: &str, msg: &str) -> Bytes {
    Bytes::from(serde_json::json!({"errorType": kind, "errorMessage": msg}).to_string())
}

/// The hyper service of a connection opened in connection epoch `epoch`: routes one request and logs
/// it. A request on a connection from before the last restore is logged and never answered.
pub(super) async fn handle(
    shared: Arc<Shared>,
    epoch: u64,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if !shared.snapshot.admits(epoch) {
        log(
            &shared,
            format!("{method} {path} -> no answer: a connection from before the restore"),
        );
        return std::future::pending().await;
    }
    let result = route(&shared, req).await;
    let status = match &result {
        Ok(r) => r.status().as_u16().to_string(),
        Err(_) => "closed".to_string(),
    };
    log(&shared, format!("{method} {path} -> {status}"));
    result
}

fn log(shared: &Shared, line: String) {
    let mut st = lock(shared);
    if st.log.len() == LOG_CAPACITY {
        st.log.pop_front();
    }
    st.log.push_back(line);
}

async fn route(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return Ok(reply(404, error_json("NotFound", "unknown path")));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    match (req.method(), segments.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next(shared).await,
        (&Method::GET, ["restore", "next"]) => snapshot::restore_next(shared).await,
        (&Method::POST, ["restore", "error"]) => snapshot::restore_error(shared, req).await,
        (&Method::POST, ["invocation", id, "response"]) => {
            let id = id.to_string();
            post_response(shared, &id, req).await
        }
        (&Method::POST, ["invocation", id, "error"]) => {
            shared.answers_posted.fetch_add(1, Ordering::SeqCst);
            let id = id.to_string();
            let (body, posted) = read_posted(req, usize::MAX, None).await?;
            let answered_at = Instant::now();
            let error_type = posted
                .header("lambda-runtime-function-error-type")
                .map(str::to_string);
            let body = parse_body(&body);
            answer_delay(shared).await;
            Ok(answer(shared, &id, answered_at, posted, |_| {
                (202, Outcome::Error { error_type, body })
            }))
        }
        (&Method::POST, ["init", "error"]) => {
            let (body, posted) = read_posted(req, usize::MAX, None).await?;
            let error_type = posted
                .header("lambda-runtime-function-error-type")
                .unwrap_or_default()
                .to_string();
            lock(shared).init_error = Some((error_type, parse_body(&body)));
            Ok(reply(202, r#"{"status":"OK"}"#))
        }
        _ => Ok(reply(
            404,
            error_json("NotFound", "unknown runtime API call"),
        )),
    }
}

/// `POST /invocation/{id}/response`: the body read (cut, or the connection closed, when a fault says
/// so), then the invocation completed: 202, an injected status, or 413 over the mode's limit.
async fn post_response(
    shared: &Arc<Shared>,
    id: &str,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    shared.answers_posted.fetch_add(1, Ordering::SeqCst);
    let cut_after = lock(shared).faults.response_cut_after.take();
    let keep = lock(shared).keep_body.unwrap_or(usize::MAX);
    let (body, posted) = read_posted(req, keep, cut_after).await?;
    let answered_at = Instant::now();
    if cut_after.is_some_and(|n| posted.body_len >= n) {
        let body_len = posted.body_len;
        let _ = answer(shared, id, answered_at, posted, |_| {
            (
                0,
                Outcome::Rejected {
                    status: 0,
                    body_len,
                },
            )
        });
        return Err("connection closed mid-body by fault injection".into());
    }
    answer_delay(shared).await;
    let close = {
        let mut st = lock(shared);
        let close = st.faults.response_close > 0;
        if close {
            st.faults.response_close -= 1;
        }
        close
    };
    let body_len = posted.body_len;
    if close {
        let _ = answer(shared, id, answered_at, posted, |_| {
            let status = 0;
            (status, Outcome::Rejected { status, body_len })
        });
        return Err("connection closed by fault injection".into());
    }
    let limit = if posted.response_mode() == Some("streaming") {
        MAX_STREAMED_BYTES
    } else {
        MAX_RESPONSE_BYTES
    };
    Ok(answer(shared, id, answered_at, posted, |faults| {
        if let Some(status) = faults.response_status.pop_front() {
            (status, Outcome::Rejected { status, body_len })
        } else if body_len > limit {
            let status = 413;
            (status, Outcome::Rejected { status, body_len })
        } else {
            (202, Outcome::Response(body))
        }
    }))
}

async fn answer_delay(shared: &Arc<Shared>) {
    let delay = lock(shared).faults.answer_delay;
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
}

/// Completes invocation `id` with what `decide` returns (status for the runtime, outcome for the test);
/// an id that is unknown, not delivered yet or already answered gets 400.
fn answer(
    shared: &Arc<Shared>,
    id: &str,
    answered_at: Instant,
    posted: Posted,
    decide: impl FnOnce(&mut Faults) -> (u16, Outcome),
) -> Response<Full<Bytes>> {
    let mut st = lock(shared);
    let delivered = st.slots.get(id).and_then(|slot| slot.delivered);
    let (Some(delivered), Some(slot)) = (delivered, st.slots.remove(id)) else {
        drop(st);
        shared.answers_refused.fetch_add(1, Ordering::SeqCst);
        return reply(
            400,
            error_json("InvalidRequestID", "unknown or already answered request id"),
        );
    };
    let (status, outcome) = decide(&mut st.faults);
    drop(st);
    let invocation = Invocation {
        request_id: id.to_string(),
        trace_id: slot.trace_id,
        deadline_ms: delivered.deadline_ms,
        delivered_at: delivered.at,
        deadline: delivered.deadline,
        answered_at,
        outcome,
        posted,
    };
    match slot.reply {
        Reply::Waiter { on_answer, .. } => {
            let _ = on_answer.send(invocation);
        }
        Reply::Queue => {
            let _ = shared.answers.send(invocation);
        }
    }
    let body: Bytes = match status {
        202 => Bytes::from_static(br#"{"status":"OK"}"#),
        413 => error_json("RequestEntityTooLarge", "response payload too large"),
        _ => error_json("InjectedFault", "fault injected by the test"),
    };
    reply(status, body)
}

async fn next(shared: &Arc<Shared>) -> Result<Response<Full<Bytes>>, BoxError> {
    shared.next_calls.fetch_add(1, Ordering::SeqCst);
    shared.snapshot.note_next();
    let delay = {
        let mut st = lock(shared);
        st.first_next.get_or_insert_with(Instant::now);
        if st.faults.next_close > 0 {
            st.faults.next_close -= 1;
            return Err("connection closed by fault injection".into());
        }
        if st.faults.next_500 > 0 {
            st.faults.next_500 -= 1;
            return Ok(reply(
                500,
                error_json("ServiceException", "injected /next failure"),
            ));
        }
        st.faults.next_delay
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    loop {
        // Notify::notify_one stores a permit when nobody waits, so an event queued between the check and
        // the await is not missed.
        if let Some(resp) = deliver(shared)? {
            return Ok(resp);
        }
        shared.queued.notified().await;
    }
}

/// Hands the next queued event over, if there is one.
fn deliver(shared: &Arc<Shared>) -> Result<Option<Response<Full<Bytes>>>, BoxError> {
    let mut st = lock(shared);
    let Some(id) = st.queue.pop_front() else {
        return Ok(None);
    };
    let Some(slot) = st.slots.get_mut(&id) else {
        return Err(format!("queued invocation {id} has no slot").into());
    };
    let at = Instant::now();
    let delivered = Delivered {
        at,
        deadline: at + slot.timeout,
        deadline_ms: now_ms() + slot.timeout.as_millis() as u64,
    };
    slot.delivered = Some(delivered);
    if let Reply::Waiter { on_delivered, .. } = &mut slot.reply {
        if let Some(tx) = on_delivered.take() {
            let _ = tx.send(delivered);
        }
    }
    let event = std::mem::take(&mut slot.event);
    let trace_id = slot.trace_id.parse()?;
    let tenant_id = slot.tenant_id.as_deref().map(str::parse).transpose()?;
    drop(st);
    let mut resp = reply(200, event);
    let h = resp.headers_mut();
    h.insert("lambda-runtime-aws-request-id", id.parse()?);
    h.insert(
        "lambda-runtime-deadline-ms",
        delivered.deadline_ms.to_string().parse()?,
    );
    h.insert(
        "lambda-runtime-invoked-function-arn",
        http::HeaderValue::from_static(FUNCTION_ARN),
    );
    h.insert("lambda-runtime-trace-id", trace_id);
    if let Some(tenant_id) = tenant_id {
        h.insert("lambda-runtime-aws-tenant-id", tenant_id);
    }
    Ok(Some(resp))
}
