//! The testbed's Rekor: v1 (`/api/v1/log…`) and, in Rekor v2 mode, v2
//! (`POST /api/v2/log/entries`): proposed entries are checked (their
//! signatures included), logged as the canonical body Rekor stores, and
//! answered with their inclusion proof, checkpoint and SET.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use der::Decode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::server::{b64_field, json_body, lock, str_field, Answer, Shared};
use crate::{http, now, pki, Error, Faults};

impl Shared {
    pub(crate) fn log_entry(&self, request: &http::Request, faults: &Faults) -> Answer {
        let proposed = json_body(request)?;
        let body = canonical_body(&proposed)?;
        let mut log = lock(&self.log);
        let index = log.append(body, now())?;
        let (uuid, mut entry) = log
            .entry_json(index)
            .ok_or_else(|| Error::Internal("entry vanished".into()))?;
        drop(log);
        if faults.rekor_bad_proof {
            if let Some(root) = entry.pointer_mut("/verification/inclusionProof/rootHash") {
                *root = json!(hex::encode([0x42u8; 32]));
            }
        }
        if faults.rekor_other_body {
            if let Some(body) = entry.get_mut("body") {
                let other = json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {}});
                *body = json!(B64.encode(other.to_string()));
            }
        }
        Ok(http::Response::json(201, &json!({ uuid: entry })))
    }

    /// `POST /api/v2/log/entries`: checks the request (its signature
    /// included), logs the canonical body, answers the `TransparencyLogEntry`.
    pub(crate) fn log_entry_v2(&self, request: &http::Request, faults: &Faults) -> Answer {
        let (_, log) = self
            .v2
            .as_ref()
            .ok_or_else(|| Error::Internal("not in Rekor v2 mode".into()))?;
        let proposed = json_body(request)?;
        let (kind, body) = canonical_body_v2(&proposed)?;
        let mut log = lock(log);
        let index = log.append(body, now())?;
        let mut entry = log
            .entry_v2_json(index, kind)
            .ok_or_else(|| Error::Internal("entry vanished".into()))?;
        drop(log);
        if faults.rekor_bad_proof {
            // Spoil the audit path (a one-entry tree has none: add a hash),
            // so it no longer leads to the checkpoint's root.
            if let Some(hashes) = entry
                .pointer_mut("/inclusionProof/hashes")
                .and_then(Value::as_array_mut)
            {
                let bogus = json!(B64.encode([0x42u8; 32]));
                match hashes.first_mut() {
                    Some(first) => *first = bogus,
                    None => hashes.push(bogus),
                }
            }
        }
        if faults.rekor_other_body {
            if let Some(body) = entry.get_mut("canonicalizedBody") {
                let other = json!({"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": {}});
                *body = json!(B64.encode(other.to_string()));
            }
        }
        Ok(http::Response::json(201, &entry))
    }

    pub(crate) fn get_entry(&self, request: &http::Request) -> Answer {
        let index: usize = request
            .param("logIndex")
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| Error::BadRequest("logIndex query parameter missing".into()))?;
        let log = lock(&self.log);
        match log.entry_json(index) {
            Some((uuid, entry)) => Ok(http::Response::json(200, &json!({ uuid: entry }))),
            None => Ok(http::Response::error(404, "no entry at that index")),
        }
    }

    /// `POST /api/v1/index/retrieve` with `{"hash": "sha256:<hex>"}`: the
    /// UUIDs of the entries indexed under that hash ([`index_keys`]), as
    /// Rekor's search index answers (other searches are not supported).
    pub(crate) fn search_index(&self, request: &http::Request) -> Answer {
        let query = json_body(request)?;
        let hash = query.get("hash").and_then(Value::as_str).ok_or_else(|| {
            Error::BadRequest(
                "only searches by hash ({\"hash\": \"sha256:<hex>\"}) are supported".into(),
            )
        })?;
        let key = hash.to_ascii_lowercase();
        let log = lock(&self.log);
        let uuids: Vec<String> = log
            .search(&key)
            .into_iter()
            .filter_map(|i| log.entry_json(i).map(|(uuid, _)| uuid))
            .collect();
        Ok(http::Response::json(200, &json!(uuids)))
    }

    /// `GET /api/v1/log/entries/{uuid}`.
    pub(crate) fn get_entry_by_uuid(&self, uuid: &str) -> Answer {
        let log = lock(&self.log);
        match log.index_of_uuid(uuid).and_then(|i| log.entry_json(i)) {
            Some((uuid, entry)) => Ok(http::Response::json(200, &json!({ uuid: entry }))),
            None => Ok(http::Response::error(404, "no entry with that UUID")),
        }
    }

    /// `POST /api/v1/log/entries/retrieve` with `entryUUIDs`, `logIndexes`
    /// or proposed `entries` (at most [`MAX_RETRIEVE`] in all): the entries
    /// found, each as `{uuid: entry}`, in request order.
    pub(crate) fn retrieve_entries(&self, request: &http::Request) -> Answer {
        let query = json_body(request)?;
        let list = |name: &str| {
            query
                .get(name)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let (uuids, indexes, proposed) = (list("entryUUIDs"), list("logIndexes"), list("entries"));
        if uuids.len() + indexes.len() + proposed.len() > MAX_RETRIEVE {
            return Err(Error::BadRequest(format!(
                "at most {MAX_RETRIEVE} entries may be retrieved at once"
            )));
        }
        let log = lock(&self.log);
        let mut found = Vec::new();
        for uuid in &uuids {
            let uuid = uuid
                .as_str()
                .ok_or_else(|| Error::BadRequest("entryUUIDs holds a non-string".into()))?;
            found.extend(log.index_of_uuid(uuid));
        }
        for index in &indexes {
            let index = index
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .ok_or_else(|| Error::BadRequest("logIndexes holds a non-index".into()))?;
            if index < log.size() {
                found.push(index);
            }
        }
        for entry in &proposed {
            let body = canonical_body(entry)?;
            found.extend((0..log.size()).find(|&i| log.entry(i).is_some_and(|e| e.body == body)));
        }
        let entries: Vec<Value> = found
            .into_iter()
            .filter_map(|i| log.entry_json(i))
            .map(|(uuid, entry)| json!({ uuid: entry }))
            .collect();
        Ok(http::Response::json(200, &json!(entries)))
    }

    pub(crate) fn consistency(&self, request: &http::Request) -> Answer {
        let size = |name: &str| {
            request
                .param(name)
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| Error::BadRequest(format!("{name} query parameter missing")))
        };
        let (first, last) = (size("firstSize")?, size("lastSize")?);
        let log = lock(&self.log);
        let hashes = log.consistency(first, last).ok_or_else(|| {
            Error::BadRequest(format!("no consistency proof from {first} to {last}"))
        })?;
        Ok(http::Response::json(
            200,
            &json!({
                "rootHash": hex::encode(log.root_at(last)),
                "hashes": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
            }),
        ))
    }
}

/// Most entries `POST /api/v1/log/entries/retrieve` returns at once
/// (Rekor's limit).
pub const MAX_RETRIEVE: usize = 10;

/// The keys Rekor's search index files an entry under, from its canonical
/// body: `sha256:<hex>` of the artifact (`hashedrekord`), of the payload
/// and of the envelope (`dsse`). Rekor also indexes signers' keys and
/// identities and in-toto subjects; the testbed does not.
pub fn index_keys(body: &[u8]) -> Vec<String> {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let pointers: &[&str] = match body.get("kind").and_then(Value::as_str) {
        Some("hashedrekord") => &["/spec/data/hash"],
        Some("dsse") => &["/spec/payloadHash", "/spec/envelopeHash"],
        _ => &[],
    };
    pointers
        .iter()
        .filter_map(|p| {
            let hash = body.pointer(p)?;
            let algorithm = hash.get("algorithm")?.as_str()?;
            let value = hash.get("value")?.as_str()?;
            Some(format!("{algorithm}:{value}").to_ascii_lowercase())
        })
        .collect()
}

/// DSSE's pre-authentication encoding (PAE) of a payload.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut pae = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    pae.extend_from_slice(payload);
    pae
}

/// A base64 DER ECDSA signature, read from the request's field `what`.
fn der_signature(b64: &str, what: &str) -> Result<p256::ecdsa::DerSignature, Error> {
    B64.decode(b64)
        .ok()
        .and_then(|b| p256::ecdsa::DerSignature::from_bytes(&b).ok())
        .ok_or_else(|| Error::BadRequest(format!("{what} is not a DER ECDSA signature")))
}

/// Checks a hashedrekord signature over its (SHA-256) digest.
fn verify_over_digest(
    key: &p256::ecdsa::VerifyingKey,
    digest: &[u8],
    sig: &p256::ecdsa::DerSignature,
) -> Result<(), Error> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    key.verify_prehash(digest, sig)
        .map_err(|_| Error::BadRequest("the signature does not verify over the digest".into()))
}

/// The body Rekor stores for a `dsse` 0.0.1 entry: the hashes of the
/// envelope (its JSON text) and of its payload, and the logged
/// `signatures` (`{"signature", "verifier"}` objects), canonical JSON.
pub fn dsse_body_v001(envelope: &str, payload: &[u8], signatures: Vec<Value>) -> Vec<u8> {
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope.as_bytes()))},
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(payload))},
            "signatures": signatures,
        },
    })
    .to_string()
    .into_bytes()
}

/// Checks a proposed Rekor entry (`hashedrekord` or `dsse` 0.0.1, its
/// signatures included) and returns the body Rekor stores: canonical JSON,
/// sorted keys, no whitespace.
pub fn canonical_body(proposed: &Value) -> Result<Vec<u8>, Error> {
    use p256::ecdsa::signature::Verifier;
    let kind = str_field(proposed, "/kind")?;
    let version = str_field(proposed, "/apiVersion")?;
    match (kind, version) {
        ("hashedrekord", "0.0.1") => {
            let algorithm = str_field(proposed, "/spec/data/hash/algorithm")?;
            let digest_hex = str_field(proposed, "/spec/data/hash/value")?;
            let digest = hex::decode(digest_hex)
                .ok()
                .filter(|d| d.len() == 32 && algorithm == "sha256")
                .ok_or_else(|| {
                    Error::BadRequest("spec.data.hash must be sha256 with 64 hex digits".into())
                })?;
            let sig_b64 = str_field(proposed, "/spec/signature/content")?;
            let pem_b64 = str_field(proposed, "/spec/signature/publicKey/content")?;
            let sig = der_signature(sig_b64, "spec.signature.content")?;
            let pem = B64.decode(pem_b64).map_err(|_| {
                Error::BadRequest("spec.signature.publicKey.content is not base64".into())
            })?;
            let key = pki::verifying_key(&pki::spki_from_pem(&pem)?)?;
            verify_over_digest(&key, &digest, &sig)?;
            let body = json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": "sha256", "value": digest_hex.to_ascii_lowercase()}},
                    "signature": {"content": sig_b64, "publicKey": {"content": pem_b64}},
                },
            });
            Ok(body.to_string().into_bytes())
        }
        ("dsse", "0.0.1") => {
            let envelope_text = str_field(proposed, "/spec/proposedContent/envelope")?;
            let envelope: Value = serde_json::from_str(envelope_text)
                .map_err(|e| Error::BadRequest(format!("envelope is not JSON: {e}")))?;
            let payload = b64_field(
                envelope.get("payload").unwrap_or(&Value::Null),
                "envelope payload",
            )?;
            let payload_type = str_field(&envelope, "/payloadType")?;
            let verifiers = proposed
                .pointer("/spec/proposedContent/verifiers")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    Error::BadRequest("spec.proposedContent.verifiers missing".into())
                })?;
            let mut keys = Vec::new();
            for v in verifiers {
                let pem_b64 = v
                    .as_str()
                    .ok_or_else(|| Error::BadRequest("verifier is not a string".into()))?;
                let pem = B64
                    .decode(pem_b64)
                    .map_err(|_| Error::BadRequest("verifier is not base64".into()))?;
                keys.push((
                    pem_b64.to_owned(),
                    pki::verifying_key(&pki::spki_from_pem(&pem)?)?,
                ));
            }
            let pae = pae(payload_type, &payload);
            let mut signatures = Vec::new();
            for s in envelope
                .get("signatures")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let sig_b64 = s.get("sig").and_then(Value::as_str).unwrap_or_default();
                let sig = der_signature(sig_b64, "envelope signature")?;
                let verifier = keys
                    .iter()
                    .find(|(_, k)| k.verify(&pae, &sig).is_ok())
                    .ok_or_else(|| {
                        Error::BadRequest("an envelope signature verifies with no verifier".into())
                    })?;
                signatures.push(json!({"signature": sig_b64, "verifier": verifier.0}));
            }
            if signatures.is_empty() {
                return Err(Error::BadRequest("the envelope has no signatures".into()));
            }
            Ok(dsse_body_v001(envelope_text, &payload, signatures))
        }
        _ => Err(Error::BadRequest(format!(
            "entries of kind {kind} {version} are not supported (hashedrekord 0.0.1, dsse 0.0.1)"
        ))),
    }
}

/// Largest Rekor v2 signature or certificate accepted, base64 decoded.
const MAX_V2_FIELD_BYTES: usize = 16 * 1024;

fn v2_b64(v: &Value, pointer: &str) -> Result<Vec<u8>, Error> {
    let text = str_field(v, pointer)?;
    if text.len() > MAX_V2_FIELD_BYTES * 4 / 3 + 4 {
        return Err(Error::BadRequest(format!("{pointer} is too long")));
    }
    B64.decode(text)
        .map_err(|_| Error::BadRequest(format!("{pointer} is not base64")))
}

/// A Rekor v2 verifier (`x509Certificate` + `keyDetails`) read from a
/// request: the certificate's P-256 key, and the verifier as logged.
fn v2_verifier(verifier: &Value) -> Result<(p256::ecdsa::VerifyingKey, Value), Error> {
    let details = str_field(verifier, "/keyDetails")?;
    if details != "PKIX_ECDSA_P256_SHA_256" {
        return Err(Error::BadRequest(format!(
            "keyDetails {details} is not supported (PKIX_ECDSA_P256_SHA_256)"
        )));
    }
    if verifier.get("publicKey").is_some() {
        return Err(Error::BadRequest(
            "public-key verifiers are not supported; send x509Certificate".into(),
        ));
    }
    let cert_der = v2_b64(verifier, "/x509Certificate/rawBytes")?;
    let cert = x509_cert::Certificate::from_der(&cert_der).map_err(|e| {
        Error::BadRequest(format!(
            "verifier.x509Certificate is not a certificate: {e}"
        ))
    })?;
    let key = pki::verifying_key(&cert.tbs_certificate.subject_public_key_info)?;
    Ok((
        key,
        json!({
            "keyDetails": details,
            "x509Certificate": {"rawBytes": B64.encode(&cert_der)},
        }),
    ))
}

/// Checks a Rekor v2 `CreateEntryRequest` (`hashedRekordRequestV002` or
/// `dsseRequestV002`, signatures included) and returns the entry kind and
/// the body rekor-tiles logs: `apiVersion` 0.0.2, the spec under
/// `hashedRekordV002` / `dsseV002`, canonical JSON (RFC 8785: sorted keys,
/// no whitespace; every value here is an ASCII string).
pub fn canonical_body_v2(proposed: &Value) -> Result<(&'static str, Vec<u8>), Error> {
    use p256::ecdsa::signature::Verifier;
    let object = proposed
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| {
            Error::BadRequest(
                "expected exactly one of hashedRekordRequestV002, dsseRequestV002".into(),
            )
        })?;
    if let Some(request) = object.get("hashedRekordRequestV002") {
        let digest = v2_b64(request, "/digest")?;
        if digest.len() != 32 {
            return Err(Error::BadRequest(
                "digest must be a SHA-256 digest (32 bytes)".into(),
            ));
        }
        let content = v2_b64(request, "/signature/content")?;
        let sig = p256::ecdsa::DerSignature::from_bytes(&content).map_err(|_| {
            Error::BadRequest("signature.content is not a DER ECDSA signature".into())
        })?;
        let verifier = request
            .pointer("/signature/verifier")
            .ok_or_else(|| Error::BadRequest("/signature/verifier missing".into()))?;
        let (key, verifier) = v2_verifier(verifier)?;
        verify_over_digest(&key, &digest, &sig)?;
        let body = json!({
            "apiVersion": "0.0.2",
            "kind": "hashedrekord",
            "spec": {"hashedRekordV002": {
                "data": {"algorithm": "SHA2_256", "digest": B64.encode(&digest)},
                "signature": {"content": B64.encode(&content), "verifier": verifier},
            }},
        });
        return Ok(("hashedrekord", body.to_string().into_bytes()));
    }
    if let Some(request) = object.get("dsseRequestV002") {
        let envelope = request
            .get("envelope")
            .ok_or_else(|| Error::BadRequest("/envelope missing".into()))?;
        let payload = v2_b64(envelope, "/payload")?;
        let payload_type = str_field(envelope, "/payloadType")?;
        let verifiers = request
            .get("verifiers")
            .and_then(Value::as_array)
            .filter(|v| !v.is_empty() && v.len() <= 8)
            .ok_or_else(|| Error::BadRequest("verifiers must list 1 to 8 verifiers".into()))?
            .iter()
            .map(v2_verifier)
            .collect::<Result<Vec<_>, _>>()?;
        let pae = pae(payload_type, &payload);
        let signatures = envelope
            .get("signatures")
            .and_then(Value::as_array)
            .filter(|s| !s.is_empty() && s.len() <= 8)
            .ok_or_else(|| Error::BadRequest("the envelope must have 1 to 8 signatures".into()))?;
        let mut logged = Vec::new();
        for s in signatures {
            let content = v2_b64(s, "/sig")?;
            let sig = p256::ecdsa::DerSignature::from_bytes(&content).map_err(|_| {
                Error::BadRequest("envelope signature is not a DER ECDSA signature".into())
            })?;
            let (_, verifier) = verifiers
                .iter()
                .find(|(k, _)| k.verify(&pae, &sig).is_ok())
                .ok_or_else(|| {
                    Error::BadRequest("an envelope signature verifies with no verifier".into())
                })?;
            logged.push(json!({"content": B64.encode(&content), "verifier": verifier}));
        }
        let body = json!({
            "apiVersion": "0.0.2",
            "kind": "dsse",
            "spec": {"dsseV002": {
                "payloadHash": {"algorithm": "SHA2_256", "digest": B64.encode(Sha256::digest(&payload))},
                "signatures": logged,
            }},
        });
        return Ok(("dsse", body.to_string().into_bytes()));
    }
    Err(Error::BadRequest(
        "expected hashedRekordRequestV002 or dsseRequestV002".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::Authority;
    use crate::tlog;
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::SigningKey;

    /// A certificate for `key` (a self-signed CA certificate will do: the
    /// log only reads the key).
    fn cert_for(key: &SigningKey) -> Vec<u8> {
        Authority::new(key.clone(), "signer", None, 0, 2_000_000_000)
            .unwrap()
            .cert_der()
            .to_vec()
    }

    fn hashedrekord(digest: &[u8], sig: &[u8], cert: &[u8]) -> Value {
        json!({"hashedRekordRequestV002": {
            "digest": B64.encode(digest),
            "signature": {"content": B64.encode(sig), "verifier": {
                "x509Certificate": {"rawBytes": B64.encode(cert)},
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            }},
        }})
    }

    #[test]
    fn entries_are_indexed_by_artifact_payload_and_envelope_hash() {
        let digest = "ab".repeat(32);
        let hashedrekord = json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest}},
        }});
        assert_eq!(
            index_keys(hashedrekord.to_string().as_bytes()),
            [format!("sha256:{digest}")]
        );
        let body = dsse_body_v001("{\"envelope\":1}", b"payload", Vec::new());
        assert_eq!(
            index_keys(&body),
            [
                format!("sha256:{}", hex::encode(Sha256::digest(b"payload"))),
                format!(
                    "sha256:{}",
                    hex::encode(Sha256::digest(b"{\"envelope\":1}"))
                ),
            ]
        );
        assert!(index_keys(b"not json").is_empty());
        assert!(index_keys(br#"{"kind":"intoto"}"#).is_empty());

        let mut log =
            tlog::Log::open(SigningKey::from_slice(&[9u8; 32]).unwrap(), 7, None).unwrap();
        log.append(hashedrekord.to_string().into_bytes(), 1)
            .unwrap();
        log.append(body.clone(), 2).unwrap();
        log.append(body, 3).unwrap();
        let payload_key = format!("sha256:{}", hex::encode(Sha256::digest(b"payload")));
        assert_eq!(log.search(&payload_key), [1, 2]);
        assert_eq!(log.search(&format!("sha256:{digest}")), [0]);
        assert!(log.search("sha256:00").is_empty());
        let (uuid, _) = log.entry_json(1).unwrap();
        assert_eq!(log.index_of_uuid(&uuid), Some(1));
        assert_eq!(
            log.index_of_uuid(&format!("{:016x}{uuid}", 7)),
            Some(1),
            "entry ID"
        );
        assert_eq!(log.index_of_uuid(&uuid[1..]), None);
        assert_eq!(log.index_of_uuid(&"00".repeat(32)), None);
    }

    #[test]
    fn v2_hashedrekord_requests_are_checked_and_logged_canonically() {
        let key = SigningKey::from_slice(&[5u8; 32]).unwrap();
        let cert = cert_for(&key);
        let digest = Sha256::digest(b"artifact");
        let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
        let sig = sig.to_der();
        let (kind, body) =
            canonical_body_v2(&hashedrekord(&digest, sig.as_bytes(), &cert)).unwrap();
        assert_eq!(kind, "hashedrekord");
        let text = String::from_utf8(body).unwrap();
        let expected = format!(
            r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"data":{{"algorithm":"SHA2_256","digest":"{}"}},"signature":{{"content":"{}","verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","x509Certificate":{{"rawBytes":"{}"}}}}}}}}}}}}"#,
            B64.encode(digest),
            B64.encode(sig.as_bytes()),
            B64.encode(&cert)
        );
        assert_eq!(text, expected, "sorted keys, no whitespace");

        // A signature over another digest, another key's certificate, a
        // short digest, both request kinds at once: refused.
        let other = Sha256::digest(b"other");
        let other_key = SigningKey::from_slice(&[6u8; 32]).unwrap();
        let bad = [
            hashedrekord(&other, sig.as_bytes(), &cert),
            hashedrekord(&digest, sig.as_bytes(), &cert_for(&other_key)),
            hashedrekord(&digest[..20], sig.as_bytes(), &cert),
            json!({"hashedRekordRequestV002": {}, "dsseRequestV002": {}}),
            json!({"hashedRekordRequestV001": {}}),
            json!("not an object"),
        ];
        for request in bad {
            assert!(
                matches!(canonical_body_v2(&request), Err(Error::BadRequest(_))),
                "{request}"
            );
        }
    }

    #[test]
    fn v2_dsse_requests_log_the_payload_hash_and_verified_signatures() {
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let cert = cert_for(&key);
        let payload = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
        let pae = format!(
            "DSSEv1 28 application/vnd.in-toto+json {} {}",
            payload.len(),
            std::str::from_utf8(payload).unwrap()
        );
        let sig: p256::ecdsa::DerSignature = key.sign(pae.as_bytes());
        let verifier = json!({
            "x509Certificate": {"rawBytes": B64.encode(&cert)},
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        });
        let request = |sig: &[u8]| {
            json!({"dsseRequestV002": {
                "envelope": {
                    "payload": B64.encode(payload),
                    "payloadType": "application/vnd.in-toto+json",
                    "signatures": [{"sig": B64.encode(sig), "keyid": ""}],
                },
                "verifiers": [verifier],
            }})
        };
        let (kind, body) = canonical_body_v2(&request(sig.as_bytes())).unwrap();
        assert_eq!(kind, "dsse");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body.pointer("/spec/dsseV002/payloadHash/digest"),
            Some(&json!(B64.encode(Sha256::digest(payload))))
        );
        assert_eq!(
            body.pointer("/spec/dsseV002/signatures/0/verifier"),
            Some(&verifier)
        );
        let mut forged = sig.as_bytes().to_vec();
        if let Some(last) = forged.last_mut() {
            *last ^= 1;
        }
        assert!(canonical_body_v2(&request(&forged)).is_err());
    }

    #[test]
    fn v2_checkpoints_name_the_origin_alone_with_the_log_id_as_key_hint() {
        let key = SigningKey::from_slice(&[8u8; 32]).unwrap();
        let mut log = tlog::Log::open_v2(key.clone(), None).unwrap();
        log.append(b"entry".to_vec(), 0).unwrap();
        let entry = log.entry_v2_json(0, "hashedrekord").unwrap();
        let checkpoint = entry
            .pointer("/inclusionProof/checkpoint/envelope")
            .and_then(Value::as_str)
            .unwrap();
        let (note, signature) = checkpoint.split_once("\n\n").unwrap();
        assert_eq!(
            note,
            format!("127.0.0.1\n1\n{}", B64.encode(log.root_at(1)))
        );
        let blob = B64
            .decode(
                signature
                    .strip_prefix("\u{2014} 127.0.0.1 ")
                    .unwrap()
                    .trim_end(),
            )
            .unwrap();
        let log_id = B64
            .decode(entry["logId"]["keyId"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            log_id,
            Sha256::digest(pki::spki_der(&key).unwrap()).to_vec()
        );
        assert_eq!(blob.get(..4), log_id.get(..4), "key hint");
        assert!(entry.get("integratedTime").is_none());
        assert_eq!(entry["kindVersion"]["version"], "0.0.2");
    }
}
