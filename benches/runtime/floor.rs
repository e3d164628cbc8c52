//! The floor: the same requests straight to php-fpm over one kept-alive FastCGI connection, with no Lambda
//! around them. Two clients: a minimal one on lambda-fpm's own encoder (`fastcgi::wire`), and the
//! `fastcgi-client` crate (0.12), which lambda-fpm replaced.

use std::io;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use lambda_fpm::fastcgi::wire::{self, RecordHeader, RecordType, HEADER_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// One request, as both clients send it: the CGI params and the (decoded) body.
pub struct FcgiRequest {
    /// Encoded FastCGI name-value pairs (what lambda-fpm sends for the same event).
    pub params: Vec<u8>,
    pub pairs: Vec<(String, String)>,
    pub stdin: Vec<u8>,
}

/// What both floor clients do.
pub trait FloorClient {
    /// Sends the request; returns php-fpm's stdout.
    async fn execute(&mut self, request: &FcgiRequest) -> io::Result<Vec<u8>>;

    /// For the last request: from writing it to the first STDOUT record that held body bytes (after
    /// the CGI head), when the client measures it.
    fn first_body(&self) -> Option<Duration> {
        None
    }
}

/// A minimal client: one buffered write per request, records read into one reusable buffer.
pub struct WireClient {
    stream: UnixStream,
    buf: BytesMut,
    first_body: Option<Duration>,
}

/// What [`WireClient::run`] read.
pub struct Run {
    /// The first `keep` bytes of stdout.
    pub stdout: Vec<u8>,
    /// All of stdout's length.
    pub len: usize,
}

impl WireClient {
    pub fn new(stream: UnixStream) -> Self {
        Self {
            stream,
            buf: BytesMut::with_capacity(64 * 1024),
            first_body: None,
        }
    }

    /// Sends the request and reads the answer, keeping the first `keep` bytes of stdout and counting
    /// the rest.
    pub async fn run(&mut self, request: &FcgiRequest, keep: usize) -> io::Result<Run> {
        let start = Instant::now();
        self.first_body = None;
        let encoded = wire::encode_request(1, &request.params, &request.stdin);
        self.stream.write_all(&encoded).await?;
        let mut run = Run {
            stdout: Vec::new(),
            len: 0,
        };
        loop {
            self.fill(HEADER_LEN).await?;
            let header_bytes: [u8; HEADER_LEN] = self.buf[..HEADER_LEN]
                .try_into()
                .map_err(|_| io::Error::other("short header"))?;
            let header = RecordHeader::parse(&header_bytes);
            self.fill(HEADER_LEN + header.body_len()).await?;
            let content = &self.buf[HEADER_LEN..HEADER_LEN + header.content_length as usize];
            match header.kind {
                Some(RecordType::Stdout) => {
                    run.len += content.len();
                    let room = keep.saturating_sub(run.stdout.len());
                    run.stdout
                        .extend_from_slice(&content[..content.len().min(room)]);
                    if self.first_body.is_none() && has_body(&run.stdout) {
                        self.first_body = Some(start.elapsed());
                    }
                }
                Some(RecordType::EndRequest) => {
                    self.buf.advance(HEADER_LEN + header.body_len());
                    return Ok(run);
                }
                _ => {}
            }
            self.buf.advance(HEADER_LEN + header.body_len());
        }
    }

    async fn fill(&mut self, n: usize) -> io::Result<()> {
        while self.buf.len() < n {
            self.buf.reserve((n - self.buf.len()).max(64 * 1024));
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }
}

impl FloorClient for WireClient {
    async fn execute(&mut self, request: &FcgiRequest) -> io::Result<Vec<u8>> {
        Ok(self.run(request, usize::MAX).await?.stdout)
    }

    fn first_body(&self) -> Option<Duration> {
        self.first_body
    }
}

/// Whether CGI output holds its head's end and at least one body byte after it (the head is at most a
/// few KiB: only the start is searched).
fn has_body(stdout: &[u8]) -> bool {
    let start = &stdout[..stdout.len().min(16 * 1024)];
    start
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .is_some_and(|end| stdout.len() > end + 4)
}

/// The `fastcgi-client` crate in keep-alive mode, used the way its README shows.
pub struct CrateClient {
    client: fastcgi_client::Client<
        fastcgi_client::io::TokioCompat<UnixStream>,
        fastcgi_client::conn::KeepAlive,
    >,
}

impl CrateClient {
    pub fn new(stream: UnixStream) -> Self {
        Self {
            client: fastcgi_client::Client::new_keep_alive_tokio(stream),
        }
    }
}

impl FloorClient for CrateClient {
    async fn execute(&mut self, request: &FcgiRequest) -> io::Result<Vec<u8>> {
        let mut params = fastcgi_client::Params::default();
        for (name, value) in &request.pairs {
            params = params.custom(name.as_str(), value.as_str());
        }
        let output = self
            .client
            .execute(fastcgi_client::Request::new(params, &request.stdin[..]))
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(output.stdout.unwrap_or_default())
    }
}

/// The CGI status of php-fpm's stdout (200 without a `Status:` header) and the body length.
pub fn status_and_body_len(stdout: &[u8]) -> (u16, usize) {
    let end = stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .unwrap_or((stdout.len(), stdout.len()));
    let head = String::from_utf8_lossy(&stdout[..end.0]);
    let status = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("Status: ")
                .and_then(|s| s.split(' ').next())
                .and_then(|c| c.parse().ok())
        })
        .unwrap_or(200);
    (status, stdout.len() - end.1)
}
