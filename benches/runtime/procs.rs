//! The processes the benchmark runs: the release bootstrap (Lambda mode) and, for the floor, php-fpm on
//! its own with exactly the settings the bootstrap gives it. Both are stopped by pid on drop. What they
//! use is read in [`crate::usage`].

use std::fs::File;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The app a bootstrap or a floor php-fpm serves.
#[derive(Clone)]
pub struct AppSpec {
    pub task_root: PathBuf,
    /// Relative to the task root, as in `_HANDLER`.
    pub handler: String,
    /// The app's own environment (Symfony's APP_ENV, APP_SECRET).
    pub env: Vec<(String, String)>,
}

impl AppSpec {
    pub fn script(&self) -> PathBuf {
        self.task_root.join(&self.handler)
    }

    pub fn document_root(&self) -> PathBuf {
        self.script()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.task_root.clone())
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bootstrap cargo built; `LAMBDA_FPM_BENCH_BOOTSTRAP` measures another build instead (before/after
/// comparisons of an optimisation).
pub fn bootstrap_bin() -> PathBuf {
    std::env::var_os("LAMBDA_FPM_BENCH_BOOTSTRAP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_bootstrap")))
}

pub fn php_fpm_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LAMBDA_FPM_PHP_FPM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/sbin/php-fpm8.2",
        "/usr/sbin/php-fpm",
        "/usr/sbin/php-fpm8.4",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// The environment Lambda gives a function, plus the app's.
fn lambda_env(app: &AppSpec, tmp: &Path) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "PATH".to_owned(),
            "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".to_owned(),
        ),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
        ("TZ".to_owned(), ":UTC".to_owned()),
        ("TMPDIR".to_owned(), tmp.display().to_string()),
        (
            "LAMBDA_TASK_ROOT".to_owned(),
            app.task_root.display().to_string(),
        ),
        ("_HANDLER".to_owned(), app.handler.clone()),
        (
            "AWS_LAMBDA_FUNCTION_NAME".to_owned(),
            "lambda-fpm-bench".to_owned(),
        ),
        (
            "AWS_LAMBDA_FUNCTION_VERSION".to_owned(),
            "$LATEST".to_owned(),
        ),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(),
            "1024".to_owned(),
        ),
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
    ];
    env.extend(app.env.iter().cloned());
    env
}

/// Kills `pid` with SIGTERM, waits up to 5 s for `child` to exit, then SIGKILL.
fn stop(child: &mut Child, also: &[u32]) {
    if let Ok(None) = child.try_wait() {
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if !matches!(child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    // php-fpm processes that outlived their parent (they call setsid(): killed by pid, never by group).
    for pid in also {
        if comm(*pid).is_some_and(|c| c.starts_with("php-fpm")) {
            let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
        }
    }
}

fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The bootstrap in Lambda mode, with a fresh TMPDIR.
pub struct Bootstrap {
    child: Child,
    pub spawned: Instant,
    pub tmp: tempfile::TempDir,
    seen: Vec<u32>,
}

/// How [`Bootstrap::start`] mounts the task root.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TaskRoot {
    /// As it is in the repo (writable).
    AsIs,
    /// Read-only, as Lambda's `/var/task` is, when [`read_only_possible`] (else as it is).
    ReadOnly,
}

/// The shell line that bind-mounts `$LAMBDA_TASK_ROOT` read-only in the bootstrap's own mount namespace
/// (`unshare -m`), then becomes the bootstrap (same pid).
const READ_ONLY_ROOT: &str = r#"mount --bind "$LAMBDA_TASK_ROOT" "$LAMBDA_TASK_ROOT" && mount -o remount,bind,ro "$LAMBDA_TASK_ROOT" && exec "$0""#;

/// Whether this machine lets the benchmark give the bootstrap a read-only task root (root, and
/// `unshare` with mount namespaces): checked once on an empty directory.
pub fn read_only_possible() -> bool {
    static POSSIBLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *POSSIBLE.get_or_init(|| {
        let Ok(dir) = tempfile::tempdir() else {
            return false;
        };
        nix::unistd::geteuid().is_root()
            && Command::new("unshare")
                .args(["-m", "sh", "-c", READ_ONLY_ROOT, "true"])
                .env("LAMBDA_TASK_ROOT", dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    })
}

impl Bootstrap {
    pub fn start(
        app: &AppSpec,
        runtime_api: &str,
        php_fpm: &Path,
        extra: &[(&str, &str)],
        root: TaskRoot,
    ) -> std::io::Result<Self> {
        let tmp = tempfile::Builder::new().prefix("lfpm-bench-").tempdir()?;
        let log = File::create(tmp.path().join("bootstrap.log"))?;
        let mut cmd = if root == TaskRoot::ReadOnly && read_only_possible() {
            let mut cmd = Command::new("unshare");
            cmd.args(["-m", "sh", "-c", READ_ONLY_ROOT])
                .arg(bootstrap_bin());
            cmd
        } else {
            Command::new(bootstrap_bin())
        };
        cmd.env_clear()
            .envs(lambda_env(app, tmp.path()))
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("LAMBDA_FPM_PHP_FPM", php_fpm)
            // The repo's files, named explicitly: the floor uses the same ones whatever build is measured.
            .env("LAMBDA_FPM_PHP_INI", repo().join("php-ini/php.ini"))
            .env(
                "LAMBDA_FPM_FPM_CONFIG",
                repo().join("fpm-config/php-fpm.conf"),
            )
            // The floor sends bodies as PHP printed them; compression's CPU is measured on its own
            // (`cargo bench --bench compression`), and the browser headers accept it.
            .env("LAMBDA_FPM_COMPRESSION", "off")
            .envs(extra.iter().copied())
            .current_dir(&app.task_root)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let spawned = Instant::now();
        let child = cmd.spawn()?;
        Ok(Self {
            child,
            spawned,
            tmp,
            seen: Vec::new(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("bootstrap.log")).unwrap_or_default()
    }

    /// The bootstrap, php-fpm's master and its workers.
    pub fn tree(&mut self) -> Vec<u32> {
        let tree = process_tree(self.pid());
        for pid in &tree[1..] {
            if !self.seen.contains(pid) {
                self.seen.push(*pid);
            }
        }
        tree
    }
}

impl Drop for Bootstrap {
    fn drop(&mut self) {
        let mut also = process_tree(self.pid());
        also.extend(self.seen.iter().copied());
        stop(&mut self.child, &also[1.min(also.len())..]);
    }
}

/// php-fpm alone, started exactly as the bootstrap starts it (same php.ini, pool file, scan dir and
/// environment), for the floor.
pub struct PhpFpm {
    child: Child,
    pub socket: PathBuf,
    /// Removed on drop (php-fpm's TMPDIR: socket, opcache file cache, sessions).
    _tmp: tempfile::TempDir,
    /// Spawn → the socket accepts a connection.
    pub startup: Duration,
}

impl PhpFpm {
    pub fn start(app: &AppSpec, php_fpm: &Path) -> std::io::Result<Self> {
        let tmp = tempfile::Builder::new().prefix("lfpm-floor-").tempdir()?;
        for dir in ["sessions", "uploads", "opcache"] {
            std::fs::create_dir_all(tmp.path().join(dir))?;
        }
        let socket = tmp.path().join("php-fpm.sock");
        let log = File::create(tmp.path().join("php-fpm.log"))?;
        // Config::load's scan dir: Debian's conf.d, the layer's conf.d, the app's php/conf.d.
        let exe_dir = PathBuf::from(env!("CARGO_BIN_EXE_bootstrap"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let scan_dir = format!(
            ":{}:{}",
            exe_dir.join("php-ini/conf.d").display(),
            app.task_root.join("php/conf.d").display()
        );
        let mut cmd = Command::new(php_fpm);
        cmd.arg("--nodaemonize")
            .arg("--fpm-config")
            .arg(repo().join("fpm-config/php-fpm.conf"))
            .arg("--php-ini")
            .arg(repo().join("php-ini/php.ini"));
        if nix::unistd::geteuid().is_root() {
            cmd.arg("--allow-to-run-as-root");
        }
        cmd.env_clear()
            .envs(lambda_env(app, tmp.path()))
            .env("PHP_INI_SCAN_DIR", scan_dir)
            .env("LAMBDA_FPM_SOCKET", &socket)
            .env("LAMBDA_FPM_WORKERS", "1")
            .env("LAMBDA_FPM_TMP", tmp.path())
            .env("LAMBDA_FPM_OPCACHE_REVALIDATE", "0")
            .current_dir(&app.task_root)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let spawned = Instant::now();
        let mut child = cmd.spawn()?;
        // Poll every 100 µs (a blocking loop: nothing else runs meanwhile), so the figure is php-fpm's
        // own start-up, not the polling interval. The probe is closed at once: php-fpm's one worker
        // accepts it and would otherwise wait 5 s for its request, serving no one else.
        loop {
            if StdUnixStream::connect(&socket).is_ok() {
                break;
            }
            if !matches!(child.try_wait(), Ok(None)) || spawned.elapsed() > Duration::from_secs(10)
            {
                let _ = child.kill();
                let _ = child.wait();
                let log =
                    std::fs::read_to_string(tmp.path().join("php-fpm.log")).unwrap_or_default();
                return Err(std::io::Error::other(format!(
                    "php-fpm did not start:\n{log}"
                )));
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        Ok(Self {
            startup: spawned.elapsed(),
            child,
            socket,
            _tmp: tmp,
        })
    }

    pub fn connect(&self) -> std::io::Result<tokio::net::UnixStream> {
        let stream = StdUnixStream::connect(&self.socket)?;
        stream.set_nonblocking(true)?;
        tokio::net::UnixStream::from_std(stream)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn tree(&self) -> Vec<u32> {
        process_tree(self.pid())
    }
}

impl Drop for PhpFpm {
    fn drop(&mut self) {
        let also = process_tree(self.pid());
        stop(&mut self.child, &also[1.min(also.len())..]);
    }
}

/// `root` and its descendants (from /proc/*/stat).
pub fn process_tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // The command can hold spaces and parentheses: fields start after the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    tree
}
