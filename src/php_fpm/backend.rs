//! The way to php-fpm for the rest of the runtime: one kept-alive connection per worker, the
//! invocation deadline, and recovery (a dead master is restarted before the next request, a stuck
//! worker is killed and replaced by the master).

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::supervisor::{FpmError, Supervisor};
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

pub struct Backend {
    supervisor: tokio::sync::Mutex<Supervisor>,
    idle: Mutex<Vec<Connection>>,
    // With one worker, several connections would only queue inside php-fpm: hand out one per worker.
    permits: Semaphore,
}

impl Backend {
    /// `first` is the connection that proved php-fpm ready at start-up.
    pub fn new(supervisor: Supervisor, first: Option<Connection>) -> Self {
        let workers = supervisor.settings().workers.max(1);
        Self {
            supervisor: tokio::sync::Mutex::new(supervisor),
            idle: Mutex::new(first.into_iter().collect()),
            permits: Semaphore::new(workers),
        }
    }

    /// Runs one FastCGI request within `timeout`.
    pub async fn execute(
        &self,
        request: &Request<'_>,
        timeout: Duration,
        max_stdout: usize,
        on_stderr: impl FnMut(&[u8]),
    ) -> Result<Output, BackendError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| FcgiError::Closed)?;
        let work = async {
            let mut conn = self.connection().await?;
            let result = conn.execute(request, max_stdout, on_stderr).await;
            Ok::<_, BackendError>((conn, result))
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(Ok((conn, Ok(output)))) => {
                self.put_back(conn);
                Ok(output)
            }
            Ok(Ok((_broken, Err(e)))) => Err(e.into()),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                let killed = self.supervisor.lock().await.kill_workers();
                tracing::warn!("killed {killed} php-fpm worker(s) still running at the deadline");
                Err(BackendError::Timeout(timeout))
            }
        }
    }

    /// An idle connection when php-fpm is still up, else a new one (restarting php-fpm if it died).
    async fn connection(&self) -> Result<Connection, BackendError> {
        let mut supervisor = self.supervisor.lock().await;
        if !supervisor.is_running() {
            self.idle
                .lock()
                .map(|mut idle| idle.clear())
                .unwrap_or_default();
            let started = std::time::Instant::now();
            let stream = supervisor.start().await?;
            tracing::info!("php-fpm restarted in {:?}", started.elapsed());
            return Ok(Connection::from_stream(stream));
        }
        if let Some(conn) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(conn);
        }
        let socket = supervisor.settings().socket.clone();
        drop(supervisor);
        Ok(Connection::connect(&socket).await?)
    }

    fn put_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }

    pub async fn shutdown(&self) {
        self.supervisor.lock().await.stop().await;
    }
}
