//! The Runtime API emulator itself (tests/support/runtime_api), driven by a hand-written HTTP/1.1 client so
//! the bytes on the wire are exactly what a runtime sends: what the other suites and the benchmark rely on.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::RuntimeApi;

/// A keep-alive connection to the emulator that reads one response at a time.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// One HTTP response: status, headers (lower-case names), body (Content-Length bodies only).
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

impl Conn {
    async fn open(api: &RuntimeApi) -> Conn {
        let stream = TcpStream::connect(api.address())
            .await
            .expect("connect to the emulator");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write a request");
    }

    async fn read_answer(&mut self) -> Answer {
        let read = async {
            loop {
                if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                    let mut lines = head.split("\r\n");
                    let status = lines
                        .next()
                        .and_then(|l| l.split(' ').nth(1))
                        .and_then(|s| s.parse().ok())
                        .expect("a status line");
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let len: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    while self.buf.len() < end + 4 + len {
                        self.fill().await;
                    }
                    let body = self.buf[end + 4..end + 4 + len].to_vec();
                    self.buf.drain(..end + 4 + len);
                    return Answer {
                        status,
                        headers,
                        body,
                    };
                }
                self.fill().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("the emulator answers within 10 s")
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).await.expect("read an answer");
        assert!(n > 0, "the emulator closed the connection");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// GET /next; returns (request id, event).
    async fn next(&mut self) -> (String, Vec<u8>) {
        self.send(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rt\r\n\r\n")
            .await;
        let answer = self.read_answer().await;
        assert_eq!(answer.status, 200);
        (
            answer.header("lambda-runtime-aws-request-id").to_string(),
            answer.body,
        )
    }

    /// POST /response with a Content-Length body; returns the status.
    async fn respond(&mut self, id: &str, body: &[u8]) -> u16 {
        let head = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: rt\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.send(head.as_bytes()).await;
        self.send(body).await;
        self.read_answer().await.status
    }
}

/// A streamed response as a runtime sends it: `Lambda-Runtime-Function-Response-Mode: streaming`, a chunked
/// body (prelude, 8 NUL bytes, raw body) written in pieces, then the error trailers. The emulator keeps the
/// whole body, the header, every trailer and the pieces it came in.
#[tokio::test]
async fn a_streamed_response_is_recorded_with_its_mode_and_trailers() {
    let api = RuntimeApi::start().await;
    let runtime = async {
        let mut conn = Conn::open(&api).await;
        let (id, event) = conn.next().await;
        assert_eq!(event, br#"{"stream":true}"#);
        let head = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: rt\r\n\
             Content-Type: application/vnd.awslambda.http-integration-response\r\n\
             Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n\
             Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
        );
        conn.send(head.as_bytes()).await;
        let prelude = br#"{"statusCode":200,"headers":{"content-type":"text/plain"},"cookies":[]}"#;
        let mut first = prelude.to_vec();
        first.extend_from_slice(&[0u8; 8]);
        for piece in [&first[..], b"first half, ", b"second half"] {
            conn.send(format!("{:x}\r\n", piece.len()).as_bytes()).await;
            conn.send(piece).await;
            conn.send(b"\r\n").await;
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        conn.send(
            b"0\r\nLambda-Runtime-Function-Error-Type: Function.StreamBroken\r\n\
              Lambda-Runtime-Function-Error-Body: eyJlcnJvck1lc3NhZ2UiOiJib29tIn0=\r\n\r\n",
        )
        .await;
        conn.read_answer().await.status
    };
    let (invocation, status) = tokio::join!(
        api.invoke_detailed(&br#"{"stream":true}"#[..], Duration::from_secs(30)),
        runtime
    );
    assert_eq!(status, 202, "the emulator accepts a streamed response");
    let posted = &invocation.posted;
    assert_eq!(posted.response_mode(), Some("streaming"));
    assert!(posted.is_chunked(), "headers: {:?}", posted.headers);
    assert!(
        posted.body_frames >= 3,
        "the body was written in 3 pieces, recorded as {} frames",
        posted.body_frames
    );
    assert_eq!(
        posted.trailer("Lambda-Runtime-Function-Error-Type"),
        Some("Function.StreamBroken")
    );
    assert_eq!(
        posted.trailer("lambda-runtime-function-error-body"),
        Some("eyJlcnJvck1lc3NhZ2UiOiJib29tIn0=")
    );
    let (prelude, body) = invocation.outcome.streamed_http();
    assert_eq!(prelude["statusCode"], 200);
    assert_eq!(prelude["headers"]["content-type"], "text/plain");
    assert_eq!(body, b"first half, second half");
}

/// The benchmark's path: events queued up front are handed out in order, one answer each comes out of the
/// answer channel with its latency, and a second answer for an id is refused (400) and counted.
#[tokio::test]
async fn queued_events_are_answered_in_order_and_a_second_answer_is_refused() {
    let api = RuntimeApi::start().await;
    let ids: Vec<String> = (0..3)
        .map(|i| api.enqueue(format!(r#"{{"n":{i}}}"#), Duration::from_secs(30)))
        .collect();
    let mut conn = Conn::open(&api).await;
    let mut first = String::new();
    for (i, expected) in ids.iter().enumerate() {
        let (id, event) = conn.next().await;
        assert_eq!(&id, expected, "invocation {i} handed out in queue order");
        assert_eq!(event, format!(r#"{{"n":{i}}}"#).as_bytes());
        let status = conn
            .respond(
                &id,
                format!(r#"{{"statusCode":200,"body":"{i}"}}"#).as_bytes(),
            )
            .await;
        assert_eq!(status, 202);
        if i == 0 {
            first = id;
        }
    }
    for (i, expected) in ids.iter().enumerate() {
        let answer = api
            .next_answer(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no answer {i} on the channel"));
        assert_eq!(&answer.request_id, expected);
        assert_eq!(answer.outcome.json()["body"], i.to_string());
        assert!(answer.answered_at >= answer.delivered_at);
        assert_eq!(answer.posted.response_mode(), None, "a buffered response");
    }
    assert!(api.first_next_at().is_some());
    assert_eq!((api.answers_posted(), api.answers_refused()), (3, 0));

    let status = conn.respond(&first, br#"{"statusCode":200}"#).await;
    assert_eq!(status, 400, "a second answer for {first} must be refused");
    assert_eq!((api.answers_posted(), api.answers_refused()), (4, 1));
    assert!(
        api.next_answer(Duration::from_millis(200)).await.is_none(),
        "a refused answer completes nothing"
    );
}
