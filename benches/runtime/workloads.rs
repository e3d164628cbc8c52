//! The workloads: realistic API Gateway events (HTTP API v2 and REST v1, built by the suites' event
//! builder from the AWS documentation's examples) and the FastCGI request lambda-fpm makes of each, for the
//! floor.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use lambda_fpm::fastcgi::params::Site;
use lambda_fpm::fastcgi::Params;
use lambda_fpm::lambda::events;
use lambda_fpm::lambda::InvocationInfo;
use lambda_fpm::router::{script_name, Script};

use crate::floor::FcgiRequest;
use crate::procs::AppSpec;
use crate::support::events::{Request, Source};
use crate::support::FUNCTION_ARN;

pub struct Workload {
    pub name: &'static str,
    /// Which app serves it: the bench app, or the framework app.
    pub framework: bool,
    /// How it is answered and measured.
    pub kind: Kind,
    pub event: Bytes,
    /// What the script's answer must look like (checked once per batch, on both sides).
    pub check: Check,
    /// Invocations per repetition: (full, quick).
    pub count: (usize, usize),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One JSON response (the default invoke mode); latency to the whole `/response`.
    Buffered,
    /// A Function URL event answered by the bootstrap in `response_stream` mode; latency to the last
    /// byte of the stream, compared with the buffered workload named here.
    Streamed { buffered: &'static str },
    /// Streamed, and what counts is the time to the first body byte (after PHP's `flush()`), against
    /// the floor's time to its first STDOUT record with body bytes.
    FirstByte,
}

impl Kind {
    pub fn streamed(self) -> bool {
        self != Kind::Buffered
    }
}

#[derive(Clone, Copy)]
pub enum Check {
    Exact(&'static str),
    Prefix(&'static str),
    Len(usize),
}

impl Check {
    pub fn ok(&self, body: &[u8]) -> bool {
        self.ok_len(body, body.len())
    }

    /// `body` is what was kept of a body `len` bytes long.
    pub fn ok_len(&self, body: &[u8], len: usize) -> bool {
        match self {
            Check::Exact(s) => body == s.as_bytes() && len == body.len(),
            Check::Prefix(s) => body.starts_with(s.as_bytes()),
            Check::Len(n) => len == *n,
        }
    }
}

pub const MIB: usize = 1024 * 1024;

/// A trace id of the shape the emulator hands out, for the floor's copy of the CGI params.
const TRACE_ID: &str = "Root=1-5759e988-bd862e3fe1be46a900000000;Parent=53995c3f42cd8ad8;Sampled=1";

pub fn all(framework_path: &str) -> Vec<Workload> {
    let upload: Vec<u8> = (0..MIB).map(|i| (i * 7 + i / 251) as u8).collect();
    vec![
        Workload {
            name: "hello world (HTTP API v2)",
            framework: false,
            kind: Kind::Buffered,
            event: event(Source::HttpV2, Request::get("/hello")),
            check: Check::Exact("Hello, world!"),
            count: (10_000, 200),
        },
        Workload {
            name: "hello world (REST v1)",
            framework: false,
            kind: Kind::Buffered,
            event: event(Source::Rest, Request::get("/hello")),
            check: Check::Exact("Hello, world!"),
            count: (10_000, 200),
        },
        Workload {
            name: "headers + 2 cookies",
            framework: false,
            kind: Kind::Buffered,
            event: event(
                Source::HttpV2,
                Request::get("/cookies").cookies(&["name=bench", "consent=yes"]),
            ),
            check: Check::Exact("<p>Hello again, bench</p>"),
            count: (10_000, 200),
        },
        Workload {
            name: "1 MiB text response",
            framework: false,
            kind: Kind::Buffered,
            event: event(Source::HttpV2, Request::get("/text")),
            check: Check::Len(MIB),
            count: (1_000, 50),
        },
        Workload {
            name: "1 MiB binary response",
            framework: false,
            kind: Kind::Buffered,
            event: event(Source::HttpV2, Request::get("/binary")),
            check: Check::Len(MIB),
            count: (1_000, 50),
        },
        Workload {
            name: "1 MiB base64 POST body",
            framework: false,
            kind: Kind::Buffered,
            event: event(
                Source::HttpV2,
                Request::post("/upload", "application/octet-stream", upload),
            ),
            check: Check::Prefix("1048576 "),
            count: (1_000, 50),
        },
        Workload {
            name: "framework page",
            framework: true,
            kind: Kind::Buffered,
            event: event(Source::HttpV2, Request::get(framework_path)),
            check: Check::Prefix("<!"),
            count: (1_000, 50),
        },
        Workload {
            name: "1 MiB text response, streamed",
            framework: false,
            kind: Kind::Streamed {
                buffered: "1 MiB text response",
            },
            event: event(Source::FunctionUrl, Request::get("/text")),
            check: Check::Len(MIB),
            count: (1_000, 50),
        },
        Workload {
            name: "1 MiB binary response, streamed",
            framework: false,
            kind: Kind::Streamed {
                buffered: "1 MiB binary response",
            },
            event: event(Source::FunctionUrl, Request::get("/binary")),
            check: Check::Len(MIB),
            count: (1_000, 50),
        },
        Workload {
            name: FIRST_BYTE,
            framework: false,
            kind: Kind::FirstByte,
            event: event(Source::FunctionUrl, Request::get("/flush")),
            check: Check::Prefix("<!doctype html>"),
            count: (200, 20),
        },
    ]
}

/// The time-to-first-byte workload.
pub const FIRST_BYTE: &str = "flush(), then 5 ms more work, streamed";

/// How much the throughput workload streams.
pub const LARGE_STREAM: usize = 100 * MIB;

/// The throughput workload: 100 MiB streamed, 1 MiB per `echo` (measured on its own, not in the
/// latency table).
pub fn large_stream() -> Workload {
    Workload {
        name: "100 MiB streamed",
        framework: false,
        kind: Kind::Streamed { buffered: "" },
        event: event(
            Source::FunctionUrl,
            Request::get(&format!("/stream?mib={}", LARGE_STREAM / MIB)),
        ),
        check: Check::Len(LARGE_STREAM),
        count: (3, 1),
    }
}

/// What a browser adds to the fixture events' headers (Host, X-Forwarded-*, the trace id come from them).
const BROWSER_HEADERS: &[(&str, &str)] = &[
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"),
    ("accept-encoding", "gzip, deflate, br"),
    ("accept-language", "en-US,en;q=0.9"),
    ("sec-fetch-dest", "document"),
    ("sec-fetch-mode", "navigate"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"),
];

/// The event `source` delivers for `req` sent by a browser (the suites' event builder).
pub fn event(source: Source, req: Request) -> Bytes {
    let value = source.request(&req.headers(BROWSER_HEADERS));
    Bytes::from(serde_json::to_vec(&value).unwrap_or_default())
}

/// What lambda-fpm sends php-fpm for `event`: the same params (built by the same code) and the decoded
/// body.
pub fn fcgi_request(event: &[u8], app: &AppSpec) -> Result<FcgiRequest, String> {
    let (parsed, body_ok) = events::parse(event).map_err(|e| e.to_string())?;
    body_ok.map_err(|e| e.to_string())?;
    let document_root = app.document_root();
    let script = Script {
        filename: app.script(),
        name: script_name(&document_root, &app.script()),
        path_info: None,
    };
    let invocation = InvocationInfo {
        request_id: "8476a536-e9f4-11e8-9739-2dfe598c3fcd".into(),
        deadline_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_millis() as u64 + 300_000),
        function_arn: FUNCTION_ARN.into(),
        trace_id: Some(TRACE_ID.into()),
        tenant_id: None,
    };
    let site = Site::new(document_root.display().to_string());
    let mut params = Params::build(&parsed.request, &script, &site);
    params.extend(invocation.server_variables(parsed.request_context.as_deref()));
    Ok(FcgiRequest {
        params: params.encoded().to_vec(),
        pairs: params
            .iter()
            .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect(),
        stdin: parsed.request.body.to_vec(),
    })
}

/// The framework app: Debian's Symfony with the app suite's skeleton when install.sh has put it in
/// place, else a generated plain-PHP page that autoloads 200 classes and renders a template (what a
/// framework's front controller does, without the framework).
pub fn framework_app(scratch: &Path) -> std::io::Result<(AppSpec, &'static str, String)> {
    let apps = std::env::var_os("LAMBDA_FPM_APPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::procs::repo().join("target/apps"));
    let symfony = apps.join("symfony");
    if symfony.join("public/index.php").is_file() && symfony.join("vendor").is_dir() {
        let app = AppSpec {
            task_root: symfony,
            handler: "public/index.php".into(),
            env: vec![
                ("APP_ENV".into(), "prod".into()),
                ("APP_SECRET".into(), "lambda-fpm-bench".into()),
            ],
        };
        return Ok((
            app,
            "/",
            "Symfony 5.4 home page (target/apps/symfony, Twig)".into(),
        ));
    }
    let root = scratch.join("framework-like");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("public"))?;
    std::fs::create_dir_all(root.join("src"))?;
    std::fs::create_dir_all(root.join("templates"))?;
    const CLASSES: usize = 200;
    for i in 0..CLASSES {
        let deps = if i == 0 {
            String::new()
        } else {
            format!("private Service{} $dep;\n    public function __construct() {{ $this->dep = new Service{}(); }}\n", i - 1, i - 1)
        };
        std::fs::write(
            root.join(format!("src/Service{i}.php")),
            format!(
                "<?php\nnamespace App;\n\nfinal class Service{i}\n{{\n    {deps}\n    public function name(): string {{ return 'service-{i}'; }}\n    public function rows(): array {{ return array_map(fn ($n) => ['id' => $n, 'label' => \"item $n of {i}\"], range(1, 3)); }}\n}}\n"
            ),
        )?;
    }
    std::fs::write(
        root.join("templates/page.php"),
        "<!doctype html>\n<html><head><title><?= htmlspecialchars($title) ?></title></head><body>\n<h1><?= htmlspecialchars($title) ?></h1>\n<table>\n<?php foreach ($rows as $row): ?>\n<tr><td><?= (int) $row['id'] ?></td><td><?= htmlspecialchars($row['label']) ?></td></tr>\n<?php endforeach; ?>\n</table>\n</body></html>\n",
    )?;
    std::fs::write(
        root.join("public/index.php"),
        format!(
            "<?php\nspl_autoload_register(function (string $class) {{\n    $file = __DIR__ . '/../src/' . substr($class, 4) . '.php';\n    if (is_file($file)) {{ require $file; }}\n}});\n$top = new App\\Service{}();\n$rows = [];\nfor ($i = 0; $i < {CLASSES}; $i += 10) {{\n    $class = 'App\\\\Service' . $i;\n    $rows = array_merge($rows, (new $class())->rows());\n}}\n$title = 'Framework-like page: ' . $top->name();\nob_start();\nrequire __DIR__ . '/../templates/page.php';\necho ob_get_clean();\n",
            CLASSES - 1
        ),
    )?;
    let app = AppSpec {
        task_root: root,
        handler: "public/index.php".into(),
        env: Vec::new(),
    };
    Ok((
        app,
        "/",
        "framework-like plain-PHP page (200 autoloaded classes + a template; Symfony app not installed)".into(),
    ))
}
