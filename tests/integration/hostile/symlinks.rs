//! Symlinks inside the document root that lead to refused places, and directories an Apache `.htaccess`
//! denies.

use crate::support::{Lambda, Source, HANDLER};

use super::{assert_nothing_leaked, hostile_root, status};

/// Symlinks inside the document root that lead to what the rules refuse (a dotfile, a dot-directory,
/// a denied directory, a non-PHP file behind a `.php` name), and directories an Apache `.htaccess`
/// denies: none is served or run, by any route. `LAMBDA_FPM_HTACCESS=off` turns the `.htaccess` rule off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_to_refused_places_and_htaccess_denied_directories_are_never_served() {
    let root = hostile_root();
    let public = root.path().join("public");
    let write = |rel: &str, content: &str| {
        let path = public.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    };
    write(".secrets/key.txt", "SECRET_ENV_MARKER\n");
    write("denied/notes.txt", "SECRET_BACKUP_MARKER\n");
    // DokuWiki's data/.htaccess as upstream ships it.
    write(
        "data/.htaccess",
        "<IfModule mod_authz_core.c>\n    Require all denied\n</IfModule>\n<IfModule !mod_authz_core.c>\n    Order allow,deny\n    Deny from all\n</IfModule>\n",
    );
    write("data/pages.txt", "SECRET_OUTSIDE_MARKER\n");
    write("data/run.php", "<?php echo 'SECRET_OUTSIDE' . '_MARKER';\n");
    write("conf/.htaccess", "Deny from all\n");
    write("conf/local.php", "<?php echo 'hunter2';\n");
    for (target, link) in [
        (".env", "env.txt"),
        (".secrets/key.txt", "key.txt"),
        (".secrets", "secrets"),
        (".git", "git"),
        ("denied", "notes"),
        ("data", "pages"),
        (".secrets/key.txt", "key.php"),
    ] {
        std::os::unix::fs::symlink(target, public.join(link)).expect("symlink");
    }
    let paths = [
        "/env.txt",
        "/key.txt",
        "/secrets/key.txt",
        "/git/config",
        "/notes/notes.txt",
        "/pages/pages.txt",
        "/pages/run.php",
        "/key.php",
        "/data/pages.txt",
        "/data/run.php",
        "/data/",
        "/conf/local.php",
        "/conf/",
        "/denied/notes.txt",
    ];
    let mut lambda =
        Lambda::start_app(root.path(), HANDLER, &[("LAMBDA_FPM_DENY", "/denied")]).await;
    lambda.ready().await;
    for path in paths {
        let resp = lambda
            .respond(&Source::HttpV2.event("GET", path, &[]))
            .await;
        assert_nothing_leaked(path, &resp);
        assert_eq!(status(&resp), 404, "{path}: {resp}");
    }
    let logs = lambda.bs.logs();
    assert!(
        logs.contains("never serving /conf, /data (denied by their .htaccess"),
        "the .htaccess rules are logged once at init; logs:\n{logs}"
    );
    drop(lambda);

    // With the rule off, the app's own files in those directories answer again (the switch works).
    let mut lambda =
        Lambda::start_app(root.path(), HANDLER, &[("LAMBDA_FPM_HTACCESS", "off")]).await;
    lambda.ready().await;
    let resp = lambda
        .respond(&Source::HttpV2.event("GET", "/data/pages.txt", &[]))
        .await;
    assert_eq!(status(&resp), 200, "{resp}");
}
