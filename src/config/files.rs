//! The file-system step after [`super::parse`]: makes the task root, handler and document root
//! canonical, finds php-fpm and its configuration files, creates the `$TMPDIR` directories and writes
//! the embedded php.ini / php-fpm.conf when the layer ships none. Everything that can be checked is
//! checked before anything is written, so a wrong path leaves nothing behind.

use std::path::{Path, PathBuf};

use super::{Config, ConfigError, Mode, PhpFiles};
use crate::cli::DEFAULT_HANDLERS;
use crate::console::Console;
use crate::php_fpm::FpmSettings;
use crate::worker::EventHandler;

mod scripts;

/// The defaults shipped in the repo, used when neither the environment nor the layer provides a file.
const EMBEDDED_PHP_INI: &str = include_str!("../../php-ini/php.ini");
const EMBEDDED_FPM_CONFIG: &str = include_str!("../../fpm-config/php-fpm.conf");

/// The configuration's paths, resolved against the file system.
#[derive(Debug, Clone)]
pub struct Setup {
    pub task_root: PathBuf,
    /// The front controller, canonical.
    pub handler: PathBuf,
    /// Canonical, so the router can tell whether a file is inside it.
    pub document_root: PathBuf,
    /// Where the socket and generated config files live; removed at shutdown.
    pub runtime_dir: PathBuf,
    pub fpm: FpmSettings,
    /// `LAMBDA_FPM_EVENT_HANDLER`, ready to run.
    pub event_handler: Option<EventHandler>,
    /// `LAMBDA_FPM_CONSOLE`, ready to run.
    pub console: Option<Console>,
}

/// The app's paths (task root, handler, document root), canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AppPaths {
    task_root: PathBuf,
    handler: PathBuf,
    document_root: PathBuf,
}

/// Resolves and creates what `config` names. `exe_dir` is the bootstrap's directory (`/opt` in the
/// layer), where the layer's php-fpm and configuration files are.
pub fn prepare(config: &Config, exe_dir: &Path) -> Result<Setup, ConfigError> {
    let app = app_paths(config)?;
    let binary = find_php_fpm(&config.php, exe_dir)?;
    let scripts = scripts::find(config, &app.task_root, exe_dir, &binary)?;
    let php_ini = shipped_file(
        config.php.php_ini.as_deref(),
        "LAMBDA_FPM_PHP_INI",
        &exe_dir.join("php-ini/php.ini"),
    )?;
    let fpm_config = shipped_file(
        config.php.fpm_config.as_deref(),
        "LAMBDA_FPM_FPM_CONFIG",
        &exe_dir.join("fpm-config/php-fpm.conf"),
    )?;
    let runtime_dir = config.runtime_dir.clone().unwrap_or_else(|| {
        config
            .tmp
            .join(format!("lambda-fpm-{}", std::process::id()))
    });
    let written = create_dirs(&config.tmp, &runtime_dir).and_then(|()| {
        Ok((
            or_embedded(php_ini, &runtime_dir.join("php.ini"), EMBEDDED_PHP_INI)?,
            or_embedded(
                fpm_config,
                &runtime_dir.join("php-fpm.conf"),
                EMBEDDED_FPM_CONFIG,
            )?,
        ))
    });
    let (php_ini, fpm_config) = written.inspect_err(|_| {
        // Nothing will use (or later remove) a half-made runtime dir.
        let _ = std::fs::remove_dir_all(&runtime_dir);
    })?;
    link_precompiled(&app.task_root, &config.tmp);
    let fpm = FpmSettings {
        binary,
        fpm_config,
        php_ini,
        scan_dir: scan_dir(exe_dir, &app.task_root),
        socket: runtime_dir.join("php-fpm.sock"),
        tmp: config.tmp.clone(),
        workers: config.concurrency,
        as_root: nix::unistd::geteuid().is_root(),
        start_timeout: config.start_timeout,
        opcache_revalidate: matches!(config.mode, Mode::Serve { .. }),
    };
    let (event_handler, console) = scripts::prepare(scripts, &app.task_root, &runtime_dir, &fpm)
        .inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&runtime_dir);
        })?;
    Ok(Setup {
        task_root: app.task_root,
        handler: app.handler,
        document_root: app.document_root,
        runtime_dir,
        fpm,
        event_handler,
        console,
    })
}

/// The directory the bootstrap binary is in (symlinks resolved), `.` when that cannot be known.
pub fn bootstrap_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

fn app_paths(config: &Config) -> Result<AppPaths, ConfigError> {
    let serve = matches!(config.mode, Mode::Serve { .. });
    let task_root = std::fs::canonicalize(&config.task_root)
        .ok()
        .filter(|p| p.is_dir())
        .ok_or_else(|| ConfigError::TaskRootMissing {
            path: config.task_root.display().to_string(),
            setting: if serve { "--root" } else { "LAMBDA_TASK_ROOT" },
        })?;
    let handler = match &config.handler {
        Some(rel) => {
            let handler = task_root.join(rel);
            if !handler.is_file() {
                return Err(ConfigError::HandlerMissing {
                    path: handler.display().to_string(),
                    task_root: task_root.display().to_string(),
                    setting: if serve {
                        "--handler"
                    } else {
                        "the function's Handler (_HANDLER)"
                    },
                });
            }
            handler
        }
        None => DEFAULT_HANDLERS
            .iter()
            .map(|rel| task_root.join(rel))
            .find(|h| h.is_file())
            .ok_or_else(|| ConfigError::NoFrontController {
                root: task_root.display().to_string(),
            })?,
    };
    let document_root = match &config.document_root {
        Some(dir) => task_root.join(dir),
        None => handler.parent().unwrap_or(&task_root).to_path_buf(),
    };
    let document_root = std::fs::canonicalize(&document_root)
        .ok()
        .filter(|d| d.is_dir())
        .ok_or_else(|| ConfigError::DocumentRootMissing(document_root.display().to_string()))?;
    let handler = std::fs::canonicalize(&handler).unwrap_or(handler);
    Ok(AppPaths {
        task_root,
        handler,
        document_root,
    })
}

/// `LAMBDA_FPM_PHP_FPM`, else the layer's php-fpm, else the host's (Debian installs it as php-fpmX.Y
/// in /usr/sbin, which is not on every PATH).
fn find_php_fpm(php: &PhpFiles, exe_dir: &Path) -> Result<PathBuf, ConfigError> {
    if let Some(explicit) = &php.php_fpm {
        return if explicit.is_file() {
            Ok(explicit.clone())
        } else {
            Err(ConfigError::NoPhpFpm(explicit.display().to_string()))
        };
    }
    let mut dirs = php.search_path.clone();
    dirs.extend(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from));
    let mut candidates = vec![exe_dir.join("bin/php-fpm")];
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
                exe_dir.join("bin/php-fpm").display()
            ))
        })
}

/// The explicit file (which must exist), else the layer's if it has one; `None`: use the embedded copy.
fn shipped_file(
    explicit: Option<&Path>,
    name: &'static str,
    shipped: &Path,
) -> Result<Option<PathBuf>, ConfigError> {
    match explicit {
        Some(path) if path.is_file() => Ok(Some(path.to_path_buf())),
        Some(path) => Err(ConfigError::Invalid {
            name,
            value: path.display().to_string(),
            expected: "an existing file",
        }),
        None => Ok(shipped.is_file().then(|| shipped.to_path_buf())),
    }
}

fn or_embedded(
    found: Option<PathBuf>,
    path: &Path,
    embedded: &str,
) -> Result<PathBuf, ConfigError> {
    if let Some(found) = found {
        return Ok(found);
    }
    std::fs::write(path, embedded).map_err(|e| io_error(path, &e))?;
    Ok(path.to_path_buf())
}

/// The runtime dir, and what the embedded php.ini points PHP at (sessions, uploads, opcache cache).
fn create_dirs(tmp: &Path, runtime_dir: &Path) -> Result<(), ConfigError> {
    for dir in [
        runtime_dir.to_path_buf(),
        tmp.join("sessions"),
        tmp.join("uploads"),
        tmp.join("opcache"),
    ] {
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, &e))?;
    }
    Ok(())
}

/// Where `layer-build/precompile.sh` leaves an app's opcache file cache: `<system id>/<task root>/<script>.bin`.
pub const PRECOMPILED_DIR: &str = ".opcache";

/// Puts the app's precompiled opcache file cache where php.ini's `opcache.file_cache` (`$TMPDIR/opcache`)
/// looks, as a symlink per system id: `$TMPDIR/opcache/<id>/<task root>` → `<task root>/.opcache/<id>/<task
/// root>`. PHP 8.2 and 8.4 only accept a writable `opcache.file_cache` directory, and the task root is
/// read-only; through the link php-fpm reads the compiled scripts in place (no copy at init), while
/// scripts outside the task root (compiled templates in `$TMPDIR`) are still cached in `$TMPDIR`. A script
/// missing from the precompiled cache is compiled as usual; opcache's attempt to store it fails silently.
/// A cache for another task root path (`serve` on a precompiled app) has nothing to link. Returns how many
/// system ids were linked; a link that cannot be made only costs the compile, so it is logged, not fatal.
pub fn link_precompiled(task_root: &Path, tmp: &Path) -> usize {
    let Ok(ids) = std::fs::read_dir(task_root.join(PRECOMPILED_DIR)) else {
        return 0;
    };
    let inner = task_root.strip_prefix("/").unwrap_or(task_root);
    let mut linked = 0;
    for id in ids.flatten() {
        let source = id.path().join(inner);
        let link = tmp.join("opcache").join(id.file_name()).join(inner);
        if !source.is_dir() || link.symlink_metadata().is_ok() {
            // Not for this path, or already there: a re-init, or php-fpm's own cache of an earlier start.
            continue;
        }
        let made = link
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::os::unix::fs::symlink(&source, &link));
        match made {
            Ok(()) => linked += 1,
            Err(e) => tracing::warn!(
                "the precompiled opcache {} is not used: cannot link {}: {e}",
                source.display(),
                link.display()
            ),
        }
    }
    linked
}

/// `PHP_INI_SCAN_DIR`: the leading `:` keeps PHP's own scan dir (locally installed extensions), then
/// the layer's extensions, then the app's overrides (Bref's convention).
fn scan_dir(exe_dir: &Path, task_root: &Path) -> String {
    format!(
        ":{}:{}",
        exe_dir.join("php-ini/conf.d").display(),
        task_root.join("php/conf.d").display()
    )
}

fn io_error(path: &Path, e: &std::io::Error) -> ConfigError {
    ConfigError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests;
