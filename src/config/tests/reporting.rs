//! Reporting: log format and level, what survives a later error to report it, error types.

use super::*;

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
