//! A Runtime API response head, parsed without I/O by httparse: the status, the header lines as they
//! came (one copy of the head and where each line's name and value lie in it, rather than a
//! `HeaderMap`, which took a dozen allocations per `/next`), how the body that follows is framed, and
//! whether the connection stays open after it.

use std::ops::Range;

use http::StatusCode;

use super::ApiError;

/// Header lines a response head may carry: the Runtime API sends about ten.
pub const MAX_HEADERS: usize = 64;

/// What a response head says, and how many bytes it took.
#[derive(Debug)]
pub struct Head {
    pub status: StatusCode,
    pub headers: Headers,
    pub len: usize,
    pub keep_alive: bool,
}

/// A head's header lines, in order.
#[derive(Debug, Default)]
pub struct Headers {
    text: Vec<u8>,
    lines: Vec<(Range<usize>, Range<usize>)>,
}

/// How the body that follows a response head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Chunked,
    Length(usize),
    Empty,
    UntilClose,
}

impl Head {
    /// Parses a response head at the start of `buf`: `None` while it is incomplete.
    pub fn parse(buf: &[u8]) -> Result<Option<Head>, ApiError> {
        let bad = |what: &dyn std::fmt::Display| {
            ApiError::Protocol(format!("malformed response head: {what}"))
        };
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut slots);
        let len = match response.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(bad(&e)),
        };
        let status = response
            .code
            .and_then(|code| StatusCode::from_u16(code).ok())
            .ok_or_else(|| bad(&"invalid status code"))?;
        // Where a slice httparse returned lies in `buf`.
        let at = |part: &[u8]| {
            let start = part.as_ptr() as usize - buf.as_ptr() as usize;
            start..start + part.len()
        };
        let mut lines = Vec::with_capacity(response.headers.len());
        for h in response.headers.iter() {
            // What `http::HeaderValue` accepts: no control byte but the tab.
            if h.value
                .iter()
                .any(|b| (*b < 0x20 && *b != b'\t') || *b == 0x7f)
            {
                return Err(bad(&format_args!("a control byte in {}", h.name)));
            }
            lines.push((at(h.name.as_bytes()), at(h.value)));
        }
        let headers = Headers {
            text: buf[..len].to_vec(),
            lines,
        };
        // HTTP/1.1 keeps the connection unless told to close it; HTTP/1.0 closes it unless told to keep it.
        let connection = headers.get("connection").unwrap_or("");
        let keep_alive = if response.version == Some(0) {
            connection.eq_ignore_ascii_case("keep-alive")
        } else {
            !connection.eq_ignore_ascii_case("close")
        };
        Ok(Some(Head {
            status,
            headers,
            len,
            keep_alive,
        }))
    }

    /// How the body that follows this head is delimited.
    pub fn framing(&self) -> Result<Framing, ApiError> {
        let chunked = self.headers.get("transfer-encoding").is_some_and(|v| {
            v.split(',')
                .any(|coding| coding.trim().eq_ignore_ascii_case("chunked"))
        });
        let length = self
            .headers
            .get("content-length")
            .map(|v| v.trim().parse::<usize>())
            .transpose()
            .map_err(|_| ApiError::Protocol("invalid Content-Length".into()))?;
        let status = self.status;
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
}

impl Headers {
    /// Every value of the lines named `name` (in any case), in order.
    pub fn get_all<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.lines
            .iter()
            .filter(move |(n, _)| self.text[n.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &self.text[v.clone()])
    }

    /// The first value named `name`, when it is text.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name)
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

#[cfg(test)]
mod tests;
