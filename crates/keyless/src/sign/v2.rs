//! Rekor v2 and RFC 3161 for the keyless signer.
//!
//! Rekor v2 (rekor-tiles) logs `hashedrekord` 0.0.2 entries and answers
//! with a `TransparencyLogEntry` whose inclusion proof ends in a signed
//! checkpoint; it gives no integrated time and no SET, so the signing time
//! comes from a timestamp authority: an RFC 3161 timestamp over the
//! signature bytes, carried in the bundle's
//! `verificationMaterial.timestampVerificationData.rfc3161Timestamps`.
//!
//! DSSE envelopes are logged as `hashedrekord` 0.0.2 over the SHA-256 of
//! their PAE with the envelope's one signature, as sigstore-python 4.5.1
//! does (rekor-v2-spec §6.1.4); sigstore-verify 0.15.1 and sigstore-python
//! accept exactly that for DSSE bundles, not `dsse` 0.0.2.
//!
//! What is checked here, before the whole bundle is verified against the
//! trusted root (chain, checkpoint signature, timestamp signature and
//! imprint): the TSA's answer is a granted `TimeStampResp` with a token;
//! the logged body is the entry sent; the inclusion proof leads from that
//! body to the checkpoint's root.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use cmpv2::status::PkiStatus;
use x509_cert::der::asn1::{Int, OctetString};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

use super::{service_error, Error};

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

/// The Rekor v2 `CreateEntryRequest` for a signature over a SHA-256 digest,
/// by the key of `cert_der` (ECDSA P-256).
pub(crate) fn hashedrekord_request(digest: &[u8], signature: &[u8], cert_der: &[u8]) -> Value {
    json!({"hashedRekordRequestV002": {
        "digest": B64.encode(digest),
        "signature": {
            "content": B64.encode(signature),
            "verifier": {
                "x509Certificate": {"rawBytes": B64.encode(cert_der)},
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            },
        },
    }})
}

fn node(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root an audit path leads to from leaf `index` of a tree of `size`
/// (RFC 9162 §2.1.3.2); `None` when the path has the wrong length.
pub(crate) fn root_from_path(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    path: &[[u8; 32]],
) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf;
    for p in path {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// Size and root hash of a checkpoint (signed note) body.
fn checkpoint_tree(envelope: &str) -> Option<(u64, [u8; 32])> {
    let mut lines = envelope.split('\n');
    let _origin = lines.next().filter(|o| !o.is_empty())?;
    let size = lines.next()?.parse().ok()?;
    let root = B64.decode(lines.next()?).ok()?.try_into().ok()?;
    Some((size, root))
}

/// A Rekor v2 entry read from the log's answer and checked.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The `TransparencyLogEntry` as it goes into the bundle.
    pub(crate) json: Value,
    /// Its log index.
    pub(crate) log_index: u64,
}

/// Checks Rekor v2's answer to `sent` (a `hashedRekordRequestV002`): kind
/// and version, the logged body is the entry sent, the inclusion proof leads
/// from that body to the checkpoint's root. Returns the entry for the bundle.
pub(crate) fn check_entry(answer: &Value, sent: &Value, url: &str) -> Result<Entry, Error> {
    let bad = |what: &str| {
        service_error(
            "Rekor",
            url,
            format!("the entry's {what} is missing or malformed"),
        )
    };
    let text = |pointer: &str| answer.pointer(pointer).and_then(Value::as_str);
    let number = |pointer: &str| text(pointer).and_then(|t| t.parse::<u64>().ok());
    let kind = (
        text("/kindVersion/kind").ok_or_else(|| bad("kindVersion"))?,
        text("/kindVersion/version").ok_or_else(|| bad("kindVersion"))?,
    );
    if kind != ("hashedrekord", "0.0.2") {
        return Err(service_error(
            "Rekor",
            url,
            format!(
                "logged a {} {} entry, not hashedrekord 0.0.2",
                kind.0, kind.1
            ),
        ));
    }
    let log_index = number("/logIndex").ok_or_else(|| bad("logIndex"))?;
    text("/logId/keyId")
        .and_then(|k| B64.decode(k).ok())
        .filter(|k| k.len() == 32)
        .ok_or_else(|| bad("logId"))?;
    let body_bytes = text("/canonicalizedBody")
        .and_then(|b| B64.decode(b).ok())
        .ok_or_else(|| bad("canonicalizedBody"))?;
    let body: Value = serde_json::from_slice(&body_bytes).map_err(|_| bad("canonicalizedBody"))?;
    let logged = body.pointer("/spec/hashedRekordV002");
    let want = sent.get("hashedRekordRequestV002");
    fn field<'v>(v: Option<&'v Value>, pointer: &str) -> Option<&'v str> {
        v.and_then(|v| v.pointer(pointer)).and_then(Value::as_str)
    }
    let same = body.get("kind").and_then(Value::as_str) == Some("hashedrekord")
        && body.get("apiVersion").and_then(Value::as_str) == Some("0.0.2")
        && field(logged, "/data/algorithm") == Some("SHA2_256")
        && field(logged, "/data/digest").is_some()
        && field(logged, "/data/digest") == field(want, "/digest")
        && field(logged, "/signature/content").is_some()
        && field(logged, "/signature/content") == field(want, "/signature/content")
        && field(logged, "/signature/verifier/x509Certificate/rawBytes")
            == field(want, "/signature/verifier/x509Certificate/rawBytes");
    if !same {
        return Err(Error::Verification {
            reason: format!("Rekor ({url}) logged a body that is not the entry sent"),
        });
    }
    let checkpoint = text("/inclusionProof/checkpoint/envelope")
        .ok_or_else(|| bad("inclusion proof checkpoint"))?;
    let (size, root) = checkpoint_tree(checkpoint).ok_or_else(|| bad("checkpoint"))?;
    let hashes = answer
        .pointer("/inclusionProof/hashes")
        .and_then(Value::as_array)
        .filter(|h| h.len() <= 64)
        .ok_or_else(|| bad("inclusion proof hashes"))?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|h| B64.decode(h).ok())
                .and_then(|h| <[u8; 32]>::try_from(h).ok())
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("inclusion proof hashes"))?;
    let leaf: [u8; 32] = {
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(&body_bytes);
        h.finalize().into()
    };
    if root_from_path(log_index, size, leaf, &hashes) != Some(root) {
        return Err(Error::Verification {
            reason: format!(
                "Rekor ({url}): the inclusion proof of entry {log_index} does not lead to the checkpoint's root (tree size {size})"
            ),
        });
    }
    // The bundle keeps the entry as logged, minus anything but the fields
    // a v0.3 bundle's TransparencyLogEntry has.
    let mut json = serde_json::Map::new();
    for key in [
        "logIndex",
        "logId",
        "kindVersion",
        "inclusionProof",
        "canonicalizedBody",
    ] {
        if let Some(v) = answer.get(key) {
            json.insert(key.into(), v.clone());
        }
    }
    Ok(Entry {
        json: Value::Object(json),
        log_index,
    })
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

    #[test]
    fn audit_paths_are_checked_against_the_root() {
        let leaves: Vec<[u8; 32]> = (0u8..7).map(|i| Sha256::digest([i]).into()).collect();
        // Tree of 3: ((0,1),2).
        let n01 = node(&leaves[0], &leaves[1]);
        let root3 = node(&n01, &leaves[2]);
        assert_eq!(root_from_path(2, 3, leaves[2], &[n01]), Some(root3));
        assert_eq!(
            root_from_path(0, 3, leaves[0], &[leaves[1], leaves[2]]),
            Some(root3)
        );
        assert_ne!(
            root_from_path(0, 3, leaves[0], &[leaves[2], leaves[1]]),
            Some(root3)
        );
        // Wrong lengths and indexes are refused, not guessed at.
        assert_eq!(root_from_path(0, 1, leaves[0], &[]), Some(leaves[0]));
        assert_eq!(root_from_path(0, 1, leaves[0], &[leaves[1]]), None);
        assert_eq!(root_from_path(2, 3, leaves[2], &[]), None);
        assert_eq!(root_from_path(3, 3, leaves[2], &[n01]), None);
    }
}
