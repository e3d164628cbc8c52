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
            p.add("CONTENT_LENGTH", itoa::Buffer::new().format(req.body.len()));
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
        const NAME: &str = "REQUEST_URI";
        wire::push_lengths(&mut self.0, NAME.len(), len);
        self.0.extend_from_slice(NAME.as_bytes());
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
            let same = |h: &Header| h.name.eq_ignore_ascii_case(&header.name);
            if req.headers[..i].iter().any(same) {
                continue;
            }
            let sep: &[u8] = if header.name.eq_ignore_ascii_case("cookie") {
                b"; "
            } else {
                b", "
            };
            let later = req.headers[i + 1..].iter().filter(|h| same(h));
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
mod tests;
