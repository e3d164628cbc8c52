//! The FastCGI 1.0 wire format: record headers and name-value pairs. No I/O.
//!
//! A whole request (BEGIN_REQUEST, PARAMS, STDIN) is encoded into one buffer so it leaves in one write.

pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 8;
/// The largest record content: records carry a 16-bit length.
pub const MAX_CONTENT: usize = 65535;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    BeginRequest = 1,
    AbortRequest = 2,
    EndRequest = 3,
    Params = 4,
    Stdin = 5,
    Stdout = 6,
    Stderr = 7,
}

impl RecordType {
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::BeginRequest,
            2 => Self::AbortRequest,
            3 => Self::EndRequest,
            4 => Self::Params,
            5 => Self::Stdin,
            6 => Self::Stdout,
            7 => Self::Stderr,
            _ => return None,
        })
    }
}

const ROLE_RESPONDER: u16 = 1;
const FLAG_KEEP_CONN: u8 = 1;

/// A parsed record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub version: u8,
    /// `None` for a type this client does not know (skipped, as the spec asks).
    pub kind: Option<RecordType>,
    pub request_id: u16,
    pub content_length: u16,
    pub padding_length: u8,
}

impl RecordHeader {
    pub fn parse(b: &[u8; HEADER_LEN]) -> Self {
        Self {
            version: b[0],
            kind: RecordType::from_u8(b[1]),
            request_id: u16::from_be_bytes([b[2], b[3]]),
            content_length: u16::from_be_bytes([b[4], b[5]]),
            padding_length: b[6],
        }
    }

    /// Content plus padding: what follows the header on the wire.
    pub fn body_len(&self) -> usize {
        self.content_length as usize + self.padding_length as usize
    }
}

/// The END_REQUEST body: the app's exit status and the protocol status (0 = request complete).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndRequest {
    pub app_status: u32,
    pub protocol_status: u8,
}

impl EndRequest {
    pub fn parse(content: &[u8]) -> Option<Self> {
        let b: &[u8; 8] = content.get(..8)?.try_into().ok()?;
        Some(Self {
            app_status: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            protocol_status: b[4],
        })
    }
}

fn push_header(out: &mut Vec<u8>, kind: RecordType, request_id: u16, content_len: usize) {
    debug_assert!(content_len <= MAX_CONTENT);
    // Pad content to a multiple of 8, as the spec recommends.
    let padding = (8 - content_len % 8) % 8;
    let id = request_id.to_be_bytes();
    let len = (content_len as u16).to_be_bytes();
    out.extend_from_slice(&[
        VERSION,
        kind as u8,
        id[0],
        id[1],
        len[0],
        len[1],
        padding as u8,
        0,
    ]);
}

fn push_stream(out: &mut Vec<u8>, kind: RecordType, request_id: u16, data: &[u8]) {
    // Chunks of a multiple of 8 bytes need no padding.
    for chunk in data.chunks(MAX_CONTENT - MAX_CONTENT % 8) {
        push_header(out, kind, request_id, chunk.len());
        out.extend_from_slice(chunk);
        out.resize(out.len() + (8 - chunk.len() % 8) % 8, 0);
    }
    push_header(out, kind, request_id, 0);
}

/// Appends one name-value pair in the FastCGI length-prefixed encoding.
pub fn push_pair(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    push_lengths(out, name.len(), value.len());
    out.extend_from_slice(name);
    out.extend_from_slice(value);
}

/// Appends the two lengths that open a name-value pair; the name's bytes, then the value's, follow.
pub fn push_lengths(out: &mut Vec<u8>, name_len: usize, value_len: usize) {
    for len in [name_len, value_len] {
        if len < 128 {
            out.push(len as u8);
        } else {
            out.extend_from_slice(&((len as u32) | 0x8000_0000).to_be_bytes());
        }
    }
}

/// Encodes a whole responder request: BEGIN_REQUEST (keep the connection), the encoded params, and stdin.
pub fn encode_request(request_id: u16, encoded_params: &[u8], stdin: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        64 + encoded_params.len() + stdin.len() + stdin.len() / MAX_CONTENT * 16,
    );
    push_header(&mut out, RecordType::BeginRequest, request_id, 8);
    let role = ROLE_RESPONDER.to_be_bytes();
    out.extend_from_slice(&[role[0], role[1], FLAG_KEEP_CONN, 0, 0, 0, 0, 0]);
    push_stream(&mut out, RecordType::Params, request_id, encoded_params);
    push_stream(&mut out, RecordType::Stdin, request_id, stdin);
    out
}

/// One piece of a request sent with a vectored write: a range of the encoded head or of stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Head(std::ops::Range<usize>),
    Stdin(std::ops::Range<usize>),
}

/// The same request as [`encode_request`], with stdin sent from where it lies instead of copied: the
/// head (BEGIN_REQUEST, the params, and every STDIN record header and padding) and the pieces to write
/// in order. Written one after the other, the pieces are byte for byte what `encode_request` returns.
pub fn encode_request_vectored(
    request_id: u16,
    encoded_params: &[u8],
    stdin: &[u8],
) -> (Vec<u8>, Vec<Piece>) {
    let mut head = Vec::with_capacity(64 + encoded_params.len() + stdin.len() / MAX_CONTENT * 16);
    push_header(&mut head, RecordType::BeginRequest, request_id, 8);
    let role = ROLE_RESPONDER.to_be_bytes();
    head.extend_from_slice(&[role[0], role[1], FLAG_KEEP_CONN, 0, 0, 0, 0, 0]);
    push_stream(&mut head, RecordType::Params, request_id, encoded_params);
    let mut pieces = Vec::with_capacity(3 + 3 * (stdin.len() / MAX_CONTENT + 1));
    let mut sent = 0; // bytes of `head` already in a piece
    let mut at = 0;
    for chunk in stdin.chunks(MAX_CONTENT - MAX_CONTENT % 8) {
        push_header(&mut head, RecordType::Stdin, request_id, chunk.len());
        pieces.push(Piece::Head(sent..head.len()));
        sent = head.len();
        pieces.push(Piece::Stdin(at..at + chunk.len()));
        at += chunk.len();
        head.resize(head.len() + (8 - chunk.len() % 8) % 8, 0);
    }
    push_header(&mut head, RecordType::Stdin, request_id, 0);
    pieces.push(Piece::Head(sent..head.len()));
    (head, pieces)
}

/// Decodes name-value pairs (used by tests and the fuzz target to check what we send).
pub fn decode_pairs(b: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut pairs = Pairs(b);
    let decoded = pairs
        .by_ref()
        .map(|(n, v)| (n.to_vec(), v.to_vec()))
        .collect();
    pairs.0.is_empty().then_some(decoded)
}

/// The name-value pairs of an encoded PARAMS stream, in order, borrowed from it; ends early at a
/// malformed pair (leaving it unread).
#[derive(Debug, Clone)]
pub struct Pairs<'a>(pub &'a [u8]);

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        fn len(b: &mut &[u8]) -> Option<usize> {
            let first = *b.first()?;
            if first < 128 {
                *b = &b[1..];
                Some(first as usize)
            } else {
                let four: [u8; 4] = b.get(..4)?.try_into().ok()?;
                *b = &b[4..];
                Some((u32::from_be_bytes(four) & 0x7fff_ffff) as usize)
            }
        }
        let mut b = self.0;
        let (n, v) = (len(&mut b)?, len(&mut b)?);
        let name = b.get(..n)?;
        let value = b.get(n..n.checked_add(v)?)?;
        self.0 = &b[n + v..];
        Some((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_with_short_and_long_lengths() {
        let mut out = Vec::new();
        let long = vec![b'x'; 300];
        push_pair(&mut out, b"A", b"1");
        push_pair(&mut out, b"LONG", &long);
        assert_eq!(&out[..4], &[1, 1, b'A', b'1']);
        assert_eq!(&out[4..9], &[4, 0x80, 0, 1, 44]);
        assert_eq!(
            decode_pairs(&out),
            Some(vec![
                (b"A".to_vec(), b"1".to_vec()),
                (b"LONG".to_vec(), long)
            ])
        );
        assert_eq!(decode_pairs(&[5, 1, b'a']), None);
    }

    #[test]
    fn request_is_framed_padded_and_terminated() {
        let stdin = vec![7u8; 70_000];
        let req = encode_request(1, b"\x01\x01AB", &stdin);
        let mut at = 0;
        let mut seen = Vec::new();
        while at < req.len() {
            let h = RecordHeader::parse(req[at..at + 8].try_into().expect("8 bytes"));
            assert_eq!(h.version, 1);
            assert_eq!(
                (h.content_length as usize + h.padding_length as usize) % 8,
                0
            );
            seen.push((h.kind, h.content_length));
            at += 8 + h.body_len();
        }
        assert_eq!(at, req.len());
        assert_eq!(
            seen,
            vec![
                (Some(RecordType::BeginRequest), 8),
                (Some(RecordType::Params), 4),
                (Some(RecordType::Params), 0),
                (Some(RecordType::Stdin), 65528),
                (Some(RecordType::Stdin), 4472),
                (Some(RecordType::Stdin), 0),
            ]
        );
        assert_eq!(req[10], FLAG_KEEP_CONN);
    }

    #[test]
    fn end_request_parses_and_rejects_short_bodies() {
        assert_eq!(
            EndRequest::parse(&[0, 0, 1, 0, 0, 0, 0, 0]),
            Some(EndRequest {
                app_status: 256,
                protocol_status: 0
            })
        );
        assert_eq!(EndRequest::parse(&[0, 0]), None);
    }

    #[test]
    fn a_vectored_request_is_the_same_bytes() {
        let params = b"\x01\x01AB";
        for len in [0, 1, 7, 8, 65_527, 65_528, 65_529, 200_001] {
            let stdin: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let (head, pieces) = encode_request_vectored(1, params, &stdin);
            let mut joined = Vec::new();
            for piece in pieces {
                match piece {
                    Piece::Head(r) => joined.extend_from_slice(&head[r]),
                    Piece::Stdin(r) => joined.extend_from_slice(&stdin[r]),
                }
            }
            assert!(
                joined == encode_request(1, params, &stdin),
                "stdin of {len} bytes"
            );
        }
    }
}
