//! A whole client request (method, target, headers, cookies, body) and the event each source makes of it.

use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

use super::edit::{remove_header, set_body, set_header};
use super::Source;

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

impl Source {
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
