use super::*;

fn ok(event: &str) -> HttpEvent {
    let (event, body) = parse(event.as_bytes()).expect("an HTTP event");
    assert!(body.is_ok());
    event
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Vec<&'a [u8]> {
    req.headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_slice())
        .collect()
}

#[test]
fn rest_v1_rebuilds_the_query_and_keeps_every_header_value() {
    let e = ok(r#"{
        "resource": "/{proxy+}", "path": "/hello/world", "httpMethod": "POST",
        "headers": {"Accept": "b", "Host": "api.example.com"},
        "multiValueHeaders": {"Accept": ["a", "b"], "Host": ["api.example.com"], "X-Forwarded-For": ["6.6.6.6, 1.2.3.4"]},
        "queryStringParameters": {"q": "z"},
        "multiValueQueryStringParameters": {"q": ["a b", "ü&="], "empty": [""]},
        "requestContext": {"stage": "prod", "path": "/prod/hello/world", "protocol": "HTTP/1.1",
                           "identity": {"sourceIp": "203.0.113.7"}},
        "body": "eyJhIjoxfQ==", "isBase64Encoded": true
    }"#);
    assert_eq!(e.source, EventSource::ApiGatewayV1);
    let r = &e.request;
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/hello/world");
    assert_eq!(r.query, "q=a%20b&q=%C3%BC%26%3D&empty=");
    assert_eq!(header(r, "accept"), [b"a".as_slice(), b"b"]);
    assert_eq!(r.client_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(&r.body[..], br#"{"a":1}"#);
    assert!(e
        .request_context
        .as_deref()
        .is_some_and(|c| c.contains(r#""stage": "prod""#)));
}

#[test]
fn v2_keeps_the_raw_query_and_joins_cookies() {
    let e = ok(r#"{
        "version": "2.0", "httpMethod": "GET", "routeKey": "$default", "rawPath": "/my/path",
        "rawQueryString": "a=1&b=%20+x&a=2", "cookies": ["c1=v1", "c2=v2"],
        "headers": {"host": "x.lambda-url.us-east-1.on.aws", "accept": "a,b"},
        "requestContext": {"http": {"method": "PUT", "path": "/my/path", "protocol": "HTTP/2.0", "sourceIp": "198.51.100.1"}},
        "body": "héllo", "isBase64Encoded": false
    }"#);
    assert_eq!(e.source, EventSource::ApiGatewayV2);
    let r = &e.request;
    assert_eq!(
        r.method, "PUT",
        "the v2 method comes from requestContext, not a stray httpMethod"
    );
    assert_eq!(r.query, "a=1&b=%20+x&a=2");
    assert_eq!(header(r, "cookie"), [b"c1=v1; c2=v2".as_slice()]);
    assert_eq!(r.protocol, "HTTP/2.0");
    assert_eq!(r.client_ip.as_deref(), Some("198.51.100.1"));
    assert_eq!(&r.body[..], "héllo".as_bytes());
}

#[test]
fn alb_joins_the_query_as_received_and_trusts_the_last_forwarded_address() {
    let e = ok(r#"{
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:..."}},
        "httpMethod": "GET", "path": "/lambda",
        "multiValueQueryStringParameters": {"q": ["a%20b", "c"], "x": ["%2F"]},
        "multiValueHeaders": {"x-forwarded-for": ["1.1.1.1, 203.0.113.5"], "cookie": ["a=1", "b=2"]},
        "body": "", "isBase64Encoded": false
    }"#);
    assert_eq!(e.source, EventSource::Alb { multi_value: true });
    assert_eq!(e.request.query, "q=a%20b&q=c&x=%2F");
    assert_eq!(e.request.client_ip.as_deref(), Some("203.0.113.5"));
    let single = ok(
        r#"{"requestContext": {"elb": {}}, "httpMethod": "GET", "path": "/",
        "queryStringParameters": {"k": "v%26"}, "headers": {"x-forwarded-for": "203.0.113.6"}}"#,
    );
    assert_eq!(single.source, EventSource::Alb { multi_value: false });
    assert_eq!(single.request.query, "k=v%26");
    assert_eq!(single.request.client_ip.as_deref(), Some("203.0.113.6"));
}

#[test]
fn odd_header_bytes_and_nulls_never_fail_the_event() {
    let e = ok("{\"httpMethod\":\"GET\",\"path\":\"/\",\"headers\":{\"x-odd\":\"a\\u0001\\u00ffb\",\"x-null\":null},\"multiValueHeaders\":null,\"queryStringParameters\":null,\"requestContext\":{\"identity\":{\"sourceIp\":null}}}");
    assert_eq!(header(&e.request, "x-odd"), ["a\u{1}\u{ff}b".as_bytes()]);
    assert!(header(&e.request, "x-null").is_empty());
    assert_eq!(e.request.client_ip, None);
}

#[test]
fn bad_events_get_the_right_error_type() {
    let invalid = parse(b"{\"httpMethod\": ").expect_err("truncated");
    assert_eq!(invalid.error_type(), "Runtime.InvalidEvent");
    let wrong_type = parse(br#"{"httpMethod": "GET", "headers": 5}"#).expect_err("wrong type");
    assert_eq!(wrong_type.error_type(), "Runtime.InvalidEvent");
    assert!(wrong_type.to_string().contains("invalid type"));
    let sqs = parse(br#"{"Records": [{"eventSource": "aws:sqs", "body": "x"}]}"#).expect_err("sqs");
    assert_eq!(sqs.error_type(), "Runtime.UnsupportedEvent");
    assert!(sqs.to_string().contains("aws:sqs"), "{sqs}");
    let scalar = parse(b"\"hello\"").expect_err("scalar");
    assert_eq!(scalar.error_type(), "Runtime.UnsupportedEvent");
    assert!(scalar.to_string().contains("JSON string"));
    let bad_method = parse(br#"{"httpMethod": "GET /x", "path": "/"}"#).expect_err("method");
    assert_eq!(bad_method.error_type(), "Runtime.InvalidEvent");
}

#[test]
fn invalid_base64_is_the_clients_fault() {
    let (event, body) = parse(br#"{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"POST"}},"body":"@@@","isBase64Encoded":true}"#)
        .expect("parses");
    assert!(matches!(body, Err(BadRequest::InvalidBase64)));
    assert!(event.request.body.is_empty());
}

#[test]
fn missing_path_defaults_to_root_and_relative_paths_get_a_slash() {
    let e = ok(r#"{"httpMethod":"GET"}"#);
    assert_eq!(e.request.path, "/");
    let e = ok(r#"{"httpMethod":"GET","path":"x/y"}"#);
    assert_eq!(e.request.path, "/x/y");
}

#[test]
fn base64_bodies_decode_with_or_without_padding_at_every_length() {
    use base64::Engine as _;
    for len in (0..10).chain([31, 32, 33, 63, 64, 65, 1000, 65_537]) {
        let bytes: Vec<u8> = (0..len)
            .map(|b: usize| (b as u8).wrapping_mul(151))
            .collect();
        let padded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let unpadded = padded.trim_end_matches('=');
        for encoded in [padded.as_str(), unpadded] {
            let event = format!(
                r#"{{"version":"2.0","rawPath":"/","requestContext":{{"http":{{"method":"POST"}}}},"body":"{encoded}","isBase64Encoded":true}}"#
            );
            let (e, body) = parse(event.as_bytes()).expect("parses");
            assert!(body.is_ok(), "length {len}");
            assert_eq!(&e.request.body[..], &bytes[..], "length {len}");
        }
    }
}

#[test]
fn function_url_cookies_come_from_the_array_only() {
    // A captured Function URL event: the cookies are both in `headers.cookie` and in `cookies`.
    let e = ok(r#"{
        "version": "2.0", "rawPath": "/", "rawQueryString": "",
        "cookies": ["test=hi", "other=1"],
        "headers": {"cookie": "test=hi; other=1", "host": "abc.lambda-url.us-east-1.on.aws"},
        "requestContext": {"http": {"method": "GET", "sourceIp": "198.51.100.1"}}
    }"#);
    assert_eq!(
        header(&e.request, "cookie"),
        [b"test=hi; other=1".as_slice()]
    );
    // Without the array, the header is the source.
    let e = ok(r#"{"version": "2.0", "rawPath": "/", "cookies": [],
        "headers": {"cookie": "a=1"}, "requestContext": {"http": {"method": "GET"}}}"#);
    assert_eq!(header(&e.request, "cookie"), [b"a=1".as_slice()]);
}

#[test]
fn header_values_that_are_numbers_or_booleans_are_taken_as_text() {
    let e = ok(r#"{"httpMethod": "POST", "path": "/",
        "headers": {"Content-Length": 13, "X-Flag": true, "X-Ratio": 1.5, "X-None": null},
        "multiValueHeaders": {"Content-Length": [13], "X-Flag": [false, "b"], "X-One": "solo"},
        "queryStringParameters": {"page": 2}}"#);
    assert_eq!(header(&e.request, "content-length"), [b"13".as_slice()]);
    assert_eq!(header(&e.request, "x-flag"), [b"false".as_slice(), b"b"]);
    assert_eq!(header(&e.request, "x-one"), [b"solo".as_slice()]);
    let single = ok(
        r#"{"requestContext": {"elb": {}}, "httpMethod": "GET", "path": "/",
        "headers": {"content-length": 13, "x-ratio": 1.5, "x-yes": true}}"#,
    );
    assert_eq!(
        header(&single.request, "content-length"),
        [b"13".as_slice()]
    );
    assert_eq!(header(&single.request, "x-ratio"), [b"1.5".as_slice()]);
    assert_eq!(header(&single.request, "x-yes"), [b"true".as_slice()]);
    let query = ok(r#"{"httpMethod": "GET", "path": "/", "queryStringParameters": {"page": 2}}"#);
    assert_eq!(query.request.query, "page=2");
}

#[test]
fn a_header_value_that_is_an_object_is_an_error_naming_the_header() {
    let err = parse(br#"{"httpMethod": "GET", "path": "/", "headers": {"X-Obj": {"a": 1}}}"#)
        .expect_err("an object is no header value");
    assert_eq!(err.error_type(), "Runtime.InvalidEvent");
    assert!(err.to_string().contains("X-Obj"), "{err}");
    let err =
        parse(br#"{"httpMethod": "GET", "path": "/", "multiValueHeaders": {"X-Arr": [[1]]}}"#)
            .expect_err("a nested array is no header value");
    assert!(err.to_string().contains("X-Arr"), "{err}");
}

#[test]
fn a_source_ip_that_is_not_an_address_is_dropped() {
    for ip in ["test-invoke-source-ip", "IP", "", "1.2.3", "::1]"] {
        let event = format!(
            r#"{{"httpMethod": "GET", "path": "/", "requestContext": {{"identity": {{"sourceIp": "{ip}"}}}}}}"#
        );
        assert_eq!(ok(&event).request.client_ip, None, "{ip:?}");
        let event = format!(
            r#"{{"version": "2.0", "rawPath": "/", "requestContext": {{"http": {{"method": "GET", "sourceIp": "{ip}"}}}}}}"#
        );
        assert_eq!(ok(&event).request.client_ip, None, "{ip:?}");
    }
    let v6 = ok(
        r#"{"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET", "sourceIp": "2001:db8::1"}}}"#,
    );
    assert_eq!(v6.request.client_ip.as_deref(), Some("2001:db8::1"));
    let alb = ok(
        r#"{"requestContext": {"elb": {}}, "httpMethod": "GET", "path": "/",
        "headers": {"x-forwarded-for": "203.0.113.1, garbage"}}"#,
    );
    assert_eq!(alb.request.client_ip, None);
}

#[test]
fn only_a_1_0_event_without_version_is_a_rest_api() {
    let rest = r#"{"httpMethod": "GET", "path": "/", "requestContext": {"stage": "prod"}}"#;
    assert_eq!(ok(rest).api, Api::Rest);
    let http_api_v1 = r#"{"version": "1.0", "httpMethod": "GET", "path": "/"}"#;
    let e = ok(http_api_v1);
    assert_eq!(e.source, EventSource::ApiGatewayV1);
    assert_eq!(
        e.api,
        Api::Http,
        "HTTP APIs send version 1.0 and decode base64 bodies"
    );
    let v2 = r#"{"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}}}"#;
    assert_eq!(ok(v2).api, Api::FunctionUrl);
    let alb = r#"{"httpMethod": "GET", "path": "/", "requestContext": {"elb": {}}}"#;
    assert_eq!(ok(alb).api, Api::Alb);
}

#[test]
fn only_rest_apis_and_function_urls_take_streams() {
    let url = r#"{"version": "2.0", "rawPath": "/", "requestContext": {"domainName": "x.lambda-url.us-east-1.on.aws", "http": {"method": "GET"}}}"#;
    assert!(ok(url).api.streams());
    let http_api = r#"{"version": "2.0", "rawPath": "/", "requestContext": {"domainName": "x.execute-api.us-east-1.amazonaws.com", "http": {"method": "GET"}}}"#;
    assert_eq!(ok(http_api).api, Api::Http);
    assert!(!Api::Http.streams() && !Api::Alb.streams() && Api::Rest.streams());
}
