//! The Lambda Runtime API client. [`requests`] builds each call as a value without I/O (unit-tested);
//! `head` parses the answers' heads, also without I/O; `connection` is the HTTP/1.1 exchange on one
//! kept-alive socket; [`RuntimeApi`] is the client the invocation loop uses, one method per call.

mod client;
mod connection;
mod head;
pub mod requests;

use http::StatusCode;

pub use client::{Next, RuntimeApi};
pub use requests::{invocation_info, ApiRequest, Endpoint};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach the Runtime API at {authority}: {source}")]
    Connect {
        authority: String,
        source: std::io::Error,
    },
    #[error("the Runtime API connection failed: {0}")]
    Io(std::io::Error),
    #[error("the Runtime API closed the connection before its answer was complete")]
    Closed,
    #[error("the Runtime API's answer is not valid HTTP/1.1: {0}")]
    Protocol(String),
    #[error("the Runtime API answered {status} to {call}: {body}")]
    Status {
        call: &'static str,
        status: StatusCode,
        body: String,
    },
    #[error("the Runtime API's /next answer has no Lambda-Runtime-Aws-Request-Id")]
    MissingRequestId,
    #[error("invalid AWS_LAMBDA_RUNTIME_API value {0:?}")]
    BadAddress(String),
}
