//! Files: traversal in every encoding, dotfiles, PHP source and backups, symlinks out of the document
//! root, `/image.jpg/x.php`: never served; PHP files always run, never sent.

use serde_json::json;

use crate::faults::Warm;
use crate::support::events::{set_header, set_method};
use crate::support::{body_bytes, Source};

use super::{assert_nothing_leaked, is_front_controller, start_hostile, status};

// ----- files ----------------------------------------------------------------------------------------------

/// Path traversal in every encoding, dotfiles, PHP source and backups, symlinks out of the root and the
/// `/image.jpg/x.php` trick, through every event source: each is 400, 404, a redirect, or the front
/// controller (which serves no file): never a secret, never source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_dotfiles_source_and_backups_are_never_served() {
    let (_root, mut lambda) = start_hostile().await;
    let warm = Warm::take(&mut lambda).await;
    let paths = [
        // traversal, every encoding
        "/../private/secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/private/secret.txt",
        "/%2E%2E/private/secret.txt",
        "/.%2e/private/secret.txt",
        "/..%2fprivate%2fsecret.txt",
        "/%2e%2e%2fprivate%2fsecret.txt",
        "/..%5cprivate%5csecret.txt",
        "/..\\private\\secret.txt",
        "/%252e%252e/private/secret.txt",
        "/%252e%252e%252fprivate%252fsecret.txt",
        "/%c0%ae%c0%ae/private/secret.txt",
        "/%c0%ae%c0%ae%c0%afprivate%c0%afsecret.txt",
        "/%e0%80%ae%e0%80%ae/private/secret.txt",
        "/..%00/private/secret.txt",
        "/hello.txt%00.php",
        "/./.././private/secret.txt",
        "//../private/secret.txt",
        "/assets/../../private/secret.txt",
        "/index.php/../../private/secret.txt",
        "/other.php/%2e%2e/%2e%2e/private/secret.txt",
        // symlinks out of the root
        "/link-out.txt",
        "/dir-link/secret.txt",
        "/dir-link/",
        "/passwd.txt",
        // dotfiles and dot-directories
        "/.env",
        "/%2eenv",
        "/.env%00",
        "/.env/",
        "/.ENV",
        "/assets/../.env",
        "/.git/config",
        "/%2egit/config",
        "/.htaccess",
        "/.index.php.swp",
        // source and backups
        "/secret.php~",
        "/index.php~",
        "/index.phps",
        "/config.inc",
        "/index.php.bak",
        "/index.php.orig",
        "/index.php.swp",
        "/index.phtml",
        "/old.php7",
        "/legacy.php5",
        "/tool.phar",
        "/upper.PHP",
        "/mixed.PhP",
        "/x.pht",
        "/faults.php%00.txt",
        "/INDEX.PHPS",
        // a file that is not PHP never runs as PHP
        "/image.jpg/x.php",
        "/image.jpg/index.php",
        "/image.jpg%2fx.php",
        "/hello.txt/.php",
    ];
    let mut table = Vec::new();
    for path in paths {
        for source in Source::ALL {
            let what = format!("{source:?} {path}");
            let outcome = lambda.invoke(&source.event("GET", path, &[])).await;
            let resp = lambda.expect_response(&outcome);
            assert_nothing_leaked(&what, &resp);
            let st = status(&resp);
            let ok = matches!(st, 400 | 404 | 301) || (st == 200 && is_front_controller(&resp));
            assert!(ok, "{what}: unexpected answer {st}: {resp}");
            if source == Source::HttpV2 {
                table.push(format!(
                    "{path} -> {st}{}",
                    if st == 200 { " (front controller)" } else { "" }
                ));
            }
        }
    }
    eprintln!("traversal matrix (HTTP API v2):\n{}", table.join("\n"));
    // a directory redirect keeps the query, but a hostile raw query cannot split the Location header
    for source in [Source::HttpV2, Source::Alb] {
        let mut event = source.event("GET", "/assets", &[]);
        if source.is_v2() {
            event["rawQueryString"] = json!("a=1\r\nSet-Cookie: evil=1");
        } else {
            event["queryStringParameters"] = json!({"a": "1\r\nSet-Cookie: evil=1"});
        }
        let resp = lambda.respond(&event).await;
        assert_eq!(resp["statusCode"], 301, "{source:?}: {resp}");
        let location = resp["headers"]
            .as_object()
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("location")))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            location, "/assets/?a=1%0D%0ASet-Cookie: evil=1",
            "{source:?}"
        );
    }
    // the legitimate neighbours still work
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/assets/app.css", &[]))
        .await;
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(body_bytes(&resp), b"body{}\n");
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/hello.txt", &[]))
        .await;
    assert_eq!(resp["statusCode"], 200);
    warm.check(&mut lambda, "the traversal matrix", true).await;
}

/// A PHP script is always run, never sent: its source never leaves, whatever method or Accept header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn php_files_are_run_never_sent() {
    let (_root, mut lambda) = start_hostile().await;
    let warm = Warm::take(&mut lambda).await;
    for path in ["/index.php", "/other.php", "/faults.php/none", "/INDEX.php"] {
        for method in ["GET", "HEAD", "POST", "OPTIONS", "PROPFIND"] {
            let mut event = Source::Rest.event("GET", path, &[]);
            set_method(&mut event, method);
            set_header(&mut event, "Accept", &["application/x-httpd-php-source"]);
            let resp = lambda.respond(&event).await;
            assert_nothing_leaked(&format!("{method} {path}"), &resp);
        }
    }
    warm.check(&mut lambda, "source requests", true).await;
}
