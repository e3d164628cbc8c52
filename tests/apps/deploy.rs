//! An app deployed: the real bootstrap over a read-only task root, run as an unprivileged user (nobody
//! when the suite runs as root, as on Lambda), in Lambda mode behind the Runtime API emulator or as
//! `bootstrap serve`; and how one request reaches it.

use std::path::Path;
use std::time::Duration;

use crate::client::{parse_v1_response, parse_v2_response, Resp};
use crate::install::is_root;
use crate::support::bootstrap::{free_port, wait_for_port, Bootstrap};
use crate::support::events::{Request, Source};
use crate::support::{http, Outcome, RuntimeApi};

/// The browser the suite pretends to be.
pub const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) lambda-fpm-app-suite";
const ACCEPT: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

/// How requests reach the app.
pub enum Transport {
    /// Lambda events of `source` (the shared event builder) through the Runtime API emulator.
    Lambda { api: RuntimeApi, source: Source },
    /// Plain HTTP to `bootstrap serve`.
    Serve { port: u16 },
}

pub struct Deployed {
    pub transport: Transport,
    pub proc: Bootstrap,
}

/// The user the bootstrap runs as: nobody when we are root (as in CI), so it and its php-fpm can write
/// only under their TMPDIR and the root-owned task root is read-only for them, as on Lambda.
fn bootstrap_user() -> Option<(u32, u32)> {
    is_root().then_some((65534, 65534))
}

/// What the app suite adds to the harness's Lambda environment.
fn app_env<'a>(app: &'a str, env: &'a [(String, String)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = vec![
        ("AWS_LAMBDA_FUNCTION_NAME", app),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
        ("LANG", "C.UTF-8"),
        ("TZ", ":UTC"),
    ];
    vars.extend(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    vars
}

impl Deployed {
    /// The bootstrap in Lambda mode against a fresh Runtime API emulator, as nobody; requests arrive as
    /// events of `source`.
    pub async fn lambda(
        app: &str,
        root: &Path,
        handler: &str,
        env: &[(String, String)],
        source: Source,
    ) -> Deployed {
        let api = RuntimeApi::start().await;
        let vars = app_env(app, env);
        let mut proc = match bootstrap_user() {
            Some((uid, gid)) => Bootstrap::start_as(&api, root, handler, &vars, uid, gid),
            None => Bootstrap::start(&api, root, handler, &vars),
        };
        if !api.wait_next_calls(1, Duration::from_secs(20)).await {
            let exit = proc.try_exit();
            panic!(
                "{app}: the bootstrap never called GET /next (exit: {exit:?}); logs:\n{}",
                proc.logs()
            );
        }
        if is_root() {
            // setpriv has exec'd the bootstrap by now (it called GET /next).
            assert_eq!(
                proc.uid(),
                Some(65534),
                "{app}: the bootstrap must run as nobody"
            );
        }
        Deployed {
            transport: Transport::Lambda { api, source },
            proc,
        }
    }

    /// `bootstrap serve` on a free port, as nobody.
    pub async fn serve(
        app: &str,
        root: &Path,
        handler: &str,
        env: &[(String, String)],
    ) -> Deployed {
        let port = free_port();
        let mut proc =
            Bootstrap::serve_as(root, handler, port, &app_env(app, env), bootstrap_user());
        if !wait_for_port(port, Duration::from_secs(20)).await {
            let exit = proc.try_exit();
            panic!(
                "{app}: `bootstrap serve` never listened on 127.0.0.1:{port} (exit: {exit:?}); logs:\n{}",
                proc.logs()
            );
        }
        Deployed {
            transport: Transport::Serve { port },
            proc,
        }
    }

    pub fn label(&self) -> String {
        match &self.transport {
            Transport::Lambda { source, .. } => format!("Lambda {source:?}"),
            Transport::Serve { .. } => "serve".into(),
        }
    }

    /// Scheme and host the app sees, for absolute URLs it builds.
    pub fn origin(&self) -> String {
        match &self.transport {
            Transport::Lambda { source, .. } => format!("https://{}", source.host()),
            Transport::Serve { port } => format!("http://127.0.0.1:{port}"),
        }
    }

    /// Sends `req` as the suite's browser (its User-Agent, Accept and Accept-Encoding unless `req` sets
    /// them); a gzip body is decompressed, as a browser would.
    pub async fn send(&self, req: &Request) -> Resp {
        let mut req = req.clone();
        let browser = [
            ("User-Agent", USER_AGENT),
            ("Accept", ACCEPT),
            ("Accept-Encoding", "gzip"),
        ];
        for (name, value) in browser {
            if !req
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(name))
            {
                req.headers.push((name.into(), value.into()));
            }
        }
        let resp = match &self.transport {
            Transport::Serve { port } => {
                let mut headers: Vec<(&str, &str)> = req
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let cookie = req.cookies.join("; ");
                if !cookie.is_empty() {
                    headers.push(("cookie", &cookie));
                }
                let body = match &req.body {
                    Some((ct, b)) => {
                        headers.push(("content-type", ct));
                        b.clone()
                    }
                    None => Vec::new(),
                };
                let r = http::request(*port, &req.method, &req.target, &headers, body).await;
                let set_cookies = r
                    .header_all("set-cookie")
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                Resp {
                    status: r.status,
                    headers: r.headers,
                    set_cookies,
                    body: r.body,
                }
            }
            Transport::Lambda { api, source } => {
                let event = source.request(&req);
                let outcome = api
                    .invoke(serde_json::to_vec(&event).expect("serialize event"))
                    .await;
                if !matches!(outcome, Outcome::Response(_)) {
                    panic!(
                        "{} {}: expected a /response, got {}\nlogs:\n{}",
                        req.method,
                        req.target,
                        outcome.describe(),
                        self.proc.logs()
                    );
                }
                let v = outcome.json();
                if source.is_v2() {
                    parse_v2_response(&v)
                } else {
                    parse_v1_response(&v)
                }
            }
        };
        resp.decoded()
    }
}
