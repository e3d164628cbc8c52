//! The Lambda Runtime API client: one kept-alive HTTP/1.1 connection, one method per call. Requests
//! are built by pure functions (unit-tested); only [`RuntimeApi::send`] does I/O.
//!
//! `/next` has no timeout on purpose: the sandbox is frozen while it waits.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{header, HeaderMap, Method, Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    Io(std::io::Error),
    #[error("the Runtime API closed the connection before its answer was complete")]
    Closed,
    #[error("the Runtime API's answer is not valid HTTP/1.1: {0}")]
    Protocol(String),
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

    pub fn next_request(&self) -> Request<Bytes> {
        self.request(Method::GET, self.uri("invocation/next"), Bytes::new(), None)
    }

    pub fn response_request(&self, request_id: &str, body: Bytes) -> Request<Bytes> {
        self.request(
            Method::POST,
            self.uri(&format!("invocation/{}/response", segment(request_id))),
            body,
            None,
        )
    }

    pub fn error_request(&self, request_id: &str, diagnostic: &Diagnostic) -> Request<Bytes> {
        let uri = self.uri(&format!("invocation/{}/error", segment(request_id)));
        self.request(
            Method::POST,
            uri,
            Bytes::from(diagnostic.to_json()),
            Some(&diagnostic.error_type),
        )
    }

    pub fn init_error_request(&self, diagnostic: &Diagnostic) -> Request<Bytes> {
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
    ) -> Request<Bytes> {
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
            .body(body)
            .unwrap_or_else(|_| Request::new(Bytes::new()))
    }
}

/// Request ids are UUIDs; anything else is percent-encoded so it cannot change the path.
fn segment(id: &str) -> String {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return id.to_owned();
    }
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
    conn: Option<Conn>,
}

/// The kept-alive connection: the socket and what has been read from it but not yet used.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    out: Vec<u8>,
}

impl RuntimeApi {
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            conn: None,
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
        request: Request<Bytes>,
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
        request: Request<Bytes>,
    ) -> Result<(StatusCode, HeaderMap, Bytes), ApiError> {
        let (parts, body) = request.into_parts();
        let (mut conn, reused) = match self.conn.take() {
            Some(conn) => (conn, true),
            None => (self.connect().await?, false),
        };
        let mut result = conn.exchange(&parts, &body).await;
        if reused && matches!(result, Err(ApiError::Closed | ApiError::Io(_))) {
            // The API closed the kept-alive connection while it was idle: the request never reached
            // it. Once more on a new connection.
            conn = self.connect().await?;
            result = conn.exchange(&parts, &body).await;
        }
        // Kept for the next call unless it failed or the API asked to close it.
        let (status, headers, body, keep) = result?;
        if keep {
            self.conn = Some(conn);
        }
        Ok((status, headers, body))
    }

    async fn connect(&self) -> Result<Conn, ApiError> {
        let authority = &self.endpoint.authority;
        let stream = TcpStream::connect(authority)
            .await
            .map_err(|source| ApiError::Connect {
                authority: authority.clone(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
            out: Vec::with_capacity(1024),
        })
    }
}

/// Bodies larger than this are read into their own buffer rather than the connection's.
const LARGE_BODY: usize = 64 * 1024;

/// Most a response head may take (the Runtime API's are a few hundred bytes; client context can be
/// larger).
const MAX_HEAD: usize = 1024 * 1024;

impl Conn {
    /// Writes one request and reads its response: HTTP/1.1 on a kept-alive connection, written by hand
    /// (a request line, a few headers, a `Content-Length` body; `Content-Length`, chunked or
    /// until-close response bodies). Returns whether the connection can be reused.
    async fn exchange(
        &mut self,
        parts: &http::request::Parts,
        body: &Bytes,
    ) -> Result<(StatusCode, HeaderMap, Bytes, bool), ApiError> {
        self.out.clear();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        self.out.extend_from_slice(parts.method.as_str().as_bytes());
        self.out.push(b' ');
        self.out.extend_from_slice(path.as_bytes());
        self.out.extend_from_slice(b" HTTP/1.1\r\n");
        for (name, value) in &parts.headers {
            self.out.extend_from_slice(name.as_str().as_bytes());
            self.out.extend_from_slice(b": ");
            self.out.extend_from_slice(value.as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        if parts.method != Method::GET || !body.is_empty() {
            self.out
                .extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        self.out.extend_from_slice(b"\r\n");
        // Small bodies leave with the head in one write; large ones are not copied.
        if body.len() <= 16 * 1024 {
            self.out.extend_from_slice(body);
            self.stream
                .write_all(&self.out)
                .await
                .map_err(ApiError::Io)?;
        } else {
            self.stream
                .write_all(&self.out)
                .await
                .map_err(ApiError::Io)?;
            self.stream.write_all(body).await.map_err(ApiError::Io)?;
        }

        let (status, headers, head_len) = loop {
            if let Some(parsed) = parse_head(&self.buf)? {
                break parsed;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(ApiError::Protocol("the response head is too large".into()));
            }
            self.read_more().await?;
        };
        self.buf.advance(head_len);
        let mut keep = !headers
            .get(header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let chunked = headers
            .get(header::TRANSFER_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().parse::<usize>())
            .transpose()
            .map_err(|_| ApiError::Protocol("invalid Content-Length".into()))?;
        let body = if chunked {
            self.read_chunked().await?
        } else if let Some(length) = length {
            self.read_exact(length).await?
        } else if status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
            || status.is_informational()
        {
            Bytes::new()
        } else {
            // No length: the body runs to the end of the connection.
            keep = false;
            loop {
                match self.stream.read_buf(&mut self.buf).await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => return Err(ApiError::Io(e)),
                }
            }
            self.buf.split().freeze()
        };
        Ok((status, headers, body, keep))
    }

    /// Reads at least one more byte into the buffer.
    async fn read_more(&mut self) -> Result<(), ApiError> {
        self.buf.reserve(16 * 1024);
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) => Err(ApiError::Closed),
            Ok(_) => Ok(()),
            Err(e) => Err(ApiError::Io(e)),
        }
    }

    async fn read_exact(&mut self, length: usize) -> Result<Bytes, ApiError> {
        if length > LARGE_BODY && self.buf.len() < length {
            // A large body gets its own allocation, read straight from the socket: freed with the
            // event, instead of growing the connection's buffer for good.
            let mut body = BytesMut::with_capacity(length);
            body.extend_from_slice(&self.buf);
            self.buf.clear();
            while body.len() < length {
                let remaining = length - body.len();
                match self
                    .stream
                    .read_buf(&mut (&mut body).limit(remaining))
                    .await
                {
                    Ok(0) => return Err(ApiError::Closed),
                    Ok(_) => {}
                    Err(e) => return Err(ApiError::Io(e)),
                }
            }
            return Ok(body.freeze());
        }
        if self.buf.len() < length {
            self.buf.reserve(length - self.buf.len());
            while self.buf.len() < length {
                self.read_more().await?;
            }
        }
        // Copied out (it is small), so the connection's buffer is never shared and never moves: a
        // long-lived buffer reallocated on every call would land on top of the heap and keep the
        // memory freed below it from being returned to the system.
        let body = Bytes::copy_from_slice(&self.buf[..length]);
        self.buf.advance(length);
        Ok(body)
    }

    async fn read_chunked(&mut self) -> Result<Bytes, ApiError> {
        let mut body = BytesMut::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(ApiError::Protocol("invalid chunk size line".into()));
                }
                self.read_more().await?;
            };
            let size_text = std::str::from_utf8(&self.buf[..line_end]).unwrap_or("");
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| ApiError::Protocol("invalid chunk size".into()))?;
            self.buf.advance(line_end + 2);
            if size == 0 {
                // Trailers, if any, end with an empty line.
                loop {
                    let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                        self.read_more().await?;
                        continue;
                    };
                    self.buf.advance(i + 2);
                    if i == 0 {
                        return Ok(body.freeze());
                    }
                }
            }
            let chunk = self.read_exact(size + 2).await?;
            if !chunk.ends_with(b"\r\n") {
                return Err(ApiError::Protocol("a chunk does not end with CRLF".into()));
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
}

/// Parses a response head at the start of `buf`: `None` while incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(StatusCode, HeaderMap, usize)>, ApiError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let bad = |what: &str| ApiError::Protocol(format!("malformed response head: {what}"));
    let mut lines = buf[..end]
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let mut words = status_line.splitn(3, |b| *b == b' ');
    let version = words.next().unwrap_or_default();
    if !version.starts_with(b"HTTP/1.") {
        return Err(bad("not HTTP/1.x"));
    }
    let status = words
        .next()
        .and_then(|code| StatusCode::from_bytes(code).ok())
        .ok_or_else(|| bad("invalid status code"))?;
    let mut headers = HeaderMap::new();
    for line in lines {
        let colon = line
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| bad("a header line without a colon"))?;
        let name = header::HeaderName::from_bytes(line[..colon].trim_ascii())
            .map_err(|_| bad("an invalid header name"))?;
        let value = header::HeaderValue::from_bytes(line[colon + 1..].trim_ascii())
            .map_err(|_| bad("an invalid header value"))?;
        headers.append(name, value);
    }
    Ok(Some((status, headers, end + 4)))
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

    #[test]
    fn response_heads_parse_only_when_complete() {
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\nA: b\r\n"),
            Ok(None)
        ));
        let (status, headers, len) =
            parse_head(b"HTTP/1.1 202 Accepted\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody")
                .expect("valid")
                .expect("complete");
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(headers.get_all("x-a").iter().count(), 2);
        assert_eq!(len, 41);
        assert!(parse_head(b"SMTP 220 hi\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 2x0 OK\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn bodies_by_length_chunked_and_until_close_and_reconnects() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let answers: [&[u8]; 3] = [
                b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nContent-Length: 2\r\n\r\n{}",
                b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r2\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n",
                b"HTTP/1.1 202 Accepted\r\nConnection: close\r\n\r\ndone",
            ];
            // The first connection answers two requests and then closes: the third goes on a new one.
            for range in [0..2, 2..3] {
                let (mut stream, _) = listener.accept().await.expect("accept");
                for i in range {
                    let mut buf = vec![0u8; 4096];
                    let n = stream.read(&mut buf).await.expect("read");
                    assert!(n > 0);
                    stream.write_all(answers[i]).await.expect("write");
                }
            }
        });
        let mut api = RuntimeApi::new(Endpoint::parse(&addr.to_string()).expect("endpoint"));
        let first = api.next().await.expect("first");
        assert_eq!(first.info.request_id, "r1");
        assert_eq!(&first.event[..], b"{}");
        let second = api.next().await.expect("second");
        assert_eq!(second.info.request_id, "r2");
        assert_eq!(&second.event[..], b"{\"a\":1}");
        api.respond("r2", Bytes::from_static(b"{}"))
            .await
            .expect("accepted");
        server.await.expect("server");
    }
}
