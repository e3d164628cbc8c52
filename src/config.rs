//! The only reader of the environment: the parsed command line and the environment → a validated,
//! typed [`Config`], without touching the file system. [`files::prepare`] is the separate step that
//! does (canonical paths, php-fpm, $TMPDIR). Unknown or malformed values are errors that name the
//! variable and say what is expected; nothing silently falls back to a default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::Level;

use crate::app::{InvokeMode, TimeoutMargin};
use crate::cli::{Cli, Command, DEFAULT_HANDLERS};
use crate::compress::Compression;
use crate::lambda::runtime_api::Endpoint;
use crate::logging::LogFormat;

mod compression;
mod env;
pub mod files;
mod logging;

use compression::compression;
use env::{absolute, header_value, invoke_mode, on_off, php_script, relative, split_list, Env};
pub use files::{prepare, Setup};
use logging::{log_format, log_level};

/// How the binary was asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// No command: the Lambda custom runtime, talking to this Runtime API.
    Lambda { endpoint: Endpoint },
    /// `bootstrap serve`: plain HTTP on this address.
    Serve { listen: SocketAddr },
}

/// What `main` needs to report a failed init. Parsed first, so it is known even when a later value is
/// invalid: the error is then still logged in the function's log format and posted to `/init/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reporting {
    /// Text when `AWS_LAMBDA_LOG_FORMAT` is itself the error.
    pub log_format: LogFormat,
    /// INFO when the level variable is itself the error.
    pub log_level: Level,
    /// Timestamps on text lines: in `serve`; on Lambda CloudWatch adds its own.
    pub timestamps: bool,
    /// Where `/init/error` goes: Lambda mode with a valid `AWS_LAMBDA_RUNTIME_API`.
    pub endpoint: Option<Endpoint>,
}

/// The result of [`parse`]: how to report, and the configuration or what is wrong with it.
#[derive(Debug)]
pub struct Parsed {
    pub reporting: Reporting,
    pub config: Result<Config, ConfigError>,
}

/// Everything the command line and the environment say, validated; paths still as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub mode: Mode,
    /// `LAMBDA_TASK_ROOT` (default `/var/task`) or `--root`.
    pub task_root: PathBuf,
    /// The front controller relative to the task root (`_HANDLER` or `--handler`). `None` only in
    /// `serve` without `--handler`: the file step looks for [`DEFAULT_HANDLERS`] in order.
    pub handler: Option<PathBuf>,
    /// `LAMBDA_FPM_DOCUMENT_ROOT` relative to the task root; `None`: the handler's directory.
    pub document_root: Option<PathBuf>,
    pub index_files: Vec<String>,
    /// Denied URL path prefixes, normalized to `/segment/segment`.
    pub deny: Vec<String>,
    /// Honour `.htaccess` files that deny a whole directory as if listed in `deny`.
    pub htaccess: bool,
    pub static_cache_control: Option<String>,
    /// `LAMBDA_FPM_COMPRESSION` and `LAMBDA_FPM_COMPRESS_REST`.
    pub compression: Compression,
    pub timeout_margin: TimeoutMargin,
    /// `LAMBDA_FPM_INVOKE_MODE`: buffered JSON responses, or streamed ones.
    pub invoke_mode: InvokeMode,
    pub default_timeout: Duration,
    pub start_timeout: Duration,
    /// Concurrent invocation loops (= php-fpm workers).
    pub concurrency: usize,
    /// `AWS_LAMBDA_INITIALIZATION_TYPE`: how Lambda started this environment.
    pub init_type: InitType,
    /// `LAMBDA_FPM_WARMUP`: paths (with an optional query) requested before the first invocation.
    pub warmup: Vec<String>,
    /// `TMPDIR`: the writable directory (sessions, uploads, opcache, the runtime dir).
    pub tmp: PathBuf,
    /// `LAMBDA_FPM_RUNTIME_DIR`; `None`: `$TMPDIR/lambda-fpm-<pid>`.
    pub runtime_dir: Option<PathBuf>,
    pub php: PhpFiles,
    /// `LAMBDA_FPM_EVENT_HANDLER`, relative to the task root: the script that runs every event that is
    /// not an HTTP request.
    pub event_handler: Option<PathBuf>,
    /// `LAMBDA_FPM_CONSOLE`, relative to the task root: the console (`artisan`, `bin/console`) that
    /// events which are JSON strings run as commands.
    pub console: Option<PathBuf>,
}

/// Where php-fpm and its configuration files are looked for; the file step picks the one that exists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhpFiles {
    /// `LAMBDA_FPM_PHP_FPM`.
    pub php_fpm: Option<PathBuf>,
    /// `LAMBDA_FPM_PHP_INI`.
    pub php_ini: Option<PathBuf>,
    /// `LAMBDA_FPM_FPM_CONFIG`.
    pub fpm_config: Option<PathBuf>,
    /// `PATH`, searched for php-fpm after the layer's `bin/php-fpm`.
    pub search_path: Vec<PathBuf>,
}

/// How Lambda started the environment (`AWS_LAMBDA_INITIALIZATION_TYPE`). It decides whether init may
/// spend time on warm-up requests and whether a snapshot follows init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitType {
    /// Started for a waiting request: init is billed and limited to 10 s (also the default when unset).
    OnDemand,
    /// Started ahead of traffic: init time delays no request.
    ProvisionedConcurrency,
    /// Started to be snapshotted: init runs once per published version, then each environment restores.
    SnapStart,
    /// A type this version does not know: treated like on-demand (no warm-up, no snapshot). Lambda adds
    /// types over time, so this is no reason to refuse to start.
    Other(String),
}

impl InitType {
    fn parse(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            None | Some("on-demand") => Self::OnDemand,
            Some("provisioned-concurrency") => Self::ProvisionedConcurrency,
            Some("snap-start") => Self::SnapStart,
            Some(other) => Self::Other(other.to_owned()),
        }
    }

    /// Whether warm-up requests may run: only when init time delays no request.
    pub fn warms_up(&self) -> bool {
        matches!(self, Self::ProvisionedConcurrency | Self::SnapStart)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("AWS_LAMBDA_RUNTIME_API is not set: run this binary as a Lambda custom runtime, or use `bootstrap serve` (see bootstrap --help)")]
    NoRuntimeApi,
    #[error("_HANDLER is not set: set the function's Handler to the app's front controller, e.g. public/index.php")]
    NoHandler,
    #[error("{name}={value:?} is not valid: expected {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("the task root {path} is not a directory ({setting})")]
    TaskRootMissing { path: String, setting: &'static str },
    #[error("the handler {path} does not exist: set {setting} to the front controller's path relative to {task_root} (e.g. public/index.php)")]
    HandlerMissing {
        path: String,
        task_root: String,
        setting: &'static str,
    },
    #[error("no front controller in {root}: neither {} nor {} exists; name one with --handler FILE", DEFAULT_HANDLERS[0], DEFAULT_HANDLERS[1])]
    NoFrontController { root: String },
    #[error("the document root {0} is not a directory (LAMBDA_FPM_DOCUMENT_ROOT)")]
    DocumentRootMissing(String),
    #[error("php-fpm was not found (tried {0}); use the lambda-fpm layer, install php-fpm, or set LAMBDA_FPM_PHP_FPM")]
    NoPhpFpm(String),
    #[error("cannot create {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{setting} names {path}, which does not exist: give a path relative to {task_root}")]
    ScriptMissing {
        setting: &'static str,
        path: String,
        task_root: String,
    },
    #[error("LAMBDA_FPM_CONSOLE is set but no PHP CLI was found (tried {0}); use the lambda-fpm layer or install php")]
    NoPhpCli(String),
}

impl ConfigError {
    /// The `errorType` of the `/init/error` report, so the console says which kind of fix is needed.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::NoHandler | Self::HandlerMissing { .. } | Self::NoFrontController { .. } => {
                "Runtime.HandlerNotFound"
            }
            Self::NoPhpFpm(_) => "Runtime.PhpFpmNotFound",
            Self::ScriptMissing { .. } => "Runtime.HandlerNotFound",
            Self::NoPhpCli(_) => "Runtime.PhpCliNotFound",
            _ => "Runtime.InvalidConfiguration",
        }
    }
}

/// The command line and the environment (`env` is the process environment outside tests) → what to
/// report with, and the validated configuration. Pure: reads nothing but `env`.
pub fn parse(cli: &Cli, env: &dyn Fn(&str) -> Option<String>) -> Parsed {
    let env = Env(env);
    let log_format = log_format(cli, &env);
    let log_level = log_level(&env);
    let mode = mode(cli, &env);
    let reporting = Reporting {
        log_format: *log_format.as_ref().unwrap_or(&LogFormat::Text),
        log_level: *log_level.as_ref().unwrap_or(&Level::INFO),
        timestamps: cli.command.is_some(),
        endpoint: match &mode {
            Ok(Mode::Lambda { endpoint }) => Some(endpoint.clone()),
            _ => None,
        },
    };
    let config = log_format
        .and(log_level)
        .and(mode)
        .and_then(|mode| settings(cli, &env, mode));
    Parsed { reporting, config }
}

/// [`parse`] against the process environment. A value that is not UTF-8 is kept (lossily) rather than
/// treated as unset, so it fails validation visibly instead of being ignored.
pub fn from_process_env(cli: &Cli) -> Parsed {
    parse(cli, &|name| {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    })
}

fn mode(cli: &Cli, env: &Env) -> Result<Mode, ConfigError> {
    match &cli.command {
        Some(Command::Serve(args)) => Ok(Mode::Serve {
            listen: args.listen,
        }),
        None => {
            let value = env
                .get("AWS_LAMBDA_RUNTIME_API")
                .ok_or(ConfigError::NoRuntimeApi)?;
            let endpoint = Endpoint::parse(&value).map_err(|_| ConfigError::Invalid {
                name: "AWS_LAMBDA_RUNTIME_API",
                value,
                expected: "host:port, or http://host:port/prefix",
            })?;
            Ok(Mode::Lambda { endpoint })
        }
    }
}

/// Everything after the mode; the first invalid value wins.
fn settings(cli: &Cli, env: &Env, mode: Mode) -> Result<Config, ConfigError> {
    let (task_root, handler) = match &cli.command {
        Some(Command::Serve(args)) => (args.root.clone(), args.handler.clone()),
        None => (
            PathBuf::from(env.get("LAMBDA_TASK_ROOT").unwrap_or("/var/task".into())),
            Some(PathBuf::from(
                env.get("_HANDLER").ok_or(ConfigError::NoHandler)?,
            )),
        ),
    };
    Ok(Config {
        mode,
        task_root,
        handler: handler.as_deref().map(relative),
        document_root: env
            .get("LAMBDA_FPM_DOCUMENT_ROOT")
            .map(|d| relative(Path::new(&d))),
        index_files: index_files(env)?,
        deny: deny(env)?,
        htaccess: env
            .parse("LAMBDA_FPM_HTACCESS", "on or off", on_off)?
            .unwrap_or(true),
        static_cache_control: env.parse(
            "LAMBDA_FPM_STATIC_CACHE_CONTROL",
            "a header value such as `public, max-age=86400`",
            header_value,
        )?,
        invoke_mode: env
            .parse(
                "LAMBDA_FPM_INVOKE_MODE",
                "buffered or response_stream",
                invoke_mode,
            )?
            .unwrap_or_default(),
        compression: compression(env)?,
        timeout_margin: match env.get("LAMBDA_FPM_TIMEOUT_MARGIN_MS") {
            None => TimeoutMargin::Scaled(Duration::from_secs(1)),
            Some(_) => TimeoutMargin::Fixed(env.millis("LAMBDA_FPM_TIMEOUT_MARGIN_MS", 1000, 0)?),
        },
        default_timeout: env.millis("LAMBDA_FPM_TIMEOUT_MS", 30_000, 1)?,
        start_timeout: env.millis("LAMBDA_FPM_START_TIMEOUT_MS", 8000, 1)?,
        concurrency: concurrency(env)?,
        init_type: InitType::parse(env.get("AWS_LAMBDA_INITIALIZATION_TYPE").as_deref()),
        warmup: warmup(env)?,
        tmp: env
            .parse("TMPDIR", "an absolute path", absolute)?
            .unwrap_or_else(|| PathBuf::from("/tmp")),
        runtime_dir: env.parse("LAMBDA_FPM_RUNTIME_DIR", "an absolute path", absolute)?,
        php: PhpFiles {
            php_fpm: env.get("LAMBDA_FPM_PHP_FPM").map(PathBuf::from),
            php_ini: env.get("LAMBDA_FPM_PHP_INI").map(PathBuf::from),
            fpm_config: env.get("LAMBDA_FPM_FPM_CONFIG").map(PathBuf::from),
            search_path: env
                .get("PATH")
                .map(|p| std::env::split_paths(&p).collect())
                .unwrap_or_default(),
        },
        event_handler: env
            .parse(
                "LAMBDA_FPM_EVENT_HANDLER",
                "a .php file relative to the task root, such as worker.php",
                php_script,
            )?
            .map(|p| relative(&p)),
        console: env.parse(
            "LAMBDA_FPM_CONSOLE",
            "a file relative to the task root, such as artisan or bin/console",
            |v| Some(relative(Path::new(v))).filter(|p| p.file_name().is_some()),
        )?,
    })
}

/// `LAMBDA_FPM_WORKERS`, else Managed Instances' `AWS_LAMBDA_MAX_CONCURRENCY`, else 1.
fn concurrency(env: &Env) -> Result<usize, ConfigError> {
    const EXPECTED: &str = "a whole number from 1 to 1024";
    let count = |v: &str| v.parse::<usize>().ok().filter(|n| (1..=1024).contains(n));
    if let Some(n) = env.parse("LAMBDA_FPM_WORKERS", EXPECTED, count)? {
        return Ok(n);
    }
    Ok(env
        .parse("AWS_LAMBDA_MAX_CONCURRENCY", EXPECTED, count)?
        .unwrap_or(1))
}

/// Warm-up targets go into a request line as they are: a path from the root, with an optional query,
/// and nothing that could not stand in a URL (no space, no control byte).
fn warmup(env: &Env) -> Result<Vec<String>, ConfigError> {
    let Some(value) = env.get("LAMBDA_FPM_WARMUP") else {
        return Ok(Vec::new());
    };
    let targets = split_list(&value);
    let valid = |t: &String| t.starts_with('/') && t.bytes().all(|b| b.is_ascii_graphic());
    if targets.is_empty() || !targets.iter().all(valid) {
        return Err(ConfigError::Invalid {
            name: "LAMBDA_FPM_WARMUP",
            value,
            expected: "comma-separated URL paths such as /,/login (a query is allowed: /?warm=1)",
        });
    }
    Ok(targets)
}

/// Index file names are joined to directories by the router: a `/` or `..` in one would look outside.
fn index_files(env: &Env) -> Result<Vec<String>, ConfigError> {
    let value = env
        .get("LAMBDA_FPM_INDEX")
        .unwrap_or("index.php,index.html".into());
    let names = split_list(&value);
    if names.is_empty() || names.iter().any(|n| n.contains('/') || n == "..") {
        return Err(ConfigError::Invalid {
            name: "LAMBDA_FPM_INDEX",
            value,
            expected: "comma-separated file names such as index.php,index.html",
        });
    }
    Ok(names)
}

/// An entry that normalizes to nothing (`/`, `.`) would be dropped silently: refuse it instead.
fn deny(env: &Env) -> Result<Vec<String>, ConfigError> {
    let Some(value) = env.get("LAMBDA_FPM_DENY") else {
        return Ok(Vec::new());
    };
    split_list(&value)
        .iter()
        .map(|entry| crate::router::normalize_prefix(entry))
        .collect::<Option<Vec<_>>>()
        .ok_or(ConfigError::Invalid {
            name: "LAMBDA_FPM_DENY",
            value,
            expected: "comma-separated URL path prefixes such as /data,/conf",
        })
}

#[cfg(test)]
mod tests;
