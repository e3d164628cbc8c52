//! Shared test support: the Runtime API emulator, the bootstrap process harness, event builders, an HTTP
//! client, and `Lambda` (one emulator + one bootstrap serving the fixture app).
// Each suite (and the benches that include this module) uses a different part of it.
#![allow(dead_code, unused_imports)]

pub mod bootstrap;
pub mod clock;
pub mod events;
pub mod http;
pub mod runtime_api;

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

pub use bootstrap::{app_root, free_port, wait_for_port, Bootstrap};
pub use events::{Request, Source};
pub use runtime_api::{Invocation, Outcome, RuntimeApi, FUNCTION_ARN, MAX_RESPONSE_BYTES};

/// The fixture app's front controller, relative to the task root.
pub const HANDLER: &str = "public/index.php";

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("not valid base64 ({e}): {}", &text[..text.len().min(200)]))
}

/// One Runtime API emulator and one bootstrap serving the fixture app. Fields drop in order: the
/// bootstrap is stopped before the emulator.
pub struct Lambda {
    pub bs: Bootstrap,
    pub api: RuntimeApi,
}

impl Lambda {
    pub async fn start() -> Lambda {
        Self::start_env(&[]).await
    }

    pub async fn start_env(env: &[(&str, &str)]) -> Lambda {
        Self::start_app(&app_root(), HANDLER, env).await
    }

    pub async fn start_app(task_root: &Path, handler: &str, env: &[(&str, &str)]) -> Lambda {
        let api = RuntimeApi::start().await;
        let bs = Bootstrap::start(&api, task_root, handler, env);
        Lambda { bs, api }
    }

    /// Waits until the bootstrap finished init (its first GET /next); panics with the logs otherwise.
    pub async fn ready(&mut self) {
        if !self.api.wait_next_calls(1, Duration::from_secs(20)).await {
            let exit = self.bs.try_exit();
            panic!(
                "the bootstrap never called GET /next (exit status: {exit:?}); logs:\n{}",
                self.bs.logs()
            );
        }
    }

    /// The type and message of an invocation that failed (an `/error` post whose type header and body
    /// agree); panics with the bootstrap's logs when it did not fail.
    pub fn error_of(&self, outcome: &Outcome) -> (String, String) {
        match outcome {
            Outcome::Error { error_type, body } => {
                assert_eq!(
                    error_type.as_deref(),
                    body["errorType"].as_str(),
                    "the header and the body agree: {body}"
                );
                (
                    body["errorType"].as_str().unwrap_or_default().to_owned(),
                    body["errorMessage"].as_str().unwrap_or_default().to_owned(),
                )
            }
            other => panic!(
                "expected an /error, got {}\nlogs:\n{}",
                other.describe(),
                self.bs.logs()
            ),
        }
    }

    pub async fn invoke(&self, event: &Value) -> Outcome {
        self.api
            .invoke(serde_json::to_vec(event).expect("serialize event"))
            .await
    }

    pub async fn invoke_bytes(&self, event: impl Into<Vec<u8>>) -> Outcome {
        self.api.invoke(event.into()).await
    }

    pub async fn invoke_detailed(&self, event: &Value, timeout: Duration) -> Invocation {
        self.api
            .invoke_detailed(serde_json::to_vec(event).expect("serialize event"), timeout)
            .await
    }

    /// Asserts that a normal request is served normally (used after every fault).
    pub async fn assert_serving(&self, what: &str) {
        let resp = self
            .respond(&Source::HttpV2.event("GET", "/json", &[]))
            .await;
        assert_eq!(
            resp["statusCode"], 200,
            "the invocation after {what}: {resp}"
        );
        assert_eq!(
            resp["body"], r#"{"ok":true,"caf\u00e9":"\u2713"}"#,
            "after {what}"
        );
    }

    /// Invokes and returns the HTTP response JSON the runtime posted; panics (with logs) otherwise.
    pub async fn respond(&self, event: &Value) -> Value {
        let outcome = self.invoke(event).await;
        self.expect_response(&outcome)
    }

    pub async fn respond_bytes(&self, event: impl Into<Vec<u8>>) -> Value {
        let outcome = self.invoke_bytes(event).await;
        self.expect_response(&outcome)
    }

    pub fn expect_response(&self, outcome: &Outcome) -> Value {
        match outcome {
            Outcome::Response(_) => outcome.json(),
            other => panic!(
                "expected a /response, got {}\nbootstrap logs:\n{}",
                other.describe(),
                self.bs.logs()
            ),
        }
    }

    /// Invokes a request that reaches the dump (or other.php) and returns (response JSON, what PHP saw).
    pub async fn php(&self, event: &Value) -> (Value, Value) {
        let resp = self.respond(event).await;
        let dump = self.dump_of(&resp);
        (resp, dump)
    }

    pub async fn php_bytes(&self, event: impl Into<Vec<u8>>) -> (Value, Value) {
        let resp = self.respond_bytes(event).await;
        let dump = self.dump_of(&resp);
        (resp, dump)
    }

    pub fn dump_of(&self, resp: &Value) -> Value {
        let body = body_bytes(resp);
        serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "the app's answer is not the JSON dump ({e}); statusCode {}, body: {}\nbootstrap logs:\n{}",
                resp["statusCode"],
                String::from_utf8_lossy(&body[..body.len().min(3000)]),
                self.bs.logs()
            )
        })
    }
}

/// The body of a Lambda HTTP response JSON as a client reads it: base64-decoded when
/// `isBase64Encoded`, then decompressed when it has a `Content-Encoding` of br, zstd or gzip (as browsers
/// do; the fixture events accept all three). [`wire_body`] is the body as sent.
pub fn body_bytes(resp: &Value) -> Vec<u8> {
    let wire = wire_body(resp);
    match response_header(resp, "content-encoding") {
        Some(encoding) => decode(&encoding, &wire),
        None => wire,
    }
}

/// The body as the runtime sent it: base64-decoded when `isBase64Encoded`, still compressed.
pub fn wire_body(resp: &Value) -> Vec<u8> {
    let body = match &resp["body"] {
        Value::String(s) => s.as_str(),
        Value::Null => "",
        other => panic!("response body is not a string: {other}"),
    };
    if resp["isBase64Encoded"] == Value::Bool(true) {
        unb64(body)
    } else {
        body.as_bytes().to_vec()
    }
}

/// A response header by case-insensitive name, from `headers` or `multiValueHeaders` (values joined
/// with `, `).
pub fn response_header(resp: &Value, name: &str) -> Option<String> {
    [&resp["headers"], &resp["multiValueHeaders"]]
        .iter()
        .filter_map(|h| h.as_object())
        .flat_map(|h| h.iter())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| match v {
            Value::Array(values) => values
                .iter()
                .map(|v| v.as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", "),
            other => other.as_str().unwrap_or_default().to_owned(),
        })
}

/// Decompresses a `Content-Encoding: br | zstd | gzip` body; panics when it does not decode. Other
/// encodings are returned as they are.
pub fn decode(encoding: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let result = match encoding.trim().to_ascii_lowercase().as_str() {
        "gzip" => flate2::read::GzDecoder::new(data).read_to_end(&mut out),
        "br" => brotli::Decompressor::new(data, 4096).read_to_end(&mut out),
        "zstd" => zstd::stream::read::Decoder::new(data).and_then(|mut d| d.read_to_end(&mut out)),
        _ => return data.to_vec(),
    };
    if let Err(e) = result {
        panic!(
            "Content-Encoding: {encoding}, but the {} bytes do not decode: {e}",
            data.len()
        );
    }
    out
}

/// `$_SERVER[name]` from a dump as a string (None when unset).
pub fn server<'a>(dump: &'a Value, name: &str) -> Option<&'a str> {
    dump["server"].get(name).and_then(Value::as_str)
}

/// `$_SERVER[name]`, panicking with the whole `$_SERVER` when unset.
pub fn server_req<'a>(dump: &'a Value, name: &str) -> &'a str {
    server(dump, name).unwrap_or_else(|| {
        panic!(
            "$_SERVER[{name:?}] is not set; $_SERVER = {:#}",
            dump["server"]
        )
    })
}

/// Sorted top-level keys of a JSON object.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

/// A bench's `main` after its arguments: `run` on `runtime` (the bench says which kind), its error
/// printed, and the exit code.
pub fn bench_main(
    runtime: std::io::Result<tokio::runtime::Runtime>,
    run: impl std::future::Future<Output = Result<(), String>>,
) -> std::process::ExitCode {
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start tokio: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: FAILED: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The version string the bootstrap must report in SERVER_SOFTWARE.
pub fn server_software() -> String {
    format!("lambda-fpm/{}", env!("CARGO_PKG_VERSION"))
}
