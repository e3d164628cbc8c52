use super::*;
use std::fs;

struct Site {
    _dir: tempfile::TempDir,
    router: Router,
    outside: PathBuf,
}

fn site() -> Site {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("public");
    for d in [
        "",
        "blog",
        "assets",
        "wp-admin",
        "data",
        ".git",
        ".well-known",
        "empty",
    ] {
        fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    for f in [
        "index.php",
        "other.php",
        "blog/index.php",
        "wp-admin/index.php",
        "wp-login.php",
        "assets/app.css",
        "image.jpg",
        ".env",
        ".git/config",
        ".well-known/security.txt",
        "config.inc",
        "index.php~",
        "index.php.bak",
        "source.phps",
        "legacy.php5",
        "tool.phar",
        "upper.PHP",
        "old.PhP7",
        "x.pht",
        "data/pages.txt",
        "database.txt",
    ] {
        fs::write(root.join(f), "x").expect("write");
    }
    let outside = dir.path().join("secret.txt");
    fs::write(&outside, "secret").expect("write");
    std::os::unix::fs::symlink(&outside, root.join("leak.txt")).expect("symlink");
    std::os::unix::fs::symlink(dir.path(), root.join("up")).expect("symlink");
    let root = fs::canonicalize(&root).expect("canonical");
    let front = Script {
        filename: root.join("index.php"),
        name: "/index.php".into(),
        path_info: None,
    };
    let router = Router {
        document_root: root,
        front_controller: front,
        index_files: vec!["index.php".into(), "index.html".into()],
        deny: vec!["/data".into()],
        cache: RouteCache::default(),
    };
    Site {
        _dir: dir,
        router,
        outside,
    }
}

fn script(site: &Site, rel: &str, name: &str, info: Option<&str>) -> Route {
    Route::Script(Script {
        filename: site.router.document_root.join(rel),
        name: name.into(),
        path_info: info.map(Into::into),
    })
}

fn front(_site: &Site) -> Route {
    Route::FrontController
}

#[test]
fn php_files_run_with_path_info() {
    let s = site();
    assert_eq!(
        s.router.route("/other.php", ""),
        script(&s, "other.php", "/other.php", None)
    );
    assert_eq!(
        s.router.route("/other.php/a/b", ""),
        script(&s, "other.php", "/other.php", Some("/a/b"))
    );
    assert_eq!(
        s.router.route("/other.php/a/", ""),
        script(&s, "other.php", "/other.php", Some("/a/"))
    );
    assert_eq!(
        s.router.route("/wp-login.php", ""),
        script(&s, "wp-login.php", "/wp-login.php", None)
    );
    assert_eq!(
        s.router.route("/", ""),
        script(&s, "index.php", "/index.php", None)
    );
}

#[test]
fn directories_run_their_index_after_a_slash_redirect() {
    let s = site();
    assert_eq!(
        s.router.route("/wp-admin/", ""),
        script(&s, "wp-admin/index.php", "/wp-admin/index.php", None)
    );
    assert_eq!(
        s.router.route("/wp-admin", "a=1"),
        Route::Redirect("/wp-admin/?a=1".into())
    );
    // a hostile raw query cannot put a line break into the Location header
    assert_eq!(
        s.router.route("/wp-admin", "a=1\r\nSet-Cookie: x=%41"),
        Route::Redirect("/wp-admin/?a=1%0D%0ASet-Cookie: x=%41".into())
    );
    assert_eq!(
        s.router.route("//blog", ""),
        Route::Redirect("/blog/".into())
    );
    assert_eq!(s.router.route("/empty/", ""), front(&s));
}

#[test]
fn other_files_are_static_and_unknown_paths_go_to_the_front_controller() {
    let s = site();
    assert_eq!(
        s.router.route("/assets/app.css", ""),
        Route::Static(s.router.document_root.join("assets/app.css"))
    );
    assert_eq!(
        s.router.route("/assets/%61pp.css", ""),
        Route::Static(s.router.document_root.join("assets/app.css"))
    );
    assert_eq!(s.router.route("/blog/hello-world", ""), front(&s));
    assert_eq!(s.router.route("/image.jpg/x.php", ""), front(&s));
    assert_eq!(s.router.route("/nope.php", ""), front(&s));
    assert_eq!(s.router.route("/%ff", ""), front(&s));
    assert_eq!(
        s.router.route("/database.txt", ""),
        Route::Static(s.router.document_root.join("database.txt"))
    );
    assert_eq!(
        s.router.route("/.well-known/security.txt", ""),
        Route::Static(s.router.document_root.join(".well-known/security.txt"))
    );
}

#[test]
fn traversal_in_every_encoding_is_refused() {
    let s = site();
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/assets/../../secret.txt",
        "/..%2f..%2fetc/passwd",
    ] {
        assert!(
            matches!(s.router.route(path, ""), Route::BadRequest(_)),
            "{path}"
        );
    }
    for path in [
        "/..%5csecret.txt",
        "/a%00.php",
        "/assets\\..\\..\\secret.txt",
    ] {
        assert!(
            matches!(s.router.route(path, ""), Route::BadRequest(_)),
            "{path}"
        );
    }
    // Climbing and coming back inside is fine, like nginx.
    assert_eq!(
        s.router.route("/assets/../other.php", ""),
        script(&s, "other.php", "/other.php", None)
    );
}

#[test]
fn secrets_are_never_served() {
    let s = site();
    for path in [
        "/.env",
        "/%2eenv",
        "/.git/config",
        "/assets/.hidden",
        "/config.inc",
        "/index.php~",
        "/index.php.bak",
        "/source.phps",
        "/legacy.php5",
        "/tool.phar",
        "/upper.PHP",
        "/old.PhP7",
        "/x.pht",
        "/data/pages.txt",
        "/data",
        "/DATA/../data/pages.txt",
        "/leak.txt",
        "/up/secret.txt",
        "/.well-known/.x",
    ] {
        assert!(
            matches!(s.router.route(path, ""), Route::Denied(_)),
            "{path}: {:?}",
            s.router.route(path, "")
        );
    }
    assert!(s.outside.exists());
}

#[test]
fn deny_prefixes_respect_segment_boundaries() {
    assert!(under("/data", "/data"));
    assert!(under("/data/x", "/data/"));
    assert!(!under("/database.txt", "/data"));
    assert_eq!(normalize_prefix("data/"), Some("/data".into()));
    assert_eq!(normalize_prefix("/"), None);
}

#[test]
fn symlinks_inside_the_root_cannot_reach_what_the_rules_refuse() {
    let s = site();
    let root = &s.router.document_root;
    let link = |target: &str, name: &str| {
        std::os::unix::fs::symlink(root.join(target), root.join(name)).expect("symlink");
    };
    link(".env", "env.txt");
    link(".git", "git");
    link("data", "pages");
    link("data/pages.txt", "pages.txt");
    link("index.php.bak", "backup.txt");
    link("database.txt", "db.php");
    link("other.php", "alias.php");
    link("assets", "static");
    for path in [
        "/env.txt",
        "/git/config",
        "/pages/pages.txt",
        "/pages.txt",
        "/backup.txt",
        "/db.php",
    ] {
        assert!(
            matches!(s.router.route(path, ""), Route::Denied(_)),
            "{path}: {:?}",
            s.router.route(path, "")
        );
    }
    // Symlinks to what may be served still work.
    assert_eq!(
        s.router.route("/static/app.css", ""),
        Route::Static(root.join("static/app.css"))
    );
    assert!(matches!(s.router.route("/alias.php", ""), Route::Script(_)));
}

#[test]
fn normalising_is_pure_and_refuses_climbing() {
    assert_eq!(
        normalize("/a/./b//c/../d/").expect("fine"),
        NormalPath {
            segments: vec!["a", "b", "d"],
            trailing_slash: true
        }
    );
    assert!(normalize("/a/../../b").is_err());
    assert!(normalize("/a\\b").is_err());
}

#[test]
fn a_cached_router_answers_as_the_file_system_does() {
    let site = site();
    let cached = Router {
        cache: RouteCache::enabled(),
        ..site.router.clone()
    };
    for path in [
        "/",
        "/%2E%2E%2Fsecret.txt",
        "/%2eenv",
        "/%ff",
        "/..%2f..%2fetc/passwd",
        "/.env",
        "/.git/config",
        "/.well-known/security.txt",
        "//blog",
        "/DATA/../data/pages.txt",
        "/a%00.php",
        "/a/./b//c/../d/",
        "/alias.php",
        "/assets/%61pp.css",
        "/assets/../other.php",
        "/assets/.hidden",
        "/assets/app.css",
        "/backup.txt",
        "/blog/",
        "/blog/hello-world",
        "/config.inc",
        "/data/pages.txt",
        "/database.txt",
        "/db.php",
        "/empty/",
        "/image.jpg/x.php",
        "/index.php",
        "/index.php.bak",
        "/leak.txt",
        "/nope.php",
        "/other.php",
        "/other.php/a/",
        "/other.php/a/b",
        "/source.phps",
        "/static/app.css",
        "/up/secret.txt",
        "/upper.PHP",
        "/wp-admin",
        "/wp-admin/",
        "/wp-admin/index.php",
        "/wp-login.php",
    ] {
        for query in ["", "a=1"] {
            let expected = site.router.route(path, query);
            // The first call fills the cache, the second answers from it.
            assert_eq!(cached.route(path, query), expected, "{path}?{query}");
            assert_eq!(
                cached.route(path, query),
                expected,
                "{path}?{query} (cached)"
            );
        }
    }
    // A redirect keeps its query string: never taken from the cache.
    assert_eq!(
        cached.route("/wp-admin", "b=2"),
        Route::Redirect("/wp-admin/?b=2".into())
    );
}
