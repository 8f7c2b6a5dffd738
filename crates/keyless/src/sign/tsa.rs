//! RFC 3161 timestamps for the keyless signer: the `TimeStampReq` sent to
//! the configured timestamp authority (over the signature bytes) and the
//! first check of its answer (a granted `TimeStampResp` with a token); the
//! token's signature, imprint and chain are verified with the bundle.

use sha2::{Digest as _, Sha256};

use cmpv2::status::PkiStatus;
use x509_cert::der::asn1::{Int, OctetString};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

use crate::error::{service_error, Error};
use crate::http::Http;

/// Largest RFC 3161 answer accepted.
pub(crate) const MAX_TIMESTAMP_BYTES: usize = 64 * 1024;

/// id-sha256.
const SHA256_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// A DER `TimeStampReq` (RFC 3161 §2.4.1): version 1, the SHA-256 of
/// `signature`, a random 64-bit nonce, certReq true. (Encoding it cannot
/// fail: every length is fixed and small; were it to, the request would be
/// empty and the TSA would refuse it.)
pub(crate) fn timestamp_request(signature: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    // Positive, and no leading zero byte (minimal DER INTEGER).
    nonce[0] = (nonce[0] & 0x7f) | 0x01;
    let request = || {
        TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifier {
                    oid: SHA256_OID,
                    parameters: None,
                },
                hashed_message: OctetString::new(Sha256::digest(signature).to_vec())?,
            },
            req_policy: None,
            nonce: Some(Int::new(&nonce)?),
            cert_req: true,
            extensions: None,
        }
        .to_der()
    };
    request().unwrap_or_default()
}

/// Checks that `der` is one `TimeStampResp` whose status is granted (0) or
/// grantedWithMods (1) and that carries a token (the signature, imprint
/// and TSA chain are verified with the bundle).
pub(crate) fn check_timestamp_response(der: &[u8]) -> Result<(), String> {
    let response = TimeStampResp::from_der(der)
        .map_err(|e| format!("the answer is not DER (want a TimeStampResp): {e}"))?;
    match response.status.status {
        PkiStatus::Accepted | PkiStatus::GrantedWithMods => {}
        other => {
            return Err(format!(
                "the timestamp was not granted (PKIStatus {})",
                other as u8
            ))
        }
    }
    if response.time_stamp_token.is_none() {
        return Err("granted, but no timeStampToken".into());
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
        let req = TimeStampReq::from_der(&timestamp_request(b"signature")).unwrap();
        assert_eq!(req.version, TspVersion::V1);
        assert_eq!(req.message_imprint.hash_algorithm.oid, SHA256_OID);
        assert_eq!(
            req.message_imprint.hashed_message.as_bytes(),
            Sha256::digest(b"signature").as_slice()
        );
        let nonce = req.nonce.unwrap();
        assert_eq!(nonce.as_bytes().len(), 8);
        assert!(nonce.as_bytes()[0] & 0x80 == 0 && nonce.as_bytes()[0] != 0);
        assert!(req.cert_req);
        assert!(req.req_policy.is_none() && req.extensions.is_none());
    }

    fn answer(status: PkiStatus, token: bool) -> Vec<u8> {
        use x509_cert::der::Any;
        TimeStampResp {
            status: cmpv2::status::PkiStatusInfo {
                status,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: token.then(|| x509_tsp::TimeStampToken {
                content_type: ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2"),
                content: Any::null(),
            }),
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn timestamp_answers_must_be_granted_with_a_token() {
        let granted = answer(PkiStatus::Accepted, true);
        assert!(check_timestamp_response(&granted).is_ok());
        assert!(check_timestamp_response(&answer(PkiStatus::GrantedWithMods, true)).is_ok());
        let refused = answer(PkiStatus::Rejection, false);
        assert!(check_timestamp_response(&refused)
            .unwrap_err()
            .contains("not granted (PKIStatus 2)"));
        let no_token = answer(PkiStatus::Accepted, false);
        assert!(check_timestamp_response(&no_token)
            .unwrap_err()
            .contains("no timeStampToken"));
        assert!(check_timestamp_response(b"<html>").is_err());
        let mut trailing = granted.clone();
        trailing.push(0);
        assert!(check_timestamp_response(&trailing).is_err());
        for n in 0..granted.len() {
            assert!(check_timestamp_response(&granted[..n]).is_err());
        }
    }
}
