//! A response body produced while it is sent: the seam between where a streamed body comes from
//! (php-fpm's output, a file) and where it goes (the Runtime API's streamed response, `serve`'s
//! chunked HTTP). Whoever sends it pulls the next piece only when the previous one is written, so a
//! 200 MB response never sits in memory: php-fpm is read as fast as the client takes it.

use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;

use crate::fastcgi::FcgiError;
use crate::message::HttpResponse;

/// The rest of a body, piece by piece. An `Err` item ends it: the body is cut, and the receiver must
/// say so (trailers on Lambda, an aborted chunked body in `serve`), never pass it off as complete.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, StreamError>> + Send>>;

/// A response whose head is known and whose body may still be coming: `head.body` holds the part
/// already read, `rest` the part still to come (`None`: the body is complete).
pub struct StreamedResponse {
    pub head: HttpResponse,
    pub rest: Option<BodyStream>,
}

impl From<HttpResponse> for StreamedResponse {
    fn from(head: HttpResponse) -> Self {
        Self { head, rest: None }
    }
}

/// Lambda streams at most 200 MiB per response, prelude included: the body keeps 64 KiB for it
/// (API Gateway refuses headers beyond about 10 KB anyway).
pub const STREAM_LIMIT: usize = 200 * 1024 * 1024 - 64 * 1024;

/// Why a body stopped after its first bytes were sent.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(
        "the script ran past the deadline ({0:?}) while its response was streaming; worker killed"
    )]
    Timeout(Duration),
    #[error("the script's output broke off: {0}")]
    Fcgi(FcgiError),
    #[error("the response body passed {STREAM_LIMIT} bytes, the most Lambda streams (200 MiB with the prelude); worker killed")]
    TooLarge,
    #[error("compressing the response failed: {0}")]
    Compression(std::io::Error),
    #[error("reading {path} failed: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl StreamError {
    /// The `Lambda-Runtime-Function-Error-Type` of the stream's trailer.
    pub fn error_type(&self) -> &'static str {
        match self {
            StreamError::Timeout(_) => "Runtime.ScriptTimeout",
            StreamError::Fcgi(_) => "Runtime.ScriptOutputCut",
            StreamError::TooLarge => "Runtime.ResponseTooLarge",
            StreamError::File { .. } => "Runtime.StaticFileUnreadable",
            StreamError::Compression(_) => "Runtime.CompressionFailed",
        }
    }
}
