//! The event handler: every event that is not an HTTP request runs `LAMBDA_FPM_EVENT_HANDLER` through
//! php-fpm, on the same workers, deadline and recovery as a web request. The event is the body of a JSON
//! POST, byte for byte; the script's output, which must be JSON, is the invocation's result, byte for
//! byte (so an SQS `batchItemFailures` answer reaches Lambda unchanged).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use percent_encoding::percent_decode;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::cgi::CgiError;
use crate::fastcgi::{FcgiError, Params, Request};
use crate::lambda::event_source::Source;
use crate::lambda::{response, InvocationInfo};
use crate::message::HttpResponse;
use crate::php_fpm::{Backend, BackendError, FpmError};

/// The runtime's PHP entry script, written next to php-fpm's socket at init (see its comments).
pub const ENTRY_SCRIPT: &str = include_str!("worker/entry.php");
/// The header in which the entry script reports a fatal error's message (percent-encoded).
const PHP_ERROR_HEADER: &str = "x-lambda-fpm-php-error";
/// Room for CGI headers on top of the largest result Lambda accepts.
const MAX_STDOUT: usize = response::BUFFERED_LIMIT + 64 * 1024;
/// How much of a failed handler's output an error message quotes.
const EXCERPT_BYTES: usize = 1000;

/// `LAMBDA_FPM_EVENT_HANDLER`, resolved at init.
#[derive(Debug, Clone)]
pub struct EventHandler {
    /// The handler script, canonical.
    pub script: PathBuf,
    /// `/` and its path below the task root: `SCRIPT_NAME`.
    pub script_name: String,
    /// The entry script php-fpm runs for it ([`ENTRY_SCRIPT`]).
    pub entry: PathBuf,
    /// The task root: `DOCUMENT_ROOT`.
    pub task_root: PathBuf,
}

/// Why an event got no result: the invocation fails with this as its `/error`.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("php-fpm is unavailable: {0}")]
    Unavailable(FpmError),
    #[error("the event handler was still running after {0:?} (the invocation deadline minus the safety margin); its PHP worker was killed")]
    Timeout(Duration),
    #[error(
        "the event handler's PHP worker ended before it answered ({0}); php-fpm starts a new one"
    )]
    Died(FcgiError),
    #[error("the event handler printed {0} bytes, more than a Lambda result can hold ({limit} bytes)", limit = response::BUFFERED_LIMIT)]
    TooLarge(usize),
    #[error("the event handler failed with status {status}: {message}")]
    Failed { status: u16, message: String },
    #[error("the event handler's output is not JSON ({reason}): {message}")]
    NotJson { reason: String, message: String },
    #[error("the event handler's output is not valid CGI: {0}")]
    Cgi(CgiError),
}

impl WorkerError {
    /// The `errorType` Lambda reports: `Function.*` when the PHP code failed, `Runtime.*` when
    /// php-fpm itself did.
    pub fn error_type(&self) -> &'static str {
        match self {
            WorkerError::Unavailable(_) => "Runtime.PhpFpmUnavailable",
            WorkerError::Timeout(_) => "Function.Timeout",
            WorkerError::Died(_) => "Function.WorkerDied",
            WorkerError::TooLarge(_) => "Function.ResponseSizeTooLarge",
            WorkerError::Failed { .. } => "Function.PhpError",
            WorkerError::NotJson { .. } | WorkerError::Cgi(_) => "Function.InvalidOutput",
        }
    }
}

impl From<BackendError> for WorkerError {
    fn from(error: BackendError) -> Self {
        match error {
            BackendError::Unavailable(e) => WorkerError::Unavailable(e),
            BackendError::Timeout(after) => WorkerError::Timeout(after),
            BackendError::Fcgi(e) => WorkerError::Died(e),
        }
    }
}

/// Where an event's handler runs: the php-fpm the HTTP path uses, and the time it may take.
pub struct Run<'a> {
    pub backend: &'a Backend,
    /// `SERVER_SOFTWARE`, as the HTTP path sets it.
    pub server_software: &'a str,
    pub budget: Duration,
}

/// Runs the handler for `event` and returns its output as the result JSON.
pub async fn run(
    on: Run<'_>,
    handler: &EventHandler,
    event: &[u8],
    source: &Source,
    invocation: &InvocationInfo,
) -> Result<Vec<u8>, WorkerError> {
    let mut params = params(handler, on.server_software, event.len(), source);
    params.extend(invocation.server_variables(None));
    let request_id = invocation.request_id.as_str();
    // php-fpm sends PHP's messages to its own log; a php.ini that turns fastcgi.logging on sends
    // them here as well.
    let on_stderr = |chunk: &[u8]| {
        for line in crate::cgi::stderr_lines(chunk) {
            crate::logging::php_line(&line, Some(request_id));
        }
    };
    let started = Instant::now();
    let output = on
        .backend
        .execute(
            &Request::new(&params, event),
            on.budget,
            MAX_STDOUT,
            on_stderr,
        )
        .await?;
    if output.dropped > 0 {
        return Err(WorkerError::TooLarge(output.stdout.len() + output.dropped));
    }
    let result = crate::cgi::parse(output.stdout)
        .map_err(WorkerError::Cgi)
        .and_then(result)?;
    log_result(&result, source, request_id, started.elapsed());
    Ok(result)
}

/// The CGI params of an event: a JSON POST to the handler (through the entry script).
fn params(handler: &EventHandler, software: &str, length: usize, source: &Source) -> Params {
    let mut p = Params::default();
    p.add("GATEWAY_INTERFACE", "CGI/1.1");
    p.add("SERVER_SOFTWARE", software);
    p.add("SERVER_PROTOCOL", "HTTP/1.1");
    p.add("REQUEST_METHOD", "POST");
    p.add("REQUEST_URI", handler.script_name.as_bytes());
    p.add("DOCUMENT_URI", handler.script_name.as_bytes());
    p.add("QUERY_STRING", "");
    p.add(
        "SCRIPT_FILENAME",
        handler.entry.as_os_str().as_encoded_bytes(),
    );
    p.add("SCRIPT_NAME", handler.script_name.as_bytes());
    p.add(
        "DOCUMENT_ROOT",
        handler.task_root.as_os_str().as_encoded_bytes(),
    );
    p.add("SERVER_NAME", "localhost");
    p.add("SERVER_ADDR", "127.0.0.1");
    p.add("SERVER_PORT", "80");
    p.add("REMOTE_ADDR", "127.0.0.1");
    p.add("REDIRECT_STATUS", "200");
    p.add("CONTENT_TYPE", "application/json");
    p.add("CONTENT_LENGTH", length.to_string());
    p.add("LAMBDA_EVENT_SOURCE", source.name());
    p.add(
        "LAMBDA_FPM_HANDLER_SCRIPT",
        handler.script.as_os_str().as_encoded_bytes(),
    );
    p
}

/// The script's response → the result: its body when the status is below 400 and the body is JSON
/// (an empty body is `null`). Checked without re-serialising, so the bytes go out as PHP wrote them.
/// Pure.
fn result(response: HttpResponse) -> Result<Vec<u8>, WorkerError> {
    let php_error = response.header(PHP_ERROR_HEADER).map(|value| {
        percent_decode(value)
            .decode_utf8_lossy()
            .trim_end()
            .to_owned()
    });
    if response.status >= 400 {
        let message = php_error.unwrap_or_else(|| excerpt(&response.body));
        return Err(WorkerError::Failed {
            status: response.status,
            message,
        });
    }
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(b"null".to_vec());
    }
    if response.body.len() > response::BUFFERED_LIMIT {
        return Err(WorkerError::TooLarge(response.body.len()));
    }
    match serde_json::from_slice::<&RawValue>(&response.body) {
        Ok(_) => Ok(Vec::from(response.body)),
        Err(e) => Err(WorkerError::NotJson {
            reason: e.to_string(),
            message: php_error.unwrap_or_else(|| format!("it begins {}", excerpt(&response.body))),
        }),
    }
}

/// The start of a body for an error message, on one line.
fn excerpt(body: &[u8]) -> String {
    if body.iter().all(u8::is_ascii_whitespace) {
        return "(no output)".into();
    }
    let cut = body.len() > EXCERPT_BYTES;
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{line:?}{}", if cut { " …" } else { "" })
}

/// One line per result worth knowing: records a batch handler reports as failed (the event source
/// retries them); a plain success is a debug line.
fn log_result(result: &[u8], source: &Source, request_id: &str, elapsed: Duration) {
    #[derive(Deserialize)]
    struct Batch {
        #[serde(rename = "batchItemFailures")]
        failures: Option<Vec<IgnoredAny>>,
    }
    let failed = serde_json::from_slice::<Batch>(result)
        .ok()
        .and_then(|b| b.failures)
        .map_or(0, |f| f.len());
    if failed > 0 {
        let of = match source {
            Source::Sqs { records } => format!(" of {records}"),
            _ => String::new(),
        };
        tracing::warn!(
            requestId = request_id,
            source = source.name(),
            "the event handler reported {failed}{of} records as failed (batchItemFailures): they will be retried"
        );
    } else {
        tracing::debug!(
            requestId = request_id,
            source = source.name(),
            "the event handler answered in {elapsed:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn response(status: u16, body: &str) -> HttpResponse {
        let mut r = HttpResponse::new(status);
        r.body = Bytes::copy_from_slice(body.as_bytes());
        r
    }

    #[test]
    fn json_output_is_the_result_byte_for_byte() {
        for body in [
            r#"{"batchItemFailures":[{"itemIdentifier":"a"}]}"#,
            "  [1, 2.50, \"\\u00e9\"]\n",
            "\"text\"",
            "0",
        ] {
            assert_eq!(
                result(response(200, body)).expect("json"),
                body.as_bytes(),
                "{body}"
            );
        }
        assert_eq!(result(response(204, "")).expect("empty"), b"null");
        assert_eq!(result(response(200, " \n")).expect("blank"), b"null");
    }

    #[test]
    fn output_that_is_not_json_is_named() {
        let err = result(response(200, "Hello <b>world</b>")).expect_err("html");
        assert_eq!(err.error_type(), "Function.InvalidOutput");
        assert!(err.to_string().contains("\"Hello <b>world</b>\""), "{err}");
        let err = result(response(200, "{\"a\":1} trailing")).expect_err("trailing");
        assert!(err.to_string().contains("trailing characters"), "{err}");
    }

    #[test]
    fn a_failing_status_carries_php_s_message() {
        let mut r = response(500, "");
        r.headers.push(crate::message::Header::new(
            "X-Lambda-Fpm-Php-Error",
            "Uncaught%20Exception%3A%20boom%0AStack%20trace%3A in /t/worker.php:3",
        ));
        let err = result(r).expect_err("500");
        assert_eq!(err.error_type(), "Function.PhpError");
        assert_eq!(
            err.to_string(),
            "the event handler failed with status 500: Uncaught Exception: boom\nStack trace: in /t/worker.php:3"
        );
        let err = result(response(422, "{\"error\":\"bad   input\"}")).expect_err("422");
        assert!(
            err.to_string()
                .ends_with("status 422: \"{\\\"error\\\":\\\"bad input\\\"}\""),
            "{err}"
        );
        let err = result(response(503, "")).expect_err("503");
        assert!(err.to_string().ends_with("(no output)"), "{err}");
    }

    #[test]
    fn params_make_a_json_post_to_the_entry_script() {
        let handler = EventHandler {
            script: PathBuf::from("/var/task/worker.php"),
            script_name: "/worker.php".into(),
            entry: PathBuf::from("/tmp/lambda-fpm-1/event-entry.php"),
            task_root: PathBuf::from("/var/task"),
        };
        let p = params(&handler, "lambda-fpm/0", 42, &Source::Sqs { records: 1 });
        let get = |name: &str| {
            p.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(get("REQUEST_METHOD").as_deref(), Some("POST"));
        assert_eq!(get("CONTENT_TYPE").as_deref(), Some("application/json"));
        assert_eq!(get("CONTENT_LENGTH").as_deref(), Some("42"));
        assert_eq!(get("LAMBDA_EVENT_SOURCE").as_deref(), Some("aws:sqs"));
        assert_eq!(
            get("SCRIPT_FILENAME").as_deref(),
            Some("/tmp/lambda-fpm-1/event-entry.php")
        );
        assert_eq!(
            get("LAMBDA_FPM_HANDLER_SCRIPT").as_deref(),
            Some("/var/task/worker.php")
        );
        assert_eq!(get("SCRIPT_NAME").as_deref(), Some("/worker.php"));
    }

    #[test]
    fn backend_failures_map_to_error_types() {
        let timeout = WorkerError::from(BackendError::Timeout(Duration::from_secs(2)));
        assert_eq!(timeout.error_type(), "Function.Timeout");
        let died = WorkerError::from(BackendError::Fcgi(FcgiError::Closed));
        assert_eq!(died.error_type(), "Function.WorkerDied");
        assert_eq!(
            WorkerError::TooLarge(7_000_000).error_type(),
            "Function.ResponseSizeTooLarge"
        );
    }
}
