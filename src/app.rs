//! The pipeline both modes share: event → request → route → static file | FastCGI → response → event.
//! Lambda mode feeds it Runtime API events; `serve` feeds it v2 events built from local HTTP requests.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::fastcgi::params::Site;
use crate::fastcgi::{Params, Request};
use crate::http::{HttpRequest, HttpResponse};
use crate::lambda::diagnostic::Diagnostic;
use crate::lambda::InvocationInfo;
use crate::lambda::{events, response};
use crate::php_fpm::{Backend, BackendError};
use crate::router::{Route, Router};
use crate::static_files::{self, StaticConfig};

/// More stdout than this can never fit in a buffered Lambda response: drained, not kept.
const MAX_STDOUT: usize = response::BUFFERED_LIMIT + 64 * 1024;
/// API Gateway refuses responses whose headers exceed about 10 KB.
const HEADER_WARN_BYTES: usize = 10 * 1024;

pub struct App {
    pub router: Router,
    pub site: Site,
    pub static_config: StaticConfig,
    pub backend: Backend,
    /// Used when the invocation has no usable deadline (`serve`, emulators that send a constant).
    pub default_timeout: Duration,
    /// Kept free before the deadline to answer 504 before Lambda kills the sandbox.
    pub timeout_margin: Duration,
}

impl App {
    /// A Lambda event → the response JSON, or the error to post to `/error`.
    pub async fn handle_event(
        &self,
        event: &[u8],
        invocation: &InvocationInfo,
    ) -> Result<Vec<u8>, Diagnostic> {
        let (event, body) =
            events::parse(event).map_err(|e| Diagnostic::new(e.error_type(), e.to_string()))?;
        let response = match body {
            Err(bad) => {
                tracing::warn!(requestId = %invocation.request_id, "400 Bad Request: {bad}");
                HttpResponse::text(400, &format!("400 Bad Request\n{bad}"))
            }
            Ok(()) => {
                self.handle_request(&event.request, event.request_context.as_deref(), invocation)
                    .await?
            }
        };
        let header_bytes: usize = response
            .headers
            .iter()
            .map(|h| h.name.len() + h.value.len() + 4)
            .sum();
        if header_bytes > HEADER_WARN_BYTES {
            tracing::warn!(
                requestId = %invocation.request_id,
                "the response headers take {header_bytes} bytes; API Gateway refuses more than about 10 KB"
            );
        }
        let encoded = response::encode(event.source, &response, event.request.is_head());
        if let Some(why) = encoded.replaced {
            tracing::error!(requestId = %invocation.request_id, "502 Bad Gateway: {why}");
        }
        Ok(encoded.json)
    }

    pub async fn handle_request(
        &self,
        req: &HttpRequest,
        request_context: Option<&str>,
        invocation: &InvocationInfo,
    ) -> Result<HttpResponse, Diagnostic> {
        let script = match self.router.route(&req.path, &req.query) {
            Route::Script(script) => Cow::Owned(script),
            Route::FrontController => Cow::Borrowed(&self.router.front_controller),
            Route::Static(path) => return Ok(static_files::serve(&path, req, &self.static_config)),
            Route::Redirect(location) => {
                return Ok(HttpResponse::text(301, "301 Moved Permanently")
                    .with_header("Location", location))
            }
            Route::Denied(why) => {
                tracing::info!(requestId = %invocation.request_id, path = %req.path, "404: {why}");
                return Ok(HttpResponse::text(404, "404 Not Found"));
            }
            Route::BadRequest(why) => {
                tracing::info!(requestId = %invocation.request_id, path = %req.path, "400: {why}");
                return Ok(HttpResponse::text(400, "400 Bad Request"));
            }
        };
        let mut params = Params::build(req, &script, &self.site);
        params.extend(invocation.server_variables(request_context));
        let request = Request::new(&params, &req.body);
        let budget = self.budget(invocation);
        let request_id = invocation.request_id.as_str();
        let on_stderr = |chunk: &[u8]| {
            for line in crate::cgi::stderr_lines(chunk) {
                crate::logging::php_line(&line, Some(request_id));
            }
        };
        let output = match self
            .backend
            .execute(&request, budget, MAX_STDOUT, on_stderr)
            .await
        {
            Ok(output) => output,
            Err(BackendError::Timeout(after)) => {
                tracing::error!(requestId = request_id, "504 Gateway Timeout: the script ran past the deadline ({after:?}); worker killed");
                return Ok(HttpResponse::text(504, "504 Gateway Timeout"));
            }
            Err(BackendError::Fcgi(e)) => {
                tracing::error!(requestId = request_id, "502 Bad Gateway: {e}");
                return Ok(HttpResponse::text(502, "502 Bad Gateway"));
            }
            Err(BackendError::Unavailable(e)) => {
                tracing::error!(requestId = request_id, "php-fpm is unavailable: {e}");
                return Err(Diagnostic::new("Runtime.PhpFpmUnavailable", e.to_string()));
            }
        };
        if output.dropped > 0 {
            let why = format!(
                "the script printed {} bytes, more than a Lambda response can carry ({} bytes of JSON)",
                output.stdout.len() + output.dropped,
                response::BUFFERED_LIMIT
            );
            tracing::error!(requestId = request_id, "502 Bad Gateway: {why}");
            return Ok(HttpResponse::text(
                502,
                &format!("502 Bad Gateway\nThe response is too large: {why}."),
            ));
        }
        match crate::cgi::parse(output.stdout) {
            Ok(response) => Ok(response),
            Err(e) => {
                tracing::error!(requestId = request_id, "502 Bad Gateway: {e}");
                Ok(HttpResponse::text(502, "502 Bad Gateway"))
            }
        }
    }

    /// Time the script may run: until the deadline minus the margin, or the default without a deadline.
    fn budget(&self, invocation: &InvocationInfo) -> Duration {
        // A deadline before 2001 is not an epoch time (cargo-lambda sends the constant 600000).
        const PLAUSIBLE_EPOCH_MS: u64 = 1_000_000_000_000;
        match invocation.deadline_ms {
            Some(deadline) if deadline > PLAUSIBLE_EPOCH_MS => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                Duration::from_millis(deadline.saturating_sub(now))
                    .saturating_sub(self.timeout_margin)
            }
            _ => self.default_timeout,
        }
    }
}
