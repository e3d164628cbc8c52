//! The basics per event source, and query strings: raw for v2 and ALB, rebuilt for REST and HTTP API 1.0.

use serde_json::{json, Value};

use crate::support::events::{load, set_header, with_raw};
use crate::support::{app_root, server, server_req, server_software, Lambda, Source};

// ----- the basics, per source ----------------------------------------------------------------------------

async fn check_basics(source: Source) {
    let lambda = Lambda::start().await;
    let mut event = source.event("GET", "/hello/world.html", &[("x", "1"), ("y", "two")]);
    set_header(&mut event, "X-Custom-Thing", &["yes"]);
    let (resp, dump) = lambda.php(&event).await;
    assert_eq!(resp["statusCode"], 200, "{source:?}: {resp}");

    let root = app_root().display().to_string();
    let expect = [
        ("REQUEST_METHOD", "GET".to_string()),
        ("REQUEST_URI", "/hello/world.html?x=1&y=two".to_string()),
        ("QUERY_STRING", "x=1&y=two".to_string()),
        ("SCRIPT_FILENAME", format!("{root}/public/index.php")),
        ("SCRIPT_NAME", "/index.php".to_string()),
        ("PHP_SELF", "/index.php".to_string()),
        ("DOCUMENT_ROOT", format!("{root}/public")),
        ("SERVER_NAME", source.host().to_string()),
        ("HTTP_HOST", source.host().to_string()),
        ("SERVER_PORT", "443".to_string()),
        ("HTTPS", "on".to_string()),
        ("REQUEST_SCHEME", "https".to_string()),
        ("SERVER_PROTOCOL", "HTTP/1.1".to_string()),
        ("REMOTE_ADDR", source.client_ip().to_string()),
        ("GATEWAY_INTERFACE", "CGI/1.1".to_string()),
        ("SERVER_SOFTWARE", server_software()),
        ("HTTP_X_CUSTOM_THING", "yes".to_string()),
    ];
    for (name, want) in expect {
        assert_eq!(
            server(&dump, name),
            Some(want.as_str()),
            "{source:?}: $_SERVER[{name}]"
        );
    }
    assert!(server_req(&dump, "SERVER_SOFTWARE").starts_with("lambda-fpm/"));
    assert_eq!(
        server(&dump, "PATH_INFO"),
        None,
        "{source:?}: no PATH_INFO for a front-controller URL"
    );
    assert_eq!(
        server(&dump, "CONTENT_TYPE"),
        None,
        "{source:?}: CONTENT_TYPE only when the request has one"
    );
    assert_eq!(dump["get"], json!({"x": "1", "y": "two"}), "{source:?}");
    assert_eq!(dump["script"], "index.php");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basics_rest() {
    check_basics(Source::Rest).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basics_http_api_v1() {
    check_basics(Source::HttpV1).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basics_http_api_v2() {
    check_basics(Source::HttpV2).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basics_function_url() {
    check_basics(Source::FunctionUrl).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basics_alb() {
    check_basics(Source::Alb).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basics_alb_multi_value() {
    check_basics(Source::AlbMulti).await;
}

/// Every source, unchanged fixture (as documented by AWS), one bootstrap: all served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmodified_fixtures_of_every_source_are_served() {
    let lambda = Lambda::start().await;
    for source in Source::ALL {
        let event = load(source.fixture());
        let (resp, dump) = lambda.php(&event).await;
        assert_eq!(resp["statusCode"], 200, "{source:?}");
        assert_eq!(
            server(&dump, "REMOTE_ADDR"),
            Some(source.client_ip()),
            "{source:?}"
        );
    }
    // the documented examples' query strings
    let (_, dump) = lambda.php(&load("http-api-v2")).await;
    assert_eq!(
        server(&dump, "QUERY_STRING"),
        Some("parameter1=value1&parameter1=value2&parameter2=value")
    );
    assert_eq!(
        server(&dump, "HTTP_COOKIE"),
        Some("cookie1=value1; cookie2=value2")
    );
    let (_, dump) = lambda.php(&load("alb-multi-value")).await;
    assert_eq!(
        server(&dump, "QUERY_STRING"),
        Some("myKey=val1&myKey=val2&myOtherKey=val3")
    );
    assert_eq!(
        server(&dump, "HTTP_COOKIE"),
        Some("name1=value1; name2=value2")
    );
    let (_, dump) = lambda.php(&load("alb")).await;
    assert_eq!(server(&dump, "QUERY_STRING"), Some("query=1234ABCD"));
    assert_eq!(server(&dump, "REQUEST_URI"), Some("/lambda?query=1234ABCD"));
}

// ----- query strings ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_v2_is_raw_query_string_byte_for_byte() {
    let lambda = Lambda::start().await;
    let raw = r#"a=1%202&b=x+y&c=%2F%3F&empty=&flag&arr[]=1&arr%5B%5D=2&caf%C3%A9=%E2%9C%93&q="quoted"&sp%20key=v"#;
    for source in [Source::HttpV2, Source::FunctionUrl] {
        let mut event = source.event("GET", "/search", &[]);
        event["rawQueryString"] = json!(raw);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(server(&dump, "QUERY_STRING"), Some(raw), "{source:?}");
        assert_eq!(
            server(&dump, "REQUEST_URI"),
            Some(format!("/search?{raw}").as_str()),
            "{source:?}"
        );
        assert_eq!(
            dump["get"],
            json!({"a": "1 2", "b": "x y", "c": "/?", "empty": "", "flag": "", "arr": ["1", "2"],
                   "café": "✓", "q": "\"quoted\"", "sp_key": "v"}),
            "{source:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_v2_empty_gives_bare_request_uri() {
    let lambda = Lambda::start().await;
    let event = Source::HttpV2.event("GET", "/plain/path", &[]);
    let (_, dump) = lambda.php(&event).await;
    assert_eq!(server(&dump, "REQUEST_URI"), Some("/plain/path"));
    assert_eq!(server(&dump, "QUERY_STRING").unwrap_or(""), "");
    assert_eq!(dump["get"], json!({}));
}

/// cargo-lambda's emulator sends `rawQueryString: null` for a request without a query; it means "no query".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_v2_null_raw_query_string_is_empty() {
    let lambda = Lambda::start().await;
    let mut event = Source::HttpV2.event("GET", "/plain/path", &[]);
    event["rawQueryString"] = Value::Null;
    let (resp, dump) = lambda.php(&event).await;
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(server(&dump, "REQUEST_URI"), Some("/plain/path"));
    assert_eq!(server(&dump, "QUERY_STRING").unwrap_or(""), "");
}

/// REST and payload 1.0 carry decoded parameters: the query is rebuilt, each key and value
/// percent-encoded (unreserved kept, space as %20). Keys are in sorted order in the event, so any key
/// order the runtime chooses (event order or sorted) gives the same string.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_rest_and_v1_are_rebuilt_percent_encoded() {
    let lambda = Lambda::start().await;
    let multi = json!({
        "a": ["1 2"],
        "b": ["x&y", "z=w"],
        "c": ["/ü+"],
        "d": [""],
        "e e": ["A-Z_.~9"]
    });
    let single = json!({"a": "1 2", "b": "z=w", "c": "/ü+", "d": "", "e e": "A-Z_.~9"});
    let expected = "a=1%202&b=x%26y&b=z%3Dw&c=%2F%C3%BC%2B&d=&e%20e=A-Z_.~9";
    for source in [Source::Rest, Source::HttpV1] {
        let mut event = source.event("GET", "/search", &[]);
        event["multiValueQueryStringParameters"] = multi.clone();
        event["queryStringParameters"] = single.clone();
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(server(&dump, "QUERY_STRING"), Some(expected), "{source:?}");
        assert_eq!(
            server(&dump, "REQUEST_URI"),
            Some(format!("/search?{expected}").as_str()),
            "{source:?}"
        );
        assert_eq!(
            dump["get"],
            json!({"a": "1 2", "b": "z=w", "c": "/ü+", "d": "", "e_e": "A-Z_.~9"}),
            "{source:?}"
        );
    }
}

/// ALB parameters are still encoded as sent: joined as received, every value, in event order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_alb_joined_as_received_in_event_order() {
    let lambda = Lambda::start().await;

    let event = Source::AlbMulti.event("GET", "/search", &[]);
    let raw = with_raw(
        &event,
        "multiValueQueryStringParameters",
        r#"{"zeta": ["1"], "alpha": ["a%20b", "c+d"], "enc": ["%2F%3F"], "plain": [""]}"#,
    );
    let (_, dump) = lambda.php_bytes(raw).await;
    let expected = "zeta=1&alpha=a%20b&alpha=c+d&enc=%2F%3F&plain=";
    assert_eq!(
        server(&dump, "QUERY_STRING"),
        Some(expected),
        "ALB multi-value"
    );
    assert_eq!(
        server(&dump, "REQUEST_URI"),
        Some(format!("/search?{expected}").as_str())
    );
    assert_eq!(
        dump["get"],
        json!({"zeta": "1", "alpha": "c d", "enc": "/?", "plain": ""})
    );

    let event = Source::Alb.event("GET", "/search", &[]);
    let raw = with_raw(
        &event,
        "queryStringParameters",
        r#"{"zeta": "1", "alpha": "a%20b", "x": "y+z"}"#,
    );
    let (_, dump) = lambda.php_bytes(raw).await;
    assert_eq!(
        server(&dump, "QUERY_STRING"),
        Some("zeta=1&alpha=a%20b&x=y+z"),
        "ALB single-value"
    );
    assert_eq!(
        dump["get"],
        json!({"zeta": "1", "alpha": "a b", "x": "y z"})
    );
}
