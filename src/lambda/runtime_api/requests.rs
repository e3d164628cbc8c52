//! The Runtime API's calls as values, built without I/O: where the API is ([`Endpoint`]), one
//! [`ApiRequest`] per call with the exact bytes of its head, and what a `/next` answer's headers say.

use std::borrow::Cow;
use std::io::Write as _;

use bytes::Bytes;
use http::Method;

use super::head::Headers;
use super::ApiError;
use crate::lambda::diagnostic::Diagnostic;
use crate::lambda::InvocationInfo;

const VERSION: &str = "2018-06-01";
const USER_AGENT: &str = concat!("lambda-fpm/", env!("CARGO_PKG_VERSION"));
const ERROR_TYPE: &str = "Lambda-Runtime-Function-Error-Type";
const ERROR_BODY: &str = "Lambda-Runtime-Function-Error-Body";

/// Where the Runtime API is: `host:port` on Lambda, `http://host:port/prefix` in some emulators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub authority: String,
    pub prefix: String,
}

/// One Runtime API call, ready to be written on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// How errors name the call, e.g. `GET /invocation/next`.
    pub call: &'static str,
    pub method: Method,
    /// The request target: the endpoint's prefix, the API version and the call's path.
    pub path: String,
    /// Headers beyond `Host`, `User-Agent` and the body's length, which every request carries.
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
    /// The body follows the head in chunks (`Transfer-Encoding: chunked`), ending with trailers.
    pub chunked: bool,
}

impl Endpoint {
    pub fn parse(value: &str) -> Result<Self, ApiError> {
        let trimmed = value.trim();
        let rest = trimmed.strip_prefix("http://").unwrap_or(trimmed);
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        // Both end up verbatim in the request line and the Host header: a space or a control byte
        // there would make every request malformed, so such a value is refused here.
        let printable = rest.bytes().all(|b| b.is_ascii_graphic());
        if authority.is_empty() || !printable || value.contains("https://") {
            return Err(ApiError::BadAddress(value.to_owned()));
        }
        Ok(Self {
            authority: authority.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The request target of a call: the prefix, the API version, `/runtime/`, then `parts`, written
    /// into one `String` (a call per invocation, so no `format!` and no intermediate strings).
    fn path(&self, parts: &[&str]) -> String {
        let head = [self.prefix.as_str(), "/", VERSION, "/runtime/"];
        let mut path =
            String::with_capacity(head.iter().chain(parts).map(|p| p.len()).sum::<usize>());
        for part in head.iter().chain(parts) {
            path.push_str(part);
        }
        path
    }

    /// The target of a call about one invocation: `invocation/{id}/{call}`.
    fn invocation_path(&self, request_id: &str, call: &str) -> String {
        self.path(&["invocation/", &segment(request_id), "/", call])
    }

    /// `GET /runtime/invocation/next`: the next event (a long poll).
    pub fn next_request(&self) -> ApiRequest {
        ApiRequest {
            call: "GET /invocation/next",
            method: Method::GET,
            path: self.path(&["invocation/next"]),
            headers: Vec::new(),
            body: Bytes::new(),
            chunked: false,
        }
    }

    /// `POST /runtime/invocation/{id}/response`: the invocation's result.
    pub fn response_request(&self, request_id: &str, body: Bytes) -> ApiRequest {
        ApiRequest {
            call: "POST /invocation/{id}/response",
            method: Method::POST,
            path: self.invocation_path(request_id, "response"),
            headers: vec![("Content-Type", "application/json".into())],
            body,
            chunked: false,
        }
    }

    /// `POST /runtime/invocation/{id}/response` in streaming mode: an HTTP integration response (JSON
    /// prelude, 8 NUL bytes, raw body) in chunks, and the error trailers a failure after the first
    /// byte sets.
    pub fn streaming_response_request(&self, request_id: &str) -> ApiRequest {
        ApiRequest {
            call: "POST /invocation/{id}/response (streaming)",
            method: Method::POST,
            path: self.invocation_path(request_id, "response"),
            headers: vec![
                ("Lambda-Runtime-Function-Response-Mode", "streaming".into()),
                (
                    "Content-Type",
                    "application/vnd.awslambda.http-integration-response".into(),
                ),
                ("Trailer", format!("{ERROR_TYPE}, {ERROR_BODY}")),
            ],
            body: Bytes::new(),
            chunked: true,
        }
    }

    /// `POST /runtime/invocation/{id}/error`: the invocation failed.
    pub fn error_request(&self, request_id: &str, diagnostic: &Diagnostic) -> ApiRequest {
        let path = self.invocation_path(request_id, "error");
        failure("POST /invocation/{id}/error", path, diagnostic)
    }

    /// `POST /runtime/init/error`: init failed; the runtime exits next.
    pub fn init_error_request(&self, diagnostic: &Diagnostic) -> ApiRequest {
        failure("POST /init/error", self.path(&["init/error"]), diagnostic)
    }

    /// `GET /runtime/restore/next` (SnapStart): init is done. Lambda takes the snapshot while this call
    /// is pending and answers it (200) in each environment restored from the snapshot.
    pub fn restore_next_request(&self) -> ApiRequest {
        ApiRequest {
            call: "GET /restore/next",
            method: Method::GET,
            path: self.path(&["restore/next"]),
            headers: Vec::new(),
            body: Bytes::new(),
            chunked: false,
        }
    }

    /// `POST /runtime/restore/error` (SnapStart): the after-restore work failed; the same body as
    /// `/init/error`. AWS's runtime interface clients send the type `Runtime.AfterRestoreError`.
    pub fn restore_error_request(&self, diagnostic: &Diagnostic) -> ApiRequest {
        failure(
            "POST /restore/error",
            self.path(&["restore/error"]),
            diagnostic,
        )
    }
}

/// An error post: the diagnostic as JSON, its type in a header as well.
fn failure(call: &'static str, path: String, diagnostic: &Diagnostic) -> ApiRequest {
    let mut headers = vec![("Content-Type", "application/json".to_owned())];
    // Error types are the runtime's own constants; one that could break the header line is left out
    // (Lambda then reports its default type) rather than written.
    if diagnostic.error_type.bytes().all(|b| b.is_ascii_graphic()) {
        headers.push((ERROR_TYPE, diagnostic.error_type.clone()));
    }
    ApiRequest {
        call,
        method: Method::POST,
        path,
        headers,
        body: Bytes::from(diagnostic.to_json()),
        chunked: false,
    }
}

/// The trailers that end a stream cut by `diagnostic`: its type, and its JSON in base64 (a trailer
/// value cannot hold the JSON's bytes as they are).
pub fn error_trailers(diagnostic: &Diagnostic) -> Vec<(&'static str, String)> {
    let mut trailers = Vec::with_capacity(2);
    if diagnostic.error_type.bytes().all(|b| b.is_ascii_graphic()) {
        trailers.push((ERROR_TYPE, diagnostic.error_type.clone()));
    }
    trailers.push((
        ERROR_BODY,
        base64_simd::STANDARD.encode_to_string(diagnostic.to_json()),
    ));
    trailers
}

impl ApiRequest {
    /// Appends the request line and headers for the API at `host`, up to and including the blank
    /// line. The body follows separately, so a large one is never copied.
    pub fn write_head(&self, host: &str, out: &mut Vec<u8>) {
        for part in [
            self.method.as_str(),
            " ",
            &self.path,
            " HTTP/1.1\r\nHost: ",
            host,
        ] {
            out.extend_from_slice(part.as_bytes());
        }
        out.extend_from_slice(b"\r\nUser-Agent: ");
        out.extend_from_slice(USER_AGENT.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            for part in [*name, ": ", value, "\r\n"] {
                out.extend_from_slice(part.as_bytes());
            }
        }
        if self.chunked {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        } else if self.method != Method::GET || !self.body.is_empty() {
            // Written straight into `out` (io::Write), with no String in between.
            let _ = write!(out, "Content-Length: {}\r\n", self.body.len());
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Request ids are UUIDs; anything else is percent-encoded so it cannot change the path.
fn segment(id: &str) -> Cow<'_, str> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Cow::Borrowed(id);
    }
    Cow::Owned(
        percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
            .to_string()
            .replace("%2D", "-"),
    )
}

/// Reads the invocation headers of a `/next` answer.
pub fn invocation_info(headers: &Headers) -> Result<InvocationInfo, ApiError> {
    let get = |name: &str| headers.get(name).map(str::to_owned);
    Ok(InvocationInfo {
        request_id: get("lambda-runtime-aws-request-id")
            .filter(|s| !s.is_empty())
            .ok_or(ApiError::MissingRequestId)?,
        deadline_ms: get("lambda-runtime-deadline-ms").and_then(|v| v.trim().parse().ok()),
        function_arn: get("lambda-runtime-invoked-function-arn").unwrap_or_default(),
        trace_id: get("lambda-runtime-trace-id").filter(|s| !s.is_empty()),
        tenant_id: get("lambda-runtime-aws-tenant-id").filter(|s| !s.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::runtime_api::head::Head;

    fn head(request: &ApiRequest) -> String {
        let mut out = Vec::new();
        request.write_head("127.0.0.1:9001", &mut out);
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn endpoint_accepts_both_forms() {
        assert_eq!(
            Endpoint::parse("127.0.0.1:9001").expect("ok"),
            Endpoint {
                authority: "127.0.0.1:9001".into(),
                prefix: "".into()
            }
        );
        let e = Endpoint::parse("http://127.0.0.1:9000/.rt/").expect("ok");
        assert_eq!(
            e,
            Endpoint {
                authority: "127.0.0.1:9000".into(),
                prefix: "/.rt".into()
            }
        );
        assert_eq!(
            e.next_request().path,
            "/.rt/2018-06-01/runtime/invocation/next"
        );
        assert!(Endpoint::parse("").is_err());
        assert!(Endpoint::parse("https://x").is_err());
        assert!(Endpoint::parse("127.0.0.1:9001/a b").is_err());
        assert!(Endpoint::parse("127.0.0.1:9001\r\nX: y").is_err());
    }

    #[test]
    fn next_is_a_bare_get() {
        let e = Endpoint::parse("127.0.0.1:9001").expect("ok");
        assert_eq!(
            head(&e.next_request()),
            format!(
                "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n\
                 User-Agent: {USER_AGENT}\r\n\r\n"
            )
        );
    }

    #[test]
    fn posts_carry_ids_types_and_lengths() {
        let e = Endpoint::parse("127.0.0.1:9001").expect("ok");
        let r = e.response_request("8476a536-e9f4", Bytes::from_static(b"{}"));
        assert_eq!(r.method, Method::POST);
        assert_eq!(
            head(&r),
            format!(
                "POST /2018-06-01/runtime/invocation/8476a536-e9f4/response HTTP/1.1\r\n\
                 Host: 127.0.0.1:9001\r\nUser-Agent: {USER_AGENT}\r\n\
                 Content-Type: application/json\r\nContent-Length: 2\r\n\r\n"
            )
        );
        let d = Diagnostic::new("Runtime.UnsupportedEvent", "nope");
        let r = e.error_request("../x", &d);
        assert_eq!(r.path, "/2018-06-01/runtime/invocation/%2E%2E%2Fx/error");
        assert!(head(&r)
            .contains("\r\nLambda-Runtime-Function-Error-Type: Runtime.UnsupportedEvent\r\n"));
        assert_eq!(r.body, Bytes::from(d.to_json()));
        let init = e.init_error_request(&d);
        assert_eq!(init.path, "/2018-06-01/runtime/init/error");
        assert_eq!(init.call, "POST /init/error");
    }

    #[test]
    fn snapstart_calls() {
        let e = Endpoint::parse("http://127.0.0.1:9000/.rt").expect("ok");
        assert_eq!(
            head(&e.restore_next_request()),
            format!(
                "GET /.rt/2018-06-01/runtime/restore/next HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n\
                 User-Agent: {USER_AGENT}\r\n\r\n"
            )
        );
        let d = Diagnostic::new("Runtime.AfterRestoreError", "php-fpm did not come back");
        let r = e.restore_error_request(&d);
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.path, "/.rt/2018-06-01/runtime/restore/error");
        assert!(head(&r)
            .contains("\r\nLambda-Runtime-Function-Error-Type: Runtime.AfterRestoreError\r\n"));
        assert_eq!(r.body, Bytes::from(d.to_json()));
    }

    #[test]
    fn an_error_type_that_would_break_the_head_is_left_out() {
        let e = Endpoint::parse("127.0.0.1:9001").expect("ok");
        let d = Diagnostic::new("Runtime.X\r\nInjected: 1", "nope");
        let text = head(&e.init_error_request(&d));
        assert!(!text.contains("Injected"), "{text}");
        assert!(!text.contains(ERROR_TYPE), "{text}");
    }

    #[test]
    fn invocation_headers() {
        let info = |lines: &str| {
            let text = format!("HTTP/1.1 200 OK\r\n{lines}\r\n");
            let head = Head::parse(text.as_bytes())
                .expect("valid")
                .expect("complete");
            invocation_info(&head.headers)
        };
        assert!(matches!(info(""), Err(ApiError::MissingRequestId)));
        let id = "lambda-runtime-aws-request-id: abc\r\n\
                  Lambda-Runtime-Deadline-Ms: 1700000000000\r\n\
                  lambda-runtime-trace-id: Root=1-2\r\n";
        let parsed = info(id).expect("ok");
        assert_eq!(parsed.request_id, "abc");
        assert_eq!(parsed.deadline_ms, Some(1_700_000_000_000));
        assert_eq!(parsed.trace_id.as_deref(), Some("Root=1-2"));
        assert_eq!(parsed.tenant_id, None, "no header, no tenant");
        let empty = format!("{id}lambda-runtime-aws-tenant-id: \r\n");
        assert_eq!(info(&empty).expect("ok").tenant_id, None);
        let tenant = format!("{id}lambda-runtime-aws-tenant-id: blue-tenant\r\n");
        let parsed = info(&tenant).expect("ok");
        assert_eq!(parsed.tenant_id.as_deref(), Some("blue-tenant"));
    }
}
