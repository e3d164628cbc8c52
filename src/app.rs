//! The pipeline both modes share: event → request → route → static file | FastCGI → response → event.
//! Lambda mode feeds it Runtime API events; `serve` feeds it v2 events built from local HTTP requests.

use std::borrow::Cow;
use std::time::Duration;

use crate::body::StreamedResponse;
use crate::compress::{Choice, Compression};
use crate::console::Console;
use crate::fastcgi::params::Site;
use crate::fastcgi::{Params, Request};
use crate::lambda::diagnostic::Diagnostic;
use crate::lambda::event_source::{self, Kind};
use crate::lambda::events::{self, EventError, EventSource};
use crate::lambda::runtime::Reply;
use crate::lambda::{response, InvocationInfo};
use crate::message::{HttpRequest, HttpResponse};
use crate::php_fpm::Backend;
use crate::router::{Route, Router, Script};
use crate::static_files::{self, StaticConfig};
use crate::worker::{self, EventHandler};

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
        compress_complete(&mut response, compression, head, request_id);
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
        self.script_response(req, &script, request_context, invocation, compression)
            .await
    }

    /// The script's response read whole, or the 502/504 that stands for it.
    async fn script_response(
        &self,
        req: &HttpRequest,
        script: &Script,
        request_context: Option<&str>,
        invocation: &InvocationInfo,
        compression: Choice,
    ) -> Result<HttpResponse, AppError> {
        match self
            .run_script(req, script, request_context, invocation, compression)
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

/// A complete body compressed as the client accepts, for every caller of the pipeline alike; a body
/// still coming was compressed as it streams (`handle_request_streamed`).
pub fn compress_complete(
    response: &mut StreamedResponse,
    compression: Choice,
    head: bool,
    request_id: &str,
) {
    if response.rest.is_some() {
        return;
    }
    if let Err(e) = compression.apply(&mut response.head, head) {
        tracing::warn!(
            requestId = request_id,
            "the response goes out uncompressed: {e}"
        );
    }
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

mod budget;
mod errors;
mod streamed;

pub use budget::TimeoutMargin;
pub use errors::AppError;
use errors::ScriptError;
