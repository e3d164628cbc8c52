//! Lambda's side: typed events and source detection, the response shapes, the Runtime API client,
//! and the invocation loop.

pub mod diagnostic;
pub mod events;
pub mod response;
pub mod runtime;
pub mod runtime_api;

/// What the runtime knows about the invocation (from the Runtime API's `/next` headers).
#[derive(Debug, Clone, Default)]
pub struct InvocationInfo {
    pub request_id: String,
    pub deadline_ms: Option<u64>,
    pub function_arn: String,
    pub trace_id: Option<String>,
}
