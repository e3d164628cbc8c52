//! Large bodies: 100 MiB in flat memory, the 200 MiB cut, and static files streamed as they are read.

use std::time::Duration;

use super::{error_trailers, pattern, streamed, streamed_fault, STREAM};
use crate::support::{app_root, Lambda, Request, Source, HANDLER};

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
