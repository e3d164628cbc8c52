//! Hostile input (docs/security.md): every event gets a correct answer (a 4xx/5xx in the event's response shape, or
//! an `/error` when it is not an HTTP event at all), never a panic, never a secret file, never PHP source.
//!
//! Covered elsewhere: `_` and odd characters in header names, the `Proxy` header
//! (`events::payload::headers_with_underscores_or_odd_characters_are_dropped`,
//! `events::payload::proxy_header_never_becomes_http_proxy`), `X-Forwarded-For` vs `REMOTE_ADDR` per
//! source (`events::server_vars::remote_addr_is_the_real_client`), non-JSON and non-HTTP events
//! (failures/events.rs).

mod events;
mod files;
mod requests;
mod symlinks;

use std::path::Path;

use serde_json::Value;

use crate::support::{app_root, body_bytes, Lambda, HANDLER};

/// Strings that must never appear in a response: secret files' contents and PHP source.
const NEVER_SERVED: &[&str] = &[
    "SECRET_ENV_MARKER",
    "hunter2",
    "SECRET_BACKUP_MARKER",
    "SECRET_OUTSIDE_MARKER",
    "BACKUP_SOURCE_MARKER",
    "GIT_CONFIG_MARKER",
    "HTACCESS_MARKER",
    "IMAGE_EXECUTED_MARKER",
    "FAULTS_SOURCE_MARKER",
    "Fixture front controller",
    "<?php",
    "root:x:0:0",
];

fn assert_nothing_leaked(what: &str, resp: &Value) {
    let body = String::from_utf8_lossy(&body_bytes(resp)).into_owned();
    let headers = format!("{}{}", resp["headers"], resp["multiValueHeaders"]);
    for secret in NEVER_SERVED {
        assert!(
            !body.contains(secret) && !headers.contains(secret),
            "{what}: served {secret:?}: {resp}"
        );
    }
}

/// A copy of the fixture app with more files that must never be served: backups and source of every
/// kind, a `.git` directory, an image holding PHP code, and symlinks out of the document root.
/// `private/secret.txt` (outside `public/`, the document root) holds SECRET_OUTSIDE_MARKER.
pub fn hostile_root() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("lfpm-hostile-")
        .tempdir()
        .expect("tempdir");
    copy_dir(&app_root(), dir.path());
    let public = dir.path().join("public");
    let backup = "<?php // BACKUP_SOURCE_MARKER\necho 'BACKUP_SOURCE' . '_MARKER';\n";
    for name in [
        "index.phps",
        "config.inc",
        "index.php~",
        "index.php.bak",
        "index.php.orig",
        ".index.php.swp",
        "index.php.swp",
        "index.phtml",
        "old.php7",
        "legacy.php5",
        "tool.phar",
        "upper.PHP",
        "mixed.PhP",
        "x.pht",
    ] {
        std::fs::write(public.join(name), backup).expect("write backup");
    }
    std::fs::create_dir_all(public.join(".git")).expect("mkdir .git");
    std::fs::write(public.join(".git/config"), "[core] GIT_CONFIG_MARKER\n").expect("write");
    std::fs::write(public.join(".htaccess"), "HTACCESS_MARKER\n").expect("write");
    std::fs::write(
        public.join("image.jpg"),
        "<?php echo 'IMAGE_EXECUTED' . '_MARKER';\n",
    )
    .expect("write");
    std::fs::create_dir_all(public.join("assets")).expect("mkdir");
    std::fs::write(public.join("assets/app.css"), "body{}\n").expect("write");
    std::os::unix::fs::symlink("../private/secret.txt", public.join("link-out.txt"))
        .expect("symlink");
    std::os::unix::fs::symlink("../private", public.join("dir-link")).expect("symlink");
    std::os::unix::fs::symlink("/etc/passwd", public.join("passwd.txt")).expect("symlink");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

async fn start_hostile() -> (tempfile::TempDir, Lambda) {
    let root = hostile_root();
    let mut lambda = Lambda::start_app(root.path(), HANDLER, &[]).await;
    lambda.ready().await;
    (root, lambda)
}

fn status(resp: &Value) -> i64 {
    resp["statusCode"].as_i64().unwrap_or(-1)
}

/// Whether a 200 came from the front controller's dump (so no file was served).
fn is_front_controller(resp: &Value) -> bool {
    serde_json::from_slice::<Value>(&body_bytes(resp))
        .map(|d| d["script"] == "index.php")
        .unwrap_or(false)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
