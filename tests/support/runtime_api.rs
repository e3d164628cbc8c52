//! A local Lambda Runtime API emulator speaking the real protocol (FACTS §1).
//!
//! hyper 1 server on 127.0.0.1:0, HTTP/1.1 with keep-alive. Tests queue events with `invoke*` and get the
//! runtime's answer back as an [`Outcome`]. Fault-injection knobs make the next calls misbehave so the
//! reliability tests can check how the bootstrap copes.

use std::collections::{HashMap, VecDeque};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};

/// The function ARN every invocation carries.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:test";
/// Lambda's buffered response limit: 6 MiB + 100 bytes of JSON.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;
/// How long `invoke` waits for the runtime to pick an event up with GET /next (covers init).
pub const PICKUP_TIMEOUT: Duration = Duration::from_secs(30);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the runtime answered for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// POST /response (accepted, 202).
    Response(Vec<u8>),
    /// POST /error (202): the `Lambda-Runtime-Function-Error-Type` header and the body (JSON, or a JSON
    /// string holding the raw text when the body was not JSON).
    Error {
        error_type: Option<String>,
        body: Value,
    },
    /// POST /response that the emulator refused: 413 (over the size limit) or an injected status.
    Rejected { status: u16, body_len: usize },
}

impl Outcome {
    /// The response body parsed as JSON; panics unless this is a `Response` holding valid JSON.
    pub fn json(&self) -> Value {
        match self {
            Outcome::Response(bytes) => serde_json::from_slice(bytes).unwrap_or_else(|e| {
                panic!(
                    "the runtime's /response body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(2000)])
                )
            }),
            other => panic!("expected a /response, got {}", other.describe()),
        }
    }

    /// The raw response bytes; panics unless this is a `Response`.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Outcome::Response(bytes) => bytes,
            other => panic!("expected a /response, got {}", other.describe()),
        }
    }

    /// `(error type header, body)`; panics unless this is an `Error`.
    pub fn error(&self) -> (Option<&str>, &Value) {
        match self {
            Outcome::Error { error_type, body } => (error_type.as_deref(), body),
            other => panic!("expected an /error, got {}", other.describe()),
        }
    }

    pub fn is_response(&self) -> bool {
        matches!(self, Outcome::Response(_))
    }

    /// A short human description for panic messages.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Response(b) => format!(
                "/response ({} bytes): {}",
                b.len(),
                String::from_utf8_lossy(&b[..b.len().min(1500)])
            ),
            Outcome::Error { error_type, body } => format!("/error (type {error_type:?}): {body}"),
            Outcome::Rejected { status, body_len } => {
                format!("/response refused with {status} ({body_len} bytes)")
            }
        }
    }
}

/// One finished invocation with its timing and the ids the emulator handed out.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub trace_id: String,
    /// The `Lambda-Runtime-Deadline-Ms` value sent with the event (Unix epoch ms).
    pub deadline_ms: u64,
    /// When GET /next delivered the event.
    pub delivered_at: Instant,
    /// The same deadline as an `Instant`.
    pub deadline: Instant,
    /// When the answer (/response, /error) arrived.
    pub answered_at: Instant,
    pub outcome: Outcome,
}

impl Invocation {
    /// Time from delivery to answer.
    pub fn elapsed(&self) -> Duration {
        self.answered_at.duration_since(self.delivered_at)
    }
}

struct Delivered {
    at: Instant,
    deadline: Instant,
    deadline_ms: u64,
}

struct Slot {
    event: Bytes,
    timeout: Duration,
    trace_id: String,
    delivered: bool,
    on_delivered: Option<oneshot::Sender<Delivered>>,
    on_answer: Option<oneshot::Sender<(Outcome, Instant)>>,
}

#[derive(Default)]
struct Faults {
    /// Statuses for the next /response calls (one per call).
    response_status: VecDeque<u16>,
    /// Number of upcoming /next calls answered 500.
    next_500: usize,
    /// Number of upcoming /next calls whose connection is closed without an answer.
    next_close: usize,
    /// Delay added before answering every /next.
    next_delay: Option<Duration>,
    /// Number of upcoming POST /response calls whose connection is closed without an answer (the
    /// invocation is recorded as `Outcome::Rejected { status: 0 }`).
    response_close: usize,
    /// Delay added before answering every POST /response and /error.
    answer_delay: Option<Duration>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    slots: HashMap<String, Slot>,
    init_error: Option<(String, Value)>,
    faults: Faults,
    /// Every request received: "METHOD path -> status".
    log: Vec<String>,
}

struct Shared {
    state: Mutex<State>,
    queued: Notify,
    next_calls: AtomicUsize,
    counter: AtomicUsize,
}

/// The emulator. Dropping it stops the listener.
pub struct RuntimeApi {
    addr: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(|p| p.into_inner())
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Runtime API emulator");
        let addr = listener.local_addr().expect("local addr").to_string();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            queued: Notify::new(),
            next_calls: AtomicUsize::new(0),
            counter: AtomicUsize::new(0),
        });
        let accept_shared = shared.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(shared.clone(), req));
                    let _ = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        RuntimeApi {
            addr,
            shared,
            server,
        }
    }

    /// `127.0.0.1:PORT`, the value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.clone()
    }

    /// How many GET /next calls arrived so far (≥ 1 means the runtime finished init).
    pub fn next_calls(&self) -> usize {
        self.shared.next_calls.load(Ordering::SeqCst)
    }

    /// Every request received so far, as "METHOD path -> status" (for diagnostics).
    pub fn request_log(&self) -> Vec<String> {
        lock(&self.shared).log.clone()
    }

    /// Waits until the runtime has called GET /next at least `n` times.
    pub async fn wait_next_calls(&self, n: usize, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.next_calls() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.next_calls() >= n
    }

    /// Sends one event with the default 30 s deadline and returns the runtime's answer.
    pub async fn invoke(&self, event: impl Into<Vec<u8>>) -> Outcome {
        self.invoke_with(event, Duration::from_secs(30)).await
    }

    /// Sends one event with the given deadline (counted from delivery) and returns the answer.
    pub async fn invoke_with(&self, event: impl Into<Vec<u8>>, timeout: Duration) -> Outcome {
        self.invoke_detailed(event, timeout).await.outcome
    }

    /// Like `invoke_with`, with the ids and timings of the invocation.
    pub async fn invoke_detailed(
        &self,
        event: impl Into<Vec<u8>>,
        timeout: Duration,
    ) -> Invocation {
        let n = self.shared.counter.fetch_add(1, Ordering::SeqCst) as u64;
        let salt = now_ms() & 0xffff_ffff;
        let request_id = format!("8476a536-e9f4-11e8-9739-{:04x}{:08x}", n & 0xffff, salt);
        let trace_id = format!(
            "Root=1-5759e988-bd862e3fe1be46a9{:08x};Parent=53995c3f42cd8ad8;Sampled=1",
            (salt as u32) ^ (n as u32)
        );
        let (tx_delivered, rx_delivered) = oneshot::channel();
        let (tx_answer, rx_answer) = oneshot::channel();
        {
            let mut st = lock(&self.shared);
            st.slots.insert(
                request_id.clone(),
                Slot {
                    event: Bytes::from(event.into()),
                    timeout,
                    trace_id: trace_id.clone(),
                    delivered: false,
                    on_delivered: Some(tx_delivered),
                    on_answer: Some(tx_answer),
                },
            );
            st.queue.push_back(request_id.clone());
        }
        self.shared.queued.notify_one();

        let delivered = match tokio::time::timeout(PICKUP_TIMEOUT, rx_delivered).await {
            Ok(Ok(d)) => d,
            _ => panic!(
                "the runtime never fetched invocation {request_id} with GET /next within {PICKUP_TIMEOUT:?} \
                 (GET /next calls so far: {}; requests: {:?})",
                self.next_calls(),
                self.request_log()
            ),
        };
        let wait =
            delivered.deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(5);
        let (outcome, answered_at) = match tokio::time::timeout(wait, rx_answer).await {
            Ok(Ok(a)) => a,
            _ => panic!(
                "no answer (/response or /error) for invocation {request_id} within its deadline ({timeout:?}) + 5 s \
                 (requests: {:?})",
                self.request_log()
            ),
        };
        Invocation {
            request_id,
            trace_id,
            deadline_ms: delivered.deadline_ms,
            delivered_at: delivered.at,
            deadline: delivered.deadline,
            answered_at,
            outcome,
        }
    }

    /// Waits up to `timeout` for POST /runtime/init/error; returns (error type header, body).
    pub async fn init_error(&self, timeout: Duration) -> Option<(String, Value)> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(e) = lock(&self.shared).init_error.clone() {
                return Some(e);
            }
            if Instant::now() >= end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    // ----- fault injection -------------------------------------------------------------------------

    /// The next POST /response is answered with `status` (e.g. 413 or 500) instead of 202.
    pub fn fail_next_response(&self, status: u16) {
        lock(&self.shared).faults.response_status.push_back(status);
    }

    /// The next GET /next is answered 500 (which tells a runtime to exit).
    pub fn fail_next_next(&self) {
        lock(&self.shared).faults.next_500 += 1;
    }

    /// The next GET /next gets its connection closed without an answer.
    pub fn close_next_next(&self) {
        lock(&self.shared).faults.next_close += 1;
    }

    /// The next POST /response gets its connection closed without an answer; the invocation is recorded
    /// as `Outcome::Rejected { status: 0 }`.
    pub fn close_next_response(&self) {
        lock(&self.shared).faults.response_close += 1;
    }

    /// Every POST /response and /error waits `delay` before it is answered (None: no delay).
    pub fn delay_answers(&self, delay: Option<Duration>) {
        lock(&self.shared).faults.answer_delay = delay;
    }

    /// Every GET /next waits `delay` before it starts waiting for an event (None: no delay).
    pub fn delay_next(&self, delay: Option<Duration>) {
        lock(&self.shared).faults.next_delay = delay;
    }
}

fn reply(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
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

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let result = route(&shared, req).await;
    let status = match &result {
        Ok(r) => r.status().as_u16().to_string(),
        Err(_) => "closed".to_string(),
    };
    lock(&shared)
        .log
        .push(format!("{method} {path} -> {status}"));
    result
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
        (&Method::POST, ["invocation", id, "response"]) => {
            let id = id.to_string();
            let body = req.into_body().collect().await?.to_bytes();
            answer_delay(shared).await;
            let close = {
                let mut st = lock(shared);
                let close = st.faults.response_close > 0;
                if close {
                    st.faults.response_close -= 1;
                }
                close
            };
            if close {
                let _ = answer(shared, &id, |_| {
                    (
                        0,
                        Outcome::Rejected {
                            status: 0,
                            body_len: body.len(),
                        },
                    )
                });
                return Err("connection closed by fault injection".into());
            }
            Ok(answer(shared, &id, |st| {
                if let Some(status) = st.faults.response_status.pop_front() {
                    (
                        status,
                        Outcome::Rejected {
                            status,
                            body_len: body.len(),
                        },
                    )
                } else if body.len() > MAX_RESPONSE_BYTES {
                    (
                        413,
                        Outcome::Rejected {
                            status: 413,
                            body_len: body.len(),
                        },
                    )
                } else {
                    (202, Outcome::Response(body.to_vec()))
                }
            }))
        }
        (&Method::POST, ["invocation", id, "error"]) => {
            let id = id.to_string();
            let error_type = header(&req, "lambda-runtime-function-error-type");
            let body = req.into_body().collect().await?.to_bytes();
            let body = parse_body(&body);
            answer_delay(shared).await;
            Ok(answer(shared, &id, |_| {
                (202, Outcome::Error { error_type, body })
            }))
        }
        (&Method::POST, ["init", "error"]) => {
            let error_type = header(&req, "lambda-runtime-function-error-type").unwrap_or_default();
            let body = req.into_body().collect().await?.to_bytes();
            lock(shared).init_error = Some((error_type, parse_body(&body)));
            Ok(reply(202, r#"{"status":"OK"}"#))
        }
        _ => Ok(reply(
            404,
            error_json("NotFound", "unknown runtime API call"),
        )),
    }
}

async fn answer_delay(shared: &Arc<Shared>) {
    let delay = lock(shared).faults.answer_delay;
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn parse_body(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// Completes invocation `id` with what `decide` returns (status for the runtime, outcome for the test).
fn answer(
    shared: &Arc<Shared>,
    id: &str,
    decide: impl FnOnce(&mut State) -> (u16, Outcome),
) -> Response<Full<Bytes>> {
    let mut st = lock(shared);
    let ok = matches!(st.slots.get(id), Some(slot) if slot.delivered && slot.on_answer.is_some());
    if !ok {
        return reply(
            400,
            error_json("InvalidRequestID", "unknown or already answered request id"),
        );
    }
    let (status, outcome) = decide(&mut st);
    if let Some(tx) = st.slots.get_mut(id).and_then(|s| s.on_answer.take()) {
        let _ = tx.send((outcome, Instant::now()));
    }
    let body: Bytes = if status == 202 {
        Bytes::from_static(br#"{"status":"OK"}"#)
    } else if status == 413 {
        error_json("RequestEntityTooLarge", "response payload too large")
    } else {
        error_json("InjectedFault", "fault injected by the test")
    };
    reply(status, body)
}

async fn next(shared: &Arc<Shared>) -> Result<Response<Full<Bytes>>, BoxError> {
    shared.next_calls.fetch_add(1, Ordering::SeqCst);
    let delay = {
        let mut st = lock(shared);
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
        let delivered = {
            let mut st = lock(shared);
            match st.queue.pop_front() {
                Some(id) => {
                    let slot = st.slots.get_mut(&id).expect("queued slot exists");
                    let at = Instant::now();
                    let deadline_ms = now_ms() + slot.timeout.as_millis() as u64;
                    let deadline = at + slot.timeout;
                    slot.delivered = true;
                    if let Some(tx) = slot.on_delivered.take() {
                        let _ = tx.send(Delivered {
                            at,
                            deadline,
                            deadline_ms,
                        });
                    }
                    Some((id, slot.event.clone(), slot.trace_id.clone(), deadline_ms))
                }
                None => None,
            }
        };
        if let Some((id, event, trace_id, deadline_ms)) = delivered {
            let mut resp = reply(200, event);
            let h = resp.headers_mut();
            h.insert("lambda-runtime-aws-request-id", id.parse()?);
            h.insert(
                "lambda-runtime-deadline-ms",
                deadline_ms.to_string().parse()?,
            );
            h.insert("lambda-runtime-invoked-function-arn", FUNCTION_ARN.parse()?);
            h.insert("lambda-runtime-trace-id", trace_id.parse()?);
            return Ok(resp);
        }
        shared.queued.notified().await;
    }
}
