//! One function for the whole app: the Laravel and Symfony apps with `LAMBDA_FPM_EVENT_HANDLER`
//! (their worker.php, on the layer's PHP glue) and `LAMBDA_FPM_CONSOLE`, in the same bootstrap that
//! serves their pages. Jobs are dispatched from a page to the apps' outbox (the suite's stand-in for
//! SQS: it records the message body the SQS driver or transport would send), then delivered as the SQS
//! event Lambda would make of it; schedules arrive as EventBridge events; commands as JSON strings.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::deploy::{Deployed, Transport};
use crate::support::events::{load, load_raw, Request};
use crate::support::Outcome;

/// The queue the records come from (AWS's example ARN), and its URL as Laravel stores it.
const QUEUE_ARN: &str = "arn:aws:sqs:us-east-2:123456789012:my-queue";
const QUEUE_URL: &str = "https://sqs.us-east-2.amazonaws.com/123456789012/my-queue";

/// A message as the app sent it: the body and, for Symfony, the headers the SQS transport puts into
/// message attributes.
pub struct Sent {
    pub body: String,
    pub headers: Vec<(String, String)>,
}

/// The messages the app has sent so far (its outbox under the bootstrap's TMPDIR).
pub fn outbox(d: &Deployed, app: &str) -> Vec<Sent> {
    let path = d.proc.tmpdir().join(app).join("outbox.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {line}", path.display()));
            // Laravel's outbox keeps {queue, payload}; Symfony's the serializer's {body, headers}.
            let body = v["payload"]
                .as_str()
                .or(v["body"].as_str())
                .unwrap_or_default();
            let headers = v["headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            Sent {
                body: body.to_owned(),
                headers,
            }
        })
        .collect()
}

/// The SQS event Lambda delivers for `messages`: (message id, message, receive count) each, in the
/// shape of AWS's example record (tests/fixtures/events/sqs.json).
pub fn sqs_event(messages: &[(&str, &Sent, u32)]) -> Vec<u8> {
    let template = load("sqs")["Records"][0].clone();
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, sent, receives)| {
            let mut record = template.clone();
            record["messageId"] = json!(id);
            record["body"] = json!(sent.body);
            record["attributes"]["ApproximateReceiveCount"] = json!(receives.to_string());
            record["eventSourceARN"] = json!(QUEUE_ARN);
            record["awsRegion"] = json!("us-east-2");
            let attributes: serde_json::Map<String, Value> = sent
                .headers
                .iter()
                .map(|(k, v)| {
                    let value = json!({"stringValue": v, "stringListValues": [], "binaryListValues": [], "dataType": "String"});
                    (k.clone(), value)
                })
                .collect();
            record["messageAttributes"] = Value::Object(attributes);
            record
        })
        .collect();
    serde_json::to_vec(&json!({ "Records": records })).expect("json")
}

/// Invokes the deployed function with raw event bytes.
pub async fn invoke(d: &Deployed, event: Vec<u8>) -> Outcome {
    match &d.transport {
        Transport::Lambda { api, .. } => api.invoke_with(event, Duration::from_secs(60)).await,
        Transport::Serve { .. } => panic!("events need Lambda mode"),
    }
}

/// The result JSON of an invocation that succeeded; panics with the logs otherwise.
pub async fn result(d: &Deployed, event: Vec<u8>) -> Value {
    let outcome = invoke(d, event).await;
    match &outcome {
        Outcome::Response(_) => outcome.json(),
        other => panic!(
            "{}: expected a result, got {}\nlogs:\n{}",
            d.label(),
            other.describe(),
            d.proc.logs()
        ),
    }
}

/// Runs a console command; its output, after checking it exited 0.
pub async fn console(d: &Deployed, command: &str) -> String {
    let result = result(d, serde_json::to_vec(command).expect("json")).await;
    assert_eq!(result["exitCode"], 0, "`{command}`: {result}");
    result["output"].as_str().unwrap_or_default().to_owned()
}

/// A GET of the app's JSON page.
pub async fn page(d: &Deployed, path: &str) -> Value {
    let resp = d.send(&Request::get(path)).await;
    assert_eq!(resp.status, 200, "{path}: {}", resp.describe());
    serde_json::from_slice(&resp.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", resp.text()))
}

/// A web request that dispatches a job; the message it sent.
pub async fn dispatch(d: &Deployed, app: &str, path: &str) -> Sent {
    let before = outbox(d, app).len();
    page(d, path).await;
    let mut sent = outbox(d, app);
    assert_eq!(sent.len(), before + 1, "{path} sent one message");
    sent.remove(before)
}

/// The batch response's failed ids.
pub fn failures(result: &Value) -> Vec<String> {
    result["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a batch response: {result}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The Laravel app end to end: migrate, a job from a page, a failing job through its tries to
/// failed_jobs, a job past its timeout, the scheduler, a command.
pub async fn laravel(d: &Deployed) {
    let output = console(d, "migrate --force").await;
    assert!(
        output.contains("Migrated:") && output.contains("create_app_tables"),
        "{output}"
    );

    let ada = dispatch(d, "laravel", "/jobs/greet?name=Ada").await;
    assert!(
        ada.body.contains("App\\\\Jobs\\\\Greet"),
        "Laravel's payload: {}",
        ada.body
    );
    let batch = result(d, sqs_event(&[("msg-ada", &ada, 1)])).await;
    assert_eq!(batch, json!({"batchItemFailures": []}));
    let state = page(d, "/jobs/state").await;
    assert_eq!(state["greetings"], json!(["Ada"]), "{state}");

    // $tries = 3: released (SQS retries it) until the third delivery, then failed for good.
    let fail = dispatch(d, "laravel", "/jobs/greet?name=fail").await;
    let batch = result(d, sqs_event(&[("msg-fail", &fail, 1)])).await;
    assert_eq!(failures(&batch), ["msg-fail"], "released on its first try");
    let state = page(d, "/jobs/state").await;
    assert_eq!(state["failed_jobs"], json!([]), "{state}");
    let batch = result(d, sqs_event(&[("msg-fail", &fail, 3)])).await;
    assert_eq!(
        failures(&batch),
        Vec::<String>::new(),
        "failed jobs leave the queue"
    );
    let state = page(d, "/jobs/state").await;
    let uuid = serde_json::from_str::<Value>(&fail.body).expect("payload")["uuid"].clone();
    assert_eq!(state["failed_jobs"][0]["uuid"], uuid, "{state}");
    assert_eq!(state["failed_jobs"][0]["queue"], QUEUE_URL);
    let exception = state["failed_jobs"][0]["exception"]
        .as_str()
        .unwrap_or_default();
    assert!(
        exception.contains("the greeting for fail failed"),
        "{exception}"
    );
    assert_eq!(
        state["job_failures"][0]["name"], "fail",
        "failed() ran: {state}"
    );

    // A job past its timeout on its only try fails as timed out; the record after it is not started
    // and goes back to the queue, to run on the next delivery.
    let spin = dispatch(d, "laravel", "/jobs/spin").await;
    let after = dispatch(d, "laravel", "/jobs/greet?name=after%20spin").await;
    let batch = result(
        d,
        sqs_event(&[("msg-spin", &spin, 1), ("msg-after", &after, 1)]),
    )
    .await;
    assert_eq!(failures(&batch), ["msg-after"], "{batch}");
    let state = page(d, "/jobs/state").await;
    let timed_out = state["failed_jobs"][1]["exception"]
        .as_str()
        .unwrap_or_default();
    assert!(
        timed_out.contains("Spin has been attempted too many times or run too long"),
        "{timed_out}"
    );
    assert_eq!(state["job_failures"][1]["name"], "spin");
    let batch = result(d, sqs_event(&[("msg-after", &after, 2)])).await;
    assert_eq!(failures(&batch), Vec::<String>::new());

    // An EventBridge schedule runs schedule:run: a closure task and a command task.
    let run = result(d, load_raw("eventbridge-schedule")).await;
    assert_eq!(run["exitCode"], 0, "{run}");
    let state = page(d, "/jobs/state").await;
    assert_eq!(
        state["greetings"],
        json!([
            "Ada",
            "after spin",
            "scheduled closure",
            "scheduled command"
        ]),
        "{state}; schedule:run said {run}"
    );
    let output = console(d, "greetings").await;
    assert!(
        output.contains("greetings: Ada, after spin, scheduled closure"),
        "{output}"
    );
}

/// The Symfony app end to end: a message from a page through the SQS transport's encoding, a failing
/// one in batchItemFailures, a command.
pub async fn symfony(d: &Deployed) {
    let ada = dispatch(d, "symfony", "/greet?name=Ada").await;
    let fail = dispatch(d, "symfony", "/greet?name=fail").await;
    let grace = dispatch(d, "symfony", "/greet?name=Grace").await;
    let event = sqs_event(&[
        ("m-ada", &ada, 1),
        ("m-fail", &fail, 1),
        ("m-grace", &grace, 1),
    ]);
    let batch = result(d, event).await;
    assert_eq!(failures(&batch), ["m-fail"], "{batch}");
    let logs = d.proc.logs();
    assert!(
        logs.contains("the greeting for fail failed"),
        "the failure is logged:\n{logs}"
    );
    let state = page(d, "/greetings").await;
    assert_eq!(state["greetings"], json!(["Ada", "Grace"]), "{state}");
    let output = console(d, "app:greetings").await;
    assert_eq!(output, "greetings: Ada, Grace\n");
}

/// The environment that adds the event handler and the console to an app.
pub fn event_env(console: &str, layer_php: &Path) -> Vec<(String, String)> {
    vec![
        ("LAMBDA_FPM_EVENT_HANDLER".into(), "worker.php".into()),
        ("LAMBDA_FPM_CONSOLE".into(), console.into()),
        ("LAMBDA_FPM_PHP_DIR".into(), layer_php.display().to_string()),
    ]
}
