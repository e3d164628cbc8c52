//! Reading the environment: one lookup that treats blank as unset, and the pure converters from a
//! variable's text to a typed value (`None` when the text is not one; the caller names the variable).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ConfigError;
use crate::app::InvokeMode;

pub(super) fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `on` or `off`, any case: one documented spelling, and a typo is an error instead of a guess.
/// The Function URL's `InvokeMode` spelling (`RESPONSE_STREAM`, `BUFFERED`) is accepted too.
pub(super) fn invoke_mode(value: &str) -> Option<InvokeMode> {
    match value.to_ascii_lowercase().as_str() {
        "buffered" => Some(InvokeMode::Buffered),
        "response_stream" => Some(InvokeMode::ResponseStream),
        _ => None,
    }
}

pub(super) fn on_off(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

/// Sent as-is in every static response: a control character would corrupt the response.
pub(super) fn header_value(value: &str) -> Option<String> {
    http::HeaderValue::from_str(value)
        .ok()
        .map(|_| value.to_owned())
}

/// php-fpm runs only `.php` files (its `security.limit_extensions`): anything else would answer every
/// event with 403 "Access denied".
pub(super) fn php_script(value: &str) -> Option<PathBuf> {
    Some(PathBuf::from(value)).filter(|p| p.extension().is_some_and(|e| e == "php"))
}

pub(super) fn absolute(value: &str) -> Option<PathBuf> {
    Some(PathBuf::from(value)).filter(|p| p.is_absolute())
}

/// `_HANDLER`, `--handler` and `LAMBDA_FPM_DOCUMENT_ROOT` are relative to the task root, even when
/// written with a leading `/`.
pub(super) fn relative(path: &Path) -> PathBuf {
    path.strip_prefix("/").unwrap_or(path).to_path_buf()
}

/// The environment through one lookup. Blank values count as unset, as Lambda's console leaves them.
pub(super) struct Env<'a>(pub(super) &'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    pub(super) fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// `None` when unset; an error naming the variable when `convert` rejects the trimmed value.
    pub(super) fn parse<T>(
        &self,
        name: &'static str,
        expected: &'static str,
        convert: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        self.get(name)
            .map(|value| {
                convert(value.trim()).ok_or(ConfigError::Invalid {
                    name,
                    value,
                    expected,
                })
            })
            .transpose()
    }

    pub(super) fn millis(
        &self,
        name: &'static str,
        default: u64,
        min: u64,
    ) -> Result<Duration, ConfigError> {
        let expected = if min == 0 {
            "a whole number of milliseconds"
        } else {
            "a whole number of milliseconds, at least 1"
        };
        let ms = self.parse(name, expected, |v| {
            v.parse::<u64>().ok().filter(|ms| *ms >= min)
        })?;
        Ok(Duration::from_millis(ms.unwrap_or(default)))
    }
}
