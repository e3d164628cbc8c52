//! The HTTP pipeline with a streamed body: the same routing, params and error answers as the buffered
//! one, but php-fpm's output is handed on as it arrives. The CGI head is read first (a failure before
//! it is answered as in buffered mode: 502, 504); after it, each piece PHP flushes goes to the client
//! while the script runs, and a failure ends the body as cut.

use std::time::Duration;

use bytes::BytesMut;
use tokio::time::Instant;

use super::{App, AppError, Routed, ScriptError};
use futures_util::StreamExt as _;

use crate::body::{BodyStream, StreamError, StreamedResponse, STREAM_LIMIT};
use crate::cgi::{self, CgiError};
use crate::compress::{self, Choice, Encoder};
use crate::fastcgi::{FcgiError, Params, Request};
use crate::lambda::InvocationInfo;
use crate::message::HttpRequest;
use crate::php_fpm::backend::before;
use crate::php_fpm::Lease;
use crate::router::Script;
use crate::static_files;

/// CGI headers longer than this without their end are not headers: the script printed a body without
/// any (API Gateway refuses more than about 10 KB of headers anyway).
const MAX_HEAD: usize = 1024 * 1024;

impl App {
    /// The request's response with its body streamed. A script's HEAD response, redirects and
    /// refusals have no body worth streaming and take the buffered path; a static file's HEAD is
    /// answered from its metadata, whatever its size.
    pub async fn handle_request_streamed(
        &self,
        req: &HttpRequest,
        request_context: Option<&str>,
        invocation: &InvocationInfo,
        compression: Choice,
    ) -> Result<StreamedResponse, AppError> {
        let script = match self.route(req, invocation) {
            Routed::Script(script) if req.is_head() => {
                return self
                    .script_response(req, &script, request_context, invocation, compression)
                    .await
                    .map(Into::into);
            }
            Routed::Script(script) => script,
            Routed::Static(path) => {
                let file = static_files::respond_streamed(&path, req, &self.static_config);
                return Ok(compress_stream(file, compression, &invocation.request_id));
            }
            Routed::Answer(response) => return Ok(response.into()),
        };
        match self
            .stream_script(req, &script, request_context, invocation)
            .await
        {
            Ok(response) => Ok(compress_stream(
                response,
                compression,
                &invocation.request_id,
            )),
            Err(e) => e.into_response(&invocation.request_id).map(Into::into),
        }
    }

    async fn stream_script(
        &self,
        req: &HttpRequest,
        script: &Script,
        request_context: Option<&str>,
        invocation: &InvocationInfo,
    ) -> Result<StreamedResponse, ScriptError> {
        let mut params = Params::build(req, script, &self.site);
        params.extend(invocation.server_variables(request_context));
        let request = Request::new(&params, &req.body);
        let budget = self.budget(invocation);
        let limit = Limit {
            deadline: Instant::now() + budget,
            budget,
        };
        let mut on_stderr = php_logger(invocation.request_id.clone());
        let mut lease = self.backend.lease().await?;
        let (conn, timer) = lease.timed(limit.deadline);
        let sent = before(timer, conn.send(&request)).await;
        let (lease, ()) = settle(lease, sent, budget)?;
        let (lease, out, ended) = read_head(lease, limit, &mut on_stderr).await?;
        let mut head = cgi::parse(out).map_err(ScriptError::Cgi)?;
        if ended {
            lease.finish();
            return Ok(head.into());
        }
        if matches!(head.status, 204 | 304) {
            // No body may follow: what the script still prints is read and dropped.
            drain(lease, limit, &mut on_stderr).await?;
            head.body.clear();
            return Ok(head.into());
        }
        let sent = head.body.len();
        Ok(StreamedResponse {
            head,
            rest: Some(fcgi_body(lease, limit, on_stderr, sent)),
        })
    }
}

/// A body still coming is compressed as it comes when the client accepts an encoding and the response
/// qualifies: each piece is flushed through the encoder, so what PHP flushed stays decodable at once
/// (time to first byte holds; the flushes cost a few percent of ratio). A complete body is left to the
/// buffered compression step.
fn compress_stream(
    response: StreamedResponse,
    choice: Choice,
    request_id: &str,
) -> StreamedResponse {
    let Some(offer) = choice.offer() else {
        return response;
    };
    let head = &response.head;
    if response.rest.is_none() || !compress::applies(head.status, false, &head.headers, None) {
        return response;
    }
    let mut encoder = match Encoder::new(offer.encoding, offer.level) {
        Ok(encoder) => encoder,
        Err(e) => {
            tracing::warn!(
                requestId = request_id,
                "the response goes out uncompressed: {e}"
            );
            return response;
        }
    };
    let StreamedResponse { mut head, rest } = response;
    compress::rewrite_headers(&mut head.headers, offer.encoding, None);
    head.body = match encode_piece(&mut encoder, &head.body) {
        Ok(out) => out,
        Err(e) => {
            tracing::warn!(
                requestId = request_id,
                "compressing the response failed: {e}"
            );
            bytes::Bytes::new()
        }
    };
    StreamedResponse {
        head,
        rest: rest.map(|rest| encoded(rest, encoder)),
    }
}

/// `rest` through `encoder`, one flushed piece per piece PHP flushed, and the encoder's end last.
fn encoded(rest: BodyStream, encoder: Encoder) -> BodyStream {
    Box::pin(futures_util::stream::unfold(
        (rest, Some(encoder)),
        |(mut rest, encoder)| async move {
            let mut encoder = encoder?;
            loop {
                match rest.next().await {
                    Some(Ok(data)) => match encode_piece(&mut encoder, &data) {
                        Ok(out) if out.is_empty() => continue,
                        Ok(out) => return Some((Ok(out), (rest, Some(encoder)))),
                        Err(e) => return Some((Err(StreamError::Compression(e)), (rest, None))),
                    },
                    Some(Err(e)) => return Some((Err(e), (rest, None))),
                    None => {
                        return match encoder.finish() {
                            Ok(last) if last.is_empty() => None,
                            Ok(last) => Some((Ok(last), (rest, None))),
                            Err(e) => Some((Err(StreamError::Compression(e)), (rest, None))),
                        }
                    }
                }
            }
        },
    ))
}

/// One piece through the encoder, flushed: everything so far decodable by the client.
fn encode_piece(encoder: &mut Encoder, data: &[u8]) -> std::io::Result<bytes::Bytes> {
    let written = encoder.write(data)?;
    let flushed = encoder.flush()?;
    if written.is_empty() {
        return Ok(flushed);
    }
    let mut joined = bytes::BytesMut::from(&written[..]);
    joined.extend_from_slice(&flushed);
    Ok(joined.freeze())
}

/// PHP's messages on the FastCGI stderr stream, into the log with the invocation's id.
fn php_logger(request_id: String) -> impl FnMut(&[u8]) + Send + 'static {
    move |chunk: &[u8]| {
        for line in cgi::stderr_lines(chunk) {
            crate::logging::php_line(&line, Some(&request_id));
        }
    }
}

/// The time a script has: its deadline, and the budget it came from (for the error message).
#[derive(Clone, Copy)]
struct Limit {
    deadline: Instant,
    budget: Duration,
}

/// A step of the exchange with php-fpm that failed; its lease is already settled.
enum Failed {
    Fcgi(FcgiError),
    Timeout(Duration),
}

impl From<Failed> for ScriptError {
    fn from(failed: Failed) -> Self {
        match failed {
            Failed::Fcgi(e) => ScriptError::Fcgi(e),
            Failed::Timeout(budget) => ScriptError::Timeout(budget),
        }
    }
}

impl From<Failed> for StreamError {
    fn from(failed: Failed) -> Self {
        match failed {
            Failed::Fcgi(e) => StreamError::Fcgi(e),
            Failed::Timeout(budget) => StreamError::Timeout(budget),
        }
    }
}

/// The lease after one step of the exchange raced against the deadline: kept on success; on failure
/// settled here, in the one place that knows how: a broken connection is discarded (the worker may
/// be fine), a worker past the deadline is killed (it may still be running the script).
fn settle<T>(
    lease: Lease,
    step: Option<Result<T, FcgiError>>,
    budget: Duration,
) -> Result<(Lease, T), Failed> {
    match step {
        Some(Ok(value)) => Ok((lease, value)),
        Some(Err(e)) => {
            lease.discard();
            Err(Failed::Fcgi(e))
        }
        None => {
            lease.timed_out();
            Err(Failed::Timeout(budget))
        }
    }
}

/// One read of the script's output before the deadline: what PHP flushed, and whether it ended.
async fn read(
    mut lease: Lease,
    limit: Limit,
    on_stderr: &mut (impl FnMut(&[u8]) + Send),
) -> Result<(Lease, (BytesMut, bool)), Failed> {
    let (conn, timer) = lease.timed(limit.deadline);
    let read = before(timer, conn.read_stdout(on_stderr)).await;
    settle(lease, read, limit.budget)
}

/// Reads the script's output until its CGI head is complete (or the script ended); returns what was
/// read and whether the script ended.
async fn read_head(
    mut lease: Lease,
    limit: Limit,
    on_stderr: &mut (impl FnMut(&[u8]) + Send),
) -> Result<(Lease, BytesMut, bool), ScriptError> {
    let mut out = BytesMut::new();
    loop {
        let (kept, (data, ended)) = read(lease, limit, on_stderr).await?;
        lease = kept;
        out.extend_from_slice(&data);
        if ended || cgi::head_end(&out).is_some() {
            return Ok((lease, out, ended));
        }
        if out.len() > MAX_HEAD {
            // Output that is no CGI head: the lease is dropped unfinished, the worker killed.
            return Err(ScriptError::Cgi(CgiError::NoHeaderEnd));
        }
    }
}

/// Reads the rest of the script's output and drops it.
async fn drain(
    mut lease: Lease,
    limit: Limit,
    on_stderr: &mut (impl FnMut(&[u8]) + Send),
) -> Result<(), ScriptError> {
    loop {
        let (kept, (_, ended)) = read(lease, limit, on_stderr).await?;
        if ended {
            kept.finish();
            return Ok(());
        }
        lease = kept;
    }
}

/// The state of a body being read from php-fpm.
struct FcgiBody<F> {
    lease: Option<Lease>,
    limit: Limit,
    on_stderr: F,
    sent: usize,
}

/// The script's output after its head, piece by piece as PHP flushes it, until END_REQUEST. Each piece
/// is read only when the previous one was sent, so php-fpm is read as fast as the client takes it.
fn fcgi_body<F>(lease: Lease, limit: Limit, on_stderr: F, sent: usize) -> BodyStream
where
    F: FnMut(&[u8]) + Send + 'static,
{
    let state = FcgiBody {
        lease: Some(lease),
        limit,
        on_stderr,
        sent,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        let lease = st.lease.take()?;
        let (lease, (data, ended)) = match read(lease, st.limit, &mut st.on_stderr).await {
            Ok(read) => read,
            Err(failed) => return Some((Err(failed.into()), st)),
        };
        st.sent += data.len();
        if st.sent > STREAM_LIMIT {
            // Dropping the lease unfinished kills the worker.
            drop(lease);
            return Some((Err(StreamError::TooLarge), st));
        }
        if ended {
            lease.finish();
            if data.is_empty() {
                return None;
            }
        } else {
            st.lease = Some(lease);
        }
        Some((Ok(data.freeze()), st))
    }))
}
