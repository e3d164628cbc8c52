use super::*;

fn head(text: &[u8]) -> Head {
    Head::parse(text).expect("valid").expect("complete")
}

#[test]
fn response_heads_parse_only_when_complete() {
    assert!(matches!(
        Head::parse(b"HTTP/1.1 200 OK\r\nA: b\r\n"),
        Ok(None)
    ));
    let h = head(b"HTTP/1.1 202 Accepted\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody");
    assert_eq!(h.status, StatusCode::ACCEPTED);
    assert_eq!(h.headers.get_all("x-a").count(), 2);
    assert_eq!(h.len, 41);
    assert!(h.keep_alive);
    assert!(Head::parse(b"SMTP 220 hi\r\n\r\n").is_err());
    assert!(Head::parse(b"HTTP/1.1 2x0 OK\r\n\r\n").is_err());
    assert!(Head::parse(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n").is_err());
    assert!(Head::parse(b"HTTP/1.1 200 OK\r\nA: \x01\r\n\r\n").is_err());
    assert_eq!(h.headers.get("X-A"), Some("1"));
    assert_eq!(h.headers.get("x-b"), None);
}

#[test]
fn too_many_headers_is_an_error_not_a_panic() {
    let mut text = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        text.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    text.extend_from_slice(b"\r\n");
    assert!(Head::parse(&text).is_err());
}

#[test]
fn connections_close_as_the_version_and_header_say() {
    assert!(!head(b"HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n").keep_alive);
    assert!(!head(b"HTTP/1.0 200 OK\r\n\r\n").keep_alive);
    assert!(head(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").keep_alive);
}

#[test]
fn bodies_are_framed_by_encoding_length_or_status() {
    let framed = |text: &[u8]| head(text).framing();
    assert_eq!(
        framed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n")
            .expect("ok"),
        Framing::Chunked
    );
    assert_eq!(
        framed(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n").expect("ok"),
        Framing::Length(12)
    );
    assert_eq!(
        framed(b"HTTP/1.1 204 No Content\r\n\r\n").expect("ok"),
        Framing::Empty
    );
    assert_eq!(
        framed(b"HTTP/1.1 200 OK\r\n\r\n").expect("ok"),
        Framing::UntilClose
    );
    assert!(framed(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").is_err());
}
