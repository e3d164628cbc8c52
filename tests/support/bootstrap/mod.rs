//! Process harness for the real `bootstrap` binary (CARGO_BIN_EXE_bootstrap).
//!
//! Each `Bootstrap` gets a clean-ish environment and its own TMPDIR, so parallel tests never share a
//! socket, sessions or the opcache. stdout and stderr are drained on threads into one buffer. Dropping it
//! sends SIGTERM, waits up to 5 s, then SIGKILL; descendants (php-fpm) that survive are killed by pid.
//!
//! Starting one is [`spawn`]'s job (the environment, another user, output capture); stopping it is
//! [`stop`]'s (signals, descendants through /proc); [`ports`] has the TCP side of `bootstrap serve`.

mod ports;
mod spawn;
mod stop;

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::runtime_api::RuntimeApi;
use spawn::lambda_env;

pub use ports::{free_port, wait_for_port};
pub use spawn::bootstrap_bin;
pub use stop::descendants_of;

pub struct Bootstrap {
    child: Child,
    logs: Arc<Mutex<Vec<u8>>>,
    /// The threads copying stdout and stderr into `logs`; finished once the process's pipes close.
    readers: Vec<std::thread::JoinHandle<()>>,
    exit: Option<ExitStatus>,
    tmp: tempfile::TempDir,
    /// (pid, start time) of every descendant seen, killed by pid on drop if still alive.
    seen_descendants: Vec<(u32, u64)>,
    pub port: Option<u16>,
}

impl Bootstrap {
    /// Lambda mode against the emulator.
    pub fn start(
        api: &RuntimeApi,
        task_root: &Path,
        handler: &str,
        env: &[(&str, &str)],
    ) -> Bootstrap {
        Self::start_with_runtime_api(&api.address(), task_root, handler, env)
    }

    /// Lambda mode against any Runtime API address (e.g. cargo-lambda's `http://127.0.0.1:PORT/.rt`).
    pub fn start_with_runtime_api(
        runtime_api: &str,
        task_root: &Path,
        handler: &str,
        env: &[(&str, &str)],
    ) -> Bootstrap {
        Self::spawn(
            &[],
            lambda_env(runtime_api, task_root, handler, env),
            None,
            None,
        )
    }

    /// Lambda mode as another user (as on Lambda, where the runtime is not root): the process runs under
    /// `setpriv --reuid UID --regid GID --clear-groups`, and its TMPDIR belongs to that user.
    pub fn start_as(
        api: &RuntimeApi,
        task_root: &Path,
        handler: &str,
        env: &[(&str, &str)],
        uid: u32,
        gid: u32,
    ) -> Bootstrap {
        let vars = lambda_env(&api.address(), task_root, handler, env);
        Self::spawn(&[], vars, None, Some((uid, gid)))
    }

    /// `bootstrap serve --root ROOT --handler HANDLER --listen 127.0.0.1:PORT`.
    pub fn serve(root: &Path, handler: &str, port: u16, env: &[(&str, &str)]) -> Bootstrap {
        Self::serve_as(root, handler, port, env, None)
    }

    /// `bootstrap serve`, as another user (`setpriv`, TMPDIR owned by that user) when `user` is given.
    pub fn serve_as(
        root: &Path,
        handler: &str,
        port: u16,
        env: &[(&str, &str)],
        user: Option<(u32, u32)>,
    ) -> Bootstrap {
        let root = root.display().to_string();
        let listen = format!("127.0.0.1:{port}");
        let vars = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::spawn(
            &[
                "serve",
                "--root",
                &root,
                "--handler",
                handler,
                "--listen",
                &listen,
            ],
            vars,
            Some(port),
            user,
        )
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The TMPDIR given to this bootstrap.
    pub fn tmpdir(&self) -> &Path {
        self.tmp.path()
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Waits until the logs contain `needle`; panics with the logs after `timeout`.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        let end = Instant::now() + timeout;
        loop {
            let logs = self.logs();
            if logs.contains(needle) {
                return logs;
            }
            if Instant::now() >= end {
                panic!("the bootstrap's logs never contained {needle:?} within {timeout:?}; logs:\n{logs}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The real uid the process runs as (from /proc), to prove it is not root.
    pub fn uid(&self) -> Option<u32> {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()?
            .lines()
            .find(|l| l.starts_with("Uid:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// The exit status if the process has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Waits up to `timeout` for the process to exit on its own.
    /// Waits for the process to exit, then for its last output to be captured (the reader threads see
    /// the pipes close), so `logs()` afterwards holds everything it wrote.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_exit() {
                let drained = Instant::now() + Duration::from_secs(5);
                while !self.readers.iter().all(|r| r.is_finished()) && Instant::now() < drained {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Bootstrap {
    fn drop(&mut self) {
        self.terminate();
        if std::thread::panicking() || std::env::var_os("LAMBDA_FPM_TEST_LOGS").is_some() {
            eprintln!(
                "----- bootstrap (pid {}) logs -----\n{}\n-----",
                self.pid(),
                self.logs()
            );
        }
    }
}

/// The canonical path of the fixture PHP app (the task root).
pub fn app_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app");
    std::fs::canonicalize(&p).unwrap_or(p)
}
