//! Log set-up: one line per event worth knowing, JSON objects with `level` and `timestamp` when
//! `AWS_LAMBDA_LOG_FORMAT=JSON` (so Lambda can filter them by level), plain text otherwise.
//! PHP's own messages are logged with a level read from their prefix.

use tracing::Level;
use tracing_subscriber::fmt::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber. Lines go to stderr; Lambda captures it like stdout.
pub fn init(format: LogFormat, level: Level, with_time: bool) {
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    let result = match (format, with_time) {
        (LogFormat::Json, _) => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_timer(SystemTime)
            .try_init(),
        (LogFormat::Text, true) => builder.try_init(),
        (LogFormat::Text, false) => builder.without_time().try_init(),
    };
    // Only fails when a subscriber is already set (tests): keep that one.
    let _ = result;
}

/// Maps `AWS_LAMBDA_LOG_LEVEL` / `LAMBDA_FPM_LOG_LEVEL` values to a level.
pub fn parse_level(value: &str) -> Option<Level> {
    Some(match value.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Level::TRACE,
        "DEBUG" => Level::DEBUG,
        "INFO" => Level::INFO,
        "WARN" | "WARNING" => Level::WARN,
        "ERROR" | "FATAL" => Level::ERROR,
        _ => return None,
    })
}

/// The level a line from PHP or php-fpm deserves, from PHP's message prefixes ("PHP Fatal error:") and
/// php-fpm's level words ("WARNING:"); anything else (an app's own output) is info.
pub fn php_level(line: &str) -> Level {
    const ERRORS: &[&str] = &[
        "PHP Fatal error",
        "PHP Parse error",
        "PHP Recoverable fatal error",
        "PHP Core error",
        "PHP Compile error",
        "ERROR:",
        "ALERT:",
        "EMERGENCY:",
        "CRITICAL:",
    ];
    const WARNINGS: &[&str] = &[
        "PHP Warning",
        "PHP Core warning",
        "PHP Compile warning",
        "WARNING:",
    ];
    let head = &line[..line.floor_char_boundary(96)];
    if ERRORS.iter().any(|p| head.contains(p)) {
        Level::ERROR
    } else if WARNINGS.iter().any(|p| head.contains(p)) {
        Level::WARN
    } else {
        Level::INFO
    }
}

/// Logs one line PHP or php-fpm wrote, tagged with the invocation when known.
pub fn php_line(line: &str, request_id: Option<&str>) {
    macro_rules! log {
        ($level:ident) => {
            match request_id {
                Some(id) => tracing::$level!(source = "php", requestId = id, "{line}"),
                None => tracing::$level!(source = "php", "{line}"),
            }
        };
    }
    match php_level(line) {
        Level::ERROR => log!(error),
        Level::WARN => log!(warn),
        _ => log!(info),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_prefixes_map_to_levels() {
        assert_eq!(
            php_level("PHP Fatal error:  Uncaught Exception: boom"),
            Level::ERROR
        );
        assert_eq!(
            php_level("[21-Nov-2026 09:00:00] WARNING: [pool lambda] child 12 exited on signal 9"),
            Level::WARN
        );
        assert_eq!(php_level("PHP Notice:  Undefined index"), Level::INFO);
        assert_eq!(
            php_level("PHP message: PHP Warning:  a warning in /app/fatal.php on line 3"),
            Level::WARN
        );
        assert_eq!(php_level("my app: all fine, no error"), Level::INFO);
        assert_eq!(parse_level("warn"), Some(Level::WARN));
        assert_eq!(parse_level("loud"), None);
    }
}
