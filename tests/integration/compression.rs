//! Response compression through real php-fpm (docs/configuration.md, `LAMBDA_FPM_COMPRESSION`): each
//! encoding negotiated and decoded byte-exact, q-values, the responses never compressed, `Vary` and
//! `Content-Length`, REST APIs only when configured, and pages over Lambda's 6 MB limit that fit once
//! compressed.

use serde_json::Value;

use crate::support::events::{remove_header, set_header, set_method};
use crate::support::{body_bytes, response_header, wire_body, Lambda, Source};

/// The fixture's `/page` with `query`, sent by `source` with this `Accept-Encoding` (none: `None`).
fn page(source: Source, accept: Option<&str>, query: &[(&str, &str)]) -> Value {
    let mut event = source.event("GET", "/page", query);
    match accept {
        Some(accept) => set_header(&mut event, "accept-encoding", &[accept]),
        None => remove_header(&mut event, "accept-encoding"),
    }
    event
}

fn encoding(resp: &Value) -> Option<String> {
    response_header(resp, "content-encoding")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_encoding_is_negotiated_and_decodes_byte_exact() {
    let lambda = Lambda::start().await;
    let size = [("size", "50000")];
    let plain = lambda.respond(&page(Source::HttpV2, None, &size)).await;
    assert_eq!(encoding(&plain), None);
    assert_eq!(plain["isBase64Encoded"], false);
    let original = body_bytes(&plain);
    assert_eq!(original.len(), 50_000);
    for source in [
        Source::HttpV2,
        Source::FunctionUrl,
        Source::HttpV1,
        Source::Alb,
        Source::AlbMulti,
    ] {
        for (accept, expected) in [
            ("gzip, deflate, br, zstd", "zstd"),
            ("gzip, deflate, br", "br"),
            ("br", "br"),
            ("zstd", "zstd"),
            ("gzip", "gzip"),
            ("x-gzip", "gzip"),
            // q-values over our order; `*` for what is not named.
            ("br;q=0.5, gzip;q=0.9, zstd;q=0.1", "gzip"),
            ("zstd;q=0, *", "br"),
        ] {
            let resp = lambda.respond(&page(source, Some(accept), &size)).await;
            let what = format!("{source:?} {accept:?}");
            assert_eq!(resp["statusCode"], 200, "{what}");
            assert_eq!(encoding(&resp).as_deref(), Some(expected), "{what}");
            assert_eq!(resp["isBase64Encoded"], true, "{what}");
            assert_eq!(
                response_header(&resp, "vary").as_deref(),
                Some("Accept-Encoding"),
                "{what}"
            );
            let sent = wire_body(&resp);
            assert!(
                sent.len() < original.len() / 3,
                "{what}: {} bytes",
                sent.len()
            );
            assert!(
                body_bytes(&resp) == original,
                "{what}: the decoded body differs"
            );
        }
    }
    // Nothing acceptable: the page as it is, still marked as negotiated.
    for accept in [
        "identity",
        "gzip;q=0, br;q=0, zstd;q=0",
        "deflate",
        "identity;q=1, gzip;q=0.5",
    ] {
        let resp = lambda
            .respond(&page(Source::HttpV2, Some(accept), &size))
            .await;
        assert_eq!(encoding(&resp), None, "{accept:?}");
        assert_eq!(resp["isBase64Encoded"], false, "{accept:?}");
        assert_eq!(
            response_header(&resp, "vary").as_deref(),
            Some("Accept-Encoding"),
            "{accept:?}"
        );
        assert!(body_bytes(&resp) == original, "{accept:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_304_206_small_binary_and_php_encoded_responses_are_left_alone() {
    let lambda = Lambda::start().await;
    let accept = Some("gzip, deflate, br, zstd");
    let mut head = page(Source::HttpV2, accept, &[("size", "50000")]);
    set_method(&mut head, "HEAD");
    let resp = lambda.respond(&head).await;
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(encoding(&resp), None, "HEAD");
    assert_eq!(resp["body"], "");
    for (query, what) in [
        (&[("size", "50000"), ("status", "304")][..], "304"),
        (&[("size", "50000"), ("status", "206")], "206"),
        (&[("size", "1000")], "under 1 KiB"),
        (&[("size", "50000"), ("type", "image/png")], "an image"),
        (
            &[("size", "50000"), ("type", "application/octet-stream")],
            "binary",
        ),
        (
            &[("size", "50000"), ("cache", "no-transform")],
            "no-transform",
        ),
    ] {
        let resp = lambda.respond(&page(Source::HttpV2, accept, query)).await;
        assert_eq!(encoding(&resp), None, "{what}: {}", resp["headers"]);
    }
    // PHP compressed it itself: passed through untouched, not compressed twice.
    let query = [("size", "50000"), ("gzip", "1"), ("length", "1")];
    let resp = lambda.respond(&page(Source::HttpV2, accept, &query)).await;
    assert_eq!(encoding(&resp).as_deref(), Some("gzip"));
    let sent = wire_body(&resp);
    assert_eq!(&sent[..2], &[0x1f, 0x8b], "gzip magic");
    assert_eq!(
        response_header(&resp, "content-length"),
        Some(sent.len().to_string())
    );
    let plain = lambda
        .respond(&page(Source::HttpV2, None, &[("size", "50000")]))
        .await;
    assert!(body_bytes(&resp) == body_bytes(&plain));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vary_is_merged_and_content_length_follows_the_compressed_body() {
    let lambda = Lambda::start().await;
    let query = [("size", "50000"), ("vary", "Cookie"), ("length", "1")];
    let resp = lambda
        .respond(&page(Source::HttpV2, Some("zstd"), &query))
        .await;
    assert_eq!(encoding(&resp).as_deref(), Some("zstd"));
    assert_eq!(
        response_header(&resp, "vary").as_deref(),
        Some("Cookie, Accept-Encoding")
    );
    let sent = wire_body(&resp).len();
    assert_eq!(
        response_header(&resp, "content-length"),
        Some(sent.to_string())
    );
    // REST's multiValueHeaders: one Content-Length, one Vary.
    let rest = Lambda::start_env(&[("LAMBDA_FPM_COMPRESS_REST", "on")]).await;
    let resp = rest.respond(&page(Source::Rest, Some("br"), &query)).await;
    assert_eq!(
        resp["multiValueHeaders"]["Content-Length"],
        serde_json::json!([wire_body(&resp).len().to_string()])
    );
    assert_eq!(
        resp["multiValueHeaders"]["Vary"],
        serde_json::json!(["Cookie, Accept-Encoding"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_apis_are_compressed_only_when_configured() {
    let accept = Some("gzip, deflate, br");
    let size = [("size", "50000")];
    let default = Lambda::start().await;
    let resp = default.respond(&page(Source::Rest, accept, &size)).await;
    assert_eq!(
        encoding(&resp),
        None,
        "REST without LAMBDA_FPM_COMPRESS_REST"
    );
    assert_eq!(resp["isBase64Encoded"], false);
    assert_eq!(
        response_header(&resp, "vary"),
        None,
        "nothing was negotiated"
    );
    let original = body_bytes(&resp);
    // An HTTP API with payload 1.0 has the same shape but always decodes base64 bodies.
    let resp = default.respond(&page(Source::HttpV1, accept, &size)).await;
    assert_eq!(encoding(&resp).as_deref(), Some("br"));

    let opted_in = Lambda::start_env(&[("LAMBDA_FPM_COMPRESS_REST", "on")]).await;
    let resp = opted_in.respond(&page(Source::Rest, accept, &size)).await;
    assert_eq!(encoding(&resp).as_deref(), Some("br"));
    assert_eq!(resp["isBase64Encoded"], true);
    assert!(body_bytes(&resp) == original);

    let off = Lambda::start_env(&[("LAMBDA_FPM_COMPRESSION", "off")]).await;
    let resp = off.respond(&page(Source::HttpV2, accept, &size)).await;
    assert_eq!(encoding(&resp), None, "LAMBDA_FPM_COMPRESSION=off");
    assert_eq!(response_header(&resp, "vary"), None);
    let gzip_only = Lambda::start_env(&[("LAMBDA_FPM_COMPRESSION", "gzip:9")]).await;
    let resp = gzip_only
        .respond(&page(Source::HttpV2, accept, &size))
        .await;
    assert_eq!(encoding(&resp).as_deref(), Some("gzip"));
    assert!(body_bytes(&resp) == original);
}

/// A 7 MB HTML page is over Lambda's 6 MB limit, but fits compressed: served when the client accepts
/// an encoding, the clear 502 otherwise, and a 7 MB page that does not compress is the clear 502 too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_7_mb_page_goes_out_compressed_under_the_limit() {
    let lambda = Lambda::start().await;
    let big = [("size", "7000000")];
    // The page is generated with a fixed seed: its first 4 MB are the 4 MB page, which fits as it is.
    let head = body_bytes(
        &lambda
            .respond(&page(Source::HttpV2, None, &[("size", "4000000")]))
            .await,
    );
    assert_eq!(head.len(), 4_000_000);
    for (source, accept, expected) in [
        (Source::HttpV2, "gzip, deflate, br", "br"),
        (Source::FunctionUrl, "zstd", "zstd"),
        (Source::HttpV1, "gzip", "gzip"),
    ] {
        let outcome = lambda.invoke(&page(source, Some(accept), &big)).await;
        assert!(outcome.bytes().len() < 6 * 1024 * 1024, "{source:?}");
        let resp = lambda.expect_response(&outcome);
        assert_eq!(resp["statusCode"], 200, "{source:?}: {}", resp["body"]);
        assert_eq!(encoding(&resp).as_deref(), Some(expected), "{source:?}");
        let body = body_bytes(&resp);
        assert_eq!(body.len(), 7_000_000, "{source:?}");
        assert!(
            body[..head.len()] == head[..],
            "{source:?}: the page differs"
        );
    }

    let without = lambda.respond(&page(Source::HttpV2, None, &big)).await;
    assert_eq!(without["statusCode"], 502);
    let why = String::from_utf8_lossy(&body_bytes(&without)).into_owned();
    assert!(why.contains("too large") && why.contains("7000"), "{why}");

    let noise = [("size", "7000000"), ("noise", "1")];
    let resp = lambda
        .respond(&page(Source::HttpV2, Some("br, gzip"), &noise))
        .await;
    assert_eq!(resp["statusCode"], 502, "incompressible");
    let why = String::from_utf8_lossy(&body_bytes(&resp)).into_owned();
    assert!(why.contains("too large"), "{why}");
    // An image that large is refused as before: compression does not apply to it.
    let png = [("size", "7000000"), ("type", "image/png")];
    let resp = lambda
        .respond(&page(Source::HttpV2, Some("br"), &png))
        .await;
    assert_eq!(resp["statusCode"], 502, "image/png");
    lambda.assert_serving("7 MB responses").await;
}
