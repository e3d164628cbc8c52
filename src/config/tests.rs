//! The pure parse: command lines and environments in, typed values or named errors out. No files.

use super::*;
use crate::cli::ServeArgs;
use std::collections::HashMap;

fn lambda() -> Cli {
    Cli { command: None }
}

fn serve(handler: Option<&str>) -> Cli {
    Cli {
        command: Some(Command::Serve(ServeArgs {
            root: PathBuf::from("app"),
            handler: handler.map(PathBuf::from),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        })),
    }
}

/// What Lambda sets, plus `extra` (an empty value counts as unset, as on Lambda's console).
fn env(extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("_HANDLER", "public/index.php"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    vars
}

fn parse_with(cli: &Cli, vars: &HashMap<String, String>) -> Parsed {
    parse(cli, &|name| vars.get(name).cloned())
}

fn ok(cli: &Cli, extra: &[(&str, &str)]) -> Config {
    parse_with(cli, &env(extra))
        .config
        .expect("valid configuration")
}

fn err(cli: &Cli, extra: &[(&str, &str)]) -> ConfigError {
    parse_with(cli, &env(extra))
        .config
        .expect_err("invalid configuration")
}

/// The error is `Invalid` for `name`, and its message names the variable and the value.
fn assert_invalid(extra: &[(&str, &str)], name: &str) {
    let e = err(&lambda(), extra);
    assert!(
        matches!(&e, ConfigError::Invalid { name: n, .. } if *n == name),
        "{extra:?}: {e:?}"
    );
    let (_, value) = extra
        .iter()
        .find(|(k, _)| *k == name)
        .expect("the variable is among the test's values");
    let message = e.to_string();
    assert!(message.contains(name), "{message}");
    // Quoted as Debug, so control characters show instead of breaking the log line.
    assert!(message.contains(&format!("{value:?}")), "{message}");
    assert!(message.contains("expected"), "{message}");
}

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
fn blank_values_count_as_unset() {
    let c = ok(
        &lambda(),
        &[("LAMBDA_FPM_WORKERS", " "), ("AWS_LAMBDA_LOG_FORMAT", "")],
    );
    assert_eq!(c.concurrency, 1);
    assert_eq!(
        err(&lambda(), &[("_HANDLER", "  ")]),
        ConfigError::NoHandler
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

#[test]
fn every_malformed_value_is_named() {
    for (name, value) in [
        ("LAMBDA_FPM_TIMEOUT_MARGIN_MS", "soon"),
        ("LAMBDA_FPM_TIMEOUT_MARGIN_MS", "-1"),
        ("LAMBDA_FPM_TIMEOUT_MS", "0"),
        ("LAMBDA_FPM_TIMEOUT_MS", "1.5"),
        ("LAMBDA_FPM_START_TIMEOUT_MS", "0"),
        ("LAMBDA_FPM_WORKERS", "0"),
        ("LAMBDA_FPM_WORKERS", "1025"),
        ("AWS_LAMBDA_MAX_CONCURRENCY", "many"),
        ("AWS_LAMBDA_LOG_FORMAT", "Yaml"),
        ("LAMBDA_FPM_LOG_LEVEL", "loud"),
        ("AWS_LAMBDA_LOG_LEVEL", "verbose"),
        ("LAMBDA_FPM_HTACCESS", "yes"),
        ("LAMBDA_FPM_INDEX", "../secret.php"),
        ("LAMBDA_FPM_INDEX", "sub/index.php"),
        ("LAMBDA_FPM_INDEX", ","),
        ("LAMBDA_FPM_DENY", "/data,/"),
        ("LAMBDA_FPM_STATIC_CACHE_CONTROL", "max-age=1\r\nX-Evil: 1"),
        ("TMPDIR", "tmp"),
        ("LAMBDA_FPM_RUNTIME_DIR", "relative/dir"),
        ("LAMBDA_FPM_WARMUP", "login"),
        ("LAMBDA_FPM_WARMUP", "/,/a b"),
        ("LAMBDA_FPM_WARMUP", "/\u{7f}"),
        ("LAMBDA_FPM_WARMUP", ","),
        ("LAMBDA_FPM_EVENT_HANDLER", "worker"),
        ("LAMBDA_FPM_EVENT_HANDLER", "worker.php.txt"),
        ("LAMBDA_FPM_CONSOLE", "/"),
    ] {
        assert_invalid(&[(name, value)], name);
    }
}

#[test]
fn workers_override_managed_instances_concurrency() {
    let c = ok(&lambda(), &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")]);
    assert_eq!(c.concurrency, 4);
    let c = ok(
        &lambda(),
        &[
            ("AWS_LAMBDA_MAX_CONCURRENCY", "4"),
            ("LAMBDA_FPM_WORKERS", "2"),
        ],
    );
    assert_eq!(c.concurrency, 2);
    // The override wins, so Lambda's value is not even looked at.
    let c = ok(
        &lambda(),
        &[
            ("AWS_LAMBDA_MAX_CONCURRENCY", "x"),
            ("LAMBDA_FPM_WORKERS", "3"),
        ],
    );
    assert_eq!(c.concurrency, 3);
}

#[test]
fn initialization_types_and_which_may_warm_up() {
    for (value, expected, warms_up) in [
        ("on-demand", InitType::OnDemand, false),
        (
            "provisioned-concurrency",
            InitType::ProvisionedConcurrency,
            true,
        ),
        (" snap-start ", InitType::SnapStart, true),
        (
            "lambda-managed-instances",
            InitType::Other("lambda-managed-instances".into()),
            false,
        ),
    ] {
        let c = ok(&lambda(), &[("AWS_LAMBDA_INITIALIZATION_TYPE", value)]);
        assert_eq!(c.init_type, expected, "{value}");
        assert_eq!(c.init_type.warms_up(), warms_up, "{value}");
    }
}

#[test]
fn warm_up_paths_keep_their_order_and_query() {
    let c = ok(
        &lambda(),
        &[("LAMBDA_FPM_WARMUP", " /, /login ,/api/ping?warm=1,")],
    );
    assert_eq!(c.warmup, ["/", "/login", "/api/ping?warm=1"]);
}

#[test]
fn managed_instances_log_json_whatever_the_format_variable_says() {
    for format in ["Text", "", "Yaml"] {
        let p = parse_with(
            &lambda(),
            &env(&[
                ("AWS_LAMBDA_MAX_CONCURRENCY", "4"),
                ("AWS_LAMBDA_LOG_FORMAT", format),
            ]),
        );
        assert_eq!(p.reporting.log_format, LogFormat::Json, "{format:?}");
        assert!(p.config.is_ok(), "{format:?}");
    }
    // Workers without Managed Instances keep the function's format; so does `serve`.
    let p = parse_with(&lambda(), &env(&[("LAMBDA_FPM_WORKERS", "4")]));
    assert_eq!(p.reporting.log_format, LogFormat::Text);
    let p = parse_with(&serve(None), &env(&[("AWS_LAMBDA_MAX_CONCURRENCY", "4")]));
    assert_eq!(p.reporting.log_format, LogFormat::Text);
}

#[test]
fn htaccess_is_on_or_off_in_any_case() {
    for (value, expected) in [("on", true), ("On", true), ("off", false), ("OFF", false)] {
        assert_eq!(
            ok(&lambda(), &[("LAMBDA_FPM_HTACCESS", value)]).htaccess,
            expected,
            "{value}"
        );
    }
}

#[test]
fn log_format_is_text_or_json_in_any_case() {
    for (value, expected) in [
        ("Text", LogFormat::Text),
        ("TEXT", LogFormat::Text),
        ("JSON", LogFormat::Json),
        ("json", LogFormat::Json),
    ] {
        let p = parse_with(&lambda(), &env(&[("AWS_LAMBDA_LOG_FORMAT", value)]));
        assert_eq!(p.reporting.log_format, expected, "{value}");
        assert!(p.config.is_ok());
    }
}

#[test]
fn log_level_override_and_the_variable_it_names() {
    let p = parse_with(
        &lambda(),
        &env(&[
            ("AWS_LAMBDA_LOG_LEVEL", "ERROR"),
            ("LAMBDA_FPM_LOG_LEVEL", "debug"),
        ]),
    );
    assert_eq!(p.reporting.log_level, Level::DEBUG);
    let p = parse_with(&lambda(), &env(&[("AWS_LAMBDA_LOG_LEVEL", "warn")]));
    assert_eq!(p.reporting.log_level, Level::WARN);
}

#[test]
fn reporting_survives_a_later_error() {
    // A bad value after the log format and the endpoint: both still known, to log and post the error.
    let p = parse_with(
        &lambda(),
        &env(&[
            ("AWS_LAMBDA_LOG_FORMAT", "json"),
            ("LAMBDA_FPM_TIMEOUT_MS", "soon"),
        ]),
    );
    assert!(p.config.is_err());
    assert_eq!(p.reporting.log_format, LogFormat::Json);
    assert!(!p.reporting.timestamps);
    let endpoint = p.reporting.endpoint.expect("endpoint known");
    assert_eq!(endpoint.authority, "127.0.0.1:9001");

    // The log format itself is the error: reported as text, still to /init/error.
    let p = parse_with(&lambda(), &env(&[("AWS_LAMBDA_LOG_FORMAT", "Yaml")]));
    assert_eq!(p.reporting.log_format, LogFormat::Text);
    assert!(p.reporting.endpoint.is_some());
    assert!(p.config.expect_err("bad").to_string().contains("Yaml"));

    // A bad level: INFO for reporting (errors still show).
    let p = parse_with(&lambda(), &env(&[("LAMBDA_FPM_LOG_LEVEL", "loud")]));
    assert_eq!(p.reporting.log_level, Level::INFO);

    // No usable endpoint: nowhere to post, the error is only logged.
    let p = parse_with(&lambda(), &env(&[("AWS_LAMBDA_RUNTIME_API", "https://x")]));
    assert_eq!(p.reporting.endpoint, None);
}

#[test]
fn error_types_for_the_console() {
    assert_eq!(
        ConfigError::NoHandler.error_type(),
        "Runtime.HandlerNotFound"
    );
    assert_eq!(
        ConfigError::NoPhpFpm("x".into()).error_type(),
        "Runtime.PhpFpmNotFound"
    );
    assert_eq!(
        err(&lambda(), &[("LAMBDA_FPM_WORKERS", "0")]).error_type(),
        "Runtime.InvalidConfiguration"
    );
}

#[test]
fn invoke_mode_is_buffered_or_response_stream() {
    assert_eq!(ok(&lambda(), &[]).invoke_mode, InvokeMode::Buffered);
    let mode = |v| ok(&lambda(), &[("LAMBDA_FPM_INVOKE_MODE", v)]).invoke_mode;
    assert_eq!(mode("buffered"), InvokeMode::Buffered);
    assert_eq!(mode("RESPONSE_STREAM"), InvokeMode::ResponseStream);
    assert_invalid(
        &[("LAMBDA_FPM_INVOKE_MODE", "stream")],
        "LAMBDA_FPM_INVOKE_MODE",
    );
}

#[test]
fn event_handler_and_console_are_relative_to_the_task_root() {
    let c = ok(&lambda(), &[]);
    assert_eq!((c.event_handler, c.console), (None, None));
    let c = ok(
        &lambda(),
        &[
            ("LAMBDA_FPM_EVENT_HANDLER", "/worker.php"),
            ("LAMBDA_FPM_CONSOLE", " bin/console "),
        ],
    );
    assert_eq!(c.event_handler, Some(PathBuf::from("worker.php")));
    assert_eq!(c.console, Some(PathBuf::from("bin/console")));
    let c = ok(&serve(None), &[("LAMBDA_FPM_CONSOLE", "artisan")]);
    assert_eq!(c.console, Some(PathBuf::from("artisan")));
}

#[test]
fn compression_offers_levels_and_the_rest_opt_in() {
    use crate::compress::{Compression, Encoding::*, Offer};
    let c = ok(&lambda(), &[]);
    assert_eq!(c.compression, Compression::default());
    assert!(
        !c.compression.rest_api,
        "REST APIs need binaryMediaTypes first"
    );
    let offer = |encoding, level| Offer { encoding, level };
    for (value, expected) in [
        ("gzip", vec![offer(Gzip, Gzip.default_level())]),
        (
            " zstd:3 , BR:11,gzip:1 ",
            vec![offer(Zstd, 3), offer(Brotli, 11), offer(Gzip, 1)],
        ),
        ("br:0,", vec![offer(Brotli, 0)]),
        ("OFF", vec![]),
    ] {
        let c = ok(&lambda(), &[("LAMBDA_FPM_COMPRESSION", value)]);
        assert_eq!(c.compression.offers, expected, "{value:?}");
    }
    let c = ok(&lambda(), &[("LAMBDA_FPM_COMPRESS_REST", "on")]);
    assert!(c.compression.rest_api);
    for bad in [
        "deflate",
        "gzip,gzip",
        "gzip:0",
        "gzip:10",
        "zstd:20",
        "br:12",
        "br:-1",
        "br:",
        "br:high",
        "x-gzip",
        ",",
        "off,gzip",
    ] {
        assert_invalid(&[("LAMBDA_FPM_COMPRESSION", bad)], "LAMBDA_FPM_COMPRESSION");
    }
    assert_invalid(
        &[("LAMBDA_FPM_COMPRESS_REST", "yes")],
        "LAMBDA_FPM_COMPRESS_REST",
    );
}
