//! A lean Lambda Runtime API load driver: raw tokio TCP, HTTP/1.1 keep-alive, nothing else.
//!
//! The benchmark queues invocations; each `GET /next` takes the next one (and waits while there is none),
//! and the time from writing the `/next` answer to having read the whole `/response` body is that
//! invocation's latency. Only what the bootstrap's client sends is parsed: a request line, headers, and a
//! `Content-Length` body.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:lambda-fpm-bench";
pub const TRACE_ID: &str =
    "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e;Parent=91ed514f1e5c03b2;Sampled=0";

/// One invocation to hand out.
pub struct Job {
    pub event: Bytes,
    /// Keep the response body (to check it); otherwise only its first bytes are looked at.
    pub keep_body: bool,
}

/// What came back for one job.
pub struct Outcome {
    pub latency: Duration,
    pub received: Instant,
    /// `/response` with a `statusCode` of 200 (false for `/error` or another status).
    pub ok: bool,
    pub body: Option<Bytes>,
}

pub struct Driver {
    pub addr: SocketAddr,
    jobs: mpsc::UnboundedSender<Job>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    first_next: Arc<Mutex<Option<Instant>>>,
    server: JoinHandle<()>,
}

impl Driver {
    pub async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (jobs, job_rx) = mpsc::unbounded_channel();
        let (outcome_tx, outcomes) = mpsc::unbounded_channel();
        let first_next = Arc::new(Mutex::new(None));
        let shared = Arc::new(Shared {
            jobs: tokio::sync::Mutex::new(job_rx),
            outcomes: outcome_tx,
            first_next: first_next.clone(),
        });
        let server = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                connections.spawn(serve(stream, shared.clone()));
            }
        });
        Ok(Self {
            addr,
            jobs,
            outcomes,
            first_next,
            server,
        })
    }

    pub fn push(&self, job: Job) {
        let _ = self.jobs.send(job);
    }

    /// Waits for the next outcome, up to `timeout`.
    pub async fn outcome(&mut self, timeout: Duration) -> Option<Outcome> {
        tokio::time::timeout(timeout, self.outcomes.recv())
            .await
            .ok()
            .flatten()
    }

    /// When the first `GET /next` arrived.
    pub fn first_next(&self) -> Option<Instant> {
        *self.first_next.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every connection task.
        self.server.abort();
    }
}

struct Shared {
    jobs: tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    first_next: Arc<Mutex<Option<Instant>>>,
}

struct Head {
    method_get: bool,
    path: String,
    content_length: usize,
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut out = Vec::with_capacity(1024);
    let mut counter = 0u64;
    // The invocation in flight on this connection: (request id, handed out at, keep the body).
    let mut in_flight: Option<(String, Instant, bool)> = None;
    loop {
        let Ok(Some(head)) = read_head(&mut stream, &mut buf).await else {
            return;
        };
        let Ok(body) = read_body(&mut stream, &mut buf, head.content_length).await else {
            return;
        };
        let received = Instant::now();
        if head.method_get && head.path.ends_with("/runtime/invocation/next") {
            {
                let mut first = shared.first_next.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert(received);
            }
            let job = { shared.jobs.lock().await.recv().await };
            let Some(job) = job else { return };
            counter += 1;
            let id = format!("{:08x}-b3e7-4d2c-8f4a-{:012x}", std::process::id(), counter);
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
                + 300_000;
            out.clear();
            out.extend_from_slice(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Lambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                     Lambda-Runtime-Invoked-Function-Arn: {FUNCTION_ARN}\r\nLambda-Runtime-Trace-Id: {TRACE_ID}\r\n\
                     Content-Length: {}\r\n\r\n",
                    job.event.len()
                )
                .as_bytes(),
            );
            let started = Instant::now();
            let written = if job.event.len() <= 64 * 1024 {
                out.extend_from_slice(&job.event);
                stream.write_all(&out).await
            } else {
                match stream.write_all(&out).await {
                    Ok(()) => stream.write_all(&job.event).await,
                    Err(e) => Err(e),
                }
            };
            if written.is_err() {
                return;
            }
            in_flight = Some((id, started, job.keep_body));
        } else if !head.method_get
            && (head.path.ends_with("/response") || head.path.ends_with("/error"))
        {
            let is_response = head.path.ends_with("/response");
            let answer: &[u8] =
                b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}";
            if let Some((id, started, keep_body)) = in_flight.take() {
                let matches = head.path.contains(&id);
                let ok = matches && is_response && body.starts_with(b"{\"statusCode\":200");
                let _ = shared.outcomes.send(Outcome {
                    latency: received - started,
                    received,
                    ok,
                    body: (keep_body || !ok).then_some(body),
                });
            } else {
                let _ = shared.outcomes.send(Outcome {
                    latency: Duration::ZERO,
                    received,
                    ok: false,
                    body: Some(body),
                });
            }
            if stream.write_all(answer).await.is_err() {
                return;
            }
        } else {
            let answer: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
            if stream.write_all(answer).await.is_err() {
                return;
            }
        }
    }
}

/// Reads up to the end of a request head; `None` when the peer closed between requests.
async fn read_head(stream: &mut TcpStream, buf: &mut BytesMut) -> io::Result<Option<Head>> {
    let mut searched: usize = 0;
    loop {
        if let Some(end) = find_head_end(&buf[searched.saturating_sub(3)..]) {
            let end = searched.saturating_sub(3) + end;
            let head = parse_head(&buf[..end])?;
            buf.advance(end + 4);
            return Ok(Some(head));
        }
        searched = buf.len();
        if buf.len() > 1024 * 1024 {
            return Err(io::Error::other("request head too large"));
        }
        buf.reserve(16 * 1024);
        if stream.read_buf(buf).await? == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
    }
}

fn find_head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n")
}

fn parse_head(head: &[u8]) -> io::Result<Head> {
    let text = std::str::from_utf8(head).map_err(|_| io::Error::other("non-UTF-8 request head"))?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut content_length = 0;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value
                    .trim()
                    .parse()
                    .map_err(|_| io::Error::other("bad Content-Length"))?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(io::Error::other("chunked request bodies are not supported"));
            }
        }
    }
    Ok(Head {
        method_get: method == "GET",
        path,
        content_length,
    })
}

async fn read_body(stream: &mut TcpStream, buf: &mut BytesMut, len: usize) -> io::Result<Bytes> {
    if buf.len() < len {
        buf.reserve(len - buf.len());
        while buf.len() < len {
            if stream.read_buf(buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
    Ok(buf.split_to(len).freeze())
}
