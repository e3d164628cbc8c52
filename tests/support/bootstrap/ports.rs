//! TCP ports on 127.0.0.1, for `bootstrap serve`: a free one, and waiting until one accepts connections.

use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bind :0, read the port, drop the listener).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Waits until 127.0.0.1:port accepts TCP connections.
pub async fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}
