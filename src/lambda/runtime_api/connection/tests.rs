use super::*;

#[tokio::test]
async fn a_broken_length_is_refused_before_it_is_allocated() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; 4096];
        let _ = stream.read(&mut buf).await.expect("read");
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n")
            .await
            .expect("write");
    });
    let endpoint = super::super::Endpoint::parse(&addr).expect("endpoint");
    let mut conn = ApiConnection::connect(&addr).await.expect("connect");
    let result = conn.exchange(&endpoint.next_request()).await;
    assert!(matches!(result, Err(ApiError::Protocol(_))), "{result:?}");
    assert!(!conn.is_reusable());
    server.await.expect("server");
}
