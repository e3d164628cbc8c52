//! Scripts, the document root and PATH_INFO; the server variables built from the event (host, port,
//! scheme, protocol, client address).

use serde_json::json;

use crate::support::events::{remove_header, set_header};
use crate::support::{app_root, server, Lambda, Source};

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
