//! The command line of the real binary: help and version exit 0, usage errors exit 2 and name the
//! flag, `serve` without a front controller and a wrong log format are init errors that say so.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::bootstrap::bootstrap_bin;
use crate::support::{app_root, Bootstrap, RuntimeApi, HANDLER};

/// What one run printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the bootstrap with `args` in `dir` and a clean environment; killed after 20 s so a mode that
/// starts serving instead of failing cannot hang the suite.
fn run(args: &[&str], dir: &Path) -> Run {
    let out = tempfile::NamedTempFile::new().expect("stdout file");
    let err = tempfile::NamedTempFile::new().expect("stderr file");
    let mut child = Command::new(bootstrap_bin())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TMPDIR", dir)
        .stdin(Stdio::null())
        .stdout(out.reopen().expect("reopen"))
        .stderr(err.reopen().expect("reopen"))
        .spawn()
        .expect("spawn the bootstrap");
    let end = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |f: &tempfile::NamedTempFile| std::fs::read_to_string(f.path()).unwrap_or_default();
    Run {
        code: status.and_then(|s| s.code()),
        stdout: read(&out),
        stderr: read(&err),
    }
}

fn run_here(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    run(args, dir.path())
}

#[test]
fn help_shows_both_modes() {
    for flag in ["--help", "-h"] {
        let r = run_here(&[flag]);
        assert_eq!(r.code, Some(0), "{}", r.describe());
        assert!(r.stdout.contains("Usage: bootstrap "), "{}", r.describe());
        assert!(
            r.stdout.contains("Lambda custom runtime"),
            "{}",
            r.describe()
        );
        assert!(
            r.stdout.contains("bootstrap serve [OPTIONS]"),
            "{}",
            r.describe()
        );
        assert!(
            r.stdout.contains("docs/configuration.md"),
            "{}",
            r.describe()
        );
        assert!(!r.stderr.contains("ERROR"), "{}", r.describe());
    }
}

#[test]
fn serve_help_lists_its_flags() {
    for args in [&["serve", "--help"][..], &["help", "serve"]] {
        let r = run_here(args);
        assert_eq!(r.code, Some(0), "{args:?}: {}", r.describe());
        for needle in [
            "--root",
            "--handler",
            "--listen",
            "127.0.0.1:8080",
            "index.php",
        ] {
            assert!(r.stdout.contains(needle), "{needle}: {}", r.describe());
        }
    }
}

#[test]
fn version_prints_the_version() {
    for flag in ["--version", "-V"] {
        let r = run_here(&[flag]);
        assert_eq!(r.code, Some(0), "{}", r.describe());
        assert_eq!(
            r.stdout.trim(),
            format!("lambda-fpm {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn unknown_flag_is_a_usage_error_naming_it() {
    let r = run_here(&["serve", "--bogus"]);
    assert_eq!(r.code, Some(2), "{}", r.describe());
    assert!(r.stderr.contains("--bogus"), "{}", r.describe());
    assert!(
        r.stderr.contains("Usage: bootstrap serve"),
        "{}",
        r.describe()
    );

    let r = run_here(&["run"]);
    assert_eq!(r.code, Some(2), "{}", r.describe());
    assert!(r.stderr.contains("'run'"), "{}", r.describe());
}

#[test]
fn bad_listen_address_is_a_usage_error() {
    let r = run_here(&["serve", "--listen", "nonsense"]);
    assert_eq!(r.code, Some(2), "{}", r.describe());
    assert!(r.stderr.contains("--listen"), "{}", r.describe());
    assert!(r.stderr.contains("nonsense"), "{}", r.describe());
}

#[test]
fn serve_in_an_empty_dir_names_the_front_controllers_it_looked_for() {
    // Port 0: should the lookup ever find something, the test fails on the exit code, not on a port.
    let r = run_here(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(
        matches!(r.code, Some(c) if c != 0),
        "serve without a front controller must fail: {}",
        r.describe()
    );
    assert!(r.stderr.contains("public/index.php"), "{}", r.describe());
    assert!(
        r.stderr.contains("nor index.php"),
        "both names: {}",
        r.describe()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_log_format_is_an_init_error_naming_it() {
    let api = RuntimeApi::start().await;
    let mut bs = Bootstrap::start(
        &api,
        &app_root(),
        HANDLER,
        &[("AWS_LAMBDA_LOG_FORMAT", "Yaml")],
    );
    let Some((kind, body)) = api.init_error(Duration::from_secs(15)).await else {
        panic!(
            "no /init/error (exit {:?}); logs:\n{}",
            bs.try_exit(),
            bs.logs()
        );
    };
    assert_eq!(kind, "Runtime.InvalidConfiguration", "{body}");
    let msg = body["errorMessage"].as_str().unwrap_or_default();
    assert!(msg.contains("AWS_LAMBDA_LOG_FORMAT"), "{body}");
    assert!(msg.contains("Yaml"), "{body}");
    let status = bs.wait_exit(Duration::from_secs(10)).await;
    assert!(
        matches!(status, Some(s) if !s.success()),
        "exit {status:?}; logs:\n{}",
        bs.logs()
    );
    assert_eq!(api.next_calls(), 0, "no GET /next after a failed init");
    assert!(bs.logs().contains("Yaml"), "{}", bs.logs());
}
