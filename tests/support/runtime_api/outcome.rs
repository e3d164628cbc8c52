//! What the emulator records of one invocation: the runtime's answer ([`Outcome`]), what came with it
//! besides the body ([`Posted`]: request headers, HTTP trailers) and its timing ([`Invocation`]).

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

/// What the runtime answered for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// POST /response (accepted, 202): the whole body, however it arrived (one piece or streamed).
    Response(Bytes),
    /// POST /error (202): the `Lambda-Runtime-Function-Error-Type` header and the body (JSON, or a JSON
    /// string holding the raw text when the body was not JSON).
    Error {
        error_type: Option<String>,
        body: Value,
    },
    /// POST /response that the emulator refused: 413 (over the size limit), an injected status, or 0 when
    /// the connection was closed by fault injection.
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

    /// A streamed HTTP response (content type `application/vnd.awslambda.http-integration-response`)
    /// split into its JSON prelude (`statusCode`, `headers`, `cookies`) and the raw body after the 8 NUL
    /// bytes that end the prelude; panics when the body has no such prelude.
    pub fn streamed_http(&self) -> (Value, &[u8]) {
        let bytes = self.bytes();
        let end = bytes
            .windows(8)
            .position(|w| w == [0u8; 8])
            .unwrap_or_else(|| {
                panic!(
                    "no 8 NUL bytes after a prelude in the streamed response: {}",
                    self.describe()
                )
            });
        let prelude = serde_json::from_slice(&bytes[..end]).unwrap_or_else(|e| {
            panic!(
                "the streamed response's prelude is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes[..end.min(2000)])
            )
        });
        (prelude, &bytes[end + 8..])
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

/// What the runtime sent with its answer besides the body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Posted {
    /// The request headers of the POST, in order (names lower-case, values lossily decoded).
    pub headers: Vec<(String, String)>,
    /// HTTP trailers after a chunked body, in order (names lower-case): how a streamed response reports
    /// an error that happens after its first bytes (`Lambda-Runtime-Function-Error-Type`, and
    /// `Lambda-Runtime-Function-Error-Body` in base64).
    pub trailers: Vec<(String, String)>,
    /// How many DATA frames the body arrived in (a body written in several pieces arrives in several).
    pub body_frames: usize,
    /// The body's whole length, also when only its first bytes were kept
    /// ([`super::RuntimeApi::keep_body_bytes`]).
    pub body_len: usize,
    /// When each DATA frame arrived, with the body's length so far: when a streamed body's bytes came.
    pub frame_times: Vec<(Instant, usize)>,
}

impl Posted {
    /// When the body first held `len` bytes.
    pub fn time_of_byte(&self, len: usize) -> Option<Instant> {
        self.frame_times
            .iter()
            .find(|(_, so_far)| *so_far >= len)
            .map(|(at, _)| *at)
    }
}

impl Posted {
    /// The first value of request header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// The value of trailer `name` (any case).
    pub fn trailer(&self, name: &str) -> Option<&str> {
        find(&self.trailers, name)
    }

    /// `Lambda-Runtime-Function-Response-Mode`: `Some("streaming")` for a streamed response.
    pub fn response_mode(&self) -> Option<&str> {
        self.header("lambda-runtime-function-response-mode")
    }

    /// Whether the body came with `Transfer-Encoding: chunked` (as a streamed response must).
    pub fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }
}

fn find<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// One finished invocation with its timing and the ids the emulator handed out.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub trace_id: String,
    /// The `Lambda-Runtime-Deadline-Ms` value sent with the event (Unix epoch ms).
    pub deadline_ms: u64,
    /// When GET /next handed the event over (just before its answer was written).
    pub delivered_at: Instant,
    /// The same deadline as an `Instant`.
    pub deadline: Instant,
    /// When the answer (/response, /error) had arrived in full.
    pub answered_at: Instant,
    pub outcome: Outcome,
    /// Headers and trailers of the answer.
    pub posted: Posted,
}

impl Invocation {
    /// Time from delivery to answer: the invocation's latency as the Runtime API sees it.
    pub fn elapsed(&self) -> Duration {
        self.answered_at.duration_since(self.delivered_at)
    }
}
