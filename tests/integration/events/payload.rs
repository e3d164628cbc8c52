//! Bodies (JSON, base64 binary, forms, multipart uploads), headers and cookies, and the Lambda context
//! (invocation and request context, environment) as PHP sees them; a whole client request through every
//! source.

use serde_json::{json, Value};

use crate::support::events::{multipart, remove_header, set_body, set_header, Request};
use crate::support::{app_root, b64, server, server_req, Lambda, Source};

// ----- bodies -------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_body_sets_content_type_and_length() {
    let lambda = Lambda::start().await;
    let body = r#"{"name":"café ✓","esc":"caf\u00e9","n":1}"#.as_bytes();
    for source in Source::ALL {
        let mut event = source.event("POST", "/api/items", &[]);
        set_header(&mut event, "Content-Type", &["application/json"]);
        set_body(&mut event, body, false);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(server(&dump, "REQUEST_METHOD"), Some("POST"), "{source:?}");
        assert_eq!(
            server(&dump, "CONTENT_TYPE"),
            Some("application/json"),
            "{source:?}"
        );
        assert_eq!(
            server(&dump, "CONTENT_LENGTH"),
            Some(body.len().to_string().as_str()),
            "{source:?}"
        );
        assert_eq!(dump["input_b64"], b64(body), "{source:?}");
        assert_eq!(dump["input_len"], body.len(), "{source:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base64_binary_body_arrives_byte_exact() {
    let lambda = Lambda::start().await;
    let mut body: Vec<u8> = (0..=255u8).collect();
    body.extend((0..=255u8).rev());
    body.extend_from_slice(b"\r\n\0\xff\xfe end");
    for source in Source::ALL {
        let mut event = source.event("PUT", "/upload", &[]);
        set_header(&mut event, "Content-Type", &["application/octet-stream"]);
        set_body(&mut event, &body, true);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(server(&dump, "REQUEST_METHOD"), Some("PUT"), "{source:?}");
        assert_eq!(
            server(&dump, "CONTENT_LENGTH"),
            Some(body.len().to_string().as_str()),
            "{source:?}"
        );
        assert_eq!(dump["input_len"], body.len(), "{source:?}");
        assert_eq!(dump["input_b64"], b64(&body), "{source:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_body_populates_post() {
    let lambda = Lambda::start().await;
    let body = b"a=1&b=hello+world&c%5B%5D=x&c%5B%5D=y&d=caf%C3%A9";
    for (source, base64) in [
        (Source::Rest, false),
        (Source::HttpV2, true),
        (Source::FunctionUrl, true),
        (Source::AlbMulti, false),
    ] {
        let mut event = source.event("POST", "/form", &[]);
        set_header(
            &mut event,
            "Content-Type",
            &["application/x-www-form-urlencoded"],
        );
        set_body(&mut event, body, base64);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(
            server(&dump, "CONTENT_TYPE"),
            Some("application/x-www-form-urlencoded"),
            "{source:?}"
        );
        assert_eq!(
            dump["post"],
            json!({"a": "1", "b": "hello world", "c": ["x", "y"], "d": "café"}),
            "{source:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_populates_files() {
    let lambda = Lambda::start().await;
    let mut content: Vec<u8> = b"\x89PNG\r\n\x1a\n".to_vec();
    content.extend((0..=255u8).cycle().take(3000));
    let (ctype, body) = multipart(
        &[("title", "hi there")],
        &[("upload", "data.bin", "application/octet-stream", &content)],
    );
    for source in [Source::HttpV2, Source::Rest, Source::Alb] {
        let mut event = source.event("POST", "/upload", &[]);
        set_header(&mut event, "Content-Type", &[&ctype]);
        set_body(&mut event, &body, true);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(dump["post"], json!({"title": "hi there"}), "{source:?}");
        let f = &dump["files"]["upload"];
        assert_eq!(f["name"], "data.bin", "{source:?}: {f}");
        assert_eq!(f["type"], "application/octet-stream", "{source:?}");
        assert_eq!(f["error"], 0, "{source:?}");
        assert_eq!(f["size"], content.len(), "{source:?}");
        assert_eq!(
            f["content_b64"],
            b64(&content),
            "{source:?}: uploaded bytes differ"
        );
    }
}

// ----- headers and cookies --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_headers_are_joined() {
    let lambda = Lambda::start().await;
    for source in [Source::Rest, Source::HttpV1, Source::AlbMulti] {
        let mut event = source.event("GET", "/", &[]);
        set_header(&mut event, "X-Repeat", &["a", "b", "c"]);
        set_header(&mut event, "Accept-Language", &["en-US", "fr;q=0.5"]);
        set_header(&mut event, "Cookie", &["a=1", "b=2; c=3"]);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(
            server(&dump, "HTTP_X_REPEAT"),
            Some("a, b, c"),
            "{source:?}"
        );
        assert_eq!(
            server(&dump, "HTTP_ACCEPT_LANGUAGE"),
            Some("en-US, fr;q=0.5"),
            "{source:?}"
        );
        assert_eq!(
            server(&dump, "HTTP_COOKIE"),
            Some("a=1; b=2; c=3"),
            "{source:?}"
        );
        assert_eq!(
            dump["cookie"],
            json!({"a": "1", "b": "2", "c": "3"}),
            "{source:?}"
        );
    }
    // v2 already joins repeated headers with ","; the value is passed on as it is
    let mut event = Source::HttpV2.event("GET", "/", &[]);
    set_header(&mut event, "X-Repeat", &["a", "b"]);
    let (_, dump) = lambda.php(&event).await;
    assert_eq!(server(&dump, "HTTP_X_REPEAT"), Some("a,b"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_cookies_array_becomes_one_cookie_header() {
    let lambda = Lambda::start().await;
    for source in [Source::HttpV2, Source::FunctionUrl] {
        let mut event = source.event("GET", "/", &[]);
        event["cookies"] = json!(["session=abc123", "theme=dark", "enc=a%20b"]);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(
            server(&dump, "HTTP_COOKIE"),
            Some("session=abc123; theme=dark; enc=a%20b"),
            "{source:?}"
        );
        assert_eq!(
            dump["cookie"],
            json!({"session": "abc123", "theme": "dark", "enc": "a b"}),
            "{source:?}"
        );

        let mut event = source.event("GET", "/", &[]);
        event.as_object_mut().expect("object").remove("cookies");
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(
            server(&dump, "HTTP_COOKIE"),
            None,
            "{source:?}: no cookies, no HTTP_COOKIE"
        );
        assert_eq!(dump["cookie"], json!({}), "{source:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_header_never_becomes_http_proxy() {
    let lambda = Lambda::start().await;
    for source in Source::ALL {
        let mut event = source.event("GET", "/", &[]);
        set_header(&mut event, "Proxy", &["http://evil.example:8080"]);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(server(&dump, "HTTP_PROXY"), None, "{source:?}: httpoxy");
        assert_eq!(
            dump["env"]["HTTP_PROXY"],
            json!(false),
            "{source:?}: getenv('HTTP_PROXY')"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_with_underscores_or_odd_characters_are_dropped() {
    let lambda = Lambda::start().await;
    for source in Source::ALL {
        let mut event = source.event("GET", "/", &[]);
        set_header(&mut event, "X-Forwarded-For", &["203.0.113.5"]);
        set_header(&mut event, "X_Forwarded_For", &["6.6.6.6"]);
        set_header(&mut event, "Remote_Addr", &["6.6.6.6"]);
        set_header(&mut event, "X-Weird(Name)", &["v"]);
        set_header(&mut event, "X-Space Name", &["v"]);
        set_header(&mut event, "X-Ok-Header", &["ok"]);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(
            server(&dump, "HTTP_X_FORWARDED_FOR"),
            Some("203.0.113.5"),
            "{source:?}"
        );
        assert_eq!(server(&dump, "HTTP_REMOTE_ADDR"), None, "{source:?}");
        assert_eq!(server(&dump, "HTTP_X_OK_HEADER"), Some("ok"), "{source:?}");
        let odd: Vec<&String> = dump["server"]
            .as_object()
            .expect("$_SERVER")
            .keys()
            .filter(|k| {
                k.contains("WEIRD") || k.contains("SPACE") || k.contains('(') || k.contains(' ')
            })
            .collect();
        assert!(
            odd.is_empty(),
            "{source:?}: headers with odd names reached PHP: {odd:?}"
        );
        assert_ne!(server(&dump, "REMOTE_ADDR"), Some("6.6.6.6"), "{source:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_ascii_and_control_bytes_in_header_values_pass_as_bytes() {
    let lambda = Lambda::start().await;
    for source in [Source::HttpV2, Source::Rest, Source::Alb] {
        let mut event = source.event("GET", "/", &[]);
        set_header(&mut event, "X-Utf8", &["café ✓"]);
        set_header(&mut event, "X-Ctl", &["a\u{1}b\tc"]);
        let (resp, dump) = lambda.php(&event).await;
        assert_eq!(resp["statusCode"], 200, "{source:?}");
        assert_eq!(
            dump["server_hex"]["HTTP_X_UTF8"],
            hex("café ✓".as_bytes()),
            "{source:?}"
        );
        assert_eq!(
            dump["server_hex"]["HTTP_X_CTL"],
            hex(b"a\x01b\tc"),
            "{source:?}"
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ----- Lambda context --------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocation_and_request_context_reach_php() {
    let lambda = Lambda::start().await;
    for source in [
        Source::HttpV2,
        Source::Rest,
        Source::Alb,
        Source::FunctionUrl,
    ] {
        for _round in 0..2 {
            let event = source.event("GET", "/ctx", &[]);
            let inv = lambda
                .invoke_detailed(&event, std::time::Duration::from_secs(30))
                .await;
            let resp = lambda.expect_response(&inv.outcome);
            let dump = lambda.dump_of(&resp);
            let ctx: Value = serde_json::from_str(server_req(&dump, "LAMBDA_INVOCATION_CONTEXT"))
                .expect("LAMBDA_INVOCATION_CONTEXT is JSON");
            assert_eq!(ctx["awsRequestId"], inv.request_id, "{source:?}");
            assert_eq!(
                ctx["deadlineMs"], inv.deadline_ms,
                "{source:?}: deadlineMs (a number, epoch ms)"
            );
            assert_eq!(
                ctx["invokedFunctionArn"],
                crate::support::FUNCTION_ARN,
                "{source:?}"
            );
            assert_eq!(ctx["traceId"], inv.trace_id, "{source:?}");
            assert_eq!(
                server(&dump, "_X_AMZN_TRACE_ID"),
                Some(inv.trace_id.as_str()),
                "{source:?}"
            );
            let req_ctx: Value = serde_json::from_str(server_req(&dump, "LAMBDA_REQUEST_CONTEXT"))
                .expect("LAMBDA_REQUEST_CONTEXT is JSON");
            assert_eq!(req_ctx, event["requestContext"], "{source:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_sees_the_lambda_environment() {
    let lambda = Lambda::start_env(&[("LAMBDA_FPM_TEST_VAR", "from-the-function-config")]).await;
    let (_, dump) = lambda.php(&Source::HttpV2.event("GET", "/", &[])).await;
    assert_eq!(dump["env"]["AWS_REGION"], "us-east-1");
    assert_eq!(dump["env"]["AWS_LAMBDA_FUNCTION_NAME"], "test");
    assert_eq!(
        dump["env"]["LAMBDA_TASK_ROOT"],
        app_root().display().to_string()
    );
    assert_eq!(
        dump["env"]["LAMBDA_FPM_TEST_VAR"],
        "from-the-function-config"
    );
}

/// A `php` CLI that a script starts (artisan, bin/console) reads the same php.ini as php-fpm.
#[tokio::test]
async fn php_cli_started_by_a_script_uses_the_runtime_php_ini() {
    let lambda = Lambda::start().await;
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/cli-ini", &[]))
        .await;
    let body = String::from_utf8_lossy(&crate::support::body_bytes(&resp)).into_owned();
    let (order, sessions) = body
        .split_once('|')
        .unwrap_or_else(|| panic!("unexpected answer {body:?}"));
    assert_eq!(
        order, "EGPCS",
        "Debian's CLI default is GPCS: php.ini was not read"
    );
    assert!(
        sessions.ends_with("/sessions") && sessions.len() > "/sessions".len(),
        "{sessions}"
    );
}

/// Requests don't leak into each other: a POST with body, cookies and custom headers, then a bare GET.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_state_leaks_between_invocations() {
    let lambda = Lambda::start().await;
    for i in 0..12 {
        let source = Source::ALL[i % Source::ALL.len()];
        let mut post = source.event("POST", "/first", &[("n", "1")]);
        set_header(
            &mut post,
            "Content-Type",
            &["application/x-www-form-urlencoded"],
        );
        set_header(&mut post, "X-Only-First", &["yes"]);
        set_header(&mut post, "Cookie", &["leak=1"]);
        set_body(&mut post, b"field=value", false);
        let (_, dump) = lambda.php(&post).await;
        assert_eq!(dump["post"], json!({"field": "value"}), "{source:?}");

        let mut get = source.event("GET", "/second", &[]);
        remove_header(&mut get, "Cookie");
        if source.is_v2() {
            get.as_object_mut().expect("object").remove("cookies");
        }
        let (_, dump) = lambda.php(&get).await;
        assert_eq!(server(&dump, "REQUEST_METHOD"), Some("GET"), "{source:?}");
        assert_eq!(server(&dump, "REQUEST_URI"), Some("/second"), "{source:?}");
        assert_eq!(server(&dump, "CONTENT_TYPE"), None, "{source:?}");
        assert_eq!(server(&dump, "HTTP_X_ONLY_FIRST"), None, "{source:?}");
        assert_eq!(server(&dump, "HTTP_COOKIE"), None, "{source:?}");
        assert_eq!(dump["post"], json!({}), "{source:?}");
        assert_eq!(dump["input_len"], 0, "{source:?}");
    }
}

/// The suites' request builder (`Source::request`, used by the app suite and the benchmark): one client
/// request (query with a repeated key, form body, a header, two cookies) reaches PHP the same through every
/// source, with the fixture's own cookies replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_request_arrives_whole_through_every_source() {
    let lambda = Lambda::start().await;
    let request = Request::form("/form?a=1&b=x%20y&b=z", &[("k", "v"), ("w", "café")])
        .header("X-Custom", "yes")
        .cookies(&["c1=one", "c2=two"]);
    for source in Source::ALL {
        let (_, dump) = lambda.php(&source.request(&request)).await;
        assert_eq!(server(&dump, "REQUEST_METHOD"), Some("POST"), "{source:?}");
        assert!(
            server_req(&dump, "REQUEST_URI").starts_with("/form?a=1&b="),
            "{source:?}: {:?}",
            server(&dump, "REQUEST_URI")
        );
        assert_eq!(dump["get"], json!({"a": "1", "b": "z"}), "{source:?}");
        assert_eq!(
            server(&dump, "CONTENT_TYPE"),
            Some("application/x-www-form-urlencoded"),
            "{source:?}"
        );
        assert_eq!(dump["post"], json!({"k": "v", "w": "café"}), "{source:?}");
        assert_eq!(
            dump["cookie"],
            json!({"c1": "one", "c2": "two"}),
            "{source:?}"
        );
        assert_eq!(server(&dump, "HTTP_X_CUSTOM"), Some("yes"), "{source:?}");
        assert_eq!(
            server(&dump, "HTTP_HOST"),
            Some(source.host()),
            "{source:?}"
        );
    }
}
