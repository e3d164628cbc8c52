//! A local Lambda Runtime API emulator: a real HTTP/1.1 server (hyper) speaking the protocol of AWS's
//! custom runtime API (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>), on 127.0.0.1:0
//! with keep-alive.
//!
//! Two ways to drive it:
//! - tests call `invoke*`, which queue one event and wait for the runtime's answer ([`Invocation`]);
//! - the benchmark calls [`RuntimeApi::enqueue`] many times, then collects the answers in order from one
//!   channel with [`RuntimeApi::next_answer`] (nothing waits per invocation).
//!
//! The runtime's answer is read as a stream: a chunked body arrives whole in the [`Outcome`], and its
//! request headers (`Lambda-Runtime-Function-Response-Mode`) and HTTP trailers are kept in [`Posted`].
//! Fault-injection knobs make the next calls misbehave so the reliability tests can check how the bootstrap
//! copes. Dropping the emulator stops its listener and every connection.

mod outcome;
mod posted;
mod server;
mod snapshot;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Notify};

pub use outcome::{Invocation, Outcome, Posted};
use server::{lock, now_ms, Reply, Shared, Slot, State};

/// The function ARN every invocation carries.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:test";
/// Lambda's buffered response limit: 6 MiB + 100 bytes of JSON. Over it, POST /response gets 413.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;
/// Lambda's limit for a streamed response (`Lambda-Runtime-Function-Response-Mode: streaming`): 200 MB.
pub const MAX_STREAMED_BYTES: usize = 200 * 1024 * 1024;
/// How long `invoke` waits for the runtime to pick an event up with GET /next (covers init).
pub const PICKUP_TIMEOUT: Duration = Duration::from_secs(30);
/// The deadline `invoke` gives an event, counted from its delivery.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The emulator. Dropping it stops the listener and its connections.
pub struct RuntimeApi {
    addr: String,
    shared: Arc<Shared>,
    answers: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    /// Request ids are this plus a counter: unique within one emulator.
    id_base: u64,
    counter: AtomicUsize,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // The accept task owns the JoinSet of connections: aborting it aborts them all, including a GET
        // /next still waiting for an event.
        self.server.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Runtime API emulator");
        let addr = listener.local_addr().expect("local addr").to_string();
        let (answers_tx, answers_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            queued: Notify::new(),
            next_calls: AtomicUsize::new(0),
            answers_posted: AtomicUsize::new(0),
            answers_refused: AtomicUsize::new(0),
            answers: answers_tx,
            snapshot: Default::default(),
        });
        let accept_shared = shared.clone();
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            // Ends on an accept error (the test then fails for want of answers) or when aborted.
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let shared = accept_shared.clone();
                let epoch = shared.snapshot.epoch();
                connections.spawn(async move {
                    let svc = service_fn(move |req| server::handle(shared.clone(), epoch, req));
                    let _ = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        RuntimeApi {
            addr,
            shared,
            answers: tokio::sync::Mutex::new(answers_rx),
            id_base: (now_ms() & 0xffff_ffff) << 16,
            counter: AtomicUsize::new(0),
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

    /// When the first GET /next arrived (the end of the runtime's init).
    pub fn first_next_at(&self) -> Option<Instant> {
        lock(&self.shared).first_next
    }

    /// How many POST /response and /error requests arrived, whatever their answer.
    pub fn answers_posted(&self) -> usize {
        self.shared.answers_posted.load(Ordering::SeqCst)
    }

    /// How many of those were refused with 400: an unknown request id, or a second answer for one.
    pub fn answers_refused(&self) -> usize {
        self.shared.answers_refused.load(Ordering::SeqCst)
    }

    /// The last 1,000 requests received, as "METHOD path -> status" (for diagnostics).
    pub fn request_log(&self) -> Vec<String> {
        lock(&self.shared).log.iter().cloned().collect()
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

    /// Puts one invocation in the queue; returns its request id.
    fn queue(
        &self,
        event: Bytes,
        timeout: Duration,
        tenant_id: Option<String>,
        reply: Reply,
    ) -> (String, String) {
        let n = self.counter.fetch_add(1, Ordering::SeqCst) as u64;
        let request_id = format!(
            "8476a536-e9f4-11e8-9739-{:012x}",
            (self.id_base + n) & 0xffff_ffff_ffff
        );
        let trace_id = format!(
            "Root=1-5759e988-bd862e3fe1be46a9{:08x};Parent=53995c3f42cd8ad8;Sampled=1",
            (self.id_base ^ n) as u32
        );
        let slot = Slot {
            event,
            timeout,
            trace_id: trace_id.clone(),
            tenant_id,
            delivered: None,
            reply,
        };
        {
            let mut st = lock(&self.shared);
            st.slots.insert(request_id.clone(), slot);
            st.queue.push_back(request_id.clone());
        }
        self.shared.queued.notify_one();
        (request_id, trace_id)
    }

    // ----- one invocation at a time (tests) -------------------------------------------------------

    /// Sends one event with the default 30 s deadline and returns the runtime's answer.
    pub async fn invoke(&self, event: impl Into<Bytes>) -> Outcome {
        self.invoke_with(event, DEFAULT_TIMEOUT).await
    }

    /// Sends one event with the given deadline (counted from delivery) and returns the answer.
    pub async fn invoke_with(&self, event: impl Into<Bytes>, timeout: Duration) -> Outcome {
        self.invoke_detailed(event, timeout).await.outcome
    }

    /// Like `invoke_with`, with the ids, timings, headers and trailers of the invocation.
    pub async fn invoke_detailed(&self, event: impl Into<Bytes>, timeout: Duration) -> Invocation {
        self.invoke_as(event.into(), timeout, None).await
    }

    /// Sends one event for tenant `tenant_id` (`Lambda-Runtime-Aws-Tenant-Id`, as Lambda sends for a
    /// function with tenant isolation) and returns the answer.
    pub async fn invoke_for_tenant(&self, event: impl Into<Bytes>, tenant_id: &str) -> Outcome {
        let tenant = Some(tenant_id.to_owned());
        self.invoke_as(event.into(), DEFAULT_TIMEOUT, tenant)
            .await
            .outcome
    }

    async fn invoke_as(
        &self,
        event: Bytes,
        timeout: Duration,
        tenant_id: Option<String>,
    ) -> Invocation {
        let (tx_delivered, rx_delivered) = oneshot::channel();
        let (tx_answer, rx_answer) = oneshot::channel();
        let reply = Reply::Waiter {
            on_delivered: Some(tx_delivered),
            on_answer: tx_answer,
        };
        let (request_id, _) = self.queue(event, timeout, tenant_id, reply);
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
        match tokio::time::timeout(wait, rx_answer).await {
            Ok(Ok(invocation)) => invocation,
            _ => panic!(
                "no answer (/response or /error) for invocation {request_id} within its deadline ({timeout:?}) + 5 s \
                 (requests: {:?})",
                self.request_log()
            ),
        }
    }

    // ----- many invocations in flight (benchmark) ---------------------------------------------------

    /// Queues one event with the given deadline (counted from delivery) without waiting; its answer comes
    /// out of [`RuntimeApi::next_answer`], in the order the runtime answers. Returns the request id.
    pub fn enqueue(&self, event: impl Into<Bytes>, timeout: Duration) -> String {
        self.queue(event.into(), timeout, None, Reply::Queue).0
    }

    /// The next answer to an `enqueue`d event, or None when none arrives within `timeout`.
    pub async fn next_answer(&self, timeout: Duration) -> Option<Invocation> {
        let mut answers = self.answers.lock().await;
        tokio::time::timeout(timeout, answers.recv())
            .await
            .ok()
            .flatten()
    }

    /// Keeps only the first `limit` bytes of every answer's body (None: all of it); the rest is counted
    /// ([`Posted::body_len`], [`Posted::frame_times`]) and dropped, as Lambda passes a stream on rather
    /// than holding it: a benchmark streaming 100 MiB then measures the runtime, not the emulator's
    /// buffer growing.
    pub fn keep_body_bytes(&self, limit: Option<usize>) {
        lock(&self.shared).keep_body = limit;
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

    /// The next POST /response has its connection closed once `bytes` of its body arrived: a client
    /// that goes away in the middle of a stream. Recorded as `Outcome::Rejected { status: 0 }`.
    pub fn cut_next_response_after(&self, bytes: usize) {
        lock(&self.shared).faults.response_cut_after = Some(bytes);
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
