//! DSSE envelopes (`envelope.md`, `protocol.md` of secure-systems-lab/dsse).
//!
//! An [`Envelope`] is parsed from JSON into typed values; its payload is kept
//! as the exact bytes decoded from the wire, decoded straight into
//! `PAE(payloadType, payload)`, the bytes every signature is checked over
//! (no second copy of a large payload to verify it).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::error::Error;
use crate::keys::{KeyedSigner, KeyedVerifier, SigBytes};
use crate::limits::Limits;
use crate::{b64, pae};

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The key id the signer wrote; DSSE makes it optional and unauthenticated.
    pub keyid: Option<String>,
    /// The signature bytes.
    pub sig: Vec<u8>,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    payload_type: String,
    /// `PAE(payload_type, payload)`: the payload is its tail, from
    /// `payload_at`.
    pae: Vec<u8>,
    payload_at: usize,
    signatures: Vec<Signature>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSignature {
    #[serde(default)]
    keyid: Option<String>,
    sig: String,
}

/// The payload's base64 is borrowed from the document, never copied.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEnvelope<'a> {
    #[serde(borrow)]
    payload: Cow<'a, str>,
    #[serde(rename = "payloadType")]
    payload_type: String,
    signatures: Vec<WireSignature>,
}

/// The outcome of a successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Identities (key ids) of the distinct trusted keys whose signatures
    /// verified, sorted.
    pub identities: Vec<String>,
}

impl Envelope {
    /// Parses an envelope from JSON bytes, within `limits`. Duplicate JSON
    /// keys, unknown fields, bad base64 and oversize values are errors.
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Envelope, Error> {
        crate::limits::at_most("envelope", bytes.len(), limits.max_envelope_bytes)?;
        Envelope::from_node(crate::json::Tree::parse(bytes)?.root(), limits)
    }

    /// Reads an envelope from an already strictly parsed document (see
    /// [`crate::json::Tree`]); the caller has checked its size.
    pub fn from_node(root: crate::json::Node<'_, '_>, limits: &Limits) -> Result<Envelope, Error> {
        Envelope::from_wire(root.decode()?, limits)
    }

    /// Reads an envelope in one pass with no tree of it
    /// ([`crate::json::decode_sorted`]) when its keys come in code point
    /// order, as toto and in-toto write them: the same [`Envelope`]
    /// [`Envelope::from_json`] reads. `None` for any other document, or one
    /// it refuses: read it with [`Envelope::from_json`] then, which says
    /// what is wrong with it.
    pub fn read_sorted(bytes: &[u8], limits: &Limits) -> Option<Envelope> {
        if bytes.len() > limits.max_envelope_bytes {
            return None;
        }
        Envelope::from_wire(crate::json::decode_sorted(bytes).ok()?, limits).ok()
    }

    fn from_wire(wire: WireEnvelope<'_>, limits: &Limits) -> Result<Envelope, Error> {
        if wire.signatures.len() > limits.max_signatures {
            return Err(Error::TooMany {
                what: "envelope signatures",
                limit: limits.max_signatures,
                actual: wire.signatures.len(),
            });
        }
        if b64::decoded_len_upper_bound(wire.payload.len()) > limits.max_payload_bytes + 2 {
            return Err(Error::TooLarge {
                what: "envelope payload",
                limit: limits.max_payload_bytes,
                actual: b64::decoded_len_upper_bound(wire.payload.len()),
            });
        }
        // Decoded straight after the PAE header, whose length field is the
        // exact decoded length of valid base64.
        let mut pae = pae::header(
            &wire.payload_type,
            b64::decoded_len(&wire.payload),
            b64::decoded_len_upper_bound(wire.payload.len()),
        );
        let payload_at = pae.len();
        b64::decode_append("payload", &wire.payload, &mut pae)?;
        let payload_len = pae.len() - payload_at;
        if payload_len != b64::decoded_len(&wire.payload) {
            return Err(Error::Base64 { field: "payload" });
        }
        drop(wire.payload);
        crate::limits::at_most("envelope payload", payload_len, limits.max_payload_bytes)?;
        if wire.payload_type.is_empty() {
            return Err(Error::malformed("envelope", "payloadType is empty"));
        }
        let signatures = wire
            .signatures
            .into_iter()
            .map(|s| {
                Ok(Signature {
                    keyid: s.keyid.filter(|k| !k.is_empty()),
                    sig: b64::decode("sig", &s.sig)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Envelope {
            payload_type: wire.payload_type,
            pae,
            payload_at,
            signatures,
        })
    }

    /// An unsigned envelope.
    pub fn new(payload_type: impl Into<String>, payload: Vec<u8>) -> Envelope {
        let payload_type = payload_type.into();
        let mut pae = pae::header(&payload_type, payload.len(), payload.len());
        let payload_at = pae.len();
        pae.extend_from_slice(&payload);
        Envelope {
            payload_type,
            pae,
            payload_at,
            signatures: Vec::new(),
        }
    }

    /// Builds an envelope signed by every signer.
    pub fn sign(
        payload_type: impl Into<String>,
        payload: Vec<u8>,
        signers: &[&dyn KeyedSigner],
    ) -> Result<Envelope, Error> {
        let mut envelope = Envelope::new(payload_type, payload);
        for signer in signers {
            envelope.add_signature(*signer)?;
        }
        Ok(envelope)
    }

    /// Adds a signature by `signer` over this envelope's PAE.
    pub fn add_signature(&mut self, signer: &dyn KeyedSigner) -> Result<(), Error> {
        let sig = signer.try_sign(&self.pae).map_err(|_| Error::Signing)?;
        let keyid = signer.keyid();
        self.signatures.push(Signature {
            keyid: (!keyid.is_empty()).then_some(keyid),
            sig: sig.0,
        });
        Ok(())
    }

    /// The payload type.
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The payload bytes exactly as received. Only trust them after
    /// [`Envelope::verify`] succeeded.
    pub fn payload(&self) -> &[u8] {
        self.pae.get(self.payload_at..).unwrap_or_default()
    }

    /// The signatures.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// `PAE(payloadType, payload)`: the bytes every signature covers.
    pub fn pae(&self) -> &[u8] {
        &self.pae
    }

    /// Verifies that at least `threshold` distinct trusted keys signed.
    ///
    /// A signature carrying a key id is only tried against the verifiers
    /// that key id names (current or legacy style), and must verify: a key
    /// with a bad signature under its key id does not count. One without a
    /// key id is tried against all. Each verifier counts once, however many
    /// of its signatures the envelope carries.
    pub fn verify(
        &self,
        verifiers: &[&dyn KeyedVerifier],
        threshold: usize,
    ) -> Result<Verified, Error> {
        count_trusted(
            self.signatures
                .iter()
                .map(|s| (s.keyid.as_deref(), s.sig.as_slice())),
            &self.pae,
            verifiers,
            threshold,
        )
    }

    /// The signatures as the file lists them.
    fn signatures_json(&self) -> Vec<serde_json::Value> {
        self.signatures
            .iter()
            .map(|s| match &s.keyid {
                Some(keyid) => serde_json::json!({"keyid": keyid, "sig": b64::encode(&s.sig)}),
                None => serde_json::json!({"sig": b64::encode(&s.sig)}),
            })
            .collect()
    }

    /// Serializes as JSON the way in-toto writes envelopes
    /// (`json.dumps(envelope)`: one line, `payload`, `payloadType`,
    /// `signatures` with `keyid` and `sig`), standard padded base64. A
    /// signature without key id is written without `keyid`.
    pub fn to_json(&self) -> Vec<u8> {
        let signatures = self.signatures_json();
        // As `to_python_json_line` writes {"payload", "payloadType",
        // "signatures"}, with the payload's base64 (as large as the
        // document) encoded straight into the output, which is sized once.
        let rest = crate::pretty::to_python_json_line(&serde_json::json!({
            "payloadType": self.payload_type,
            "signatures": signatures,
        }));
        let payload = self.payload();
        let mut out = String::with_capacity(
            payload
                .len()
                .div_ceil(3)
                .saturating_mul(4)
                .saturating_add(rest.len() + 16),
        );
        out.push_str("{\"payload\": \"");
        b64::encode_into(payload, &mut out);
        out.push_str("\", ");
        let mut out = out.into_bytes();
        out.extend_from_slice(rest.get(1..).unwrap_or_default());
        out
    }
}

/// Counts the distinct trusted keys whose signatures over `msg` verify, and
/// checks the threshold. A signature carrying a key id is only tried against
/// the verifiers that key id names, and must verify: a key with a bad
/// signature under its key id does not count, whatever other signatures it
/// has (the reference verifies only the first signature under a key id, so
/// "a bad one, then a good one" is refused by both). A signature without a
/// key id is tried against all, and counts for the one it verifies with.
/// Each verifier counts once, however many of its signatures there are.
pub(crate) fn count_trusted<'a>(
    signatures: impl Iterator<Item = (Option<&'a str>, &'a [u8])>,
    msg: &[u8],
    verifiers: &[&dyn KeyedVerifier],
    threshold: usize,
) -> Result<Verified, Error> {
    if threshold == 0 {
        return Err(Error::malformed(
            "verification request",
            "threshold must be at least 1",
        ));
    }
    // Keyed by signer (the key itself), so one key given twice counts once;
    // the identity kept is the one reported.
    let mut identities: BTreeMap<String, String> = BTreeMap::new();
    let mut refuted = BTreeSet::new();
    for (keyid, sig) in signatures {
        let sig = SigBytes(sig.to_vec());
        for verifier in verifiers {
            let signer = verifier.signer();
            match keyid {
                Some(keyid) if !verifier.matches_keyid(keyid) => {}
                Some(_) if refuted.contains(&signer) => {}
                Some(_) => {
                    if verifier.verify(msg, &sig).is_ok() {
                        identities
                            .entry(signer)
                            .or_insert_with(|| verifier.identity());
                    } else {
                        refuted.insert(signer);
                    }
                }
                None => {
                    if !identities.contains_key(&signer) && verifier.verify(msg, &sig).is_ok() {
                        identities.insert(signer, verifier.identity());
                    }
                }
            }
        }
    }
    identities.retain(|signer, _| !refuted.contains(signer));
    if identities.is_empty() {
        return Err(Error::Signature);
    }
    if identities.len() < threshold {
        return Err(Error::Threshold {
            required: threshold,
            verified: identities.len(),
        });
    }
    let mut identities: Vec<String> = identities.into_values().collect();
    identities.sort();
    Ok(Verified { identities })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written in pieces, the envelope is what the reference writes:
    /// `json.dumps(sort_keys=True)` of its three fields.
    #[test]
    fn to_json_is_the_python_line_of_its_fields() {
        let key = crate::PrivateKey::generate(crate::KeyKind::Ed25519).unwrap();
        for payload in [&b""[..], b"x", b"xy", b"{\"a\": \"\xc3\xbc\"}"] {
            let mut envelope =
                Envelope::new("application/vnd.in-toto+json\u{1}ü", payload.to_vec());
            for signed in [false, true] {
                if signed {
                    envelope.add_signature(&key).unwrap();
                    envelope.signatures.push(Signature {
                        keyid: None,
                        sig: vec![1, 2, 3],
                    });
                }
                let expected = crate::pretty::to_python_json_line(&serde_json::json!({
                    "payload": b64::encode(payload),
                    "payloadType": envelope.payload_type,
                    "signatures": envelope.signatures_json(),
                }));
                assert_eq!(
                    String::from_utf8(envelope.to_json()).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }

    /// The one-pass reader reads what the tree reads (payload decoded into
    /// the PAE, any base64 form DSSE allows), and leaves to it a document
    /// with keys out of order, an unknown field, or bad base64.
    #[test]
    fn read_sorted_reads_what_from_json_reads_or_leaves_it() {
        let limits = Limits::default();
        let key = crate::PrivateKey::generate(crate::KeyKind::Ed25519).unwrap();
        for payload in [&b""[..], b"x", b"xy", b"xyz", b"\xfb\xff\xbf\x01"] {
            let signed = Envelope::sign("t", payload.to_vec(), &[&key]).unwrap();
            let text = String::from_utf8(signed.to_json()).unwrap();
            let encoded = b64::encode(payload);
            let url_safe = encoded.replace('+', "-").replace('/', "_");
            for form in [&encoded, &url_safe, url_safe.trim_end_matches('=')] {
                let text = text.replace(&format!("\"{encoded}\""), &format!("\"{form}\""));
                let read = Envelope::read_sorted(text.as_bytes(), &limits).unwrap();
                assert_eq!(read, Envelope::from_json(text.as_bytes(), &limits).unwrap());
                assert_eq!(read.payload(), payload);
                assert_eq!(read.pae(), pae::pae("t", payload));
                read.verify(&[key.public_key()], 1).unwrap();
            }
        }
        let sig = b64::encode(&[1u8, 2]);
        let with_sig = format!(
            r#"{{"payload":"eA==","payloadType":"t","signatures":[{{"sig":"{sig}","keyid":"k"}}]}}"#
        );
        let left = [
            r#"{"payloadType":"t","payload":"eA==","signatures":[]}"#,
            r#"{"payload":"eA==","payloadType":"t","signatures":[],"x":1}"#,
            &with_sig,
            r#"{"payload":"eA","payload":"eA","payloadType":"t","signatures":[]}"#,
            r#"{"payload":"eB==","payloadType":"t","signatures":[]}"#,
            r#"{"payload":"e+-=","payloadType":"t","signatures":[]}"#,
            r#"{"payload":"eA==","payloadType":"","signatures":[]}"#,
        ];
        let ok = r#"{"payload":"eA==","payloadType":"t","signatures":[]}"#;
        crate::limits::assert_read_sorted(Envelope::read_sorted, left, ok);
    }
}
