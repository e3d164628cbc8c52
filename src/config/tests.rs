//! The pure parse: command lines and environments in, typed values or named errors out. No files.
//!
//! The helpers here build command lines and environments; the tests are grouped by what the values
//! configure: [`modes`] (Lambda and `serve`, their required variables), [`values`] (how any value
//! reads), [`serving`] (concurrency, init, warm-up, streaming, event handler, console, compression),
//! [`reporting`] (log format and level, error types).

mod modes;
mod reporting;
mod serving;
mod values;

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
