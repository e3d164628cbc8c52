//! Console commands: an event that is a JSON string (`"migrate --force"`) runs
//! `php <LAMBDA_FPM_CONSOLE> <args>` with the PHP CLI, in the task root, with the environment and
//! php.ini php-fpm has, until the invocation's deadline. The result is
//! `{"exitCode": N, "output": "..."}`; a non-zero exit fails the invocation.

mod args;
mod output;
mod process;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::lambda::InvocationInfo;

pub use args::{split, ArgsError};
use process::Exit;

/// How many of the output's last lines, and at most how many bytes of them, an error message quotes.
const ERROR_LINES: usize = 20;
const ERROR_BYTES: usize = 4096;

/// `LAMBDA_FPM_CONSOLE`, resolved at init.
#[derive(Debug, Clone)]
pub struct Console {
    /// The PHP CLI: the layer's `bin/php`, or `php` on PATH.
    pub php: PathBuf,
    /// The console script (`artisan`, `bin/console`), canonical.
    pub script: PathBuf,
    /// Where commands run.
    pub task_root: PathBuf,
    /// What the command gets on top of the runtime's environment: what php-fpm gets (php.ini, its
    /// scan directory, the writable directory), so the CLI reads the same configuration.
    pub env: Vec<(&'static str, OsString)>,
}

/// Why a command gave no result: the invocation fails with this as its `/error`.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("the console command {command:?} cannot be run: {reason}")]
    Invalid { command: String, reason: ArgsError },
    #[error("cannot start the PHP CLI {php}: {source}")]
    Spawn { php: String, source: std::io::Error },
    #[error("`{command}` {how}; the output ends with:\n{tail}")]
    Failed {
        command: String,
        how: String,
        tail: String,
    },
    #[error("`{command}` was still running after {after:?} (the invocation deadline minus the safety margin) and was killed; the output ends with:\n{tail}")]
    Timeout {
        command: String,
        after: Duration,
        tail: String,
    },
}

impl ConsoleError {
    pub fn error_type(&self) -> &'static str {
        match self {
            ConsoleError::Invalid { .. } => "Runtime.InvalidCommand",
            ConsoleError::Spawn { .. } => "Runtime.PhpCliUnavailable",
            ConsoleError::Failed { .. } => "Function.CommandFailed",
            ConsoleError::Timeout { .. } => "Function.Timeout",
        }
    }
}

/// The result of a command that ran.
#[derive(Serialize)]
struct CommandResult {
    #[serde(rename = "exitCode")]
    exit_code: i32,
    output: String,
}

/// Runs `command` for at most `budget`; the result JSON or why there is none.
pub async fn run(
    console: &Console,
    command: &str,
    budget: Duration,
    invocation: &InvocationInfo,
) -> Result<Vec<u8>, ConsoleError> {
    let args = split(command).map_err(|reason| ConsoleError::Invalid {
        command: command.to_owned(),
        reason,
    })?;
    let request_id = invocation.request_id.as_str();
    let mut on_line = |line: &str| crate::logging::php_line(line, Some(request_id));
    let started = Instant::now();
    let (exit, output) = process::run(command_of(console, &args, invocation), budget, &mut on_line)
        .await
        .map_err(|source| ConsoleError::Spawn {
            php: console.php.display().to_string(),
            source,
        })?;
    let command = shown(&args);
    if exit != Exit::TimedOut {
        tracing::info!(
            requestId = request_id,
            "console: `{command}` {} in {} ms ({} bytes of output)",
            ended(exit),
            started.elapsed().as_millis(),
            output.total()
        );
    }
    let tail = || output.last_lines(ERROR_LINES, ERROR_BYTES);
    match exit {
        Exit::Code(0) => Ok(result(0, output.text())),
        Exit::TimedOut => Err(ConsoleError::Timeout {
            command,
            after: budget,
            tail: tail(),
        }),
        _ => Err(ConsoleError::Failed {
            command,
            how: ended(exit),
            tail: tail(),
        }),
    }
}

/// `php <console> <args>` in the task root, with php-fpm's configuration and the invocation.
fn command_of(
    console: &Console,
    args: &[String],
    invocation: &InvocationInfo,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(&console.php);
    cmd.arg(&console.script)
        .args(args)
        .current_dir(&console.task_root)
        .envs(console.env.iter().map(|(k, v)| (k, v)));
    for (name, value) in invocation.server_variables(None) {
        if name != "LAMBDA_REQUEST_CONTEXT" {
            cmd.env(name, OsString::from_vec(value.into_owned()));
        }
    }
    cmd
}

/// How a command that ran ended, in words. A signal counts as 128 + its number, as a shell reports it.
fn ended(exit: Exit) -> String {
    match exit {
        Exit::Signal(signal) => format!(
            "was killed by signal {signal}{} (exit code {})",
            signal_hint(signal),
            128 + signal
        ),
        Exit::Code(code) => format!("exited with code {code}"),
        Exit::TimedOut => "was killed at the deadline".into(),
    }
}

fn result(exit_code: i32, output: String) -> Vec<u8> {
    serde_json::to_vec(&CommandResult { exit_code, output }).unwrap_or_else(|_| b"null".to_vec())
}

/// The command as the console sees it: `artisan migrate --force`, arguments quoted when needed.
fn shown(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_graphic() && !b"'\"\\$`".contains(&b))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn signal_hint(signal: i32) -> &'static str {
    match signal {
        9 => " (SIGKILL: out of memory?)",
        11 => " (SIGSEGV: PHP crashed)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_shown_as_a_shell_would_need_them() {
        let args: Vec<String> = ["migrate", "--force", "Ada Lovelace", "it's", ""]
            .map(String::from)
            .to_vec();
        assert_eq!(
            shown(&args),
            r#"migrate --force 'Ada Lovelace' 'it'\''s' ''"#
        );
    }

    #[test]
    fn how_a_command_ended() {
        assert_eq!(ended(Exit::Code(3)), "exited with code 3");
        assert_eq!(
            ended(Exit::Signal(9)),
            "was killed by signal 9 (SIGKILL: out of memory?) (exit code 137)"
        );
        assert_eq!(
            result(0, "ok\n".into()),
            br#"{"exitCode":0,"output":"ok\n"}"#
        );
    }

    #[test]
    fn error_types() {
        let invalid = ConsoleError::Invalid {
            command: "'".into(),
            reason: ArgsError::UnclosedQuote("single"),
        };
        assert_eq!(invalid.error_type(), "Runtime.InvalidCommand");
        assert_eq!(
            invalid.to_string(),
            "the console command \"'\" cannot be run: the command has an unclosed single quote"
        );
        let failed = ConsoleError::Failed {
            command: "migrate".into(),
            how: "exited with code 1".into(),
            tail: "SQLSTATE[HY000]".into(),
        };
        assert_eq!(failed.error_type(), "Function.CommandFailed");
        assert!(failed.to_string().ends_with("SQLSTATE[HY000]"));
    }
}
