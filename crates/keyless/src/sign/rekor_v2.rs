//! Rekor v2 for the keyless signer: the entry sent and the answer checked.
//!
//! Rekor v2 (rekor-tiles) logs `hashedrekord` 0.0.2 entries and answers
//! with a `TransparencyLogEntry` whose inclusion proof ends in a signed
//! checkpoint; it gives no integrated time and no SET, so the signing time
//! comes from a timestamp authority ([`super::tsa`]): an RFC 3161
//! timestamp over the signature bytes, carried in the bundle's
//! `verificationMaterial.timestampVerificationData.rfc3161Timestamps`.
//!
//! DSSE envelopes are logged as `hashedrekord` 0.0.2 over the SHA-256 of
//! their PAE with the envelope's one signature, as sigstore-python 4.5.1
//! does (rekor-v2-spec §6.1.4); sigstore-verify 0.15.1 and sigstore-python
//! accept exactly that for DSSE bundles, not `dsse` 0.0.2.
//!
//! What is checked here, before the whole bundle is verified against the
//! trusted root (chain, checkpoint signature, timestamp signature and
//! imprint): the logged body is the entry sent; the inclusion proof leads
//! from that body to the checkpoint's root (by `sigstore-merkle` and the
//! checkpoint reader of `sigstore-verify`, as the bundle's verifier does).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use sigstore_verify::crypto::Checkpoint;
use sigstore_verify::types::Sha256Hash;

use crate::error::{service_error, Error};
use crate::http::Http;

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
    // The checkpoint's signature is verified with the bundle; here, its
    // tree, read by the reader `sigstore-verify` uses.
    let checkpoint = Checkpoint::from_text(checkpoint).map_err(|_| bad("checkpoint"))?;
    let size = checkpoint.tree_size();
    let hashes = answer
        .pointer("/inclusionProof/hashes")
        .and_then(Value::as_array)
        .filter(|h| h.len() <= 64)
        .ok_or_else(|| bad("inclusion proof hashes"))?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|h| B64.decode(h).ok())
                .and_then(|h| Sha256Hash::try_from(h.as_slice()).ok())
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("inclusion proof hashes"))?;
    let leaf = sigstore_merkle::hash_leaf(&body_bytes);
    if sigstore_merkle::verify_inclusion_proof(
        &leaf,
        log_index,
        size,
        &hashes,
        checkpoint.root_hash(),
    )
    .is_err()
    {
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

/// Logs a `hashedrekord` 0.0.2 entry for `signature` over `digest`
/// (SHA-256) by the key of `cert_der` in the Rekor v2 at `rekor`, and checks
/// the answer ([`check_entry`]).
pub(super) fn log(
    http: &Http,
    rekor: &str,
    digest: &[u8],
    signature: &[u8],
    cert_der: &[u8],
) -> Result<Entry, Error> {
    let url = format!("{rekor}/api/v2/log/entries");
    let request = hashedrekord_request(digest, signature, cert_der);
    let answer = http.post("Rekor", &url, None, &request)?;
    check_entry(&answer, &request, &url)
}
