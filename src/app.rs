//! The pipeline both modes share: event → request → route → static file | FastCGI → response → event.
//! Lambda mode feeds it Runtime API events; `serve` feeds it v2 events built from local HTTP requests.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::body::StreamedResponse;
use crate::cgi::CgiError;
use crate::compress::{Choice, Compression};
use crate::console::{Console, ConsoleError};
use crate::fastcgi::params::Site;
use crate::fastcgi::{FcgiError, Params, Request};
use crate::lambda::diagnostic::Diagnostic;
use crate::lambda::event_source::{self, Kind};
use crate::lambda::events::{self, EventError, EventSource};
use crate::lambda::runtime::Reply;
use crate::lambda::{response, InvocationInfo};
use crate::message::{HttpRequest, HttpResponse};
use crate::php_fpm::{Backend, BackendError, FpmError};
use crate::router::{Route, Router, Script};
use crate::static_files::{self, StaticConfig};
use crate::worker::{self, EventHandler, WorkerError};

/// More stdout than this can never fit in a buffered Lambda response uncompressed: drained, not kept.
const MAX_STDOUT: usize = response::BUFFERED_LIMIT + 64 * 1024;
/// The cap when the client accepts compression. A compressed body must stay under about 4.7 MB (it
/// travels base64-encoded in 6 MB of JSON); real pages shrink 4 to 7 times (docs/benchmarks.md), a
/// table of repeated rows more: 64 MiB, 13 times 4.7 MB, covers the pages that can fit. The buffer
/// grows only as PHP prints, so only a script that prints that much holds that much.
const MAX_COMPRESSIBLE_STDOUT: usize = 64 * 1024 * 1024;
/// API Gateway refuses responses whose headers exceed about 10 KB.
const HEADER_WARN_BYTES: usize = 10 * 1024;

pub struct App {
    pub router: Router,
    pub site: Site,
    pub static_config: StaticConfig,
    pub compression: Compression,
    pub backend: Backend,
    /// Used when the invocation has no usable deadline (`serve`, emulators that send a constant).
    pub default_timeout: Duration,
    /// Kept free before the deadline to answer 504 before Lambda kills the sandbox.
    pub timeout_margin: TimeoutMargin,
    pub invoke_mode: InvokeMode,
    /// Runs the events that are not HTTP requests (`LAMBDA_FPM_EVENT_HANDLER`).
    pub event_handler: Option<EventHandler>,
    /// Runs the events that are JSON strings as console commands (`LAMBDA_FPM_CONSOLE`).
    pub console: Option<Console>,
}

/// Why an event got no HTTP response at all: the invocation fails (on Lambda, an `/error` post).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The event is not an HTTP event this runtime can read.
    #[error(transparent)]
    Event(#[from] EventError),
    /// php-fpm is down and could not be started again.
    #[error(transparent)]
    PhpFpmUnavailable(FpmError),
    /// A non-HTTP event, and nothing configured to run it.
    #[error("{0}")]
    Unhandled(String),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error(transparent)]
    Console(#[from] ConsoleError),
}

impl AppError {
    /// The `errorType` Lambda reports for it.
    pub fn error_type(&self) -> &'static str {
        match self {
            AppError::Event(e) => e.error_type(),
            AppError::PhpFpmUnavailable(_) => "Runtime.PhpFpmUnavailable",
            AppError::Unhandled(_) => "Runtime.UnsupportedEvent",
            AppError::Worker(e) => e.error_type(),
            AppError::Console(e) => e.error_type(),
        }
    }
}

impl From<AppError> for Diagnostic {
    fn from(error: AppError) -> Self {
        Diagnostic::new(error.error_type(), error.to_string())
    }
}

/// Why the script gave no response of its own.
#[derive(Debug, thiserror::Error)]
enum ScriptError {
    #[error(transparent)]
    Unavailable(FpmError),
    #[error("the script ran past the deadline ({0:?}); worker killed")]
    Timeout(Duration),
    #[error(transparent)]
    Fcgi(FcgiError),
    #[error(
        "the script printed {0} bytes, more than a Lambda response can carry ({limit} bytes of JSON)",
        limit = response::BUFFERED_LIMIT
    )]
    TooLarge(usize),
    #[error(transparent)]
    Cgi(CgiError),
}

impl From<BackendError> for ScriptError {
    fn from(error: BackendError) -> Self {
        match error {
            BackendError::Unavailable(e) => ScriptError::Unavailable(e),
            BackendError::Timeout(after) => ScriptError::Timeout(after),
            BackendError::Fcgi(e) => ScriptError::Fcgi(e),
        }
    }
}

impl ScriptError {
    /// What the client gets instead: a 502 or 504, the reason logged. Without php-fpm there is no
    /// response to give: the invocation fails.
    fn into_response(self, request_id: &str) -> Result<HttpResponse, AppError> {
        let status = match self {
            ScriptError::Unavailable(e) => {
                tracing::error!(requestId = request_id, "php-fpm is unavailable: {e}");
                return Err(AppError::PhpFpmUnavailable(e));
            }
            ScriptError::Timeout(_) => "504 Gateway Timeout",
            _ => "502 Bad Gateway",
        };
        tracing::error!(requestId = request_id, "{status}: {self}");
        Ok(match self {
            ScriptError::Timeout(_) => HttpResponse::text(504, status),
            ScriptError::TooLarge(_) => HttpResponse::text(
                502,
                &format!("{status}\nThe response is too large: {self}."),
            ),
            _ => HttpResponse::text(502, status),
        })
    }
}

impl App {
    /// A Lambda event → its reply: the response JSON, a streamed response, or the error to post.
    pub async fn handle_event(&self, event: &[u8], invocation: &InvocationInfo) -> Reply {
        match self.answer(event, invocation).await {
            Ok(reply) => reply,
            Err(e) => Reply::Failed(Diagnostic::from(e)),
        }
    }

    async fn answer(&self, event: &[u8], invocation: &InvocationInfo) -> Result<Reply, AppError> {
        let (event, body) = match events::parse(event) {
            Ok(parsed) => parsed,
            Err(not_http) => {
                return self
                    .answer_other(event, not_http, invocation)
                    .await
                    .map(Reply::Buffered)
            }
        };
        let request_id = invocation.request_id.as_str();
        let stream = self.invoke_mode == InvokeMode::ResponseStream && event.api.streams();
        let context = event.request_context.as_deref();
        let head = event.request.is_head();
        // A streamed body reaches the client as it is, also through a REST API (its binary media
        // types apply to buffered base64 bodies only).
        let compression = self
            .compression
            .choose(event.api.is_rest() && !stream, &event.request);
        let mut response: StreamedResponse = match body {
            Err(bad) => {
                tracing::warn!(requestId = request_id, "400 Bad Request: {bad}");
                HttpResponse::text(400, &format!("400 Bad Request\n{bad}")).into()
            }
            Ok(()) if stream => {
                self.handle_request_streamed(&event.request, context, invocation, compression)
                    .await?
            }
            Ok(()) => self
                .handle_request(&event.request, context, invocation, compression)
                .await?
                .into(),
        };
        if response.rest.is_none() {
            if let Err(e) = compression.apply(&mut response.head, head) {
                tracing::warn!(
                    requestId = request_id,
                    "the response goes out uncompressed: {e}"
                );
            }
        }
        warn_if_headers_too_large(&response.head, request_id);
        if stream {
            return Ok(streamed_reply(event.source, response));
        }
        let encoded = response::encode(event.source, &response.head, head);
        if let Some(why) = encoded.replaced {
            tracing::error!(requestId = request_id, "502 Bad Gateway: {why}");
        }
        Ok(Reply::Buffered(encoded.json))
    }

    /// An event the HTTP parser turned down: a console command, the event handler's, or the
    /// parser's error when it was an HTTP event after all or nothing is configured for it.
    async fn answer_other(
        &self,
        raw: &[u8],
        not_http: EventError,
        invocation: &InvocationInfo,
    ) -> Result<Vec<u8>, AppError> {
        let kind = match event_source::classify(raw) {
            Ok(Kind::Http) | Err(_) => return Err(not_http.into()),
            Ok(kind) => kind,
        };
        match (kind, &self.console, &self.event_handler) {
            (Kind::Command(command), Some(console), _) => {
                let budget = self.budget(invocation);
                Ok(crate::console::run(console, &command, budget, invocation).await?)
            }
            (kind, _, Some(handler)) => {
                let source = match kind {
                    Kind::Event(source) => source,
                    _ => event_source::Source::Direct,
                };
                let on = worker::Run {
                    backend: &self.backend,
                    server_software: &self.site.server_software,
                    budget: self.budget(invocation),
                };
                Ok(worker::run(on, handler, raw, &source, invocation).await?)
            }
            (kind, ..) => Err(AppError::Unhandled(format!(
                "{not_http}; set {} to run it (docs/events.md)",
                match kind {
                    Kind::Command(_) =>
                        "LAMBDA_FPM_CONSOLE (console commands) or LAMBDA_FPM_EVENT_HANDLER",
                    _ => "LAMBDA_FPM_EVENT_HANDLER to a PHP script",
                }
            ))),
        }
    }

    pub async fn handle_request(
        &self,
        req: &HttpRequest,
        request_context: Option<&str>,
        invocation: &InvocationInfo,
        compression: Choice,
    ) -> Result<HttpResponse, AppError> {
        let script = match self.route(req, invocation) {
            Routed::Script(script) => script,
            Routed::Static(path) => {
                return Ok(static_files::respond(&path, req, &self.static_config))
            }
            Routed::Answer(response) => return Ok(response),
        };
        match self
            .run_script(req, &script, request_context, invocation, compression)
            .await
        {
            Ok(response) => Ok(response),
            Err(e) => e.into_response(&invocation.request_id),
        }
    }

    /// Where a request goes: a script to run, a static file, or an answer of the runtime's own.
    fn route(&self, req: &HttpRequest, invocation: &InvocationInfo) -> Routed<'_> {
        match self.router.route(&req.path, &req.query) {
            Route::Script(script) => Routed::Script(Cow::Owned(script)),
            Route::FrontController => Routed::Script(Cow::Borrowed(&self.router.front_controller)),
            Route::Static(path) => Routed::Static(path),
            Route::Redirect(location) => Routed::Answer(
                HttpResponse::text(301, "301 Moved Permanently").with_header("Location", location),
            ),
            Route::Denied(why) => {
                tracing::info!(requestId = %invocation.request_id, path = %req.path, "404: {why}");
                Routed::Answer(HttpResponse::text(404, "404 Not Found"))
            }
            Route::BadRequest(why) => {
                tracing::info!(requestId = %invocation.request_id, path = %req.path, "400: {why}");
                Routed::Answer(HttpResponse::text(400, "400 Bad Request"))
            }
        }
    }

    /// Runs the script through php-fpm and reads its CGI output as the response.
    async fn run_script(
        &self,
        req: &HttpRequest,
        script: &Script,
        request_context: Option<&str>,
        invocation: &InvocationInfo,
        compression: Choice,
    ) -> Result<HttpResponse, ScriptError> {
        let mut params = Params::build(req, script, &self.site);
        params.extend(invocation.server_variables(request_context));
        let request_id = invocation.request_id.as_str();
        let on_stderr = |chunk: &[u8]| {
            for line in crate::cgi::stderr_lines(chunk) {
                crate::logging::php_line(&line, Some(request_id));
            }
        };
        let request = Request::new(&params, &req.body);
        let budget = self.budget(invocation);
        let max_stdout = match compression.offer() {
            Some(_) => MAX_COMPRESSIBLE_STDOUT,
            None => MAX_STDOUT,
        };
        let output = self
            .backend
            .execute(&request, budget, max_stdout, on_stderr)
            .await?;
        let printed = output.stdout.len() + output.dropped;
        if output.dropped > 0 {
            return Err(ScriptError::TooLarge(printed));
        }
        let response = crate::cgi::parse(output.stdout).map_err(ScriptError::Cgi)?;
        if printed > MAX_STDOUT && !compression.compresses(&response, req.is_head()) {
            return Err(ScriptError::TooLarge(printed));
        }
        Ok(response)
    }

    /// Time the script may run: until the deadline minus the margin, or the default without a deadline.
    pub(crate) fn budget(&self, invocation: &InvocationInfo) -> Duration {
        // A deadline before 2001 is not an epoch time (cargo-lambda sends the constant 600000).
        const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;
        match invocation.deadline_ms {
            Some(deadline) if deadline > PLAUSIBLE_EPOCH_MS => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                let remaining = Duration::from_millis(deadline.saturating_sub(now));
                let (budget, margin) = self.timeout_margin.budget(remaining);
                let scaled =
                    matches!(self.timeout_margin, TimeoutMargin::Scaled(cap) if margin < cap);
                if scaled && !SHORT_TIMEOUT_WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "the invocation had {remaining:?} left: too little for the default 1s timeout margin, which is scaled to {margin:?} (a tenth of the time left); a longer function timeout leaves PHP more time"
                    );
                }
                budget
            }
            _ => self.default_timeout,
        }
    }
}

/// What the router's decision leaves to do.
enum Routed<'a> {
    Script(Cow<'a, Script>),
    Static(std::path::PathBuf),
    Answer(HttpResponse),
}

/// How the function answers HTTP events (`LAMBDA_FPM_INVOKE_MODE`): one JSON response, or a stream
/// (Function URLs with `InvokeMode: RESPONSE_STREAM`, REST APIs with `ResponseTransferMode: STREAM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvokeMode {
    #[default]
    Buffered,
    ResponseStream,
}

/// The streamed reply: the source's JSON prelude, 8 NUL bytes, the body read so far; then the rest.
fn streamed_reply(source: EventSource, response: StreamedResponse) -> Reply {
    let mut head = response::prelude(source, &response.head);
    head.extend_from_slice(&[0u8; 8]);
    head.extend_from_slice(&response.head.body);
    Reply::Streamed {
        head: head.into(),
        rest: response.rest,
    }
}

fn warn_if_headers_too_large(response: &HttpResponse, request_id: &str) {
    let header_bytes: usize = response
        .headers
        .iter()
        .map(|h| h.name.len() + h.value.len() + 4)
        .sum();
    if header_bytes > HEADER_WARN_BYTES {
        tracing::warn!(
            requestId = request_id,
            "the response headers take {header_bytes} bytes; API Gateway refuses more than about 10 KB"
        );
    }
}

/// Said once per process: a short function timeout is a set-up matter, not a per-request one.
static SHORT_TIMEOUT_WARNED: AtomicBool = AtomicBool::new(false);

/// How long before the deadline the runtime answers 504 and kills the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutMargin {
    /// The default: up to this much, but at most a tenth of the time left.
    Scaled(Duration),
    /// `LAMBDA_FPM_TIMEOUT_MARGIN_MS`, as the user set it.
    Fixed(Duration),
}

impl TimeoutMargin {
    /// (time the script may run, margin kept) for `remaining` until the deadline. The default 1 s
    /// margin would leave a function with a 1 s timeout no time at all (every request a 504), while
    /// killing the worker and posting the 504 takes milliseconds: it shrinks to a tenth of the time
    /// left. A margin the user chose is theirs. Pure.
    pub fn budget(self, remaining: Duration) -> (Duration, Duration) {
        let margin = match self {
            TimeoutMargin::Scaled(cap) => cap.min(remaining / 10),
            TimeoutMargin::Fixed(margin) => margin,
        };
        (remaining.saturating_sub(margin), margin)
    }
}

mod streamed;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_scales_with_the_time_left() {
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        let budget = |remaining, cap| TimeoutMargin::Scaled(cap).budget(remaining);
        assert_eq!(budget(s(30), s(1)), (s(29), s(1)));
        assert_eq!(budget(s(10), s(1)), (s(9), s(1)));
        assert_eq!(budget(s(2), s(1)), (ms(1800), ms(200)));
        assert_eq!(budget(s(1), s(1)), (ms(900), ms(100)));
        assert_eq!(budget(ms(50), s(1)), (ms(45), ms(5)));
        assert_eq!(budget(ms(0), s(1)), (ms(0), ms(0)));
        // A margin the user set is kept as it is.
        let fixed = TimeoutMargin::Fixed(ms(2500));
        assert_eq!(fixed.budget(s(4)), (ms(1500), ms(2500)));
        assert_eq!(fixed.budget(s(2)), (ms(0), ms(2500)));
    }

    #[test]
    fn app_errors_become_diagnostics_with_their_type() {
        let unsupported = match events::parse(b"[1]") {
            Err(e) => AppError::from(e),
            Ok(_) => panic!("an array is not an HTTP event"),
        };
        let message = unsupported.to_string();
        let diagnostic = Diagnostic::from(unsupported);
        assert_eq!(diagnostic.error_type, "Runtime.UnsupportedEvent");
        assert_eq!(diagnostic.error_message, message);
    }

    #[test]
    fn script_failures_are_502_or_504_with_the_reason() {
        let timeout = ScriptError::Timeout(Duration::from_secs(3))
            .into_response("r")
            .expect("a response");
        assert_eq!(timeout.status, 504);
        assert_eq!(&timeout.body[..], b"504 Gateway Timeout\n");
        let closed = ScriptError::Fcgi(FcgiError::Closed)
            .into_response("r")
            .expect("a response");
        assert_eq!(closed.status, 502);
        let large = ScriptError::TooLarge(7_000_000)
            .into_response("r")
            .expect("a response");
        assert_eq!(large.status, 502);
        let body = String::from_utf8_lossy(&large.body);
        assert!(
            body.starts_with(
                "502 Bad Gateway\nThe response is too large: the script printed 7000000 bytes"
            ),
            "{body}"
        );
    }
}
