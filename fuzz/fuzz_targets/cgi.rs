//! php-fpm's stdout → `cgi::parse` (headers, Status lines, body) → `response::encode` for every source:
//! never a panic, always valid JSON; stderr splitting too.
#![no_main]

use bytes::BytesMut;
use lambda_fpm::cgi;
use lambda_fpm::lambda::events::EventSource;
use lambda_fpm::lambda::response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cgi::stderr_lines(data).count();
    let Ok(resp) = cgi::parse(BytesMut::from(data)) else {
        return;
    };
    assert!((100..=999).contains(&resp.status), "status {}", resp.status);
    assert!(
        data.ends_with(&resp.body),
        "the body is the tail of the output"
    );
    let _ = resp.status_line();
    for source in [
        EventSource::ApiGatewayV1,
        EventSource::ApiGatewayV2,
        EventSource::Alb { multi_value: false },
        EventSource::Alb { multi_value: true },
    ] {
        for head in [false, true] {
            let enc = response::encode(source, &resp, head);
            let json: serde_json::Value =
                serde_json::from_slice(&enc.json).expect("the response JSON is valid");
            assert!(json["statusCode"].is_u64(), "{json}");
        }
    }
});
