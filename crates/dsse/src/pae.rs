//! Pre-Authentication Encoding, DSSE v1 (`protocol.md`):
//!
//! `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`
//!
//! where `LEN` is the ASCII decimal byte length. Signatures are always made and
//! checked over these bytes, built from the payload bytes exactly as received.

/// Builds the PAE of `payload_type` and `payload`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = header(payload_type, payload.len(), payload.len());
    out.extend_from_slice(payload);
    out
}

/// The PAE up to the body, for a body of `body_len` bytes, with room for
/// `room` more bytes (the body, appended by the caller).
pub(crate) fn header(payload_type: &str, body_len: usize, room: usize) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let body_len = body_len.to_string();
    let mut out = Vec::with_capacity(
        (10 + type_len.len() + payload_type.len() + body_len.len()).saturating_add(room),
    );
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body_len.as_bytes());
    out.push(b' ');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn empty_and_multibyte() {
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
        assert_eq!(pae("é", b"\x00"), b"DSSEv1 2 \xc3\xa9 1 \x00");
    }
}
