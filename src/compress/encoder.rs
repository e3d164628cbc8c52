//! The encoders: one-shot ([`compress`]) for buffered bodies, and [`Encoder`] for streamed ones, whose
//! [`Encoder::flush`] is a sync flush: everything written so far can be decoded by the client at once,
//! so a page PHP flushes in parts reaches the browser in parts.

use std::io::{self, Write as _};

use bytes::Bytes;

use super::Encoding;

/// brotli's window: 4 MiB (lgwin 22, the encoder's default), well inside what browsers decode.
const BROTLI_LGWIN: u32 = 22;
/// brotli's internal output buffer between the encoder and our `Vec`.
const BROTLI_BUFFER: usize = 32 * 1024;

/// A streaming compressor for one response body.
pub struct Encoder {
    inner: Inner,
}

enum Inner {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    // Boxed: brotli's state is a few KB, the other two are pointers.
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    /// An encoder at `level` (clamped to [`Encoding::levels`]).
    pub fn new(encoding: Encoding, level: u32) -> io::Result<Encoder> {
        let level = clamp(encoding, level);
        let inner = match encoding {
            Encoding::Gzip => Inner::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(level),
            )),
            Encoding::Brotli => Inner::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                BROTLI_BUFFER,
                level,
                BROTLI_LGWIN,
            ))),
            Encoding::Zstd => Inner::Zstd(zstd::stream::write::Encoder::new(
                Vec::new(),
                zstd_level(level),
            )?),
        };
        Ok(Encoder { inner })
    }

    /// Compresses `chunk`; returns the output ready so far (often empty: the encoders keep data until
    /// a block is worth emitting).
    pub fn write(&mut self, chunk: &[u8]) -> io::Result<Bytes> {
        match &mut self.inner {
            Inner::Gzip(e) => e.write_all(chunk)?,
            Inner::Brotli(e) => e.write_all(chunk)?,
            Inner::Zstd(e) => e.write_all(chunk)?,
        }
        Ok(self.take())
    }

    /// A sync flush: returns the output that makes everything written so far decodable. Costs a few
    /// bytes of framing and some ratio, so call it when the producer flushed, not per chunk.
    pub fn flush(&mut self) -> io::Result<Bytes> {
        match &mut self.inner {
            // flate2's flush() is zlib's Z_SYNC_FLUSH; brotli's is BROTLI_OPERATION_FLUSH; zstd's
            // ZSTD_e_flush.
            Inner::Gzip(e) => e.flush()?,
            Inner::Brotli(e) => e.flush()?,
            Inner::Zstd(e) => e.flush()?,
        }
        Ok(self.take())
    }

    /// Ends the stream: the remaining output, trailer included.
    pub fn finish(self) -> io::Result<Bytes> {
        let out = match self.inner {
            Inner::Gzip(e) => e.finish()?,
            // brotli's into_inner() finishes the stream; writing into a Vec cannot fail.
            Inner::Brotli(e) => e.into_inner(),
            Inner::Zstd(e) => e.finish()?,
        };
        Ok(Bytes::from(out))
    }

    /// Moves the encoder's output so far out of its `Vec`.
    fn take(&mut self) -> Bytes {
        let out = match &mut self.inner {
            Inner::Gzip(e) => e.get_mut(),
            Inner::Brotli(e) => e.get_mut(),
            Inner::Zstd(e) => e.get_mut(),
        };
        Bytes::from(std::mem::take(out))
    }
}

/// Compresses a whole body at `level` (clamped to [`Encoding::levels`]).
pub fn compress(encoding: Encoding, level: u32, body: &[u8]) -> io::Result<Vec<u8>> {
    let level = clamp(encoding, level);
    // Text compresses at least 3 to 1 at any level; the Vec grows if not.
    let capacity = body.len() / 3 + 64;
    match encoding {
        Encoding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(
                Vec::with_capacity(capacity),
                flate2::Compression::new(level),
            );
            e.write_all(body)?;
            e.finish()
        }
        Encoding::Brotli => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: level as i32,
                lgwin: BROTLI_LGWIN as i32,
                // Knowing the size lets brotli size its tables for it.
                size_hint: body.len(),
                ..Default::default()
            };
            let mut out = Vec::with_capacity(capacity);
            brotli::BrotliCompress(&mut &body[..], &mut out, &params)?;
            Ok(out)
        }
        // The frame records the content size, so a decoder can allocate once.
        Encoding::Zstd => zstd::bulk::compress(body, zstd_level(level)),
    }
}

fn clamp(encoding: Encoding, level: u32) -> u32 {
    let levels = encoding.levels();
    level.clamp(*levels.start(), *levels.end())
}

fn zstd_level(level: u32) -> i32 {
    i32::try_from(level).unwrap_or(zstd::DEFAULT_COMPRESSION_LEVEL)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Read as _;

    /// Decodes a whole stream; panics when it is not one.
    pub(crate) fn decode(encoding: Encoding, data: &[u8]) -> Vec<u8> {
        let (out, end) = decode_prefix(encoding, data);
        if let Err(e) = end {
            panic!(
                "{encoding:?}: not a whole stream ({e}) after {} bytes",
                out.len()
            );
        }
        out
    }

    /// What a client can read from the start of a stream: the bytes decoded, and how reading ended
    /// (an error for a stream not finished yet).
    fn decode_prefix(encoding: Encoding, data: &[u8]) -> (Vec<u8>, io::Result<usize>) {
        let mut out = Vec::new();
        let end = match encoding {
            Encoding::Gzip => flate2::read::GzDecoder::new(data).read_to_end(&mut out),
            Encoding::Brotli => brotli::Decompressor::new(data, 4096).read_to_end(&mut out),
            Encoding::Zstd => match zstd::stream::read::Decoder::new(data) {
                Ok(mut d) => d.read_to_end(&mut out),
                Err(e) => Err(e),
            },
        };
        (out, end)
    }

    fn page(len: usize) -> Vec<u8> {
        let row = "<tr class=\"row\"><td>lambda-fpm</td><td>compresses HTML ✓</td></tr>\n";
        let mut page = b"<!doctype html><table>\n".to_vec();
        let mut n = 0u32;
        while page.len() < len {
            page.extend_from_slice(row.replace("row", &format!("row-{n}")).as_bytes());
            n = n.wrapping_mul(31).wrapping_add(7) % 1000;
        }
        page.truncate(len);
        page
    }

    #[test]
    fn one_shot_round_trips_at_every_level() {
        let body = page(50_000);
        for encoding in Encoding::ALL {
            for level in encoding.levels() {
                let compressed = compress(encoding, level, &body).expect("compress");
                assert!(compressed.len() < body.len() / 4, "{encoding:?} {level}");
                assert_eq!(decode(encoding, &compressed), body, "{encoding:?} {level}");
            }
            // Out-of-range levels are clamped, not refused.
            let clamped = compress(encoding, 99, b"abc").expect("compress");
            assert_eq!(decode(encoding, &clamped), b"abc");
            assert_eq!(
                decode(encoding, &compress(encoding, 0, b"").expect("empty")),
                b""
            );
        }
    }

    #[test]
    fn streamed_output_round_trips_and_each_flush_makes_it_decodable() {
        let body = page(200_000);
        for encoding in Encoding::ALL {
            let mut encoder = Encoder::new(encoding, encoding.default_level()).expect("new");
            let mut sent = Vec::new();
            for (i, chunk) in body.chunks(30_000).enumerate() {
                sent.extend_from_slice(&encoder.write(chunk).expect("write"));
                if i % 2 == 0 {
                    sent.extend_from_slice(&encoder.flush().expect("flush"));
                    let upto = ((i + 1) * 30_000).min(body.len());
                    let (partial, _) = decode_prefix(encoding, &sent);
                    assert!(
                        partial == body[..upto],
                        "{encoding:?} flush {i}: {} bytes",
                        partial.len()
                    );
                }
            }
            // A flush with nothing new written is harmless.
            sent.extend_from_slice(&encoder.flush().expect("flush"));
            sent.extend_from_slice(&encoder.finish().expect("finish"));
            assert_eq!(decode(encoding, &sent), body, "{encoding:?}");
            assert!(sent.len() < body.len() / 4, "{encoding:?}: {}", sent.len());
        }
    }

    #[test]
    fn a_small_first_flush_is_readable_at_once() {
        for encoding in Encoding::ALL {
            let mut encoder = Encoder::new(encoding, 4).expect("new");
            let mut sent = encoder
                .write(b"<!doctype html><title>t</title>")
                .expect("write")
                .to_vec();
            sent.extend_from_slice(&encoder.flush().expect("flush"));
            let (partial, end) = decode_prefix(encoding, &sent);
            assert_eq!(partial, b"<!doctype html><title>t</title>", "{encoding:?}");
            assert!(
                end.is_err(),
                "{encoding:?}: a flushed stream is not finished"
            );
            let mut all = sent;
            all.extend_from_slice(&encoder.finish().expect("finish"));
            assert_eq!(decode(encoding, &all), b"<!doctype html><title>t</title>");
        }
    }
}
