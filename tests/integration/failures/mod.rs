//! Failures: a correct HTTP answer, a clear log line, and the next invocation works (the failure table of
//! docs/design.md).
//!
//! One module per kind of failure: [`php`] (errors in PHP and its output), [`timeouts`] (the deadline),
//! [`events`] (events that are not HTTP requests), [`init`] (failures before the first invocation).

mod events;
mod init;
mod php;
mod timeouts;

use crate::support::Lambda;

async fn next_works(lambda: &Lambda, what: &str) {
    lambda.assert_serving(what).await;
}
