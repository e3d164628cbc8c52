//! The way to php-fpm for the rest of the runtime: one slot per concurrent invocation, each with its
//! own single-worker pool, socket and kept-alive connection; and recovery that stays inside the slot.
//! A request holds its slot through a [`Lease`]: a script past its deadline, or a request abandoned
//! halfway (the client of a stream went away), gets its own worker killed (the master forks a new
//! one); a dead master is restarted before the next request while its orphaned workers finish what
//! other slots had in flight, and are killed once those are answered.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use super::pools::Pool;
use super::supervisor::{self, FpmError, Supervisor};
use super::workers;
use crate::fastcgi::{Connection, FcgiError, Output, Request};

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("php-fpm is unavailable: {0}")]
    Unavailable(#[from] FpmError),
    #[error(transparent)]
    Fcgi(#[from] FcgiError),
    #[error("the script was still running after {0:?} (the invocation deadline minus the safety margin); its worker was killed")]
    Timeout(Duration),
}

/// A connection and the php-fpm master (process group) whose worker it reaches.
struct Idle {
    conn: Connection,
    group: u32,
}

/// Cheap to clone: every clone is the same backend.
#[derive(Clone)]
pub struct Backend {
    inner: Arc<Inner>,
}

struct Inner {
    supervisor: tokio::sync::Mutex<Supervisor>,
    /// The slots' pools (the same across restarts: they come from the configuration).
    pools: Vec<Pool>,
    /// Per slot, its kept-alive connection while no request uses it.
    idle: Vec<Mutex<Option<Idle>>>,
    /// Slots no request holds.
    free: Mutex<Vec<usize>>,
    // With one worker per slot, more connections would only queue inside php-fpm.
    permits: Arc<Semaphore>,
    /// Requests in flight per master process group: a dead master's group is killed when it has none.
    in_flight: Mutex<Vec<(u32, usize)>>,
    /// Groups of dead masters whose workers still serve a request.
    retired: Mutex<Vec<u32>>,
    /// Per slot, the timer its requests' deadlines are kept with. One timer reset per request rather
    /// than a new one: a deadline later than the one it was armed with only moves a field, where
    /// registering a new timer woke tokio's driver through its eventfd on every request.
    timers: Vec<Mutex<Option<Pin<Box<Sleep>>>>>,
    /// A request failed as it would if the master had died: the next lease asks the kernel.
    suspect: AtomicBool,
}

/// One slot, held for one request: its connection, and what to do with its worker when the request
/// ends. Dropped without [`Lease::finish`] or [`Lease::discard`], the request was abandoned halfway
/// and the worker still runs it: it is killed, so the slot's next request is not stuck behind it.
pub struct Lease {
    inner: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
    slot: usize,
    group: u32,
    conn: Option<Connection>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Backend {
    /// `first` is the connection that proved php-fpm ready at start-up (it reaches slot 0).
    pub fn new(supervisor: Supervisor, first: Option<Connection>) -> Self {
        let pools = supervisor.pools().to_vec();
        let slots = pools.len().max(1);
        let group = supervisor.group().unwrap_or(0);
        let idle: Vec<_> = (0..slots).map(|_| Mutex::new(None)).collect();
        if let (Some(conn), Some(slot)) = (first, idle.first()) {
            *lock(slot) = Some(Idle { conn, group });
        }
        Self {
            inner: Arc::new(Inner {
                supervisor: tokio::sync::Mutex::new(supervisor),
                pools,
                idle,
                free: Mutex::new((0..slots).rev().collect()),
                permits: Arc::new(Semaphore::new(slots)),
                in_flight: Mutex::default(),
                retired: Mutex::default(),
                timers: (0..slots).map(|_| Mutex::new(None)).collect(),
                suspect: AtomicBool::new(false),
            }),
        }
    }

    /// Runs one FastCGI request within `timeout`, its whole answer collected.
    pub async fn execute(
        &self,
        request: &Request<'_>,
        timeout: Duration,
        max_stdout: usize,
        on_stderr: impl FnMut(&[u8]),
    ) -> Result<Output, BackendError> {
        let mut lease = self.lease().await?;
        let (conn, timer) = lease.timed(Instant::now() + timeout);
        let result = before(timer, conn.execute(request, max_stdout, on_stderr)).await;
        match result {
            Some(Ok(output)) => {
                lease.finish();
                Ok(output)
            }
            Some(Err(e)) => {
                lease.discard();
                Err(e.into())
            }
            None => {
                lease.timed_out();
                Err(BackendError::Timeout(timeout))
            }
        }
    }

    /// Waits for a free slot and its connection (restarting php-fpm first when it died).
    pub async fn lease(&self) -> Result<Lease, BackendError> {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| FcgiError::Closed)?;
        // A permit guarantees a free slot.
        let slot = lock(&self.inner.free).pop().unwrap_or(0);
        match self.inner.connection(slot).await {
            Ok(Idle { conn, group }) => {
                self.inner.count(group, 1);
                Ok(Lease {
                    inner: self.inner.clone(),
                    _permit: permit,
                    slot,
                    group,
                    conn: Some(conn),
                    timer: lock(&self.inner.timers[slot]).take(),
                })
            }
            Err(e) => {
                lock(&self.inner.free).push(slot);
                Err(e)
            }
        }
    }

    /// After a SnapStart restore: every environment restored from one snapshot starts with the same
    /// processes, so each gets new php-fpm workers (PHP seeds `mt_rand`, `rand` and `lcg_value` per
    /// process, and a worker's persistent connections would be shared by all the copies). The master
    /// stays, with the opcache it holds in shared memory. The kept-alive connections reach the old
    /// workers and are dropped; the next request of each slot opens a new one. Returns the new workers.
    pub async fn renew_workers(&self, timeout: Duration) -> Result<Vec<workers::Worker>, FpmError> {
        let inner = &self.inner;
        let mut supervisor = inner.supervisor.lock().await;
        for idle in &inner.idle {
            lock(idle).take();
        }
        supervisor.reset_backoff();
        if !supervisor.is_running() {
            return inner.restart_master(&mut supervisor).await;
        }
        let master = supervisor.group().unwrap_or(0);
        let pools: Vec<String> = supervisor.pools().iter().map(|p| p.name.clone()).collect();
        let old = workers::children(master);
        supervisor.stopping(&old.iter().map(|w| w.pid as u32).collect::<Vec<_>>());
        match workers::replace(master, &old, &pools, timeout).await {
            Ok(renewed) => Ok(renewed),
            // The master died meanwhile (no one forked the new workers).
            Err(_) if !supervisor.is_running() => inner.restart_master(&mut supervisor).await,
            Err(left) => Err(FpmError::WorkersNotReplaced { timeout, left }),
        }
    }

    pub async fn shutdown(&self) {
        self.inner.supervisor.lock().await.stop().await;
        for group in lock(&self.inner.retired).drain(..) {
            supervisor::kill_group(group);
        }
    }
}

impl Inner {
    /// The slot's idle connection when its master is still the current one, else a new connection
    /// (restarting php-fpm first when it died).
    async fn connection(&self, slot: usize) -> Result<Idle, BackendError> {
        let mut supervisor = self.supervisor.lock().await;
        if self.suspect.swap(false, Ordering::Relaxed) {
            supervisor.suspect_exit();
        }
        if !supervisor.is_running() {
            if let Some(dead) = supervisor.group() {
                lock(&self.retired).push(dead);
            }
            for idle in &self.idle {
                lock(idle).take();
            }
            self.reap();
            let started = std::time::Instant::now();
            let stream = supervisor.start().await?;
            tracing::info!("php-fpm restarted in {:?}", started.elapsed());
            // The connection that proved the new master ready reaches slot 0's pool.
            let group = supervisor.group().unwrap_or(0);
            let first = Idle {
                conn: Connection::from_stream(stream),
                group,
            };
            if slot == 0 {
                return Ok(first);
            }
            *lock(&self.idle[0]) = Some(first);
        }
        let group = supervisor.group().unwrap_or(0);
        if let Some(idle) = lock(&self.idle[slot]).take().filter(|i| i.group == group) {
            return Ok(idle);
        }
        let socket = self
            .pools
            .get(slot)
            .map(|p| p.socket.clone())
            .unwrap_or_else(|| supervisor.settings().socket.clone());
        drop(supervisor);
        Ok(Idle {
            conn: Connection::connect(&socket).await?,
            group,
        })
    }

    fn count(&self, group: u32, delta: isize) {
        let mut in_flight = lock(&self.in_flight);
        match in_flight.iter_mut().find(|(g, _)| *g == group) {
            Some((_, n)) => *n = n.saturating_add_signed(delta),
            None if delta > 0 => in_flight.push((group, delta.unsigned_abs())),
            None => {}
        }
        in_flight.retain(|(_, n)| *n > 0);
    }

    /// Kills the orphaned workers of dead masters that no request waits on any more.
    fn reap(&self) {
        let busy: Vec<u32> = lock(&self.in_flight).iter().map(|(g, _)| *g).collect();
        lock(&self.retired).retain(|group| {
            if busy.contains(group) {
                return true;
            }
            supervisor::kill_group(*group);
            false
        });
    }

    /// Starts a new master in place of a dead one (its workers are new too); returns its workers.
    async fn restart_master(
        &self,
        supervisor: &mut Supervisor,
    ) -> Result<Vec<workers::Worker>, FpmError> {
        if let Some(dead) = supervisor.group() {
            lock(&self.retired).push(dead);
        }
        self.reap();
        let stream = supervisor.start().await?;
        let group = supervisor.group().unwrap_or(0);
        let conn = Connection::from_stream(stream);
        *lock(&self.idle[0]) = Some(Idle { conn, group });
        Ok(workers::list(group))
    }

    fn pool_name(&self, slot: usize) -> &str {
        self.pools.get(slot).map_or("", |p| p.name.as_str())
    }
}

impl Lease {
    /// The slot's connection (present until the lease ends).
    pub fn connection(&mut self) -> &mut Connection {
        // Only the methods that consume the lease take it out.
        #[allow(clippy::expect_used)]
        self.conn
            .as_mut()
            .expect("a lease holds its connection until it ends")
    }

    /// The connection and the slot's timer, armed for `deadline`: for [`before`].
    pub fn timed(&mut self, deadline: Instant) -> (&mut Connection, Pin<&mut Sleep>) {
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        // Only the methods that consume the lease take the connection out.
        #[allow(clippy::expect_used)]
        let conn = self
            .conn
            .as_mut()
            .expect("a lease holds its connection until it ends");
        (conn, timer.as_mut())
    }

    /// The request completed: the connection is kept for the slot's next request.
    pub fn finish(mut self) {
        if let Some(conn) = self.conn.take() {
            *lock(&self.inner.idle[self.slot]) = Some(Idle {
                conn,
                group: self.group,
            });
        }
    }

    /// The connection is out of step or dead (the worker died): dropped, and the slot connects anew
    /// next time. Its worker is left alone: the master has replaced it already.
    pub fn discard(mut self) {
        self.conn = None;
        self.inner.suspect.store(true, Ordering::Relaxed);
    }

    /// The script ran past its deadline: its worker is killed.
    pub fn timed_out(mut self) {
        self.conn = None;
        self.inner.suspect.store(true, Ordering::Relaxed);
        self.kill_worker("at the deadline");
    }

    fn kill_worker(&self, when: &str) {
        let pool = self.inner.pool_name(self.slot);
        match workers::kill_worker(self.group, pool) {
            0 => tracing::warn!("the php-fpm worker of pool {pool} was already gone {when}"),
            _ => tracing::warn!("killed the php-fpm worker of pool {pool}, still running {when}"),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.kill_worker("when its request was abandoned");
        }
        if let Some(timer) = self.timer.take() {
            *lock(&self.inner.timers[self.slot]) = Some(timer);
        }
        lock(&self.inner.free).push(self.slot);
        self.inner.count(self.group, -1);
        self.inner.reap();
    }
}

/// `work`'s output, or `None` when `timer` fires first.
pub async fn before<T>(timer: Pin<&mut Sleep>, work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        out = work => Some(out),
        () = timer => None,
    }
}

/// The state behind these locks stays consistent at every await point, so a poisoned lock (a panic
/// elsewhere while holding it) is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
