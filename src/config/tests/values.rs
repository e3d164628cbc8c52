//! How any value reads: blank is unset, every malformed value is named, switches in any case.

use super::*;

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
fn htaccess_is_on_or_off_in_any_case() {
    for (value, expected) in [("on", true), ("On", true), ("off", false), ("OFF", false)] {
        assert_eq!(
            ok(&lambda(), &[("LAMBDA_FPM_HTACCESS", value)]).htaccess,
            expected,
            "{value}"
        );
    }
}
