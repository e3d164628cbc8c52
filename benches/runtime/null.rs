//! The null runtime: the least any custom runtime does per invocation, and nothing else. It asks
//! `GET /next`, reads the event, posts a response prepared in advance (the bytes lambda-fpm answered
//! the same event with) in one write, and reads the `202`. Its latency is the Runtime API's share of
//! the floor: the round trip no runtime can avoid, whatever it does in between.
//!
//! Given a php-fpm socket and a FastCGI request, it becomes the **minimal runtime**: between `/next`
//! and the response it also sends the request (the very bytes lambda-fpm sends for that event) and
//! reads php-fpm's answer to its end, over one kept-alive connection. That is both round trips in one
//! process, and nothing else: what no runtime can avoid once the two round trips share a CPU cycle
//! (the Runtime API, the runtime and php-fpm take turns, each evicting the others' cache lines).
//!
//! It runs as a process of its own, as a runtime does on Lambda, so the switches between it and the
//! emulator count as they do for the bootstrap: this benchmark's binary, re-executed with
//! [`ARG`] (it inherits the CPU pinning). Blocking std I/O and httparse; no allocation per invocation
//! beyond the request id.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::lambda::{self, ANSWER_TIMEOUT};
use crate::stats::Batch;
use crate::support::RuntimeApi;
use crate::workloads::Workload;
use crate::{io as io_err, Result};

/// The command-line switch that makes the benchmark's binary a null runtime: `--null-runtime ADDRESS
/// [streamed] [fastcgi=SOCKET]`; on stdin the response's length (8 bytes, little-endian), the response,
/// then the FastCGI request (empty without `fastcgi=`).
pub const ARG: &str = "--null-runtime";

/// The parent's handle: the child and the emulator it talks to. The child is killed on drop.
pub struct NullRuntime {
    pub api: RuntimeApi,
    child: Child,
}

impl NullRuntime {
    /// Starts a null runtime that answers every event with `response`, posted as a stream (chunked,
    /// with the streaming headers) when `streamed`; with `fastcgi` (php-fpm's socket and an encoded
    /// request), the minimal runtime.
    pub async fn start(
        response: &[u8],
        streamed: bool,
        fastcgi: Option<(&Path, &[u8])>,
    ) -> Result<Self> {
        let api = RuntimeApi::start().await;
        let exe = std::env::current_exe().map_err(io_err("null runtime: own executable"))?;
        let mut cmd = Command::new(exe);
        cmd.arg(ARG).arg(api.address());
        if streamed {
            cmd.arg("streamed");
        }
        let mut input = (response.len() as u64).to_le_bytes().to_vec();
        input.extend_from_slice(response);
        if let Some((socket, request)) = fastcgi {
            cmd.arg(format!("fastcgi={}", socket.display()));
            input.extend_from_slice(request);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map_err(io_err("null runtime: spawn"))?;
        let written = match child.stdin.take() {
            Some(mut stdin) => stdin.write_all(&input),
            None => Err(io::Error::other("no stdin")),
        };
        let null = Self { api, child };
        written.map_err(io_err("null runtime: hand over the response"))?;
        Ok(null)
    }

    pub async fn batch(&mut self, w: &Workload, count: usize) -> Result<Batch> {
        let pid = self.child.id();
        lambda::batch(&self.api, pid, w, count).await.map_err(|e| {
            let exited = !matches!(self.child.try_wait(), Ok(None));
            format!("null runtime (exited: {exited}, answer timeout {ANSWER_TIMEOUT:?}): {e}")
        })
    }
}

impl Drop for NullRuntime {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// The child: serves events until the emulator goes away (then exits 0) or answers `/next` with an
/// error.
pub fn child_main(args: &[String]) -> ExitCode {
    let Some(address) = args.first() else {
        eprintln!("null runtime: usage: {ARG} ADDRESS [streamed]");
        return ExitCode::FAILURE;
    };
    let streamed = args.iter().any(|a| a == "streamed");
    let mut input = Vec::new();
    if let Err(e) = io::stdin().read_to_end(&mut input) {
        eprintln!("null runtime: reading the response: {e}");
        return ExitCode::FAILURE;
    }
    let split = input
        .first_chunk::<8>()
        .map(|len| u64::from_le_bytes(*len) as usize + 8)
        .filter(|end| *end <= input.len());
    let Some(split) = split else {
        eprintln!("null runtime: no response on stdin");
        return ExitCode::FAILURE;
    };
    let fpm = args
        .iter()
        .find_map(|a| a.strip_prefix("fastcgi="))
        .map(|socket| Fpm {
            socket: PathBuf::from(socket),
            stream: None,
            buf: vec![0; 64 * 1024],
            request: &input[split..],
        });
    match serve(address, &input[8..split], streamed, fpm) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("null runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(
    address: &str,
    response: &[u8],
    streamed: bool,
    mut fpm: Option<Fpm<'_>>,
) -> io::Result<()> {
    let mut conn = Conn {
        stream: TcpStream::connect(address)?,
        buf: vec![0; 2 * 1024 * 1024],
        len: 0,
    };
    conn.stream.set_nodelay(true)?;
    if fpm.is_some() {
        // php-fpm's one worker serves one connection at a time: between batches (no event for a
        // while) the minimal runtime lets go of it, so the floor's clients can reach the worker.
        conn.stream.set_read_timeout(Some(IDLE))?;
    }
    let next =
        format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {address}\r\n\r\n");
    // The chunked body of a stream: the whole response as one chunk, then the last chunk.
    let size_line = format!("{:x}\r\n", response.len());
    let mut head = Vec::with_capacity(512);
    loop {
        conn.stream.write_all(next.as_bytes())?;
        let (status, request_id) = conn.read_answer_or_idle(&mut fpm)?;
        let request_id = match (status, request_id) {
            (200, Some(id)) => id,
            (status, _) => return Err(io::Error::other(format!("GET /next answered {status}"))),
        };
        if let Some(fpm) = &mut fpm {
            fpm.round_trip()?;
        }
        head.clear();
        write!(
            head,
            "POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\nHost: {address}\r\n"
        )?;
        if streamed {
            head.extend_from_slice(
                b"Lambda-Runtime-Function-Response-Mode: streaming\r\n\
                  Content-Type: application/vnd.awslambda.http-integration-response\r\n\
                  Transfer-Encoding: chunked\r\n\
                  Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n",
            );
            let parts = [
                IoSlice::new(&head),
                IoSlice::new(size_line.as_bytes()),
                IoSlice::new(response),
                IoSlice::new(b"\r\n0\r\n\r\n"),
            ];
            write_all_vectored(&mut conn.stream, parts)?;
        } else {
            write!(
                head,
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                response.len()
            )?;
            write_all_vectored(
                &mut conn.stream,
                [IoSlice::new(&head), IoSlice::new(response)],
            )?;
        }
        let (status, _) = conn.read_answer_or_idle(&mut fpm)?;
        if status != 202 {
            return Err(io::Error::other(format!(
                "POST /response answered {status}"
            )));
        }
    }
}

/// One `writev` when the socket takes it all (it does on loopback, up to its buffer size).
fn write_all_vectored<const N: usize>(
    stream: &mut TcpStream,
    mut parts: [IoSlice<'_>; N],
) -> io::Result<()> {
    let mut parts = &mut parts[..];
    while !parts.is_empty() {
        let written = stream.write_vectored(parts)?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut parts, written);
    }
    Ok(())
}

/// The connection and a buffer that is reused for every answer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    len: usize,
}

/// How long without an event before the minimal runtime closes its FastCGI connection.
const IDLE: std::time::Duration = std::time::Duration::from_millis(10);

impl Conn {
    /// [`Conn::read_answer`]; when the answer is slow to come, the FastCGI connection is closed
    /// meanwhile (what was read so far stays in the buffer, so reading resumes where it was).
    fn read_answer_or_idle(
        &mut self,
        fpm: &mut Option<Fpm<'_>>,
    ) -> io::Result<(u16, Option<String>)> {
        loop {
            match self.read_answer() {
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if let Some(fpm) = fpm {
                        fpm.stream = None;
                    }
                }
                answer => return answer,
            }
        }
    }

    /// Reads one answer whole: its status and `Lambda-Runtime-Aws-Request-Id`; the body is skipped.
    fn read_answer(&mut self) -> io::Result<(u16, Option<String>)> {
        let (head_len, status, body_len, request_id) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut answer = httparse::Response::new(&mut headers);
            match answer.parse(&self.buf[..self.len]) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let mut body_len = 0;
                    let mut request_id = None;
                    for h in answer.headers.iter() {
                        if h.name.eq_ignore_ascii_case("content-length") {
                            body_len = std::str::from_utf8(h.value)
                                .ok()
                                .and_then(|v| v.trim().parse().ok())
                                .ok_or_else(|| io::Error::other("bad Content-Length"))?;
                        } else if h.name.eq_ignore_ascii_case("lambda-runtime-aws-request-id") {
                            request_id = Some(String::from_utf8_lossy(h.value).into_owned());
                        }
                    }
                    break (head_len, answer.code.unwrap_or(0), body_len, request_id);
                }
                Ok(httparse::Status::Partial) => self.read_more()?,
                Err(e) => return Err(io::Error::other(format!("bad answer head: {e}"))),
            }
        };
        let whole = head_len + body_len;
        while self.len < whole {
            self.read_more()?;
        }
        self.buf.copy_within(whole..self.len, 0);
        self.len -= whole;
        Ok((status, request_id))
    }

    fn read_more(&mut self) -> io::Result<()> {
        if self.len == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        match self.stream.read(&mut self.buf[self.len..])? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                self.len += n;
                Ok(())
            }
        }
    }
}

/// The minimal runtime's way to php-fpm: one kept-alive connection (opened at the first event: php-fpm
/// closes a connection that brings no request within 5 s), the request sent whole, the answer's
/// records read and skipped up to END_REQUEST.
struct Fpm<'a> {
    socket: PathBuf,
    stream: Option<UnixStream>,
    buf: Vec<u8>,
    request: &'a [u8],
}

impl Fpm<'_> {
    fn round_trip(&mut self) -> io::Result<()> {
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => self.stream.insert(UnixStream::connect(&self.socket)?),
        };
        stream.write_all(self.request)?;
        // Bytes read and not yet parsed: buf[start..end].
        let (mut start, mut end) = (0, 0);
        loop {
            while end - start < 8 {
                if start > 0 {
                    self.buf.copy_within(start..end, 0);
                    (start, end) = (0, end - start);
                }
                end += read_some(stream, &mut self.buf[end..])?;
            }
            let header = &self.buf[start..start + 8];
            let kind = header[1];
            let mut skip = 8
                + usize::from(u16::from_be_bytes([header[4], header[5]]))
                + usize::from(header[6]);
            if end - start >= skip {
                start += skip;
            } else {
                skip -= end - start;
                (start, end) = (0, 0);
                while skip > 0 {
                    let n = read_some(stream, &mut self.buf)?;
                    if n > skip {
                        (start, end) = (skip, n);
                        skip = 0;
                    } else {
                        skip -= n;
                    }
                }
            }
            // FCGI_END_REQUEST
            if kind == 3 {
                return Ok(());
            }
        }
    }
}

fn read_some(stream: &mut UnixStream, buf: &mut [u8]) -> io::Result<usize> {
    match stream.read(buf)? {
        0 => Err(io::Error::other("php-fpm closed the connection")),
        n => Ok(n),
    }
}
