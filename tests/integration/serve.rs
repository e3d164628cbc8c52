//! `bootstrap serve --root DIR --handler public/index.php --listen 127.0.0.1:PORT`: plain HTTP locally,
//! through the same v2 code path as on Lambda.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::http::{get, request};
use crate::support::{app_root, free_port, server, wait_for_port, Bootstrap, HANDLER};

async fn start() -> (Bootstrap, u16) {
    let port = free_port();
    let mut bs = Bootstrap::serve(&app_root(), HANDLER, port, &[]);
    if !wait_for_port(port, Duration::from_secs(20)).await {
        panic!(
            "`bootstrap serve` never listened on 127.0.0.1:{port} (exit: {:?}); logs:\n{}",
            bs.try_exit(),
            bs.logs()
        );
    }
    (bs, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_dynamic_request() {
    let (_bs, port) = start().await;
    let resp = request(
        port,
        "GET",
        "/some/path?x=1&y=a%20b",
        &[("Cookie", "k=v; k2=v2"), ("X-Custom", "c")],
        vec![],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let dump = resp.json();
    let p = port.to_string();
    assert_eq!(server(&dump, "REQUEST_METHOD"), Some("GET"));
    assert_eq!(server(&dump, "REQUEST_URI"), Some("/some/path?x=1&y=a%20b"));
    assert_eq!(server(&dump, "QUERY_STRING"), Some("x=1&y=a%20b"));
    assert_eq!(server(&dump, "SCRIPT_NAME"), Some("/index.php"));
    assert_eq!(server(&dump, "HTTP_X_FORWARDED_PROTO"), Some("http"));
    assert_eq!(server(&dump, "HTTP_X_FORWARDED_PORT"), Some(p.as_str()));
    assert_eq!(server(&dump, "SERVER_PORT"), Some(p.as_str()));
    assert_eq!(server(&dump, "REQUEST_SCHEME"), Some("http"));
    assert_ne!(server(&dump, "HTTPS"), Some("on"));
    assert_eq!(
        server(&dump, "HTTP_HOST"),
        Some(format!("127.0.0.1:{port}").as_str())
    );
    assert_eq!(server(&dump, "SERVER_NAME"), Some("127.0.0.1"));
    assert_eq!(server(&dump, "REMOTE_ADDR"), Some("127.0.0.1"));
    assert_eq!(server(&dump, "HTTP_X_CUSTOM"), Some("c"));
    assert_eq!(dump["get"], json!({"x": "1", "y": "a b"}));
    assert_eq!(dump["cookie"], json!({"k": "v", "k2": "v2"}));
    assert!(resp
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_post_bodies() {
    let (_bs, port) = start().await;
    let resp = request(
        port,
        "POST",
        "/form",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"a=1&b=hello+world".to_vec(),
    )
    .await;
    let dump = resp.json();
    assert_eq!(dump["post"], json!({"a": "1", "b": "hello world"}));
    assert_eq!(server(&dump, "CONTENT_LENGTH"), Some("17"));

    let body: Vec<u8> = (0..=255u8).collect();
    let resp = request(
        port,
        "PUT",
        "/bin",
        &[("Content-Type", "application/octet-stream")],
        body.clone(),
    )
    .await;
    assert_eq!(resp.json()["input_b64"], crate::support::b64(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_path_info() {
    let (_bs, port) = start().await;
    let resp = get(port, "/other.php/extra/path").await;
    let dump = resp.json();
    assert_eq!(dump["script"], "other.php");
    assert_eq!(server(&dump, "PATH_INFO"), Some("/extra/path"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_set_cookies_arrive_separately() {
    let (_bs, port) = start().await;
    let resp = get(port, "/cookies").await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header_all("set-cookie"),
        ["a=1; Path=/", "b=2; HttpOnly", "c=x%20y"]
    );
    assert_eq!(resp.text(), "<p>cookies</p>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_status_headers_and_binary() {
    let (_bs, port) = start().await;
    let resp = get(port, "/status/404").await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.text(), "status 404");
    let resp = get(port, "/headers").await;
    assert_eq!(resp.header_all("x-multi").join(", "), "a, b");
    assert_eq!(resp.header("x-mixed-case"), Some("v"));
    let resp = get(port, "/binary").await;
    assert_eq!(resp.body, (0..=255u8).collect::<Vec<u8>>());
    assert_eq!(
        resp.header("content-type"),
        Some("application/octet-stream")
    );
    let resp = get(port, "/redirect").await;
    assert_eq!(resp.status, 302);
    assert_eq!(resp.header("location"), Some("/target?from=redirect"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_static_files_with_content_type() {
    let (_bs, port) = start().await;
    let resp = get(port, "/hello.txt").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "Hello from a static file.\n");
    assert!(
        resp.header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain"),
        "{:?}",
        resp.headers
    );
    let resp = get(port, "/img.png").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("image/png"));
    assert_eq!(
        resp.body,
        std::fs::read(app_root().join("public/img.png")).expect("img.png")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_never_serves_dotfiles_or_backups() {
    let (_bs, port) = start().await;
    for path in [
        "/.env",
        "/secret.php~",
        "/%2Eenv",
        "/../.env",
        "/public/.env",
        "/../../../../etc/passwd",
        "/index.php/../.env",
    ] {
        let resp = get(port, path).await;
        let text = resp.text();
        for secret in [
            "SECRET_ENV_MARKER",
            "hunter2",
            "SECRET_BACKUP_MARKER",
            "root:x:0:0",
        ] {
            assert!(
                !text.contains(secret),
                "{path}: served {secret:?} (status {}): {text}",
                resp.status
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sigterm_stops_it_and_php_fpm() {
    stops_on_signal("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_ctrl_c_stops_it_and_php_fpm() {
    stops_on_signal("INT").await;
}

async fn stops_on_signal(sig: &str) {
    let (mut bs, port) = start().await;
    assert_eq!(get(port, "/json").await.status, 200);
    let children = bs.descendants();
    assert!(
        !children.is_empty(),
        "expected php-fpm under `bootstrap serve`"
    );
    bs.signal(sig);
    assert!(
        bs.wait_exit(Duration::from_secs(5)).await.is_some(),
        "`serve` ignored SIG{sig} for 5 s"
    );
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end && !bs.surviving_descendants().is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        bs.surviving_descendants(),
        Vec::<u32>::new(),
        "php-fpm survived SIG{sig} of `serve`"
    );
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "port still open"
    );
}
