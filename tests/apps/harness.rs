//! What the app suite needs beyond the shared support: the bootstrap run as an unprivileged user over a
//! root-owned task root, the app's requests as Lambda v2 / REST v1 events or plain HTTP to `serve`, a
//! cookie jar, MariaDB for WordPress, a counting TCP proxy, headless Chromium and a tiny PNG decoder.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::bootstrap::{descendants_of, free_port, wait_for_port, Bootstrap};
use crate::support::{http, Outcome, RuntimeApi};

// ------------------------------------------------------------------------------------------ installation

/// Where install.sh put the task roots: $LAMBDA_FPM_APPS or target/apps.
pub fn apps_dir() -> PathBuf {
    match std::env::var_os("LAMBDA_FPM_APPS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/apps"),
    }
}

/// The task root of an installed app; fails the test (never skips it) when install.sh has not run.
pub fn task_root(app: &str) -> PathBuf {
    let dir = apps_dir();
    let root = dir.join(app);
    if !dir.join("INSTALLED").is_file() || !root.is_dir() {
        panic!(
            "the real apps are not installed in {}: run `sudo tests/apps/install.sh` first \
             (it installs Debian's packages and prepares every app's task root; set LAMBDA_FPM_APPS to use \
             another directory)",
            dir.display()
        );
    }
    root
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------------------------ the unprivileged process

/// A helper process of ours (mariadbd; the bootstrap itself runs under `support::Bootstrap`) with its
/// logs; stopped by pid on drop (SIGTERM, then SIGKILL), together with any descendant that outlived it.
pub struct Proc {
    pub name: String,
    child: Child,
    logs: Arc<Mutex<Vec<u8>>>,
    seen: Vec<u32>,
}

impl Proc {
    pub fn spawn(name: &str, mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name} ({cmd:?}): {e}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = logs.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut line = Vec::new();
                while let Ok(n) = reader.read_until(b'\n', &mut line) {
                    if n == 0 {
                        break;
                    }
                    logs.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&line);
                    line.clear();
                }
            });
        }
        Proc {
            name: name.to_string(),
            child,
            logs,
            seen: Vec::new(),
        }
    }

    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn remember_descendants(&mut self) {
        for (pid, _) in descendants_of(self.child.id()) {
            if !self.seen.contains(&pid) {
                self.seen.push(pid);
            }
        }
    }

    pub fn stop(&mut self) {
        self.remember_descendants();
        if self.exited().is_none() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .stderr(Stdio::null())
                .status();
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end && self.exited().is_none() {
                // php-fpm may have been started after the first look (a stop during init).
                self.remember_descendants();
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.exited().is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        std::thread::sleep(Duration::from_millis(50));
        for pid in &self.seen {
            // Only our own descendants, by pid, and only while they still look like them.
            let alive = std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .map(|c| c.contains("php-fpm") || c.contains("mariadbd") || c.contains("bootstrap"))
                .unwrap_or(false);
            if alive {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() || std::env::var_os("LAMBDA_FPM_TEST_LOGS").is_some() {
            eprintln!("----- {} logs -----\n{}\n-----", self.name, self.logs());
        }
    }
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

// ------------------------------------------------------------------------------------ requests, answers

#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    /// Path and query as the client sends them ("/login?x=1").
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<String>,
    pub body: Option<(String, Vec<u8>)>,
}

impl Req {
    pub fn get(target: &str) -> Req {
        Req {
            method: "GET".into(),
            target: target.into(),
            headers: Vec::new(),
            cookies: Vec::new(),
            body: None,
        }
    }

    pub fn form(target: &str, fields: &[(&str, &str)]) -> Req {
        let body = fields
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, NON_ALPHANUMERIC),
                    utf8_percent_encode(v, NON_ALPHANUMERIC)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        Req {
            method: "POST".into(),
            target: target.into(),
            headers: Vec::new(),
            cookies: Vec::new(),
            body: Some((
                "application/x-www-form-urlencoded".into(),
                body.into_bytes(),
            )),
        }
    }

    pub fn with_jar(mut self, jar: &Jar) -> Req {
        self.cookies = jar.pairs();
        self
    }

    fn path_query(&self) -> (&str, &str) {
        self.target.split_once('?').unwrap_or((&self.target, ""))
    }
}

#[derive(Clone, Debug)]
pub struct Resp {
    pub status: u16,
    /// (lower-case name, value); for Lambda v2 a repeated header arrives joined with ", ".
    pub headers: Vec<(String, String)>,
    pub set_cookies: Vec<String>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn describe(&self) -> String {
        let body = self.text();
        format!(
            "HTTP {} {:?} set-cookie {:?}\n{}",
            self.status,
            self.headers,
            self.set_cookies,
            &body[..body.len().min(3000)]
        )
    }
}

/// Cookie names and values (paths and expiry ignored: every request of the suite is same-site).
#[derive(Default, Debug)]
pub struct Jar(BTreeMap<String, String>);

impl Jar {
    pub fn update(&mut self, resp: &Resp) {
        for c in &resp.set_cookies {
            let first = c.split(';').next().unwrap_or("");
            let Some((name, value)) = first.split_once('=') else {
                continue;
            };
            let lower = c.to_ascii_lowercase();
            let expired = value.is_empty()
                || value == "deleted"
                || lower.contains("max-age=0")
                || lower.contains("max-age=-")
                || lower.contains("expires=thu, 01-jan-1970")
                || lower.contains("expires=thu, 01 jan 1970");
            if expired {
                self.0.remove(name.trim());
            } else {
                self.0.insert(name.trim().to_string(), value.to_string());
            }
        }
    }

    pub fn pairs(&self) -> Vec<String> {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

/// How requests reach the app.
pub enum Transport {
    /// Lambda events through the Runtime API emulator: HTTP API payload 2.0 or API Gateway REST (1.0).
    Lambda { api: RuntimeApi, v1: bool },
    /// Plain HTTP to `bootstrap serve`.
    Serve { port: u16 },
}

pub struct Deployed {
    pub transport: Transport,
    pub proc: Bootstrap,
}

pub const LAMBDA_HOST: &str = "abcdefghij.lambda-url.us-east-1.on.aws";
pub const REST_HOST: &str = "r4nd0m1d.execute-api.us-east-1.amazonaws.com";
const CLIENT_IP: &str = "198.51.100.23";
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) lambda-fpm-app-suite";

impl Deployed {
    /// The bootstrap in Lambda mode against a fresh Runtime API emulator, as nobody.
    pub async fn lambda(
        app: &str,
        root: &Path,
        handler: &str,
        env: &[(String, String)],
        v1: bool,
    ) -> Deployed {
        let api = RuntimeApi::start().await;
        let vars = app_env(app, env);
        let proc = match bootstrap_user() {
            Some((uid, gid)) => Bootstrap::start_as(&api, root, handler, &vars, uid, gid),
            None => Bootstrap::start(&api, root, handler, &vars),
        };
        let mut d = Deployed {
            transport: Transport::Lambda { api, v1 },
            proc,
        };
        if let Transport::Lambda { api, .. } = &d.transport {
            if !api.wait_next_calls(1, Duration::from_secs(20)).await {
                let exit = d.proc.try_exit();
                panic!(
                    "{app}: the bootstrap never called GET /next (exit: {exit:?}); logs:\n{}",
                    d.proc.logs()
                );
            }
        }
        if is_root() {
            // setpriv has exec'd the bootstrap by now (it answered GET /next).
            assert_eq!(
                d.proc.uid(),
                Some(65534),
                "{app}: the bootstrap must run as nobody"
            );
        }
        d
    }

    /// `bootstrap serve` on a free port, as nobody.
    pub async fn serve(
        app: &str,
        root: &Path,
        handler: &str,
        env: &[(String, String)],
    ) -> Deployed {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let proc = Bootstrap::serve_as(root, handler, port, &app_env(app, env), bootstrap_user());
        let mut d = Deployed {
            transport: Transport::Serve { port },
            proc,
        };
        if !wait_for_port(port, Duration::from_secs(20)).await {
            let exit = d.proc.try_exit();
            panic!(
                "{app}: `bootstrap serve` never listened on {listen} (exit: {exit:?}); logs:\n{}",
                d.proc.logs()
            );
        }
        d
    }

    pub fn label(&self) -> &'static str {
        match &self.transport {
            Transport::Lambda { v1: false, .. } => "Lambda v2",
            Transport::Lambda { v1: true, .. } => "Lambda REST v1",
            Transport::Serve { .. } => "serve",
        }
    }

    /// Scheme and host the app sees, for absolute URLs it builds.
    pub fn origin(&self) -> String {
        match &self.transport {
            Transport::Lambda { v1: false, .. } => format!("https://{LAMBDA_HOST}"),
            Transport::Lambda { v1: true, .. } => format!("https://{REST_HOST}"),
            Transport::Serve { port } => format!("http://127.0.0.1:{port}"),
        }
    }

    pub async fn send(&self, req: &Req) -> Resp {
        match &self.transport {
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
                headers.push(("user-agent", UA));
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
            Transport::Lambda { api, v1 } => {
                let event = if *v1 {
                    rest_v1_event(req)
                } else {
                    v2_event(req)
                };
                let outcome = api
                    .invoke(serde_json::to_vec(&event).expect("serialize event"))
                    .await;
                match &outcome {
                    Outcome::Response(_) => {}
                    other => panic!(
                        "{} {}: expected a /response, got {}\nlogs:\n{}",
                        req.method,
                        req.target,
                        other.describe(),
                        self.proc.logs()
                    ),
                }
                let v = outcome.json();
                if *v1 {
                    parse_v1_response(&v)
                } else {
                    parse_v2_response(&v)
                }
            }
        }
    }
}

fn request_context_time() -> (String, u64) {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    ("21/Nov/2026:09:00:00 +0000".into(), ms)
}

fn v2_event(req: &Req) -> Value {
    let (path, query) = req.path_query();
    let (time, epoch) = request_context_time();
    let mut headers = Map::new();
    headers.insert("host".into(), json!(LAMBDA_HOST));
    headers.insert("user-agent".into(), json!(UA));
    headers.insert(
        "accept".into(),
        json!("text/html,application/xhtml+xml,*/*;q=0.8"),
    );
    headers.insert("x-forwarded-proto".into(), json!("https"));
    headers.insert("x-forwarded-port".into(), json!("443"));
    headers.insert("x-forwarded-for".into(), json!(CLIENT_IP));
    headers.insert(
        "x-amzn-trace-id".into(),
        json!("Root=1-5759e988-bd862e3fe1be46a994272793"),
    );
    for (k, v) in &req.headers {
        headers.insert(k.to_ascii_lowercase(), json!(v));
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdefghij",
            "domainName": LAMBDA_HOST,
            "domainPrefix": "abcdefghij",
            "http": {"method": req.method, "path": path, "protocol": "HTTP/1.1", "sourceIp": CLIENT_IP, "userAgent": UA},
            "requestId": format!("id-{epoch}"),
            "routeKey": "$default",
            "stage": "$default",
            "time": time,
            "timeEpoch": epoch
        },
        "isBase64Encoded": false
    });
    if !req.cookies.is_empty() {
        event["cookies"] = json!(req.cookies);
    }
    if !query.is_empty() {
        let mut qs = Map::new();
        for (k, v) in decode_query(query) {
            let joined = match qs.get(&k).and_then(Value::as_str) {
                Some(prev) => format!("{prev},{v}"),
                None => v,
            };
            qs.insert(k, json!(joined));
        }
        event["queryStringParameters"] = Value::Object(qs);
    }
    if let Some((ct, body)) = &req.body {
        event["headers"]["content-type"] = json!(ct);
        // HTTP APIs and Function URLs hand form posts over base64-encoded.
        event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
        event["isBase64Encoded"] = json!(true);
    }
    event
}

fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

fn rest_v1_event(req: &Req) -> Value {
    let (path, query) = req.path_query();
    let (_, epoch) = request_context_time();
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), REST_HOST.into()),
        ("User-Agent".into(), UA.into()),
        (
            "Accept".into(),
            "text/html,application/xhtml+xml,*/*;q=0.8".into(),
        ),
        ("X-Forwarded-Proto".into(), "https".into()),
        ("X-Forwarded-Port".into(), "443".into()),
        ("X-Forwarded-For".into(), CLIENT_IP.into()),
    ];
    headers.extend(req.headers.iter().cloned());
    if !req.cookies.is_empty() {
        headers.push(("Cookie".into(), req.cookies.join("; ")));
    }
    if let Some((ct, _)) = &req.body {
        headers.push(("Content-Type".into(), ct.clone()));
    }
    let mut single = Map::new();
    let mut multi = Map::new();
    for (k, v) in &headers {
        single.insert(k.clone(), json!(v));
        multi.insert(k.clone(), json!([v]));
    }
    let (qs, mqs) = if query.is_empty() {
        (Value::Null, Value::Null)
    } else {
        let mut qs = Map::new();
        let mut mqs: Map<String, Value> = Map::new();
        for (k, v) in decode_query(query) {
            qs.insert(k.clone(), json!(v));
            match mqs.get_mut(&k) {
                Some(Value::Array(a)) => a.push(json!(v)),
                _ => {
                    mqs.insert(k, json!([v]));
                }
            }
        }
        (Value::Object(qs), Value::Object(mqs))
    };
    let (body, b64) = match &req.body {
        Some((_, b)) => (json!(String::from_utf8_lossy(b)), false),
        None => (Value::Null, false),
    };
    json!({
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": req.method,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": qs,
        "multiValueQueryStringParameters": mqs,
        "pathParameters": {"proxy": path.trim_start_matches('/')},
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "r4nd0m1d",
            "domainName": REST_HOST,
            "httpMethod": req.method,
            "identity": {"sourceIp": CLIENT_IP, "userAgent": UA},
            "path": format!("/prod{path}"),
            "protocol": "HTTP/1.1",
            "requestId": format!("rest-{epoch}"),
            "requestTimeEpoch": epoch,
            "resourceId": "abc123",
            "resourcePath": "/{proxy+}",
            "stage": "prod"
        },
        "body": body,
        "isBase64Encoded": b64
    })
}

fn body_of(v: &Value) -> Vec<u8> {
    let text = v["body"].as_str().unwrap_or("");
    if v["isBase64Encoded"] == json!(true) {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_else(|e| panic!("isBase64Encoded but the body is not base64 ({e})"))
    } else {
        text.as_bytes().to_vec()
    }
}

fn status_of(v: &Value) -> u16 {
    v["statusCode"]
        .as_u64()
        .unwrap_or_else(|| panic!("no numeric statusCode in {v}")) as u16
}

fn parse_v2_response(v: &Value) -> Resp {
    assert!(
        v.get("multiValueHeaders").is_none(),
        "a v2 response has no multiValueHeaders: {v}"
    );
    let mut headers = Vec::new();
    if let Some(h) = v["headers"].as_object() {
        for (k, val) in h {
            headers.push((
                k.to_ascii_lowercase(),
                val.as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    assert!(
        !headers.iter().any(|(k, _)| k == "set-cookie"),
        "v2: every Set-Cookie belongs in `cookies`, not in headers: {v}"
    );
    let set_cookies = v["cookies"]
        .as_array()
        .unwrap_or_else(|| panic!("v2 response without a `cookies` array: {v}"))
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_string())
        .collect();
    Resp {
        status: status_of(v),
        headers,
        set_cookies,
        body: body_of(v),
    }
}

fn parse_v1_response(v: &Value) -> Resp {
    assert!(
        v.get("cookies").is_none(),
        "a REST v1 response must not carry `cookies` (API Gateway answers 502): {v}"
    );
    let mut headers = Vec::new();
    let mut set_cookies = Vec::new();
    if let Some(h) = v["multiValueHeaders"].as_object() {
        for (k, vals) in h {
            for val in vals.as_array().into_iter().flatten() {
                let val = val.as_str().unwrap_or_default().to_string();
                if k.eq_ignore_ascii_case("set-cookie") {
                    set_cookies.push(val);
                } else {
                    headers.push((k.to_ascii_lowercase(), val));
                }
            }
        }
    } else if let Some(h) = v["headers"].as_object() {
        for (k, val) in h {
            headers.push((
                k.to_ascii_lowercase(),
                val.as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    Resp {
        status: status_of(v),
        headers,
        set_cookies,
        body: body_of(v),
    }
}

// ------------------------------------------------------------------------------------------- HTML bits

/// The value of the hidden input named `name` (`name="x" ... value="..."`, either attribute order).
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let end = tag[v..].find('"')?;
    Some(tag[v..v + end].replace("&amp;", "&"))
}

pub fn title_of(html: &str) -> Option<String> {
    let start = html.find("<title")?;
    let start = start + html[start..].find('>')? + 1;
    let end = start + html[start..].find("</title>")?;
    Some(
        html[start..end]
            .trim()
            .replace("&amp;", "&")
            .replace("&#8211;", "–"),
    )
}

// ---------------------------------------------------------------------------------------------- MariaDB

/// mariadbd on a private copy of install.sh's data directory, 127.0.0.1 and a free port.
pub struct MariaDb {
    pub port: u16,
    proc: Proc,
    _dir: tempfile::TempDir,
}

impl MariaDb {
    pub async fn start(seed: &Path) -> MariaDb {
        let dir = tempfile::Builder::new()
            .prefix("lfpm-mariadb-")
            .tempdir()
            .expect("temp dir");
        let data = dir.path().join("data");
        run_ok(Command::new("cp").arg("-a").arg(seed).arg(&data));
        let mut user_args: Vec<String> = Vec::new();
        if is_root() {
            run_ok(
                Command::new("chown")
                    .arg("-R")
                    .arg("mysql:mysql")
                    .arg(dir.path()),
            );
            user_args.push("--user=mysql".into());
        }
        let port = free_port();
        let mut cmd = Command::new("mariadbd");
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(&user_args)
            .arg(format!(
                "--socket={}",
                dir.path().join("mysqld.sock").display()
            ))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
            ])
            .arg(format!(
                "--pid-file={}",
                dir.path().join("mysqld.pid").display()
            ));
        let mut proc = Proc::spawn("mariadbd", cmd);
        let end = Instant::now() + Duration::from_secs(30);
        while !proc.logs().contains("ready for connections") {
            if let Some(s) = proc.exited() {
                panic!("mariadbd exited ({s}); logs:\n{}", proc.logs());
            }
            assert!(
                Instant::now() < end,
                "mariadbd not ready in 30 s; logs:\n{}",
                proc.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        MariaDb {
            port,
            proc,
            _dir: dir,
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.proc.stop();
    }
}

// ------------------------------------------------------------------------------------ a counting proxy

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

// ------------------------------------------------------------------------------------------- Chromium

fn chromium_bin() -> &'static str {
    if Path::new("/usr/bin/chromium").exists() {
        "/usr/bin/chromium"
    } else {
        "chromium"
    }
}

/// Runs headless Chromium once (bounded to 90 s); returns stdout.
pub async fn chromium(extra: &[String], url: &str) -> Vec<u8> {
    let profile = tempfile::Builder::new()
        .prefix("lfpm-chromium-")
        .tempdir()
        .expect("profile dir");
    let mut cmd = tokio::process::Command::new("timeout");
    cmd.arg("90")
        .arg(chromium_bin())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            // Nothing but 127.0.0.1 resolves: the pages must be complete without the internet.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .env("HOME", profile.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = cmd
        .output()
        .await
        .unwrap_or_else(|e| panic!("run chromium (apt-get install chromium): {e}"));
    assert!(
        out.status.success(),
        "chromium {extra:?} {url} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

// ------------------------------------------------------------------------------------------------ PNG

pub struct Image {
    pub width: usize,
    pub height: usize,
    /// RGB triples.
    pub pixels: Vec<[u8; 3]>,
}

/// Decodes an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes).
pub fn decode_png(data: &[u8]) -> Image {
    assert!(
        data.len() > 8 && &data[..8] == b"\x89PNG\r\n\x1a\n",
        "not a PNG file"
    );
    let mut pos = 8;
    let (mut width, mut height, mut color, mut depth, mut interlace) =
        (0usize, 0usize, 0u8, 0u8, 0u8);
    let mut idat = Vec::new();
    while pos + 8 <= data.len() {
        let len =
            u32::from_be_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let kind = &data[pos + 4..pos + 8];
        let body = &data[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes([body[0], body[1], body[2], body[3]]) as usize;
                height = u32::from_be_bytes([body[4], body[5], body[6], body[7]]) as usize;
                depth = body[8];
                color = body[9];
                interlace = body[12];
            }
            b"IDAT" => idat.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    assert!(
        depth == 8 && (color == 2 || color == 6) && interlace == 0,
        "unsupported PNG (depth {depth}, color type {color}, interlace {interlace})"
    );
    let bpp = if color == 6 { 4 } else { 3 };
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("inflate PNG data");
    let stride = width * bpp;
    assert!(raw.len() >= height * (stride + 1), "PNG data too short");
    let mut prev = vec![0u8; stride];
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        let line = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
        let filter = line[0];
        let mut cur = line[1..].to_vec();
        for i in 0..stride {
            let a = if i >= bpp { cur[i - bpp] as i32 } else { 0 };
            let b = prev[i] as i32;
            let c = if i >= bpp { prev[i - bpp] as i32 } else { 0 };
            let x = cur[i] as i32;
            let v = match filter {
                0 => x,
                1 => x + a,
                2 => x + b,
                3 => x + (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    x + if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("bad PNG filter {f}"),
            };
            cur[i] = (v & 0xff) as u8;
        }
        for px in cur.chunks(bpp) {
            pixels.push([px[0], px[1], px[2]]);
        }
        prev = cur;
    }
    Image {
        width,
        height,
        pixels,
    }
}

impl Image {
    pub fn distinct_colours(&self) -> usize {
        let mut set: Vec<u32> = self
            .pixels
            .iter()
            .map(|p| (p[0] as u32) << 16 | (p[1] as u32) << 8 | p[2] as u32)
            .collect();
        set.sort_unstable();
        set.dedup();
        set.len()
    }

    /// Share of the most common colour (1.0 = blank).
    pub fn dominant_share(&self) -> f64 {
        let mut counts: BTreeMap<[u8; 3], usize> = BTreeMap::new();
        for p in &self.pixels {
            *counts.entry(*p).or_default() += 1;
        }
        counts.values().copied().max().unwrap_or(0) as f64 / self.pixels.len().max(1) as f64
    }

    /// Share of clearly coloured (not grey) pixels.
    pub fn chromatic_share(&self) -> f64 {
        let n = self
            .pixels
            .iter()
            .filter(|p| {
                let (mx, mn) = (
                    p.iter().max().copied().unwrap_or(0),
                    p.iter().min().copied().unwrap_or(0),
                );
                mx - mn > 40
            })
            .count();
        n as f64 / self.pixels.len().max(1) as f64
    }
}

/// target/screenshots/, created on demand.
pub fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}
