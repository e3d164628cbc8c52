//! Response compression: which encoding a client gets (`Accept-Encoding` with q-values against the
//! configured preference list), which responses are worth it, the header rewrite, and the encoders
//! ([`encoder`]: gzip, brotli, zstd; one-shot for buffered bodies, streamed with sync flushes). Pure
//! apart from the CPU the encoders spend.
//!
//! A request gets a [`Choice`] before its script runs (the buffered path reads more output when the
//! response may be compressed); [`Choice::apply`] then compresses a buffered response in place.

mod accept;
pub mod encoder;

use std::io;

use bytes::Bytes;

use crate::message::{Header, HttpRequest, HttpResponse};

pub use encoder::{compress, Encoder};

/// Below this many bytes compression saves less than a TCP segment, and the encoders' framing can make
/// the body larger: such bodies travel as they are.
pub const MIN_SIZE: usize = 1024;

/// A content coding lambda-fpm can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Brotli,
    Zstd,
    Gzip,
}

impl Encoding {
    pub const ALL: [Encoding; 3] = [Encoding::Brotli, Encoding::Zstd, Encoding::Gzip];

    /// The `Content-Encoding` / `Accept-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
            Encoding::Gzip => "gzip",
        }
    }

    /// The encoding a token names, any case. `x-gzip` is gzip (RFC 9110 §8.4.1.3).
    pub fn from_token(token: &[u8]) -> Option<Encoding> {
        Encoding::ALL
            .into_iter()
            .find(|e| token.eq_ignore_ascii_case(e.token().as_bytes()))
            .or_else(|| {
                token
                    .eq_ignore_ascii_case(b"x-gzip")
                    .then_some(Encoding::Gzip)
            })
    }

    /// The levels a user may choose. zstd stops at 19: from 20 on its window outgrows the 8 MB that
    /// browsers' decoders accept for HTTP (RFC 9659), and the memory grows with it.
    pub fn levels(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Encoding::Brotli => 0..=11,
            Encoding::Zstd => 1..=19,
            Encoding::Gzip => 1..=9,
        }
    }

    /// The level used when the configuration names none, chosen by measurement (docs/benchmarks.md,
    /// "Compression"): the highest level up to which each step still makes the output at least 1 %
    /// smaller for at most 2 ms of CPU per MiB (about what 1 % of a MiB takes on a 40 Mbit/s link).
    pub fn default_level(self) -> u32 {
        match self {
            Encoding::Brotli => 4,
            Encoding::Zstd => 6,
            Encoding::Gzip => 4,
        }
    }
}

/// One encoding offered, with its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub encoding: Encoding,
    pub level: u32,
}

/// The compression settings (`LAMBDA_FPM_COMPRESSION`, `LAMBDA_FPM_COMPRESS_REST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compression {
    /// The encodings offered, most preferred first; empty when compression is off.
    pub offers: Vec<Offer>,
    /// Whether API Gateway REST API responses may be compressed. A compressed body travels base64-encoded,
    /// and a REST API decodes it for the client only when its `binaryMediaTypes` match (`*/*`); otherwise
    /// the browser would get the base64 text.
    pub rest_api: bool,
}

impl Default for Compression {
    /// `zstd,br,gzip` at their default levels; REST APIs left alone. zstd first: at its default level
    /// it compresses HTML better than brotli's and gzip's, for half brotli's CPU and a little less than
    /// gzip's (docs/benchmarks.md); brotli serves the browsers without zstd (Safari).
    fn default() -> Self {
        Compression {
            offers: [Encoding::Zstd, Encoding::Brotli, Encoding::Gzip]
                .into_iter()
                .map(|encoding| Offer {
                    encoding,
                    level: encoding.default_level(),
                })
                .collect(),
            rest_api: false,
        }
    }
}

impl Compression {
    pub fn off() -> Self {
        Compression {
            offers: Vec::new(),
            rest_api: false,
        }
    }

    /// The encoding the client gets for `accept_encoding` (the request's `Accept-Encoding`, repeated
    /// headers joined with `,`): the offered encoding with the highest q-value, ties broken by our order.
    /// `None`: no header, nothing offered acceptable (`q=0`, unknown tokens only), or the client ranks
    /// `identity` above every encoding we offer.
    pub fn negotiate(&self, accept_encoding: Option<&[u8]>) -> Option<Encoding> {
        accept::negotiate(&self.offers, accept_encoding?)
    }

    /// What to do for one request: `rest_api` when it came through an API Gateway REST API and the body
    /// travels base64-encoded in the response JSON (a streamed body is raw bytes, which a REST API passes
    /// through whatever its binary media types: pass `false` there).
    pub fn choose(&self, rest_api: bool, req: &HttpRequest) -> Choice {
        if self.offers.is_empty() || (rest_api && !self.rest_api) {
            return Choice::Off;
        }
        let accept_encoding = joined_header(req, "accept-encoding");
        match self.negotiate(accept_encoding.as_deref()) {
            None => Choice::Identity,
            Some(encoding) => Choice::Encode(Offer {
                encoding,
                level: self.level(encoding),
            }),
        }
    }

    fn level(&self, encoding: Encoding) -> u32 {
        self.offers
            .iter()
            .find(|o| o.encoding == encoding)
            .map_or(encoding.default_level(), |o| o.level)
    }
}

/// Every value of a request header, joined with `,` as one list (REST events keep repeats apart).
fn joined_header(req: &HttpRequest, name: &str) -> Option<Vec<u8>> {
    let mut values = req
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_slice());
    let mut joined = values.next()?.to_vec();
    for value in values {
        joined.push(b',');
        joined.extend_from_slice(value);
    }
    Some(joined)
}

/// Compression for one request, decided from its event source and `Accept-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Compression is off, or unsafe for this event source: responses are left exactly as they are.
    Off,
    /// The client accepts none of the offered encodings: responses are sent as they are, with `Vary`.
    Identity,
    /// Eligible responses are compressed with this encoding and level.
    Encode(Offer),
}

impl Choice {
    /// The encoding and level when this request's eligible responses are compressed.
    pub fn offer(self) -> Option<Offer> {
        match self {
            Choice::Encode(offer) => Some(offer),
            _ => None,
        }
    }

    /// Whether `response` will be compressed by [`Choice::apply`] (before trying: an incompressible body
    /// is still sent as it is).
    pub fn compresses(self, response: &HttpResponse, head: bool) -> bool {
        self.offer().is_some()
            && applies(
                response.status,
                head,
                &response.headers,
                Some(response.body.len()),
            )
    }

    /// The buffered path: compresses `response` in place when it applies and makes it smaller, fixing
    /// its headers; adds `Vary: Accept-Encoding` to every response whose encoding was negotiated. An
    /// error (an encoder failing) leaves the response as it was.
    pub fn apply(self, response: &mut HttpResponse, head: bool) -> io::Result<()> {
        if self == Choice::Off {
            return Ok(());
        }
        // A 304 stands for the 200 it revalidates and carries the same Vary (RFC 9110 §15.4.5).
        let length = (response.status != 304).then_some(response.body.len());
        if !negotiated(response.status, &response.headers, length) {
            return Ok(());
        }
        add_vary(&mut response.headers);
        let Some(offer) = self.offer() else {
            return Ok(());
        };
        if !applies(response.status, head, &response.headers, length) {
            return Ok(());
        }
        let compressed = compress(offer.encoding, offer.level, &response.body)?;
        if compressed.len() >= response.body.len() {
            return Ok(());
        }
        rewrite_headers(
            &mut response.headers,
            offer.encoding,
            Some(compressed.len()),
        );
        response.body = Bytes::from(compressed);
        Ok(())
    }
}

/// Whether a response is compressed: not for HEAD, 1xx, 204, 206 or 304; only a compressible type
/// without a `Content-Encoding` of its own, `Cache-Control: no-transform` or `Content-Range`, and a body
/// of at least [`MIN_SIZE`] bytes when its length is known (`None` for a streamed body).
pub fn applies(status: u16, head: bool, headers: &[Header], body_len: Option<usize>) -> bool {
    !head && !matches!(status, 100..=199 | 204 | 304) && negotiated(status, headers, body_len)
}

/// Whether the response's encoding depends on `Accept-Encoding` (so caches must key on it): what
/// [`applies`] asks, without the method and with 304 allowed.
fn negotiated(status: u16, headers: &[Header], body_len: Option<usize>) -> bool {
    fn values<'a>(headers: &'a [Header], name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }
    let value = |name| values(headers, name);
    status != 206
        && value("content-type").next().is_some_and(compressible)
        && value("content-encoding").next().is_none()
        && value("content-range").next().is_none()
        && !value("cache-control").any(|v| has_token(v, b"no-transform"))
        && body_len.is_none_or(|n| n >= MIN_SIZE)
}

/// Text, JSON, JavaScript, XML, SVG, WebAssembly and uncompressed fonts; images, video, archives and
/// woff fonts are compressed already.
pub fn compressible(content_type: &[u8]) -> bool {
    let essence = content_type
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii()
        .to_ascii_lowercase();
    let essence = essence.as_slice();
    essence.starts_with(b"text/")
        || essence.ends_with(b"+json")
        || essence.ends_with(b"+xml")
        || matches!(
            essence,
            b"application/json"
                | b"application/javascript"
                | b"application/ecmascript"
                | b"application/x-javascript"
                | b"application/xml"
                | b"application/wasm"
                | b"application/graphql"
                | b"image/svg+xml"
                | b"font/ttf"
                | b"font/otf"
                | b"application/vnd.ms-fontobject"
        )
}

/// The headers of a compressed response: `Content-Encoding`, `Vary: Accept-Encoding`, a
/// `Content-Length` that was set replaced by `length` (dropped when `None`, as for a streamed body), and
/// a strong `ETag` made weak (the compressed bytes are another representation; a weak validator still
/// revalidates).
pub fn rewrite_headers(headers: &mut Vec<Header>, encoding: Encoding, length: Option<usize>) {
    let had_length = headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("content-length"));
    headers.retain(|h| !h.name.eq_ignore_ascii_case("content-length"));
    for h in headers.iter_mut() {
        if h.name.eq_ignore_ascii_case("etag") && h.value.starts_with(b"\"") {
            h.value.splice(0..0, *b"W/");
        }
    }
    headers.push(Header::new("Content-Encoding", encoding.token()));
    if let (true, Some(length)) = (had_length, length) {
        headers.push(Header::new("Content-Length", length.to_string()));
    }
    add_vary(headers);
}

/// Adds `Accept-Encoding` to the response's `Vary`, unless it is there already or `Vary: *`; merged
/// into the first `Vary` (API Gateway's single-value shapes would join them anyway).
pub fn add_vary(headers: &mut Vec<Header>) {
    let is_vary = |h: &Header| h.name.eq_ignore_ascii_case("vary");
    if headers
        .iter()
        .filter(|h| is_vary(h))
        .any(|h| has_token(&h.value, b"accept-encoding") || has_token(&h.value, b"*"))
    {
        return;
    }
    match headers.iter_mut().find(|h| is_vary(h)) {
        None => headers.push(Header::new("Vary", "Accept-Encoding")),
        Some(vary) if vary.value.trim_ascii().is_empty() => {
            vary.value = b"Accept-Encoding".to_vec()
        }
        Some(vary) => vary.value.extend_from_slice(b", Accept-Encoding"),
    }
}

/// Whether a comma-separated header value lists `token` (any case); directives' arguments ignored.
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value.split(|b| *b == b',').any(|item| {
        let name = item.split(|b| *b == b'=').next().unwrap_or_default();
        name.trim_ascii().eq_ignore_ascii_case(token)
    })
}

#[cfg(test)]
mod tests;
