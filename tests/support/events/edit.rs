//! Changes to an event in place: headers, body and method where its source carries them, raw JSON fields.

use serde_json::{json, Map, Value};

use super::{source_of, Source};
use crate::support::b64;

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
