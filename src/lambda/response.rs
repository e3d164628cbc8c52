//! (event source, [`HttpResponse`]) → the response JSON that source expects. Pure.
//!
//! - REST / payload 1.0: `statusCode`, `multiValueHeaders`, `body`, `isBase64Encoded` and nothing else
//!   (an unknown key such as `cookies` makes API Gateway answer 502).
//! - v2 / Function URL: `headers` (repeats joined with `, `), `cookies` (every `Set-Cookie`, always present).
//! - ALB: `statusDescription`, and `multiValueHeaders` exactly when the request had them.

use std::borrow::Cow;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::lambda::events::EventSource;
use crate::message::{Header, HttpResponse};

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
    let Some(why) = too_large(source, response, json.len()) else {
        return Encoded {
            json,
            replaced: None,
        };
    };
    let replacement = HttpResponse::text(502, &format!("502 Bad Gateway\n{why}"));
    Encoded {
        json: encode_unchecked(source, &replacement, head),
        replaced: Some(why),
    }
}

/// Why `json_len` bytes of response JSON cannot reach the caller through `source`, if they cannot.
pub fn too_large(source: EventSource, response: &HttpResponse, json_len: usize) -> Option<String> {
    let limit = match source {
        EventSource::Alb { .. } => ALB_LIMIT,
        _ => BUFFERED_LIMIT,
    };
    (json_len > limit).then(|| {
        format!(
            "The response is too large for Lambda: {} bytes of response JSON (body {} bytes{}) where the limit is {} bytes.",
            json_len,
            response.body.len(),
            if response.is_binary() { ", base64-encoded" } else { "" },
            limit
        )
    })
}

/// The length of [`encode`]'s JSON before any replacement, without building it: the head is small and
/// serialized; the body is only counted (base64 or escaped text), so checking the limit of a large
/// response does not copy it.
pub fn encoded_len(source: EventSource, response: &HttpResponse, head: bool) -> usize {
    let (body, binary) = body_of(response, head);
    let mut out = Vec::with_capacity(128 + response.headers.len() * 64);
    write_head(source, response, &mut out);
    let body_len = if binary {
        body.len().div_ceil(3) * 4
    } else {
        escaped_len(body)
    };
    // The head's closing brace is replaced by the body's keys, as in `encode_unchecked`.
    out.len() - 1 + BODY_OPEN.len() + body_len + body_close(binary).len()
}

const BODY_OPEN: &[u8] = b",\"body\":\"";

fn body_close(binary: bool) -> &'static [u8] {
    if binary {
        b"\",\"isBase64Encoded\":true}"
    } else {
        b"\",\"isBase64Encoded\":false}"
    }
}

/// The body that goes out and whether it is binary: none for HEAD, 204 and 304.
fn body_of(response: &HttpResponse, head: bool) -> (&[u8], bool) {
    let no_body = head || response.status == 204 || response.status == 304;
    let binary = !no_body && response.is_binary();
    let body: &[u8] = if no_body { b"" } else { &response.body };
    (body, binary)
}

fn encode_unchecked(source: EventSource, response: &HttpResponse, head: bool) -> Vec<u8> {
    let (body, binary) = body_of(response, head);
    let body_json_len = if binary {
        body.len().div_ceil(3) * 4
    } else {
        body.len() + body.len() / 8
    };
    let mut out = Vec::with_capacity(body_json_len + 256 + response.headers.len() * 64);
    // Everything but the body goes through serde; `body` and `isBase64Encoded` come last in every shape
    // and are appended by hand below, so a large body is written in one pass.
    write_head(source, response, &mut out);
    // The head is a non-empty object (it always has statusCode): reopen it.
    if out.last() == Some(&b'}') {
        out.pop();
    }
    out.extend_from_slice(BODY_OPEN);
    if binary {
        push_base64(&mut out, body);
    } else {
        // `is_binary` is false only for valid UTF-8, so the bytes are a valid JSON string once escaped.
        push_escaped(&mut out, body);
    }
    out.extend_from_slice(body_close(binary));
    out
}

/// The JSON prelude of a streamed HTTP response: status, headers and cookies as the source reads them
/// (API Gateway REST: `multiValueHeaders`, so repeated headers and every `Set-Cookie` survive; Function
/// URLs: `headers` and `cookies`). The 8 NUL bytes and the raw body follow it. Pure.
pub fn prelude(source: EventSource, response: &HttpResponse) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + response.headers.len() * 64);
    let source = match source {
        EventSource::ApiGatewayV1 => EventSource::ApiGatewayV1,
        _ => EventSource::ApiGatewayV2,
    };
    write_head(source, response, &mut out);
    out
}

/// The response object without its body: status and headers in the source's shape.
fn write_head(source: EventSource, response: &HttpResponse, out: &mut Vec<u8>) {
    let grouped = group(&response.headers);
    let result = match source {
        EventSource::ApiGatewayV1 => serde_json::to_writer(
            &mut *out,
            &V1 {
                status_code: response.status,
                multi_value_headers: MultiMap(&grouped),
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
                &mut *out,
                &V2 {
                    status_code: response.status,
                    headers: JoinedMap {
                        groups: &grouped,
                        skip_cookies: true,
                    },
                    cookies,
                },
            )
        }
        EventSource::Alb { multi_value: true } => serde_json::to_writer(
            &mut *out,
            &AlbMulti {
                status_code: response.status,
                status_description: response.status_line(),
                multi_value_headers: MultiMap(&grouped),
            },
        ),
        EventSource::Alb { multi_value: false } => serde_json::to_writer(
            &mut *out,
            &AlbSingle {
                status_code: response.status,
                status_description: response.status_line(),
                headers: JoinedMap {
                    groups: &grouped,
                    skip_cookies: false,
                },
            },
        ),
    };
    // Serializing plain strings and numbers into a Vec cannot fail.
    debug_assert!(result.is_ok());
}

/// Standard base64 with padding, written straight into `out` (its alphabet needs no JSON escapes).
fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    // SIMD (AVX2 / NEON, detected at run time): a 1 MiB body is encoded in a fraction of the time the
    // scalar `base64` engine takes (docs/benchmarks.md).
    base64_simd::STANDARD.encode_append(bytes, out);
}

/// Appends `text` as the contents of a JSON string, escaped exactly as serde_json does (`\"`, `\\`,
/// `\b \f \n \r \t`, other control bytes as `\u00xx`; everything else, UTF-8 included, as is).
///
/// Eight bytes at a time, found with word-wide bit tricks instead of a lookup per byte (serde_json's
/// way, a third of the runtime's CPU time on a 1 MiB page). Each word is appended whole, a fixed-size
/// copy; when it holds an escape, the part from the escape on is taken back, the escape written, and
/// the next word starts right after it. No copy of a variable length, which on HTML (an escape every
/// 20-odd bytes) cost more than the scanning.
fn push_escaped(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + text.len() / 8);
    let mut at = 0;
    while let Some(word) = text.get(at..at + 8) {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        out.extend_from_slice(&word);
        let mask = escape_mask(u64::from_le_bytes(word));
        if mask == 0 {
            at += 8;
            continue;
        }
        // The lowest flagged byte is always a real hit (false positives only sit above one).
        let hit = (mask.trailing_zeros() / 8) as usize;
        out.truncate(out.len() - (8 - hit));
        push_escape(out, word[hit]);
        at += hit + 1;
    }
    for &byte in &text[at..] {
        if ESCAPE[usize::from(byte)] == 0 {
            out.push(byte);
        } else {
            push_escape(out, byte);
        }
    }
}

/// How long [`push_escaped`] makes `text`.
fn escaped_len(text: &[u8]) -> usize {
    text.iter()
        .map(|&byte| match ESCAPE[usize::from(byte)] {
            0 => 1,
            b'u' => 6,
            _ => 2,
        })
        .sum()
}

/// The high bit of each byte of `w` (little-endian) that is a control byte, `"` or `\\`, plus possibly
/// bytes above a hit (borrows propagate upward); bytes below the lowest hit are never flagged.
fn escape_mask(w: u64) -> u64 {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(LOW) & !v;
    let control = w.wrapping_sub(LOW * 0x20) & !w;
    let quote = zero_byte(w ^ (LOW * u64::from(b'"')));
    let backslash = zero_byte(w ^ (LOW * u64::from(b'\\')));
    (control | quote | backslash) & HIGH
}

/// Per byte: the letter of its short escape, `u` for `\u00xx`, 0 when it stands as is.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Appends the escape of a byte that needs one.
#[inline]
fn push_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match ESCAPE[usize::from(byte)] {
        b'u' => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0xf)],
        ]),
        letter => out.extend_from_slice(&[b'\\', letter]),
    }
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
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2<'a> {
    status_code: u16,
    headers: JoinedMap<'a>,
    cookies: Vec<Cow<'a, str>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlbMulti<'a> {
    status_code: u16,
    status_description: String,
    multi_value_headers: MultiMap<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlbSingle<'a> {
    status_code: u16,
    status_description: String,
    headers: JoinedMap<'a>,
}

#[cfg(test)]
mod tests;
