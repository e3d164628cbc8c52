//! The scripts for events that are not HTTP requests: `LAMBDA_FPM_EVENT_HANDLER` (run through php-fpm,
//! by way of the runtime's entry script written here) and `LAMBDA_FPM_CONSOLE` (run with the PHP CLI,
//! found here).

use std::path::{Path, PathBuf};

use super::{io_error, ConfigError};
use crate::config::Config;
use crate::console::Console;
use crate::php_fpm::FpmSettings;
use crate::worker::{EventHandler, ENTRY_SCRIPT};

/// The scripts as found, before anything is written.
#[derive(Debug)]
pub(super) struct Found {
    event_handler: Option<PathBuf>,
    /// (console script, PHP CLI)
    console: Option<(PathBuf, PathBuf)>,
}

/// Checks that the configured scripts exist and finds the PHP CLI when a console is configured.
pub(super) fn find(
    config: &Config,
    task_root: &Path,
    exe_dir: &Path,
    php_fpm: &Path,
) -> Result<Found, ConfigError> {
    let script = |setting: &'static str, rel: &Path| {
        let path = task_root.join(rel);
        std::fs::canonicalize(&path)
            .ok()
            .filter(|p| p.is_file())
            .ok_or_else(|| ConfigError::ScriptMissing {
                setting,
                path: path.display().to_string(),
                task_root: task_root.display().to_string(),
            })
    };
    let event_handler = config
        .event_handler
        .as_deref()
        .map(|rel| script("LAMBDA_FPM_EVENT_HANDLER", rel))
        .transpose()?;
    let console = match config.console.as_deref() {
        Some(rel) => Some((
            script("LAMBDA_FPM_CONSOLE", rel)?,
            find_php_cli(&config.php.search_path, exe_dir, php_fpm)?,
        )),
        None => None,
    };
    Ok(Found {
        event_handler,
        console,
    })
}

/// The event handler (its entry script written into `runtime_dir`) and the console.
pub(super) fn prepare(
    found: Found,
    task_root: &Path,
    runtime_dir: &Path,
    fpm: &FpmSettings,
) -> Result<(Option<EventHandler>, Option<Console>), ConfigError> {
    let event_handler = match found.event_handler {
        Some(script) => {
            let entry = runtime_dir.join("event-entry.php");
            std::fs::write(&entry, ENTRY_SCRIPT).map_err(|e| io_error(&entry, &e))?;
            let below_root = script.strip_prefix(task_root).unwrap_or(&script);
            Some(EventHandler {
                script_name: format!("/{}", below_root.display()),
                script,
                entry,
                task_root: task_root.to_path_buf(),
            })
        }
        None => None,
    };
    let console = found.console.map(|(script, php)| Console {
        php,
        script,
        task_root: task_root.to_path_buf(),
        env: fpm.php_env(),
    });
    Ok((event_handler, console))
}

/// The layer's `bin/php` next to the bootstrap, else on `PATH` the CLI of php-fpm's own version
/// (`php8.2` for `php-fpm8.2`), then `php`.
fn find_php_cli(
    search_path: &[PathBuf],
    exe_dir: &Path,
    php_fpm: &Path,
) -> Result<PathBuf, ConfigError> {
    let version = php_fpm
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("php-fpm"))
        .filter(|v| !v.is_empty());
    let mut names = Vec::new();
    if let Some(version) = version {
        names.push(format!("php{version}"));
    }
    names.push("php".into());
    let mut candidates = vec![exe_dir.join("bin/php")];
    for name in &names {
        candidates.extend(search_path.iter().map(|d| d.join(name)));
    }
    candidates.into_iter().find(|c| c.is_file()).ok_or_else(|| {
        ConfigError::NoPhpCli(format!(
            "{} and {} on PATH",
            exe_dir.join("bin/php").display(),
            names.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_of_php_fpm_s_version_comes_first_after_the_layer_s() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        for name in ["php", "php8.2"] {
            std::fs::write(bin.join(name), "").expect("write");
        }
        let path = [bin.clone()];
        let exe = dir.path().join("exe");
        let fpm = Path::new("/usr/sbin/php-fpm8.2");
        assert_eq!(
            find_php_cli(&path, &exe, fpm).ok(),
            Some(bin.join("php8.2"))
        );
        let fpm = Path::new("/opt/bin/php-fpm");
        assert_eq!(find_php_cli(&path, &exe, fpm).ok(), Some(bin.join("php")));
        std::fs::create_dir_all(exe.join("bin")).expect("mkdir");
        std::fs::write(exe.join("bin/php"), "").expect("write");
        assert_eq!(
            find_php_cli(&path, &exe, fpm).ok(),
            Some(exe.join("bin/php"))
        );
        let err = find_php_cli(&[], &dir.path().join("none"), fpm).expect_err("none");
        assert_eq!(err.error_type(), "Runtime.PhpCliNotFound");
    }
}
