//! Lambda and `serve`: the defaults, every setting read from the environment, the variables each needs.

use super::*;

#[test]
fn lambda_defaults() {
    let c = ok(&lambda(), &[]);
    let endpoint = Endpoint::parse("127.0.0.1:9001").expect("endpoint");
    assert_eq!(c.mode, Mode::Lambda { endpoint });
    assert_eq!(c.task_root, PathBuf::from("/var/task"));
    assert_eq!(c.handler, Some(PathBuf::from("public/index.php")));
    assert_eq!(c.document_root, None);
    assert_eq!(c.index_files, ["index.php", "index.html"]);
    assert!(c.deny.is_empty());
    assert!(c.htaccess, "LAMBDA_FPM_HTACCESS defaults to on");
    assert_eq!(c.static_cache_control, None);
    assert_eq!(
        c.timeout_margin,
        TimeoutMargin::Scaled(Duration::from_millis(1000))
    );
    assert_eq!(c.default_timeout, Duration::from_millis(30_000));
    assert_eq!(c.start_timeout, Duration::from_millis(8000));
    assert_eq!(c.concurrency, 1);
    assert_eq!(c.init_type, InitType::OnDemand);
    assert!(c.warmup.is_empty());
    assert_eq!(c.tmp, PathBuf::from("/tmp"));
    assert_eq!(c.runtime_dir, None);
    assert_eq!(c.php, PhpFiles::default());
}

#[test]
fn lambda_settings_from_the_environment() {
    let c = ok(
        &lambda(),
        &[
            ("AWS_LAMBDA_RUNTIME_API", "http://127.0.0.1:9000/.rt"),
            ("_HANDLER", "/web/app.php"),
            ("LAMBDA_TASK_ROOT", "/srv/task"),
            ("LAMBDA_FPM_DOCUMENT_ROOT", "/web"),
            ("LAMBDA_FPM_INDEX", " app.php , index.html ,"),
            ("LAMBDA_FPM_DENY", "/data/, conf/./x ,"),
            ("LAMBDA_FPM_HTACCESS", "OFF"),
            ("LAMBDA_FPM_STATIC_CACHE_CONTROL", "public, max-age=60"),
            ("LAMBDA_FPM_TIMEOUT_MARGIN_MS", "0"),
            ("LAMBDA_FPM_TIMEOUT_MS", " 5000 "),
            ("LAMBDA_FPM_START_TIMEOUT_MS", "250"),
            ("TMPDIR", "/scratch"),
            ("LAMBDA_FPM_RUNTIME_DIR", "/scratch/rt"),
            ("LAMBDA_FPM_PHP_FPM", "/opt/bin/php-fpm"),
            ("LAMBDA_FPM_PHP_INI", "/etc/php.ini"),
            ("LAMBDA_FPM_FPM_CONFIG", "/etc/fpm.conf"),
            ("PATH", "/a:/b"),
        ],
    );
    let Mode::Lambda { endpoint } = &c.mode else {
        panic!("{:?}", c.mode)
    };
    assert_eq!(endpoint.authority, "127.0.0.1:9000");
    assert_eq!(endpoint.prefix, "/.rt");
    assert_eq!(c.task_root, PathBuf::from("/srv/task"));
    assert_eq!(c.handler, Some(PathBuf::from("web/app.php")), "relative");
    assert_eq!(c.document_root, Some(PathBuf::from("web")));
    assert_eq!(c.index_files, ["app.php", "index.html"]);
    assert_eq!(c.deny, ["/data", "/conf/x"]);
    assert!(!c.htaccess);
    assert_eq!(
        c.static_cache_control.as_deref(),
        Some("public, max-age=60")
    );
    assert_eq!(c.timeout_margin, TimeoutMargin::Fixed(Duration::ZERO));
    assert_eq!(c.default_timeout, Duration::from_millis(5000));
    assert_eq!(c.start_timeout, Duration::from_millis(250));
    assert_eq!(c.tmp, PathBuf::from("/scratch"));
    assert_eq!(c.runtime_dir, Some(PathBuf::from("/scratch/rt")));
    assert_eq!(c.php.php_fpm, Some(PathBuf::from("/opt/bin/php-fpm")));
    assert_eq!(c.php.php_ini, Some(PathBuf::from("/etc/php.ini")));
    assert_eq!(c.php.fpm_config, Some(PathBuf::from("/etc/fpm.conf")));
    assert_eq!(
        c.php.search_path,
        [PathBuf::from("/a"), PathBuf::from("/b")]
    );
}

#[test]
fn serve_takes_the_command_line_and_ignores_lambda_variables() {
    let c = ok(
        &serve(Some("/web/index.php")),
        &[("AWS_LAMBDA_RUNTIME_API", ""), ("_HANDLER", "other.php")],
    );
    assert_eq!(
        c.mode,
        Mode::Serve {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080))
        }
    );
    assert_eq!(c.task_root, PathBuf::from("app"));
    assert_eq!(c.handler, Some(PathBuf::from("web/index.php")));
    assert_eq!(ok(&serve(None), &[]).handler, None, "looked up later");
    let p = parse_with(&serve(None), &env(&[]));
    assert!(p.reporting.timestamps, "local logs carry the time");
    assert_eq!(p.reporting.endpoint, None, "no /init/error outside Lambda");
}

#[test]
fn lambda_needs_its_variables() {
    let vars: HashMap<String, String> = HashMap::new();
    assert_eq!(
        parse_with(&lambda(), &vars).config,
        Err(ConfigError::NoRuntimeApi)
    );
    assert_eq!(err(&lambda(), &[("_HANDLER", "")]), ConfigError::NoHandler);
    assert_invalid(
        &[("AWS_LAMBDA_RUNTIME_API", "https://example.com")],
        "AWS_LAMBDA_RUNTIME_API",
    );
}
