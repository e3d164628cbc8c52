//! Warm-up at init (`LAMBDA_FPM_WARMUP`): the paths are requested through the app before the first
//! `/next`, only when no client waits for init (provisioned concurrency, SnapStart); their answers are
//! logged and discarded, never posted.

use std::time::Duration;

use serde_json::Value;

use crate::support::Lambda;

const WARMUP: &str = "/lifecycle.php?n=1,/hello.txt,/fatal,/lifecycle.php?n=2";

/// The requests lifecycle.php recorded so far, in order.
fn recorded(l: &Lambda) -> Vec<Value> {
    std::fs::read_to_string(l.bs.tmpdir().join("lifecycle.log"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_concurrency_warms_up_before_the_first_next() {
    let mut l = Lambda::start_env(&[
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency"),
        ("LAMBDA_FPM_WARMUP", WARMUP),
    ])
    .await;
    l.ready().await;
    // Read at the first /next, before any invocation: the warm-up ran during init.
    let seen = recorded(&l);
    let uris: Vec<&str> = seen.iter().filter_map(|r| r["uri"].as_str()).collect();
    assert_eq!(
        uris,
        ["/lifecycle.php?n=1", "/lifecycle.php?n=2"],
        "{seen:?}"
    );
    assert_eq!(seen[0]["agent"], "lambda-fpm warm-up");
    assert_eq!(seen[0]["request"], "warm-up-1");
    assert_eq!(seen[1]["request"], "warm-up-4");
    let logs = l.bs.logs();
    for line in [
        "warm-up GET /lifecycle.php?n=1: 200 in ",
        "warm-up GET /hello.txt: 200 in ",
        "warm-up GET /fatal: 500 in ",
        "warm-up GET /lifecycle.php?n=2: 200 in ",
    ] {
        assert!(logs.contains(line), "no {line:?} in the logs:\n{logs}");
    }
    assert_eq!(
        l.api.answers_posted(),
        0,
        "warm-up answers are never posted"
    );
    // A failed warm-up request (the fatal) does not stop init.
    l.assert_serving("the warm-up").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_demand_init_never_warms_up() {
    for init_type in [None, Some("on-demand"), Some("some-future-type")] {
        let mut env = vec![("LAMBDA_FPM_WARMUP", WARMUP)];
        if let Some(t) = init_type {
            env.push(("AWS_LAMBDA_INITIALIZATION_TYPE", t));
        }
        let mut l = Lambda::start_env(&env).await;
        l.ready().await;
        l.assert_serving("init").await;
        assert!(recorded(&l).is_empty(), "{init_type:?}: {:?}", recorded(&l));
        let logs =
            l.bs.wait_for_log("LAMBDA_FPM_WARMUP is not requested", Duration::from_secs(1))
                .await;
        assert!(!logs.contains("warm-up GET"), "{init_type:?}:\n{logs}");
        if init_type == Some("some-future-type") {
            assert!(
                logs.contains(r#"AWS_LAMBDA_INITIALIZATION_TYPE="some-future-type" is not one"#),
                "{logs}"
            );
        }
    }
}
