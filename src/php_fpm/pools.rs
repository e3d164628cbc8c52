//! php-fpm's configuration as started: the shipped (or user's) file with its pool repeated once per
//! concurrent invocation slot. Pure.
//!
//! Each slot gets its own single-worker pool with its own socket, so the runtime knows which worker
//! serves which request: a script past its deadline is killed without touching the requests other
//! slots are serving (with one pool of N workers, php-fpm hands a connection to whichever worker is
//! free, and the runtime could only kill them all).

use std::path::{Path, PathBuf};

/// One slot's pool: its name (php-fpm titles the worker `php-fpm: pool NAME`) and socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub name: String,
    pub socket: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub config: String,
    pub pools: Vec<Pool>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("the php-fpm configuration has no pool section (a section other than [global], such as [lambda])")]
    NoPool,
}

/// Renders `template` for `slots` slots. The first pool section is the template of every slot's pool
/// (named `NAME` with one slot, `NAME-0` … `NAME-{n-1}` with more); its `listen` and process manager
/// are overridden (php-fpm takes the last value of a repeated key). Further pool sections are left
/// out, and named in `ignored` so the caller can say so.
pub fn render(
    template: &str,
    slots: usize,
    socket: &Path,
) -> Result<(Rendered, Vec<String>), RenderError> {
    let mut global = String::new();
    let mut pool: Option<(String, String)> = None;
    let mut ignored = Vec::new();
    let mut current: Option<String> = None;
    for line in template.lines() {
        if let Some(name) = section_name(line) {
            current = Some(name.to_owned());
            if name != "global" {
                if pool.is_none() {
                    pool = Some((name.to_owned(), String::new()));
                } else {
                    ignored.push(name.to_owned());
                }
            }
            if name == "global" {
                global.push_str(line);
                global.push('\n');
            }
            continue;
        }
        match (current.as_deref(), &mut pool) {
            (None | Some("global"), _) => {
                global.push_str(line);
                global.push('\n');
            }
            (Some(name), Some((pool_name, body))) if name == pool_name => {
                body.push_str(line);
                body.push('\n');
            }
            _ => {}
        }
    }
    let (name, body) = pool.ok_or(RenderError::NoPool)?;
    let slots = slots.max(1);
    let mut config = global;
    let mut pools = Vec::with_capacity(slots);
    for i in 0..slots {
        let pool = Pool {
            name: if slots == 1 {
                name.clone()
            } else {
                format!("{name}-{i}")
            },
            socket: slot_socket(socket, slots, i),
        };
        config.push_str(&format!("\n[{}]\n", pool.name));
        config.push_str(&body);
        config.push_str(&format!(
            "; one worker per slot, on the slot's own socket (set by lambda-fpm)\nlisten = {}\npm = static\npm.max_children = 1\n",
            pool.socket.display()
        ));
        pools.push(pool);
    }
    Ok((Rendered { config, pools }, ignored))
}

/// The socket of slot `i`: the configured path itself with one slot, numbered beside it otherwise.
fn slot_socket(socket: &Path, slots: usize, i: usize) -> PathBuf {
    if slots == 1 {
        return socket.to_path_buf();
    }
    let stem = socket
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "php-fpm".into());
    socket.with_file_name(format!("{stem}-{i}.sock"))
}

/// `[name]` → `name` (INI section headers; `;` starts a comment).
fn section_name(line: &str) -> Option<&str> {
    let line = line.split(';').next().unwrap_or("").trim();
    line.strip_prefix('[')?.strip_suffix(']').map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "; comment\n[global]\nerror_log = /proc/self/fd/2\n\n[lambda]\nlisten = ${LAMBDA_FPM_SOCKET}\npm = static\nclear_env = no\n";

    #[test]
    fn one_slot_keeps_the_pool_and_its_socket() {
        let (r, ignored) = render(TEMPLATE, 1, Path::new("/tmp/x/php-fpm.sock")).expect("renders");
        assert!(ignored.is_empty());
        assert_eq!(
            r.pools,
            [Pool {
                name: "lambda".into(),
                socket: "/tmp/x/php-fpm.sock".into()
            }]
        );
        assert!(r
            .config
            .starts_with("; comment\n[global]\nerror_log = /proc/self/fd/2\n"));
        assert!(r
            .config
            .contains("[lambda]\nlisten = ${LAMBDA_FPM_SOCKET}\npm = static\nclear_env = no\n"));
        assert!(r
            .config
            .ends_with("listen = /tmp/x/php-fpm.sock\npm = static\npm.max_children = 1\n"));
    }

    #[test]
    fn each_slot_gets_its_own_pool_and_socket() {
        let (r, _) = render(TEMPLATE, 3, Path::new("/run/php-fpm.sock")).expect("renders");
        let names: Vec<&str> = r.pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["lambda-0", "lambda-1", "lambda-2"]);
        assert_eq!(r.pools[2].socket, Path::new("/run/php-fpm-2.sock"));
        assert_eq!(r.config.matches("clear_env = no").count(), 3);
        assert_eq!(r.config.matches("[global]").count(), 1);
        assert!(r.config.contains("[lambda-1]\n"));
        assert!(r.config.contains("listen = /run/php-fpm-1.sock\n"));
    }

    #[test]
    fn extra_pools_are_named_and_a_missing_pool_is_an_error() {
        let two = format!("{TEMPLATE}[other]\nlisten = /x\n");
        let (r, ignored) = render(&two, 1, Path::new("/s.sock")).expect("renders");
        assert_eq!(ignored, ["other"]);
        assert!(!r.config.contains("/x"));
        assert_eq!(
            render("[global]\nx = 1\n", 2, Path::new("/s.sock")),
            Err(RenderError::NoPool)
        );
    }
}
