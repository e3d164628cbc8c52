//! A wall clock the test can move under a running bootstrap: libfaketime preloaded into the bootstrap
//! (and so into php-fpm, which inherits the environment), reading its offset from a file on every call
//! (`FAKETIME_NO_CACHE=1`), so the offset can change mid-run, as at a SnapStart restore.
//!
//! Only the wall clock (`CLOCK_REALTIME`: `time()`, `gettimeofday`, Rust's `SystemTime`) is moved.
//! `CLOCK_MONOTONIC` is left alone (`FAKETIME_DONT_FAKE_MONOTONIC=1`): it counts elapsed time, is what
//! tokio's timers and `Instant` use, and is not what a restore resets; the runtime's timeouts are
//! measured on it. What the wall clock decides is how long an invocation has left (its deadline is a
//! Unix epoch time) and what PHP's `time()` and `date()` say.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// libfaketime's thread-safe build (the bootstrap runs tokio threads), Debian's package `libfaketime`.
fn library() -> PathBuf {
    if let Some(path) = std::env::var_os("LAMBDA_FPM_TEST_FAKETIME_LIB") {
        return path.into();
    }
    let path = PathBuf::from(format!(
        "/usr/lib/{}-linux-gnu/faketime/libfaketimeMT.so.1",
        std::env::consts::ARCH
    ));
    assert!(
        path.exists(),
        "{} is missing: install the Debian package libfaketime (tests/install-deps.sh does), or set \
         LAMBDA_FPM_TEST_FAKETIME_LIB",
        path.display()
    );
    path
}

/// The offset file and the environment that makes a process read it.
pub struct FakeClock {
    dir: tempfile::TempDir,
}

impl FakeClock {
    /// A clock `offset_secs` away from the real one (negative: behind).
    pub fn new(offset_secs: i64) -> FakeClock {
        let dir = tempfile::tempdir().expect("tempdir for the fake clock");
        let clock = FakeClock { dir };
        clock.set(offset_secs);
        clock
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("faketime")
    }

    /// Moves the clock to `offset_secs` from the real one; the processes see it at their next clock
    /// read. Written by rename, so a reader never sees a half-written file.
    pub fn set(&self, offset_secs: i64) {
        let tmp = self.dir.path().join("faketime.new");
        std::fs::write(&tmp, format!("{offset_secs:+}\n")).expect("write the faketime offset");
        std::fs::rename(&tmp, self.file()).expect("rename the faketime offset");
    }

    /// The variables for the process to run on this clock.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LD_PRELOAD", library().display().to_string()),
            ("FAKETIME_TIMESTAMP_FILE", self.file().display().to_string()),
            ("FAKETIME_NO_CACHE", "1".into()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".into()),
        ]
    }
}

/// The real wall clock, in Unix seconds.
pub fn real_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
