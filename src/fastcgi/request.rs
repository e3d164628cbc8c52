//! One FastCGI request as a value: the CGI params and the body, encoded (with the connection's one
//! request id) so it leaves in one write: a single buffer, or for a large body the records' framing
//! around the body where it lies (a vectored write).

use super::params::Params;
use super::wire;

/// The request id every request uses: a connection carries one request at a time.
pub(super) const REQUEST_ID: u16 = 1;

/// What to ask php-fpm: a responder request with these params and this body on stdin.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub params: &'a Params,
    pub stdin: &'a [u8],
}

impl<'a> Request<'a> {
    pub fn new(params: &'a Params, stdin: &'a [u8]) -> Self {
        Self { params, stdin }
    }

    /// BEGIN_REQUEST, PARAMS and STDIN records, ready for the socket.
    pub fn encode(&self) -> Vec<u8> {
        wire::encode_request(REQUEST_ID, self.params.encoded(), self.stdin)
    }

    /// The same records with the body left where it is: the head and the pieces to write in order.
    pub fn encode_vectored(&self) -> (Vec<u8>, Vec<wire::Piece>) {
        wire::encode_request_vectored(REQUEST_ID, self.params.encoded(), self.stdin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastcgi::wire::{decode_pairs, RecordHeader, RecordType, HEADER_LEN};

    #[test]
    fn encodes_params_and_body_under_the_connections_request_id() {
        let mut params = Params::default();
        params.add("REQUEST_METHOD", "POST");
        let bytes = Request::new(&params, b"body").encode();
        let mut at = 0;
        let mut records = Vec::new();
        while at < bytes.len() {
            let header: &[u8; HEADER_LEN] = bytes[at..at + HEADER_LEN].try_into().expect("8 bytes");
            let header = RecordHeader::parse(header);
            assert_eq!(header.request_id, REQUEST_ID);
            let content = &bytes[at + HEADER_LEN..][..header.content_length as usize];
            records.push((header.kind, content.to_vec()));
            at += HEADER_LEN + header.body_len();
        }
        assert_eq!(records[0].0, Some(RecordType::BeginRequest));
        assert_eq!(records[1].0, Some(RecordType::Params));
        assert_eq!(
            decode_pairs(&records[1].1),
            Some(vec![(b"REQUEST_METHOD".to_vec(), b"POST".to_vec())])
        );
        assert_eq!(records[3], (Some(RecordType::Stdin), b"body".to_vec()));
    }
}
