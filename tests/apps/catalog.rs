//! The apps of the suite and what each must do: its handler, environment, home page, static assets,
//! login form, redirects and 404 page.

pub const ADMIN_PASSWORD: &str = "lambda-fpm-admin";

pub struct Login {
    /// The page with the form (GET).
    pub form: &'static str,
    /// Hidden CSRF field to copy from the form, if any.
    pub token: Option<&'static str>,
    /// Where the form posts.
    pub action: &'static str,
    pub fields: Vec<(&'static str, &'static str)>,
    /// The 302's Location ends with this (before any query).
    pub location_suffix: &'static str,
    /// Fetched with the cookies after login…
    pub after: &'static str,
    /// …and must contain this.
    pub after_marker: &'static str,
    /// A post with a forged token must be refused with this status.
    pub forged_status: Option<u16>,
}

pub struct App {
    pub name: &'static str,
    pub handler: &'static str,
    pub env: Vec<(String, String)>,
    pub home: &'static str,
    pub title: &'static str,
    /// (path, content type prefix, body marker)
    pub assets: Vec<(&'static str, &'static str, &'static [u8])>,
    pub login: Login,
    /// (path, status, Location must end with)
    pub redirects: Vec<(&'static str, u16, &'static str)>,
    pub not_found: &'static str,
    /// Stylesheet request the browser must make (substring of the request target).
    pub stylesheet: &'static str,
    /// The screenshot must have some colour (the app's own styling is colourful).
    pub colourful: bool,
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn framework(
    name: &'static str,
    title: &'static str,
    token: &'static str,
    forged: u16,
    extra_env: &[(&str, &str)],
) -> App {
    App {
        name,
        handler: "public/index.php",
        env: env(extra_env),
        home: "/",
        title,
        assets: vec![
            ("/css/app.css", "text/css", b"lambda-fpm app suite"),
            ("/logo.svg", "image/svg+xml", b"<svg"),
        ],
        login: Login {
            form: "/login",
            token: Some(token),
            action: "/login",
            fields: vec![("name", "Ada Lovelace")],
            location_suffix: "/hello",
            after: "/hello",
            after_marker: "Welcome, Ada Lovelace!",
            forged_status: Some(forged),
        },
        redirects: vec![("/old-home", 301, "/")],
        not_found: "/no/such/page",
        stylesheet: "/css/app.css",
        colourful: true,
    }
}

pub fn laravel() -> App {
    // APP_KEY: "base64:" + 32 bytes, as `php artisan key:generate` makes.
    framework(
        "laravel",
        "Laravel on lambda-fpm",
        "_token",
        419,
        &[(
            "APP_KEY",
            "base64:bGFtYmRhLWZwbSBhcHAgc3VpdGUga2V5IDMyYnl0ZXM=",
        )],
    )
}

pub fn symfony() -> App {
    framework(
        "symfony",
        "Symfony on lambda-fpm",
        "_csrf_token",
        403,
        &[("APP_ENV", "prod"), ("APP_SECRET", "lambda-fpm-app-suite")],
    )
}

pub fn slim() -> App {
    framework("slim", "Slim on lambda-fpm", "_csrf", 403, &[])
}

pub fn wordpress(db_port: u16) -> App {
    App {
        name: "wordpress",
        handler: "index.php",
        env: vec![
            ("WORDPRESS_DB_HOST".into(), format!("127.0.0.1:{db_port}")),
            ("WORDPRESS_DB_NAME".into(), "wordpress".into()),
            ("WORDPRESS_DB_USER".into(), "wordpress".into()),
            ("WORDPRESS_DB_PASSWORD".into(), "lambda-fpm-wp".into()),
            ("WORDPRESS_SALT".into(), "lambda-fpm-app-suite".into()),
        ],
        home: "/",
        title: "WordPress on lambda-fpm",
        assets: vec![
            (
                "/wp-includes/css/dashicons.min.css",
                "text/css",
                b"dashicons",
            ),
            (
                "/wp-content/themes/twentytwentythree/screenshot.png",
                "image/png",
                b"\x89PNG",
            ),
        ],
        login: Login {
            form: "/wp-login.php",
            token: None,
            action: "/wp-login.php",
            fields: vec![
                ("log", "admin"),
                ("pwd", ADMIN_PASSWORD),
                ("wp-submit", "Log In"),
                ("redirect_to", "/wp-admin/"),
                ("testcookie", "1"),
            ],
            location_suffix: "/wp-admin/",
            after: "/wp-admin/",
            after_marker: "Dashboard",
            forged_status: None,
        },
        redirects: vec![
            // A directory without its slash: the bootstrap's 301, like nginx.
            ("/wp-admin", 301, "/wp-admin/"),
            // wp-admin/index.php run directly, not logged in: WordPress's own redirect.
            ("/wp-admin/", 302, "/wp-login.php"),
        ],
        not_found: "/no-such-page/",
        stylesheet: ".css",
        colourful: false,
    }
}

pub fn dokuwiki() -> App {
    App {
        name: "dokuwiki",
        handler: "doku.php",
        // No LAMBDA_FPM_DENY: the .htaccess files DokuWiki ships in conf/, data/, inc/, bin/ and
        // vendor/ are what keeps them private, as under Apache. Only the installer is listed.
        env: env(&[("LAMBDA_FPM_DENY", "/install.php")]),
        home: "/doku.php/start",
        title: "DokuWiki on lambda-fpm",
        assets: vec![
            ("/lib/tpl/dokuwiki/images/logo.png", "image/png", b"\x89PNG"),
            ("/lib/scripts/behaviour.js", "", b"dw_behaviour"),
        ],
        login: Login {
            form: "/doku.php/start?do=login",
            token: Some("sectok"),
            action: "/doku.php/start",
            fields: vec![
                ("id", "start"),
                ("do", "login"),
                ("u", "admin"),
                ("p", ADMIN_PASSWORD),
            ],
            location_suffix: "/doku.php/start",
            after: "/doku.php/start",
            after_marker: "Wiki Admin",
            forged_status: None,
        },
        redirects: vec![("/", 302, "/doku.php/start")],
        not_found: "/doku.php/no_such_page",
        stylesheet: "/lib/exe/css.php",
        colourful: true,
    }
}
