//! Lambda HTTP events → [`HttpRequest`]: source detection and the per-source mapping rules.
//!
//! One pass of serde over the raw bytes (the shapes are in `raw`), then one small function per request
//! field. `requestContext` is kept as raw JSON so PHP receives it verbatim in `LAMBDA_REQUEST_CONTEXT`.

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use raw::{RawEvent, RequestContext};

use crate::message::{is_token_byte, Header, HttpRequest};

/// Where an event came from; decides the response shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource {
    /// API Gateway REST, or HTTP API with payload format 1.0 (same request and response shapes).
    ApiGatewayV1,
    /// HTTP API payload format 2.0, or a Function URL.
    ApiGatewayV2,
    /// Application Load Balancer; `multi_value` when the target group has multi-value headers on.
    Alb { multi_value: bool },
}

/// The service in front of the function, finer than [`EventSource`] (which only tells the shapes
/// apart): REST and HTTP APIs share the 1.0 shape, HTTP APIs and Function URLs the 2.0 one, but they
/// differ in how they treat a base64 body and whether they can take a streamed response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// API Gateway REST API: a 1.0-shaped event without `version` (HTTP APIs send `"1.0"`).
    Rest,
    /// API Gateway HTTP API, payload format 1.0 or 2.0.
    Http,
    /// A Lambda Function URL.
    FunctionUrl,
    /// An Application Load Balancer.
    Alb,
}

impl Api {
    /// Whether the caller can take a streamed response: Function URLs and REST APIs can; HTTP APIs and
    /// ALBs invoke without streaming and need a buffered answer.
    pub fn streams(self) -> bool {
        matches!(self, Api::Rest | Api::FunctionUrl)
    }

    /// A REST API hands a base64 body to the client decoded only when its `binaryMediaTypes` match.
    pub fn is_rest(self) -> bool {
        self == Api::Rest
    }
}

/// An HTTP event, parsed.
#[derive(Debug)]
pub struct HttpEvent {
    pub source: EventSource,
    pub api: Api,
    pub request: HttpRequest,
    /// `requestContext` exactly as it arrived, for `LAMBDA_REQUEST_CONTEXT`.
    pub request_context: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    #[error("the event looks like an HTTP event but a field has the wrong form: {0}")]
    InvalidField(String),
    #[error("{0}")]
    Unsupported(String),
}

impl EventError {
    /// The `Lambda-Runtime-Function-Error-Type` to report.
    pub fn error_type(&self) -> &'static str {
        match self {
            EventError::InvalidJson(_) | EventError::InvalidField(_) => "Runtime.InvalidEvent",
            EventError::Unsupported(_) => "Runtime.UnsupportedEvent",
        }
    }
}

/// A request the event source delivered but that cannot be passed on (answered with a 400).
#[derive(Debug, thiserror::Error)]
pub enum BadRequest {
    #[error("the body is marked isBase64Encoded but is not valid base64")]
    InvalidBase64,
}

/// Parses an event. The outer `Result` says whether it is an HTTP event at all; the inner one whether
/// the request in it can be served (a bad body is the client's fault and gets a 400 in the right shape).
pub fn parse(event: &[u8]) -> Result<(HttpEvent, Result<(), BadRequest>), EventError> {
    let first = event.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some() && first != Some(&b'{') {
        // Valid JSON that is not an object can never be an HTTP event; say what it was.
        return match serde_json::from_slice::<serde_json::Value>(event) {
            Ok(value) => Err(EventError::Unsupported(format!(
                "the event is a JSON {}, not an HTTP event object",
                json_kind(&value)
            ))),
            Err(e) => Err(EventError::InvalidJson(e)),
        };
    }
    let raw: RawEvent<'_> = serde_json::from_slice(event).map_err(|e| {
        if e.is_data() {
            EventError::InvalidField(e.to_string())
        } else {
            EventError::InvalidJson(e)
        }
    })?;
    let context: RequestContext<'_> = match raw.request_context {
        Some(rc) => serde_json::from_str(rc.get())
            .map_err(|e| EventError::InvalidField(format!("requestContext: {e}")))?,
        None => RequestContext::default(),
    };
    let source = detect(&raw, &context).ok_or_else(|| unsupported(event))?;
    let api = api(source, &raw, &context);
    let request_context = raw.request_context.map(|rc| rc.get().to_owned());
    let (request, body_ok) = to_request(source, raw, &context)?;
    Ok((
        HttpEvent {
            source,
            api,
            request,
            request_context,
        },
        body_ok,
    ))
}

fn detect(raw: &RawEvent<'_>, context: &RequestContext<'_>) -> Option<EventSource> {
    // Version first: some emulators put a stray `httpMethod` into v2 events.
    if raw.version.as_deref() == Some("2.0") {
        return Some(EventSource::ApiGatewayV2);
    }
    if context.elb.is_some() {
        return Some(EventSource::Alb {
            multi_value: raw.multi_value_headers.is_some(),
        });
    }
    raw.http_method.as_ref().map(|_| EventSource::ApiGatewayV1)
}

/// REST events carry no `version`, HTTP API 1.0 events say `1.0`; a v2 event comes from a Function URL
/// when its domain is a `lambda-url` one (also behind CloudFront, which passes the origin's domain).
/// Hand-written v2 events without a domain count as Function URL events.
fn api(source: EventSource, raw: &RawEvent<'_>, context: &RequestContext<'_>) -> Api {
    match source {
        EventSource::Alb { .. } => Api::Alb,
        EventSource::ApiGatewayV1 if raw.version.is_none() => Api::Rest,
        EventSource::ApiGatewayV1 => Api::Http,
        EventSource::ApiGatewayV2 => {
            let domain = context.domain_name.as_deref();
            if domain.is_none_or(|d| d.contains(".lambda-url.")) {
                Api::FunctionUrl
            } else {
                Api::Http
            }
        }
    }
}

fn to_request(
    source: EventSource,
    raw: RawEvent<'_>,
    context: &RequestContext<'_>,
) -> Result<(HttpRequest, Result<(), BadRequest>), EventError> {
    let method = method(source, &raw, context)?;
    let headers = headers(source, &raw);
    let (body, body_ok) = body(&raw);
    let request = HttpRequest {
        method,
        path: path(source, &raw),
        query: query(source, &raw),
        client_ip: client_ip(source, context, &headers),
        protocol: protocol(source, context),
        headers,
        body,
    };
    Ok((request, body_ok))
}

fn method(
    source: EventSource,
    raw: &RawEvent<'_>,
    context: &RequestContext<'_>,
) -> Result<String, EventError> {
    let method = match source {
        EventSource::ApiGatewayV2 => context.http.as_ref().and_then(|h| h.method.as_deref()),
        _ => raw.http_method.as_deref(),
    }
    .ok_or_else(|| EventError::InvalidField("the event has no HTTP method".into()))?;
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(EventError::InvalidField(format!(
            "the HTTP method {method:?} is not a token"
        )));
    }
    Ok(method.to_owned())
}

/// Always starts with `/`; the REST stage is never part of it (API Gateway leaves it out of `path`).
fn path(source: EventSource, raw: &RawEvent<'_>) -> String {
    let path = match source {
        EventSource::ApiGatewayV2 => raw.raw_path.as_deref(),
        _ => raw.path.as_deref(),
    }
    .unwrap_or("/");
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

fn query(source: EventSource, raw: &RawEvent<'_>) -> String {
    match source {
        EventSource::ApiGatewayV2 => raw.raw_query_string.as_deref().unwrap_or("").to_owned(),
        EventSource::Alb { .. } => join_query(raw, false),
        EventSource::ApiGatewayV1 => join_query(raw, true),
    }
}

fn headers(source: EventSource, raw: &RawEvent<'_>) -> Vec<Header> {
    let mut headers = Vec::new();
    match (&raw.multi_value_headers, &raw.headers) {
        // REST sends both; the multi-value form has every value. ALB sends exactly one of them.
        (Some(multi), _) if source != EventSource::ApiGatewayV2 => {
            for (name, values) in &multi.0 {
                for value in values {
                    headers.push(Header::new(name.as_ref(), value.as_bytes()));
                }
            }
        }
        (_, Some(single)) => {
            for (name, value) in &single.0 {
                headers.push(Header::new(name.as_ref(), value.as_bytes()));
            }
        }
        _ => {}
    }
    if let Some(cookies) = raw.cookies.as_ref().filter(|c| !c.is_empty()) {
        // Function URLs (and v2 events through CloudFront) carry the cookies twice: in `cookies` and in
        // a `cookie` header. The array is then the only source, or PHP would see every cookie twice.
        headers.retain(|h| !h.name.eq_ignore_ascii_case("cookie"));
        let joined: Vec<&str> = cookies.iter().map(|c| c.0.as_ref()).collect();
        headers.push(Header::new("cookie", joined.join("; ")));
    }
    headers
}

/// The client's address as the event source vouches for it, and only when it is an IP address:
/// API Gateway's console test sends `test-invoke-source-ip`, other tools `IP`, and apps that validate
/// `REMOTE_ADDR` break on those. `None` falls back to 127.0.0.1 in the CGI params.
fn client_ip(
    source: EventSource,
    context: &RequestContext<'_>,
    headers: &[Header],
) -> Option<String> {
    let claimed = match source {
        EventSource::ApiGatewayV1 => context
            .identity
            .as_ref()
            .and_then(|i| i.source_ip.as_deref())
            .map(str::to_owned),
        EventSource::ApiGatewayV2 => context
            .http
            .as_ref()
            .and_then(|h| h.source_ip.as_deref())
            .map(str::to_owned),
        // The load balancer appends the address it saw to whatever the client sent: trust only that.
        EventSource::Alb { .. } => headers
            .iter()
            .rev()
            .find(|h| h.name.eq_ignore_ascii_case("x-forwarded-for"))
            .and_then(|h| {
                String::from_utf8_lossy(&h.value)
                    .rsplit(',')
                    .next()
                    .map(|s| s.trim().to_owned())
            }),
    };
    claimed.filter(|ip| ip.trim().parse::<std::net::IpAddr>().is_ok())
}

fn protocol(source: EventSource, context: &RequestContext<'_>) -> String {
    match source {
        EventSource::ApiGatewayV2 => context.http.as_ref().and_then(|h| h.protocol.as_deref()),
        EventSource::ApiGatewayV1 => context.protocol.as_deref(),
        EventSource::Alb { .. } => None,
    }
    .filter(|p| is_http_version(p))
    .unwrap_or("HTTP/1.1")
    .to_owned()
}

fn body(raw: &RawEvent<'_>) -> (Bytes, Result<(), BadRequest>) {
    match raw.body.as_ref().map(|b| &b.0[..]) {
        None | Some(b"") => (Bytes::new(), Ok(())),
        Some(body) if raw.is_base64_encoded.unwrap_or(false) => match decode_base64(body) {
            Some(bytes) => (Bytes::from(bytes), Ok(())),
            None => (Bytes::new(), Err(BadRequest::InvalidBase64)),
        },
        Some(body) => (Bytes::copy_from_slice(body), Ok(())),
    }
}

fn decode_base64(body: &[u8]) -> Option<Vec<u8>> {
    // SIMD-accelerated. Strict (padded, no whitespace) first, as API Gateway and Function URLs
    // send it: the forgiving decoder first scans the whole body for whitespace to strip. Then
    // WHATWG "forgiving" base64 (padding optional, ASCII whitespace ignored) for the rest.
    base64_simd::STANDARD
        .decode_to_vec(body)
        .or_else(|_| base64_simd::forgiving_decode_to_vec(body))
        .ok()
}

/// Everything but RFC 3986's unreserved characters gets percent-encoded (so a space is `%20`).
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// REST / payload 1.0 hand us decoded parameters: re-encode them. ALB hands them over still encoded as
/// the client sent them: join them untouched.
fn join_query(raw: &RawEvent<'_>, encode: bool) -> String {
    let mut query = String::new();
    let mut push = |key: &str, value: &str| {
        if !query.is_empty() {
            query.push('&');
        }
        if encode {
            query.extend(utf8_percent_encode(key, QUERY_COMPONENT));
            query.push('=');
            query.extend(utf8_percent_encode(value, QUERY_COMPONENT));
        } else {
            query.push_str(key);
            query.push('=');
            query.push_str(value);
        }
    };
    if let Some(multi) = &raw.multi_value_query_string_parameters {
        for (key, values) in &multi.0 {
            for value in values {
                push(key, value);
            }
        }
    } else if let Some(single) = &raw.query_string_parameters {
        for (key, value) in &single.0 {
            push(key, value);
        }
    }
    query
}

fn is_http_version(p: &str) -> bool {
    let b = p.as_bytes();
    p.len() <= 10
        && p.starts_with("HTTP/")
        && b[5..].iter().all(|c| c.is_ascii_digit() || *c == b'.')
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Names what arrived, so the log says "an SQS event" rather than "bad event". Only on the error path.
fn unsupported(event: &[u8]) -> EventError {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(event)
    else {
        return EventError::Unsupported("the event is not an HTTP event".into());
    };
    let source = map
        .get("Records")
        .and_then(|r| r.get(0))
        .and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")))
        .and_then(|s| s.as_str())
        .map(str::to_owned)
        .or_else(|| {
            map.get("source")
                .and_then(|s| s.as_str())
                .map(str::to_owned)
        });
    let mut keys: Vec<&str> = map.keys().map(String::as_str).take(8).collect();
    if map.len() > keys.len() {
        keys.push("…");
    }
    let what = match source {
        Some(source) => format!("an event from {source}"),
        None => format!("an event with keys [{}]", keys.join(", ")),
    };
    EventError::Unsupported(format!(
        "lambda-fpm serves HTTP events (API Gateway, Function URLs, ALB) but received {what}"
    ))
}

mod raw;

#[cfg(test)]
mod tests;
