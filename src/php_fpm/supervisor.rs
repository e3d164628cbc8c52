//! Starts php-fpm as a direct child in the foreground, drains its output into the logs, waits for its
//! socket, kills stuck workers, and restarts it with a back-off so a php-fpm that cannot start never
//! turns into a tight loop.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use tokio::signal::unix::{signal, Signal as SignalStream, SignalKind};

use super::output::drain;
use super::pools::{self, Pool};

/// How php-fpm is started; derived once from configuration.
#[derive(Debug, Clone)]
pub struct FpmSettings {
    pub binary: PathBuf,
    pub fpm_config: PathBuf,
    pub php_ini: PathBuf,
    /// `PHP_INI_SCAN_DIR`.
    pub scan_dir: String,
    pub socket: PathBuf,
    /// The writable directory PHP uses (sessions, uploads, opcache file cache).
    pub tmp: PathBuf,
    pub workers: usize,
    pub as_root: bool,
    pub start_timeout: Duration,
    pub opcache_revalidate: bool,
}

impl FpmSettings {
    /// What PHP needs to read its configuration, for php-fpm and for the PHP CLI alike: the scan
    /// directory, the values php.ini refers to, and `PHPRC`, so a `php` started by a script (or by the
    /// runtime's console) reads the same php.ini.
    pub fn php_env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("PHP_INI_SCAN_DIR", self.scan_dir.clone().into()),
            ("LAMBDA_FPM_TMP", self.tmp.clone().into()),
            (
                "LAMBDA_FPM_OPCACHE_REVALIDATE",
                if self.opcache_revalidate { "1" } else { "0" }.into(),
            ),
            ("PHPRC", self.php_ini.clone().into()),
        ]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FpmError {
    #[error("cannot start php-fpm ({binary}): {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
    #[error("php-fpm exited during start-up ({status}); check the php-fpm and php.ini settings. Its last output:\n{output}")]
    Exited { status: String, output: String },
    #[error(
        "php-fpm did not open its socket {socket} within {timeout:?}. Its last output:\n{output}"
    )]
    NotReady {
        socket: String,
        timeout: Duration,
        output: String,
    },
    #[error("cannot prepare php-fpm's configuration from {template}: {reason}")]
    Config { template: String, reason: String },
    #[error("php-fpm is down; after {failures} failed starts the next attempt waits {wait:?}")]
    BackingOff { failures: u32, wait: Duration },
    #[error("php-fpm's workers were not replaced within {timeout:?}: {left}")]
    WorkersNotReplaced { timeout: Duration, left: String },
}

pub struct Supervisor {
    settings: FpmSettings,
    child: Option<Child>,
    /// The master's pid, kept after it is reaped: php-fpm calls `setsid()`, so it is also the process
    /// group of its workers, which outlive a master that was SIGKILLed.
    master_pid: Option<u32>,
    recent: Arc<Mutex<VecDeque<String>>>,
    /// Workers the runtime itself stopped: the master's line about their exit is logged at debug level
    /// (it is a warning otherwise).
    stopped: Arc<Mutex<Vec<u32>>>,
    failures: u32,
    not_before: Option<Instant>,
    /// One single-worker pool per slot, as rendered at the last spawn.
    pools: Vec<Pool>,
    /// SIGCHLD as tokio's driver receives it: the master is only `wait4`ed for after a child of the
    /// runtime exited (or when this could not be set up), not once per request.
    sigchld: Option<SignalStream>,
    /// Set when a request failed in a way a dead master explains: the next look waits for it anyway.
    suspect: bool,
}

impl Supervisor {
    pub fn new(settings: FpmSettings) -> Self {
        Self {
            settings,
            child: None,
            master_pid: None,
            recent: Arc::default(),
            stopped: Arc::default(),
            failures: 0,
            not_before: None,
            pools: Vec::new(),
            sigchld: None,
            suspect: false,
        }
    }

    pub fn settings(&self) -> &FpmSettings {
        &self.settings
    }

    /// Spawns php-fpm; returns at once (see [`Supervisor::wait_ready`]).
    pub fn spawn(&mut self) -> Result<(), FpmError> {
        let fpm_config = self.render_pools()?;
        // Listening before the spawn, so no exit can come before it.
        if self.sigchld.is_none() && tokio::runtime::Handle::try_current().is_ok() {
            self.sigchld = signal(SignalKind::child()).ok();
        }
        let s = &self.settings;
        let mut cmd = Command::new(&s.binary);
        cmd.arg("--nodaemonize")
            .arg("--fpm-config")
            .arg(&fpm_config)
            .arg("--php-ini")
            .arg(&s.php_ini);
        if s.as_root {
            cmd.arg("--allow-to-run-as-root");
        }
        cmd.envs(s.php_env())
            .env("LAMBDA_FPM_SOCKET", &s.socket)
            .env("LAMBDA_FPM_WORKERS", s.workers.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| FpmError::Spawn {
            binary: s.binary.display().to_string(),
            source,
        })?;
        // Always drained: a full pipe would block php-fpm, and with it every request.
        if let Some(out) = child.stdout.take() {
            tokio::spawn(drain(out, self.recent.clone(), self.stopped.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(drain(err, self.recent.clone(), self.stopped.clone()));
        }
        self.master_pid = child.id();
        self.child = Some(child);
        Ok(())
    }

    /// The slots' pools as php-fpm runs them (empty before the first spawn).
    pub fn pools(&self) -> &[Pool] {
        &self.pools
    }

    /// Renders the configuration with one pool per slot next to the socket; returns its path.
    fn render_pools(&mut self) -> Result<PathBuf, FpmError> {
        let s = &self.settings;
        let config_error = |reason: String| FpmError::Config {
            template: s.fpm_config.display().to_string(),
            reason,
        };
        let template =
            std::fs::read_to_string(&s.fpm_config).map_err(|e| config_error(e.to_string()))?;
        let (rendered, ignored) = pools::render(&template, s.workers, &s.socket)
            .map_err(|e| config_error(e.to_string()))?;
        if !ignored.is_empty() {
            tracing::warn!(
                "php-fpm pool sections {ignored:?} are ignored: lambda-fpm runs one copy of the first pool per concurrent invocation"
            );
        }
        let path = s.socket.with_file_name("php-fpm.slots.conf");
        std::fs::write(&path, rendered.config)
            .map_err(|e| config_error(format!("cannot write {}: {e}", path.display())))?;
        for pool in &rendered.pools {
            let _ = std::fs::remove_file(&pool.socket);
        }
        self.pools = rendered.pools;
        Ok(path)
    }

    /// Waits until php-fpm accepts connections and returns the first one.
    pub async fn wait_ready(&mut self) -> Result<UnixStream, FpmError> {
        let started = Instant::now();
        let mut pause = Duration::from_micros(500);
        loop {
            if let Some(status) = self.exited() {
                // Let the drain tasks catch the last words.
                tokio::time::sleep(Duration::from_millis(20)).await;
                self.child = None;
                self.kill_orphans();
                return Err(FpmError::Exited {
                    status,
                    output: self.recent_output(),
                });
            }
            // php-fpm binds every pool's socket before it forks a worker: the first one answering
            // means all are there.
            let first = self
                .pools
                .first()
                .map_or(&self.settings.socket, |p| &p.socket);
            if let Ok(stream) = UnixStream::connect(first).await {
                return Ok(stream);
            }
            if started.elapsed() > self.settings.start_timeout {
                self.stop().await;
                return Err(FpmError::NotReady {
                    socket: self
                        .pools
                        .first()
                        .map_or(&self.settings.socket, |p| &p.socket)
                        .display()
                        .to_string(),
                    timeout: self.settings.start_timeout,
                    output: self.recent_output(),
                });
            }
            tokio::time::sleep(pause).await;
            // At most a millisecond between tries: php-fpm is ready 15-40 ms after its spawn, and every
            // millisecond between that and the first try is added to the cold start. A connect() to a
            // socket that is not there yet costs a few microseconds.
            pause = (pause * 2).min(Duration::from_millis(1));
        }
    }

    /// Starts php-fpm and waits for it, counting failures for the back-off.
    pub async fn start(&mut self) -> Result<UnixStream, FpmError> {
        if let Some(not_before) = self.not_before {
            let now = Instant::now();
            if now < not_before {
                return Err(FpmError::BackingOff {
                    failures: self.failures,
                    wait: not_before - now,
                });
            }
        }
        let result = match self.spawn() {
            Ok(()) => self.wait_ready().await,
            Err(e) => Err(e),
        };
        match &result {
            Ok(_) => {
                self.failures = 0;
                self.not_before = None;
            }
            Err(_) => {
                self.failures += 1;
                let wait = Duration::from_millis(500u64 << self.failures.min(6))
                    .min(Duration::from_secs(30));
                self.not_before = Some(Instant::now() + wait);
            }
        }
        result
    }

    /// Announces that the runtime is about to stop these workers on purpose: php-fpm's warning about
    /// each exit is then logged at debug level.
    pub fn stopping(&self, pids: &[u32]) {
        if let Ok(mut stopped) = self.stopped.lock() {
            stopped.extend_from_slice(pids);
        }
    }

    /// Forgets earlier failed starts: after a SnapStart restore the environment is a new one, and a
    /// back-off counted on a clock before the snapshot says nothing about it.
    pub fn reset_backoff(&mut self) {
        self.failures = 0;
        self.not_before = None;
    }

    /// Whether the master is alive (reaps it when it is not). A dead master's workers are left
    /// running: they may be finishing requests of other slots. The caller kills their group
    /// ([`kill_group`] with [`Supervisor::group`]) once those are answered.
    pub fn is_running(&mut self) -> bool {
        if self.child.is_some() && !self.may_have_exited() {
            return true;
        }
        match self.exited() {
            Some(status) => {
                tracing::error!(target: "lambda_fpm::php_fpm", "php-fpm exited ({status}); it will be restarted");
                self.child = None;
                false
            }
            None => self.child.is_some(),
        }
    }

    /// The process group of the last master started (its pid: php-fpm calls `setsid()`), also after
    /// it died; until the next spawn.
    pub fn group(&self) -> Option<u32> {
        self.master_pid
    }

    /// The next [`Supervisor::is_running`] asks the kernel, whatever SIGCHLD said: a request failed
    /// in a way a dead master would explain.
    pub fn suspect_exit(&mut self) {
        self.suspect = true;
    }

    /// Whether a child exited since the last look: a SIGCHLD that tokio's driver has taken in (it
    /// reads its signal pipe whenever it waits for I/O, so a death while `/next` was pending is seen
    /// before the next request). Costs no system call, unlike the `wait4` it saves.
    fn may_have_exited(&mut self) -> bool {
        let signalled = match &mut self.sigchld {
            Some(sigchld) => sigchld.recv().now_or_never().is_some(),
            None => true,
        };
        std::mem::take(&mut self.suspect) || signalled
    }

    fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("cannot be waited for: {e}")),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Stops php-fpm: SIGTERM, then SIGKILL after a second.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(1), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
        self.kill_orphans();
        for pool in &self.pools {
            let _ = std::fs::remove_file(&pool.socket);
        }
    }

    /// SIGKILLs what is left of a dead master's process group: its workers keep running (idle, holding
    /// memory and the old socket) when the master is SIGKILLed, since nothing tells them it died.
    fn kill_orphans(&mut self) {
        if let Some(pid) = self.master_pid.take() {
            kill_group(pid);
        }
    }

    fn recent_output(&self) -> String {
        self.recent
            .lock()
            .map(|lines| lines.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }
}

/// SIGKILLs every process of a dead master's group: its workers outlive it (nothing tells them it
/// died), idle, holding memory and the old sockets.
pub fn kill_group(group: u32) {
    // ESRCH (no such group: the workers are gone already) is fine.
    let _ = killpg(Pid::from_raw(group as i32), Signal::SIGKILL);
}
