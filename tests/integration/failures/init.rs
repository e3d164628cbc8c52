//! Init failures: a missing handler, php-fpm or task root, and php-fpm exiting at once, as `/init/error`s.

use std::time::Duration;

use crate::support::{app_root, Bootstrap, RuntimeApi, HANDLER};

async fn expect_init_failure(env: &[(&str, &str)], handler: &str, mention: &str) {
    let api = RuntimeApi::start().await;
    let mut bs = Bootstrap::start(&api, &app_root(), handler, env);
    let Some((kind, body)) = api.init_error(Duration::from_secs(15)).await else {
        panic!(
            "no POST /runtime/init/error within 15 s (exit: {:?}; requests: {:?}); logs:\n{}",
            bs.try_exit(),
            api.request_log(),
            bs.logs()
        );
    };
    assert!(
        kind.starts_with("Runtime."),
        "init error type {kind:?} (body {body})"
    );
    let msg = body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        msg.contains(mention),
        "the init error should tell the user what to fix (mention {mention:?}): {body}"
    );
    let status = bs.wait_exit(Duration::from_secs(10)).await;
    let Some(status) = status else {
        panic!(
            "the bootstrap did not exit after an init error; logs:\n{}",
            bs.logs()
        )
    };
    assert!(
        !status.success(),
        "exit status after an init error: {status:?}"
    );
    assert_eq!(api.next_calls(), 0, "no GET /next after a failed init");
    assert!(
        bs.logs().contains(mention),
        "the logs should say it too; logs:\n{}",
        bs.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_when_handler_is_missing() {
    expect_init_failure(&[], "public/missing.php", "missing.php").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_when_php_fpm_is_missing() {
    expect_init_failure(
        &[("LAMBDA_FPM_PHP_FPM", "/nonexistent")],
        HANDLER,
        "/nonexistent",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_when_php_fpm_exits_at_once() {
    let api = RuntimeApi::start().await;
    let mut bs = Bootstrap::start(
        &api,
        &app_root(),
        HANDLER,
        &[("LAMBDA_FPM_PHP_FPM", "/bin/false")],
    );
    let Some((kind, body)) = api.init_error(Duration::from_secs(15)).await else {
        panic!(
            "no init error when php-fpm exits at once (exit {:?}); logs:\n{}",
            bs.try_exit(),
            bs.logs()
        );
    };
    assert!(kind.starts_with("Runtime."), "{kind}");
    assert!(
        !body["errorMessage"].as_str().unwrap_or_default().is_empty(),
        "{body}"
    );
    let status = bs.wait_exit(Duration::from_secs(10)).await;
    assert!(
        matches!(status, Some(s) if !s.success()),
        "exit status {status:?}"
    );
    assert_eq!(api.next_calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_when_task_root_is_missing() {
    let api = RuntimeApi::start().await;
    let missing = std::path::Path::new("/nonexistent-task-root");
    let mut bs = Bootstrap::start(&api, missing, HANDLER, &[]);
    let Some((_, body)) = api.init_error(Duration::from_secs(15)).await else {
        panic!(
            "no init error for a missing task root; logs:\n{}",
            bs.logs()
        );
    };
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("nonexistent-task-root"),
        "{body}"
    );
    assert!(matches!(bs.wait_exit(Duration::from_secs(10)).await, Some(s) if !s.success()));
}
