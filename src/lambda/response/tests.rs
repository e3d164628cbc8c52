use super::*;
use bytes::Bytes;
use serde_json::{json, Value};

fn sample() -> HttpResponse {
    let mut r = HttpResponse::new(404);
    r.headers = vec![
        Header::new("Content-Type", "text/html; charset=UTF-8"),
        Header::new("Set-Cookie", "a=1; expires=Wed, 21 Oct 2026 07:28:00 GMT"),
        Header::new("X-Multi", "one"),
        Header::new("set-cookie", "b=2"),
        Header::new("x-multi", "two"),
    ];
    r.body = Bytes::from_static(b"<h1>nope</h1>");
    r
}

fn value(source: EventSource, r: &HttpResponse, head: bool) -> Value {
    serde_json::from_slice(&encode(source, r, head).json).expect("valid JSON")
}

#[test]
fn v1_has_exactly_the_rest_keys() {
    assert_eq!(
        value(EventSource::ApiGatewayV1, &sample(), false),
        json!({
            "statusCode": 404,
            "multiValueHeaders": {
                "Content-Type": ["text/html; charset=UTF-8"],
                "Set-Cookie": ["a=1; expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"],
                "X-Multi": ["one", "two"]
            },
            "body": "<h1>nope</h1>",
            "isBase64Encoded": false
        })
    );
}

#[test]
fn v2_joins_headers_and_lists_every_cookie() {
    assert_eq!(
        value(EventSource::ApiGatewayV2, &sample(), false),
        json!({
            "statusCode": 404,
            "headers": {"Content-Type": "text/html; charset=UTF-8", "X-Multi": "one, two"},
            "cookies": ["a=1; expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"],
            "body": "<h1>nope</h1>",
            "isBase64Encoded": false
        })
    );
    let empty = value(EventSource::ApiGatewayV2, &HttpResponse::new(204), false);
    assert_eq!(empty["cookies"], json!([]));
}

#[test]
fn alb_status_description_and_header_shape_follow_the_request() {
    let multi = value(EventSource::Alb { multi_value: true }, &sample(), false);
    assert_eq!(multi["statusDescription"], "404 Not Found");
    assert_eq!(
        multi["multiValueHeaders"]["Set-Cookie"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert!(multi.get("headers").is_none());
    let single = value(EventSource::Alb { multi_value: false }, &sample(), false);
    assert_eq!(single["headers"]["Set-Cookie"], "b=2");
    assert_eq!(single["headers"]["X-Multi"], "one, two");
    assert!(single.get("multiValueHeaders").is_none());
}

#[test]
fn binary_bodies_are_base64_and_head_bodies_empty() {
    let mut r = HttpResponse::new(200).with_header("Content-Type", "image/png");
    r.body = Bytes::from_static(&[0x89, b'P', b'N', b'G', 0, 255]);
    let v = value(EventSource::ApiGatewayV2, &r, false);
    assert_eq!(v["isBase64Encoded"], true);
    assert_eq!(v["body"], "iVBORwD/");
    let v = value(EventSource::ApiGatewayV2, &r, true);
    assert_eq!(v["isBase64Encoded"], false);
    assert_eq!(v["body"], "");
}

#[test]
fn oversized_responses_become_an_explained_502() {
    let mut r = HttpResponse::new(200).with_header("Content-Type", "text/plain");
    r.body = Bytes::from(vec![b'a'; BUFFERED_LIMIT]);
    let encoded = encode(EventSource::ApiGatewayV2, &r, false);
    assert!(encoded.replaced.is_some());
    let v: Value = serde_json::from_slice(&encoded.json).expect("json");
    assert_eq!(v["statusCode"], 502);
    assert!(v["body"].as_str().is_some_and(|b| b.contains("too large")));
    // Just under the limit passes untouched.
    r.body = Bytes::from(vec![b'a'; BUFFERED_LIMIT - 200]);
    assert!(encode(EventSource::ApiGatewayV2, &r, false)
        .replaced
        .is_none());
    // ALB's limit is 1 MB.
    r.body = Bytes::from(vec![b'a'; ALB_LIMIT]);
    assert!(encode(EventSource::Alb { multi_value: false }, &r, false)
        .replaced
        .is_some());
}

#[test]
fn escaping_matches_serde_json_byte_for_byte() {
    let mut samples: Vec<String> = vec![
        String::new(),
        "plain ascii text that is longer than eight bytes".into(),
        "<tr class=\"row\"><td>a\\b</td></tr>\n".into(),
        "héllo ✓ 🎉 \u{7f} \u{80}".into(),
        (0u8..0x80).map(char::from).collect(),
    ];
    // Every escapable byte at every position of a word, and runs that end mid-word.
    for len in 0..20 {
        for at in 0..len {
            for special in [b'"', b'\\', b'\n', 0x01, 0x1f, b'\t', 0x7f, b'/'] {
                let mut v = vec![b'x'; len];
                v[at] = special;
                samples.push(String::from_utf8(v).expect("ascii"));
            }
        }
    }
    for text in samples {
        let mut ours = b"\"".to_vec();
        push_escaped(&mut ours, text.as_bytes());
        ours.push(b'"');
        assert_eq!(
            String::from_utf8(ours).expect("utf8"),
            serde_json::to_string(&text).expect("json"),
            "{text:?}"
        );
    }
}

#[test]
fn base64_matches_the_engine() {
    use base64::Engine as _;
    // Short tails and lengths on both sides of the SIMD block sizes.
    for len in (0..10).chain([31, 32, 33, 47, 48, 49, 63, 64, 65, 95, 96, 97, 1000, 65_537]) {
        let bytes: Vec<u8> = (0..len)
            .map(|b: usize| (b as u8).wrapping_mul(37))
            .collect();
        let mut out = b"x".to_vec();
        push_base64(&mut out, &bytes);
        assert_eq!(
            &out[1..],
            base64::engine::general_purpose::STANDARD
                .encode(&bytes)
                .as_bytes()
        );
    }
}

#[test]
fn encoded_len_is_the_length_of_the_encoding() {
    let mut escapes = sample();
    escapes
        .headers
        .push(Header::new("X-Quoted", "a \"b\" \\c\t"));
    escapes
        .headers
        .push(Header::new("X-Bytes", &b"\x01\xff\xfe\x7f"[..]));
    escapes
        .headers
        .push(Header::new("Set-Cookie", "c=\"3\"; Path=/"));
    escapes.body = Bytes::from_static("\"quoted\" \\ \n\r\t\x00\x1f é ✓ 🎉 </script>".as_bytes());
    let mut responses = vec![sample(), escapes, HttpResponse::new(204)];
    for len in [0, 1, 2, 3, 4, 1000] {
        let mut binary = HttpResponse::new(200).with_header("Content-Type", "image/png");
        binary.body = Bytes::from((0..len).map(|b: u32| (b * 7) as u8).collect::<Vec<u8>>());
        responses.push(binary);
    }
    let mut invalid_utf8 = HttpResponse::new(200);
    invalid_utf8.body = Bytes::from_static(b"\xff\xfe text");
    responses.push(invalid_utf8);
    let sources = [
        EventSource::ApiGatewayV1,
        EventSource::ApiGatewayV2,
        EventSource::Alb { multi_value: true },
        EventSource::Alb { multi_value: false },
    ];
    for r in &responses {
        for source in sources {
            for head in [false, true] {
                assert_eq!(
                    encoded_len(source, r, head),
                    encode_unchecked(source, r, head).len(),
                    "{source:?} head={head} {r:?}"
                );
            }
        }
    }
}
