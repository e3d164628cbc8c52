//! The body of a runtime's POST, read as the emulator must see it: frame by frame, so a chunked,
//! streamed body is recorded as it arrives (each frame's time, the length, the trailers).

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::Request;
use serde_json::Value;

use super::outcome::Posted;
use super::server::BoxError;
use crate::support::http::header_pairs;

/// Reads a POST's body frame by frame: the data (in one piece when it came in one) up to `keep` bytes,
/// the whole length and the trailers, with the request headers. With `cut_after`, it stops reading
/// once that many bytes came (the connection is then dropped by the caller).
pub(super) async fn read_posted(
    req: Request<Incoming>,
    keep: usize,
    cut_after: Option<usize>,
) -> Result<(Bytes, Posted), BoxError> {
    let mut posted = Posted {
        headers: header_pairs(req.headers()),
        ..Posted::default()
    };
    let mut body = req.into_body();
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    while let Some(frame) = body.frame().await {
        match frame?.into_data() {
            Ok(data) => {
                posted.body_frames += 1;
                let kept_before = posted.body_len.min(keep);
                posted.body_len += data.len();
                posted
                    .frame_times
                    .push((std::time::Instant::now(), posted.body_len));
                if cut_after.is_some_and(|n| posted.body_len >= n) {
                    return Ok((Bytes::new(), posted));
                }
                let data = data.slice(..data.len().min(keep - kept_before));
                if data.is_empty() {
                    continue;
                }
                match &first {
                    None => first = Some(data),
                    Some(f) => {
                        if rest.is_empty() {
                            rest.extend_from_slice(f);
                        }
                        rest.extend_from_slice(&data);
                    }
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    posted.trailers.extend(header_pairs(&trailers));
                }
            }
        }
    }
    let data = if rest.is_empty() {
        first.unwrap_or_default()
    } else {
        rest.freeze()
    };
    Ok((data, posted))
}

/// A posted error body as JSON, or as a JSON string when it is not JSON.
pub(super) fn parse_body(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}
