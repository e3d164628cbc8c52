//! `bootstrap`: argv → Lambda mode or `serve`; configuration; logging; run; exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use lambda_fpm::app::App;
use lambda_fpm::config::{Config, ConfigError, Mode};
use lambda_fpm::fastcgi::params::Site;
use lambda_fpm::fastcgi::Connection;
use lambda_fpm::lambda::diagnostic::Diagnostic;
use lambda_fpm::lambda::runtime;
use lambda_fpm::lambda::runtime_api::{Endpoint, RuntimeApi};
use lambda_fpm::logging::{self, LogFormat};
use lambda_fpm::php_fpm::{Backend, Supervisor};
use lambda_fpm::router::{script_name, Router, Script};
use lambda_fpm::static_files::StaticConfig;
use tokio::signal::unix::{signal, Signal, SignalKind};

fn main() -> ExitCode {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lambda-fpm: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args, exe_dir, started))
}

async fn run(args: Vec<String>, exe_dir: PathBuf, started: Instant) -> ExitCode {
    // Registered before php-fpm exists: a SIGTERM during init is then held for the loop below instead
    // of killing the bootstrap outright and orphaning php-fpm.
    let signals = Signals::register();
    let env = |name: &str| std::env::var(name).ok();
    let config = match Config::load(&args, &env, &exe_dir) {
        Ok(config) => config,
        Err(e) => return config_failed(&args, e).await,
    };
    let serve = matches!(config.mode, Mode::Serve { .. });
    logging::init(config.log_format, config.log_level, serve);

    // php-fpm first: its ~40 ms start-up overlaps with everything else init does.
    let mut supervisor = Supervisor::new(config.fpm.clone());
    let spawned = supervisor.spawn();
    let ready = match spawned {
        Ok(()) => supervisor.wait_ready().await,
        Err(e) => Err(e),
    };
    let code = match &config.mode {
        Mode::Lambda => lambda_mode(&config, supervisor, ready, started, signals).await,
        Mode::Serve { listen, .. } => {
            serve_mode(&config, supervisor, ready, *listen, signals).await
        }
    };
    let _ = std::fs::remove_dir_all(&config.runtime_dir);
    code
}

fn build_app(config: &Config, backend: Backend) -> App {
    let front_controller = Script {
        filename: config.handler.clone(),
        name: script_name(&config.document_root, &config.handler),
        path_info: None,
    };
    App {
        router: Router {
            document_root: config.document_root.clone(),
            front_controller,
            index_files: config.index_files.clone(),
            deny: config.deny.clone(),
        },
        site: Site::new(config.document_root.display().to_string()),
        static_config: StaticConfig {
            cache_control: config.static_cache_control.clone(),
        },
        backend,
        default_timeout: config.default_timeout,
        timeout_margin: config.timeout_margin,
    }
}

async fn lambda_mode(
    config: &Config,
    supervisor: Supervisor,
    ready: Result<tokio::net::UnixStream, lambda_fpm::php_fpm::FpmError>,
    started: Instant,
    signals: Signals,
) -> ExitCode {
    let endpoint = match Endpoint::parse(config.runtime_api.as_deref().unwrap_or_default()) {
        Ok(endpoint) => endpoint,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut api = RuntimeApi::new(endpoint.clone());
    let first = match ready {
        Ok(stream) => stream,
        Err(e) => {
            tracing::error!("init failed: {e}");
            let _ = api
                .init_error(&Diagnostic::new("Runtime.PhpFpmStartFailed", e.to_string()))
                .await;
            return ExitCode::FAILURE;
        }
    };
    let app = Arc::new(build_app(
        config,
        Backend::new(supervisor, Some(Connection::from_stream(first))),
    ));
    tracing::info!(
        "lambda-fpm ready in {} ms: php-fpm {}, handler {}, {} worker(s)",
        started.elapsed().as_millis(),
        config.fpm.binary.display(),
        config.handler.display(),
        config.concurrency
    );
    let handler = |app: Arc<App>| {
        move |event: bytes::Bytes, info| {
            let app = app.clone();
            async move { app.handle_event(&event, &info).await }
        }
    };
    let mut loops = tokio::task::JoinSet::new();
    loops.spawn(runtime::run(handler(app.clone()), api));
    for _ in 1..config.concurrency {
        loops.spawn(runtime::run(
            handler(app.clone()),
            RuntimeApi::new(endpoint.clone()),
        ));
    }
    let code = tokio::select! {
        ended = loops.join_next() => {
            match ended {
                Some(Ok(Err(e))) => tracing::error!("{e}"),
                Some(Err(e)) => tracing::error!("an invocation loop failed: {e}"),
                _ => {}
            }
            ExitCode::FAILURE
        }
        () = signals.terminated() => ExitCode::SUCCESS,
    };
    app.backend.shutdown().await;
    code
}

async fn serve_mode(
    config: &Config,
    supervisor: Supervisor,
    ready: Result<tokio::net::UnixStream, lambda_fpm::php_fpm::FpmError>,
    listen: std::net::SocketAddr,
    signals: Signals,
) -> ExitCode {
    let first = match ready {
        Ok(stream) => stream,
        Err(e) => {
            tracing::error!("php-fpm did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = Arc::new(build_app(
        config,
        Backend::new(supervisor, Some(Connection::from_stream(first))),
    ));
    tracing::info!(
        "serving {} on http://{} (php-fpm {}); Ctrl-C stops",
        config.handler.display(),
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        config.fpm.binary.display()
    );
    let result = lambda_fpm::serve::run(app.clone(), listener, signals.terminated()).await;
    app.backend.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("serve failed: {e}");
            ExitCode::FAILURE
        }
    }
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

/// Configuration errors before logging is set up: say so on stderr and, in Lambda mode, to
/// `/init/error` so the console shows what to fix.
async fn config_failed(args: &[String], error: ConfigError) -> ExitCode {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    logging::init(
        if json {
            LogFormat::Json
        } else {
            LogFormat::Text
        },
        tracing::Level::INFO,
        !args.is_empty(),
    );
    tracing::error!("init failed: {error}");
    if args.is_empty() {
        if let Some(endpoint) = std::env::var("AWS_LAMBDA_RUNTIME_API")
            .ok()
            .and_then(|v| Endpoint::parse(&v).ok())
        {
            let error_type = match error {
                ConfigError::NoHandler | ConfigError::HandlerMissing { .. } => {
                    "Runtime.HandlerNotFound"
                }
                ConfigError::NoPhpFpm(_) => "Runtime.PhpFpmNotFound",
                _ => "Runtime.InvalidConfiguration",
            };
            let mut api = RuntimeApi::new(endpoint);
            if let Err(e) = api
                .init_error(&Diagnostic::new(error_type, error.to_string()))
                .await
            {
                tracing::error!("reporting the init error failed: {e}");
            }
        }
    }
    ExitCode::FAILURE
}
