//! Fixture events (tests/fixtures/events, written from the AWS documentation's examples) and helpers
//! to tweak them.
//!
//! Note: serde_json here has no `preserve_order`, so re-serialising a `Value` sorts object keys. Tests that
//! depend on key order (ALB query strings "in event order") build that part as raw JSON with
//! [`with_raw`].

use std::path::Path;

use serde_json::{json, Map, Value};

use super::b64;

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
