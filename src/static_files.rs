//! Static files, answered by the runtime without php-fpm: content type, validators (ETag,
//! Last-Modified, 304), HEAD and Cache-Control. Compression is the same step as for PHP's responses
//! (`compress`, applied by the app to every response).

use std::path::Path;
use std::time::UNIX_EPOCH;

use bytes::Bytes;

use crate::message::{HttpRequest, HttpResponse};

#[derive(Debug, Clone, Default)]
pub struct StaticConfig {
    /// `Cache-Control` for static files; none when unset.
    pub cache_control: Option<String>,
}

/// Files larger than this are refused before being read: even compressed they would rarely fit under
/// Lambda's response limit, and reading them would only cost memory.
const MAX_FILE: u64 = 16 * 1024 * 1024;

pub fn respond(path: &Path, req: &HttpRequest, config: &StaticConfig) -> HttpResponse {
    if !matches!(req.method.as_str(), "GET" | "HEAD") {
        return HttpResponse::text(405, "405 Method Not Allowed").with_header("Allow", "GET, HEAD");
    }
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(_) => return HttpResponse::text(404, "404 Not Found"),
    };
    if meta.len() > MAX_FILE {
        return HttpResponse::text(
            502,
            &format!(
                "502 Bad Gateway\nThis file is {} bytes, too large for a Lambda response; serve it from S3 or a CDN.",
                meta.len()
            ),
        );
    }
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let secs = modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let etag = format!("\"{:x}-{:x}\"", secs, meta.len());
    let last_modified = httpdate::fmt_http_date(modified);
    let content_type = content_type(path);

    let mut response = HttpResponse::new(200);
    if not_modified(req, &etag, secs) {
        response.status = 304;
    }
    response.headers.push(crate::message::Header::new(
        "Content-Type",
        content_type.as_bytes(),
    ));
    response
        .headers
        .push(crate::message::Header::new("Last-Modified", last_modified));
    response
        .headers
        .push(crate::message::Header::new("ETag", etag));
    if let Some(cc) = &config.cache_control {
        response
            .headers
            .push(crate::message::Header::new("Cache-Control", cc.as_bytes()));
    }
    if response.status == 304 {
        return response;
    }
    let body = match std::fs::read(path) {
        Ok(body) => body,
        Err(_) => return HttpResponse::text(404, "404 Not Found"),
    };
    response.headers.push(crate::message::Header::new(
        "Content-Length",
        body.len().to_string(),
    ));
    response.body = Bytes::from(body);
    response
}

fn content_type(path: &Path) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let essence = mime.essence_str();
    if essence.starts_with("text/") || essence == "application/javascript" {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_owned()
    }
}

fn not_modified(req: &HttpRequest, etag: &str, modified_secs: u64) -> bool {
    if let Some(inm) = req.header_str("if-none-match") {
        return inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == etag);
    }
    req.header_str("if-modified-since")
        .and_then(|v| httpdate::parse_http_date(v.trim()).ok())
        .and_then(|since| since.duration_since(UNIX_EPOCH).ok())
        .is_some_and(|since| modified_secs <= since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Header;

    fn req(method: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            path: "/x".into(),
            headers: headers
                .iter()
                .map(|(n, v)| Header::new(*n, v.as_bytes()))
                .collect(),
            ..Default::default()
        }
    }

    fn file(name: &str, content: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write");
        (dir, path)
    }

    fn header<'a>(r: &'a HttpResponse, name: &str) -> Option<&'a str> {
        r.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    #[test]
    fn serves_with_type_length_and_validators() {
        let (_d, path) = file("app.css", b"body{}");
        let config = StaticConfig {
            cache_control: Some("public, max-age=60".into()),
        };
        let r = respond(&path, &req("GET", &[]), &config);
        assert_eq!(r.status, 200);
        assert_eq!(header(&r, "content-type"), Some("text/css; charset=utf-8"));
        assert_eq!(header(&r, "content-length"), Some("6"));
        assert_eq!(header(&r, "cache-control"), Some("public, max-age=60"));
        assert_eq!(&r.body[..], b"body{}");
        let etag = header(&r, "etag").expect("etag").to_owned();
        let again = respond(&path, &req("GET", &[("If-None-Match", &etag)]), &config);
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
        let lm = header(&r, "last-modified").expect("lm").to_owned();
        assert_eq!(
            respond(&path, &req("GET", &[("If-Modified-Since", &lm)]), &config).status,
            304
        );
        assert_eq!(
            respond(
                &path,
                &req("GET", &[("If-None-Match", "\"other\"")]),
                &config
            )
            .status,
            200
        );
    }

    #[test]
    fn bodies_are_left_to_the_compression_step() {
        let text = "hello world ".repeat(500);
        let (_d, path) = file("big.js", text.as_bytes());
        let r = respond(
            &path,
            &req("GET", &[("Accept-Encoding", "br, gzip")]),
            &StaticConfig::default(),
        );
        assert_eq!(header(&r, "content-encoding"), None);
        assert_eq!(header(&r, "content-length"), Some("6000"));
        assert_eq!(&r.body[..], text.as_bytes());
    }

    #[test]
    fn only_get_and_head() {
        let (_d, path) = file("a.txt", b"abc");
        let r = respond(&path, &req("POST", &[]), &StaticConfig::default());
        assert_eq!(r.status, 405);
        assert_eq!(header(&r, "allow"), Some("GET, HEAD"));
        let head = respond(&path, &req("HEAD", &[]), &StaticConfig::default());
        assert_eq!(head.status, 200);
        assert_eq!(header(&head, "content-length"), Some("3"));
    }
}
