//! One kept-alive HTTP/1.1 connection to the Runtime API: writes an [`ApiRequest`] and reads the answer
//! on the same task. Written by hand rather than with hyper's client, which runs each connection in
//! its own task and collects large bodies from many chunks (docs/design.md has the numbers).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{header, HeaderMap, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::requests::ApiRequest;
use super::ApiError;

/// Bodies larger than this are read into their own buffer rather than the connection's.
const LARGE_BODY: usize = 64 * 1024;

/// Request bodies up to this size leave in the same write as the head; larger ones are not copied.
const SMALL_REQUEST_BODY: usize = 16 * 1024;

/// Most a response head may take (the Runtime API's are a few hundred bytes; client context can be
/// larger).
const MAX_HEAD: usize = 1024 * 1024;

/// The Runtime API's answer to one request.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The socket, what has been read from it but not yet used, and the buffer requests are written from.
pub struct ApiConnection {
    stream: TcpStream,
    host: String,
    buf: BytesMut,
    out: Vec<u8>,
    reusable: bool,
}

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Chunked,
    Length(usize),
    Empty,
    UntilClose,
}

impl ApiConnection {
    pub async fn connect(authority: &str) -> Result<Self, ApiError> {
        let stream = TcpStream::connect(authority)
            .await
            .map_err(|source| ApiError::Connect {
                authority: authority.to_owned(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        Ok(Self {
            stream,
            host: authority.to_owned(),
            buf: BytesMut::with_capacity(16 * 1024),
            out: Vec::with_capacity(1024),
            reusable: true,
        })
    }

    /// Whether the last exchange completed and the API did not ask to close the connection.
    pub fn is_reusable(&self) -> bool {
        self.reusable
    }

    /// Writes one request and reads its response.
    pub async fn exchange(&mut self, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
        self.reusable = false;
        self.send(request).await?;
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
        let keep_alive = !headers
            .get(header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let framing = framing(status, &headers)?;
        let body = match framing {
            Framing::Chunked => self.read_chunked().await?,
            Framing::Length(length) => self.read_exact(length).await?,
            Framing::Empty => Bytes::new(),
            Framing::UntilClose => self.read_to_end().await?,
        };
        self.reusable = keep_alive && framing != Framing::UntilClose;
        Ok(ApiResponse {
            status,
            headers,
            body,
        })
    }

    async fn send(&mut self, request: &ApiRequest) -> Result<(), ApiError> {
        self.out.clear();
        request.write_head(&self.host, &mut self.out);
        if request.body.len() <= SMALL_REQUEST_BODY {
            self.out.extend_from_slice(&request.body);
            self.stream.write_all(&self.out).await.map_err(ApiError::Io)
        } else {
            self.stream
                .write_all(&self.out)
                .await
                .map_err(ApiError::Io)?;
            self.stream
                .write_all(&request.body)
                .await
                .map_err(ApiError::Io)
        }
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

    /// A body without a length runs to the end of the connection.
    async fn read_to_end(&mut self) -> Result<Bytes, ApiError> {
        loop {
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => return Ok(self.buf.split().freeze()),
                Ok(_) => {}
                Err(e) => return Err(ApiError::Io(e)),
            }
        }
    }
}

/// How the body that follows a response head is delimited.
fn framing(status: StatusCode, headers: &HeaderMap) -> Result<Framing, ApiError> {
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
    Ok(if chunked {
        Framing::Chunked
    } else if let Some(length) = length {
        Framing::Length(length)
    } else if status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || status.is_informational()
    {
        Framing::Empty
    } else {
        Framing::UntilClose
    })
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn bodies_are_framed_by_encoding_length_or_status() {
        let head = |text: &[u8]| {
            let (status, headers, _) = parse_head(text).expect("valid").expect("complete");
            framing(status, &headers)
        };
        assert_eq!(
            head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n")
                .expect("ok"),
            Framing::Chunked
        );
        assert_eq!(
            head(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n").expect("ok"),
            Framing::Length(12)
        );
        assert_eq!(
            head(b"HTTP/1.1 204 No Content\r\n\r\n").expect("ok"),
            Framing::Empty
        );
        assert_eq!(
            head(b"HTTP/1.1 200 OK\r\n\r\n").expect("ok"),
            Framing::UntilClose
        );
        assert!(head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").is_err());
    }
}
