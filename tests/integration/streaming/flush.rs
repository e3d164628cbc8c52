//! Time to first byte: what PHP flushes reaches Lambda (or the browser, through `bootstrap serve`) while
//! the script still runs.

use std::time::Duration;

use super::{streamed_fault, STREAM};
use crate::support::{app_root, free_port, wait_for_port, Bootstrap, Lambda, HANDLER};

/// What PHP flushes reaches Lambda while the script still runs: the first part arrives long before
/// the script's one-second sleep is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushed_output_arrives_while_the_script_runs() {
    let lambda = Lambda::start_env(STREAM).await;
    let inv = streamed_fault(
        &lambda,
        "/flush-sleep",
        &[("ms", "1000")],
        Duration::from_secs(10),
    )
    .await;
    let (_, body) = inv.outcome.streamed_http();
    assert_eq!(body, b"first-part;second-part");
    let whole = inv.outcome.bytes().len();
    let first_part = whole - "second-part".len();
    let first_at = inv
        .posted
        .time_of_byte(first_part)
        .expect("the first part arrived");
    let first = first_at.duration_since(inv.delivered_at);
    assert!(
        first < Duration::from_millis(300),
        "the flushed part came after {first:?}"
    );
    assert!(
        inv.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        inv.elapsed()
    );
}

/// `bootstrap serve` in streaming mode answers with chunked HTTP, and what PHP flushes reaches the
/// browser while the script still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_streams_flushed_output_with_chunked_http() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let port = free_port();
    let mut bs = Bootstrap::serve(&app_root(), HANDLER, port, STREAM);
    assert!(
        wait_for_port(port, Duration::from_secs(20)).await,
        "serve never listened; {:?}: {}",
        bs.try_exit(),
        bs.logs()
    );
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let sent = std::time::Instant::now();
    conn.write_all(b"GET /faults.php/flush-sleep?ms=1000 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut seen = Vec::new();
    let mut first_part_at = None;
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            let n = conn.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
            if first_part_at.is_none() && seen.windows(11).any(|w| w == b"first-part;") {
                first_part_at = Some(sent.elapsed());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read_all)
        .await
        .expect("the response ends");
    let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    assert!(text.contains("second-part"), "{text}");
    let first = first_part_at.expect("the first part arrived");
    assert!(
        first < Duration::from_millis(500),
        "the flushed part came after {first:?}"
    );
    assert!(sent.elapsed() >= Duration::from_millis(1000));
}
