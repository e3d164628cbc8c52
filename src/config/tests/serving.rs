//! How invocations are served: concurrency, init type and warm-up, invoke mode, event handler and
//! console, compression.

use super::*;

#[test]
fn workers_override_managed_instances_concurrency() {
    let c = ok(&lambda(), &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")]);
    assert_eq!(c.concurrency, 4);
    let c = ok(
        &lambda(),
        &[
            ("AWS_LAMBDA_MAX_CONCURRENCY", "4"),
            ("LAMBDA_FPM_WORKERS", "2"),
        ],
    );
    assert_eq!(c.concurrency, 2);
    // The override wins, so Lambda's value is not even looked at.
    let c = ok(
        &lambda(),
        &[
            ("AWS_LAMBDA_MAX_CONCURRENCY", "x"),
            ("LAMBDA_FPM_WORKERS", "3"),
        ],
    );
    assert_eq!(c.concurrency, 3);
}

#[test]
fn initialization_types_and_which_may_warm_up() {
    for (value, expected, warms_up) in [
        ("on-demand", InitType::OnDemand, false),
        (
            "provisioned-concurrency",
            InitType::ProvisionedConcurrency,
            true,
        ),
        (" snap-start ", InitType::SnapStart, true),
        (
            "lambda-managed-instances",
            InitType::Other("lambda-managed-instances".into()),
            false,
        ),
    ] {
        let c = ok(&lambda(), &[("AWS_LAMBDA_INITIALIZATION_TYPE", value)]);
        assert_eq!(c.init_type, expected, "{value}");
        assert_eq!(c.init_type.warms_up(), warms_up, "{value}");
    }
}

#[test]
fn warm_up_paths_keep_their_order_and_query() {
    let c = ok(
        &lambda(),
        &[("LAMBDA_FPM_WARMUP", " /, /login ,/api/ping?warm=1,")],
    );
    assert_eq!(c.warmup, ["/", "/login", "/api/ping?warm=1"]);
}

#[test]
fn invoke_mode_is_buffered_or_response_stream() {
    assert_eq!(ok(&lambda(), &[]).invoke_mode, InvokeMode::Buffered);
    let mode = |v| ok(&lambda(), &[("LAMBDA_FPM_INVOKE_MODE", v)]).invoke_mode;
    assert_eq!(mode("buffered"), InvokeMode::Buffered);
    assert_eq!(mode("RESPONSE_STREAM"), InvokeMode::ResponseStream);
    assert_invalid(
        &[("LAMBDA_FPM_INVOKE_MODE", "stream")],
        "LAMBDA_FPM_INVOKE_MODE",
    );
}

#[test]
fn event_handler_and_console_are_relative_to_the_task_root() {
    let c = ok(&lambda(), &[]);
    assert_eq!((c.event_handler, c.console), (None, None));
    let c = ok(
        &lambda(),
        &[
            ("LAMBDA_FPM_EVENT_HANDLER", "/worker.php"),
            ("LAMBDA_FPM_CONSOLE", " bin/console "),
        ],
    );
    assert_eq!(c.event_handler, Some(PathBuf::from("worker.php")));
    assert_eq!(c.console, Some(PathBuf::from("bin/console")));
    let c = ok(&serve(None), &[("LAMBDA_FPM_CONSOLE", "artisan")]);
    assert_eq!(c.console, Some(PathBuf::from("artisan")));
}

#[test]
fn compression_offers_levels_and_the_rest_opt_in() {
    use crate::compress::{Compression, Encoding::*, Offer};
    let c = ok(&lambda(), &[]);
    assert_eq!(c.compression, Compression::default());
    assert!(
        !c.compression.rest_api,
        "REST APIs need binaryMediaTypes first"
    );
    let offer = |encoding, level| Offer { encoding, level };
    for (value, expected) in [
        ("gzip", vec![offer(Gzip, Gzip.default_level())]),
        (
            " zstd:3 , BR:11,gzip:1 ",
            vec![offer(Zstd, 3), offer(Brotli, 11), offer(Gzip, 1)],
        ),
        ("br:0,", vec![offer(Brotli, 0)]),
        ("OFF", vec![]),
    ] {
        let c = ok(&lambda(), &[("LAMBDA_FPM_COMPRESSION", value)]);
        assert_eq!(c.compression.offers, expected, "{value:?}");
    }
    let c = ok(&lambda(), &[("LAMBDA_FPM_COMPRESS_REST", "on")]);
    assert!(c.compression.rest_api);
    for bad in [
        "deflate",
        "gzip,gzip",
        "gzip:0",
        "gzip:10",
        "zstd:20",
        "br:12",
        "br:-1",
        "br:",
        "br:high",
        "x-gzip",
        ",",
        "off,gzip",
    ] {
        assert_invalid(&[("LAMBDA_FPM_COMPRESSION", bad)], "LAMBDA_FPM_COMPRESSION");
    }
    assert_invalid(
        &[("LAMBDA_FPM_COMPRESS_REST", "yes")],
        "LAMBDA_FPM_COMPRESS_REST",
    );
}
