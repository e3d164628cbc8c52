//! CGI params from (request, route, site): what PHP sees in `$_SERVER`. Pure.
//!
//! Server variables come only from the request's source, our own configuration and what the caller
//! adds for its platform (see [`Params::add`]). Client headers become
//! `HTTP_*` and nothing else: a header whose name has `_` or any non-token byte is dropped (so
//! `X_Forwarded_For` cannot shadow `X-Forwarded-For`), and `Proxy` never becomes `HTTP_PROXY` (httpoxy).

use std::borrow::Cow;

use percent_encoding::{percent_encode, AsciiSet, CONTROLS};

use super::wire;
use crate::message::{is_token_byte, Header, HttpRequest};
use crate::router::Script;

/// Site-wide values that do not change per request.
#[derive(Debug, Clone)]
pub struct Site {
    pub document_root: String,
    pub server_software: String,
}

impl Site {
    pub fn new(document_root: String) -> Self {
        Self {
            document_root,
            server_software: concat!("lambda-fpm/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// Ordered CGI params, kept as the PARAMS stream they are sent as: one buffer per request rather than
/// two allocations per variable (40 of a hello world's 130 allocations before). Names are ASCII by
/// construction, values are bytes.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<u8>);

/// Bytes that cannot stand in a URI as sent: they are percent-encoded in `REQUEST_URI`; `%` is kept so an
/// already-encoded path passes unchanged.
const URI_UNSAFE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

impl<V: AsRef<[u8]>> Extend<(&'static str, V)> for Params {
    fn extend<I: IntoIterator<Item = (&'static str, V)>>(&mut self, vars: I) {
        for (name, value) in vars {
            self.add(name, value);
        }
    }
}

impl Params {
    pub fn build(req: &HttpRequest, script: &Script, site: &Site) -> Self {
        // Room for the fixed variables, the headers and the platform's (the request context is the
        // largest of those); one allocation in the common case.
        let headers = req.headers.iter();
        let headers: usize = headers.map(|h| h.name.len() + h.value.len() + 16).sum();
        let mut p = Params(Vec::with_capacity(
            4096 + headers + 3 * (req.path.len() + req.query.len()),
        ));
        p.add_request(req, site);
        p.add_script(script, site);
        p.add_server(req);
        p.add("REDIRECT_STATUS", "200");
        if let Some(ct) = req.header("content-type") {
            p.add_sanitized("CONTENT_TYPE", ct);
        }
        if !req.body.is_empty() {
            p.add("CONTENT_LENGTH", Decimal::new(req.body.len()).as_bytes());
        }
        p.add_headers(req);
        p
    }

    /// What was asked: protocol, method, URI and query (control bytes escaped).
    fn add_request(&mut self, req: &HttpRequest, site: &Site) {
        let query = escape_controls(&req.query);
        self.add("GATEWAY_INTERFACE", "CGI/1.1");
        self.add("SERVER_SOFTWARE", &site.server_software);
        self.add("SERVER_PROTOCOL", &req.protocol);
        self.add("REQUEST_METHOD", &req.method);
        self.add_request_uri(&req.path, &query);
        self.add("DOCUMENT_URI", escape_controls(&req.path).as_bytes());
        self.add("QUERY_STRING", query.as_bytes());
    }

    /// What runs: the route's script, its PATH_INFO, and the document root.
    fn add_script(&mut self, script: &Script, site: &Site) {
        self.add(
            "SCRIPT_FILENAME",
            script.filename.as_os_str().as_encoded_bytes(),
        );
        self.add("SCRIPT_NAME", &script.name);
        if let Some(info) = &script.path_info {
            // No PATH_TRANSLATED: php-fpm would take it as the script's path (and refuse it).
            self.add("PATH_INFO", info);
        }
        self.add("DOCUMENT_ROOT", &site.document_root);
    }

    /// Where the request came in, as the client saw it: the host, and the scheme and port the proxy
    /// in front (API Gateway, ALB) forwarded; HTTPS unless it says plain HTTP.
    fn add_server(&mut self, req: &HttpRequest) {
        let https = !req
            .header_str("x-forwarded-proto")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("http"));
        let port = req
            .header_str("x-forwarded-port")
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 5 && v.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or("443");
        match server_name(req.header("host").unwrap_or_default()) {
            [] => self.add("SERVER_NAME", "localhost"),
            name => self.add_sanitized("SERVER_NAME", name),
        }
        self.add("SERVER_PORT", port);
        self.add("SERVER_ADDR", "127.0.0.1");
        self.add(
            "REMOTE_ADDR",
            req.client_ip.as_deref().unwrap_or("127.0.0.1"),
        );
        if https {
            self.add("HTTPS", "on");
            self.add("REQUEST_SCHEME", "https");
        } else {
            self.add("REQUEST_SCHEME", "http");
        }
    }

    /// Appends a server variable. Besides the CGI variables `build` adds, callers add what only their
    /// platform knows (on Lambda, the invocation's context); the names are the caller's constants,
    /// never client input, so they cannot pose as `HTTP_*`.
    pub fn add(&mut self, name: &'static str, value: impl AsRef<[u8]>) {
        wire::push_pair(&mut self.0, name.as_bytes(), value.as_ref());
    }

    /// A client's bytes as a value, NUL, CR and LF turned into spaces: PHP copies params into C
    /// strings (`getenv`), and a line break in a value would let it split log lines or headers it
    /// echoes.
    fn add_sanitized(&mut self, name: &'static str, value: &[u8]) {
        wire::push_lengths(&mut self.0, name.len(), value.len());
        self.0.extend_from_slice(name.as_bytes());
        push_sanitized(&mut self.0, value);
    }

    /// `REQUEST_URI`: the path with the bytes a URI cannot hold percent-encoded, and the query.
    fn add_request_uri(&mut self, path: &str, query: &str) {
        let path = percent_encode(path.as_bytes(), URI_UNSAFE);
        let query_len = if query.is_empty() { 0 } else { 1 + query.len() };
        let len = path.clone().map(str::len).sum::<usize>() + query_len;
        wire::push_lengths(&mut self.0, "REQUEST_URI".len(), len);
        self.0.extend_from_slice(b"REQUEST_URI");
        path.for_each(|part| self.0.extend_from_slice(part.as_bytes()));
        if !query.is_empty() {
            self.0.push(b'?');
            self.0.extend_from_slice(query.as_bytes());
        }
    }

    /// Each client header as `HTTP_*`, repeated ones joined into their first (`; ` for cookies, `, `
    /// otherwise, as nginx passes them).
    fn add_headers(&mut self, req: &HttpRequest) {
        for (i, header) in req.headers.iter().enumerate() {
            let name = header.name.as_bytes();
            if name.is_empty() || name.contains(&b'_') || !name.iter().all(|b| is_token_byte(*b)) {
                continue;
            }
            if header.name.eq_ignore_ascii_case("proxy") {
                continue;
            }
            // Two names that pass make the same variable exactly when they differ only in case.
            let same = |h: &&Header| h.name.eq_ignore_ascii_case(&header.name);
            if req.headers[..i].iter().any(|h| same(&h)) {
                continue;
            }
            let sep: &[u8] = if header.name.eq_ignore_ascii_case("cookie") {
                b"; "
            } else {
                b", "
            };
            let later = req.headers[i + 1..].iter().filter(same);
            let len = header.value.len()
                + later
                    .clone()
                    .map(|h| sep.len() + h.value.len())
                    .sum::<usize>();
            wire::push_lengths(&mut self.0, 5 + name.len(), len);
            self.0.extend_from_slice(b"HTTP_");
            self.0.extend(name.iter().map(|b| match b {
                b'-' => b'_',
                b => b.to_ascii_uppercase(),
            }));
            push_sanitized(&mut self.0, &header.value);
            for h in later {
                self.0.extend_from_slice(sep);
                push_sanitized(&mut self.0, &h.value);
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        wire::Pairs(&self.0).map(|(n, v)| (std::str::from_utf8(n).unwrap_or_default(), v))
    }

    /// The FastCGI PARAMS stream content.
    pub fn encoded(&self) -> &[u8] {
        &self.0
    }
}

/// Appends `value` with NUL, CR and LF as spaces (see [`Params::add_sanitized`]).
fn push_sanitized(out: &mut Vec<u8>, value: &[u8]) {
    let start = out.len();
    out.extend_from_slice(value);
    for b in &mut out[start..] {
        if matches!(*b, 0 | b'\r' | b'\n') {
            *b = b' ';
        }
    }
}

/// A number's decimal digits without a `String`.
struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    fn new(mut n: usize) -> Self {
        let mut digits = [b'0'; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break Self { digits, start };
            }
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.digits[self.start..]
    }
}

/// Control bytes (0x00–0x1F, 0x7F) in a query percent-encoded, everything else as sent. v2 and ALB
/// queries arrive raw; no client can send a control byte through API Gateway or an ALB, but an event can
/// hold one, and a raw CR/LF/NUL in `QUERY_STRING`/`REQUEST_URI` could split a log line or header an app
/// echoes it into. `$_GET` is the same either way (PHP decodes `%01` to the byte).
fn escape_controls(query: &str) -> Cow<'_, str> {
    if !query.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Cow::Borrowed(query);
    }
    let mut out = String::with_capacity(query.len() + 8);
    for c in query.chars() {
        if c < '\u{20}' || c == '\u{7f}' {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The Host header without its port (`[::1]:8080` → `[::1]`), trimmed of the whitespace and NULs
/// around it; empty when there is none.
fn server_name(host: &[u8]) -> &[u8] {
    let kept = |b: &u8| !(b.is_ascii_whitespace() || *b == 0);
    let host = match (host.iter().position(kept), host.iter().rposition(kept)) {
        (Some(first), Some(last)) => &host[first..=last],
        _ => &[],
    };
    let end = if host.starts_with(b"[") {
        host.iter()
            .position(|b| *b == b']')
            .map_or(host.len(), |i| i + 1)
    } else {
        host.iter().position(|b| *b == b':').unwrap_or(host.len())
    };
    &host[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Header;
    use std::path::PathBuf;

    fn request(headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            path: "/a b/ü".into(),
            query: "x=1&y=%20".into(),
            headers: headers
                .iter()
                .map(|(n, v)| Header::new(*n, v.as_bytes()))
                .collect(),
            client_ip: Some("203.0.113.9".into()),
            protocol: "HTTP/1.1".into(),
            ..Default::default()
        }
    }

    fn build(req: &HttpRequest) -> Params {
        let script = Script {
            filename: PathBuf::from("/var/task/public/index.php"),
            name: "/index.php".into(),
            path_info: None,
        };
        Params::build(req, &script, &Site::new("/var/task/public".into()))
    }

    fn get<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
        p.get(name).map(|v| std::str::from_utf8(v).expect("utf8"))
    }

    #[test]
    fn server_variables_come_from_the_request_and_site() {
        let p = build(&request(&[
            ("Host", "example.com:8443"),
            ("X-Forwarded-Port", "8443"),
        ]));
        assert_eq!(get(&p, "REQUEST_URI"), Some("/a%20b/%C3%BC?x=1&y=%20"));
        assert_eq!(get(&p, "QUERY_STRING"), Some("x=1&y=%20"));
        assert_eq!(get(&p, "SERVER_NAME"), Some("example.com"));
        assert_eq!(get(&p, "HTTP_HOST"), Some("example.com:8443"));
        assert_eq!(get(&p, "SERVER_PORT"), Some("8443"));
        assert_eq!(get(&p, "HTTPS"), Some("on"));
        assert_eq!(get(&p, "REMOTE_ADDR"), Some("203.0.113.9"));
        assert_eq!(get(&p, "SCRIPT_NAME"), Some("/index.php"));
        assert_eq!(get(&p, "PATH_INFO"), None);
        assert_eq!(get(&p, "CONTENT_TYPE"), None);
        assert_eq!(get(&p, "CONTENT_LENGTH"), None);
        assert!(get(&p, "SERVER_SOFTWARE").is_some_and(|s| s.starts_with("lambda-fpm/")));
    }

    #[test]
    fn callers_add_their_platform_variables_last() {
        let mut p = build(&request(&[("Accept", "a")]));
        p.extend([("PLATFORM_A", "1"), ("PLATFORM_B", "2")]);
        let names: Vec<&str> = p.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names[names.len() - 3..],
            ["HTTP_ACCEPT", "PLATFORM_A", "PLATFORM_B"]
        );
        assert_eq!(get(&p, "PLATFORM_B"), Some("2"));
    }

    #[test]
    fn plain_http_and_default_port() {
        let p = build(&request(&[
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Port", "80; rm"),
        ]));
        assert_eq!(get(&p, "HTTPS"), None);
        assert_eq!(get(&p, "REQUEST_SCHEME"), Some("http"));
        assert_eq!(get(&p, "SERVER_PORT"), Some("443"));
        assert_eq!(get(&p, "SERVER_NAME"), Some("localhost"));
    }

    #[test]
    fn headers_are_joined_and_forgeries_dropped() {
        let p = build(&request(&[
            ("Accept", "a"),
            ("accept", "b"),
            ("Cookie", "x=1"),
            ("cookie", "y=2"),
            ("Proxy", "http://evil"),
            ("X_Forwarded_For", "1.1.1.1"),
            ("Bad Header", "v"),
            ("X-Crlf", "a\r\nInjected: 1"),
        ]));
        assert_eq!(get(&p, "HTTP_ACCEPT"), Some("a, b"));
        assert_eq!(get(&p, "HTTP_COOKIE"), Some("x=1; y=2"));
        assert_eq!(get(&p, "HTTP_PROXY"), None);
        assert_eq!(get(&p, "HTTP_X_FORWARDED_FOR"), None);
        assert_eq!(get(&p, "HTTP_X_CRLF"), Some("a  Injected: 1"));
        assert!(p.iter().all(|(n, _)| !n.contains(' ')));
    }

    #[test]
    fn joined_values_keep_their_place_and_long_lengths_decode() {
        let long = "v".repeat(200);
        let p = build(&request(&[
            ("X-A", "1"),
            ("Accept", &long),
            ("x-a", "2"),
            ("X-B", "3"),
            ("X-a", "\0"),
        ]));
        let names: Vec<&str> = p.iter().map(|(n, _)| n).collect();
        let at = |name: &str| names.iter().position(|n| *n == name);
        assert!(at("HTTP_X_A") < at("HTTP_ACCEPT") && at("HTTP_ACCEPT") < at("HTTP_X_B"));
        assert_eq!(names.iter().filter(|n| **n == "HTTP_X_A").count(), 1);
        assert_eq!(get(&p, "HTTP_X_A"), Some("1, 2,  "));
        assert_eq!(get(&p, "HTTP_ACCEPT"), Some(long.as_str()));
        let pairs = wire::decode_pairs(p.encoded()).expect("decodes");
        assert_eq!(pairs.len(), names.len());
    }

    #[test]
    fn control_bytes_in_the_query_are_encoded() {
        let mut req = request(&[]);
        req.query = "a=\u{1}b&c=\r\n&d=\u{0}&e=caf\u{e9}%20\u{7f}".into();
        let p = build(&req);
        assert_eq!(
            get(&p, "QUERY_STRING"),
            Some("a=%01b&c=%0D%0A&d=%00&e=caf\u{e9}%20%7F")
        );
        assert!(get(&p, "REQUEST_URI")
            .is_some_and(|u| u.ends_with("?a=%01b&c=%0D%0A&d=%00&e=caf\u{e9}%20%7F")));
        assert_eq!(escape_controls("x=1&y=%20"), Cow::Borrowed("x=1&y=%20"));
    }

    #[test]
    fn ipv6_host_keeps_brackets() {
        assert_eq!(server_name(b"[::1]:8080"), b"[::1]");
        assert_eq!(server_name(b"example.com"), b"example.com");
        assert_eq!(server_name(b" \0example.com:80\r\n"), b"example.com");
        assert_eq!(server_name(b" \0 "), b"");
    }
}
