use super::*;
use crate::message::Header;
use std::path::PathBuf;

fn request(headers: &[(&str, &str)]) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        path: "/a b/ü".into(),
        query: "x=1&y=%20".into(),
        headers: headers
            .iter()
            .map(|(n, v)| Header::new(*n, v.as_bytes()))
            .collect(),
        client_ip: Some("203.0.113.9".into()),
        protocol: "HTTP/1.1".into(),
        ..Default::default()
    }
}

fn build(req: &HttpRequest) -> Params {
    let script = Script {
        filename: PathBuf::from("/var/task/public/index.php"),
        name: "/index.php".into(),
        path_info: None,
    };
    Params::build(req, &script, &Site::new("/var/task/public".into()))
}

fn get<'a>(p: &'a Params, name: &str) -> Option<&'a str> {
    p.get(name).map(|v| std::str::from_utf8(v).expect("utf8"))
}

#[test]
fn server_variables_come_from_the_request_and_site() {
    let p = build(&request(&[
        ("Host", "example.com:8443"),
        ("X-Forwarded-Port", "8443"),
    ]));
    assert_eq!(get(&p, "REQUEST_URI"), Some("/a%20b/%C3%BC?x=1&y=%20"));
    assert_eq!(get(&p, "QUERY_STRING"), Some("x=1&y=%20"));
    assert_eq!(get(&p, "SERVER_NAME"), Some("example.com"));
    assert_eq!(get(&p, "HTTP_HOST"), Some("example.com:8443"));
    assert_eq!(get(&p, "SERVER_PORT"), Some("8443"));
    assert_eq!(get(&p, "HTTPS"), Some("on"));
    assert_eq!(get(&p, "REMOTE_ADDR"), Some("203.0.113.9"));
    assert_eq!(get(&p, "SCRIPT_NAME"), Some("/index.php"));
    assert_eq!(get(&p, "PATH_INFO"), None);
    assert_eq!(get(&p, "CONTENT_TYPE"), None);
    assert_eq!(get(&p, "CONTENT_LENGTH"), None);
    assert!(get(&p, "SERVER_SOFTWARE").is_some_and(|s| s.starts_with("lambda-fpm/")));
}

#[test]
fn callers_add_their_platform_variables_last() {
    let mut p = build(&request(&[("Accept", "a")]));
    p.extend([("PLATFORM_A", "1"), ("PLATFORM_B", "2")]);
    let names: Vec<&str> = p.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names[names.len() - 3..],
        ["HTTP_ACCEPT", "PLATFORM_A", "PLATFORM_B"]
    );
    assert_eq!(get(&p, "PLATFORM_B"), Some("2"));
}

#[test]
fn plain_http_and_default_port() {
    let p = build(&request(&[
        ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-Port", "80; rm"),
    ]));
    assert_eq!(get(&p, "HTTPS"), None);
    assert_eq!(get(&p, "REQUEST_SCHEME"), Some("http"));
    assert_eq!(get(&p, "SERVER_PORT"), Some("443"));
    assert_eq!(get(&p, "SERVER_NAME"), Some("localhost"));
}

#[test]
fn headers_are_joined_and_forgeries_dropped() {
    let p = build(&request(&[
        ("Accept", "a"),
        ("accept", "b"),
        ("Cookie", "x=1"),
        ("cookie", "y=2"),
        ("Proxy", "http://evil"),
        ("X_Forwarded_For", "1.1.1.1"),
        ("Bad Header", "v"),
        ("X-Crlf", "a\r\nInjected: 1"),
    ]));
    assert_eq!(get(&p, "HTTP_ACCEPT"), Some("a, b"));
    assert_eq!(get(&p, "HTTP_COOKIE"), Some("x=1; y=2"));
    assert_eq!(get(&p, "HTTP_PROXY"), None);
    assert_eq!(get(&p, "HTTP_X_FORWARDED_FOR"), None);
    assert_eq!(get(&p, "HTTP_X_CRLF"), Some("a  Injected: 1"));
    assert!(p.iter().all(|(n, _)| !n.contains(' ')));
}

#[test]
fn joined_values_keep_their_place_and_long_lengths_decode() {
    let long = "v".repeat(200);
    let p = build(&request(&[
        ("X-A", "1"),
        ("Accept", &long),
        ("x-a", "2"),
        ("X-B", "3"),
        ("X-a", "\0"),
    ]));
    let names: Vec<&str> = p.iter().map(|(n, _)| n).collect();
    let at = |name: &str| names.iter().position(|n| *n == name);
    assert!(at("HTTP_X_A") < at("HTTP_ACCEPT") && at("HTTP_ACCEPT") < at("HTTP_X_B"));
    assert_eq!(names.iter().filter(|n| **n == "HTTP_X_A").count(), 1);
    assert_eq!(get(&p, "HTTP_X_A"), Some("1, 2,  "));
    assert_eq!(get(&p, "HTTP_ACCEPT"), Some(long.as_str()));
    let pairs = wire::decode_pairs(p.encoded()).expect("decodes");
    assert_eq!(pairs.len(), names.len());
}

#[test]
fn control_bytes_in_the_query_are_encoded() {
    let mut req = request(&[]);
    req.query = "a=\u{1}b&c=\r\n&d=\u{0}&e=caf\u{e9}%20\u{7f}".into();
    let p = build(&req);
    assert_eq!(
        get(&p, "QUERY_STRING"),
        Some("a=%01b&c=%0D%0A&d=%00&e=caf\u{e9}%20%7F")
    );
    assert!(get(&p, "REQUEST_URI")
        .is_some_and(|u| u.ends_with("?a=%01b&c=%0D%0A&d=%00&e=caf\u{e9}%20%7F")));
    assert_eq!(escape_controls("x=1&y=%20"), Cow::Borrowed("x=1&y=%20"));
}

#[test]
fn ipv6_host_keeps_brackets() {
    assert_eq!(server_name(b"[::1]:8080"), b"[::1]");
    assert_eq!(server_name(b"example.com"), b"example.com");
    assert_eq!(server_name(b" \0example.com:80\r\n"), b"example.com");
    assert_eq!(server_name(b" \0 "), b"");
}
