//! The suite's side of HTTP: an app's answer ([`Resp`]) from `serve` or from a Lambda response JSON, a
//! cookie jar, and the bits of HTML the checks read (a page title, a hidden form field).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{decode, wire_body};

/// An app's answer as a client sees it.
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
        format!(
            "HTTP {} {:?} set-cookie {:?}\n{}",
            self.status,
            self.headers,
            self.set_cookies,
            String::from_utf8_lossy(&self.body[..self.body.len().min(3000)])
        )
    }

    /// The body as a browser reads it: a br, zstd or gzip `Content-Encoding` decompressed (the header
    /// stays, to show it was compressed).
    pub fn decoded(mut self) -> Resp {
        if let Some(encoding) = self.header("content-encoding").map(str::to_owned) {
            self.body = decode(&encoding, &self.body);
        }
        self
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

fn status_of(v: &Value) -> u16 {
    v["statusCode"]
        .as_u64()
        .unwrap_or_else(|| panic!("no numeric statusCode in {v}")) as u16
}

/// A Lambda HTTP API v2 / function URL response JSON as the client sees it.
pub fn parse_v2_response(v: &Value) -> Resp {
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
        body: wire_body(v),
    }
}

/// An API Gateway REST (payload 1.0) response JSON as the client sees it.
pub fn parse_v1_response(v: &Value) -> Resp {
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
        body: wire_body(v),
    }
}

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
