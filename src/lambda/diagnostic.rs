//! The body of `/invocation/{id}/error` and `/init/error`, and its error-type header.

use serde::Serialize;

use crate::body::StreamError;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Diagnostic {
    #[serde(rename = "errorType")]
    pub error_type: String,
    #[serde(rename = "errorMessage")]
    pub error_message: String,
    #[serde(rename = "stackTrace")]
    pub stack_trace: Vec<String>,
}

impl Diagnostic {
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            error_message: message.into(),
            stack_trace: Vec::new(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }
}

/// A stream cut after its first byte: the error its trailers carry.
impl From<&StreamError> for Diagnostic {
    fn from(error: &StreamError) -> Self {
        Diagnostic::new(error.error_type(), error.to_string())
    }
}
