//! `LAMBDA_FPM_CONSOLE`: an event that is a JSON string runs tests/fixtures/app/console.php with the
//! real PHP CLI. Arguments split as `sh` would, the task root as working directory, php-fpm's php.ini
//! and environment, stdout and stderr interleaved, exit codes, the deadline (with the command's
//! children), the output cap, and malformed commands.

use std::time::Duration;

use serde_json::Value;

use crate::faults::{alive, eventually};
use crate::support::{app_root, Bootstrap, Lambda, RuntimeApi, HANDLER};

const CONSOLE_ENV: (&str, &str) = ("LAMBDA_FPM_CONSOLE", "console.php");

async fn lambda() -> Lambda {
    let mut lambda =
        Lambda::start_env(&[CONSOLE_ENV, ("LAMBDA_FPM_TEST_VAR", "from-lambda")]).await;
    lambda.ready().await;
    lambda
}

fn command(text: &str) -> Vec<u8> {
    serde_json::to_vec(text).expect("a JSON string")
}

/// `(exitCode, output)` of a command that succeeded.
async fn run(lambda: &Lambda, text: &str) -> (i64, String) {
    let outcome = lambda.invoke_bytes(command(text)).await;
    let result = lambda.expect_response(&outcome);
    let keys: Vec<&String> = result
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["exitCode", "output"], "{result}");
    (
        result["exitCode"].as_i64().unwrap_or(-1),
        result["output"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_runs_with_the_cli_in_the_task_root_with_php_fpm_s_configuration() {
    let lambda = lambda().await;
    let inv = lambda
        .api
        .invoke_detailed(
            command(r#"args plain 'single quoted' "double \"quoted\"" back\ slash"#),
            Duration::from_secs(30),
        )
        .await;
    let result = lambda.expect_response(&inv.outcome);
    assert_eq!(result["exitCode"], 0, "{result}");
    let output = result["output"].as_str().unwrap_or_default();
    let seen: Value = serde_json::from_str(output.trim()).expect("the command's JSON line");
    assert_eq!(
        seen["argv"],
        serde_json::json!([
            "args",
            "plain",
            "single quoted",
            "double \"quoted\"",
            "back slash"
        ])
    );
    let root = std::fs::canonicalize(app_root()).expect("task root");
    assert_eq!(seen["cwd"], root.display().to_string());
    assert_eq!(seen["sapi"], "cli");
    let tmp = lambda.bs.tmpdir().display().to_string();
    // php-fpm's php.ini (written to the runtime directory), and its values.
    assert!(
        seen["ini"]
            .as_str()
            .is_some_and(|ini| ini.starts_with(&tmp) && ini.ends_with("/php.ini")),
        "{seen}"
    );
    assert_eq!(seen["sys_temp_dir"], tmp);
    assert_eq!(seen["timezone"], "UTC");
    assert_eq!(seen["var"], "from-lambda", "the function's environment");
    assert_eq!(seen["context"]["awsRequestId"], inv.request_id.as_str());
    lambda
        .bs
        .wait_for_log(
            "console: `args plain 'single quoted'",
            Duration::from_secs(5),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_and_stderr_are_interleaved_and_logged() {
    let lambda = lambda().await;
    let (code, output) = run(&lambda, "interleave").await;
    assert_eq!(code, 0);
    assert_eq!(output, "out 1\nerr 1\nout 2\nerr 2\nout 3\nerr 3\n");
    let logs = lambda
        .bs
        .wait_for_log("err 3", Duration::from_secs(5))
        .await;
    assert!(logs.contains("out 1"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_zero_exit_is_command_failed_ending_with_the_last_lines() {
    let lambda = lambda().await;
    let outcome = lambda.invoke_bytes(command("exit 3")).await;
    let (error_type, message) = lambda.error_of(&outcome);
    assert_eq!(error_type, "Function.CommandFailed");
    assert!(
        message.starts_with("`exit 3` exited with code 3"),
        "{message}"
    );
    assert!(message.ends_with("to stdout\nto stderr"), "{message}");
    let outcome = lambda.invoke_bytes(command("fatal")).await;
    let (error_type, message) = lambda.error_of(&outcome);
    assert_eq!(error_type, "Function.CommandFailed");
    assert!(message.contains("exited with code 255"), "{message}");
    assert!(
        message.contains("PHP Fatal error:  Uncaught Error: Call to undefined function undefined_console_function()"),
        "{message}"
    );
    let (code, _) = run(&lambda, "exit 0").await;
    assert_eq!(code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_kills_the_command_and_what_it_started() {
    let lambda = lambda().await;
    let inv = lambda
        .api
        .invoke_detailed(command("child"), Duration::from_secs(3))
        .await;
    let (error_type, message) = lambda.error_of(&inv.outcome);
    assert_eq!(error_type, "Function.Timeout", "{message}");
    assert!(
        message.contains("`child` was still running after"),
        "{message}"
    );
    assert!(inv.answered_at <= inv.deadline, "{:?}", inv.elapsed());
    let child: u32 = message
        .split("child pid ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("the grandchild's pid in {message}"));
    assert!(
        eventually(Duration::from_secs(5), || !alive(child)).await,
        "the command's own child {child} survived the deadline"
    );
    let (code, _) = run(&lambda, "exit 0").await;
    assert_eq!(code, 0, "the next command runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_over_the_cap_keeps_its_beginning_and_end_and_says_so() {
    let lambda = lambda().await;
    // 100 bytes a line: 1 MB of output.
    let (code, output) = run(&lambda, "spam 10000").await;
    assert_eq!(code, 0);
    assert!(output.len() < 600 * 1024, "{} bytes", output.len());
    assert!(output.starts_with(&format!("{}\n", "y".repeat(99))));
    assert!(
        output.ends_with("last line\n"),
        "{}",
        &output[output.len() - 200..]
    );
    assert!(
        output.contains(
            "bytes of output cut here; the first 262144 and the last 262144 bytes are kept]"
        ),
        "the cut is said"
    );
    let (_, small) = run(&lambda, "spam 10").await;
    assert!(!small.contains("cut here"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_commands_are_named() {
    let lambda = lambda().await;
    for (text, needle) in [
        ("say 'unclosed", "unclosed single quote"),
        ("", "the command is empty"),
        ("   ", "the command is empty"),
        ("say a\u{0}b", "NUL character"),
    ] {
        let outcome = lambda.invoke_bytes(command(text)).await;
        let (error_type, message) = lambda.error_of(&outcome);
        assert_eq!(error_type, "Runtime.InvalidCommand", "{text:?}");
        assert!(message.contains(needle), "{text:?}: {message}");
    }
    let (code, _) = run(&lambda, "exit 0").await;
    assert_eq!(code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_both_set_strings_are_commands_and_objects_are_events() {
    let mut lambda =
        Lambda::start_env(&[CONSOLE_ENV, ("LAMBDA_FPM_EVENT_HANDLER", "worker.php")]).await;
    lambda.ready().await;
    let (code, output) = run(&lambda, "interleave").await;
    assert_eq!((code, output.lines().count()), (0, 6));
    let outcome = lambda.invoke_bytes(&b"{\"a\":1}"[..]).await;
    let seen = lambda.expect_response(&outcome);
    assert_eq!(seen["source"], "direct");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_fails_when_the_console_is_missing() {
    let api = RuntimeApi::start().await;
    let env = [("LAMBDA_FPM_CONSOLE", "bin/console")];
    let mut bs = Bootstrap::start(&api, &app_root(), HANDLER, &env);
    let Some((error_type, body)) = api.init_error(Duration::from_secs(15)).await else {
        panic!("no /init/error; logs:\n{}", bs.logs());
    };
    assert_eq!(error_type, "Runtime.HandlerNotFound", "{body}");
    let message = body["errorMessage"].as_str().unwrap_or_default();
    assert!(
        message.contains("LAMBDA_FPM_CONSOLE") && message.contains("bin/console"),
        "{message}"
    );
    assert!(bs.wait_exit(Duration::from_secs(10)).await.is_some());
}
