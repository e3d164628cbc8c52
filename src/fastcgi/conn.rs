//! One kept-alive FastCGI connection to php-fpm: write a request in one go, read records until
//! END_REQUEST. STDERR records are handed to the caller as they arrive (so PHP's messages reach the logs
//! even when the request later times out); STDOUT is collected up to a cap and drained past it, so an
//! oversized response neither exhausts memory nor leaves the connection out of step.

use std::io::{self, IoSlice};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::request::{Request, REQUEST_ID};
use super::wire::{EndRequest, Piece, RecordHeader, RecordType, HEADER_LEN, MAX_CONTENT};

#[derive(Debug, thiserror::Error)]
pub enum FcgiError {
    #[error("cannot connect to php-fpm at {path}: {source}")]
    Connect { path: String, source: io::Error },
    #[error("writing the request to php-fpm failed: {0}")]
    Write(io::Error),
    #[error("reading php-fpm's answer failed: {0}")]
    Read(io::Error),
    #[error("php-fpm closed the connection before the end of the response (the worker died or was killed)")]
    Closed,
    #[error("php-fpm sent a malformed FastCGI record: {0}")]
    Protocol(&'static str),
}

/// What php-fpm answered.
#[derive(Debug)]
pub struct Output {
    pub stdout: BytesMut,
    /// Bytes of stdout dropped past the cap.
    pub dropped: usize,
    pub end: EndRequest,
}

/// php-fpm closes a connection it accepted when no request arrives on it within 5 s
/// (`fcgi_accept_request` polls with a 5,000 ms timeout; kept-alive connections have no such limit).
/// An unused connection older than this is replaced before its first request.
const UNUSED_CONNECTION_TTL: Duration = Duration::from_secs(4);

/// Bodies up to this size are copied into the request's buffer (one plain write); larger ones are
/// written from where they lie.
const INLINE_STDIN: usize = 64 * 1024;

/// What one [`Connection::read_stdout`] joins at most: big enough that a large response moves in few
/// writes, small enough that memory stays flat however much the script prints.
pub const STREAM_CHUNK: usize = 256 * 1024;

pub struct Connection {
    stream: UnixStream,
    buf: BytesMut,
    /// When the connection was opened, until its first request (then `None`: kept alive for good).
    unused_since: Option<Instant>,
}

impl Connection {
    pub async fn connect(path: &Path) -> Result<Self, FcgiError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|source| FcgiError::Connect {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Self::from_stream(stream))
    }

    pub fn from_stream(stream: UnixStream) -> Self {
        Self {
            stream,
            buf: BytesMut::with_capacity(64 * 1024),
            unused_since: Some(Instant::now()),
        }
    }

    /// Reopens a connection that php-fpm has (or is about to have) closed for want of a first request,
    /// e.g. the one opened at start-up when the first invocation comes more than 5 s after init.
    async fn refresh_if_stale(&mut self) -> Result<(), FcgiError> {
        let Some(since) = self.unused_since.take() else {
            return Ok(());
        };
        if since.elapsed() < UNUSED_CONNECTION_TTL {
            return Ok(());
        }
        let path = self
            .stream
            .peer_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(Path::to_path_buf));
        if let Some(path) = path {
            self.stream =
                UnixStream::connect(&path)
                    .await
                    .map_err(|source| FcgiError::Connect {
                        path: path.display().to_string(),
                        source,
                    })?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Sends the request and reads the answer. `on_stderr` gets each STDERR record's content.
    pub async fn execute(
        &mut self,
        request: &Request<'_>,
        max_stdout: usize,
        mut on_stderr: impl FnMut(&[u8]),
    ) -> Result<Output, FcgiError> {
        self.write_request(request).await?;
        let mut stdout = BytesMut::new();
        let mut dropped = 0usize;
        loop {
            let header = self.fill_header().await?;
            if header.version != super::wire::VERSION {
                return Err(FcgiError::Protocol("unknown version"));
            }
            let len = header.content_length as usize;
            // A large STDOUT record that fits under the cap is read straight into `stdout`: one copy
            // from the socket instead of two (socket → buffer → stdout).
            if header.request_id == REQUEST_ID
                && header.kind == Some(RecordType::Stdout)
                && self.buf.len() < HEADER_LEN + len
                && len <= max_stdout.saturating_sub(stdout.len())
            {
                self.read_record_into(&header, &mut stdout).await?;
                continue;
            }
            self.fill(HEADER_LEN + header.body_len()).await?;
            self.buf.advance(HEADER_LEN);
            let content = self.buf.split_to(len);
            self.buf.advance(header.padding_length as usize);
            if header.request_id != REQUEST_ID {
                continue;
            }
            match header.kind {
                Some(RecordType::Stdout) => {
                    dropped += keep_stdout(&mut stdout, content, max_stdout);
                }
                Some(RecordType::Stderr) => on_stderr(&content),
                Some(RecordType::EndRequest) => {
                    let end = EndRequest::parse(&content)
                        .ok_or(FcgiError::Protocol("short END_REQUEST"))?;
                    return Ok(Output {
                        stdout,
                        dropped,
                        end,
                    });
                }
                _ => {}
            }
        }
    }

    /// Writes the request; its answer is then read piece by piece with [`Connection::read_stdout`].
    pub async fn send(&mut self, request: &Request<'_>) -> Result<(), FcgiError> {
        self.write_request(request).await
    }

    /// Writes the whole request. A large body is not copied into the request's buffer: the records'
    /// framing goes around it in a vectored write, one MiB-sized buffer and copy fewer per upload.
    async fn write_request(&mut self, request: &Request<'_>) -> Result<(), FcgiError> {
        self.refresh_if_stale().await?;
        if request.stdin.len() <= INLINE_STDIN {
            return self
                .stream
                .write_all(&request.encode())
                .await
                .map_err(FcgiError::Write);
        }
        let (head, pieces) = request.encode_vectored();
        let mut slices: Vec<IoSlice<'_>> = pieces
            .into_iter()
            .map(|piece| match piece {
                Piece::Head(range) => IoSlice::new(&head[range]),
                Piece::Stdin(range) => IoSlice::new(&request.stdin[range]),
            })
            .collect();
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            let written = self
                .stream
                .write_vectored(slices)
                .await
                .map_err(FcgiError::Write)?;
            if written == 0 {
                return Err(FcgiError::Write(io::ErrorKind::WriteZero.into()));
            }
            IoSlice::advance_slices(&mut slices, written);
        }
        Ok(())
    }

    /// The script's next output, as soon as php-fpm sends it: the STDOUT records already received,
    /// joined (up to about [`STREAM_CHUNK`] bytes), and whether END_REQUEST came after them. Each PHP
    /// `flush()` (or full output buffer) is one record, so what PHP flushed comes back in one piece
    /// without waiting for more. STDERR goes to `on_stderr` on the way.
    pub async fn read_stdout(
        &mut self,
        on_stderr: &mut impl FnMut(&[u8]),
    ) -> Result<(BytesMut, bool), FcgiError> {
        let mut out = BytesMut::new();
        loop {
            // Wait for a record only while there is nothing to hand out yet.
            if (!out.is_empty() && !self.has_whole_record()) || out.len() >= STREAM_CHUNK {
                return Ok((out, false));
            }
            let header = self.fill_header().await?;
            if header.version != super::wire::VERSION {
                return Err(FcgiError::Protocol("unknown version"));
            }
            self.fill(HEADER_LEN + header.body_len()).await?;
            // Copied out rather than split off: a split would share the connection's buffer with
            // the piece, so the next read would need a new buffer (an allocation, and fresh pages,
            // per piece). `out` is sized for all that is buffered at once.
            let content = &self.buf[HEADER_LEN..HEADER_LEN + header.content_length as usize];
            let ours = header.request_id == REQUEST_ID;
            match header.kind {
                Some(RecordType::Stdout) if ours => {
                    if out.is_empty() {
                        out.reserve(self.buf.len().min(STREAM_CHUNK + HEADER_LEN + MAX_CONTENT));
                    }
                    out.extend_from_slice(content);
                }
                Some(RecordType::Stderr) if ours => on_stderr(content),
                Some(RecordType::EndRequest) if ours => {
                    self.buf.advance(HEADER_LEN + header.body_len());
                    return Ok((out, true));
                }
                _ => {}
            }
            self.buf.advance(HEADER_LEN + header.body_len());
        }
    }

    /// Whether a whole record (header, content, padding) is already buffered.
    fn has_whole_record(&self) -> bool {
        let Some(bytes) = self.buf.get(..HEADER_LEN) else {
            return false;
        };
        let Ok(bytes) = <&[u8; HEADER_LEN]>::try_from(bytes) else {
            return false;
        };
        self.buf.len() >= HEADER_LEN + RecordHeader::parse(bytes).body_len()
    }

    /// Reads the record whose header is at the front of the buffer: what is buffered, then the rest
    /// straight from the socket into `out`, then its padding.
    async fn read_record_into(
        &mut self,
        header: &RecordHeader,
        out: &mut BytesMut,
    ) -> Result<(), FcgiError> {
        self.buf.advance(HEADER_LEN);
        out.extend_from_slice(&self.buf);
        let mut remaining = header.content_length as usize - self.buf.len();
        self.buf.clear();
        out.reserve(remaining);
        while remaining > 0 {
            let read = self
                .stream
                .read_buf(&mut out.limit(remaining))
                .await
                .map_err(read_error)?;
            if read == 0 {
                return Err(FcgiError::Closed);
            }
            remaining -= read;
        }
        // The padding and the next record's header only: its content, when it is STDOUT again, is
        // then read straight into `out` too, where reading ahead would have taken it into the
        // buffer and copied it from there (text responses: 6 % of the runtime's CPU).
        let padding = header.padding_length as usize;
        self.fill_exact(padding + HEADER_LEN).await?;
        self.buf.advance(padding);
        Ok(())
    }

    /// Reads until the buffer holds `n` bytes, never more (the buffer is empty or shorter).
    async fn fill_exact(&mut self, n: usize) -> Result<(), FcgiError> {
        while self.buf.len() < n {
            let wanted = n - self.buf.len();
            let read = self
                .stream
                .read_buf(&mut (&mut self.buf).limit(wanted))
                .await
                .map_err(read_error)?;
            if read == 0 {
                return Err(FcgiError::Closed);
            }
        }
        Ok(())
    }

    async fn fill_header(&mut self) -> Result<RecordHeader, FcgiError> {
        self.fill(HEADER_LEN).await?;
        let bytes: &[u8; HEADER_LEN] = self.buf[..HEADER_LEN]
            .try_into()
            .map_err(|_| FcgiError::Protocol("short header"))?;
        Ok(RecordHeader::parse(bytes))
    }

    /// Reads until the buffer holds at least `n` bytes.
    async fn fill(&mut self, n: usize) -> Result<(), FcgiError> {
        while self.buf.len() < n {
            self.buf.reserve((n - self.buf.len()).max(64 * 1024));
            let read = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .map_err(read_error)?;
            if read == 0 {
                return Err(FcgiError::Closed);
            }
        }
        Ok(())
    }
}

/// Appends a STDOUT record's content up to the cap; returns how many bytes past it were dropped.
fn keep_stdout(stdout: &mut BytesMut, content: BytesMut, max_stdout: usize) -> usize {
    let room = max_stdout.saturating_sub(stdout.len());
    if content.len() > room {
        stdout.extend_from_slice(&content[..room]);
        content.len() - room
    } else {
        if stdout.is_empty() {
            // The first record becomes the output as it is: no copy.
            *stdout = content;
        } else {
            stdout.extend_from_slice(&content);
        }
        0
    }
}

/// A reset or broken connection means the worker went away mid-response: say so, like a clean EOF.
fn read_error(e: io::Error) -> FcgiError {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => FcgiError::Closed,
        _ => FcgiError::Read(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdout_is_kept_up_to_the_cap_and_the_rest_counted() {
        let mut stdout = BytesMut::new();
        assert_eq!(keep_stdout(&mut stdout, BytesMut::from(&b"abc"[..]), 5), 0);
        assert_eq!(keep_stdout(&mut stdout, BytesMut::from(&b"defg"[..]), 5), 2);
        assert_eq!(&stdout[..], b"abcde");
        assert_eq!(keep_stdout(&mut stdout, BytesMut::from(&b"h"[..]), 5), 1);
        assert_eq!(&stdout[..], b"abcde");
    }
}
