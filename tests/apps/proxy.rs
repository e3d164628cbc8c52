//! A counting TCP proxy in front of `bootstrap serve`, to tell which files the browser fetched.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TCP proxy in front of `serve` that keeps every byte the browser sent, to tell which files it fetched.
pub struct Proxy {
    pub port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: u16) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let sent2 = sent.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let sent = sent2.clone();
                tokio::spawn(async move {
                    let Ok(mut server) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    let (mut cr, mut cw) = client.split();
                    let (mut sr, mut sw) = server.split();
                    let up = async {
                        let mut buf = vec![0u8; 16384];
                        loop {
                            match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    sent.lock()
                                        .unwrap_or_else(|p| p.into_inner())
                                        .extend_from_slice(&buf[..n]);
                                    if sw.write_all(&buf[..n]).await.is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = sw.shutdown().await;
                    };
                    let down = async {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                        let _ = cw.shutdown().await;
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(120), async {
                        tokio::join!(up, down)
                    })
                    .await;
                });
            }
        });
        Proxy { port, sent, task }
    }

    /// The request lines the browser sent ("GET /css/app.css HTTP/1.1").
    pub fn request_lines(&self) -> Vec<String> {
        let sent = String::from_utf8_lossy(&self.sent.lock().unwrap_or_else(|p| p.into_inner()))
            .into_owned();
        sent.split("\r\n")
            .filter(|l| {
                ["GET ", "POST ", "HEAD "].iter().any(|m| l.starts_with(m))
                    && l.ends_with(" HTTP/1.1")
            })
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
