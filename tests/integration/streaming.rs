//! Response streaming (`LAMBDA_FPM_INVOKE_MODE=response_stream`): the bytes Lambda receives (a chunked
//! POST with the streaming headers, the JSON prelude, 8 NUL bytes, the raw body, error trailers), what
//! PHP's `flush()` does to time to first byte, flat memory for large bodies, and failures before and
//! after the first byte.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::runtime_api::Invocation;
use crate::support::{
    app_root, free_port, unb64, wait_for_port, Bootstrap, Lambda, Request, Source, HANDLER,
};

const STREAM: &[(&str, &str)] = &[("LAMBDA_FPM_INVOKE_MODE", "response_stream")];

/// `$size` bytes of 0, 1, …, 255, 0, … as faults.php's `pattern()` prints them.
fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 256) as u8).collect()
}

fn faults(route: &str, query: &[(&str, &str)]) -> Value {
    Source::FunctionUrl.event("GET", &format!("/faults.php{route}"), query)
}

async fn streamed(lambda: &Lambda, event: &Value, timeout: Duration) -> Invocation {
    let inv = lambda.invoke_detailed(event, timeout).await;
    assert_eq!(
        inv.posted.response_mode(),
        Some("streaming"),
        "not posted as a stream: {}; logs:\n{}",
        inv.outcome.describe(),
        lambda.bs.logs()
    );
    assert!(inv.posted.is_chunked(), "a streamed body must be chunked");
    assert_eq!(
        inv.posted.header("content-type"),
        Some("application/vnd.awslambda.http-integration-response")
    );
    inv
}

/// A faults.php route, streamed (see [`streamed`]).
async fn streamed_fault(
    lambda: &Lambda,
    route: &str,
    query: &[(&str, &str)],
    timeout: Duration,
) -> Invocation {
    streamed(lambda, &faults(route, query), timeout).await
}

/// After a failure, the next stream is served whole: a 200 without error trailers.
async fn assert_streams_again(lambda: &Lambda) {
    let next = streamed_fault(lambda, "/cookies-and-flush", &[], Duration::from_secs(10)).await;
    assert_eq!(next.outcome.streamed_http().0["statusCode"], 200);
    assert!(
        next.posted.trailers.is_empty(),
        "{:?}",
        next.posted.trailers
    );
}

/// The trailers of a cut stream: the error type, and the error JSON in base64.
fn error_trailers(inv: &Invocation) -> (String, Value) {
    let kind = inv
        .posted
        .trailer("lambda-runtime-function-error-type")
        .unwrap_or_else(|| panic!("no error-type trailer: {:?}", inv.posted.trailers))
        .to_owned();
    let body = inv
        .posted
        .trailer("lambda-runtime-function-error-body")
        .expect("an error-body trailer");
    let body: Value = serde_json::from_slice(&unb64(body)).expect("the error body is JSON");
    (kind, body)
}

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

/// A worker that dies after its first bytes: the stream ends with error trailers (never a complete
/// looking body), and the next invocation is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_dying_mid_stream_ends_it_with_error_trailers() {
    let lambda = Lambda::start_env(STREAM).await;
    let inv = streamed_fault(&lambda, "/stream-then-die", &[], Duration::from_secs(10)).await;
    let (prelude, body) = inv.outcome.streamed_http();
    assert_eq!(prelude["statusCode"], 200);
    assert!(
        body.starts_with(b"dddd"),
        "the part sent before the crash is there"
    );
    let (kind, error) = error_trailers(&inv);
    assert_eq!(kind, "Runtime.ScriptOutputCut");
    assert_eq!(error["errorType"], "Runtime.ScriptOutputCut");
    assert!(
        error["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("closed")),
        "{error}"
    );
    assert_streams_again(&lambda).await;
}

/// Past the deadline after the first byte: the worker is killed and the stream ends with a timeout
/// trailer before Lambda's own deadline. Before the first byte: a streamed 504, as in buffered mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_cuts_a_stream_or_answers_504_before_its_first_byte() {
    let lambda = Lambda::start_env(STREAM).await;
    let inv = streamed_fault(&lambda, "/stream-then-busy", &[], Duration::from_secs(2)).await;
    assert!(
        inv.answered_at <= inv.deadline,
        "answered after the deadline"
    );
    let (_, body) = inv.outcome.streamed_http();
    assert_eq!(body, b"started;");
    assert_eq!(error_trailers(&inv).0, "Runtime.ScriptTimeout");

    let sleepy = Source::FunctionUrl.event("GET", "/sleep/5", &[]);
    let inv = streamed(&lambda, &sleepy, Duration::from_secs(2)).await;
    let (prelude, body) = inv.outcome.streamed_http();
    assert_eq!(prelude["statusCode"], 504);
    assert_eq!(body, b"504 Gateway Timeout\n");
    assert!(inv.posted.trailers.is_empty());
    assert_streams_again(&lambda).await;
}

/// A 100 MiB response streams through with the bootstrap's memory flat (it reads php-fpm only as
/// fast as the Runtime API takes the bytes), and past 200 MiB the stream is cut with a trailer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_stream_in_flat_memory_and_stop_at_200_mib() {
    let lambda = Lambda::start_env(STREAM).await;
    let pid = lambda.bs.pid();
    // Warm: the first response allocates what every response needs.
    streamed_fault(
        &lambda,
        "/stream-mb",
        &[("mb", "4")],
        Duration::from_secs(30),
    )
    .await;
    let before = rss_kb(pid);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watching = stop.clone();
    let watch = tokio::spawn(async move {
        let mut peak = 0;
        for _ in 0..1200 {
            peak = peak.max(rss_kb(pid));
            if watching.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak
    });
    let inv = streamed_fault(
        &lambda,
        "/stream-mb",
        &[("mb", "100")],
        Duration::from_secs(60),
    )
    .await;
    let (_, body) = inv.outcome.streamed_http();
    assert_eq!(body.len(), 100 * 1024 * 1024);
    assert!(body[..1024 * 1024] == pattern(1024 * 1024)[..]);
    assert!(inv.posted.trailers.is_empty());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = watch.await.expect("watcher");
    let grown = peak.saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "the bootstrap's RSS grew by {grown} KiB streaming 100 MiB"
    );

    let inv = streamed_fault(
        &lambda,
        "/stream-mb",
        &[("mb", "210")],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(error_trailers(&inv).0, "Runtime.ResponseTooLarge");
    assert!(inv.outcome.bytes().len() <= 200 * 1024 * 1024 + 4096);
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Static files stream too: a file larger than what is read whole goes out as it is read, with its
/// length; small ones as in buffered mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_stream() {
    let root = tempfile::tempdir().expect("tempdir");
    let public = root.path().join("public");
    std::fs::create_dir_all(&public).expect("mkdir");
    std::fs::copy(
        app_root().join("public/index.php"),
        public.join("index.php"),
    )
    .expect("copy");
    let big = pattern(3 * 1024 * 1024 + 17);
    std::fs::write(public.join("big.bin"), &big).expect("write");
    std::fs::write(public.join("small.txt"), "small file\n").expect("write");
    let lambda = Lambda::start_app(root.path(), HANDLER, STREAM).await;
    let event = Source::FunctionUrl.event("GET", "/big.bin", &[]);
    let inv = streamed(&lambda, &event, Duration::from_secs(10)).await;
    let (prelude, body) = inv.outcome.streamed_http();
    assert_eq!(prelude["statusCode"], 200);
    assert_eq!(prelude["headers"]["Content-Length"], big.len().to_string());
    assert!(body == big, "the streamed file differs");
    assert!(inv.posted.body_frames > 1, "a large file is sent in pieces");
    let event = Source::FunctionUrl.event("GET", "/small.txt", &[]);
    let inv = streamed(&lambda, &event, Duration::from_secs(10)).await;
    assert_eq!(inv.outcome.streamed_http().1, b"small file\n");

    // Past the buffered path's 16 MiB, HEAD and a revalidation still answer as for any file.
    let huge_len = 20 * 1024 * 1024;
    std::fs::File::create(public.join("huge.bin"))
        .and_then(|f| f.set_len(huge_len))
        .expect("huge.bin");
    let event = Source::FunctionUrl.event("HEAD", "/huge.bin", &[]);
    let inv = streamed(&lambda, &event, Duration::from_secs(10)).await;
    let (prelude, body) = inv.outcome.streamed_http();
    assert_eq!(prelude["statusCode"], 200, "{prelude}");
    assert_eq!(prelude["headers"]["Content-Length"], huge_len.to_string());
    assert!(body.is_empty(), "a HEAD has no body");
    let etag = prelude["headers"]["ETag"]
        .as_str()
        .expect("etag")
        .to_owned();
    let event =
        Source::FunctionUrl.request(&Request::get("/huge.bin").header("If-None-Match", &etag));
    let inv = streamed(&lambda, &event, Duration::from_secs(10)).await;
    let (prelude, body) = inv.outcome.streamed_http();
    assert_eq!(prelude["statusCode"], 304, "{prelude}");
    assert!(body.is_empty());
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

/// The Runtime API closing the stream halfway (the client went away): the script's worker is killed
/// rather than left writing into nothing, and the next invocation is served at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_closed_by_the_runtime_api_frees_its_worker() {
    let lambda = Lambda::start_env(STREAM).await;
    lambda.api.cut_next_response_after(2 * 1024 * 1024);
    let inv = lambda
        .invoke_detailed(
            &faults("/stream-mb", &[("mb", "50")]),
            Duration::from_secs(30),
        )
        .await;
    assert!(
        matches!(
            inv.outcome,
            crate::support::Outcome::Rejected { status: 0, .. }
        ),
        "{}",
        inv.outcome.describe()
    );
    let logs = lambda
        .bs
        .wait_for_log("when its request was abandoned", Duration::from_secs(5))
        .await;
    assert!(
        logs.contains("killed the php-fpm worker of pool lambda"),
        "{logs}"
    );
    let started = std::time::Instant::now();
    assert_streams_again(&lambda).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
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
