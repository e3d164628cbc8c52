//! [`RuntimeApi`]: one method per Runtime API call over one kept-alive [`ApiConnection`], reopened
//! when the API closed it while idle.

use bytes::Bytes;

use super::connection::{ApiConnection, ApiResponse};
use super::requests::{error_trailers, invocation_info, ApiRequest, Endpoint};
use super::ApiError;
use crate::body::{BodyStream, StreamError};
use crate::lambda::diagnostic::Diagnostic;
use crate::lambda::InvocationInfo;
use futures_util::StreamExt as _;

/// One event to handle.
#[derive(Debug)]
pub struct Next {
    pub info: InvocationInfo,
    pub event: Bytes,
}

pub struct RuntimeApi {
    endpoint: Endpoint,
    conn: Option<ApiConnection>,
}

impl RuntimeApi {
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            conn: None,
        }
    }

    /// Waits for the next event, as long as it takes: the sandbox is frozen while it waits, so a
    /// timeout here would only fire at random after a thaw.
    pub async fn next(&mut self) -> Result<Next, ApiError> {
        let request = self.endpoint.next_request();
        let response = self.send(&request).await?;
        if !response.status.is_success() {
            return Err(status_error(request.call, &response));
        }
        Ok(Next {
            info: invocation_info(&response.headers)?,
            event: response.body,
        })
    }

    pub async fn respond(&mut self, request_id: &str, body: Bytes) -> Result<(), ApiError> {
        let request = self.endpoint.response_request(request_id, body);
        self.expect_accepted(&request).await
    }

    /// Posts a streamed response: `head`, then every piece of `rest` as it comes, each written before
    /// the next is asked for. A piece that is an error ends the body with Lambda's error trailers and
    /// is returned (the response was cut); an error of the API itself is the `Err`.
    pub async fn respond_streaming(
        &mut self,
        request_id: &str,
        head: Bytes,
        rest: Option<BodyStream>,
    ) -> Result<Option<StreamError>, ApiError> {
        let request = self.endpoint.streaming_response_request(request_id);
        let mut conn = match self.conn.take() {
            // A body produced on the fly cannot be sent twice: make sure the connection is alive first.
            Some(conn) if !conn.closed_by_peer() => conn,
            _ => ApiConnection::connect(&self.endpoint.authority).await?,
        };
        conn.start_chunked(&request).await?;
        conn.write_chunk(&head).await?;
        let mut cut = None;
        if let Some(mut rest) = rest {
            while let Some(piece) = rest.next().await {
                match piece {
                    Ok(data) => conn.write_chunk(&data).await?,
                    Err(e) => {
                        cut = Some(e);
                        break;
                    }
                }
            }
        }
        let trailers = cut
            .as_ref()
            .map(|e| error_trailers(&Diagnostic::from(e)))
            .unwrap_or_default();
        conn.finish_chunks(&trailers).await?;
        let response = conn.read_response().await?;
        if conn.is_reusable() {
            self.conn = Some(conn);
        }
        if !response.status.is_success() {
            return Err(status_error(request.call, &response));
        }
        Ok(cut)
    }

    pub async fn fail(
        &mut self,
        request_id: &str,
        diagnostic: &Diagnostic,
    ) -> Result<(), ApiError> {
        let request = self.endpoint.error_request(request_id, diagnostic);
        self.expect_accepted(&request).await
    }

    pub async fn init_error(&mut self, diagnostic: &Diagnostic) -> Result<(), ApiError> {
        let request = self.endpoint.init_error_request(diagnostic);
        self.expect_accepted(&request).await
    }

    /// SnapStart: waits, as long as it takes, for the snapshot to be taken and this environment restored
    /// from it. The kept-alive connection is dropped afterwards: every environment restored from the
    /// snapshot holds a copy of it, and a socket opened before the snapshot cannot be trusted after it
    /// (its peer may have closed it, or never see its packets), so the next call opens a new one.
    pub async fn restore_next(&mut self) -> Result<(), ApiError> {
        let request = self.endpoint.restore_next_request();
        let response = self.send(&request).await;
        self.conn = None;
        let response = response?;
        if response.status != http::StatusCode::OK {
            return Err(status_error(request.call, &response));
        }
        Ok(())
    }

    /// SnapStart: the after-restore work failed; Lambda then discards this environment.
    pub async fn restore_error(&mut self, diagnostic: &Diagnostic) -> Result<(), ApiError> {
        let request = self.endpoint.restore_error_request(diagnostic);
        self.expect_accepted(&request).await
    }

    async fn expect_accepted(&mut self, request: &ApiRequest) -> Result<(), ApiError> {
        let response = self.send(request).await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(status_error(request.call, &response))
        }
    }

    async fn send(&mut self, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let (mut conn, reused) = match self.conn.take() {
            Some(conn) => (conn, true),
            None => (
                ApiConnection::connect(&self.endpoint.authority).await?,
                false,
            ),
        };
        let mut result = conn.exchange(request).await;
        if reused && matches!(result, Err(ApiError::Closed | ApiError::Io(_))) {
            // The API closed the kept-alive connection while it was idle: the request never reached
            // it. Once more on a new connection.
            conn = ApiConnection::connect(&self.endpoint.authority).await?;
            result = conn.exchange(request).await;
        }
        // Kept for the next call unless it failed or the API asked to close it.
        if result.is_ok() && conn.is_reusable() {
            self.conn = Some(conn);
        }
        result
    }
}

fn status_error(call: &'static str, response: &ApiResponse) -> ApiError {
    let body = &response.body[..response.body.len().min(512)];
    ApiError::Status {
        call,
        status: response.status,
        body: String::from_utf8_lossy(body).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn bodies_by_length_chunked_and_until_close_and_reconnects() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let answers: [&[u8]; 3] = [
                b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nContent-Length: 2\r\n\r\n{}",
                b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r2\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n",
                b"HTTP/1.1 202 Accepted\r\nConnection: close\r\n\r\ndone",
            ];
            // The first connection answers two requests and then closes: the third goes on a new one.
            for range in [0..2, 2..3] {
                let (mut stream, _) = listener.accept().await.expect("accept");
                for i in range {
                    let mut buf = vec![0u8; 4096];
                    let n = stream.read(&mut buf).await.expect("read");
                    assert!(n > 0);
                    stream.write_all(answers[i]).await.expect("write");
                }
            }
        });
        let mut api = RuntimeApi::new(Endpoint::parse(&addr.to_string()).expect("endpoint"));
        let first = api.next().await.expect("first");
        assert_eq!(first.info.request_id, "r1");
        assert_eq!(&first.event[..], b"{}");
        let second = api.next().await.expect("second");
        assert_eq!(second.info.request_id, "r2");
        assert_eq!(&second.event[..], b"{\"a\":1}");
        api.respond("r2", Bytes::from_static(b"{}"))
            .await
            .expect("accepted");
        server.await.expect("server");
    }
}
