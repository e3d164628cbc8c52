//! The file-system step, in temp dirs: what is found, what is created, and what a failure leaves.

use super::*;
use crate::lambda::runtime_api::Endpoint;
use std::net::SocketAddr;
use std::time::Duration;

/// dir/task/public/index.php, dir/php-fpm (an empty file is enough: nothing runs it), dir/exe/.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    touch(&dir.path().join("task/public/index.php"));
    touch(&dir.path().join("php-fpm"));
    std::fs::create_dir_all(dir.path().join("exe")).expect("mkdir");
    dir
}

fn touch(path: &Path) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, "<?php").expect("write");
}

fn lambda_config(dir: &Path) -> Config {
    Config {
        mode: Mode::Lambda {
            endpoint: Endpoint::parse("127.0.0.1:9001").expect("endpoint"),
        },
        task_root: dir.join("task"),
        handler: Some(PathBuf::from("public/index.php")),
        document_root: None,
        index_files: vec!["index.php".into()],
        deny: Vec::new(),
        htaccess: true,
        static_cache_control: None,
        compression: crate::compress::Compression::default(),
        timeout_margin: crate::app::TimeoutMargin::Scaled(Duration::from_millis(1000)),
        invoke_mode: crate::app::InvokeMode::Buffered,
        default_timeout: Duration::from_millis(30_000),
        start_timeout: Duration::from_millis(8000),
        concurrency: 3,
        init_type: crate::config::InitType::OnDemand,
        warmup: Vec::new(),
        tmp: dir.join("tmp"),
        runtime_dir: None,
        php: PhpFiles {
            php_fpm: Some(dir.join("php-fpm")),
            ..PhpFiles::default()
        },
        event_handler: None,
        console: None,
    }
}

fn serve_config(dir: &Path, handler: Option<&str>) -> Config {
    Config {
        mode: Mode::Serve {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        },
        handler: handler.map(PathBuf::from),
        ..lambda_config(dir)
    }
}

fn exe(dir: &Path) -> PathBuf {
    dir.join("exe")
}

#[test]
fn lambda_paths_and_php_fpm_settings() {
    let dir = fixture();
    let d = std::fs::canonicalize(dir.path()).expect("canonical");
    let s = prepare(&lambda_config(dir.path()), &exe(dir.path())).expect("valid");
    assert_eq!(s.task_root, d.join("task"));
    assert_eq!(s.handler, d.join("task/public/index.php"));
    assert_eq!(s.document_root, d.join("task/public"), "the handler's dir");
    let pid = std::process::id();
    assert_eq!(
        s.runtime_dir,
        dir.path().join(format!("tmp/lambda-fpm-{pid}"))
    );
    assert_eq!(s.fpm.socket, s.runtime_dir.join("php-fpm.sock"));
    assert_eq!(s.fpm.binary, dir.path().join("php-fpm"));
    assert_eq!(s.fpm.workers, 3);
    assert_eq!(s.fpm.tmp, dir.path().join("tmp"));
    assert_eq!(s.fpm.start_timeout, Duration::from_millis(8000));
    assert!(!s.fpm.opcache_revalidate, "code never changes on Lambda");
    assert!(s.fpm.scan_dir.starts_with(':'), "keeps PHP's own scan dir");
    assert!(s.fpm.scan_dir.contains("exe/php-ini/conf.d:"));
    assert!(s.fpm.scan_dir.ends_with("task/php/conf.d"));
    // The layer has no php.ini / php-fpm.conf here: the embedded ones are written to the runtime dir.
    assert_eq!(s.fpm.php_ini, s.runtime_dir.join("php.ini"));
    assert_eq!(s.fpm.fpm_config, s.runtime_dir.join("php-fpm.conf"));
    let ini = std::fs::read_to_string(&s.fpm.php_ini).expect("php.ini written");
    assert_eq!(ini, EMBEDDED_PHP_INI);
    let conf = std::fs::read_to_string(&s.fpm.fpm_config).expect("php-fpm.conf written");
    assert_eq!(conf, EMBEDDED_FPM_CONFIG);
    for sub in ["sessions", "uploads", "opcache"] {
        assert!(dir.path().join("tmp").join(sub).is_dir(), "{sub}");
    }
}

#[test]
fn serve_finds_the_front_controller() {
    let dir = fixture();
    let s = prepare(&serve_config(dir.path(), None), &exe(dir.path())).expect("valid");
    assert!(s.handler.ends_with("task/public/index.php"));
    assert!(s.fpm.opcache_revalidate, "local edits show up at once");

    // Without public/index.php, index.php in the root (and the root is the document root).
    std::fs::remove_file(dir.path().join("task/public/index.php")).expect("rm");
    touch(&dir.path().join("task/index.php"));
    let s = prepare(&serve_config(dir.path(), None), &exe(dir.path())).expect("valid");
    assert!(s.handler.ends_with("task/index.php"));
    assert!(s.document_root.ends_with("task"));

    // Neither: an error naming both, and which root was searched.
    std::fs::remove_file(dir.path().join("task/index.php")).expect("rm");
    let e = prepare(&serve_config(dir.path(), None), &exe(dir.path())).expect_err("none");
    assert!(matches!(e, ConfigError::NoFrontController { .. }));
    let message = e.to_string();
    for needle in ["public/index.php", "index.php", "task", "--handler"] {
        assert!(message.contains(needle), "{needle} in {message}");
    }

    // An explicit --handler is used as given, relative to the root.
    touch(&dir.path().join("task/web/app.php"));
    let c = serve_config(dir.path(), Some("web/app.php"));
    let s = prepare(&c, &exe(dir.path())).expect("valid");
    assert!(s.handler.ends_with("task/web/app.php"));
}

#[test]
fn missing_paths_name_the_setting_to_fix() {
    let dir = fixture();
    let mut c = lambda_config(dir.path());
    c.handler = Some(PathBuf::from("public/missing.php"));
    let e = prepare(&c, &exe(dir.path())).expect_err("missing handler");
    assert!(matches!(e, ConfigError::HandlerMissing { .. }));
    assert!(e.to_string().contains("missing.php"), "{e}");
    assert!(e.to_string().contains("_HANDLER"), "{e}");
    let c = serve_config(dir.path(), Some("missing.php"));
    let e = prepare(&c, &exe(dir.path())).expect_err("missing handler");
    assert!(e.to_string().contains("--handler"), "{e}");

    let mut c = lambda_config(dir.path());
    c.task_root = dir.path().join("nonexistent-task-root");
    let e = prepare(&c, &exe(dir.path())).expect_err("missing task root");
    assert!(matches!(e, ConfigError::TaskRootMissing { .. }));
    assert!(e.to_string().contains("nonexistent-task-root"), "{e}");
    assert!(e.to_string().contains("LAMBDA_TASK_ROOT"), "{e}");

    let mut c = lambda_config(dir.path());
    c.document_root = Some(PathBuf::from("web"));
    let e = prepare(&c, &exe(dir.path())).expect_err("missing document root");
    assert!(matches!(e, ConfigError::DocumentRootMissing(_)));
    c.document_root = Some(PathBuf::from("."));
    let s = prepare(&c, &exe(dir.path())).expect("the task root itself");
    assert_eq!(s.document_root, s.task_root);

    let mut c = lambda_config(dir.path());
    c.php.php_fpm = Some(dir.path().join("no-such-php-fpm"));
    let e = prepare(&c, &exe(dir.path())).expect_err("missing php-fpm");
    assert!(matches!(e, ConfigError::NoPhpFpm(_)));
    assert!(e.to_string().contains("no-such-php-fpm"), "{e}");
    assert_eq!(e.error_type(), "Runtime.PhpFpmNotFound");
}

#[test]
fn a_failed_check_writes_nothing() {
    let dir = fixture();
    let mut c = lambda_config(dir.path());
    c.php.php_ini = Some(dir.path().join("missing.ini"));
    let e = prepare(&c, &exe(dir.path())).expect_err("missing php.ini");
    assert!(
        matches!(
            &e,
            ConfigError::Invalid {
                name: "LAMBDA_FPM_PHP_INI",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        !dir.path().join("tmp").exists(),
        "nothing created before the checks pass"
    );
}

#[test]
fn php_fpm_and_its_files_come_from_the_layer_first() {
    let dir = fixture();
    let exe = exe(dir.path());
    touch(&exe.join("bin/php-fpm"));
    touch(&exe.join("php-ini/php.ini"));
    touch(&exe.join("fpm-config/php-fpm.conf"));
    let mut c = lambda_config(dir.path());
    c.php.php_fpm = None;
    c.php.search_path = vec![dir.path().to_path_buf()];
    let s = prepare(&c, &exe).expect("valid");
    assert_eq!(s.fpm.binary, exe.join("bin/php-fpm"));
    assert_eq!(s.fpm.php_ini, exe.join("php-ini/php.ini"));
    assert_eq!(s.fpm.fpm_config, exe.join("fpm-config/php-fpm.conf"));
    assert!(
        !s.runtime_dir.join("php.ini").exists(),
        "nothing embedded written"
    );

    // No layer binary: the first match on PATH (dir/php-fpm), before /usr/sbin.
    std::fs::remove_file(exe.join("bin/php-fpm")).expect("rm");
    let s = prepare(&c, &exe).expect("valid");
    assert_eq!(s.fpm.binary, dir.path().join("php-fpm"));

    // Explicit files win over the layer's.
    let ini = dir.path().join("my.ini");
    touch(&ini);
    c.php.php_ini = Some(ini.clone());
    assert_eq!(prepare(&c, &exe).expect("valid").fpm.php_ini, ini);
}

#[test]
fn io_errors_name_the_path_and_leave_no_runtime_dir() {
    let dir = fixture();
    let mut c = lambda_config(dir.path());
    c.runtime_dir = Some(dir.path().join("rt"));
    // A file where a directory must go (as root, permissions would not stop create_dir_all).
    std::fs::create_dir_all(dir.path().join("tmp")).expect("mkdir");
    std::fs::write(dir.path().join("tmp/uploads"), "").expect("write");
    let e = prepare(&c, &exe(dir.path())).expect_err("uploads is a file");
    assert!(matches!(e, ConfigError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("tmp/uploads"), "{e}");
    assert!(
        !dir.path().join("rt").exists(),
        "the half-made runtime dir is removed"
    );
}

#[test]
fn event_handler_and_console_are_resolved_and_checked() {
    let dir = fixture();
    let d = std::fs::canonicalize(dir.path()).expect("canonical");
    touch(&dir.path().join("task/worker.php"));
    touch(&dir.path().join("task/artisan"));
    touch(&dir.path().join("exe/bin/php"));
    let mut c = lambda_config(dir.path());
    c.event_handler = Some(PathBuf::from("worker.php"));
    c.console = Some(PathBuf::from("artisan"));
    let s = prepare(&c, &exe(dir.path())).expect("valid");
    let handler = s.event_handler.expect("event handler");
    assert_eq!(handler.script, d.join("task/worker.php"));
    assert_eq!(handler.script_name, "/worker.php");
    assert_eq!(
        std::fs::read_to_string(&handler.entry).expect("entry written"),
        crate::worker::ENTRY_SCRIPT
    );
    let console = s.console.expect("console");
    assert_eq!(console.script, d.join("task/artisan"));
    assert_eq!(console.php, dir.path().join("exe/bin/php"));
    assert_eq!(console.task_root, d.join("task"));
    let names: Vec<&str> = console.env.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "PHP_INI_SCAN_DIR",
            "LAMBDA_FPM_TMP",
            "LAMBDA_FPM_OPCACHE_REVALIDATE",
            "PHPRC"
        ]
    );

    // A missing script stops init before anything is written, naming the variable.
    let _ = std::fs::remove_dir_all(dir.path().join("tmp"));
    c.console = Some(PathBuf::from("bin/console"));
    let e = prepare(&c, &exe(dir.path())).expect_err("missing console");
    assert_eq!(e.error_type(), "Runtime.HandlerNotFound");
    assert!(
        e.to_string().starts_with("LAMBDA_FPM_CONSOLE names "),
        "{e}"
    );
    assert!(e.to_string().contains("bin/console"), "{e}");
    assert!(!dir.path().join("tmp").exists(), "nothing written");
    c.console = None;
    c.event_handler = Some(PathBuf::from("jobs/worker.php"));
    let e = prepare(&c, &exe(dir.path())).expect_err("missing handler");
    assert!(e.to_string().contains("LAMBDA_FPM_EVENT_HANDLER"), "{e}");
}

#[test]
fn precompiled_opcache_is_linked_into_tmp() {
    let dir = fixture();
    let task = std::fs::canonicalize(dir.path().join("task")).expect("canonical");
    let inner = task.strip_prefix("/").expect("absolute");
    let cached = task.join(".opcache/0123abcd").join(inner).join("public");
    std::fs::create_dir_all(&cached).expect("mkdir");
    std::fs::write(cached.join("index.php.bin"), "compiled").expect("write");
    // A cache made for another task root path links nothing.
    std::fs::create_dir_all(task.join(".opcache/ffff/elsewhere")).expect("mkdir");

    prepare(&lambda_config(dir.path()), &exe(dir.path())).expect("valid");
    let link = dir.path().join("tmp/opcache/0123abcd").join(inner);
    assert!(link.symlink_metadata().expect("link").is_symlink());
    assert_eq!(
        std::fs::read_to_string(link.join("public/index.php.bin")).expect("through the link"),
        "compiled"
    );
    assert!(!dir.path().join("tmp/opcache/ffff").exists());

    // A second init in the same /tmp keeps what is there.
    assert_eq!(link_precompiled(&task, &dir.path().join("tmp")), 0);
    assert!(link.join("public/index.php.bin").is_file());
}

#[test]
fn no_precompiled_opcache_links_nothing() {
    let dir = fixture();
    let task = std::fs::canonicalize(dir.path().join("task")).expect("canonical");
    assert_eq!(link_precompiled(&task, &dir.path().join("tmp")), 0);
}
