//! Starting the process: Lambda's variables or `serve`'s flags, another user, a fresh TMPDIR, output captured.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use super::Bootstrap;

pub fn bootstrap_bin() -> &'static str {
    env!("CARGO_BIN_EXE_bootstrap")
}

impl Bootstrap {
    pub(super) fn spawn(
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
}

/// What Lambda sets for a custom runtime (the variables the bootstrap reads), then the test's own.
pub(super) fn lambda_env(
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
