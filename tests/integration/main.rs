//! The integration suite: the real `bootstrap` against real php-fpm and a local Runtime API.
//!
//! See tests/README.md. Every test starts its own Runtime API emulator and bootstrap (own TMPDIR),
//! so tests are independent and run in parallel.

#[path = "../support/mod.rs"]
mod support;

mod cargo_lambda;
mod cli;
mod compression;
mod concurrency;
mod console;
mod emulator;
mod event_handler;
mod events;
mod failures;
mod faults;
mod hostile;
mod logs;
mod reliability;
mod responses;
mod serve;
mod snapstart;
mod static_files;
mod streaming;
mod tenants;
mod warmup;
