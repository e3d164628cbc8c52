//! `bootstrap`: argv → Lambda mode or `serve`; configuration; logging; run; exit code.
//! The exit policy lives here only: clap's for usage errors (2), [`init_failed`] for anything that stops
//! the runtime before it serves (1), and each mode's own result after that.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use lambda_fpm::app::App;
use lambda_fpm::cli::Cli;
use lambda_fpm::config::{self, files, Config, Mode, Parsed, Reporting, Setup};
use lambda_fpm::fastcgi::params::Site;
use lambda_fpm::fastcgi::Connection;
use lambda_fpm::lambda::diagnostic::Diagnostic;
use lambda_fpm::lambda::runtime;
use lambda_fpm::lambda::runtime_api::{Endpoint, RuntimeApi};
use lambda_fpm::lifecycle;
use lambda_fpm::logging;
use lambda_fpm::php_fpm::{Backend, Supervisor};
use lambda_fpm::router::{htaccess, script_name, RouteCache, Router, Script};
use lambda_fpm::static_files::StaticConfig;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};

fn main() -> ExitCode {
    let started = Instant::now();
    // Usage errors exit 2, --help and --version exit 0, all inside clap before anything starts.
    let cli = Cli::parse();
    let parsed = config::from_process_env(&cli);
    let r = &parsed.reporting;
    logging::init(r.log_format, r.log_level, r.timestamps);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("init failed: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(parsed, started))
}

async fn run(parsed: Parsed, started: Instant) -> ExitCode {
    // Registered before php-fpm exists: a SIGTERM during init is then held for the loop below instead
    // of killing the bootstrap outright and orphaning php-fpm.
    let signals = Signals::register();
    let Parsed { reporting, config } = parsed;
    let config = match config {
        Ok(config) => config,
        Err(e) => return init_failed(&reporting, e.error_type(), &e).await,
    };
    let setup = match config::prepare(&config, &files::bootstrap_dir()) {
        Ok(setup) => setup,
        Err(e) => return init_failed(&reporting, e.error_type(), &e).await,
    };
    let code = start(&reporting, &config, &setup, started, signals).await;
    let _ = std::fs::remove_dir_all(&setup.runtime_dir);
    code
}

/// Where requests come from.
enum Front<'a> {
    Lambda(&'a Endpoint),
    Serve(TcpListener),
}

/// Starts php-fpm, then the mode's loop; returns when the loop ends.
async fn start(
    reporting: &Reporting,
    config: &Config,
    setup: &Setup,
    started: Instant,
    signals: Signals,
) -> ExitCode {
    // Bound before php-fpm starts: a port in use is reported without starting anything.
    let front = match &config.mode {
        Mode::Lambda { endpoint } => Front::Lambda(endpoint),
        Mode::Serve { listen } => match TcpListener::bind(listen).await {
            Ok(listener) => Front::Serve(listener),
            Err(e) => {
                let error = format!("cannot listen on {listen}: {e}");
                return init_failed(reporting, "Runtime.InvalidConfiguration", &error).await;
            }
        },
    };
    let mut supervisor = Supervisor::new(setup.fpm.clone());
    let spawned = supervisor.spawn();
    // While php-fpm starts (tens of ms): the router's look at the document root.
    let router = build_router(config, setup);
    let ready = match spawned {
        Ok(()) => supervisor.wait_ready().await,
        Err(e) => Err(e),
    };
    let first = match ready {
        Ok(stream) => stream,
        Err(e) => {
            supervisor.stop().await;
            return init_failed(reporting, "Runtime.PhpFpmStartFailed", &e).await;
        }
    };
    let backend = Backend::new(supervisor, Some(Connection::from_stream(first)));
    let app = Arc::new(build_app(config, setup, router, backend));
    let code = match front {
        Front::Lambda(endpoint) => {
            tracing::info!(
                "lambda-fpm ready in {} ms: php-fpm {}, handler {}, {} worker(s)",
                started.elapsed().as_millis(),
                setup.fpm.binary.display(),
                setup.handler.display(),
                config.concurrency
            );
            lambda_mode(&app, endpoint, config, signals).await
        }
        Front::Serve(listener) => serve_mode(&app, setup, listener, signals).await,
    };
    app.backend.shutdown().await;
    code
}

/// The router, with the directories `.htaccess` files deny added to the deny list (read once: the
/// task root is read-only on Lambda).
fn build_router(config: &Config, setup: &Setup) -> Router {
    let front_controller = Script {
        filename: setup.handler.clone(),
        name: script_name(&setup.document_root, &setup.handler),
        path_info: None,
    };
    let mut deny = config.deny.clone();
    if config.htaccess {
        let denied = htaccess::denied_dirs(&setup.document_root);
        if !denied.is_empty() {
            tracing::info!(
                "never serving {} (denied by their .htaccess; LAMBDA_FPM_HTACCESS=off to ignore)",
                denied.join(", ")
            );
        }
        deny.extend(denied);
    }
    Router {
        cache: RouteCache::for_root(&setup.document_root),
        document_root: setup.document_root.clone(),
        front_controller,
        index_files: config.index_files.clone(),
        deny,
    }
}

fn build_app(config: &Config, setup: &Setup, router: Router, backend: Backend) -> App {
    App {
        router,
        site: Site::new(setup.document_root.display().to_string()),
        static_config: StaticConfig {
            cache_control: config.static_cache_control.clone(),
        },
        compression: config.compression.clone(),
        backend,
        default_timeout: config.default_timeout,
        timeout_margin: config.timeout_margin,
        invoke_mode: config.invoke_mode,
        event_handler: setup.event_handler.clone(),
        console: setup.console.clone(),
    }
}

/// The init steps left (warm-up, SnapStart), then `config.concurrency` invocation loops until one fails
/// (exit 1) or Lambda sends SIGTERM (exit 0).
async fn lambda_mode(
    app: &Arc<App>,
    endpoint: &Endpoint,
    config: &Config,
    signals: Signals,
) -> ExitCode {
    let handler = |app: Arc<App>| {
        move |event: bytes::Bytes, info| {
            let app = app.clone();
            async move { app.handle_event(&event, &info).await }
        }
    };
    let serve = async {
        let init = lifecycle::before_first_next(app, endpoint, &config.init_type, &config.warmup);
        if let Err(e) = init.await {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
        let mut loops = tokio::task::JoinSet::new();
        for _ in 0..config.concurrency.max(1) {
            loops.spawn(runtime::run(
                handler(app.clone()),
                RuntimeApi::new(endpoint.clone()),
            ));
        }
        match loops.join_next().await {
            Some(Ok(Err(e))) => tracing::error!("{e}"),
            Some(Err(e)) => tracing::error!("an invocation loop failed: {e}"),
            _ => {}
        }
        ExitCode::FAILURE
    };
    tokio::select! {
        code = serve => code,
        () = signals.terminated() => ExitCode::SUCCESS,
    }
}

async fn serve_mode(
    app: &Arc<App>,
    setup: &Setup,
    listener: TcpListener,
    signals: Signals,
) -> ExitCode {
    let address = listener
        .local_addr()
        .map(|a: SocketAddr| a.to_string())
        .unwrap_or_default();
    tracing::info!(
        "serving {} on http://{address} (php-fpm {}); Ctrl-C stops",
        setup.handler.display(),
        setup.fpm.binary.display()
    );
    match lambda_fpm::serve::run(app.clone(), listener, signals.terminated()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("serve failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Init failed: say so in the logs and, in Lambda mode, to `/init/error` so the console shows what to
/// fix. Every failure before the first request ends here.
async fn init_failed(
    reporting: &Reporting,
    error_type: &str,
    error: &dyn std::fmt::Display,
) -> ExitCode {
    tracing::error!("init failed: {error}");
    if let Some(endpoint) = &reporting.endpoint {
        let mut api = RuntimeApi::new(endpoint.clone());
        if let Err(e) = api
            .init_error(&Diagnostic::new(error_type, error.to_string()))
            .await
        {
            tracing::error!("reporting the init error failed: {e}");
        }
    }
    ExitCode::FAILURE
}

/// SIGTERM (Lambda's shutdown, `kill`) and SIGINT (Ctrl-C).
struct Signals {
    term: Option<Signal>,
    int: Option<Signal>,
}

impl Signals {
    fn register() -> Self {
        Self {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
        }
    }

    async fn terminated(mut self) {
        let term = async {
            match self.term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        let int = async {
            match self.int.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = term => {}
            () = int => {}
        }
    }
}
