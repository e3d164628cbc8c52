//! Helper processes of the suite (mariadbd for WordPress): started, logged and stopped by pid.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::install::{is_root, run_ok};
use crate::support::bootstrap::{descendants_of, free_port};

/// A helper process of ours (mariadbd; the bootstrap itself runs under `support::Bootstrap`) with its
/// logs; stopped by pid on drop (SIGTERM, then SIGKILL), together with any descendant that outlived it.
pub struct Proc {
    pub name: String,
    child: Child,
    logs: Arc<Mutex<Vec<u8>>>,
    seen: Vec<u32>,
}

impl Proc {
    pub fn spawn(name: &str, mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name} ({cmd:?}): {e}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = logs.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut line = Vec::new();
                while let Ok(n) = reader.read_until(b'\n', &mut line) {
                    if n == 0 {
                        break;
                    }
                    logs.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&line);
                    line.clear();
                }
            });
        }
        Proc {
            name: name.to_string(),
            child,
            logs,
            seen: Vec::new(),
        }
    }

    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn remember_descendants(&mut self) {
        for (pid, _) in descendants_of(self.child.id()) {
            if !self.seen.contains(&pid) {
                self.seen.push(pid);
            }
        }
    }

    pub fn stop(&mut self) {
        self.remember_descendants();
        if self.exited().is_none() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .stderr(Stdio::null())
                .status();
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end && self.exited().is_none() {
                // php-fpm may have been started after the first look (a stop during init).
                self.remember_descendants();
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.exited().is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        std::thread::sleep(Duration::from_millis(50));
        for pid in &self.seen {
            // Only our own descendants, by pid, and only while they still look like them.
            let alive = std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .map(|c| c.contains("php-fpm") || c.contains("mariadbd") || c.contains("bootstrap"))
                .unwrap_or(false);
            if alive {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() || std::env::var_os("LAMBDA_FPM_TEST_LOGS").is_some() {
            eprintln!("----- {} logs -----\n{}\n-----", self.name, self.logs());
        }
    }
}

/// mariadbd on a private copy of install.sh's data directory, 127.0.0.1 and a free port.
pub struct MariaDb {
    pub port: u16,
    proc: Proc,
    _dir: tempfile::TempDir,
}

impl MariaDb {
    pub async fn start(seed: &Path) -> MariaDb {
        let dir = tempfile::Builder::new()
            .prefix("lfpm-mariadb-")
            .tempdir()
            .expect("temp dir");
        let data = dir.path().join("data");
        run_ok(Command::new("cp").arg("-a").arg(seed).arg(&data));
        let mut user_args: Vec<String> = Vec::new();
        if is_root() {
            run_ok(
                Command::new("chown")
                    .arg("-R")
                    .arg("mysql:mysql")
                    .arg(dir.path()),
            );
            user_args.push("--user=mysql".into());
        }
        let port = free_port();
        let mut cmd = Command::new("mariadbd");
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(&user_args)
            .arg(format!(
                "--socket={}",
                dir.path().join("mysqld.sock").display()
            ))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
            ])
            .arg(format!(
                "--pid-file={}",
                dir.path().join("mysqld.pid").display()
            ));
        let mut proc = Proc::spawn("mariadbd", cmd);
        let end = Instant::now() + Duration::from_secs(30);
        while !proc.logs().contains("ready for connections") {
            if let Some(s) = proc.exited() {
                panic!("mariadbd exited ({s}); logs:\n{}", proc.logs());
            }
            assert!(
                Instant::now() < end,
                "mariadbd not ready in 30 s; logs:\n{}",
                proc.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        MariaDb {
            port,
            proc,
            _dir: dir,
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.proc.stop();
    }
}
