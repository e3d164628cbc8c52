//! The Lambda Runtime API client: one kept-alive HTTP/1.1 connection, one method per call. Requests
//! are built by pure functions (unit-tested); only [`RuntimeApi::send`] does I/O.
//!
//! `/next` has no timeout on purpose: the sandbox is frozen while it waits.

use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::diagnostic::Diagnostic;
use super::InvocationInfo;

const VERSION: &str = "2018-06-01";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach the Runtime API at {authority}: {source}")]
    Connect {
        authority: String,
        source: std::io::Error,
    },
    #[error("the Runtime API connection failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("the Runtime API answered {status} to {call}: {body}")]
    Status {
        call: &'static str,
        status: StatusCode,
        body: String,
    },
    #[error("the Runtime API's /next answer has no Lambda-Runtime-Aws-Request-Id")]
    MissingRequestId,
    #[error("invalid AWS_LAMBDA_RUNTIME_API value {0:?}")]
    BadAddress(String),
}

/// One event to handle.
#[derive(Debug)]
pub struct Next {
    pub info: InvocationInfo,
    pub event: Bytes,
}

/// Where the Runtime API is: `host:port` on Lambda, `http://host:port/prefix` in some emulators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub authority: String,
    pub prefix: String,
}

impl Endpoint {
    pub fn parse(value: &str) -> Result<Self, ApiError> {
        let rest = value.trim().strip_prefix("http://").unwrap_or(value.trim());
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() || rest.starts_with("https://") || value.contains("https://") {
            return Err(ApiError::BadAddress(value.to_owned()));
        }
        Ok(Self {
            authority: authority.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    fn uri(&self, path: &str) -> String {
        format!("{}/{VERSION}/runtime/{path}", self.prefix)
    }

    pub fn next_request(&self) -> Request<Full<Bytes>> {
        self.request(Method::GET, self.uri("invocation/next"), Bytes::new(), None)
    }

    pub fn response_request(&self, request_id: &str, body: Bytes) -> Request<Full<Bytes>> {
        self.request(
            Method::POST,
            self.uri(&format!("invocation/{}/response", segment(request_id))),
            body,
            None,
        )
    }

    pub fn error_request(&self, request_id: &str, diagnostic: &Diagnostic) -> Request<Full<Bytes>> {
        let uri = self.uri(&format!("invocation/{}/error", segment(request_id)));
        self.request(
            Method::POST,
            uri,
            Bytes::from(diagnostic.to_json()),
            Some(&diagnostic.error_type),
        )
    }

    pub fn init_error_request(&self, diagnostic: &Diagnostic) -> Request<Full<Bytes>> {
        self.request(
            Method::POST,
            self.uri("init/error"),
            Bytes::from(diagnostic.to_json()),
            Some(&diagnostic.error_type),
        )
    }

    fn request(
        &self,
        method: Method,
        uri: String,
        body: Bytes,
        error_type: Option<&str>,
    ) -> Request<Full<Bytes>> {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, &self.authority)
            .header(
                header::USER_AGENT,
                concat!("lambda-fpm/", env!("CARGO_PKG_VERSION")),
            );
        if !body.is_empty() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(t) = error_type {
            builder = builder.header("Lambda-Runtime-Function-Error-Type", t);
        }
        // Every part was validated or encoded above; an error here would be a bug, answered as an
        // empty request the API will reject rather than a panic.
        builder
            .body(Full::new(body))
            .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())))
    }
}

/// Request ids are UUIDs; anything else is percent-encoded so it cannot change the path.
fn segment(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2D", "-")
}

/// Reads the invocation headers of a `/next` answer.
pub fn invocation_info(headers: &HeaderMap) -> Result<InvocationInfo, ApiError> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok(InvocationInfo {
        request_id: get("lambda-runtime-aws-request-id")
            .filter(|s| !s.is_empty())
            .ok_or(ApiError::MissingRequestId)?,
        deadline_ms: get("lambda-runtime-deadline-ms").and_then(|v| v.trim().parse().ok()),
        function_arn: get("lambda-runtime-invoked-function-arn").unwrap_or_default(),
        trace_id: get("lambda-runtime-trace-id").filter(|s| !s.is_empty()),
    })
}

pub struct RuntimeApi {
    endpoint: Endpoint,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl RuntimeApi {
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            sender: None,
        }
    }

    pub async fn next(&mut self) -> Result<Next, ApiError> {
        let request = self.endpoint.next_request();
        let (status, headers, body) = self.send(request).await?;
        if !status.is_success() {
            return Err(status_error("GET /invocation/next", status, &body));
        }
        Ok(Next {
            info: invocation_info(&headers)?,
            event: body,
        })
    }

    pub async fn respond(&mut self, request_id: &str, body: Bytes) -> Result<(), ApiError> {
        let request = self.endpoint.response_request(request_id, body);
        self.expect_accepted("POST /invocation/{id}/response", request)
            .await
    }

    pub async fn fail(
        &mut self,
        request_id: &str,
        diagnostic: &Diagnostic,
    ) -> Result<(), ApiError> {
        let request = self.endpoint.error_request(request_id, diagnostic);
        self.expect_accepted("POST /invocation/{id}/error", request)
            .await
    }

    pub async fn init_error(&mut self, diagnostic: &Diagnostic) -> Result<(), ApiError> {
        let request = self.endpoint.init_error_request(diagnostic);
        self.expect_accepted("POST /init/error", request).await
    }

    async fn expect_accepted(
        &mut self,
        call: &'static str,
        request: Request<Full<Bytes>>,
    ) -> Result<(), ApiError> {
        let (status, _, body) = self.send(request).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(status_error(call, status, &body))
        }
    }

    async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, HeaderMap, Bytes), ApiError> {
        let result = self.try_send(request).await;
        if result.is_err() {
            // Reconnect on the next call.
            self.sender = None;
        }
        result
    }

    async fn try_send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, HeaderMap, Bytes), ApiError> {
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        self.sender = Some(sender);
        Ok((parts.status, parts.headers, body))
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ApiError> {
        let authority = &self.endpoint.authority;
        let stream = TcpStream::connect(authority)
            .await
            .map_err(|source| ApiError::Connect {
                authority: authority.clone(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

fn status_error(call: &'static str, status: StatusCode, body: &[u8]) -> ApiError {
    let body = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
    ApiError::Status { call, status, body }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            e.next_request().uri(),
            "/.rt/2018-06-01/runtime/invocation/next"
        );
        assert!(Endpoint::parse("").is_err());
        assert!(Endpoint::parse("https://x").is_err());
    }

    #[test]
    fn requests_carry_ids_types_and_host() {
        let e = Endpoint::parse("127.0.0.1:9001").expect("ok");
        let r = e.response_request("8476a536-e9f4", Bytes::from_static(b"{}"));
        assert_eq!(r.method(), Method::POST);
        assert_eq!(
            r.uri(),
            "/2018-06-01/runtime/invocation/8476a536-e9f4/response"
        );
        assert_eq!(r.headers()[header::HOST], "127.0.0.1:9001");
        let d = Diagnostic::new("Runtime.UnsupportedEvent", "nope");
        let r = e.error_request("../x", &d);
        assert_eq!(r.uri(), "/2018-06-01/runtime/invocation/%2E%2E%2Fx/error");
        assert_eq!(
            r.headers()["lambda-runtime-function-error-type"],
            "Runtime.UnsupportedEvent"
        );
        assert_eq!(
            e.init_error_request(&d).uri(),
            "/2018-06-01/runtime/init/error"
        );
    }

    #[test]
    fn invocation_headers() {
        let mut h = HeaderMap::new();
        assert!(matches!(
            invocation_info(&h),
            Err(ApiError::MissingRequestId)
        ));
        h.insert("lambda-runtime-aws-request-id", "abc".parse().expect("hv"));
        h.insert(
            "lambda-runtime-deadline-ms",
            "1700000000000".parse().expect("hv"),
        );
        h.insert("lambda-runtime-trace-id", "Root=1-2".parse().expect("hv"));
        let info = invocation_info(&h).expect("ok");
        assert_eq!(info.request_id, "abc");
        assert_eq!(info.deadline_ms, Some(1_700_000_000_000));
        assert_eq!(info.trace_id.as_deref(), Some("Root=1-2"));
    }
}
