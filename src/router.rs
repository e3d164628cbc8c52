//! Request path × document root → what answers: a PHP script, a static file, a redirect, or a refusal.
//!
//! nginx's usual PHP set-up, as one function: existing `.php` files run (with `PATH_INFO` for
//! `/file.php/extra`), directories run their index (after a 301 to the slash form), other existing files
//! are static, everything else goes to the front controller with the original `REQUEST_URI`. It reads the
//! file system (metadata only) but changes nothing.
//!
//! Refused whatever the encoding: paths that climb out of the root, NUL and backslashes, dotfiles and
//! dot-directories (but `/.well-known/`), PHP source and backups, configured deny prefixes, and symlinks
//! that lead outside the root. Only real `.php` files run, so `/image.jpg/x.php` is the front controller's.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// A PHP script to run and how PHP should see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub filename: PathBuf,
    /// Relative to the document root, with a leading `/`.
    pub name: String,
    pub path_info: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Script(Script),
    /// Nothing under the root answers: the app's front controller (`_HANDLER`) runs.
    FrontController,
    Static(PathBuf),
    /// 301 to this location (a directory without its trailing slash).
    Redirect(String),
    /// Exists but is never served (dotfile, source, deny list, escaping symlink): 404.
    Denied(&'static str),
    /// The path cannot name anything under the root: 400.
    BadRequest(&'static str),
}

#[derive(Debug, Clone)]
pub struct Router {
    /// Canonical (symlinks resolved).
    pub document_root: PathBuf,
    pub front_controller: Script,
    pub index_files: Vec<String>,
    /// Normalized path prefixes, like `/data`, matched at segment boundaries.
    pub deny: Vec<String>,
    /// What paths resolved to, when nothing under the document root can change.
    pub cache: RouteCache,
}

/// Routes already resolved, kept when the document root is on a read-only mount (Lambda's task
/// root): a path then resolves the same way every time, so the file-system checks (a `statx` per
/// request, a `realpath` per script) are done once per path instead of once per request. Bounded:
/// when full it starts over, so a scanner's random paths cannot grow it.
#[derive(Debug, Default)]
pub struct RouteCache(Option<Mutex<HashMap<String, Route>>>);

/// Paths a [`RouteCache`] holds at most.
const ROUTE_CACHE_PATHS: usize = 4096;

impl RouteCache {
    /// Enabled when `document_root` is on a read-only mount.
    pub fn for_root(document_root: &Path) -> Self {
        use nix::sys::statvfs::{statvfs, FsFlags};
        let read_only =
            statvfs(document_root).is_ok_and(|s| s.flags().contains(FsFlags::ST_RDONLY));
        if read_only {
            Self::enabled()
        } else {
            Self::default()
        }
    }

    pub fn enabled() -> Self {
        Self(Some(Mutex::new(HashMap::new())))
    }

    fn get(&self, key: &str) -> Option<Route> {
        let map = self.0.as_ref()?.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).cloned()
    }

    fn put(&self, key: String, route: &Route) {
        let Some(map) = &self.0 else {
            return;
        };
        let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= ROUTE_CACHE_PATHS {
            map.clear();
        }
        map.insert(key, route.clone());
    }
}

impl Clone for RouteCache {
    /// A clone starts empty (as enabled as the original).
    fn clone(&self) -> Self {
        match self.0 {
            Some(_) => Self::enabled(),
            None => Self::default(),
        }
    }
}

/// Extensions of files that hold source or backups: never sent, never run.
/// Matched without regard to case; so is `.php` itself when it is not spelled in lower case (`x.PHP`
/// would not run, since php-fpm's `security.limit_extensions` is `.php`, so it is never sent either).
const SOURCE_SUFFIXES: &[&str] = &[
    ".phps", ".inc", "~", ".bak", ".orig", ".old", ".swp", ".swo", ".save", ".dist", ".php3",
    ".php4", ".php5", ".php7", ".php8", ".phar", ".pht", ".phpt", ".phtml", ".php",
];

const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// A request path decoded once and normalised: its segments (no empty ones, no `.`, `..` applied).
#[derive(Debug, PartialEq, Eq)]
struct NormalPath<'a> {
    segments: Vec<&'a str>,
    trailing_slash: bool,
}

/// Percent-decodes the path. A path that is not UTF-8 cannot name a file here; the app may still route it.
fn decode(raw_path: &str) -> Result<Cow<'_, str>, Route> {
    // Borrowed when the path has no escapes (the usual case): no allocation.
    match percent_decode_str(raw_path).decode_utf8() {
        Ok(decoded) => Ok(decoded),
        Err(_) => {
            let bytes: Vec<u8> = percent_decode_str(raw_path).collect();
            Err(if bytes.contains(&0) || bytes.contains(&b'\\') {
                Route::BadRequest("the path contains a NUL byte or a backslash")
            } else {
                Route::FrontController
            })
        }
    }
}

/// Splits a decoded path into segments, refusing NUL, backslashes and any climb above the root. Pure.
fn normalize(decoded: &str) -> Result<NormalPath<'_>, Route> {
    if decoded.bytes().any(|b| b == 0 || b == b'\\') {
        return Err(Route::BadRequest(
            "the path contains a NUL byte or a backslash",
        ));
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(Route::BadRequest(
                        "the path climbs out of the document root",
                    ));
                }
            }
            s => segments.push(s),
        }
    }
    Ok(NormalPath {
        segments,
        trailing_slash: decoded.ends_with('/'),
    })
}

impl Router {
    pub fn route(&self, raw_path: &str, query: &str) -> Route {
        let decoded = match decode(raw_path) {
            Ok(decoded) => decoded,
            Err(route) => return route,
        };
        let path = match normalize(&decoded) {
            Ok(path) => path,
            Err(route) => return route,
        };
        if let Some(why) = self.refused(&path.segments) {
            return Route::Denied(why);
        }
        if self.cache.0.is_none() {
            return self.resolve(&path, query);
        }
        let mut key = path.segments.join("/");
        if path.trailing_slash {
            key.push('/');
        }
        if let Some(route) = self.cache.get(&key) {
            return route;
        }
        let route = self.resolve(&path, query);
        // A redirect carries the query string: not the same for every request to the path.
        if !matches!(route, Route::Redirect(_)) {
            self.cache.put(key, &route);
        }
        route
    }

    /// Why a path with these segments is never served: a dot-segment (but `/.well-known/`) or a deny
    /// prefix. Applied to the request path and again to where symlinks lead. Pure.
    fn refused<S: AsRef<str>>(&self, segments: &[S]) -> Option<&'static str> {
        let well_known = segments
            .first()
            .is_some_and(|s| s.as_ref() == ".well-known");
        if segments
            .iter()
            .skip(usize::from(well_known))
            .any(|s| s.as_ref().starts_with('.'))
        {
            return Some("dotfiles and dot-directories are never served");
        }
        if !self.deny.is_empty() {
            let mut normalized = String::new();
            for s in segments {
                normalized.push('/');
                normalized.push_str(s.as_ref());
            }
            if self.deny.iter().any(|d| under(&normalized, d)) {
                return Some("the path is on the deny list (LAMBDA_FPM_DENY or a .htaccess)");
            }
        }
        None
    }

    /// Walks the file system along the segments: the first regular file decides.
    fn resolve(&self, path: &NormalPath<'_>, query: &str) -> Route {
        let segments = &path.segments;
        let mut current = self.document_root.clone();
        for (i, segment) in segments.iter().enumerate() {
            current.push(segment);
            let Ok(meta) = std::fs::metadata(&current) else {
                return Route::FrontController;
            };
            if meta.is_dir() {
                continue;
            }
            if !meta.is_file() {
                return Route::Denied("not a regular file");
            }
            let rest = &segments[i + 1..];
            let name = format!("/{}", segments[..=i].join("/"));
            if !rest.is_empty() {
                // `/file.php/extra` runs the script; `/image.jpg/x.php` is not a script.
                if !segment.ends_with(".php") {
                    return Route::FrontController;
                }
                let mut info = format!("/{}", rest.join("/"));
                if path.trailing_slash {
                    info.push('/');
                }
                return self.checked_script(current, name, Some(info));
            }
            if segment.ends_with(".php") {
                return self.checked_script(current, name, None);
            }
            return self.checked_static(current);
        }
        // The path names a directory (or the root).
        if !segments.is_empty() && !path.trailing_slash {
            return Route::Redirect(slash_redirect(segments, query));
        }
        self.index(current, segments)
    }

    /// A directory's index file, or the front controller when it has none.
    fn index(&self, dir: PathBuf, segments: &[&str]) -> Route {
        for index in &self.index_files {
            let file = dir.join(index);
            if file.is_file() {
                let name = if segments.is_empty() {
                    format!("/{index}")
                } else {
                    format!("/{}/{index}", segments.join("/"))
                };
                return if index.ends_with(".php") {
                    self.checked_script(file, name, None)
                } else {
                    self.checked_static(file)
                };
            }
        }
        Route::FrontController
    }

    fn checked_script(&self, filename: PathBuf, name: String, path_info: Option<String>) -> Route {
        self.checked(filename, |filename, real| {
            // A `.php` symlink to a file of another name would have php-fpm run (and print) whatever
            // that file holds: `.env`, a backup, a key.
            if real.extension().is_none_or(|e| e != "php") {
                return Route::Denied("a .php symlink leads to a file that is not PHP");
            }
            Route::Script(Script {
                filename,
                name,
                path_info,
            })
        })
    }

    fn checked_static(&self, path: PathBuf) -> Route {
        self.checked(path, |path, real| {
            let names = [path.file_name(), real.file_name()];
            for name in names.into_iter().flatten() {
                let lower = name.to_string_lossy().to_ascii_lowercase();
                if SOURCE_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
                    return Route::Denied("PHP source and backup files are never served");
                }
            }
            Route::Static(path)
        })
    }

    /// Resolves symlinks and refuses anything that ends up outside the document root, or at a place
    /// inside it that is refused by name (a symlink to `.env`, to `.git/`, into a denied directory).
    fn checked(&self, path: PathBuf, make: impl FnOnce(PathBuf, &Path) -> Route) -> Route {
        let real = match std::fs::canonicalize(&path) {
            Ok(real) => real,
            Err(_) => return Route::FrontController,
        };
        let Ok(inside) = real.strip_prefix(&self.document_root) else {
            return Route::Denied("a symlink leads outside the document root");
        };
        if real != path {
            let segments: Vec<Cow<'_, str>> = inside
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            if let Some(why) = self.refused(&segments) {
                return Route::Denied(why);
            }
        }
        make(path, &real)
    }
}

/// `/dir` → `/dir/?query`, each segment re-encoded.
fn slash_redirect(segments: &[&str], query: &str) -> String {
    let mut location: String = segments
        .iter()
        .flat_map(|s| ["/".into(), utf8_percent_encode(s, SEGMENT).to_string()])
        .collect();
    location.push('/');
    if !query.is_empty() {
        // A raw query (v2, ALB) could hold CR/LF from a hostile event: never into a header.
        location.push('?');
        location.extend(utf8_percent_encode(query, CONTROLS));
    }
    location
}

/// Whether `path` is `prefix` or below it, at a segment boundary.
fn under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Normalizes a deny entry from configuration to `/segment/segment`.
pub fn normalize_prefix(entry: &str) -> Option<String> {
    let segments: Vec<&str> = entry
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    (!segments.is_empty()).then(|| format!("/{}", segments.join("/")))
}

/// `SCRIPT_NAME` for the front controller: its path relative to the document root.
pub fn script_name(document_root: &Path, handler: &Path) -> String {
    match handler.strip_prefix(document_root) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => format!(
            "/{}",
            handler
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ),
    }
}

pub mod htaccess;

#[cfg(test)]
mod tests;
