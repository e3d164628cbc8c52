//! Tenant isolation: the tenant Lambda names in `Lambda-Runtime-Aws-Tenant-Id` reaches PHP as
//! `$_SERVER['LAMBDA_TENANT_ID']` and as `tenantId` in `LAMBDA_INVOCATION_CONTEXT`; without it neither
//! exists, and no client header can stand in for it.

use serde_json::Value;

use crate::support::events::Request;
use crate::support::{server, server_req, Lambda, Source};

/// Client headers that look like the tenant id, each spelled as an attacker might.
const FORGED: &[(&str, &str)] = &[
    ("Lambda-Tenant-Id", "forged-1"),
    ("X-Lambda-Tenant-Id", "forged-2"),
    ("Lambda-Runtime-Aws-Tenant-Id", "forged-3"),
    ("Lambda_Tenant_Id", "forged-4"),
];

fn context(dump: &Value) -> Value {
    serde_json::from_str(server_req(dump, "LAMBDA_INVOCATION_CONTEXT"))
        .expect("LAMBDA_INVOCATION_CONTEXT is JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_lambda_names_reaches_php() {
    let lambda = Lambda::start().await;
    for source in [Source::HttpV2, Source::Rest, Source::Alb] {
        let event = serde_json::to_vec(&source.event("GET", "/tenant", &[])).expect("event");
        let outcome = lambda.api.invoke_for_tenant(event, "tenant-blue").await;
        let dump = lambda.dump_of(&lambda.expect_response(&outcome));
        assert_eq!(
            server(&dump, "LAMBDA_TENANT_ID"),
            Some("tenant-blue"),
            "{source:?}"
        );
        assert_eq!(context(&dump)["tenantId"], "tenant-blue", "{source:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tenant_no_variable_and_no_key() {
    let lambda = Lambda::start().await;
    let (_, dump) = lambda
        .php(&Source::HttpV2.event("GET", "/tenant", &[]))
        .await;
    assert_eq!(server(&dump, "LAMBDA_TENANT_ID"), None);
    let ctx = context(&dump);
    assert!(
        ctx.get("tenantId").is_none(),
        "tenantId must be absent, not null: {ctx}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_headers_never_become_the_tenant() {
    let lambda = Lambda::start().await;
    for source in [Source::HttpV2, Source::Rest, Source::AlbMulti] {
        let forged = source.request(&Request::get("/tenant").headers(FORGED));
        // Without a tenant from Lambda: none at all, though the headers arrived as HTTP_*.
        let (_, dump) = lambda.php(&forged).await;
        assert_eq!(server(&dump, "LAMBDA_TENANT_ID"), None, "{source:?}");
        assert!(context(&dump).get("tenantId").is_none(), "{source:?}");
        assert_eq!(server(&dump, "HTTP_LAMBDA_TENANT_ID"), Some("forged-1"));
        assert_eq!(server(&dump, "HTTP_X_LAMBDA_TENANT_ID"), Some("forged-2"));
        assert_eq!(
            server(&dump, "HTTP_LAMBDA_RUNTIME_AWS_TENANT_ID"),
            Some("forged-3")
        );
        // With one: Lambda's, whatever the client sent.
        let event = serde_json::to_vec(&forged).expect("event");
        let outcome = lambda.api.invoke_for_tenant(event, "tenant-real").await;
        let dump = lambda.dump_of(&lambda.expect_response(&outcome));
        assert_eq!(
            server(&dump, "LAMBDA_TENANT_ID"),
            Some("tenant-real"),
            "{source:?}"
        );
        assert_eq!(context(&dump)["tenantId"], "tenant-real", "{source:?}");
    }
}
