//! Negotiation, the eligibility rule, the header rewrite and the buffered step, table by table.

use super::*;

fn default_negotiate(header: &str) -> Option<Encoding> {
    Compression::default().negotiate(Some(header.as_bytes()))
}

fn offers(list: &[Encoding]) -> Compression {
    Compression {
        offers: list
            .iter()
            .map(|&encoding| Offer { encoding, level: 1 })
            .collect(),
        rest_api: false,
    }
}

#[test]
fn negotiation_follows_q_values_then_our_order() {
    use Encoding::*;
    for (header, expected) in [
        // A browser: equal weights, our order decides.
        ("gzip, deflate, br, zstd", Some(Zstd)),
        ("gzip, deflate, br", Some(Brotli)),
        ("gzip, deflate", Some(Gzip)),
        ("GZIP", Some(Gzip)),
        ("x-gzip", Some(Gzip)),
        ("zstd, gzip", Some(Zstd)),
        ("br, gzip", Some(Brotli)),
        // q-values win over our order.
        ("br;q=0.5, gzip", Some(Gzip)),
        ("br;q=0.5, gzip;q=0.8, zstd;q=0.9", Some(Zstd)),
        ("br;q=0.001, gzip;q=0", Some(Brotli)),
        ("gzip;q=1.0, br;q=1", Some(Brotli)),
        // `*` stands for what is not named; an explicit q=0 refuses.
        ("*", Some(Zstd)),
        ("zstd;q=0, *", Some(Brotli)),
        ("br;q=0, *", Some(Zstd)),
        ("br;q=0, zstd;q=0, *;q=0.3", Some(Gzip)),
        ("*;q=0", None),
        ("gzip;q=0", None),
        ("br;q=0, zstd;q=0, gzip;q=0, identity", None),
        // identity only matters when the client ranks it above every encoding.
        ("identity;q=0, gzip", Some(Gzip)),
        ("identity, gzip", Some(Gzip)),
        ("identity;q=1, gzip;q=0.5", None),
        ("identity", None),
        // Unknown codings, garbage and empty headers are no compression, never an error.
        ("deflate, compress", None),
        ("", None),
        (",,;;==", None),
        ("gzip;q=2", None),
        ("gzip;q=abc, br", Some(Brotli)),
        ("\u{ff}\u{0}, gzip", Some(Gzip)),
    ] {
        assert_eq!(default_negotiate(header), expected, "{header:?}");
    }
    assert_eq!(Compression::default().negotiate(None), None);
    assert_eq!(Compression::default().negotiate(Some(b"\xff\xfe;q")), None);
}

#[test]
fn negotiation_offers_only_what_is_configured() {
    use Encoding::*;
    let gzip_first = offers(&[Gzip, Brotli]);
    assert_eq!(gzip_first.negotiate(Some(b"br, gzip, zstd")), Some(Gzip));
    assert_eq!(gzip_first.negotiate(Some(b"zstd")), None);
    assert_eq!(gzip_first.negotiate(Some(b"*")), Some(Gzip));
    assert_eq!(Compression::off().negotiate(Some(b"gzip, br")), None);
}

fn req(accept_encoding: &[&str]) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        headers: accept_encoding
            .iter()
            .map(|v| Header::new("Accept-Encoding", v.as_bytes()))
            .collect(),
        ..Default::default()
    }
}

#[test]
fn the_choice_depends_on_the_source_and_joins_repeated_headers() {
    let level = Encoding::Brotli.default_level();
    let brotli = Choice::Encode(Offer {
        encoding: Encoding::Brotli,
        level,
    });
    let on = Compression::default();
    assert_eq!(on.choose(false, &req(&["gzip, br"])), brotli);
    assert_eq!(on.choose(false, &req(&[])), Choice::Identity);
    // Repeated headers (REST's multiValueHeaders) are one list.
    assert_eq!(on.choose(false, &req(&["identity", "br"])), brotli);
    // A REST API only when the user said its binaryMediaTypes allow it.
    assert_eq!(on.choose(true, &req(&["br"])), Choice::Off);
    let rest = Compression {
        rest_api: true,
        ..Compression::default()
    };
    assert_eq!(rest.choose(true, &req(&["br"])), brotli);
    assert_eq!(Compression::off().choose(false, &req(&["br"])), Choice::Off);
    let gzip9 = Compression {
        offers: vec![Offer {
            encoding: Encoding::Gzip,
            level: 9,
        }],
        rest_api: false,
    };
    assert_eq!(
        gzip9.choose(false, &req(&["gzip"])).offer(),
        Some(Offer {
            encoding: Encoding::Gzip,
            level: 9
        })
    );
}

fn headers(list: &[(&str, &str)]) -> Vec<Header> {
    list.iter()
        .map(|(n, v)| Header::new(*n, v.as_bytes()))
        .collect()
}

#[test]
fn applies_only_to_compressible_full_bodies() {
    let html = headers(&[("Content-Type", "text/html; charset=UTF-8")]);
    let big = Some(MIN_SIZE);
    assert!(applies(200, false, &html, big));
    assert!(applies(404, false, &html, big));
    assert!(applies(200, false, &html, None), "a streamed body");
    assert!(!applies(200, false, &html, Some(MIN_SIZE - 1)), "small");
    assert!(!applies(200, true, &html, big), "HEAD");
    for status in [101, 204, 206, 304] {
        assert!(!applies(status, false, &html, big), "{status}");
    }
    for (name, value) in [
        ("Content-Encoding", "gzip"),
        ("content-encoding", "identity"),
        ("Cache-Control", "public, no-transform"),
        ("Content-Range", "bytes 0-99/200"),
    ] {
        let mut h = html.clone();
        h.push(Header::new(name, value));
        assert!(!applies(200, false, &h, big), "{name}: {value}");
    }
    let mut cached = html.clone();
    cached.push(Header::new("Cache-Control", "max-age=60, no-cache=\"x\""));
    assert!(applies(200, false, &cached, big));
    assert!(!applies(200, false, &[], big), "no Content-Type");
}

#[test]
fn compressible_types() {
    for ct in [
        "text/html",
        "TEXT/CSS; charset=utf-8",
        "text/plain",
        "application/json",
        "application/problem+json",
        "application/ld+json",
        "application/javascript",
        "application/xml",
        "application/atom+xml",
        "image/svg+xml",
        "application/wasm",
        "font/ttf",
    ] {
        assert!(compressible(ct.as_bytes()), "{ct}");
    }
    for ct in [
        "image/png",
        "image/jpeg",
        "application/octet-stream",
        "application/zip",
        "application/gzip",
        "font/woff2",
        "video/mp4",
        "",
        "\u{ff}",
    ] {
        assert!(!compressible(ct.as_bytes()), "{ct}");
    }
}

fn value<'a>(headers: &'a [Header], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| std::str::from_utf8(&h.value).unwrap_or("<bytes>"))
        .collect()
}

#[test]
fn the_header_rewrite_sets_encoding_vary_length_and_a_weak_etag() {
    let mut h = headers(&[
        ("Content-Type", "text/html"),
        ("Content-Length", "5000"),
        ("ETag", "\"abc\""),
        ("Vary", "Cookie"),
    ]);
    rewrite_headers(&mut h, Encoding::Brotli, Some(1234));
    assert_eq!(value(&h, "content-encoding"), ["br"]);
    assert_eq!(value(&h, "content-length"), ["1234"]);
    assert_eq!(value(&h, "etag"), ["W/\"abc\""]);
    assert_eq!(value(&h, "vary"), ["Cookie, Accept-Encoding"]);

    // Streamed: the length goes; a weak ETag stays; no Content-Length is invented.
    let mut h = headers(&[("Content-Length", "5000"), ("ETag", "W/\"x\"")]);
    rewrite_headers(&mut h, Encoding::Zstd, None);
    assert!(value(&h, "content-length").is_empty());
    assert_eq!(value(&h, "etag"), ["W/\"x\""]);
    let mut h = headers(&[("Content-Type", "text/html")]);
    rewrite_headers(&mut h, Encoding::Gzip, Some(10));
    assert!(value(&h, "content-length").is_empty());
    assert_eq!(value(&h, "vary"), ["Accept-Encoding"]);
}

#[test]
fn vary_is_merged_once() {
    for (before, after) in [
        (&[][..], &["Accept-Encoding"][..]),
        (&["Cookie"], &["Cookie, Accept-Encoding"]),
        (&["accept-encoding"], &["accept-encoding"]),
        (&["Cookie, Accept-Encoding"], &["Cookie, Accept-Encoding"]),
        (&["*"], &["*"]),
        (
            &["Cookie", "Accept-Encoding"],
            &["Cookie", "Accept-Encoding"],
        ),
        (
            &["Origin", "Cookie"],
            &["Origin, Accept-Encoding", "Cookie"],
        ),
        (&[""], &["Accept-Encoding"]),
    ] {
        let mut h: Vec<Header> = before.iter().map(|v| Header::new("Vary", *v)).collect();
        add_vary(&mut h);
        add_vary(&mut h);
        assert_eq!(value(&h, "vary"), after, "{before:?}");
    }
}

fn html_response(status: u16, body: &[u8]) -> HttpResponse {
    let mut r = HttpResponse::new(status)
        .with_header("Content-Type", "text/html; charset=UTF-8")
        .with_header("Content-Length", body.len().to_string());
    r.body = Bytes::copy_from_slice(body);
    r
}

#[test]
fn apply_compresses_in_place_or_leaves_the_response_alone() {
    let page = "<p>hello lambda-fpm</p>\n".repeat(200);
    let gzip = Choice::Encode(Offer {
        encoding: Encoding::Gzip,
        level: 5,
    });
    let mut r = html_response(200, page.as_bytes());
    gzip.apply(&mut r, false).expect("apply");
    assert_eq!(value(&r.headers, "content-encoding"), ["gzip"]);
    assert_eq!(value(&r.headers, "vary"), ["Accept-Encoding"]);
    assert_eq!(
        value(&r.headers, "content-length"),
        [r.body.len().to_string()]
    );
    assert_eq!(
        encoder::tests::decode(Encoding::Gzip, &r.body),
        page.as_bytes()
    );

    // Not accepted: the same response with Vary; off: untouched.
    let original = html_response(200, page.as_bytes());
    let mut r = original.clone();
    Choice::Identity.apply(&mut r, false).expect("apply");
    assert_eq!(r.body, original.body);
    assert_eq!(value(&r.headers, "vary"), ["Accept-Encoding"]);
    let mut r = original.clone();
    Choice::Off.apply(&mut r, false).expect("apply");
    assert_eq!(r, original);

    // HEAD and 304: Vary as the GET / 200 would have it, nothing compressed.
    let mut head = original.clone();
    gzip.apply(&mut head, true).expect("apply");
    assert_eq!(head.body, original.body);
    assert_eq!(value(&head.headers, "vary"), ["Accept-Encoding"]);
    assert!(value(&head.headers, "content-encoding").is_empty());
    let mut not_modified = html_response(304, b"");
    gzip.apply(&mut not_modified, false).expect("apply");
    assert_eq!(value(&not_modified.headers, "vary"), ["Accept-Encoding"]);

    // Small, or incompressible bytes of a text type: sent as they are.
    let mut small = html_response(200, b"<p>hi</p>");
    gzip.apply(&mut small, false).expect("apply");
    assert!(value(&small.headers, "vary").is_empty());
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..5000)
        .map(|_| {
            // xorshift64: bytes no encoder can shrink.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect();
    let mut random = html_response(200, &noise);
    gzip.apply(&mut random, false).expect("apply");
    assert!(random.body == noise, "the body was changed");
    assert!(value(&random.headers, "content-encoding").is_empty());
    assert!(gzip.compresses(&random, false), "it was tried");
}
