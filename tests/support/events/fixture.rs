//! Fixture events: the files of tests/fixtures/events, and a source's fixture with method, path and query set.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::Source;

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

impl Source {
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
}
