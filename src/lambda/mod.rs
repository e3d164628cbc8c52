//! Lambda's side: typed events and source detection, the response shapes, the Runtime API client,
//! and the invocation loop.

use std::borrow::Cow;

pub mod diagnostic;
pub mod event_source;
pub mod events;
pub mod heap;
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
    /// `Lambda-Runtime-Aws-Tenant-Id`: the tenant of a function with tenant isolation; `None` when
    /// Lambda sends none.
    pub tenant_id: Option<String>,
}

impl InvocationInfo {
    /// What PHP learns about the invocation, as server variables: `LAMBDA_INVOCATION_CONTEXT` (the
    /// invocation as JSON, the keys Bref's apps read), `LAMBDA_REQUEST_CONTEXT` (the event's
    /// `requestContext` as sent, `{}` without one), `_X_AMZN_TRACE_ID` (X-Ray's trace header) and
    /// `LAMBDA_TENANT_ID` (only when Lambda names a tenant). These names come only from here: a client
    /// header can only ever become an `HTTP_*` variable.
    pub fn server_variables<'a>(
        &'a self,
        request_context: Option<&'a str>,
    ) -> impl Iterator<Item = (&'static str, Cow<'a, [u8]>)> {
        let borrowed = |s: &'a str| Cow::Borrowed(s.as_bytes());
        [
            Some(("LAMBDA_INVOCATION_CONTEXT", Cow::Owned(self.context_json()))),
            Some((
                "LAMBDA_REQUEST_CONTEXT",
                borrowed(request_context.unwrap_or("{}")),
            )),
            self.trace_id
                .as_deref()
                .map(|t| ("_X_AMZN_TRACE_ID", borrowed(t))),
            self.tenant_id
                .as_deref()
                .map(|t| ("LAMBDA_TENANT_ID", borrowed(t))),
        ]
        .into_iter()
        .flatten()
    }

    fn context_json(&self) -> Vec<u8> {
        /// Serialized straight from borrowed fields (no `serde_json::Value` tree per invocation); the
        /// keys keep the order Bref's apps see. `tenantId` only when there is a tenant, so functions
        /// without tenant isolation get exactly Bref's JSON.
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Context<'a> {
            aws_request_id: &'a str,
            deadline_ms: Option<u64>,
            invoked_function_arn: &'a str,
            trace_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            tenant_id: Option<&'a str>,
        }
        serde_json::to_vec(&Context {
            aws_request_id: &self.request_id,
            deadline_ms: self.deadline_ms,
            invoked_function_arn: &self.function_arn,
            trace_id: self.trace_id.as_deref(),
            tenant_id: self.tenant_id.as_deref(),
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_gets_the_invocation_the_request_context_and_the_trace() {
        let info = InvocationInfo {
            request_id: "id-1".into(),
            deadline_ms: Some(5),
            function_arn: "arn".into(),
            trace_id: Some("Root=1".into()),
            tenant_id: Some("tenant-7".into()),
        };
        let vars: Vec<(&str, String)> = info
            .server_variables(Some(r#"{"stage":"$default"}"#))
            .map(|(n, v)| (n, String::from_utf8(v.into_owned()).expect("utf8")))
            .collect();
        assert_eq!(
            vars,
            [
                (
                    "LAMBDA_INVOCATION_CONTEXT",
                    r#"{"awsRequestId":"id-1","deadlineMs":5,"invokedFunctionArn":"arn","traceId":"Root=1","tenantId":"tenant-7"}"#
                        .to_owned()
                ),
                ("LAMBDA_REQUEST_CONTEXT", r#"{"stage":"$default"}"#.to_owned()),
                ("_X_AMZN_TRACE_ID", "Root=1".to_owned()),
                ("LAMBDA_TENANT_ID", "tenant-7".to_owned()),
            ]
        );
        let bare = InvocationInfo::default();
        let names: Vec<&str> = bare.server_variables(None).map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["LAMBDA_INVOCATION_CONTEXT", "LAMBDA_REQUEST_CONTEXT"]
        );
        assert_eq!(
            bare.server_variables(None)
                .nth(1)
                .map(|(_, v)| v.into_owned()),
            Some(b"{}".to_vec())
        );
        // Without a tenant the context has no tenantId key at all (not null).
        assert_eq!(
            bare.server_variables(None)
                .next()
                .map(|(_, v)| v.into_owned()),
            Some(
                br#"{"awsRequestId":"","deadlineMs":null,"invokedFunctionArn":"","traceId":null}"#
                    .to_vec()
            )
        );
    }
}
