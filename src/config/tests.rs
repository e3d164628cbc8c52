use super::*;
use std::collections::HashMap;

struct Env(HashMap<&'static str, String>);

impl Env {
    fn get(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |k| self.0.get(k).cloned()
    }
}

fn task() -> (tempfile::TempDir, Env) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("task/public")).expect("mkdir");
    std::fs::write(dir.path().join("task/public/index.php"), "<?php").expect("write");
    std::fs::write(dir.path().join("php-fpm"), "").expect("write");
    let mut env = HashMap::new();
    env.insert("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001".to_string());
    env.insert("_HANDLER", "public/index.php".to_string());
    env.insert(
        "LAMBDA_TASK_ROOT",
        dir.path().join("task").display().to_string(),
    );
    env.insert("TMPDIR", dir.path().join("tmp").display().to_string());
    env.insert(
        "LAMBDA_FPM_PHP_FPM",
        dir.path().join("php-fpm").display().to_string(),
    );
    (dir, Env(env))
}

#[test]
fn lambda_defaults() {
    let (dir, env) = task();
    let c = Config::load(&[], &env.get(), Path::new("/nonexistent")).expect("valid");
    assert_eq!(c.mode, Mode::Lambda);
    assert!(c.document_root.ends_with("task/public"));
    assert_eq!(c.concurrency, 1);
    assert_eq!(c.timeout_margin, Duration::from_millis(1000));
    assert!(
        c.fpm.php_ini.starts_with(dir.path().join("tmp")),
        "embedded php.ini written under TMPDIR"
    );
    assert!(!c.fpm.opcache_revalidate);
    assert!(c.fpm.scan_dir.starts_with(':'), "keeps PHP's own scan dir");
    assert!(c.fpm.scan_dir.ends_with("task/php/conf.d"));
    assert!(dir.path().join("tmp/sessions").is_dir());
}

#[test]
fn errors_say_what_to_fix() {
    let (_dir, mut env) = task();
    env.0.insert("_HANDLER", "public/missing.php".into());
    let e = Config::load(&[], &env.get(), Path::new("/x")).expect_err("missing handler");
    assert!(matches!(e, ConfigError::HandlerMissing { .. }));
    assert!(e.to_string().contains("Handler"));
    env.0.insert("_HANDLER", "public/index.php".into());
    env.0.insert("LAMBDA_FPM_TIMEOUT_MARGIN_MS", "soon".into());
    assert!(matches!(
        Config::load(&[], &env.get(), Path::new("/x")),
        Err(ConfigError::Invalid { .. })
    ));
    env.0.remove("LAMBDA_FPM_TIMEOUT_MARGIN_MS");
    env.0.insert("AWS_LAMBDA_MAX_CONCURRENCY", "0".into());
    assert!(matches!(
        Config::load(&[], &env.get(), Path::new("/x")),
        Err(ConfigError::Invalid { .. })
    ));
    env.0.insert("AWS_LAMBDA_MAX_CONCURRENCY", "4".into());
    assert_eq!(
        Config::load(&[], &env.get(), Path::new("/x"))
            .expect("ok")
            .concurrency,
        4
    );
    env.0
        .insert("LAMBDA_FPM_PHP_FPM", "/nonexistent/php-fpm".into());
    assert!(matches!(
        Config::load(&[], &env.get(), Path::new("/x")),
        Err(ConfigError::NoPhpFpm(_))
    ));
}

#[test]
fn serve_arguments() {
    let (dir, env) = task();
    let args: Vec<String> = [
        "serve",
        "--root",
        &dir.path().join("task").display().to_string(),
        "--listen",
        "127.0.0.1:0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let c = Config::load(&args, &env.get(), Path::new("/x")).expect("valid");
    assert!(matches!(c.mode, Mode::Serve { .. }));
    assert!(c.fpm.opcache_revalidate);
    let bad: Vec<String> = ["serve", "--port", "1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(matches!(
        Config::load(&bad, &env.get(), Path::new("/x")),
        Err(ConfigError::Usage(_))
    ));
    let unknown: Vec<String> = vec!["run".into()];
    assert!(matches!(
        Config::load(&unknown, &env.get(), Path::new("/x")),
        Err(ConfigError::Usage(_))
    ));
}
