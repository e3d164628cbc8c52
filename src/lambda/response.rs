//! (event source, [`HttpResponse`]) → the response JSON that source expects. Pure.
//!
//! - REST / payload 1.0: `statusCode`, `multiValueHeaders`, `body`, `isBase64Encoded` and nothing else
//!   (an unknown key such as `cookies` makes API Gateway answer 502).
//! - v2 / Function URL: `headers` (repeats joined with `, `), `cookies` (every `Set-Cookie`, always present).
//! - ALB: `statusDescription`, and `multiValueHeaders` exactly when the request had them.

use std::borrow::Cow;

use base64::Engine as _;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::http::{Header, HttpResponse};
use crate::lambda::events::EventSource;

/// Lambda's limit for a buffered response: 6 MiB + 100 bytes of JSON.
pub const BUFFERED_LIMIT: usize = 6 * 1024 * 1024 + 100;
/// An ALB drops Lambda responses whose JSON is over 1 MB.
pub const ALB_LIMIT: usize = 1024 * 1024;

/// What the caller gets: the JSON, and why it was replaced when it could not be delivered as is.
pub struct Encoded {
    pub json: Vec<u8>,
    pub replaced: Option<String>,
}

/// Encodes `response` for `source`; a HEAD request's body is dropped. A response the source cannot
/// carry (over its size limit) becomes a 502 that says why, instead of Lambda's bare error.
pub fn encode(source: EventSource, response: &HttpResponse, head: bool) -> Encoded {
    let json = encode_unchecked(source, response, head);
    let limit = match source {
        EventSource::Alb { .. } => ALB_LIMIT,
        _ => BUFFERED_LIMIT,
    };
    if json.len() <= limit {
        return Encoded {
            json,
            replaced: None,
        };
    }
    let why = format!(
        "The response is too large for Lambda: {} bytes of response JSON (body {} bytes{}) where the limit is {} bytes.",
        json.len(),
        response.body.len(),
        if response.is_binary() { ", base64-encoded" } else { "" },
        limit
    );
    let replacement = HttpResponse::text(502, &format!("502 Bad Gateway\n{why}"));
    Encoded {
        json: encode_unchecked(source, &replacement, head),
        replaced: Some(why),
    }
}

fn encode_unchecked(source: EventSource, response: &HttpResponse, head: bool) -> Vec<u8> {
    let no_body = head || response.status == 204 || response.status == 304;
    let binary = !no_body && response.is_binary();
    let body: Cow<'_, str> = if no_body {
        Cow::Borrowed("")
    } else if binary {
        Cow::Owned(base64::engine::general_purpose::STANDARD.encode(&response.body))
    } else {
        // `is_binary` is false only for valid UTF-8, so this never replaces anything.
        String::from_utf8_lossy(&response.body)
    };
    let mut out = Vec::with_capacity(body.len() + 256 + response.headers.len() * 64);
    let grouped = group(&response.headers);
    let result = match source {
        EventSource::ApiGatewayV1 => serde_json::to_writer(
            &mut out,
            &V1 {
                status_code: response.status,
                multi_value_headers: MultiMap(&grouped),
                body: &body,
                is_base64_encoded: binary,
            },
        ),
        EventSource::ApiGatewayV2 => {
            let cookies: Vec<Cow<'_, str>> = response
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("set-cookie"))
                .map(|h| String::from_utf8_lossy(&h.value))
                .collect();
            serde_json::to_writer(
                &mut out,
                &V2 {
                    status_code: response.status,
                    headers: JoinedMap {
                        groups: &grouped,
                        skip_cookies: true,
                    },
                    cookies,
                    body: &body,
                    is_base64_encoded: binary,
                },
            )
        }
        EventSource::Alb { multi_value: true } => serde_json::to_writer(
            &mut out,
            &AlbMulti {
                status_code: response.status,
                status_description: response.status_line(),
                multi_value_headers: MultiMap(&grouped),
                body: &body,
                is_base64_encoded: binary,
            },
        ),
        EventSource::Alb { multi_value: false } => serde_json::to_writer(
            &mut out,
            &AlbSingle {
                status_code: response.status,
                status_description: response.status_line(),
                headers: JoinedMap {
                    groups: &grouped,
                    skip_cookies: false,
                },
                body: &body,
                is_base64_encoded: binary,
            },
        ),
    };
    // Serializing plain strings and numbers into a Vec cannot fail.
    debug_assert!(result.is_ok());
    out
}

/// Headers grouped by case-insensitive name, in order of first appearance, keeping the first spelling.
type Groups<'a> = Vec<(&'a str, Vec<Cow<'a, str>>)>;

fn group(headers: &[Header]) -> Groups<'_> {
    let mut groups: Groups<'_> = Vec::with_capacity(headers.len());
    for h in headers {
        let value = String::from_utf8_lossy(&h.value);
        match groups
            .iter_mut()
            .find(|(name, _)| name.eq_ignore_ascii_case(&h.name))
        {
            Some((_, values)) => values.push(value),
            None => groups.push((h.name.as_str(), vec![value])),
        }
    }
    groups
}

struct MultiMap<'a>(&'a Groups<'a>);

impl Serialize for MultiMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, values) in self.0 {
            map.serialize_entry(name, values)?;
        }
        map.end()
    }
}

/// Single-value headers: repeats joined with `, `. `Set-Cookie` values cannot be joined (their dates
/// hold commas): v2 moves them to `cookies`; a single-value ALB keeps only the last one.
struct JoinedMap<'a> {
    groups: &'a Groups<'a>,
    skip_cookies: bool,
}

impl Serialize for JoinedMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (name, values) in self.groups {
            if name.eq_ignore_ascii_case("set-cookie") {
                if !self.skip_cookies {
                    if let Some(last) = values.last() {
                        map.serialize_entry(name, last)?;
                    }
                }
                continue;
            }
            match values.as_slice() {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, &many.join(", "))?,
            }
        }
        map.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1<'a> {
    status_code: u16,
    multi_value_headers: MultiMap<'a>,
    body: &'a str,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2<'a> {
    status_code: u16,
    headers: JoinedMap<'a>,
    cookies: Vec<Cow<'a, str>>,
    body: &'a str,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlbMulti<'a> {
    status_code: u16,
    status_description: String,
    multi_value_headers: MultiMap<'a>,
    body: &'a str,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlbSingle<'a> {
    status_code: u16,
    status_description: String,
    headers: JoinedMap<'a>,
    body: &'a str,
    is_base64_encoded: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use serde_json::{json, Value};

    fn sample() -> HttpResponse {
        let mut r = HttpResponse::new(404);
        r.headers = vec![
            Header::new("Content-Type", "text/html; charset=UTF-8"),
            Header::new("Set-Cookie", "a=1; expires=Wed, 21 Oct 2026 07:28:00 GMT"),
            Header::new("X-Multi", "one"),
            Header::new("set-cookie", "b=2"),
            Header::new("x-multi", "two"),
        ];
        r.body = Bytes::from_static(b"<h1>nope</h1>");
        r
    }

    fn value(source: EventSource, r: &HttpResponse, head: bool) -> Value {
        serde_json::from_slice(&encode(source, r, head).json).expect("valid JSON")
    }

    #[test]
    fn v1_has_exactly_the_rest_keys() {
        assert_eq!(
            value(EventSource::ApiGatewayV1, &sample(), false),
            json!({
                "statusCode": 404,
                "multiValueHeaders": {
                    "Content-Type": ["text/html; charset=UTF-8"],
                    "Set-Cookie": ["a=1; expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"],
                    "X-Multi": ["one", "two"]
                },
                "body": "<h1>nope</h1>",
                "isBase64Encoded": false
            })
        );
    }

    #[test]
    fn v2_joins_headers_and_lists_every_cookie() {
        assert_eq!(
            value(EventSource::ApiGatewayV2, &sample(), false),
            json!({
                "statusCode": 404,
                "headers": {"Content-Type": "text/html; charset=UTF-8", "X-Multi": "one, two"},
                "cookies": ["a=1; expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"],
                "body": "<h1>nope</h1>",
                "isBase64Encoded": false
            })
        );
        let empty = value(EventSource::ApiGatewayV2, &HttpResponse::new(204), false);
        assert_eq!(empty["cookies"], json!([]));
    }

    #[test]
    fn alb_status_description_and_header_shape_follow_the_request() {
        let multi = value(EventSource::Alb { multi_value: true }, &sample(), false);
        assert_eq!(multi["statusDescription"], "404 Not Found");
        assert_eq!(
            multi["multiValueHeaders"]["Set-Cookie"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        assert!(multi.get("headers").is_none());
        let single = value(EventSource::Alb { multi_value: false }, &sample(), false);
        assert_eq!(single["headers"]["Set-Cookie"], "b=2");
        assert_eq!(single["headers"]["X-Multi"], "one, two");
        assert!(single.get("multiValueHeaders").is_none());
    }

    #[test]
    fn binary_bodies_are_base64_and_head_bodies_empty() {
        let mut r = HttpResponse::new(200).with_header("Content-Type", "image/png");
        r.body = Bytes::from_static(&[0x89, b'P', b'N', b'G', 0, 255]);
        let v = value(EventSource::ApiGatewayV2, &r, false);
        assert_eq!(v["isBase64Encoded"], true);
        assert_eq!(v["body"], "iVBORwD/");
        let v = value(EventSource::ApiGatewayV2, &r, true);
        assert_eq!(v["isBase64Encoded"], false);
        assert_eq!(v["body"], "");
    }

    #[test]
    fn oversized_responses_become_an_explained_502() {
        let mut r = HttpResponse::new(200).with_header("Content-Type", "text/plain");
        r.body = Bytes::from(vec![b'a'; BUFFERED_LIMIT]);
        let encoded = encode(EventSource::ApiGatewayV2, &r, false);
        assert!(encoded.replaced.is_some());
        let v: Value = serde_json::from_slice(&encoded.json).expect("json");
        assert_eq!(v["statusCode"], 502);
        assert!(v["body"].as_str().is_some_and(|b| b.contains("too large")));
        // Just under the limit passes untouched.
        r.body = Bytes::from(vec![b'a'; BUFFERED_LIMIT - 200]);
        assert!(encode(EventSource::ApiGatewayV2, &r, false)
            .replaced
            .is_none());
        // ALB's limit is 1 MB.
        r.body = Bytes::from(vec![b'a'; ALB_LIMIT]);
        assert!(encode(EventSource::Alb { multi_value: false }, &r, false)
            .replaced
            .is_some());
    }
}
