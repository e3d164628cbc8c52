//! `bootstrap serve`: plain HTTP on a local port, through exactly the Lambda code path. Each request
//! becomes an HTTP API v2 event, goes through [`App::handle_event`], and the v2 response JSON becomes
//! the HTTP answer. No Docker, no emulator.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::app::App;
use crate::lambda::InvocationInfo;

/// Lambda refuses requests above 6 MB; so does `serve`, to behave the same.
const MAX_BODY: usize = 6 * 1024 * 1024;

static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Serves until `shutdown` resolves.
pub async fn run(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&app, req, peer, port).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    app: &App,
    req: Request<Incoming>,
    peer: SocketAddr,
    port: u16,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "413 Payload Too Large: Lambda accepts at most 6 MB",
            )
        }
    };
    let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
    let event = v2_event(&parts, &body, peer, port, n);
    let info = InvocationInfo {
        request_id: format!("serve-{n}"),
        deadline_ms: None,
        function_arn: "arn:aws:lambda:local:000000000000:function:serve".into(),
        trace_id: None,
        tenant_id: None,
    };
    match app.handle_event(&event, &info).await {
        Ok(json) => from_v2_response(&json),
        Err(diagnostic) => plain(
            StatusCode::BAD_GATEWAY,
            &format!(
                "502 Bad Gateway\n{}: {}",
                diagnostic.error_type, diagnostic.error_message
            ),
        ),
    }
}

/// The event API Gateway's HTTP API would send for this request.
fn v2_event(
    parts: &http::request::Parts,
    body: &Bytes,
    peer: SocketAddr,
    port: u16,
    n: u64,
) -> Vec<u8> {
    let (header_map, cookies) = v2_headers(&parts.headers, peer, port);
    let path = parts.uri.path();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": parts.uri.query().unwrap_or(""),
        "cookies": cookies,
        "headers": header_map,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": host,
            "http": {
                "method": parts.method.as_str(),
                "path": path,
                "protocol": format!("{:?}", parts.version),
                "sourceIp": peer.ip().to_string(),
                "userAgent": parts.headers.get(http::header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": format!("serve-{n}"),
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": now,
        },
        "body": base64_simd::STANDARD.encode_to_string(body),
        "isBase64Encoded": true,
    });
    event.to_string().into_bytes()
}

/// The v2 event's `headers` (repeats joined with commas, the forwarding headers set as API Gateway
/// sets them) and `cookies`.
fn v2_headers(
    request_headers: &http::HeaderMap,
    peer: SocketAddr,
    port: u16,
) -> (serde_json::Map<String, serde_json::Value>, Vec<String>) {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in request_headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
            );
            continue;
        }
        // API Gateway sets these itself; a local client must not decide them either.
        if matches!(
            name.as_str(),
            "x-forwarded-proto" | "x-forwarded-port" | "x-forwarded-for"
        ) {
            continue;
        }
        match headers.iter_mut().find(|(n, _)| n == name.as_str()) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            None => headers.push((name.as_str().to_owned(), value)),
        }
    }
    headers.push(("x-forwarded-proto".into(), "http".into()));
    headers.push(("x-forwarded-port".into(), port.to_string()));
    headers.push(("x-forwarded-for".into(), peer.ip().to_string()));
    let header_map = headers
        .into_iter()
        .map(|(n, v)| (n, serde_json::Value::String(v)))
        .collect();
    (header_map, cookies)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V2Response {
    status_code: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    cookies: Vec<String>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    is_base64_encoded: bool,
}

fn from_v2_response(json: &[u8]) -> Response<Full<Bytes>> {
    let Ok(v2) = serde_json::from_slice::<V2Response>(json) else {
        return plain(
            StatusCode::BAD_GATEWAY,
            "502 Bad Gateway: the runtime produced an unreadable response",
        );
    };
    let body = if v2.is_base64_encoded {
        base64_simd::STANDARD
            .decode_to_vec(v2.body.as_bytes())
            .unwrap_or_default()
    } else {
        v2.body.into_bytes()
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(v2.status_code).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = response.headers_mut();
    for (name, value) in &v2.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    for cookie in &v2.cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(http::header::SET_COOKIE, value);
        }
    }
    response
}

fn plain(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{message}\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_join_repeats_split_cookies_and_ignore_forged_forwarding() {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [
            ("accept", "a"),
            ("accept", "b"),
            ("cookie", "x=1; y=2"),
            ("x-forwarded-for", "203.0.113.1"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let (map, cookies) = v2_headers(&headers, peer, 8080);
        assert_eq!(map["accept"], "a,b");
        assert_eq!(map["x-forwarded-for"], "127.0.0.1");
        assert_eq!(map["x-forwarded-port"], "8080");
        assert_eq!(cookies, ["x=1", "y=2"]);
    }

    #[tokio::test]
    async fn base64_bodies_are_decoded_and_cookies_become_set_cookie() {
        let response = from_v2_response(
            br#"{"statusCode":201,"cookies":["a=1"],"body":"AP8=","isBase64Encoded":true}"#,
        );
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[http::header::SET_COOKIE], "a=1");
        let body = response.into_body().collect().await.expect("body");
        assert_eq!(&body.to_bytes()[..], &[0x00, 0xff]);
    }
}
