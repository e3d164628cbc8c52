//! What a non-HTTP event is: a console command (a JSON string), or an event of some AWS service, named
//! the way PHP sees it in `LAMBDA_EVENT_SOURCE`. Pure.
//!
//! Runs only after [`super::events::parse`] turned the event down, so HTTP events never pay for it. One
//! serde pass reads the few top-level fields that name a source; everything else is skipped unparsed.
//! A field of an unexpected type is "not a marker" rather than an error: a direct invocation may send
//! any JSON at all.

use serde::Deserialize;
use serde_json::value::RawValue;

/// What arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An HTTP event (API Gateway, Function URL, ALB) whose fields the HTTP parser could not read.
    Http,
    /// A JSON string: a console command such as `"migrate --force"`.
    Command(String),
    /// Anything else, for the event handler.
    Event(Source),
}

/// The service that sent an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Sqs {
        records: usize,
    },
    Sns,
    /// EventBridge, its schedules included (whatever the event's own `source` field says).
    EventBridge,
    S3,
    DynamoDb,
    Kinesis,
    /// Another AWS service that names itself like the above (`aws:ses`, `aws:kafka`, `aws:mq`, ...).
    OtherAws(String),
    /// No AWS service's shape: `aws lambda invoke`, an SDK call, a Step Functions task, ...
    Direct,
}

impl Source {
    /// The value of `LAMBDA_EVENT_SOURCE`: the record's own `eventSource` spelling for record-based
    /// services, `aws.events` for EventBridge (the `source` its schedules carry).
    pub fn name(&self) -> &str {
        match self {
            Source::Sqs { .. } => "aws:sqs",
            Source::Sns => "aws:sns",
            Source::EventBridge => "aws.events",
            Source::S3 => "aws:s3",
            Source::DynamoDb => "aws:dynamodb",
            Source::Kinesis => "aws:kinesis",
            Source::OtherAws(name) => name,
            Source::Direct => "direct",
        }
    }
}

/// The top-level fields that tell sources apart; each kept raw, so a wrong type is no error.
#[derive(Deserialize, Default)]
struct Probe<'a> {
    #[serde(borrow)]
    version: Option<&'a RawValue>,
    #[serde(rename = "httpMethod", borrow)]
    http_method: Option<&'a RawValue>,
    #[serde(rename = "requestContext", borrow)]
    request_context: Option<&'a RawValue>,
    #[serde(rename = "Records", borrow)]
    records: Option<&'a RawValue>,
    /// MSK, self-managed Kafka and Amazon MQ name themselves at the top level.
    #[serde(rename = "eventSource", borrow)]
    event_source: Option<&'a RawValue>,
    #[serde(rename = "detail-type", borrow)]
    detail_type: Option<&'a RawValue>,
    #[serde(borrow)]
    source: Option<&'a RawValue>,
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
}

/// The fields of a record that name its service: SNS spells it `EventSource`, the others `eventSource`.
#[derive(Deserialize)]
struct RecordProbe<'a> {
    #[serde(rename = "eventSource", borrow)]
    event_source: Option<&'a RawValue>,
    #[serde(rename = "EventSource", borrow)]
    event_source_sns: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ElbProbe<'a> {
    #[serde(borrow)]
    elb: Option<&'a RawValue>,
}

/// Classifies an event; `Err` when it is not JSON at all.
pub fn classify(event: &[u8]) -> Result<Kind, serde_json::Error> {
    let first = event.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'"') => return serde_json::from_slice::<String>(event).map(Kind::Command),
        Some(b'{') => {}
        // Arrays, numbers, booleans, null: valid JSON is a direct invocation.
        _ => {
            return serde_json::from_slice::<&RawValue>(event).map(|_| Kind::Event(Source::Direct))
        }
    }
    let probe: Probe<'_> = serde_json::from_slice(event)?;
    if looks_http(&probe) {
        return Ok(Kind::Http);
    }
    if let Some(source) = probe.records.and_then(record_source) {
        return Ok(Kind::Event(source));
    }
    if probe.detail_type.is_some() && string(probe.source).is_some() && probe.detail.is_some() {
        return Ok(Kind::Event(Source::EventBridge));
    }
    let top = string(probe.event_source).and_then(aws_name);
    Ok(Kind::Event(top.map_or(Source::Direct, Source::OtherAws)))
}

/// The markers `events::parse` detects HTTP events by: `version` 2.0, an ALB `requestContext.elb`, or
/// an `httpMethod`.
fn looks_http(probe: &Probe<'_>) -> bool {
    string(probe.version).as_deref() == Some("2.0")
        || probe.http_method.is_some()
        || probe
            .request_context
            .and_then(|rc| serde_json::from_str::<ElbProbe<'_>>(rc.get()).ok())
            .is_some_and(|rc| rc.elb.is_some())
}

/// The service of a `Records` array, from its first record (a batch comes from one source).
fn record_source(records: &RawValue) -> Option<Source> {
    let records: Vec<&RawValue> = serde_json::from_str(records.get()).ok()?;
    let first: RecordProbe<'_> = serde_json::from_str(records.first()?.get()).ok()?;
    let name = string(first.event_source).or_else(|| string(first.event_source_sns))?;
    Some(match name.as_str() {
        "aws:sqs" => Source::Sqs {
            records: records.len(),
        },
        "aws:sns" => Source::Sns,
        "aws:s3" => Source::S3,
        "aws:dynamodb" => Source::DynamoDb,
        "aws:kinesis" => Source::Kinesis,
        _ => Source::OtherAws(aws_name(name)?),
    })
}

/// A service name as AWS writes them (`aws:` and a short token); anything else is not passed on, so
/// PHP never sees an arbitrary string from the event as `LAMBDA_EVENT_SOURCE`.
fn aws_name(name: String) -> Option<String> {
    let rest = name.strip_prefix("aws:")?;
    let token = !rest.is_empty()
        && rest.len() <= 40
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    token.then_some(name)
}

fn string(raw: Option<&RawValue>) -> Option<String> {
    serde_json::from_str(raw?.get()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(event: &str) -> Kind {
        classify(event.as_bytes()).expect("valid JSON")
    }

    fn source(event: &str) -> String {
        match kind(event) {
            Kind::Event(source) => source.name().to_owned(),
            other => panic!("{event}: {other:?}"),
        }
    }

    #[test]
    fn record_based_services_are_named_by_their_first_record() {
        let sqs =
            r#"{"Records":[{"messageId":"1","eventSource":"aws:sqs"},{"eventSource":"aws:sqs"}]}"#;
        assert_eq!(kind(sqs), Kind::Event(Source::Sqs { records: 2 }));
        assert_eq!(source(sqs), "aws:sqs");
        assert_eq!(
            source(r#"{"Records":[{"EventSource":"aws:sns","Sns":{}}]}"#),
            "aws:sns"
        );
        assert_eq!(
            source(r#"{"Records":[{"eventSource":"aws:s3"}]}"#),
            "aws:s3"
        );
        assert_eq!(
            source(r#"{"Records":[{"eventSource":"aws:dynamodb"}]}"#),
            "aws:dynamodb"
        );
        assert_eq!(
            source(r#"{"Records":[{"eventSource":"aws:kinesis"}]}"#),
            "aws:kinesis"
        );
        assert_eq!(
            source(r#"{"Records":[{"eventSource":"aws:ses"}]}"#),
            "aws:ses"
        );
    }

    #[test]
    fn eventbridge_events_and_schedules_are_aws_events() {
        let schedule = r#"{"version":"0","id":"x","detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#;
        assert_eq!(source(schedule), "aws.events");
        let custom =
            r#"{"detail-type":"OrderPlaced","source":"com.example.shop","detail":{"id":1}}"#;
        assert_eq!(source(custom), "aws.events");
        // Without `detail` it is not EventBridge's envelope.
        assert_eq!(source(r#"{"detail-type":"x","source":"y"}"#), "direct");
    }

    #[test]
    fn top_level_service_names_pass_through_when_they_look_like_aws() {
        assert_eq!(
            source(r#"{"eventSource":"aws:kafka","records":{}}"#),
            "aws:kafka"
        );
        assert_eq!(source(r#"{"eventSource":"SelfManagedKafka"}"#), "direct");
        assert_eq!(source(r#"{"eventSource":"aws:a b"}"#), "direct");
        assert_eq!(
            source(r#"{"Records":[{"eventSource":"aws:\n<script>"}]}"#),
            "direct"
        );
    }

    #[test]
    fn anything_else_is_a_direct_invocation() {
        for event in [
            "{}",
            r#"{"job":"resize","id":7}"#,
            "[1,2]",
            "42",
            "null",
            "true",
            r#"{"Records":[]}"#,
            r#"{"Records":"nope"}"#,
            r#"{"Records":[{"eventSource":7}]}"#,
            r#"{"source":5,"detail-type":[],"detail":1}"#,
        ] {
            assert_eq!(source(event), "direct", "{event}");
        }
    }

    #[test]
    fn a_json_string_is_a_command() {
        assert_eq!(
            kind(r#"  "migrate --force" "#),
            Kind::Command("migrate --force".into())
        );
        assert_eq!(
            kind(r#""say \"hi\"\n""#),
            Kind::Command("say \"hi\"\n".into())
        );
    }

    #[test]
    fn http_markers_are_recognised_so_the_http_parser_error_stands() {
        assert_eq!(kind(r#"{"version":"2.0","headers":[1]}"#), Kind::Http);
        assert_eq!(kind(r#"{"httpMethod":5}"#), Kind::Http);
        assert_eq!(kind(r#"{"requestContext":{"elb":{}}}"#), Kind::Http);
        assert_eq!(
            source(r#"{"version":"0","requestContext":{"routeKey":"$connect"}}"#),
            "direct"
        );
    }

    #[test]
    fn invalid_json_is_an_error() {
        for event in ["", "{", "\"open", "nope", "{\"a\":1} x", "\u{feff}{}"] {
            assert!(classify(event.as_bytes()).is_err(), "{event:?}");
        }
    }
}
