//! What Lambda receives per source: the JSON prelude and the raw body, the sources that stay buffered,
//! bodies compressed as they stream.

use std::time::Duration;

use serde_json::json;

use super::{faults, pattern, streamed, streamed_fault, STREAM};
use crate::support::{Lambda, Source};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_url_responses_stream_prelude_and_raw_body() {
    let lambda = Lambda::start_env(STREAM).await;
    let inv = streamed_fault(&lambda, "/cookies-and-flush", &[], Duration::from_secs(10)).await;
    let (prelude, body) = inv.outcome.streamed_http();
    assert_eq!(prelude["statusCode"], 200, "{prelude}");
    assert_eq!(prelude["headers"]["X-Multi"], "one, two");
    assert_eq!(
        prelude["headers"]["Content-Type"],
        "text/html; charset=UTF-8"
    );
    let cookies = prelude["cookies"].as_array().expect("cookies");
    assert_eq!(cookies.len(), 2, "{prelude}");
    assert!(cookies[0].as_str().is_some_and(|c| c.starts_with("a=1")));
    assert!(prelude["headers"].get("Set-Cookie").is_none());
    assert_eq!(body, b"<p>streamed</p><p>done</p>");
    assert!(inv.posted.trailers.is_empty(), "{:?}", inv.posted.trailers);

    // Binary bodies go raw: no base64 in a stream.
    let inv = streamed_fault(
        &lambda,
        "/stream-mb",
        &[("mb", "1")],
        Duration::from_secs(10),
    )
    .await;
    let (prelude, body) = inv.outcome.streamed_http();
    assert_eq!(
        prelude["headers"]["Content-Type"],
        "application/octet-stream"
    );
    assert!(body == pattern(1024 * 1024), "the binary body differs");
}

/// REST APIs stream with their own prelude shape (`multiValueHeaders`); HTTP APIs and ALBs cannot
/// stream, so their events are answered buffered even in streaming mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_streams_with_multi_value_headers_and_http_apis_and_albs_stay_buffered() {
    let lambda = Lambda::start_env(STREAM).await;
    let mut rest = Source::Rest.event("GET", "/faults.php/cookies-and-flush", &[]);
    // The body as PHP wrote it (compression of streams has its own test).
    crate::support::events::remove_header(&mut rest, "Accept-Encoding");
    let inv = streamed(&lambda, &rest, Duration::from_secs(10)).await;
    let (prelude, body) = inv.outcome.streamed_http();
    assert_eq!(
        prelude["multiValueHeaders"]["X-Multi"],
        json!(["one", "two"])
    );
    assert_eq!(
        prelude["multiValueHeaders"]["Set-Cookie"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(body, b"<p>streamed</p><p>done</p>");
    for source in [Source::HttpV2, Source::HttpV1, Source::Alb] {
        let event = source.event("GET", "/faults.php/cookies-and-flush", &[]);
        let inv = lambda
            .invoke_detailed(&event, Duration::from_secs(10))
            .await;
        assert_eq!(
            inv.posted.response_mode(),
            None,
            "{source:?} must not stream"
        );
        assert_eq!(inv.outcome.json()["statusCode"], 200, "{source:?}");
    }
}

/// Streamed responses are compressed as they stream when the client asks: each flushed piece is
/// decodable on arrival, so what PHP flushed first can be read before the script ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_responses_are_compressed_piece_by_piece() {
    use std::io::Read as _;
    let lambda = Lambda::start_env(STREAM).await;
    let mut event = faults("/flush-sleep", &[("ms", "800")]);
    crate::support::events::set_header(&mut event, "Accept-Encoding", &["gzip"]);
    let inv = streamed(&lambda, &event, Duration::from_secs(10)).await;
    let (prelude, body) = inv.outcome.streamed_http();
    assert_eq!(prelude["headers"]["Content-Encoding"], "gzip", "{prelude}");
    assert!(prelude["headers"].get("Content-Length").is_none());
    let mut plain = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut plain)
        .expect("a whole gzip stream");
    assert_eq!(plain, "first-part;second-part");
    // What arrived before the script's sleep ended already decodes to the first part.
    let prelude_len = inv.outcome.bytes().len() - body.len();
    let early: Vec<u8> = {
        let first_frames: Vec<_> = inv
            .posted
            .frame_times
            .iter()
            .take_while(|(at, _)| at.duration_since(inv.delivered_at) < Duration::from_millis(500))
            .collect();
        let len = first_frames.last().map_or(0, |(_, n)| *n);
        inv.outcome.bytes()[prelude_len..len.max(prelude_len)].to_vec()
    };
    let mut partial = Vec::new();
    let _ = flate2::read::GzDecoder::new(&early[..]).read_to_end(&mut partial);
    assert_eq!(String::from_utf8_lossy(&partial), "first-part;");
}
