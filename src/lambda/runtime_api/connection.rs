//! One kept-alive HTTP/1.1 connection to the Runtime API: writes an [`ApiRequest`] and reads the answer
//! on the same task: the head parsed by httparse, the body read by length, chunked or up to the end of
//! the connection. Not hyper's client, which runs each connection in its own task and collects large
//! bodies from many chunks (docs/design.md has the numbers).

use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::head::{Framing, Head, Headers, MAX_HEADERS};
use super::requests::ApiRequest;
use super::ApiError;

/// Bodies larger than this are read into their own buffer rather than the connection's.
const LARGE_BODY: usize = 64 * 1024;

/// Request bodies up to this size leave in the same write as the head; larger ones are not copied.
const SMALL_REQUEST_BODY: usize = 16 * 1024;

/// Most a response head may take (the Runtime API's are a few hundred bytes; client context can be
/// larger).
const MAX_HEAD: usize = 1024 * 1024;

/// Most a response body may take. Events are at most 6 MB; anything far larger is a broken length,
/// refused before it is allocated.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The Runtime API's answer to one request.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: Headers,
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
        self.read_response().await
    }

    /// Writes the head of a request whose body follows in chunks ([`ApiConnection::write_chunk`],
    /// then [`ApiConnection::finish_chunks`] and [`ApiConnection::read_response`]).
    pub async fn start_chunked(&mut self, request: &ApiRequest) -> Result<(), ApiError> {
        self.reusable = false;
        self.send(request).await
    }

    /// One chunk of a chunked body (nothing for an empty one: a zero-size chunk would end the body).
    /// The size line, the data and its CRLF leave in one vectored write: three writes made the API
    /// wake up to three times per chunk.
    pub async fn write_chunk(&mut self, data: &[u8]) -> Result<(), ApiError> {
        if data.is_empty() {
            return Ok(());
        }
        let size_line = format!("{:x}\r\n", data.len());
        let mut parts = [
            IoSlice::new(size_line.as_bytes()),
            IoSlice::new(data),
            IoSlice::new(b"\r\n"),
        ];
        let mut parts = &mut parts[..];
        while !parts.is_empty() {
            let written = self
                .stream
                .write_vectored(parts)
                .await
                .map_err(ApiError::Io)?;
            if written == 0 {
                return Err(ApiError::Io(std::io::ErrorKind::WriteZero.into()));
            }
            IoSlice::advance_slices(&mut parts, written);
        }
        Ok(())
    }

    /// The last chunk and the trailers, which end a chunked body.
    pub async fn finish_chunks(&mut self, trailers: &[(&str, String)]) -> Result<(), ApiError> {
        self.out.clear();
        self.out.extend_from_slice(b"0\r\n");
        for (name, value) in trailers {
            for part in [*name, ": ", value, "\r\n"] {
                self.out.extend_from_slice(part.as_bytes());
            }
        }
        self.out.extend_from_slice(b"\r\n");
        self.write_out().await
    }

    async fn write_out(&mut self) -> Result<(), ApiError> {
        self.stream.write_all(&self.out).await.map_err(ApiError::Io)
    }

    /// Reads the answer to the request just written.
    pub async fn read_response(&mut self) -> Result<ApiResponse, ApiError> {
        let head = loop {
            if let Some(head) = Head::parse(&self.buf)? {
                break head;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(ApiError::Protocol("the response head is too large".into()));
            }
            self.read_more().await?;
        };
        self.buf.advance(head.len);
        let framing = head.framing()?;
        let body = match framing {
            Framing::Chunked => self.read_chunked().await?,
            Framing::Length(length) => self.read_exact(length).await?,
            Framing::Empty => Bytes::new(),
            Framing::UntilClose => self.read_to_end().await?,
        };
        self.reusable = head.keep_alive && framing != Framing::UntilClose;
        Ok(ApiResponse {
            status: head.status,
            headers: head.headers,
            body,
        })
    }

    /// Whether the API closed this kept-alive connection while it was idle (then nothing written on
    /// it would arrive). Looks without waiting.
    pub fn closed_by_peer(&self) -> bool {
        let mut probe = [0u8; 1];
        matches!(self.stream.try_read(&mut probe), Ok(0))
    }

    async fn send(&mut self, request: &ApiRequest) -> Result<(), ApiError> {
        self.out.clear();
        request.write_head(&self.host, &mut self.out);
        let mut rest = &request.body[..];
        if rest.len() <= SMALL_REQUEST_BODY {
            self.out.extend_from_slice(rest);
            rest = &[];
        }
        self.stream
            .write_all(&self.out)
            .await
            .map_err(ApiError::Io)?;
        if !rest.is_empty() {
            self.stream.write_all(rest).await.map_err(ApiError::Io)?;
        }
        Ok(())
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
        if length > MAX_BODY {
            return Err(ApiError::Protocol(format!(
                "a body of {length} bytes is larger than any the Runtime API sends"
            )));
        }
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
            let (line_len, size) = loop {
                match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete(parsed)) => break parsed,
                    Ok(httparse::Status::Partial) if self.buf.len() <= MAX_HEAD => {
                        self.read_more().await?;
                    }
                    _ => return Err(ApiError::Protocol("invalid chunk size line".into())),
                }
            };
            self.buf.advance(line_len);
            if size == 0 {
                self.skip_trailers().await?;
                return Ok(body.freeze());
            }
            let size = usize::try_from(size)
                .ok()
                .filter(|size| body.len().saturating_add(*size) <= MAX_BODY)
                .ok_or_else(|| ApiError::Protocol("the chunked body is too large".into()))?;
            let chunk = self.read_exact(size + 2).await?;
            if !chunk.ends_with(b"\r\n") {
                return Err(ApiError::Protocol("a chunk does not end with CRLF".into()));
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }

    /// Trailers after the last chunk, if any, end with an empty line; none of them matter here.
    async fn skip_trailers(&mut self) -> Result<(), ApiError> {
        loop {
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let parsed = match httparse::parse_headers(&self.buf, &mut slots) {
                Ok(httparse::Status::Complete((len, _))) => Some(len),
                Ok(httparse::Status::Partial) if self.buf.len() <= MAX_HEAD => None,
                _ => return Err(ApiError::Protocol("invalid trailers".into())),
            };
            match parsed {
                Some(len) => {
                    self.buf.advance(len);
                    return Ok(());
                }
                None => self.read_more().await?,
            }
        }
    }

    /// A body without a length runs to the end of the connection.
    async fn read_to_end(&mut self) -> Result<Bytes, ApiError> {
        while self.buf.len() <= MAX_BODY {
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => return Ok(self.buf.split().freeze()),
                Ok(_) => {}
                Err(e) => return Err(ApiError::Io(e)),
            }
        }
        Err(ApiError::Protocol("the body is too large".into()))
    }
}

#[cfg(test)]
mod tests;
