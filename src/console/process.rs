//! The console command's process: spawned in its own process group with stdout and stderr on one pipe
//! (so they interleave as written), drained as it runs (a full pipe would stall it), and SIGKILLed with
//! its whole group at the deadline. Everything is awaited: the runtime never blocks on it.

use std::io;
use std::os::fd::OwnedFd;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::process::Command;
use tokio::time::Instant;

use super::output::Output;

/// After the command exits, how long to wait for the rest of its output: a process it started in the
/// background may keep the pipe open for good.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(200);

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    /// Killed by a signal it was not sent by the runtime (out of memory, a crash).
    Signal(i32),
    /// Still running at the deadline: killed with its process group.
    TimedOut,
}

/// Runs `cmd` until it exits or `budget` is over; `on_line` gets each line of output as it comes.
pub async fn run(
    mut cmd: Command,
    budget: Duration,
    on_line: &mut impl FnMut(&str),
) -> io::Result<(Exit, Output)> {
    let deadline = Instant::now() + budget;
    let (reader, writer) = io::pipe()?;
    cmd.stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        // Its own group, so the deadline also reaches whatever it started (php artisan calling php).
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    // The command holds the pipe's write end until dropped: without this the read never sees EOF.
    drop(cmd);
    let group = child.id().map(|pid| Pid::from_raw(pid as i32));
    let mut pipe = pipe::Receiver::from_owned_fd(OwnedFd::from(reader))?;
    let mut output = Output::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut open = true;
    let exit = loop {
        tokio::select! {
            read = pipe.read(&mut buf), if open => match read {
                Ok(0) | Err(_) => open = false,
                Ok(n) => output.push(&buf[..n], on_line),
            },
            status = child.wait() => break exit_of(status?),
            () = tokio::time::sleep_until(deadline) => {
                if let Some(group) = group {
                    // ESRCH: it ended just now; the wait below says how.
                    let _ = killpg(group, Signal::SIGKILL);
                }
                let _ = child.wait().await;
                break Exit::TimedOut;
            }
        }
    };
    let quiet_until = Instant::now() + DRAIN_AFTER_EXIT;
    while open {
        match tokio::time::timeout_at(quiet_until, pipe.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => output.push(&buf[..n], on_line),
            _ => open = false,
        }
    }
    output.flush(on_line);
    Ok((exit, output))
}

fn exit_of(status: ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        (None, None) => Exit::Code(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script);
        cmd
    }

    #[tokio::test]
    async fn stdout_and_stderr_interleave_and_the_exit_code_is_kept() {
        let mut lines = Vec::new();
        let (exit, output) = run(
            sh("echo one; echo two >&2; echo three; exit 3"),
            Duration::from_secs(10),
            &mut |l| lines.push(l.to_owned()),
        )
        .await
        .expect("runs");
        assert_eq!(exit, Exit::Code(3));
        assert_eq!(output.text(), "one\ntwo\nthree\n");
        assert_eq!(lines, ["one", "two", "three"]);
    }

    #[tokio::test]
    async fn the_deadline_kills_the_whole_group() {
        let started = std::time::Instant::now();
        let (exit, output) = run(
            sh("echo started; sleep 30 & sleep 30; echo never"),
            Duration::from_millis(300),
            &mut |_| {},
        )
        .await
        .expect("runs");
        assert_eq!(exit, Exit::TimedOut);
        assert_eq!(output.text(), "started\n");
        // The background sleep held the pipe too: it was killed with the group, so no wait for it.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_background_process_does_not_hold_the_answer() {
        let started = std::time::Instant::now();
        let (exit, output) = run(
            sh("(sleep 5; echo late) & echo done"),
            Duration::from_secs(10),
            &mut |_| {},
        )
        .await
        .expect("runs");
        assert_eq!(exit, Exit::Code(0));
        assert_eq!(output.text(), "done\n");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_signal_is_reported() {
        let (exit, _) = run(sh("kill -9 $$"), Duration::from_secs(10), &mut |_| {})
            .await
            .expect("runs");
        assert_eq!(exit, Exit::Signal(9));
    }
}
