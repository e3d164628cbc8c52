//! CGI output (what php-fpm writes to FastCGI stdout) → [`HttpResponse`]. Pure.
//!
//! Headers are read line by line up to the first empty line; the rest is the body, untouched. `Status:`
//! sets the code; every other header keeps PHP's spelling and every repeated value.

use bytes::BytesMut;

use crate::message::{is_token_byte, Header, HttpResponse};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CgiError {
    #[error("php-fpm's output has no end of headers (no empty line)")]
    NoHeaderEnd,
    #[error("php-fpm's output has a header line without a colon: {0:?}")]
    BadHeaderLine(String),
    #[error(
        "php-fpm's output has an invalid Status header (API Gateway accepts 100 to 599): {0:?}"
    )]
    BadStatus(String),
    #[error("php-fpm's output has a header whose name is not an HTTP token (API Gateway would answer an opaque 502): {0:?}")]
    BadHeaderName(String),
}

pub fn parse(mut out: BytesMut) -> Result<HttpResponse, CgiError> {
    let mut response = HttpResponse::new(200);
    let mut status_set = false;
    let mut at = 0;
    let body_start = loop {
        let Some(nl) = out[at..].iter().position(|b| *b == b'\n') else {
            return Err(CgiError::NoHeaderEnd);
        };
        let line = &out[at..at + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        at += nl + 1;
        if line.is_empty() {
            break at;
        }
        let colon = line
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| CgiError::BadHeaderLine(String::from_utf8_lossy(line).into_owned()))?;
        let name = line[..colon].trim_ascii();
        if name.is_empty() || !name.iter().all(|b| is_token_byte(*b)) {
            return Err(CgiError::BadHeaderName(
                String::from_utf8_lossy(name).into_owned(),
            ));
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case("status") {
            let text = String::from_utf8_lossy(value);
            let (code, reason) = text.split_once(' ').unwrap_or((&text, ""));
            response.status = code
                .parse::<u16>()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or_else(|| CgiError::BadStatus(text.to_string()))?;
            let reason = reason.trim();
            response.reason = (!reason.is_empty()).then(|| reason.to_owned());
            status_set = true;
        } else {
            response.headers.push(Header::new(name, value));
        }
    };
    // RFC 3875: a Location without a Status is a redirect.
    if !status_set && response.header("location").is_some() {
        response.status = 302;
    }
    let _ = out.split_to(body_start);
    response.body = out.freeze();
    Ok(response)
}

/// Where the body starts: just past the first empty line (`\n\n`, `\r\n\r\n` or a mix), the end
/// of the CGI headers; `None` while the headers are not complete. Pure.
pub fn head_end(out: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(nl) = out[at..].iter().position(|b| *b == b'\n') {
        let line = &out[at..at + nl];
        at += nl + 1;
        if line.is_empty() || line == b"\r" {
            return Some(at);
        }
    }
    None
}

/// Splits FastCGI stderr content into lines for the log, dropping empty ones.
pub fn stderr_lines(content: &[u8]) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
    content
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.trim_ascii().is_empty())
        .map(String::from_utf8_lossy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[u8]) -> Result<HttpResponse, CgiError> {
        parse(BytesMut::from(s))
    }

    #[test]
    fn status_headers_and_body() {
        let r = p(b"Status: 404 Not Found\r\nX-Powered-By: x\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-type: text/html\r\n\r\nbody\r\n\r\nmore")
            .expect("parses");
        assert_eq!(r.status, 404);
        assert_eq!(r.reason.as_deref(), Some("Not Found"));
        let names: Vec<&str> = r.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            ["X-Powered-By", "Set-Cookie", "Set-Cookie", "Content-type"]
        );
        assert_eq!(&r.body[..], b"body\r\n\r\nmore");
    }

    #[test]
    fn defaults_and_redirects() {
        assert_eq!(
            p(b"Content-Type: text/plain\n\nhi").expect("ok").status,
            200
        );
        assert_eq!(p(b"Location: /x\r\n\r\n").expect("ok").status, 302);
        assert_eq!(
            p(b"Status: 301\r\nLocation: /x\r\n\r\n")
                .expect("ok")
                .status,
            301
        );
        assert_eq!(p(b"\r\n").expect("ok").body.len(), 0);
    }

    #[test]
    fn malformed_output_is_an_error_not_a_panic() {
        assert_eq!(p(b""), Err(CgiError::NoHeaderEnd));
        assert_eq!(
            p(b"Content-Type: text/html\r\nbody without end"),
            Err(CgiError::NoHeaderEnd)
        );
        assert!(matches!(
            p(b"garbage\r\n\r\n"),
            Err(CgiError::BadHeaderLine(_))
        ));
        assert!(matches!(
            p(b"Status: abc\r\n\r\n"),
            Err(CgiError::BadStatus(_))
        ));
        assert!(matches!(
            p(b"Status: 99999\r\n\r\n"),
            Err(CgiError::BadStatus(_))
        ));
    }

    #[test]
    fn output_api_gateway_would_reject_is_named() {
        for status in ["600", "700 Odd", "99", "0"] {
            let out = format!("Status: {status}\r\n\r\n");
            assert!(
                matches!(p(out.as_bytes()), Err(CgiError::BadStatus(_))),
                "{status}"
            );
        }
        assert_eq!(p(b"Status: 599\r\n\r\n").expect("ok").status, 599);
        let err = p(b"X Bad Name: 1\r\n\r\n").expect_err("space in a name");
        assert_eq!(err, CgiError::BadHeaderName("X Bad Name".into()));
        assert!(err.to_string().contains("X Bad Name"));
        for line in [&b"X-\xc3\xa9: 1"[..], b"X(y): 1", b": empty name"] {
            let mut out = line.to_vec();
            out.extend_from_slice(b"\r\n\r\n");
            assert!(
                matches!(p(&out), Err(CgiError::BadHeaderName(_))),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn the_head_ends_at_the_first_empty_line() {
        assert_eq!(head_end(b"Status: 200\r\nA: b\r\n\r\nbody"), Some(21));
        assert_eq!(head_end(b"A: b\n\nbody\n\n"), Some(6));
        assert_eq!(head_end(b"\r\nbody"), Some(2));
        assert_eq!(head_end(b"A: b\r\nB: c\r\n"), None);
        assert_eq!(head_end(b""), None);
    }

    #[test]
    fn stderr_is_split_into_lines() {
        let lines: Vec<_> = stderr_lines(b"PHP Warning: a\nPHP Notice: b\r\n\n").collect();
        assert_eq!(lines, ["PHP Warning: a", "PHP Notice: b"]);
    }
}
