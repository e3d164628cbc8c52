//! php-fpm's own output (master and workers' stdout and stderr) → the logs. Always drained, so a
//! full pipe can never block php-fpm; the last lines are kept for the error when it fails to start.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// How many of php-fpm's last lines a start failure quotes.
const RECENT_LINES: usize = 20;

/// Whether `line` is php-fpm's report that one of `stopped` exited ("child 123 exited on signal 15");
/// that pid is then forgotten.
fn stopped_on_purpose(line: &str, stopped: &Mutex<Vec<u32>>) -> bool {
    let Some(pid) = line
        .split_once("] child ")
        .and_then(|(_, rest)| rest.split_once(" exited "))
        .and_then(|(pid, _)| pid.parse::<u32>().ok())
    else {
        return false;
    };
    let Ok(mut stopped) = stopped.lock() else {
        return false;
    };
    let Some(i) = stopped.iter().position(|p| *p == pid) else {
        return false;
    };
    stopped.swap_remove(i);
    true
}

/// Reads one of php-fpm's output streams to its end, line by line, into the logs and the last
/// [`RECENT_LINES`] (which a start failure quotes).
pub(super) async fn drain(
    stream: impl AsyncRead + Unpin,
    recent: Arc<Mutex<VecDeque<String>>>,
    stopped: Arc<Mutex<Vec<u32>>>,
) {
    // Bytes, not `lines()`: one invalid UTF-8 byte must not stop the draining (and so block php-fpm).
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(buf.trim_ascii_end());
        if line.is_empty() {
            continue;
        }
        if stopped_on_purpose(&line, &stopped) {
            tracing::debug!(source = "php", "{line}");
        } else {
            crate::logging::php_line(&line, None);
        }
        if let Ok(mut recent) = recent.lock() {
            if recent.len() == RECENT_LINES {
                recent.pop_front();
            }
            recent.push_back(line.into_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exits_of_workers_stopped_on_purpose_are_quiet() {
        let stopped = Mutex::new(vec![123, 456]);
        let line = |pid: u32| {
            format!("[07-Dec-2026 14:35:15] WARNING: [pool lambda-0] child {pid} exited on signal 15 (SIGTERM) after 0.59 seconds from start")
        };
        assert!(stopped_on_purpose(&line(123), &stopped));
        assert!(!stopped_on_purpose(&line(123), &stopped), "once per pid");
        assert!(!stopped_on_purpose(&line(789), &stopped));
        assert!(!stopped_on_purpose(
            "[07-Dec-2026 14:35:15] NOTICE: [pool lambda] child 456 started",
            &stopped
        ));
        assert!(stopped_on_purpose(&line(456), &stopped));
        assert!(!stopped_on_purpose(
            "PHP Warning:  child 1 exited ",
            &stopped
        ));
    }
}
