//! The HTTP request and response every event source is converted to and from, and the text-vs-binary rule.
//!
//! Header values are bytes: events carry whatever clients and CDNs sent (non-ASCII, control bytes), and
//! php-fpm answers with whatever the script printed. Nothing here fails on odd bytes.

use bytes::Bytes;

/// One header as it travelled: the name as spelled, the value as bytes. Order and repeats are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A request as the app should see it, whatever event it arrived in.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    /// The path as the event gave it (not yet decoded), always starting with `/`.
    pub path: String,
    /// The query string exactly as it goes into `QUERY_STRING` (no leading `?`).
    pub query: String,
    pub headers: Vec<Header>,
    pub body: Bytes,
    /// The client's address as the event source vouches for it (never taken from a client header
    /// for API Gateway sources).
    pub client_ip: Option<String>,
    pub protocol: String,
}

impl HttpRequest {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    pub fn is_head(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }
}

/// A response ready to be put into the event source's response shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// The reason phrase the script sent with `Status:`, used when the code has no standard one.
    pub reason: Option<String>,
    pub headers: Vec<Header>,
    pub body: Bytes,
}

impl HttpResponse {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            reason: None,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// A short plain-text answer produced by the runtime itself (errors, redirects).
    pub fn text(status: u16, message: &str) -> Self {
        let mut response = Self::new(status);
        response
            .headers
            .push(Header::new("Content-Type", "text/plain; charset=utf-8"));
        response.body = Bytes::from(format!("{message}\n"));
        response
    }

    pub fn with_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push(Header::new(name, value));
        self
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }

    /// "404 Not Found": the standard phrase, else the script's own, else just the code.
    pub fn status_line(&self) -> String {
        let reason = http::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map(str::to_owned)
            .or_else(|| self.reason.clone());
        match reason {
            Some(reason) => format!("{} {}", self.status, reason),
            None => self.status.to_string(),
        }
    }

    /// Whether the body must travel base64-encoded: anything but valid UTF-8 text of a textual type
    /// without a content encoding. Guessing "text" for a binary type would corrupt it; the reverse only
    /// costs a third more bytes, so unknown types count as binary.
    pub fn is_binary(&self) -> bool {
        if self.body.is_empty() {
            return false;
        }
        if self
            .header("content-encoding")
            .is_some_and(|v| !v.is_empty() && v != b"identity")
        {
            return true;
        }
        let textual = match self.header("content-type") {
            None => true,
            Some(ct) => is_textual_content_type(&String::from_utf8_lossy(ct)),
        };
        // simdutf8 (SIMD, AVX2 / SSE4.2 detected at run time, NEON on arm64) instead of std's validator,
        // which leaves its ASCII fast path at every multibyte character: on a page of accented or
        // non-Latin text std takes longer than escaping the body for JSON (docs/design.md).
        !textual || simdutf8::basic::from_utf8(&self.body).is_err()
    }
}

/// text/*, JSON, JavaScript, XML, `+json`/`+xml`, form-urlencoded, SVG.
pub fn is_textual_content_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence.is_empty() || essence.starts_with("text/") {
        return true;
    }
    matches!(
        essence.as_str(),
        "application/json"
            | "application/javascript"
            | "application/ecmascript"
            | "application/x-javascript"
            | "application/xml"
            | "application/xhtml+xml"
            | "application/x-www-form-urlencoded"
            | "application/graphql"
            | "image/svg+xml"
    ) || essence.ends_with("+json")
        || essence.ends_with("+xml")
}

/// RFC 9110 `tchar`.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(content_type: Option<&str>, body: &'static [u8]) -> HttpResponse {
        let mut r = HttpResponse::new(200);
        if let Some(ct) = content_type {
            r.headers.push(Header::new("Content-Type", ct));
        }
        r.body = Bytes::from_static(body);
        r
    }

    #[test]
    fn text_types_stay_text() {
        for ct in [
            "text/html; charset=UTF-8",
            "application/json",
            "application/problem+json",
            "application/atom+xml",
            "image/svg+xml",
            "application/x-www-form-urlencoded",
            "application/javascript",
        ] {
            assert!(!response(Some(ct), b"hello").is_binary(), "{ct}");
        }
        assert!(!response(None, b"hello").is_binary());
    }

    #[test]
    fn binary_types_invalid_utf8_and_encodings_are_base64() {
        assert!(response(Some("image/png"), b"hello").is_binary());
        assert!(response(Some("application/octet-stream"), b"abc").is_binary());
        assert!(response(Some("text/plain"), b"\xff\xfe").is_binary());
        let mut gz = response(Some("text/html"), b"hello");
        gz.headers.push(Header::new("Content-Encoding", "gzip"));
        assert!(gz.is_binary());
        assert!(!response(Some("image/png"), b"").is_binary());
    }

    #[test]
    fn utf8_check_agrees_with_std() {
        // Each sequence alone, after a clean ASCII run that ends just before, on or across a 16-, 32- and
        // 64-byte SIMD block boundary, and cut short at the end of the body.
        let sequences: [&[u8]; 14] = [
            "é".as_bytes(),
            "✓".as_bytes(),
            "🎉".as_bytes(),
            "\u{10ffff}".as_bytes(),
            b"\x7f",
            b"\x80",
            b"\xc0\xaf",
            b"\xc2",
            b"\xe0\x80\xaf",
            b"\xed\xa0\x80",
            b"\xf0\x9f\x8e",
            b"\xf4\x90\x80\x80",
            b"\xf8\x88\x80\x80\x80",
            b"\xff",
        ];
        for len in (0..70).chain([127, 128, 129, 4095, 4096, 4097]) {
            for seq in sequences {
                for cut in 0..=seq.len() {
                    let mut body = vec![b'a'; len];
                    body.extend_from_slice(&seq[..cut]);
                    let std_binary = std::str::from_utf8(&body).is_err();
                    let r = HttpResponse {
                        body: Bytes::from(body),
                        ..response(Some("text/html"), b"")
                    };
                    assert_eq!(r.is_binary(), std_binary, "{len} + {seq:x?}[..{cut}]");
                }
            }
        }
    }

    #[test]
    fn status_line_uses_standard_phrase_then_the_scripts() {
        assert_eq!(HttpResponse::new(404).status_line(), "404 Not Found");
        let mut odd = HttpResponse::new(599);
        assert_eq!(odd.status_line(), "599");
        odd.reason = Some("Custom".into());
        assert_eq!(odd.status_line(), "599 Custom");
    }
}
