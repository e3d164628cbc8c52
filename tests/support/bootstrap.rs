//! Process harness for the real `bootstrap` binary (CARGO_BIN_EXE_bootstrap).
//!
//! Each `Bootstrap` gets a clean-ish environment and its own TMPDIR, so parallel tests never share a
//! socket, sessions or the opcache. stdout and stderr are drained on threads into one buffer. Dropping it
//! sends SIGTERM, waits up to 5 s, then SIGKILL; descendants (php-fpm) that survive are killed by pid.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::runtime_api::RuntimeApi;

pub fn bootstrap_bin() -> &'static str {
    env!("CARGO_BIN_EXE_bootstrap")
}

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

    fn spawn(
        args: &[&str],
        vars: Vec<(String, String)>,
        port: Option<u16>,
        user: Option<(u32, u32)>,
    ) -> Bootstrap {
        let tmp = tempfile::Builder::new()
            .prefix("lfpm-")
            .tempdir()
            .expect("create a TMPDIR for the bootstrap");
        let mut cmd = match user {
            None => Command::new(bootstrap_bin()),
            Some((uid, gid)) => {
                std::os::unix::fs::chown(tmp.path(), Some(uid), Some(gid))
                    .expect("chown the TMPDIR");
                let mut c = Command::new("setpriv");
                c.args([
                    "--reuid",
                    &uid.to_string(),
                    "--regid",
                    &gid.to_string(),
                    "--clear-groups",
                    "--",
                ])
                .arg(bootstrap_bin());
                c
            }
        };
        cmd.args(args)
            .env_clear()
            .env(
                "PATH",
                std::env::var("PATH")
                    .unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into()),
            )
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot spawn {} (run through `cargo test`): {e}",
                bootstrap_bin()
            )
        });
        let logs = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(drain(out, logs.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(drain(err, logs.clone()));
        }
        Bootstrap {
            child,
            logs,
            readers,
            exit: None,
            tmp,
            seen_descendants: Vec::new(),
            port,
        }
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

    /// Pids of all living descendants (php-fpm master and workers), found through /proc.
    pub fn descendants(&mut self) -> Vec<u32> {
        let found = descendants_of(self.pid());
        for &(pid, start) in &found {
            if !self
                .seen_descendants
                .iter()
                .any(|&(p, s)| p == pid && s == start)
            {
                self.seen_descendants.push((pid, start));
            }
        }
        found.into_iter().map(|(p, _)| p).collect()
    }

    /// Pids among the recorded descendants that are still alive (same pid and start time).
    pub fn surviving_descendants(&self) -> Vec<u32> {
        self.seen_descendants
            .iter()
            .filter(|&&(pid, start)| proc_start_time(pid) == Some(start) && !is_zombie(pid))
            .map(|&(pid, _)| pid)
            .collect()
    }

    /// Sends a signal (e.g. "TERM", "KILL") to the bootstrap process only.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// SIGTERM, wait up to 5 s, SIGKILL; then kill surviving descendants by pid. Returns the exit status.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        if self.try_exit().is_none() {
            self.descendants();
            self.signal("TERM");
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end && self.try_exit().is_none() {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.try_exit().is_none() {
                let _ = self.child.kill();
                self.exit = self.child.wait().ok();
            }
        }
        // php-fpm calls setsid(), so it survives its parent if the bootstrap did not stop it: give it a
        // moment, then kill what is left, by pid.
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end && !self.surviving_descendants().is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
        for pid in self.surviving_descendants() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
        // Its last lines are in the pipes: let the readers reach the end before anyone reads `logs()`.
        let drained = Instant::now() + Duration::from_secs(5);
        while !self.readers.iter().all(|r| r.is_finished()) && Instant::now() < drained {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.exit
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

/// What Lambda sets for a custom runtime (the variables the bootstrap reads), then the test's own.
fn lambda_env(
    runtime_api: &str,
    task_root: &Path,
    handler: &str,
    env: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = vec![
        ("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.into()),
        ("_HANDLER".into(), handler.into()),
        ("LAMBDA_TASK_ROOT".into(), task_root.display().to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), "test".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "512".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
    ];
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    vars
}

fn drain(
    stream: impl Read + Send + 'static,
    logs: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if !line.ends_with(b"\n") {
                        line.push(b'\n');
                    }
                    logs.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&line);
                }
            }
        }
    })
}

/// (ppid, start time) of a process from /proc/PID/stat.
fn proc_stat(pid: u32) -> Option<(u32, u64, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // after the comm: state(0) ppid(1) ... starttime is field 22 of stat = index 19 here
    let state = fields.first()?.chars().next()?;
    let ppid = fields.get(1)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((ppid, start, state))
}

fn proc_start_time(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|(_, s, _)| s)
}

fn is_zombie(pid: u32) -> bool {
    matches!(proc_stat(pid), Some((_, _, 'Z')))
}

/// All descendants of `root` as (pid, start time).
pub fn descendants_of(root: u32) -> Vec<(u32, u64)> {
    let mut table = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            if let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            {
                if let Some((ppid, start, state)) = proc_stat(pid) {
                    if state != 'Z' {
                        table.push((pid, ppid, start));
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid, start) in &table {
            if ppid == parent && !out.iter().any(|&(p, _)| p == pid) {
                out.push((pid, start));
                frontier.push(pid);
            }
        }
    }
    out
}

/// A free TCP port on 127.0.0.1 (bind :0, read the port, drop the listener).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Waits until 127.0.0.1:port accepts TCP connections.
pub async fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// The canonical path of the fixture PHP app (the task root).
pub fn app_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/app");
    std::fs::canonicalize(&p).unwrap_or(p)
}
