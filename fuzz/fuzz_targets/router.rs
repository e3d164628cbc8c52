//! Arbitrary request paths against a fixed document root with secrets inside and outside it: the router
//! never answers Static or Script with a file outside the root, a dotfile, source or a backup, and never
//! redirects off-site.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lambda_fpm::router::{Route, RouteCache, Router, Script};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    _dir: tempfile::TempDir,
    router: Router,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path();
        let public = base.join("public");
        for d in [
            "",
            "dir",
            "dir/sub",
            ".git",
            ".well-known",
            "assets",
            "private-deny",
        ] {
            std::fs::create_dir_all(public.join(d)).expect("mkdir");
        }
        std::fs::write(base.join("secret.txt"), "SECRET").expect("write");
        for (f, body) in [
            ("index.php", "<?php"),
            ("a.php", "<?php"),
            ("dir/b.php", "<?php"),
            ("dir/index.html", "<p>"),
            ("dir/sub/index.php", "<?php"),
            ("img.jpg", "jpg"),
            ("assets/app.css", "css"),
            (".env", "SECRET"),
            (".git/config", "SECRET"),
            (".well-known/acme", "token"),
            ("x.php~", "SECRET"),
            ("x.php.bak", "SECRET"),
            ("x.phps", "SECRET"),
            ("x.inc", "SECRET"),
            ("x.swp", "SECRET"),
            ("legacy.php5", "SECRET"),
            ("upper.PHP", "SECRET"),
            ("tool.phar", "SECRET"),
            ("private-deny/data.txt", "SECRET"),
        ] {
            std::fs::write(public.join(f), body).expect("write");
        }
        std::os::unix::fs::symlink("../secret.txt", public.join("link-out.txt")).expect("symlink");
        std::os::unix::fs::symlink("..", public.join("up")).expect("symlink");
        std::os::unix::fs::symlink("/etc", public.join("etc")).expect("symlink");
        std::os::unix::fs::symlink("a.php", public.join("link-in.php")).expect("symlink");
        let root = std::fs::canonicalize(&public).expect("canonicalize");
        let router = Router {
            document_root: root.clone(),
            front_controller: Script {
                filename: root.join("index.php"),
                name: "/index.php".into(),
                path_info: None,
            },
            index_files: vec!["index.php".into(), "index.html".into()],
            deny: vec!["/private-deny".into()],
            cache: RouteCache::default(),
        };
        Fixture { _dir: dir, router }
    })
}

const NEVER: &[&str] = &[
    ".phps", ".inc", "~", ".bak", ".orig", ".old", ".swp", ".swo", ".save", ".dist", ".php3",
    ".php4", ".php5", ".php7", ".php8", ".phar", ".pht", ".phpt", ".phtml", ".php",
];

fn check_file(root: &Path, file: &Path, what: &str) {
    let real: PathBuf = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    assert!(
        real.starts_with(root),
        "{what} outside the root: {}",
        real.display()
    );
    let rel = real.strip_prefix(root).expect("under root");
    let mut comps = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let first = comps.next().unwrap_or_default();
    let dotted =
        (first.starts_with('.') && first != ".well-known") || comps.any(|c| c.starts_with('.'));
    assert!(!dotted, "{what} is a dotfile: {}", real.display());
    assert!(
        !real.starts_with(root.join("private-deny")),
        "{what} on the deny list"
    );
    assert!(
        std::fs::read(&real).map(|b| b != b"SECRET").unwrap_or(true),
        "{what} is a secret: {}",
        real.display()
    );
}

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let text = String::from_utf8_lossy(data);
    let (path, query) = match text.split_once('?') {
        Some((p, q)) => (p, q),
        None => (text.as_ref(), ""),
    };
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let root = &fx.router.document_root;
    match fx.router.route(&path, query) {
        Route::Static(file) => {
            check_file(root, &file, "Static");
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            assert!(
                !name.ends_with(".php"),
                "Static PHP source: {}",
                file.display()
            );
            assert!(
                !NEVER.iter().any(|s| name.ends_with(s)),
                "Static backup: {}",
                file.display()
            );
        }
        Route::Script(script) => {
            check_file(root, &script.filename, "Script");
            assert!(
                script.filename.to_string_lossy().ends_with(".php"),
                "Script that is not .php: {}",
                script.filename.display()
            );
            assert!(script.name.starts_with('/'));
        }
        Route::Redirect(location) => {
            assert!(location.starts_with('/'), "{location}");
            assert!(
                !location.starts_with("//") && !location.starts_with("/\\"),
                "off-site: {location}"
            );
            assert!(
                !location.bytes().any(|b| b < 0x20 || b == 0x7f),
                "control bytes: {location:?}"
            );
        }
        Route::FrontController | Route::Denied(_) | Route::BadRequest(_) => {}
    }
});
