//! `bootstrap serve`: plain HTTP on a local port, through the same pipeline as Lambda mode. Each
//! request becomes the [`HttpRequest`] an HTTP API event would give, goes through the app's routing,
//! php-fpm and response handling, and comes back as HTTP: buffered with Lambda's size limit, or
//! streamed with chunked encoding (so PHP's `flush()` reaches the browser) in `response_stream` mode.
//! No Docker, no emulator.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::app::{compress_complete, App, InvokeMode};
use crate::body::StreamedResponse;
use crate::lambda::events::EventSource;
use crate::lambda::{response, InvocationInfo};
use crate::message::{Header, HttpRequest, HttpResponse};

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

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

async fn handle(app: &App, req: Request<Incoming>, peer: SocketAddr, port: u16) -> Response<Body> {
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
    let request = to_request(&parts, body, peer, port);
    let info = InvocationInfo {
        request_id: format!("serve-{n}"),
        deadline_ms: None,
        function_arn: "arn:aws:lambda:local:000000000000:function:serve".into(),
        trace_id: None,
        tenant_id: None,
    };
    // As a Function URL's client would get it: compressed when it asks for it.
    let compression = app.compression.choose(false, &request);
    let head = request.is_head();
    let id = info.request_id.as_str();
    let answered = if app.invoke_mode == InvokeMode::ResponseStream {
        app.handle_request_streamed(&request, None, &info, compression)
            .await
            .map(|mut response| {
                compress_complete(&mut response, compression, head, id);
                response
            })
    } else {
        app.handle_request(&request, None, &info, compression)
            .await
            .map(|response| {
                let mut response = StreamedResponse::from(response);
                compress_complete(&mut response, compression, head, id);
                as_lambda_would_send(response.head, head).into()
            })
    };
    match answered {
        Ok(response) => to_response(response, &info.request_id),
        Err(e) => plain(StatusCode::BAD_GATEWAY, &format!("502 Bad Gateway\n{e}")),
    }
}

/// The request as an HTTP API would pass it on: the raw path and query, every header, and the
/// forwarding headers set from the connection (a local client must not decide them).
fn to_request(
    parts: &http::request::Parts,
    body: Bytes,
    peer: SocketAddr,
    port: u16,
) -> HttpRequest {
    let mut headers: Vec<Header> = parts
        .headers
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "x-forwarded-proto" | "x-forwarded-port" | "x-forwarded-for"
            )
        })
        .map(|(name, value)| Header::new(name.as_str(), value.as_bytes()))
        .collect();
    headers.push(Header::new("x-forwarded-proto", "http"));
    headers.push(Header::new("x-forwarded-port", port.to_string()));
    headers.push(Header::new("x-forwarded-for", peer.ip().to_string()));
    HttpRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers,
        body,
        client_ip: Some(peer.ip().to_string()),
        protocol: format!("{:?}", parts.version),
    }
}

/// A buffered response as it would reach a Function URL's client: over Lambda's limit it is the same
/// clear 502, and HEAD, 204 and 304 answers carry no body.
fn as_lambda_would_send(response: HttpResponse, head: bool) -> HttpResponse {
    // Only the JSON's length matters here: counted, not built.
    let source = EventSource::ApiGatewayV2;
    let json_len = response::encoded_len(source, &response, head);
    if let Some(why) = response::too_large(source, &response, json_len) {
        tracing::error!("502 Bad Gateway: {why}");
        return HttpResponse::text(502, &format!("502 Bad Gateway\n{why}"));
    }
    let mut response = response;
    if head || matches!(response.status, 204 | 304) {
        response.body = Bytes::new();
    }
    response
}

/// The HTTP answer: status, every header as PHP sent it, and the body, streamed when it still comes.
fn to_response(response: StreamedResponse, request_id: &str) -> Response<Body> {
    let StreamedResponse { head, rest } = response;
    let body: Body = match rest {
        None => Full::new(head.body.clone())
            .map_err(|never| match never {})
            .boxed_unsync(),
        Some(rest) => {
            let request_id = request_id.to_owned();
            let rest = rest.map(move |piece| match piece {
                Ok(data) => Ok(Frame::data(data)),
                Err(e) => {
                    // Ending the body with an error aborts the connection: the client sees a cut
                    // chunked body, never a complete-looking one.
                    tracing::error!(requestId = %request_id, "the streamed response was cut: {e}");
                    Err(std::io::Error::other(e.to_string()))
                }
            });
            let first = (!head.body.is_empty()).then(|| Ok(Frame::data(head.body.clone())));
            BodyExt::boxed_unsync(StreamBody::new(
                futures_util::stream::iter(first).chain(rest),
            ))
        }
    };
    let mut out = Response::new(body);
    *out.status_mut() = StatusCode::from_u16(head.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for h in &head.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_bytes(&h.value),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

fn plain(status: StatusCode, message: &str) -> Response<Body> {
    let body = Full::new(Bytes::from(format!("{message}\n"))).map_err(|never| match never {});
    let mut response = Response::new(body.boxed_unsync());
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
    fn requests_keep_every_header_and_get_forwarding_headers_from_the_connection() {
        let request = Request::builder()
            .method("POST")
            .uri("/a%20b/c?x=1&y=%2F")
            .header("accept", "a")
            .header("accept", "b")
            .header("cookie", "x=1; y=2")
            .header("x-forwarded-for", "203.0.113.1")
            .body(())
            .expect("request");
        let (parts, ()) = request.into_parts();
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let r = to_request(&parts, Bytes::from_static(b"hi"), peer, 8080);
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/a%20b/c");
        assert_eq!(r.query, "x=1&y=%2F");
        assert_eq!(r.header_str("cookie"), Some("x=1; y=2"));
        let accept: Vec<&[u8]> = r
            .headers
            .iter()
            .filter(|h| h.name == "accept")
            .map(|h| h.value.as_slice())
            .collect();
        assert_eq!(accept, [b"a".as_slice(), b"b"]);
        assert_eq!(r.header_str("x-forwarded-for"), Some("127.0.0.1"));
        assert_eq!(r.header_str("x-forwarded-port"), Some("8080"));
        assert_eq!(r.client_ip.as_deref(), Some("127.0.0.1"));
    }
}
