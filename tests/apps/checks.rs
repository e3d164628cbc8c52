//! The checks every app goes through: over HTTP (home page, static assets, login with cookies and a
//! CSRF token, redirects, 404) through each transport, and in headless Chromium through `serve`.

use std::path::Path;
use std::time::Instant;

use crate::browser::{chromium, decode_png};
use crate::catalog::App;
use crate::client::{input_value, title_of, Jar, Resp};
use crate::deploy::{Deployed, Transport};
use crate::install::{screenshots_dir, task_root};
use crate::proxy::Proxy;
use crate::support::events::Request;

fn fail(d: &Deployed, what: &str, resp: &Resp) -> ! {
    panic!(
        "[{}] {what}\n{}\n----- bootstrap logs -----\n{}",
        d.label(),
        resp.describe(),
        d.proc.logs()
    )
}

fn location_path(loc: &str) -> &str {
    let no_query = loc.split('?').next().unwrap_or(loc);
    match no_query.find("://") {
        Some(i) => match no_query[i + 3..].find('/') {
            Some(j) => &no_query[i + 3 + j..],
            None => "/",
        },
        None => no_query,
    }
}

/// GET, following redirects within the app (at most 5).
async fn get_following(d: &Deployed, target: &str, jar: &mut Jar) -> Resp {
    let mut target = target.to_string();
    for _ in 0..5 {
        let resp = d.send(&Request::get(&target).cookies(&jar.pairs())).await;
        jar.update(&resp);
        if !(300..400).contains(&resp.status) {
            return resp;
        }
        let loc = resp
            .header("location")
            .unwrap_or_else(|| fail(d, "redirect without Location", &resp));
        let path = location_path(loc);
        let query = loc
            .split_once('?')
            .map(|(_, q)| format!("?{q}"))
            .unwrap_or_default();
        target = format!("{path}{query}");
    }
    panic!("[{}] too many redirects from {target}", d.label());
}

/// Home page, assets, login, redirects and 404 through one transport.
pub async fn http_checks(app: &App, d: &Deployed) {
    let t = Instant::now();
    let mut jar = Jar::default();

    // Home page.
    let home = get_following(d, app.home, &mut jar).await;
    if home.status != 200
        || title_of(&home.text())
            .as_deref()
            .is_none_or(|t| !t.contains(app.title))
    {
        fail(
            d,
            &format!(
                "home page {}: expected 200 with title {:?}",
                app.home, app.title
            ),
            &home,
        );
    }
    if !home
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/html")
    {
        fail(d, "home page is not text/html", &home);
    }

    // Static assets, served by the bootstrap.
    for (path, ctype, marker) in &app.assets {
        let r = d.send(&Request::get(path)).await;
        let ok = r.status == 200
            && r.header("content-type").unwrap_or("").starts_with(ctype)
            && r.body
                .windows(marker.len().max(1))
                .any(|w| marker.is_empty() || w == *marker);
        if !ok {
            fail(
                d,
                &format!(
                    "static asset {path}: expected 200, {ctype}, containing {:?}",
                    String::from_utf8_lossy(marker)
                ),
                &r,
            );
        }
        let docroot =
            task_root(app.name).join(Path::new(app.handler).parent().unwrap_or(Path::new("")));
        let on_disk = std::fs::metadata(docroot.join(path.trim_start_matches('/')))
            .map(|m| m.len() as usize)
            .ok();
        if on_disk != Some(r.body.len()) {
            fail(
                d,
                &format!(
                    "static asset {path}: body length {} differs from the file's {on_disk:?}",
                    r.body.len()
                ),
                &r,
            );
        }
    }

    // Login: form (cookies + CSRF token), POST, redirect with cookies, the page behind it.
    let l = &app.login;
    let mut jar = Jar::default();
    if l.form.starts_with("/wp-login.php") {
        // WordPress checks that cookies work: the browser has its test cookie from the form page.
        jar.update(&Resp {
            status: 200,
            headers: vec![],
            set_cookies: vec!["wordpress_test_cookie=WP%20Cookie%20check".into()],
            body: vec![],
        });
    }
    let form = d.send(&Request::get(l.form).cookies(&jar.pairs())).await;
    jar.update(&form);
    if form.status != 200 || !form.text().contains("<form") {
        fail(d, &format!("login form {}", l.form), &form);
    }
    let mut fields: Vec<(&str, String)> =
        l.fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
    if let Some(tok) = l.token {
        let value = input_value(&form.text(), tok)
            .unwrap_or_else(|| fail(d, &format!("no hidden {tok} in the form"), &form));
        if let Some(forged) = l.forged_status {
            let mut bad: Vec<(&str, &str)> = l.fields.clone();
            bad.push((tok, "forged-token"));
            let r = d
                .send(&Request::form(l.action, &bad).cookies(&jar.pairs()))
                .await;
            if r.status != forged {
                fail(
                    d,
                    &format!("a forged CSRF token must be refused with {forged}"),
                    &r,
                );
            }
            jar.update(&r);
        }
        fields.push((tok, value));
    }
    if fields
        .iter()
        .any(|(k, v)| *k == "redirect_to" && v.starts_with('/'))
    {
        for f in fields.iter_mut().filter(|(k, _)| *k == "redirect_to") {
            f.1 = format!("{}{}", d.origin(), f.1);
        }
    }
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let before = jar.names();
    let posted = d
        .send(&Request::form(l.action, &borrowed).cookies(&jar.pairs()))
        .await;
    if !(posted.status == 302 || posted.status == 303) || posted.set_cookies.is_empty() {
        fail(
            d,
            &format!(
                "login POST {}: expected a 302/303 setting cookies (sent cookies {before:?})",
                l.action
            ),
            &posted,
        );
    }
    let loc = posted.header("location").unwrap_or("");
    if !location_path(loc).ends_with(l.location_suffix) {
        fail(
            d,
            &format!(
                "login POST: Location {loc:?} should end with {}",
                l.location_suffix
            ),
            &posted,
        );
    }
    jar.update(&posted);
    let after = d.send(&Request::get(l.after).cookies(&jar.pairs())).await;
    if after.status != 200 || !after.text().contains(l.after_marker) {
        fail(
            d,
            &format!(
                "after login, {} with cookies {:?} should show {:?}",
                l.after,
                jar.names(),
                l.after_marker
            ),
            &after,
        );
    }

    // Redirects.
    for (path, status, suffix) in &app.redirects {
        let r = d.send(&Request::get(path)).await;
        let loc = r.header("location").unwrap_or("");
        if r.status != *status || !location_path(loc).ends_with(suffix) {
            fail(d, &format!("{path}: expected {status} to …{suffix}"), &r);
        }
    }

    // 404 from the app itself (an HTML page, not an empty answer).
    let r = d.send(&Request::get(app.not_found)).await;
    if r.status != 404 || !r.text().to_ascii_lowercase().contains("<html") {
        fail(
            d,
            &format!("{}: expected the app's 404 page", app.not_found),
            &r,
        );
    }
    eprintln!(
        "{}: {} checks passed in {:?}",
        app.name,
        d.label(),
        t.elapsed()
    );
}

/// Home page in headless Chromium through `serve`: title in the DOM, the stylesheet fetched, a screenshot
/// that is a rendered page.
pub async fn browser_checks(app: &App, d: &Deployed) {
    let t = Instant::now();
    let Transport::Serve { port } = d.transport else {
        unreachable!("browser checks need serve")
    };
    let proxy = Proxy::start(port).await;
    let url = format!("http://127.0.0.1:{}{}", proxy.port, app.home);

    let dom = chromium(
        &["--dump-dom".into(), "--virtual-time-budget=3000".into()],
        &url,
    )
    .await;
    let dom = String::from_utf8_lossy(&dom).into_owned();
    let title = title_of(&dom);
    assert!(
        title.as_deref().is_some_and(|t| t.contains(app.title)),
        "{}: Chromium's DOM has title {title:?}, expected {:?}\nDOM: {}\nlogs:\n{}",
        app.name,
        app.title,
        &dom[..dom.len().min(3000)],
        d.proc.logs()
    );
    let lines = proxy.request_lines();
    assert!(
        lines.iter().any(|l| l.contains(app.stylesheet)),
        "{}: the browser never requested a stylesheet matching {:?}; it requested {lines:#?}",
        app.name,
        app.stylesheet
    );

    let shot = screenshots_dir().join(format!("{}.png", app.name));
    let _ = std::fs::remove_file(&shot);
    chromium(
        &[
            format!("--screenshot={}", shot.display()),
            "--virtual-time-budget=3000".into(),
        ],
        &url,
    )
    .await;
    let png = std::fs::read(&shot)
        .unwrap_or_else(|e| panic!("{}: no screenshot at {}: {e}", app.name, shot.display()));
    let img = decode_png(&png);
    let (colours, dominant, chroma) = (
        img.distinct_colours(),
        img.dominant_share(),
        img.chromatic_share(),
    );
    eprintln!(
        "{}: screenshot {} ({}x{}, {} bytes): {colours} colours, dominant {:.1}%, coloured {:.2}%",
        app.name,
        shot.display(),
        img.width,
        img.height,
        png.len(),
        dominant * 100.0,
        chroma * 100.0
    );
    assert!(
        img.width == 1280 && img.height == 900,
        "{}: screenshot is {}x{}",
        app.name,
        img.width,
        img.height
    );
    assert!(
        colours >= 64 && dominant < 0.99,
        "{}: the screenshot looks blank ({colours} colours, dominant colour {:.1}%)",
        app.name,
        dominant * 100.0
    );
    if app.colourful {
        assert!(
            chroma > 0.002,
            "{}: the screenshot has no colour ({:.3}%): the stylesheet did not apply?",
            app.name,
            chroma * 100.0
        );
    }
    eprintln!("{}: browser checks passed in {:?}", app.name, t.elapsed());
}

/// Checks only some apps need.
pub async fn app_specific(app: &App, d: &Deployed) {
    match app.name {
        "dokuwiki" => {
            // DokuWiki's own .htaccess files: the wiki's data, configuration and code are never
            // served or run, although no LAMBDA_FPM_DENY names them.
            for (path, secret) in [
                ("/data/pages/start.txt", "DokuWiki on lambda-fpm ======"),
                ("/conf/users.auth.php", "$2y$"),
                ("/conf/local.protected.php", "savedir"),
                ("/conf/acl.auth.php", "@ALL"),
                ("/conf/", ""),
                ("/inc/preload.php", "DOKU_CONF"),
                ("/inc/init.php", ""),
                ("/inc/", ""),
                ("/data/", ""),
                ("/bin/", ""),
                ("/bin/dwpage.php", ""),
                ("/vendor/autoload.php", ""),
            ] {
                let r = d.send(&Request::get(path)).await;
                if !(r.status == 403 || r.status == 404)
                    || (!secret.is_empty() && r.text().contains(secret))
                {
                    fail(
                        d,
                        &format!(
                            "{path} is denied by DokuWiki's .htaccess: expected 403/404 and nothing of it"
                        ),
                        &r,
                    );
                }
            }
            // PATH_INFO routing: /doku.php/wiki:syntax is the page wiki:syntax.
            let r = d.send(&Request::get("/doku.php/wiki:syntax")).await;
            if r.status != 200 || !r.text().contains("Formatting Syntax") {
                fail(d, "/doku.php/wiki:syntax (PATH_INFO)", &r);
            }
        }
        "wordpress" => {
            // A pretty permalink through the front controller.
            let r = d.send(&Request::get("/hello-world/")).await;
            if r.status != 200 || !r.text().contains("Hello world!") {
                fail(d, "/hello-world/ (pretty permalink)", &r);
            }
        }
        _ => {}
    }
}
