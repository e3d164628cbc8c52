//! Routing and static files in Lambda mode (README.md, "Drop-in routing"): files answered by the runtime itself, directory
//! indexes and redirects, the deny list and `/.well-known/`, validators, compression and binary bodies.

use std::path::Path;

use serde_json::Value;

use crate::support::events::{remove_header, set_header, set_method, Source};
use crate::support::{body_bytes, wire_body, Lambda};

/// A task root with assets beside the front controller.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let write = |rel: &str, content: &[u8]| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    };
    write("public/index.php", b"<?php header('Content-Type: text/plain'); echo 'front:', $_SERVER['SCRIPT_NAME'], ':', $_SERVER['REQUEST_URI'];");
    write(
        "public/blog/index.php",
        b"<?php echo 'blog:', $_SERVER['SCRIPT_NAME'];",
    );
    write("public/docs/index.html", b"<h1>docs</h1>");
    write(
        "public/assets/app.css",
        "body { color: red; }\n".repeat(200).as_bytes(),
    );
    let png: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    write("public/img.png", &png);
    write(
        "public/.well-known/security.txt",
        b"Contact: mailto:security@example.com",
    );
    write("public/data/secret.txt", b"SECRET-DATA");
    write("public/config.php.bak", b"<?php $password = 'SECRET-BAK';");
    write("secret-outside.txt", b"SECRET-OUTSIDE");
    std::os::unix::fs::symlink(
        root.join("secret-outside.txt"),
        root.join("public/link.txt"),
    )
    .expect("symlink");
    dir
}

async fn lambda(root: &Path, env: &[(&str, &str)]) -> Lambda {
    let mut env = env.to_vec();
    env.push(("LAMBDA_FPM_DENY", "/data"));
    let mut l = Lambda::start_app(root, "public/index.php", &env).await;
    l.ready().await;
    l
}

/// A GET without `accept-encoding` (the fixture has a browser's `gzip, deflate, br`).
fn get(path: &str) -> Value {
    let mut event = Source::HttpV2.event("GET", path, &[]);
    remove_header(&mut event, "accept-encoding");
    event
}

fn header<'a>(resp: &'a Value, name: &str) -> Option<&'a str> {
    resp["headers"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

#[tokio::test]
async fn static_files_are_served_by_the_runtime_with_validators() {
    let dir = site();
    let l = lambda(
        dir.path(),
        &[("LAMBDA_FPM_STATIC_CACHE_CONTROL", "public, max-age=60")],
    )
    .await;
    let css = l.respond(&get("/assets/app.css")).await;
    assert_eq!(css["statusCode"], 200);
    assert_eq!(
        header(&css, "content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(header(&css, "cache-control"), Some("public, max-age=60"));
    assert_eq!(css["isBase64Encoded"], false);
    assert_eq!(body_bytes(&css).len(), 4200);
    let etag = header(&css, "etag").expect("etag").to_owned();
    let last_modified = header(&css, "last-modified")
        .expect("last-modified")
        .to_owned();

    let mut again = get("/assets/app.css");
    set_header(&mut again, "if-none-match", &[&etag]);
    let not_modified = l.respond(&again).await;
    assert_eq!(not_modified["statusCode"], 304);
    assert_eq!(not_modified["body"], "");

    let mut since = get("/assets/app.css");
    set_header(&mut since, "if-modified-since", &[&last_modified]);
    assert_eq!(l.respond(&since).await["statusCode"], 304);
    // php-fpm never saw any of this: no PHP log lines, and the front controller was not involved.
    assert!(!l.bs.logs().contains("front:"));
}

#[tokio::test]
async fn binary_files_are_base64_and_text_is_compressed_when_accepted() {
    let dir = site();
    let l = lambda(dir.path(), &[]).await;
    let png = l.respond(&get("/img.png")).await;
    assert_eq!(header(&png, "content-type"), Some("image/png"));
    assert_eq!(png["isBase64Encoded"], true);
    let expected: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    assert_eq!(body_bytes(&png), expected);

    // Static files go through the same compression step as PHP's responses: a browser's header gets
    // brotli (the first preference), a gzip-only client gzip.
    let css = "body { color: red; }\n".repeat(200);
    for (accept, encoding) in [
        ("gzip, deflate, br", "br"),
        ("zstd", "zstd"),
        ("gzip", "gzip"),
    ] {
        let mut event = get("/assets/app.css");
        set_header(&mut event, "accept-encoding", &[accept]);
        let zipped = l.respond(&event).await;
        assert_eq!(header(&zipped, "content-encoding"), Some(encoding));
        assert_eq!(header(&zipped, "vary"), Some("Accept-Encoding"));
        assert_eq!(zipped["isBase64Encoded"], true);
        let sent = wire_body(&zipped).len();
        assert_eq!(header(&zipped, "content-length"), Some(&*sent.to_string()));
        assert!(sent < css.len() / 10, "{encoding}: {sent} bytes");
        assert_eq!(body_bytes(&zipped), css.as_bytes(), "{encoding}");
        // Another representation of the file: its ETag is weak, and still revalidates.
        let etag = header(&zipped, "etag").expect("etag").to_owned();
        assert!(etag.starts_with("W/\""), "{etag}");
        let mut again = get("/assets/app.css");
        set_header(&mut again, "accept-encoding", &[accept]);
        set_header(&mut again, "if-none-match", &[&etag]);
        let not_modified = l.respond(&again).await;
        assert_eq!(not_modified["statusCode"], 304);
        assert_eq!(header(&not_modified, "vary"), Some("Accept-Encoding"));
    }

    let mut head = get("/assets/app.css");
    set_method(&mut head, "HEAD");
    let head = l.respond(&head).await;
    assert_eq!(head["statusCode"], 200);
    assert_eq!(head["body"], "");
    assert_eq!(header(&head, "content-length"), Some("4200"));

    let mut post = get("/assets/app.css");
    set_method(&mut post, "POST");
    assert_eq!(l.respond(&post).await["statusCode"], 405);
}

#[tokio::test]
async fn directories_run_or_serve_their_index_after_a_slash_redirect() {
    let dir = site();
    let l = lambda(dir.path(), &[]).await;
    let redirect = l
        .respond(&Source::HttpV2.event("GET", "/blog", &[("page", "2")]))
        .await;
    assert_eq!(redirect["statusCode"], 301);
    assert_eq!(header(&redirect, "location"), Some("/blog/?page=2"));
    let blog = l.respond(&get("/blog/")).await;
    assert_eq!(
        String::from_utf8_lossy(&body_bytes(&blog)),
        "blog:/blog/index.php"
    );
    let docs = l.respond(&get("/docs/")).await;
    assert_eq!(String::from_utf8_lossy(&body_bytes(&docs)), "<h1>docs</h1>");
    let front = l.respond(&get("/no/such/page")).await;
    assert_eq!(
        String::from_utf8_lossy(&body_bytes(&front)),
        "front:/index.php:/no/such/page"
    );
}

#[tokio::test]
async fn well_known_is_served_but_deny_list_backups_and_escaping_symlinks_are_not() {
    let dir = site();
    let l = lambda(dir.path(), &[]).await;
    let wk = l.respond(&get("/.well-known/security.txt")).await;
    assert_eq!(wk["statusCode"], 200);
    assert!(String::from_utf8_lossy(&body_bytes(&wk)).contains("security@example.com"));
    for path in [
        "/data/secret.txt",
        "/data",
        "/config.php.bak",
        "/link.txt",
        "/%64ata/secret.txt",
    ] {
        let resp = l.respond(&get(path)).await;
        let body = String::from_utf8_lossy(&body_bytes(&resp)).into_owned();
        assert_eq!(resp["statusCode"], 404, "{path}: {body}");
        assert!(!body.contains("SECRET"), "{path} leaked: {body}");
    }
}
