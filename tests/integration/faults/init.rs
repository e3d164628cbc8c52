//! Init under faults: a broken php.ini, an unknown extension, a read-only or full TMPDIR, /tmp filling
//! up after init.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::{app_root, body_bytes, Bootstrap, Lambda, RuntimeApi, Source, HANDLER};

use super::Warm;

// ----- init ---------------------------------------------------------------------------------------------

/// A php.ini with a syntax error: php-fpm itself reports it ("syntax error … on line N") and starts with
/// the settings before it; the runtime relays that message to the logs and serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_with_a_php_ini_syntax_error_serves_and_logs_phps_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ini = dir.path().join("broken.ini");
    std::fs::write(
        &ini,
        "[PHP]\nmemory_limit = 256M\nerror_reporting = E_ALL\nbroken = \"unterminated\n",
    )
    .expect("write ini");
    let ini_s = ini.display().to_string();
    let mut lambda = Lambda::start_env(&[("LAMBDA_FPM_PHP_INI", &ini_s)]).await;
    let warm = Warm::take(&mut lambda).await;
    let logs = lambda
        .bs
        .wait_for_log("syntax error", Duration::from_secs(5))
        .await;
    assert!(logs.contains("broken.ini on line"), "{logs}");
    warm.check(&mut lambda, "a broken php.ini", true).await;
}

/// A php.ini that loads an extension that does not exist: PHP warns ("Unable to load dynamic library"),
/// php-fpm starts, the warning is in the logs, requests are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_with_an_unknown_extension_serves_and_logs_the_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ini = dir.path().join("ext.ini");
    let base =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("php-ini/php.ini"))
            .expect("read php-ini/php.ini");
    std::fs::write(
        &ini,
        format!("{base}\n[extensions]\nextension=lambda_fpm_no_such_extension\n"),
    )
    .expect("write ini");
    let ini_s = ini.display().to_string();
    let mut lambda = Lambda::start_env(&[("LAMBDA_FPM_PHP_INI", &ini_s)]).await;
    let warm = Warm::take(&mut lambda).await;
    lambda
        .bs
        .wait_for_log("lambda_fpm_no_such_extension", Duration::from_secs(5))
        .await;
    warm.check(&mut lambda, "an unknown extension", true).await;
}

/// A tmpfs mounted for one test (root only) and unmounted on drop.
struct Mount {
    dir: tempfile::TempDir,
}

impl Mount {
    fn tmpfs(options: &str) -> Mount {
        let dir = tempfile::Builder::new()
            .prefix("lfpm-mnt-")
            .tempdir()
            .expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "`mount -t tmpfs -o {options}` failed: these tests need root (as in CI here)"
        );
        Mount { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

async fn expect_init_error_mentioning(env: &[(&str, &str)], mention: &str) {
    let api = RuntimeApi::start().await;
    let mut bs = Bootstrap::start(&api, &app_root(), HANDLER, env);
    let Some((kind, body)) = api.init_error(Duration::from_secs(15)).await else {
        panic!(
            "no /init/error (exit {:?}); logs:\n{}",
            bs.try_exit(),
            bs.logs()
        );
    };
    assert!(kind.starts_with("Runtime."), "{kind}: {body}");
    let msg = body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        msg.contains(mention),
        "the init error should say {mention:?}: {body}"
    );
    assert!(
        matches!(bs.wait_exit(Duration::from_secs(10)).await, Some(s) if !s.success()),
        "the bootstrap should exit non-zero"
    );
    assert_eq!(api.next_calls(), 0);
    assert!(!bs.logs().contains("panicked"), "{}", bs.logs());
}

/// TMPDIR on a read-only file system: /init/error that names the directory and the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_with_a_read_only_tmp_is_a_clear_init_error() {
    let mount = Mount::tmpfs("ro,size=64k");
    let tmp = mount.path().display().to_string();
    expect_init_error_mentioning(&[("TMPDIR", &tmp)], "Read-only file system").await;
}

/// TMPDIR on a full file system: /init/error that says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_with_a_full_tmp_is_a_clear_init_error() {
    let mount = Mount::tmpfs("size=64k,nr_inodes=64");
    fill(mount.path());
    let tmp = mount.path().display().to_string();
    expect_init_error_mentioning(&[("TMPDIR", &tmp)], "No space left on device").await;
}

/// /tmp filling up after init: an upload that cannot be written is PHP's UPLOAD_ERR_CANT_WRITE (7) or
/// UPLOAD_ERR_PARTIAL, the request is still answered, and the next one too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmp_full_after_init_still_answers() {
    let mount = Mount::tmpfs("size=2m");
    let tmp = mount.path().display().to_string();
    let mut lambda = Lambda::start_env(&[("TMPDIR", &tmp)]).await;
    let warm = Warm::take(&mut lambda).await;
    fill(mount.path());
    let (ctype, body) = crate::support::events::multipart(
        &[],
        &[(
            "upload",
            "big.bin",
            "application/octet-stream",
            &vec![7u8; 300_000],
        )],
    );
    let mut event = Source::HttpV2.event("POST", "/faults.php/upload-size", &[]);
    crate::support::events::set_header(&mut event, "content-type", &[&ctype]);
    crate::support::events::set_body(&mut event, &body, true);
    let resp = lambda.respond(&event).await;
    assert_eq!(resp["statusCode"], 200, "{resp}");
    let seen: Value = serde_json::from_slice(&body_bytes(&resp)).expect("json");
    let err = seen["upload"]["error"].as_i64();
    assert!(
        matches!(err, Some(3 | 7)),
        "the upload should fail to be written (UPLOAD_ERR_PARTIAL or _CANT_WRITE): {seen}"
    );
    warm.check(&mut lambda, "a full /tmp", true).await;
}

/// Fills a file system: a big file until ENOSPC, then small files until no inode is left.
fn fill(dir: &Path) {
    use std::io::Write as _;
    if let Ok(mut f) = std::fs::File::create(dir.join("filler")) {
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    for i in 0..100_000 {
        if std::fs::write(dir.join(format!("f{i}")), b"").is_err() {
            break;
        }
    }
}
