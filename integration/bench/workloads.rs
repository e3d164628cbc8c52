//! The workloads: realistic API Gateway events (HTTP API v2 and REST v1, shaped like the AWS
//! documentation's examples) and the FastCGI request lambda-fpm makes of each, for the floor.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use lambda_fpm::fastcgi::params::Site;
use lambda_fpm::fastcgi::Params;
use lambda_fpm::lambda::events;
use lambda_fpm::lambda::InvocationInfo;
use lambda_fpm::router::{script_name, Script};
use serde_json::{json, Value};

use crate::driver::{FUNCTION_ARN, TRACE_ID};
use crate::floor::FcgiRequest;
use crate::procs::AppSpec;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    V2,
    RestV1,
}

pub struct Workload {
    pub name: &'static str,
    /// Which app serves it: the bench app, or the framework app.
    pub framework: bool,
    pub event: Bytes,
    /// What the script's answer must look like (checked once per batch, on both sides).
    pub check: Check,
    /// Invocations per repetition: (full, quick).
    pub count: (usize, usize),
}

#[derive(Clone, Copy)]
pub enum Check {
    Exact(&'static str),
    Prefix(&'static str),
    Len(usize),
}

impl Check {
    pub fn ok(&self, body: &[u8]) -> bool {
        match self {
            Check::Exact(s) => body == s.as_bytes(),
            Check::Prefix(s) => body.starts_with(s.as_bytes()),
            Check::Len(n) => body.len() == *n,
        }
    }
}

pub const MIB: usize = 1024 * 1024;

pub fn all(framework_path: &str) -> Vec<Workload> {
    let upload: Vec<u8> = (0..MIB).map(|i| (i * 7 + i / 251) as u8).collect();
    vec![
        Workload {
            name: "hello world (HTTP API v2)",
            framework: false,
            event: event(Shape::V2, "GET", "/hello", &[], None),
            check: Check::Exact("Hello, world!"),
            count: (10_000, 200),
        },
        Workload {
            name: "hello world (REST v1)",
            framework: false,
            event: event(Shape::RestV1, "GET", "/hello", &[], None),
            check: Check::Exact("Hello, world!"),
            count: (10_000, 200),
        },
        Workload {
            name: "headers + 2 cookies",
            framework: false,
            event: event(
                Shape::V2,
                "GET",
                "/cookies",
                &["name=bench", "consent=yes"],
                None,
            ),
            check: Check::Exact("<p>Hello again, bench</p>"),
            count: (10_000, 200),
        },
        Workload {
            name: "1 MiB text response",
            framework: false,
            event: event(Shape::V2, "GET", "/text", &[], None),
            check: Check::Len(MIB),
            count: (1_000, 50),
        },
        Workload {
            name: "1 MiB binary response",
            framework: false,
            event: event(Shape::V2, "GET", "/binary", &[], None),
            check: Check::Len(MIB),
            count: (1_000, 50),
        },
        Workload {
            name: "1 MiB base64 POST body",
            framework: false,
            event: event(Shape::V2, "POST", "/upload", &[], Some(&upload)),
            check: Check::Prefix("1048576 "),
            count: (1_000, 50),
        },
        Workload {
            name: "framework page",
            framework: true,
            event: event(Shape::V2, "GET", framework_path, &[], None),
            check: Check::Prefix("<!"),
            count: (1_000, 50),
        },
    ]
}

const BROWSER_HEADERS: &[(&str, &str)] = &[
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"),
    ("accept-encoding", "gzip, deflate, br"),
    ("accept-language", "en-US,en;q=0.9"),
    ("host", "r3pmxmplak.execute-api.us-east-1.amazonaws.com"),
    ("sec-fetch-dest", "document"),
    ("sec-fetch-mode", "navigate"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"),
    ("x-amzn-trace-id", "Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e"),
    ("x-forwarded-for", "205.255.255.176"),
    ("x-forwarded-port", "443"),
    ("x-forwarded-proto", "https"),
];

pub fn event(
    shape: Shape,
    method: &str,
    path: &str,
    cookies: &[&str],
    body: Option<&[u8]>,
) -> Bytes {
    let mut headers: Vec<(String, String)> = BROWSER_HEADERS
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    if let Some(body) = body {
        headers.push(("content-type".into(), "application/octet-stream".into()));
        headers.push(("content-length".into(), body.len().to_string()));
    }
    let encoded = body.map(|b| base64::engine::general_purpose::STANDARD.encode(b));
    let value = match shape {
        Shape::V2 => {
            let map: serde_json::Map<String, Value> =
                headers.iter().map(|(n, v)| (n.clone(), json!(v))).collect();
            let mut v = json!({
                "version": "2.0",
                "routeKey": "$default",
                "rawPath": path,
                "rawQueryString": "",
                "headers": map,
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "r3pmxmplak",
                    "domainName": "r3pmxmplak.execute-api.us-east-1.amazonaws.com",
                    "domainPrefix": "r3pmxmplak",
                    "http": {
                        "method": method,
                        "path": path,
                        "protocol": "HTTP/1.1",
                        "sourceIp": "205.255.255.176",
                        "userAgent": BROWSER_HEADERS[6].1
                    },
                    "requestId": "JKJaXmPLvHcESHA=",
                    "routeKey": "$default",
                    "stage": "$default",
                    "time": "10/Mar/2020:05:16:23 +0000",
                    "timeEpoch": 1583817383220u64
                },
                "body": encoded,
                "isBase64Encoded": body.is_some()
            });
            if !cookies.is_empty() {
                v["cookies"] = json!(cookies);
            }
            v
        }
        Shape::RestV1 => {
            if !cookies.is_empty() {
                headers.push(("Cookie".into(), cookies.join("; ")));
            }
            let single: serde_json::Map<String, Value> =
                headers.iter().map(|(n, v)| (n.clone(), json!(v))).collect();
            let multi: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(n, v)| (n.clone(), json!([v])))
                .collect();
            json!({
                "resource": "/{proxy+}",
                "path": path,
                "httpMethod": method,
                "headers": single,
                "multiValueHeaders": multi,
                "queryStringParameters": null,
                "multiValueQueryStringParameters": null,
                "pathParameters": {"proxy": path.trim_start_matches('/')},
                "stageVariables": null,
                "requestContext": {
                    "resourceId": "2gxmpl",
                    "resourcePath": "/{proxy+}",
                    "httpMethod": method,
                    "extendedRequestId": "JJbxmplHYosFVYQ=",
                    "requestTime": "10/Mar/2020:00:03:59 +0000",
                    "path": format!("/Prod{path}"),
                    "accountId": "123456789012",
                    "protocol": "HTTP/1.1",
                    "stage": "Prod",
                    "domainPrefix": "70ixmpl4fl",
                    "requestTimeEpoch": 1583798639428u64,
                    "requestId": "77375676-xmpl-4b79-853a-f982474efe18",
                    "identity": {
                        "cognitoIdentityPoolId": null,
                        "accountId": null,
                        "cognitoIdentityId": null,
                        "caller": null,
                        "sourceIp": "205.255.255.176",
                        "principalOrgId": null,
                        "accessKey": null,
                        "cognitoAuthenticationType": null,
                        "cognitoAuthenticationProvider": null,
                        "userArn": null,
                        "userAgent": BROWSER_HEADERS[6].1,
                        "user": null
                    },
                    "domainName": "70ixmpl4fl.execute-api.us-east-2.amazonaws.com",
                    "apiId": "70ixmpl4fl"
                },
                "body": encoded,
                "isBase64Encoded": body.is_some()
            })
        }
    };
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
    };
    let site = Site::new(document_root.display().to_string());
    let mut params = Params::build(&parsed.request, &script, &site);
    params.extend(invocation.server_variables(parsed.request_context.as_deref()));
    Ok(FcgiRequest {
        params: params.encode(),
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
