//! Arbitrary bytes as php-fpm's answer to `Connection::execute`, over a real Unix socket pair: record
//! framing, padding, unknown types and request ids, short END_REQUEST, EOF mid-record. Never a panic,
//! stdout never above the cap, and the kept-alive connection is reused while answers parse.
#![no_main]

use std::sync::OnceLock;

use lambda_fpm::fastcgi::{Connection, Params, Request};
use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

const MAX_STDOUT: usize = 8192;

fuzz_target!(|data: &[u8]| {
    let rt = RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    });
    rt.block_on(async {
        let (ours, theirs) = UnixStream::pair().expect("socketpair");
        // Keep php-fpm's read half open to the end: our request writes never hit a closed socket.
        let (_their_read, mut their_write) = theirs.into_split();
        let mut conn = Connection::from_stream(ours);
        let params = Params::default();
        let request = Request::new(&params, b"");
        let client = async {
            let mut answers = 0;
            let mut stderr = 0usize;
            while answers < 8 {
                match conn
                    .execute(&request, MAX_STDOUT, |chunk| stderr += chunk.len())
                    .await
                {
                    Ok(out) => {
                        assert!(out.stdout.len() <= MAX_STDOUT);
                        answers += 1;
                    }
                    Err(_) => break,
                }
            }
            assert!(stderr <= data.len());
        };
        let php_fpm = async {
            let _ = their_write.write_all(data).await;
            let _ = their_write.shutdown().await;
        };
        tokio::join!(client, php_fpm);
    });
});
