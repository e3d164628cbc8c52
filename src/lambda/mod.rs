//! Lambda's side: typed events and source detection, the response shapes, the Runtime API client,
//! and the invocation loop.

pub mod diagnostic;
pub mod events;
pub mod response;
pub mod runtime;
pub mod runtime_api;
