//! Event bytes → `events::parse` → `Params::build` (a fixed script) → PARAMS encoding round trip, and a
//! response derived from the request → `response::encode` → valid JSON within Lambda's limit. Events
//! that are not HTTP → `event_source::classify`, and a console command → `console::split`.
#![no_main]

use lambda_fpm::fastcgi::params::Site;
use lambda_fpm::fastcgi::{wire, Params};
use lambda_fpm::lambda::InvocationInfo;
use lambda_fpm::lambda::{event_source, events, response};
use lambda_fpm::message::HttpResponse;
use lambda_fpm::router::Script;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((event, _body_ok)) = events::parse(data) else {
        // What the runtime does with an event that is not HTTP: classify it, split a command.
        if let Ok(event_source::Kind::Command(command)) = event_source::classify(data) {
            let _ = lambda_fpm::console::split(&command);
        }
        return;
    };
    let req = &event.request;
    assert!(req.path.starts_with('/'));
    let script = Script {
        filename: "/var/task/public/index.php".into(),
        name: "/index.php".into(),
        path_info: (req.path.len() % 2 == 0).then(|| req.path.clone()),
    };
    let site = Site::new("/var/task/public".into());
    let inv = InvocationInfo {
        request_id: "fuzz-request".into(),
        deadline_ms: Some(1_700_000_000_000),
        function_arn: "arn:aws:lambda:us-east-1:123456789012:function:fuzz".into(),
        trace_id: Some("Root=1-fuzz".into()),
        tenant_id: Some("tenant-fuzz".into()),
    };
    let mut params = Params::build(req, &script, &site);
    params.extend(inv.server_variables(event.request_context.as_deref()));
    for (name, value) in params.iter() {
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()),
            "param name {name:?}"
        );
        assert_ne!(name, "HTTP_PROXY", "httpoxy");
        if name.starts_with("HTTP_") {
            assert!(
                !value.iter().any(|b| matches!(b, 0 | b'\r' | b'\n')),
                "{name}: {value:?}"
            );
        }
        if name == "REQUEST_URI" || name == "QUERY_STRING" {
            assert!(
                !value.iter().any(|b| *b < 0x20 || *b == 0x7f),
                "{name}: {value:?}"
            );
        }
    }
    // Server variables come from the event and the configuration only.
    assert_eq!(
        params.get("SCRIPT_FILENAME"),
        Some(&b"/var/task/public/index.php"[..])
    );
    assert_eq!(params.get("DOCUMENT_ROOT"), Some(&b"/var/task/public"[..]));
    // Lambda-given values come from the invocation only, once, whatever the event's headers say.
    let tenants: Vec<&[u8]> = params
        .iter()
        .filter(|(name, _)| *name == "LAMBDA_TENANT_ID")
        .map(|(_, value)| value)
        .collect();
    assert_eq!(tenants, [&b"tenant-fuzz"[..]]);
    let remote = req.client_ip.as_deref().unwrap_or("127.0.0.1");
    assert_eq!(params.get("REMOTE_ADDR"), Some(remote.as_bytes()));
    let encoded = params.encoded();
    let pairs = wire::decode_pairs(encoded).expect("our own PARAMS stream decodes");
    assert_eq!(pairs.len(), params.iter().count());
    let request = wire::encode_request(1, encoded, &req.body);
    assert!(request.len() >= encoded.len() + req.body.len());

    // A response derived from the request: every header echoed, the body echoed.
    let mut resp = HttpResponse::new(100 + (req.body.len() % 900) as u16);
    resp.headers = req.headers.clone();
    resp.body = req.body.clone();
    let enc = response::encode(event.source, &resp, req.is_head());
    let json: serde_json::Value =
        serde_json::from_slice(&enc.json).expect("the response JSON is valid");
    assert!(json["statusCode"].is_u64());
    assert!(enc.json.len() <= response::BUFFERED_LIMIT);
});
