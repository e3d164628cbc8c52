//! lambda-fpm: an AWS Lambda custom runtime that serves PHP apps through php-fpm.
//!
//! ```text
//!  Runtime API ──/next──▶ lambda::runtime ──event bytes──▶ app::App::handle_event
//!                                                          │
//!   lambda::events  (source detection, event → message::HttpRequest)
//!   router          (path × document root → script | static file | redirect | refusal)
//!   static_files    (files answered without php-fpm)
//!   fastcgi::params (request × route → CGI params, plus the invocation's variables from lambda)
//!   fastcgi::Request (params + body)  ─▶ fastcgi::wire (encoding, no I/O)
//!   php_fpm::Backend (kept-alive connection, deadline, recovery) ◀─▶ php_fpm::Supervisor (process)
//!   cgi             (FastCGI stdout → message::HttpResponse; stderr → logs)
//!   compress        (Accept-Encoding × response → zstd / brotli / gzip; the streamed path's Encoder)
//!   lambda::response (source × response → response JSON, size limits)
//!                                                          │
//!  Runtime API ◀──/response or /error───────────────────────┘
//!  (lambda::runtime_api: each call a value built without I/O, sent on one kept-alive HTTP/1.1
//!   connection; app::AppError becomes the /error Diagnostic)
//!
//!  serve: local HTTP ──▶ v2 event ──▶ the same App::handle_event ──▶ v2 JSON ──▶ HTTP
//! ```
//! `cli` is the shape of argv (clap); `config` is the only reader of the environment (a pure parse into
//! typed values, then `config::files` for the file system); `main` owns the process lifecycle and exit
//! codes; `lifecycle` runs between php-fpm being ready and the first `/next` (the warm-up
//! requests through the same `App`, and SnapStart's snapshot and restore).

pub mod app;
pub mod body;
pub mod cgi;
pub mod cli;
pub mod compress;
pub mod config;
pub mod console;
pub mod fastcgi;
pub mod lambda;
pub mod lifecycle;
pub mod logging;
pub mod message;
pub mod php_fpm;
pub mod router;
pub mod serve;
pub mod static_files;
pub mod worker;
