//! RFC 3161 timestamps for the keyless signer: the `TimeStampReq` sent to
//! the configured timestamp authority (over the signature bytes) and the
//! first check of its answer (a granted `TimeStampResp` with a token); the
//! token's signature, imprint and chain are verified with the bundle.

use sha2::{Digest as _, Sha256};

use crate::der::{self, tlv};
use crate::error::{service_error, Error};
use crate::http::Http;

/// Largest RFC 3161 answer accepted.
pub(crate) const MAX_TIMESTAMP_BYTES: usize = 64 * 1024;

/// DER of id-sha256 (2.16.840.1.101.3.4.2.1), tag included.
const SHA256_OID: &[u8] = &[
    0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
];

/// A DER `TimeStampReq` (RFC 3161 §2.4.1): version 1, the SHA-256 of
/// `signature`, a random 64-bit nonce, certReq true.
pub(crate) fn timestamp_request(signature: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    // Positive, and no leading zero byte (minimal DER INTEGER).
    nonce[0] = (nonce[0] & 0x7f) | 0x01;
    let imprint = [tlv(0x30, SHA256_OID), tlv(0x04, &Sha256::digest(signature))].concat();
    let body = [
        tlv(0x02, &[1]),
        tlv(0x30, &imprint),
        tlv(0x02, &nonce),
        tlv(0x01, &[0xff]),
    ]
    .concat();
    tlv(0x30, &body)
}

/// Splits one DER element off `input`: (tag, content, rest).
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    der::element(input).map(|(tag, _, content, rest)| (tag, content, rest))
}

/// Checks that `der` is one `TimeStampResp` whose status is granted (0) or
/// grantedWithMods (1) and that carries a token (the signature, imprint
/// and TSA chain are verified with the bundle).
pub(crate) fn check_timestamp_response(der: &[u8]) -> Result<(), String> {
    let (tag, body, trailing) =
        read_tlv(der).ok_or("the answer is not DER (want a TimeStampResp)")?;
    if tag != 0x30 || !trailing.is_empty() {
        return Err("the answer is not one DER TimeStampResp".into());
    }
    let (tag, status_info, rest) = read_tlv(body).ok_or("no PKIStatusInfo")?;
    let (int_tag, status, _) = read_tlv(status_info).ok_or("no PKIStatus")?;
    if tag != 0x30 || int_tag != 0x02 {
        return Err("malformed PKIStatusInfo".into());
    }
    match status {
        [0] | [1] => {}
        other => {
            return Err(format!(
                "the timestamp was not granted (PKIStatus {})",
                other.first().copied().unwrap_or(0xff)
            ))
        }
    }
    let (tag, _, rest) = read_tlv(rest).ok_or("granted, but no timeStampToken")?;
    if tag != 0x30 || !rest.is_empty() {
        return Err("malformed timeStampToken".into());
    }
    Ok(())
}

/// An RFC 3161 timestamp over `signature` from the timestamp authority at
/// `url` (none when there is none): the DER `TimeStampResp`, checked to be
/// granted.
pub(super) fn timestamp(
    http: &Http,
    url: Option<&str>,
    signature: &[u8],
) -> Result<Vec<Vec<u8>>, Error> {
    let Some(url) = url else {
        return Ok(Vec::new());
    };
    let request = timestamp_request(signature);
    let answer = http.post_der(
        "TSA",
        url,
        &request,
        ("application/timestamp-query", "application/timestamp-reply"),
        MAX_TIMESTAMP_BYTES as u64,
    )?;
    check_timestamp_response(&answer).map_err(|reason| service_error("TSA", url, reason))?;
    Ok(vec![answer])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_requests_are_der() {
        let req = timestamp_request(b"signature");
        let (tag, body, rest) = read_tlv(&req).unwrap();
        assert_eq!((tag, rest.len()), (0x30, 0));
        let (_, version, body) = read_tlv(body).unwrap();
        assert_eq!(version, [1]);
        let (_, imprint, body) = read_tlv(body).unwrap();
        let (_, _, digest) = read_tlv(imprint).unwrap();
        assert_eq!(
            read_tlv(digest).unwrap().1,
            Sha256::digest(b"signature").as_slice()
        );
        let (_, nonce, body) = read_tlv(body).unwrap();
        assert_eq!(nonce.len(), 8);
        assert!(nonce[0] & 0x80 == 0 && nonce[0] != 0);
        assert_eq!(read_tlv(body).unwrap(), (0x01, &[0xff][..], &[][..]));
    }

    #[test]
    fn timestamp_answers_must_be_granted_with_a_token() {
        let granted = tlv(
            0x30,
            &[tlv(0x30, &tlv(0x02, &[0])), tlv(0x30, &[])].concat(),
        );
        assert!(check_timestamp_response(&granted).is_ok());
        let refused = tlv(0x30, &tlv(0x30, &tlv(0x02, &[2])));
        assert!(check_timestamp_response(&refused)
            .unwrap_err()
            .contains("not granted"));
        let no_token = tlv(0x30, &tlv(0x30, &tlv(0x02, &[0])));
        assert!(check_timestamp_response(&no_token).is_err());
        assert!(check_timestamp_response(b"<html>").is_err());
        let mut trailing = granted.clone();
        trailing.push(0);
        assert!(check_timestamp_response(&trailing).is_err());
        for n in 0..granted.len() {
            assert!(check_timestamp_response(&granted[..n]).is_err());
        }
    }
}
