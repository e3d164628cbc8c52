//! The only reader of the environment and the command line: raw values → a validated [`Config`].
//! Unknown or malformed values are errors that say what to fix; nothing silently falls back.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::logging::{parse_level, LogFormat};
use crate::php_fpm::FpmSettings;

/// How the binary was asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// No arguments: the Lambda custom runtime.
    Lambda,
    /// `bootstrap serve --root DIR --handler FILE --listen ADDR`.
    Serve {
        root: PathBuf,
        handler: String,
        listen: SocketAddr,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub runtime_api: Option<String>,
    pub task_root: PathBuf,
    pub handler: PathBuf,
    pub document_root: PathBuf,
    pub index_files: Vec<String>,
    pub deny: Vec<String>,
    pub static_cache_control: Option<String>,
    pub fpm: FpmSettings,
    /// Where the socket and generated config files live; removed at shutdown.
    pub runtime_dir: PathBuf,
    pub timeout_margin: Duration,
    pub default_timeout: Duration,
    /// Concurrent invocation loops (= php-fpm workers).
    pub concurrency: usize,
    pub log_format: LogFormat,
    pub log_level: tracing::Level,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("usage: bootstrap                      (Lambda custom runtime)\n       bootstrap serve --root DIR --handler public/index.php --listen 127.0.0.1:8080\n{0}")]
    Usage(String),
    #[error("AWS_LAMBDA_RUNTIME_API is not set: run this binary as a Lambda custom runtime, or use `bootstrap serve`")]
    NoRuntimeApi,
    #[error("_HANDLER is not set: set the function's Handler to the app's front controller, e.g. public/index.php")]
    NoHandler,
    #[error("the handler {path} does not exist: set the function's Handler to the front controller's path relative to {task_root} (e.g. public/index.php)")]
    HandlerMissing { path: String, task_root: String },
    #[error("the document root {0} is not a directory (LAMBDA_FPM_DOCUMENT_ROOT)")]
    DocumentRootMissing(String),
    #[error("php-fpm was not found (tried {0}); use the lambda-fpm layer, install php-fpm, or set LAMBDA_FPM_PHP_FPM")]
    NoPhpFpm(String),
    #[error("{name}={value:?} is not valid: expected {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("cannot create {path}: {reason}")]
    Io { path: String, reason: String },
}

/// The defaults shipped in the repo, used when neither the environment nor the layer provides a file.
const EMBEDDED_PHP_INI: &str = include_str!("../php-ini/php.ini");
const EMBEDDED_FPM_CONFIG: &str = include_str!("../fpm-config/php-fpm.conf");

impl Config {
    /// Reads the command line and the environment (`env` is `std::env::var` outside tests).
    pub fn load(
        args: &[String],
        env: &dyn Fn(&str) -> Option<String>,
        exe_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let mode = parse_args(args)?;
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let (task_root, handler_rel, runtime_api) = match &mode {
            Mode::Lambda => (
                PathBuf::from(get("LAMBDA_TASK_ROOT").unwrap_or_else(|| "/var/task".into())),
                get("_HANDLER").ok_or(ConfigError::NoHandler)?,
                Some(get("AWS_LAMBDA_RUNTIME_API").ok_or(ConfigError::NoRuntimeApi)?),
            ),
            Mode::Serve { root, handler, .. } => (root.clone(), handler.clone(), None),
        };
        let task_root = absolute(&task_root);
        let handler = task_root.join(handler_rel.trim_start_matches('/'));
        if !handler.is_file() {
            return Err(ConfigError::HandlerMissing {
                path: handler.display().to_string(),
                task_root: task_root.display().to_string(),
            });
        }
        let document_root = match get("LAMBDA_FPM_DOCUMENT_ROOT") {
            Some(dir) => task_root.join(dir.trim_start_matches('/')),
            None => handler
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| task_root.clone()),
        };
        let document_root = std::fs::canonicalize(&document_root)
            .ok()
            .filter(|d| d.is_dir())
            .ok_or_else(|| ConfigError::DocumentRootMissing(document_root.display().to_string()))?;
        let handler = std::fs::canonicalize(&handler).unwrap_or(handler);

        let list = |name: &str, default: &str| -> Vec<String> {
            get(name)
                .unwrap_or_else(|| default.into())
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let index_files = list("LAMBDA_FPM_INDEX", "index.php,index.html");
        let deny = list("LAMBDA_FPM_DENY", "")
            .iter()
            .filter_map(|d| crate::router::normalize_prefix(d))
            .collect();

        let millis = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            match get(name) {
                None => Ok(Duration::from_millis(default)),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|_| ConfigError::Invalid {
                        name,
                        value: v,
                        expected: "a whole number of milliseconds",
                    }),
            }
        };
        let count = |name: &'static str| -> Result<Option<usize>, ConfigError> {
            get(name)
                .map(|v| {
                    v.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=1024).contains(n))
                        .ok_or(ConfigError::Invalid {
                            name,
                            value: v,
                            expected: "a whole number from 1 to 1024",
                        })
                })
                .transpose()
        };
        let concurrency = match count("LAMBDA_FPM_WORKERS")? {
            Some(n) => n,
            None => count("AWS_LAMBDA_MAX_CONCURRENCY")?.unwrap_or(1),
        };

        let log_format = match get("AWS_LAMBDA_LOG_FORMAT")
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("TEXT") => LogFormat::Text,
            Some("JSON") => LogFormat::Json,
            Some(_) => LogFormat::Text,
        };
        let log_level = match get("LAMBDA_FPM_LOG_LEVEL").or_else(|| get("AWS_LAMBDA_LOG_LEVEL")) {
            None => tracing::Level::INFO,
            Some(v) => parse_level(&v).ok_or(ConfigError::Invalid {
                name: "LAMBDA_FPM_LOG_LEVEL",
                value: v,
                expected: "TRACE, DEBUG, INFO, WARN or ERROR",
            })?,
        };

        let tmp = PathBuf::from(get("TMPDIR").unwrap_or_else(|| "/tmp".into()));
        let runtime_dir = get("LAMBDA_FPM_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| tmp.join(format!("lambda-fpm-{}", std::process::id())));
        for dir in [
            runtime_dir.clone(),
            tmp.join("sessions"),
            tmp.join("uploads"),
            tmp.join("opcache"),
        ] {
            std::fs::create_dir_all(&dir).map_err(|e| ConfigError::Io {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?;
        }

        let binary = find_php_fpm(&get, exe_dir)?;
        let php_ini = config_file(
            get("LAMBDA_FPM_PHP_INI"),
            exe_dir,
            "php-ini/php.ini",
            &runtime_dir,
            EMBEDDED_PHP_INI,
        )?;
        let fpm_config = config_file(
            get("LAMBDA_FPM_FPM_CONFIG"),
            exe_dir,
            "fpm-config/php-fpm.conf",
            &runtime_dir,
            EMBEDDED_FPM_CONFIG,
        )?;
        let scan_dir = format!(
            ":{}:{}",
            exe_dir.join("php-ini/conf.d").display(),
            task_root.join("php/conf.d").display()
        );
        let serve = matches!(mode, Mode::Serve { .. });
        let fpm = FpmSettings {
            binary,
            fpm_config,
            php_ini,
            scan_dir,
            socket: runtime_dir.join("php-fpm.sock"),
            tmp,
            workers: concurrency,
            as_root: nix::unistd::geteuid().is_root(),
            start_timeout: millis("LAMBDA_FPM_START_TIMEOUT_MS", 8000)?,
            opcache_revalidate: serve,
        };
        Ok(Config {
            mode,
            runtime_api,
            task_root,
            handler,
            document_root,
            index_files,
            deny,
            static_cache_control: get("LAMBDA_FPM_STATIC_CACHE_CONTROL"),
            fpm,
            runtime_dir,
            timeout_margin: millis("LAMBDA_FPM_TIMEOUT_MARGIN_MS", 1000)?,
            default_timeout: millis("LAMBDA_FPM_TIMEOUT_MS", 30_000)?,
            concurrency,
            log_format,
            log_level,
        })
    }
}

fn parse_args(args: &[String]) -> Result<Mode, ConfigError> {
    let Some(command) = args.first() else {
        return Ok(Mode::Lambda);
    };
    if command != "serve" {
        return Err(ConfigError::Usage(format!("unknown command {command:?}")));
    }
    let (mut root, mut handler, mut listen) = (None, None, None);
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| ConfigError::Usage(format!("{flag} needs a value")))?;
        match flag.as_str() {
            "--root" => root = Some(PathBuf::from(value)),
            "--handler" => handler = Some(value.clone()),
            "--listen" => {
                listen = Some(
                    value
                        .parse::<SocketAddr>()
                        .map_err(|_| ConfigError::Invalid {
                            name: "--listen",
                            value: value.clone(),
                            expected: "an address like 127.0.0.1:8080",
                        })?,
                )
            }
            other => return Err(ConfigError::Usage(format!("unknown option {other:?}"))),
        }
    }
    Ok(Mode::Serve {
        root: root.unwrap_or_else(|| PathBuf::from(".")),
        handler: handler.unwrap_or_else(|| "public/index.php".into()),
        listen: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
    })
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

/// The layer's php-fpm first, then the host's (Debian installs it as php-fpmX.Y in /usr/sbin).
fn find_php_fpm(
    get: &dyn Fn(&str) -> Option<String>,
    exe_dir: &Path,
) -> Result<PathBuf, ConfigError> {
    if let Some(explicit) = get("LAMBDA_FPM_PHP_FPM") {
        let path = PathBuf::from(&explicit);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(ConfigError::NoPhpFpm(explicit))
        };
    }
    let mut candidates = vec![exe_dir.join("bin/php-fpm")];
    let mut dirs: Vec<PathBuf> = get("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from));
    for name in [
        "php-fpm",
        "php-fpm8.5",
        "php-fpm8.4",
        "php-fpm8.3",
        "php-fpm8.2",
        "php-fpm8.1",
    ] {
        candidates.extend(dirs.iter().map(|d| d.join(name)));
    }
    candidates
        .iter()
        .find(|c| c.is_file())
        .cloned()
        .ok_or_else(|| {
            ConfigError::NoPhpFpm(format!(
                "{}, php-fpm and php-fpm8.5 … 8.1 on PATH, /usr/sbin",
                candidates[0].display()
            ))
        })
}

/// An explicit file, else the layer's, else the embedded default written to the runtime dir.
fn config_file(
    explicit: Option<String>,
    exe_dir: &Path,
    rel: &str,
    runtime_dir: &Path,
    embedded: &str,
) -> Result<PathBuf, ConfigError> {
    if let Some(path) = explicit {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(ConfigError::Invalid {
                name: "LAMBDA_FPM_PHP_INI / LAMBDA_FPM_FPM_CONFIG",
                value: path.display().to_string(),
                expected: "an existing file",
            })
        };
    }
    let shipped = exe_dir.join(rel);
    if shipped.is_file() {
        return Ok(shipped);
    }
    let name = Path::new(rel)
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(rel));
    let path = runtime_dir.join(name);
    std::fs::write(&path, embedded).map_err(|e| ConfigError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests;
