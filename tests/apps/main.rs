//! The real-app suite: Laravel, Symfony, Slim, WordPress and DokuWiki, installed from Debian's packages by
//! `tests/apps/install.sh` into read-only task roots, served by the real bootstrap run as an unprivileged
//! user (nobody) with only its TMPDIR writable.
//!
//! For each app: home page, a static asset, a form POST with cookies (login), redirects and a 404 —
//! through Lambda HTTP API v2 events and API Gateway REST v1 events via the local Runtime API, and through
//! `bootstrap serve` over HTTP; then headless Chromium loads the home page through `serve` (DOM title,
//! stylesheet fetched, screenshot in target/screenshots/<app>.png that must not be blank).
//!
//! Laravel and Symfony also run their queued jobs, schedules and console commands through the same
//! bootstrap (`LAMBDA_FPM_EVENT_HANDLER`, `LAMBDA_FPM_CONSOLE`; queues.rs).
//!
//!   sudo tests/apps/install.sh && cargo test --test apps
//!
//! Without the installed apps every test fails and says to run install.sh.

#[path = "../support/mod.rs"]
mod support;

mod browser;
mod catalog;
mod checks;
mod client;
mod deploy;
mod install;
mod process;
mod proxy;
mod queues;

use std::path::Path;

use catalog::App;
use deploy::Deployed;
use install::task_root;
use process::MariaDb;
use support::events::Source;

async fn run_app(app: App) {
    let root = task_root(app.name);
    for source in [Source::HttpV2, Source::Rest] {
        let d = Deployed::lambda(app.name, &root, app.handler, &app.env, source).await;
        checks::http_checks(&app, &d).await;
        checks::app_specific(&app, &d).await;
    }
    let mut serve_env = app.env.clone();
    serve_env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), app.name.into()));
    let d = Deployed::serve(app.name, &root, app.handler, &serve_env).await;
    checks::http_checks(&app, &d).await;
    checks::browser_checks(&app, &d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn laravel_app() {
    run_app(catalog::laravel()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symfony_app() {
    run_app(catalog::symfony()).await;
}

/// The app's non-HTTP side in the same function as its pages: jobs, schedules and commands.
async fn run_events(app: App, console: &str) {
    let root = task_root(app.name);
    let mut env = app.env.clone();
    env.extend(queues::event_env(console, &install::layer_php_dir()));
    let d = Deployed::lambda(app.name, &root, app.handler, &env, Source::HttpV2).await;
    match app.name {
        "laravel" => queues::laravel(&d).await,
        _ => queues::symfony(&d).await,
    }
    checks::http_checks(&app, &d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn laravel_queue_schedule_and_console() {
    run_events(catalog::laravel(), "artisan").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symfony_messenger_and_console() {
    run_events(catalog::symfony(), "bin/console").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slim_app() {
    run_app(catalog::slim()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wordpress_app() {
    let root = task_root("wordpress");
    let seed = root.parent().unwrap_or(Path::new("/")).join("wordpress-db");
    let db = MariaDb::start(&seed).await;
    run_app(catalog::wordpress(db.port)).await;
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dokuwiki_app() {
    run_app(catalog::dokuwiki()).await;
}
