//! End to end through a third-party Lambda emulator, cargo-lambda's (<https://www.cargo-lambda.info>,
//! `pip install cargo-lambda`): `cargo lambda watch --only-lambda-apis` runs a Runtime API at
//! http://127.0.0.1:PORT/.rt and turns plain HTTP requests to /lambda-url/_/PATH into function URL (v2)
//! events. Its quirks: a constant `Lambda-Runtime-Deadline-Ms` of 600000, `rawQueryString: null` for an
//! empty query, a stray top-level `httpMethod`, and a 500 when a v2 response lacks `cookies`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::http::request;
use crate::support::{app_root, free_port, server, wait_for_port, Bootstrap, HANDLER};

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|f| f.is_file())
        })
        .unwrap_or(None)
}

/// The emulator process, stopped by pid on drop.
struct Emulator {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args(["-TERM", &pid])
            .stderr(Stdio::null())
            .status();
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "----- cargo lambda watch log -----\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

fn start_emulator(port: u16) -> Emulator {
    let bin = find_on_path("cargo-lambda").unwrap_or_else(|| {
        panic!("cargo-lambda is not on PATH: this end-to-end test needs it. Install it with `pip install cargo-lambda`.")
    });
    let dir = tempfile::Builder::new()
        .prefix("lfpm-cl-")
        .tempdir()
        .expect("tempdir");
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"lambda-fpm-e2e\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .expect("write Cargo.toml");
    std::fs::create_dir_all(dir.path().join("src")).expect("src");
    std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").expect("main.rs");
    let log = dir.path().join("watch.log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(bin)
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("spawn cargo-lambda");
    Emulator {
        child,
        log,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_lambda_function_url_end_to_end() {
    let port = free_port();
    let emulator = start_emulator(port);
    if !wait_for_port(port, Duration::from_secs(60)).await {
        panic!(
            "cargo lambda watch never listened on 127.0.0.1:{port}; its log:\n{}",
            std::fs::read_to_string(&emulator.log).unwrap_or_default()
        );
    }
    let runtime_api = format!("http://127.0.0.1:{port}/.rt");
    let bs = Bootstrap::start_with_runtime_api(&runtime_api, &app_root(), HANDLER, &[]);

    let resp = request(
        port,
        "GET",
        "/lambda-url/_/some/path?x=1&y=a%20b",
        &[("X-Test", "e2e")],
        vec![],
    )
    .await;
    assert_eq!(
        resp.status,
        200,
        "body: {}\nbootstrap logs:\n{}",
        resp.text(),
        bs.logs()
    );
    let dump = resp.json();
    assert_eq!(server(&dump, "REQUEST_METHOD"), Some("GET"));
    assert_eq!(server(&dump, "REQUEST_URI"), Some("/some/path?x=1&y=a%20b"));
    assert_eq!(server(&dump, "SCRIPT_NAME"), Some("/index.php"));
    assert_eq!(server(&dump, "HTTP_X_TEST"), Some("e2e"));
    assert_eq!(dump["get"], serde_json::json!({"x": "1", "y": "a b"}));

    // without a query (cargo-lambda sends rawQueryString null), and cookies back as separate Set-Cookie
    let resp = request(port, "GET", "/lambda-url/_/cookies", &[], vec![]).await;
    assert_eq!(
        resp.status,
        200,
        "body: {}\nbootstrap logs:\n{}",
        resp.text(),
        bs.logs()
    );
    assert_eq!(
        resp.header_all("set-cookie"),
        ["a=1; Path=/", "b=2; HttpOnly", "c=x%20y"]
    );
    assert_eq!(resp.text(), "<p>cookies</p>");

    let resp = request(
        port,
        "POST",
        "/lambda-url/_/form",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"a=1&b=two".to_vec(),
    )
    .await;
    assert_eq!(resp.status, 200, "body: {}", resp.text());
    assert_eq!(
        resp.json()["post"],
        serde_json::json!({"a": "1", "b": "two"})
    );

    let resp = request(port, "GET", "/lambda-url/_/status/404", &[], vec![]).await;
    assert_eq!(resp.status, 404);
    drop(bs);
    drop(emulator);
}
