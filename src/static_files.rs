//! Static files, answered by the runtime without php-fpm: content type, validators (ETag,
//! Last-Modified, 304), HEAD and Cache-Control. Compression is the same step as for PHP's responses
//! (`compress`, applied by the app to every response).

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt as _;

use crate::body::{BodyStream, StreamError, StreamedResponse, STREAM_LIMIT};

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
    match stat(path, req) {
        Ok(meta) => whole(path, req, config, &meta),
        Err(answer) => answer,
    }
}

/// The file read whole into the response, its metadata already at hand.
fn whole(path: &Path, req: &HttpRequest, config: &StaticConfig, meta: &Metadata) -> HttpResponse {
    let mut response = match head(path, req, config, meta, MAX_FILE) {
        Ok(head) => head,
        Err(answer) => return answer,
    };
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

/// Files up to this size are read whole even when streaming (and may be compressed); larger ones
/// are sent as they are read.
const STREAM_WHOLE: u64 = 1024 * 1024;
/// What one read of a streamed file takes.
const FILE_CHUNK: usize = 256 * 1024;

/// A static file for a streamed response: small files as [`respond`] answers them, larger ones (up
/// to Lambda's 200 MiB stream limit) read piece by piece while they are sent.
pub fn respond_streamed(path: &Path, req: &HttpRequest, config: &StaticConfig) -> StreamedResponse {
    // One stat serves both paths: a small file is answered whole from the same metadata.
    let meta = match stat(path, req) {
        Ok(meta) => meta,
        Err(answer) => return answer.into(),
    };
    let len = meta.len();
    if len <= STREAM_WHOLE {
        return whole(path, req, config, &meta).into();
    }
    // Past 1 MiB nothing is read for a 304 or a HEAD, so neither meets the buffered path's 16 MiB
    // limit: both answer for any file a GET could stream.
    let mut response = match head(path, req, config, &meta, STREAM_LIMIT as u64) {
        Ok(head) => head,
        Err(answer) => return answer.into(),
    };
    if response.status == 304 {
        return response.into();
    }
    response.headers.push(crate::message::Header::new(
        "Content-Length",
        len.to_string(),
    ));
    let rest = (!req.is_head()).then(|| file_stream(path.to_path_buf()));
    StreamedResponse {
        head: response,
        rest,
    }
}

/// The file's bytes, [`FILE_CHUNK`] at a time, each read only when the previous one was sent.
fn file_stream(path: PathBuf) -> BodyStream {
    let state = (path, None::<tokio::fs::File>, false);
    Box::pin(futures_util::stream::unfold(
        state,
        |(path, file, done)| async move {
            if done {
                return None;
            }
            let mut file = match file {
                Some(file) => file,
                None => match tokio::fs::File::open(&path).await {
                    Ok(file) => file,
                    Err(source) => {
                        return Some((
                            Err(StreamError::File {
                                path: path.clone(),
                                source,
                            }),
                            (path, None, true),
                        ))
                    }
                },
            };
            let mut buf = BytesMut::with_capacity(FILE_CHUNK);
            match file.read_buf(&mut buf).await {
                Ok(0) => None,
                Ok(_) => Some((Ok(buf.freeze()), (path, Some(file), false))),
                Err(source) => Some((
                    Err(StreamError::File {
                        path: path.clone(),
                        source,
                    }),
                    (path, None, true),
                )),
            }
        },
    ))
}

/// The method checked (only GET and HEAD), then the file's metadata. `Err` is an answer of its own
/// (405, 404).
fn stat(path: &Path, req: &HttpRequest) -> Result<Metadata, HttpResponse> {
    if !matches!(req.method.as_str(), "GET" | "HEAD") {
        return Err(
            HttpResponse::text(405, "405 Method Not Allowed").with_header("Allow", "GET, HEAD")
        );
    }
    std::fs::metadata(path).map_err(|_| HttpResponse::text(404, "404 Not Found"))
}

/// Everything but the body: size, type, validators (and 304), Cache-Control. `Err` is an answer of its
/// own (a file too large for the response).
fn head(
    path: &Path,
    req: &HttpRequest,
    config: &StaticConfig,
    meta: &Metadata,
    max_size: u64,
) -> Result<HttpResponse, HttpResponse> {
    if meta.len() > max_size {
        return Err(HttpResponse::text(
            502,
            &format!(
                "502 Bad Gateway\nThis file is {} bytes, too large for a Lambda response; serve it from S3 or a CDN.",
                meta.len()
            ),
        ));
    }
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let secs = modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let etag = format!("\"{:x}-{:x}\"", secs, meta.len());
    let mut response = HttpResponse::new(if not_modified(req, &etag, secs) {
        304
    } else {
        200
    });
    response = response
        .with_header("Content-Type", content_type(path))
        .with_header("Last-Modified", httpdate::fmt_http_date(modified))
        .with_header("ETag", etag);
    if let Some(cc) = &config.cache_control {
        response = response.with_header("Cache-Control", cc.as_bytes());
    }
    Ok(response)
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

    #[test]
    fn streamed_small_files_whole_and_large_ones_as_read() {
        let config = StaticConfig::default();
        let (_d, small) = file("small.txt", b"abc");
        let r = respond_streamed(&small, &req("GET", &[]), &config);
        assert!(r.rest.is_none());
        assert_eq!(&r.head.body[..], b"abc");
        assert_eq!(header(&r.head, "content-length"), Some("3"));
        let (_d, large) = file("large.bin", &vec![7u8; STREAM_WHOLE as usize + 1]);
        let r = respond_streamed(&large, &req("GET", &[]), &config);
        assert!(r.rest.is_some(), "a large file is read while it is sent");
        assert!(r.head.body.is_empty());
        let len = (STREAM_WHOLE + 1).to_string();
        assert_eq!(header(&r.head, "content-length"), Some(len.as_str()));
        let etag = header(&r.head, "etag").expect("etag").to_owned();
        let r = respond_streamed(&large, &req("GET", &[("If-None-Match", &etag)]), &config);
        assert_eq!(r.head.status, 304);
        assert!(r.rest.is_none());
        let head = respond_streamed(&large, &req("HEAD", &[]), &config);
        assert!(head.rest.is_none(), "a HEAD reads nothing");
        assert_eq!(header(&head.head, "content-length"), Some(len.as_str()));
        let post = respond_streamed(&large, &req("POST", &[]), &config);
        assert_eq!(post.head.status, 405);
        let missing = respond_streamed(&large.with_extension("gone"), &req("GET", &[]), &config);
        assert_eq!(missing.head.status, 404);
    }

    #[test]
    fn streamed_304_and_head_answer_for_files_past_the_buffered_limit() {
        let config = StaticConfig::default();
        let (_d, big) = file("big.bin", &vec![1u8; MAX_FILE as usize + 1]);
        let get = respond_streamed(&big, &req("GET", &[]), &config);
        assert_eq!(get.head.status, 200);
        assert!(get.rest.is_some());
        let etag = header(&get.head, "etag").expect("etag").to_owned();
        let cached = respond_streamed(&big, &req("GET", &[("If-None-Match", &etag)]), &config);
        assert_eq!(cached.head.status, 304, "not a 502 for its size");
        assert!(cached.rest.is_none());
        let head = respond_streamed(&big, &req("HEAD", &[]), &config);
        assert_eq!(head.head.status, 200);
        let len = (MAX_FILE + 1).to_string();
        assert_eq!(header(&head.head, "content-length"), Some(len.as_str()));
        assert!(head.rest.is_none() && head.head.body.is_empty());
    }
}
