//! slsa-github-generator's legacy `.intoto.jsonl`: a bare DSSE envelope
//! whose one signature carries the signer's Fulcio certificate (`cert`, PEM)
//! beside `sig`, with its transparency log entry only in Rekor. The file
//! alone cannot be verified; with a Rekor URL its entry is looked up the way
//! slsa-verifier looks it up (`verifiers/internal/gha/rekor.go`: the search
//! index by hash, then each entry by UUID), and each entry that logged this
//! signature becomes a Sigstore bundle v0.1 (the certificate, the entry with
//! its SET and inclusion proof, the envelope) that
//! [`crate::BundleVerifier`] verifies like any other: nothing here decides
//! trust.
//!
//! The search key is the SHA-256 of the envelope's payload, which Rekor
//! indexes for `dsse` entries. Entries of other kinds are skipped, saying
//! why: Rekor `intoto` 0.0.1 entries (what slsa-github-generator logged for
//! years) cannot be checked against the envelope by the verifier toto builds
//! on (it checks `dsse` 0.0.1 and `intoto` 0.0.2).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::document::{known_object, Document, Entry, Format};
use crate::error::{malformed, service_error, Error};
use crate::http::Http;

/// Most entries looked at for one envelope.
pub const MAX_CANDIDATES: usize = 16;

/// A legacy envelope, read: what the bundle needs from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyEnvelope {
    payload_type: String,
    payload: Vec<u8>,
    sig: Vec<u8>,
    keyid: Option<String>,
    cert_der: Vec<u8>,
}

impl LegacyEnvelope {
    /// The SHA-256 of the payload: the key it is looked up by.
    pub fn payload_sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.payload).into()
    }
}

const WHAT: &str = "legacy DSSE envelope (.intoto.jsonl)";

/// Whether `bytes` look like a legacy envelope: one JSON object (a JSON
/// Lines file of one line) with `payloadType` and `signatures`. Reading it
/// may still fail ([`read`]).
pub fn is_legacy_envelope(bytes: &[u8]) -> bool {
    dsse::cjson::parse_strict(bytes.trim_ascii())
        .ok()
        .and_then(|v| v.as_object().cloned())
        .is_some_and(|o| o.contains_key("payloadType") && o.contains_key("signatures"))
}

fn b64_field(object: &Map<String, Value>, key: &str) -> Result<Vec<u8>, Error> {
    let text = object
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(WHAT, format!("{key} is not a string")))?;
    B64.decode(text)
        .map_err(|e| malformed(WHAT, format!("{key} is not base64: {e}")))
}

/// Reads a legacy envelope: one DSSE envelope (the file's one line) with
/// exactly one signature, which carries a certificate.
pub fn read(bytes: &[u8]) -> Result<LegacyEnvelope, Error> {
    crate::error::at_most(WHAT, bytes.len(), "bytes", crate::MAX_BUNDLE_BYTES)?;
    let value = dsse::cjson::parse_strict(bytes.trim_ascii())
        .map_err(|e| malformed(WHAT, format!("not one JSON object: {e}")))?;
    let object = known_object(
        WHAT,
        &value,
        "the envelope",
        &["payloadType", "payload", "signatures"],
    )?;
    let payload_type = object
        .get("payloadType")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(WHAT, "payloadType is not a string"))?
        .to_owned();
    let payload = b64_field(object, "payload")?;
    let [signature] = object
        .get("signatures")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    else {
        return Err(malformed(
            WHAT,
            "expected exactly one signature (a Sigstore bundle carries one)",
        ));
    };
    let signature = known_object(WHAT, signature, "the signature", &["keyid", "sig", "cert"])?;
    let sig = b64_field(signature, "sig")?;
    let keyid = match signature.get("keyid") {
        None => None,
        Some(Value::String(k)) if k.is_empty() => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(malformed(WHAT, "keyid is not a string")),
    };
    let pem = signature
        .get("cert")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            malformed(
                WHAT,
                "the signature carries no certificate (cert): this envelope was signed with a \
                 key; verify it with that key",
            )
        })?;
    let (label, cert_der) = x509_cert::der::pem::decode_vec(pem.trim().as_bytes())
        .map_err(|e| malformed(WHAT, format!("cert is not one PEM certificate: {e}")))?;
    if label != "CERTIFICATE" {
        return Err(malformed(
            WHAT,
            format!("cert is a PEM {label:?}, not a CERTIFICATE"),
        ));
    }
    Ok(LegacyEnvelope {
        payload_type,
        payload,
        sig,
        keyid,
        cert_der,
    })
}

/// A UUID or entry ID as Rekor answers them: 64 or 80 hex digits.
fn is_entry_id(text: &str) -> bool {
    matches!(text.len(), 64 | 80) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The Rekor entries that logged `envelope`'s signature, each as a bundle
/// v0.1 ([`Document`] of format [`Format::LegacyEnvelope`], one entry per
/// Rekor entry, named by its UUID). Found none: [`Error::Verification`],
/// saying what was searched and what was skipped.
pub fn lookup(rekor_url: &str, envelope: &LegacyEnvelope) -> Result<Document, Error> {
    let http = Http::new()?;
    let rekor = rekor_url.trim_end_matches('/');
    let search_url = format!("{rekor}/api/v1/index/retrieve");
    let key = format!("sha256:{}", hex::encode(envelope.payload_sha256()));
    let answer = http.post("Rekor", &search_url, None, &json!({ "hash": key }))?;
    let uuids = answer
        .as_array()
        .ok_or_else(|| service_error("Rekor", &search_url, "the answer is not an array"))?;
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for uuid in uuids.iter().take(MAX_CANDIDATES) {
        let uuid = uuid
            .as_str()
            .filter(|u| is_entry_id(u))
            .ok_or_else(|| service_error("Rekor", &search_url, "an answer is not an entry UUID"))?;
        let url = format!("{rekor}/api/v1/log/entries/{uuid}");
        let answer = http.get("Rekor", &url, None)?;
        let entry = answer
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.values().next())
            .ok_or_else(|| service_error("Rekor", &url, "the answer holds no single entry"))?;
        match bundle(envelope, entry) {
            Ok(bundle) => entries.push(Entry {
                place: format!("Rekor entry {uuid}"),
                claimed_predicate_type: None,
                bundle,
            }),
            Err(why) => skipped.push(format!("{uuid}: {why}")),
        }
    }
    if entries.is_empty() {
        let found = match (uuids.len(), skipped.is_empty()) {
            (0, _) => "no entry".to_owned(),
            (_, true) => format!("{} entries", uuids.len()),
            (_, false) => format!("only entries of no use ({})", skipped.join("; ")),
        };
        return Err(Error::Verification {
            reason: format!(
                "Rekor ({rekor}) has {found} for this envelope (searched by its payload's \
                 {key}): its signature was never logged there"
            ),
        });
    }
    Ok(Document {
        format: Format::LegacyEnvelope,
        entries,
    })
}

/// The bundle v0.1 of `envelope` with the Rekor v1 `entry`, when that entry
/// logged this signature (`Err` says why not).
fn bundle(envelope: &LegacyEnvelope, entry: &Value) -> Result<Vec<u8>, String> {
    let body_b64 = entry.get("body").and_then(Value::as_str).ok_or("no body")?;
    let body: Value = B64
        .decode(body_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("the body is not base64 JSON")?;
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
    let version = body
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if (kind, version) != ("dsse", "0.0.1") {
        return Err(format!(
            "a Rekor {} {} entry, expected dsse 0.0.1 (intoto 0.0.1 entries cannot be checked \
             against the envelope)",
            crate::untrusted_text(kind),
            crate::untrusted_text(version)
        ));
    }
    let sig_b64 = B64.encode(&envelope.sig);
    let logged = body
        .pointer("/spec/signatures")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|s| s.get("signature").and_then(Value::as_str) == Some(sig_b64.as_str()))
        });
    if !logged {
        return Err("it logged another signature".into());
    }
    let int = |key: &str| {
        entry
            .get(key)
            .and_then(Value::as_i64)
            .ok_or(format!("no {key}"))
    };
    let log_id = entry
        .get("logID")
        .and_then(Value::as_str)
        .and_then(|h| hex::decode(h).ok())
        .ok_or("logID is not hex")?;
    let verification = entry.get("verification").ok_or("no verification")?;
    let set = verification
        .get("signedEntryTimestamp")
        .and_then(Value::as_str)
        .ok_or("no signedEntryTimestamp")?;
    let mut tlog_entry = json!({
        "logIndex": int("logIndex")?.to_string(),
        "logId": {"keyId": B64.encode(log_id)},
        "kindVersion": {"kind": "dsse", "version": "0.0.1"},
        "integratedTime": int("integratedTime")?.to_string(),
        "inclusionPromise": {"signedEntryTimestamp": set},
        "canonicalizedBody": body_b64,
    });
    if let Some(proof) = verification.get("inclusionProof") {
        let hex_b64 = |h: &Value| {
            h.as_str()
                .and_then(|h| hex::decode(h).ok())
                .map(|b| B64.encode(b))
                .ok_or("an inclusion proof hash is not hex")
        };
        let hashes = proof
            .get("hashes")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(hex_b64)
            .collect::<Result<Vec<_>, _>>()?;
        let number = |key: &str| {
            proof
                .get(key)
                .and_then(Value::as_i64)
                .map(|n| n.to_string())
                .ok_or(format!("inclusionProof has no {key}"))
        };
        let checkpoint = proof
            .get("checkpoint")
            .and_then(Value::as_str)
            .ok_or("inclusionProof has no checkpoint")?;
        let proof = json!({
            "logIndex": number("logIndex")?,
            "rootHash": hex_b64(proof.get("rootHash").unwrap_or(&Value::Null))?,
            "treeSize": number("treeSize")?,
            "hashes": hashes,
            "checkpoint": {"envelope": checkpoint},
        });
        if let Some(entry) = tlog_entry.as_object_mut() {
            entry.insert("inclusionProof".into(), proof);
        }
    }
    let mut signature = Map::new();
    signature.insert("sig".into(), json!(sig_b64));
    if let Some(keyid) = &envelope.keyid {
        signature.insert("keyid".into(), json!(keyid));
    }
    let bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": {
            "x509CertificateChain": {"certificates": [{"rawBytes": B64.encode(&envelope.cert_der)}]},
            "tlogEntries": [tlog_entry],
        },
        "dsseEnvelope": {
            "payload": B64.encode(&envelope.payload),
            "payloadType": envelope.payload_type,
            "signatures": [signature],
        },
    });
    Ok(bundle.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_pem() -> String {
        x509_cert::der::pem::encode_string(
            "CERTIFICATE",
            x509_cert::der::pem::LineEnding::LF,
            &[0x30, 0x00],
        )
        .unwrap()
    }

    fn envelope(signature: Value) -> Vec<u8> {
        json!({
            "payloadType": "application/vnd.in-toto+json",
            "payload": B64.encode(b"{}"),
            "signatures": [signature],
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_legacy_envelope_needs_one_signature_with_a_certificate() {
        let good = envelope(json!({"keyid": "", "sig": "AQID", "cert": cert_pem()}));
        assert!(is_legacy_envelope(&good));
        let read = read(&[good.as_slice(), b"\n"].concat()).unwrap();
        assert_eq!(read.cert_der, [0x30, 0x00]);
        assert_eq!(read.keyid, None);
        let refused = |bytes: &[u8]| match super::read(bytes) {
            Err(Error::Malformed { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert!(refused(&envelope(json!({"sig": "AQID"}))).contains("signed with a key"));
        assert!(refused(&envelope(
            json!({"sig": "AQID", "cert": cert_pem(), "x": 1})
        ))
        .contains("unknown field"));
        let key = x509_cert::der::pem::encode_string(
            "PUBLIC KEY",
            x509_cert::der::pem::LineEnding::LF,
            &[0x30, 0x00],
        )
        .unwrap();
        assert!(refused(&envelope(json!({"sig": "AQID", "cert": key}))).contains("PUBLIC KEY"));
        let two = json!({"payloadType": "t", "payload": "", "signatures": [{}, {}]}).to_string();
        assert!(refused(two.as_bytes()).contains("exactly one signature"));
        assert!(!is_legacy_envelope(br#"{"mediaType":"x"}"#));
    }

    #[test]
    fn entries_of_other_kinds_or_signatures_are_skipped_saying_why() {
        let legacy = read(&envelope(json!({"sig": "AQID", "cert": cert_pem()}))).unwrap();
        let entry = |body: Value| {
            json!({
                "body": B64.encode(body.to_string()),
                "integratedTime": 1, "logIndex": 0, "logID": "00".repeat(32),
                "verification": {"signedEntryTimestamp": "AA=="},
            })
        };
        let intoto = entry(json!({"kind": "intoto", "apiVersion": "0.0.1", "spec": {}}));
        assert!(bundle(&legacy, &intoto)
            .unwrap_err()
            .contains("intoto 0.0.1"));
        let other = entry(json!({"kind": "dsse", "apiVersion": "0.0.1", "spec": {
            "signatures": [{"signature": "BAUG", "verifier": ""}],
        }}));
        assert!(bundle(&legacy, &other)
            .unwrap_err()
            .contains("another signature"));
        let ours = entry(json!({"kind": "dsse", "apiVersion": "0.0.1", "spec": {
            "signatures": [{"signature": "AQID", "verifier": ""}],
        }}));
        let made: Value = serde_json::from_slice(&bundle(&legacy, &ours).unwrap()).unwrap();
        assert_eq!(
            made["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]
                ["signedEntryTimestamp"],
            "AA=="
        );
        assert_eq!(made["dsseEnvelope"]["signatures"][0]["sig"], "AQID");
    }
}
