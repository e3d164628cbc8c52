//! The one event builder of the suites and benches: fixture events (tests/fixtures/events, written from the
//! AWS documentation's examples) per source, [`Source::request`] to turn a whole client request into the
//! event a source delivers, and helpers to tweak an event.
//!
//! Note: serde_json here has no `preserve_order`, so re-serialising a `Value` sorts object keys. Tests that
//! depend on key order (ALB query strings "in event order") build that part as raw JSON with
//! [`with_raw`].

use std::path::Path;

use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

use super::b64;

/// An HTTP request as a client sends it; [`Source::request`] turns it into the event a source delivers.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    /// Path and query exactly as the client sends them ("/login?next=%2Fhome").
    pub target: String,
    /// Headers added to the fixture's (replacing a fixture header of the same name).
    pub headers: Vec<(String, String)>,
    /// Cookie pairs ("name=value"), in place of the fixture's cookies.
    pub cookies: Vec<String>,
    /// (content type, bytes).
    pub body: Option<(String, Vec<u8>)>,
}

impl Request {
    pub fn get(target: &str) -> Request {
        Request {
            method: "GET".into(),
            target: target.into(),
            ..Request::default()
        }
    }

    pub fn post(target: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Request {
        Request {
            method: "POST".into(),
            target: target.into(),
            body: Some((content_type.into(), body.into())),
            ..Request::default()
        }
    }

    /// A POST of `application/x-www-form-urlencoded` fields.
    pub fn form(target: &str, fields: &[(&str, &str)]) -> Request {
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
        Request::post(target, "application/x-www-form-urlencoded", body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn headers(mut self, headers: &[(&str, &str)]) -> Request {
        self.headers
            .extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    pub fn cookies<S: AsRef<str>>(mut self, pairs: &[S]) -> Request {
        self.cookies = pairs.iter().map(|p| p.as_ref().to_string()).collect();
        self
    }

    /// (path, raw query) of the target.
    pub fn path_query(&self) -> (&str, &str) {
        self.target.split_once('?').unwrap_or((&self.target, ""))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// API Gateway REST API (payload 1.0).
    Rest,
    /// API Gateway HTTP API, payload format 1.0.
    HttpV1,
    /// API Gateway HTTP API, payload format 2.0.
    HttpV2,
    /// Lambda function URL (payload 2.0).
    FunctionUrl,
    /// Application Load Balancer, multi-value headers off.
    Alb,
    /// Application Load Balancer, multi-value headers on.
    AlbMulti,
}

impl Source {
    pub const ALL: [Source; 6] = [
        Source::Rest,
        Source::HttpV1,
        Source::HttpV2,
        Source::FunctionUrl,
        Source::Alb,
        Source::AlbMulti,
    ];

    pub fn fixture(self) -> &'static str {
        match self {
            Source::Rest => "rest-v1",
            Source::HttpV1 => "http-api-v1",
            Source::HttpV2 => "http-api-v2",
            Source::FunctionUrl => "function-url",
            Source::Alb => "alb",
            Source::AlbMulti => "alb-multi-value",
        }
    }

    pub fn is_v2(self) -> bool {
        matches!(self, Source::HttpV2 | Source::FunctionUrl)
    }

    pub fn is_alb(self) -> bool {
        matches!(self, Source::Alb | Source::AlbMulti)
    }

    /// The fixture for this source with method, path and query set. Query pairs are used as given: they
    /// should need no encoding, so they read the same raw (v2, ALB) and decoded (REST, 1.0).
    pub fn event(self, method: &str, path: &str, query: &[(&str, &str)]) -> Value {
        let mut e = load(self.fixture());
        let raw_query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut single = Map::new();
        let mut multi = Map::new();
        for (k, v) in query {
            single.insert(k.to_string(), json!(v));
            multi
                .entry(k.to_string())
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .expect("array")
                .push(json!(v));
        }
        match self {
            Source::Rest | Source::HttpV1 => {
                e["httpMethod"] = json!(method);
                e["path"] = json!(path);
                e["requestContext"]["httpMethod"] = json!(method);
                e["requestContext"]["path"] = json!(if self == Source::Rest {
                    format!("/Prod{path}")
                } else {
                    path.to_string()
                });
                if self == Source::Rest {
                    e["pathParameters"] = json!({"proxy": path.trim_start_matches('/')});
                }
                if query.is_empty() {
                    e["queryStringParameters"] = Value::Null;
                    e["multiValueQueryStringParameters"] = Value::Null;
                } else {
                    e["queryStringParameters"] = Value::Object(single);
                    e["multiValueQueryStringParameters"] = Value::Object(multi);
                }
            }
            Source::HttpV2 | Source::FunctionUrl => {
                e["rawPath"] = json!(path);
                e["rawQueryString"] = json!(raw_query);
                e["requestContext"]["http"]["method"] = json!(method);
                e["requestContext"]["http"]["path"] = json!(path);
                let obj = e.as_object_mut().expect("object");
                if query.is_empty() {
                    obj.remove("queryStringParameters");
                } else {
                    let mut joined = Map::new();
                    for (k, v) in multi {
                        let vals: Vec<String> = v
                            .as_array()
                            .expect("array")
                            .iter()
                            .map(|x| x.as_str().unwrap_or_default().to_string())
                            .collect();
                        joined.insert(k, json!(vals.join(",")));
                    }
                    obj.insert("queryStringParameters".into(), Value::Object(joined));
                }
            }
            Source::Alb => {
                e["httpMethod"] = json!(method);
                e["path"] = json!(path);
                e["queryStringParameters"] = Value::Object(single);
            }
            Source::AlbMulti => {
                e["httpMethod"] = json!(method);
                e["path"] = json!(path);
                e["multiValueQueryStringParameters"] = Value::Object(multi);
            }
        }
        e
    }

    /// `req` as this source delivers it: the fixture (its Host, client address, request context), with
    /// the request's method, path, query (raw for v2 and ALB, decoded for REST and HTTP API 1.0),
    /// headers, cookies (v2: the `cookies` array; others: one `Cookie` header) and body (base64 for v2
    /// sources, as HTTP APIs and function URLs hand bodies over, and for any non-UTF-8 body).
    pub fn request(self, req: &Request) -> Value {
        let (path, raw_query) = req.path_query();
        let mut e = self.event(&req.method, path, &[]);
        if !raw_query.is_empty() {
            self.set_raw_query(&mut e, raw_query);
        }
        for (name, value) in &req.headers {
            set_header(&mut e, name, &[value]);
        }
        remove_header(&mut e, "cookie");
        if let Some(obj) = e.as_object_mut() {
            obj.remove("cookies");
        }
        if !req.cookies.is_empty() {
            if self.is_v2() {
                e["cookies"] = json!(req.cookies);
            } else {
                set_header(&mut e, "Cookie", &[&req.cookies.join("; ")]);
            }
        }
        if let Some((content_type, body)) = &req.body {
            set_header(&mut e, "Content-Type", &[content_type]);
            set_body(
                &mut e,
                body,
                self.is_v2() || std::str::from_utf8(body).is_err(),
            );
        }
        e
    }

    /// Puts a raw query string (as the client sent it) where this source carries it.
    fn set_raw_query(self, e: &mut Value, raw: &str) {
        let pairs: Vec<(&str, &str)> = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect();
        let decode = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        // (key, value) pairs to put in the event: decoded for REST and 1.0, as sent for ALB.
        let (single, multi) = {
            let mut single = Map::new();
            let mut multi = Map::new();
            for (k, v) in &pairs {
                let (k, v) = match self {
                    Source::Alb | Source::AlbMulti => (k.to_string(), v.to_string()),
                    _ => (decode(k), decode(v)),
                };
                single.insert(k.clone(), json!(v));
                multi
                    .entry(k)
                    .or_insert_with(|| json!([]))
                    .as_array_mut()
                    .expect("array")
                    .push(json!(v));
            }
            (single, multi)
        };
        match self {
            Source::Rest | Source::HttpV1 => {
                e["queryStringParameters"] = Value::Object(single);
                e["multiValueQueryStringParameters"] = Value::Object(multi);
            }
            Source::HttpV2 | Source::FunctionUrl => {
                e["rawQueryString"] = json!(raw);
                let joined: Map<String, Value> = multi
                    .into_iter()
                    .map(|(k, v)| {
                        let values: Vec<&str> = v
                            .as_array()
                            .expect("array")
                            .iter()
                            .filter_map(Value::as_str)
                            .collect();
                        (k, json!(values.join(",")))
                    })
                    .collect();
                e["queryStringParameters"] = Value::Object(joined);
            }
            Source::Alb => e["queryStringParameters"] = Value::Object(single),
            Source::AlbMulti => e["multiValueQueryStringParameters"] = Value::Object(multi),
        }
    }

    /// The `Host` header of the fixture.
    pub fn host(self) -> &'static str {
        match self {
            Source::Rest => "70ixmpl4fl.execute-api.us-east-1.amazonaws.com",
            Source::HttpV1 | Source::HttpV2 => "r3pmxmplak.execute-api.us-east-1.amazonaws.com",
            Source::FunctionUrl => "a4xmplqqpz6hcdqb6yhxl5gkq40zwmjx.lambda-url.us-east-1.on.aws",
            Source::Alb => "lambda-alb-123578498.us-east-1.elb.amazonaws.com",
            Source::AlbMulti => "lambda-846800462-us-east-1.elb.amazonaws.com",
        }
    }

    /// The client address of the fixture (REMOTE_ADDR).
    pub fn client_ip(self) -> &'static str {
        match self {
            Source::Rest => "52.255.255.12",
            Source::HttpV1 | Source::HttpV2 => "205.255.255.176",
            Source::FunctionUrl => "123.123.123.123",
            Source::Alb => "72.12.164.125",
            Source::AlbMulti => "72.21.198.66",
        }
    }
}

pub fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(format!("{name}.json"));
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Raw bytes of a fixture file, unchanged.
pub fn load_raw(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

pub fn source_of(e: &Value) -> Source {
    if e["version"] == "2.0" {
        Source::HttpV2
    } else if e["requestContext"].get("elb").is_some() {
        if e.get("multiValueHeaders").is_some() {
            Source::AlbMulti
        } else {
            Source::Alb
        }
    } else if e["version"] == "1.0" {
        Source::HttpV1
    } else {
        Source::Rest
    }
}

fn remove_ci(map: Option<&mut Value>, name: &str) {
    if let Some(Value::Object(m)) = map {
        let doomed: Vec<String> = m
            .keys()
            .filter(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .collect();
        for k in doomed {
            m.remove(&k);
        }
    }
}

fn ensure_object<'a>(e: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !e.get(key).is_some_and(Value::is_object) {
        e[key] = json!({});
    }
    e[key].as_object_mut().expect("object")
}

/// Removes a header (any case) from `headers` and `multiValueHeaders`.
pub fn remove_header(e: &mut Value, name: &str) {
    remove_ci(e.get_mut("headers"), name);
    remove_ci(e.get_mut("multiValueHeaders"), name);
}

/// Sets a request header the way the event source would carry it:
/// REST: `headers` (last value) + `multiValueHeaders` (all), name as given; HTTP API 1.0: the same,
/// lower-case; v2: lower-case, values joined with ","; ALB: lower-case, last value; ALB multi: lower-case
/// `multiValueHeaders`.
pub fn set_header(e: &mut Value, name: &str, values: &[&str]) {
    remove_header(e, name);
    let last = values.last().copied().unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    match source_of(e) {
        Source::Rest | Source::HttpV1 => {
            let n = if source_of(e) == Source::Rest {
                name.to_string()
            } else {
                lower
            };
            ensure_object(e, "headers").insert(n.clone(), json!(last));
            ensure_object(e, "multiValueHeaders").insert(n, json!(values));
        }
        Source::HttpV2 | Source::FunctionUrl => {
            ensure_object(e, "headers").insert(lower, json!(values.join(",")));
        }
        Source::Alb => {
            ensure_object(e, "headers").insert(lower, json!(last));
        }
        Source::AlbMulti => {
            ensure_object(e, "multiValueHeaders").insert(lower, json!(values));
        }
    }
}

/// Sets the body (base64 when `base64`), `isBase64Encoded`, and `content-length` if the fixture has one.
pub fn set_body(e: &mut Value, body: &[u8], base64: bool) {
    e["body"] = if base64 {
        json!(b64(body))
    } else {
        json!(String::from_utf8(body.to_vec()).expect("a non-base64 body must be UTF-8"))
    };
    e["isBase64Encoded"] = json!(base64);
    let has_length = ["headers", "multiValueHeaders"].iter().any(|m| {
        e.get(*m)
            .and_then(Value::as_object)
            .is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case("content-length")))
    });
    if has_length {
        set_header(e, "content-length", &[&body.len().to_string()]);
    }
}

/// Sets the HTTP method in every place the source carries it.
pub fn set_method(e: &mut Value, method: &str) {
    match source_of(e) {
        Source::HttpV2 | Source::FunctionUrl => {
            e["requestContext"]["http"]["method"] = json!(method)
        }
        Source::Rest | Source::HttpV1 => {
            e["httpMethod"] = json!(method);
            e["requestContext"]["httpMethod"] = json!(method);
        }
        Source::Alb | Source::AlbMulti => e["httpMethod"] = json!(method),
    }
}

/// Serialises `e` with the top-level field `field` replaced by `raw_json` verbatim (to control key order).
pub fn with_raw(e: &Value, field: &str, raw_json: &str) -> Vec<u8> {
    let mut e = e.clone();
    let marker = "__RAW_FIELD_PLACEHOLDER__";
    e[field] = json!(marker);
    let text = serde_json::to_string(&e).expect("serialize");
    let replaced = text.replacen(&format!("\"{marker}\""), raw_json, 1);
    assert!(
        serde_json::from_str::<Value>(&replaced).is_ok(),
        "with_raw produced invalid JSON: {replaced}"
    );
    replaced.into_bytes()
}

/// A multipart/form-data body: (content type, bytes).
pub fn multipart(
    fields: &[(&str, &str)],
    files: &[(&str, &str, &str, &[u8])],
) -> (String, Vec<u8>) {
    let boundary = "----lambdafpmBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (name, filename, ctype, content) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
