//! Why a request got no response of its own: the script's failures (answered 502 or 504) and the
//! app's (the invocation fails, on Lambda an `/error` post).

use std::time::Duration;

use crate::cgi::CgiError;
use crate::console::ConsoleError;
use crate::fastcgi::FcgiError;
use crate::lambda::diagnostic::Diagnostic;
use crate::lambda::events::EventError;
use crate::lambda::response;
use crate::message::HttpResponse;
use crate::php_fpm::{BackendError, FpmError};
use crate::worker::WorkerError;

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
pub(super) enum ScriptError {
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
    pub(super) fn into_response(self, request_id: &str) -> Result<HttpResponse, AppError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::events;

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
