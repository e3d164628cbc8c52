//! `Accept-Encoding` (RFC 9110 §12.5.3) against the offered encodings. Pure; any bytes are accepted and
//! what cannot be read is skipped, never an error: the worst a malformed header gets is no compression.

use super::{Encoding, Offer};

/// A q-value in thousandths (RFC 9110 §12.4.2 allows three decimals): compared exactly, no floats.
type Q = u16;

/// The offered encoding with the highest q-value (`*` standing for those not named), the earlier offer
/// on a tie; `None` when none is above 0 or an explicit `identity` ranks above the best.
pub(super) fn negotiate(offers: &[Offer], header: &[u8]) -> Option<Encoding> {
    let mut named: [Option<Q>; 3] = [None; 3];
    let mut star = None;
    let mut identity = None;
    for (coding, q) in entries(header) {
        // The first entry for a coding counts; a client repeating one is not consistent anyway.
        let slot = if coding == b"*" {
            &mut star
        } else if coding.eq_ignore_ascii_case(b"identity") {
            &mut identity
        } else if let Some(encoding) = Encoding::from_token(coding) {
            &mut named[index(encoding)]
        } else {
            continue;
        };
        slot.get_or_insert(q);
    }
    let mut best: Option<(Encoding, Q)> = None;
    for offer in offers {
        let q = named[index(offer.encoding)].or(star).unwrap_or(0);
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((offer.encoding, q));
        }
    }
    let (encoding, q) = best?;
    // `identity` is acceptable by default; only a client that ranks it higher keeps the body as is.
    match identity {
        Some(identity) if identity > q => None,
        _ => Some(encoding),
    }
}

fn index(encoding: Encoding) -> usize {
    match encoding {
        Encoding::Brotli => 0,
        Encoding::Zstd => 1,
        Encoding::Gzip => 2,
    }
}

/// `coding[;q=value][;other=param]` entries, in order; an entry with an unreadable q-value is skipped
/// (guessing its weight could pick an encoding the client refuses).
fn entries(header: &[u8]) -> impl Iterator<Item = (&[u8], Q)> {
    header.split(|b| *b == b',').filter_map(|entry| {
        let mut parts = entry.split(|b| *b == b';');
        let coding = parts.next()?.trim_ascii();
        if coding.is_empty() {
            return None;
        }
        let mut q = 1000;
        for param in parts {
            let Some((name, value)) = split_once(param, b'=') else {
                continue;
            };
            if name.trim_ascii().eq_ignore_ascii_case(b"q") {
                q = qvalue(value.trim_ascii())?;
            }
        }
        Some((coding, q))
    })
}

fn split_once(bytes: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|b| *b == sep)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

/// `0`, `0.5`, `0.125`, `1`, `1.000` → thousandths; anything else (`2`, `-1`, `0.1234`, `abc`) → None.
fn qvalue(text: &[u8]) -> Option<Q> {
    let (whole, fraction) = match split_once(text, b'.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, &b""[..]),
    };
    if fraction.len() > 3 || !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: Q = 0;
    for (i, digit) in fraction.iter().enumerate() {
        thousandths += Q::from(digit - b'0') * [100, 10, 1][i];
    }
    match whole {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qvalues_are_read_exactly_or_refused() {
        for (text, q) in [
            ("0", Some(0)),
            ("0.5", Some(500)),
            ("0.125", Some(125)),
            ("0.", Some(0)),
            ("1", Some(1000)),
            ("1.000", Some(1000)),
            ("1.5", None),
            ("2", None),
            ("-1", None),
            ("0.1234", None),
            ("0.1a", None),
            ("abc", None),
            ("", None),
        ] {
            assert_eq!(qvalue(text.as_bytes()), q, "{text:?}");
        }
    }

    #[test]
    fn entries_keep_order_and_skip_what_cannot_be_read() {
        let got: Vec<(String, Q)> =
            entries(b" gzip ;q=0.8, br,, zstd;level=3;Q=0.1, x;q=oops , ;q=1")
                .map(|(c, q)| (String::from_utf8_lossy(c).into_owned(), q))
                .collect();
        assert_eq!(
            got,
            [
                ("gzip".into(), 800),
                ("br".into(), 1000),
                ("zstd".into(), 100)
            ]
        );
    }
}
