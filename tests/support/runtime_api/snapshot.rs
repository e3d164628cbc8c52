//! SnapStart in the emulator: `GET /runtime/restore/next` stays pending (the snapshot is being taken)
//! until the test calls [`RuntimeApi::restore`]; `POST /runtime/restore/error` is recorded.
//!
//! A restore starts a new connection epoch. Every connection opened before it is treated as one
//! copied out of a snapshot: the pending `/restore/next` on it is answered, but any later request on it
//! gets no answer at all, as a socket whose peer is gone sees none, and is counted
//! ([`RuntimeApi::stale_requests`]). A runtime that reuses such a connection hangs, and the test sees
//! why. The runtime waits for as long as the test holds the snapshot, and the deadlines of later events
//! are counted from their delivery on the real clock; a wall-clock jump at the restore is made with
//! libfaketime on the runtime's side (`support::clock`, tests/integration/snapstart.rs).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::Value;
use tokio::sync::watch;

use super::server::{reply, BoxError, Shared};
use super::RuntimeApi;

/// The snapshot's state, shared by the emulator's connections.
pub(super) struct Snapshot {
    /// The connection epoch: how many restores happened. Connections remember the epoch they were
    /// opened in.
    epoch: watch::Sender<u64>,
    state: Mutex<State>,
    stale: AtomicUsize,
}

#[derive(Default)]
struct State {
    /// When the runtime called `/restore/next` (the last time).
    waiting_since: Option<Instant>,
    restored_at: Option<Instant>,
    /// The first `/next` after the last restore.
    first_next_after: Option<Instant>,
    /// `/restore/error`: the error type header and the body.
    error: Option<(String, Value)>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Self {
            epoch: watch::Sender::new(0),
            state: Mutex::default(),
            stale: AtomicUsize::new(0),
        }
    }
}

impl Snapshot {
    pub(super) fn epoch(&self) -> u64 {
        *self.epoch.borrow()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request arrived on a connection opened in `epoch`: false (and counted) when that connection
    /// predates the last restore.
    pub(super) fn admits(&self, epoch: u64) -> bool {
        if epoch >= self.epoch() {
            return true;
        }
        self.stale.fetch_add(1, Ordering::SeqCst);
        false
    }

    /// Called for every `/invocation/next`.
    pub(super) fn note_next(&self) {
        let mut st = self.lock();
        if st.restored_at.is_some() && st.first_next_after.is_none() {
            st.first_next_after = Some(Instant::now());
        }
    }
}

/// `GET /runtime/restore/next`: pending until the next restore, then 200.
pub(super) async fn restore_next(shared: &Arc<Shared>) -> Result<Response<Full<Bytes>>, BoxError> {
    let mut epoch = shared.snapshot.epoch.subscribe();
    let before = *epoch.borrow_and_update();
    shared.snapshot.lock().waiting_since = Some(Instant::now());
    epoch.wait_for(|e| *e > before).await?;
    Ok(reply(200, Bytes::new()))
}

/// `POST /runtime/restore/error`: recorded, 202.
pub(super) async fn restore_error(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let error_type = req
        .headers()
        .get("lambda-runtime-function-error-type")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let body = req.into_body().collect().await?.to_bytes();
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    shared.snapshot.lock().error = Some((error_type, body));
    Ok(reply(202, r#"{"status":"OK"}"#))
}

impl RuntimeApi {
    /// Waits until the runtime calls `GET /runtime/restore/next` (init is done, the snapshot would be
    /// taken now); false after `timeout`.
    pub async fn wait_for_snapshot(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.shared.snapshot.lock().waiting_since.is_some() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// Restores the environment from the snapshot: the pending `/restore/next` returns 200, and every
    /// connection opened before now goes dead for any further request.
    pub fn restore(&self) {
        {
            let mut st = self.shared.snapshot.lock();
            st.restored_at = Some(Instant::now());
            st.first_next_after = None;
        }
        self.shared.snapshot.epoch.send_modify(|e| *e += 1);
    }

    /// From the restore to the runtime's first `/invocation/next` after it: what Lambda reports as the
    /// runtime's part of the restore duration (its after-restore work).
    pub fn restore_duration(&self) -> Option<Duration> {
        let st = self.shared.snapshot.lock();
        Some(st.first_next_after?.duration_since(st.restored_at?))
    }

    /// Requests sent on connections opened before the last restore (never answered).
    pub fn stale_requests(&self) -> usize {
        self.shared.snapshot.stale.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout` for `POST /runtime/restore/error`; returns (error type header, body).
    pub async fn restore_error(&self, timeout: Duration) -> Option<(String, Value)> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(e) = self.shared.snapshot.lock().error.clone() {
                return Some(e);
            }
            if Instant::now() >= end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
