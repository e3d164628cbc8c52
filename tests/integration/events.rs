//! Request mapping: what PHP sees ($_SERVER, $_GET, $_POST, $_COOKIE, $_FILES, php://input) for every
//! event source (issue 2, "Request mapping").

use serde_json::{json, Value};

use crate::support::events::{load, multipart, remove_header, set_body, set_header, with_raw};
use crate::support::{app_root, b64, server, server_req, server_software, Lambda, Source};

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

/// cargo-lambda sends `rawQueryString: null` (FACTS §5); it means "no query".
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

// ----- scripts, document root, PATH_INFO -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_script_with_path_info() {
    let lambda = Lambda::start().await;
    let root = app_root().display().to_string();
    for source in Source::ALL {
        let event = source.event("GET", "/other.php/extra/path", &[("q", "1")]);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(dump["script"], "other.php", "{source:?}");
        assert_eq!(
            server(&dump, "SCRIPT_NAME"),
            Some("/other.php"),
            "{source:?}"
        );
        assert_eq!(
            server(&dump, "SCRIPT_FILENAME"),
            Some(format!("{root}/public/other.php").as_str()),
            "{source:?}"
        );
        assert_eq!(
            server(&dump, "PATH_INFO"),
            Some("/extra/path"),
            "{source:?}"
        );
        assert_eq!(
            server(&dump, "DOCUMENT_ROOT"),
            Some(format!("{root}/public").as_str()),
            "{source:?}"
        );
        assert_eq!(
            server(&dump, "REQUEST_URI"),
            Some("/other.php/extra/path?q=1"),
            "{source:?}"
        );
        assert_eq!(dump["get"], json!({"q": "1"}), "{source:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_script_direct_has_no_path_info() {
    let lambda = Lambda::start().await;
    let (_, dump) = lambda
        .php(&Source::HttpV2.event("GET", "/other.php", &[]))
        .await;
    assert_eq!(dump["script"], "other.php");
    assert_eq!(server(&dump, "SCRIPT_NAME"), Some("/other.php"));
    assert_eq!(server(&dump, "REQUEST_URI"), Some("/other.php"));
    assert_eq!(server(&dump, "PATH_INFO").unwrap_or(""), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_php_with_path_info() {
    let lambda = Lambda::start().await;
    let (_, dump) = lambda
        .php(&Source::Rest.event("GET", "/index.php/foo/bar", &[]))
        .await;
    assert_eq!(dump["script"], "index.php");
    assert_eq!(server(&dump, "SCRIPT_NAME"), Some("/index.php"));
    assert_eq!(server(&dump, "PATH_INFO"), Some("/foo/bar"));
    assert_eq!(server(&dump, "REQUEST_URI"), Some("/index.php/foo/bar"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_go_to_the_front_controller_with_the_original_uri() {
    let lambda = Lambda::start().await;
    let root = app_root().display().to_string();
    for path in [
        "/",
        "/blog/2024/hello-world",
        "/missing.php",
        "/dir/other.php",
        "/assets/app.js",
    ] {
        let (resp, dump) = lambda
            .php(&Source::HttpV2.event("GET", path, &[("p", "1")]))
            .await;
        assert_eq!(resp["statusCode"], 200, "{path}");
        assert_eq!(dump["script"], "index.php", "{path}");
        assert_eq!(
            server(&dump, "SCRIPT_FILENAME"),
            Some(format!("{root}/public/index.php").as_str()),
            "{path}"
        );
        assert_eq!(server(&dump, "SCRIPT_NAME"), Some("/index.php"), "{path}");
        assert_eq!(
            server(&dump, "REQUEST_URI"),
            Some(format!("{path}?p=1").as_str()),
            "{path}"
        );
        assert_eq!(server(&dump, "PATH_INFO"), None, "{path}");
    }
}

/// Dotfiles, editor backups and paths outside the document root are never served or run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dotfiles_backups_and_traversal_are_never_served() {
    let lambda = Lambda::start().await;
    for path in [
        "/.env",
        "/secret.php~",
        "/.env/",
        "/%2Eenv",
        "/../public/.env",
        "/../../../../etc/passwd",
        "/other.php/../.env",
    ] {
        for source in [Source::HttpV2, Source::Rest, Source::Alb] {
            let resp = lambda.respond(&source.event("GET", path, &[])).await;
            let body = String::from_utf8_lossy(&crate::support::body_bytes(&resp)).into_owned();
            for secret in [
                "SECRET_ENV_MARKER",
                "hunter2",
                "SECRET_BACKUP_MARKER",
                "root:x:0:0",
            ] {
                assert!(
                    !body.contains(secret),
                    "{source:?} {path}: served {secret:?}: {body}"
                );
            }
        }
    }
}

// ----- server variables -----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_port_and_scheme_from_forwarded_headers() {
    let lambda = Lambda::start().await;
    for source in Source::ALL {
        let mut event = source.event("GET", "/", &[]);
        set_header(&mut event, "Host", &["example.com:8443"]);
        set_header(&mut event, "X-Forwarded-Port", &["8443"]);
        set_header(&mut event, "X-Forwarded-Proto", &["http"]);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(
            server(&dump, "SERVER_NAME"),
            Some("example.com"),
            "{source:?}"
        );
        assert_eq!(
            server(&dump, "HTTP_HOST"),
            Some("example.com:8443"),
            "{source:?}"
        );
        assert_eq!(server(&dump, "SERVER_PORT"), Some("8443"), "{source:?}");
        assert_eq!(server(&dump, "REQUEST_SCHEME"), Some("http"), "{source:?}");
        assert_ne!(
            server(&dump, "HTTPS"),
            Some("on"),
            "{source:?}: HTTPS must not be on for plain http"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_port_defaults_to_443_and_https() {
    let lambda = Lambda::start().await;
    for source in Source::ALL {
        let mut event = source.event("GET", "/", &[]);
        remove_header(&mut event, "X-Forwarded-Port");
        remove_header(&mut event, "X-Forwarded-Proto");
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(server(&dump, "SERVER_PORT"), Some("443"), "{source:?}");
        assert_eq!(server(&dump, "HTTPS"), Some("on"), "{source:?}");
        assert_eq!(server(&dump, "REQUEST_SCHEME"), Some("https"), "{source:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_protocol_comes_from_the_request_context() {
    let lambda = Lambda::start().await;
    let mut event = Source::HttpV2.event("GET", "/", &[]);
    event["requestContext"]["http"]["protocol"] = json!("HTTP/2.0");
    let (_, dump) = lambda.php(&event).await;
    assert_eq!(server(&dump, "SERVER_PROTOCOL"), Some("HTTP/2.0"));

    let mut event = Source::Rest.event("GET", "/", &[]);
    event["requestContext"]["protocol"] = json!("HTTP/1.0");
    let (_, dump) = lambda.php(&event).await;
    assert_eq!(server(&dump, "SERVER_PROTOCOL"), Some("HTTP/1.0"));

    // ALB has no protocol in its request context: the default
    let (_, dump) = lambda.php(&Source::Alb.event("GET", "/", &[])).await;
    assert_eq!(server(&dump, "SERVER_PROTOCOL"), Some("HTTP/1.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_addr_is_the_real_client() {
    let lambda = Lambda::start().await;
    // ALB appends the client's address to X-Forwarded-For: the last entry is the client
    let mut event = Source::Alb.event("GET", "/", &[]);
    set_header(
        &mut event,
        "X-Forwarded-For",
        &["203.0.113.9, 198.51.100.77"],
    );
    let (_, dump) = lambda.php(&event).await;
    assert_eq!(server(&dump, "REMOTE_ADDR"), Some("198.51.100.77"), "ALB");

    let mut event = Source::AlbMulti.event("GET", "/", &[]);
    set_header(
        &mut event,
        "X-Forwarded-For",
        &["203.0.113.9, 198.51.100.78"],
    );
    let (_, dump) = lambda.php(&event).await;
    assert_eq!(
        server(&dump, "REMOTE_ADDR"),
        Some("198.51.100.78"),
        "ALB multi-value"
    );

    // API Gateway / function URLs: requestContext's sourceIp, whatever X-Forwarded-For the client sends
    for source in [
        Source::Rest,
        Source::HttpV1,
        Source::HttpV2,
        Source::FunctionUrl,
    ] {
        let mut event = source.event("GET", "/", &[]);
        set_header(&mut event, "X-Forwarded-For", &["6.6.6.6, 7.7.7.7"]);
        let (_, dump) = lambda.php(&event).await;
        assert_eq!(
            server(&dump, "REMOTE_ADDR"),
            Some(source.client_ip()),
            "{source:?}"
        );
        assert_eq!(
            server(&dump, "HTTP_X_FORWARDED_FOR"),
            Some("6.6.6.6, 7.7.7.7"),
            "{source:?}"
        );
    }
}

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
