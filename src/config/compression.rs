//! `LAMBDA_FPM_COMPRESSION` and `LAMBDA_FPM_COMPRESS_REST` → the [`Compression`] to offer.

use super::env::{on_off, split_list, Env};
use super::ConfigError;
use crate::compress::{Compression, Encoding, Offer};

/// `off`, or the encodings to offer in order of preference, each with an optional `:level`; a REST API
/// only with `LAMBDA_FPM_COMPRESS_REST=on` (its `binaryMediaTypes` decide whether clients get the
/// compressed bytes or their base64 text).
pub(super) fn compression(env: &Env) -> Result<Compression, ConfigError> {
    const EXPECTED: &str = "off, or br, zstd and gzip in order of preference, each with an optional :level (br 0-11, zstd 1-19, gzip 1-9; each at most once), e.g. zstd,br,gzip or br:5,gzip";
    let offers = env
        .parse("LAMBDA_FPM_COMPRESSION", EXPECTED, offers)?
        .unwrap_or_else(|| Compression::default().offers);
    let rest_api = env
        .parse("LAMBDA_FPM_COMPRESS_REST", "on or off", on_off)?
        .unwrap_or(false);
    Ok(Compression { offers, rest_api })
}

pub(super) fn offers(value: &str) -> Option<Vec<Offer>> {
    if value.eq_ignore_ascii_case("off") {
        return Some(Vec::new());
    }
    let mut offers: Vec<Offer> = Vec::new();
    for item in split_list(value) {
        let (token, level) = match item.split_once(':') {
            Some((token, level)) => (token.trim(), Some(level.trim().parse::<u32>().ok()?)),
            None => (item.as_str(), None),
        };
        let encoding = Encoding::ALL
            .into_iter()
            .find(|e| token.eq_ignore_ascii_case(e.token()))?;
        let level = level.unwrap_or(encoding.default_level());
        if !encoding.levels().contains(&level) || offers.iter().any(|o| o.encoding == encoding) {
            return None;
        }
        offers.push(Offer { encoding, level });
    }
    (!offers.is_empty()).then_some(offers)
}
