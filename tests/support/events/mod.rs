//! The one event builder of the suites and benches: fixture events (tests/fixtures/events, written from the
//! AWS documentation's examples) per source, [`Source::request`] to turn a whole client request into the
//! event a source delivers, and helpers to tweak an event.
//!
//! Note: serde_json here has no `preserve_order`, so re-serialising a `Value` sorts object keys. Tests that
//! depend on key order (ALB query strings "in event order") build that part as raw JSON with
//! [`with_raw`].
//!
//! The steps, one module each: [`fixture`] loads a source's fixture and sets method, path and query;
//! [`request`] turns a whole client request into an event; [`edit`] changes headers, body and method
//! of an event in place, as its source would carry them.

mod edit;
mod fixture;
mod request;

use serde_json::Value;

pub use edit::{remove_header, set_body, set_header, set_method, with_raw};
pub use fixture::{load, load_raw};
pub use request::{multipart, Request};

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
