//! Where the real apps are: the task roots `tests/apps/install.sh` prepared, and where screenshots go.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where install.sh put the task roots: $LAMBDA_FPM_APPS or target/apps.
pub fn apps_dir() -> PathBuf {
    match std::env::var_os("LAMBDA_FPM_APPS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/apps"),
    }
}

/// The task root of an installed app; fails the test (never skips it) when install.sh has not run.
pub fn task_root(app: &str) -> PathBuf {
    let dir = apps_dir();
    let root = dir.join(app);
    if !dir.join("INSTALLED").is_file() || !root.is_dir() {
        panic!(
            "the real apps are not installed in {}: run `sudo tests/apps/install.sh` first \
             (it installs Debian's packages and prepares every app's task root; set LAMBDA_FPM_APPS to use \
             another directory)",
            dir.display()
        );
    }
    root
}

/// The copy of the layer's PHP glue (`/opt/lambda-fpm/php` on Lambda) install.sh made: the apps'
/// event handlers find it through `LAMBDA_FPM_PHP_DIR`.
pub fn layer_php_dir() -> PathBuf {
    let dir = apps_dir().join("layer-php");
    assert!(
        dir.join("laravel.php").is_file(),
        "{} has no laravel.php: run `sudo tests/apps/install.sh` again",
        dir.display()
    );
    dir
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

pub fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// target/screenshots/, created on demand.
pub fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}
