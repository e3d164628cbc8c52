//! The log format and level: Lambda's own variables, `LAMBDA_FPM_LOG_LEVEL` over them, and Managed
//! Instances' JSON-only rule.

use tracing::Level;

use super::env::Env;
use super::ConfigError;
use crate::cli::Cli;
use crate::logging::{parse_level, LogFormat};

/// Lambda sends `Text` or `JSON`; any case is accepted, anything else is a mistake worth stopping for.
/// Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY` set) accept only JSON logs: Lambda configures
/// their log format as JSON and it cannot be changed, and lines of concurrent invocations interleave, so
/// each needs its own `requestId` field. There, JSON whatever the variable says.
pub(super) fn log_format(cli: &Cli, env: &Env) -> Result<LogFormat, ConfigError> {
    if cli.command.is_none() && env.get("AWS_LAMBDA_MAX_CONCURRENCY").is_some() {
        return Ok(LogFormat::Json);
    }
    let format = env.parse("AWS_LAMBDA_LOG_FORMAT", "Text or JSON", |v| {
        match v.to_ascii_uppercase().as_str() {
            "TEXT" => Some(LogFormat::Text),
            "JSON" => Some(LogFormat::Json),
            _ => None,
        }
    })?;
    Ok(format.unwrap_or(LogFormat::Text))
}

/// `LAMBDA_FPM_LOG_LEVEL` overrides Lambda's `AWS_LAMBDA_LOG_LEVEL`; the error names the one used.
pub(super) fn log_level(env: &Env) -> Result<Level, ConfigError> {
    const EXPECTED: &str = "TRACE, DEBUG, INFO, WARN or ERROR";
    let ours = env.parse("LAMBDA_FPM_LOG_LEVEL", EXPECTED, parse_level)?;
    let level = match ours {
        Some(level) => Some(level),
        None => env.parse("AWS_LAMBDA_LOG_LEVEL", EXPECTED, parse_level)?,
    };
    Ok(level.unwrap_or(Level::INFO))
}
