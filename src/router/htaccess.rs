//! Apache `.htaccess` files that deny a whole directory, honoured as deny prefixes.
//!
//! Apps written for Apache (DokuWiki's `conf/` and `data/`, Nextcloud, phpBB, MediaWiki's `images/`)
//! protect directories with a `.htaccess` holding `Require all denied` or `Deny from all`; nginx users
//! have to copy those rules by hand, and forgetting one serves the app's secrets. Read once at init
//! (the task root is read-only on Lambda), so requests pay nothing.

use std::path::{Path, PathBuf};

/// Directories below the root that the walk visits at most, so a huge tree cannot stall init.
const MAX_DIRS: usize = 20_000;

/// The deny prefixes (`/data`, `/lib/tpl/x/conf`) of every directory under `root` whose `.htaccess`
/// denies everything. Symlinked directories are not followed. A `.htaccess` in the root itself is
/// not honoured (it would refuse the whole site, front controller included).
pub fn denied_dirs(root: &Path) -> Vec<String> {
    let mut denied = Vec::new();
    let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
    let mut visited = 0usize;
    while let Some(dir) = pending.pop() {
        visited += 1;
        if visited > MAX_DIRS {
            tracing::warn!(
                "stopped looking for .htaccess files after {MAX_DIRS} directories under {}",
                root.display()
            );
            break;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut denies = false;
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() && entry.file_name() == ".htaccess" {
                denies = std::fs::read_to_string(entry.path()).is_ok_and(|c| denies_all(&c));
            }
        }
        if !denies {
            continue;
        }
        match dir.strip_prefix(root) {
            Ok(rel) if !rel.as_os_str().is_empty() => {
                denied.push(format!("/{}", rel.to_string_lossy()));
            }
            _ => tracing::warn!(
                "{}/.htaccess denies everything; not honoured for the document root itself",
                root.display()
            ),
        }
    }
    denied.sort();
    denied
}

/// Whether a `.htaccess` denies every request to its directory: `Require all denied` (Apache 2.4) or
/// `Deny from all` (2.2), outside any `<Files>`, `<FilesMatch>` or other block that narrows it
/// (`<IfModule>` blocks count, since either branch is what Apache would apply). Pure.
pub fn denies_all(content: &str) -> bool {
    let mut narrowing_depth = 0usize;
    let mut blocks: Vec<bool> = Vec::new();
    for line in content.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("</") {
            if blocks.pop() == Some(true) {
                narrowing_depth = narrowing_depth.saturating_sub(1);
            }
            continue;
        }
        if let Some(rest) = lower.strip_prefix('<') {
            let narrowing = !rest.starts_with("ifmodule") && !rest.starts_with("ifversion");
            if narrowing {
                narrowing_depth += 1;
            }
            blocks.push(narrowing);
            continue;
        }
        if narrowing_depth > 0 {
            continue;
        }
        let words: Vec<&str> = lower.split_whitespace().collect();
        if matches!(
            words.as_slice(),
            ["require", "all", "denied"] | ["deny", "from", "all"]
        ) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_all_in_either_apache_version_counts() {
        // DokuWiki's data/.htaccess, as upstream ships it.
        let dokuwiki = "## no access to the data directory\n<IfModule mod_authz_core.c>\n    Require all denied\n</IfModule>\n<IfModule !mod_authz_core.c>\n    Order allow,deny\n    Deny from all\n</IfModule>\n";
        assert!(denies_all(dokuwiki));
        assert!(denies_all("Order deny,allow\nDENY FROM ALL\n"));
        assert!(denies_all("require all denied"));
    }

    #[test]
    fn narrower_or_other_rules_do_not() {
        assert!(!denies_all(
            "<Files ~ \"\\.(txt|md)$\">\n  Require all denied\n</Files>\n"
        ));
        assert!(!denies_all(
            "<FilesMatch \"\\.php$\">\nDeny from all\n</FilesMatch>\n"
        ));
        assert!(!denies_all("# Deny from all\nRewriteEngine on\n"));
        assert!(!denies_all("Require all granted\n"));
        assert!(!denies_all("Deny from 10.0.0.0/8\n"));
        assert!(!denies_all(""));
    }

    #[test]
    fn the_walk_finds_denied_directories_but_not_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for d in ["conf", "data/pages", "lib/images", "lib/plugins/x/conf"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::write(root.join("conf/.htaccess"), "Require all denied\n").expect("write");
        std::fs::write(root.join("data/.htaccess"), "Deny from all\n").expect("write");
        std::fs::write(root.join("lib/.htaccess"), "Options -Indexes\n").expect("write");
        std::fs::write(
            root.join("lib/plugins/x/conf/.htaccess"),
            "Require all denied\n",
        )
        .expect("write");
        std::fs::write(root.join(".htaccess"), "Deny from all\n").expect("write");
        assert_eq!(denied_dirs(root), ["/conf", "/data", "/lib/plugins/x/conf"]);
    }
}
