//! Classic in-toto Metablocks: `{"signed": {...}, "signatures": [{"keyid", "sig"}]}`
//! where every signature (hex) covers the canonical JSON of `signed`
//! (in-toto spec v1.0, section 4.2).
//!
//! The signed part is canonicalized from the parsed value: that is what the
//! format defines. Parsing is strict (duplicate keys rejected), so the value
//! that was canonicalized is the only reading of the bytes received.

use serde_json::{json, Map, Value};

use crate::cjson;
use crate::error::Error;
use crate::json::{Node, Tree};
use crate::keys::{KeyedSigner, KeyedVerifier};
use crate::limits::Limits;
use crate::Verified;

/// One Metablock signature. OpenPGP signatures carry more fields; they are
/// kept in `extra` untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct MetablockSignature {
    /// Key id of the signer.
    pub keyid: String,
    /// Signature bytes (hex on the wire).
    pub sig: Vec<u8>,
    /// Other fields of the signature object (e.g. OpenPGP `other_headers`).
    pub extra: Map<String, Value>,
}

/// The signatures of a Metablock and the canonical bytes they cover.
#[derive(Debug, Clone, PartialEq)]
pub struct Seal {
    canonical: Vec<u8>,
    signatures: Vec<MetablockSignature>,
}

impl Seal {
    /// The canonical JSON bytes every signature covers.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.canonical
    }

    /// The signatures.
    pub fn signatures(&self) -> &[MetablockSignature] {
        &self.signatures
    }

    /// The canonical JSON bytes every signature covers, the signatures
    /// dropped.
    pub fn into_canonical_bytes(self) -> Vec<u8> {
        self.canonical
    }

    /// Verifies that at least `threshold` distinct trusted keys signed; a
    /// signature is tried only against the verifiers its key id names, and
    /// every signature under a trusted key's id must verify (see
    /// [`crate::Envelope::verify`]).
    pub fn verify(
        &self,
        verifiers: &[&dyn KeyedVerifier],
        threshold: usize,
    ) -> Result<Verified, Error> {
        crate::envelope::count_trusted(
            self.signatures
                .iter()
                .map(|s| (Some(s.keyid.as_str()), s.sig.as_slice())),
            &self.canonical,
            verifiers,
            threshold,
        )
    }

    /// Reads a Metablock in one pass with no tree of it, when every object
    /// of it lists its keys in code point order (as in-toto and toto write
    /// them) and it holds no float: the signatures and the canonical bytes
    /// of `signed`, the same [`Seal`] [`MetablockRef::from_node`] reads.
    /// `None` for any other document: read it with
    /// [`MetablockRef::from_node`] then, which says what is wrong with it.
    /// Limits as [`Metablock::from_json`].
    pub fn read_sorted(bytes: &[u8], limits: &Limits) -> Option<Seal> {
        // Anything else (a DSSE envelope) is not canonicalized whole first.
        if bytes.len() > limits.max_envelope_bytes
            || crate::json::first_member_key(bytes).as_deref() != Some("signatures")
        {
            return None;
        }
        let read = crate::json::canonicalize_sorted(bytes).ok()?;
        let [(first, sigs), (second, signed)] = read.members.as_slice() else {
            return None;
        };
        if first != "signatures" || second != "signed" {
            return None;
        }
        let (sigs, signed) = (sigs.clone(), signed.clone());
        let mut canonical = read.bytes;
        if canonical.get(signed.start) != Some(&b'{') {
            return None;
        }
        let signatures = {
            let tree = Tree::parse_canonical(canonical.get(sigs)?).ok()?;
            let list = tree.root();
            if !list.is_array() {
                return None;
            }
            read_signatures(list, limits).ok()?
        };
        // In place: the signed part is most of the document.
        canonical.truncate(signed.end);
        canonical.drain(..signed.start);
        Some(Seal {
            canonical,
            signatures,
        })
    }

    fn add_signature(&mut self, signer: &dyn KeyedSigner) -> Result<(), Error> {
        self.add_signature_as(signer, signer.keyid(), Map::new())
    }

    fn add_signature_as(
        &mut self,
        signer: &dyn KeyedSigner,
        keyid: String,
        extra: Map<String, Value>,
    ) -> Result<(), Error> {
        let sig = signer
            .try_sign(&self.canonical)
            .map_err(|_| Error::Signing)?;
        self.signatures.retain(|s| s.keyid != keyid);
        self.signatures.push(MetablockSignature {
            keyid,
            sig: sig.0,
            extra,
        });
        Ok(())
    }

    fn add_gpg_signature(&mut self, signature: &crate::gpg::GpgSignature) {
        self.signatures.retain(|s| s.keyid != signature.keyid);
        let mut extra = Map::new();
        extra.insert(
            "other_headers".into(),
            Value::String(hex::encode(&signature.other_headers)),
        );
        self.signatures.push(MetablockSignature {
            keyid: signature.keyid.clone(),
            sig: signature.signature.clone(),
            extra,
        });
    }

    /// The signatures as the file lists them (`sig` as lowercase hex).
    fn signatures_value(&self) -> Value {
        let signatures: Vec<Value> = self
            .signatures
            .iter()
            .map(|s| {
                let mut obj = s.extra.clone();
                obj.insert("keyid".into(), Value::String(s.keyid.clone()));
                // OpenPGP signature objects name the field `signature`.
                let field = if s.extra.contains_key("other_headers") {
                    "signature"
                } else {
                    "sig"
                };
                obj.insert(field.into(), Value::String(hex::encode(&s.sig)));
                Value::Object(obj)
            })
            .collect();
        Value::Array(signatures)
    }

    /// Verifies the OpenPGP signatures by `key` (or its subkeys) at time
    /// `now`: there must be one, and every signature whose key id names the
    /// key or a subkey must verify (a bad one is a failure, not skipped).
    pub fn verify_gpg(&self, key: &crate::gpg::GpgKey, now: i64) -> Result<(), Error> {
        let mut verified = false;
        for s in self
            .signatures
            .iter()
            .filter(|s| key.matches_keyid(&s.keyid))
        {
            let headers = s
                .extra
                .get("other_headers")
                .and_then(Value::as_str)
                .ok_or(Error::Signature)?;
            let headers = hex::decode(headers).map_err(|_| Error::Hex {
                field: "other_headers",
            })?;
            key.verify(&self.canonical, &s.keyid, &headers, &s.sig, now)?;
            verified = true;
        }
        if verified {
            Ok(())
        } else {
            Err(Error::Signature)
        }
    }
}

/// The signatures of a Metablock, from its `signatures` list.
fn read_signatures(
    raw_sigs: Node<'_, '_>,
    limits: &Limits,
) -> Result<Vec<MetablockSignature>, Error> {
    if raw_sigs.len() > limits.max_signatures {
        return Err(Error::TooMany {
            what: "metablock signatures",
            limit: limits.max_signatures,
            actual: raw_sigs.len(),
        });
    }
    raw_sigs
        .elements()
        .map(|s| {
            let Value::Object(mut obj) = s.to_value() else {
                return Err(Error::malformed("metablock", "signature is not an object"));
            };
            let keyid = match obj.remove("keyid") {
                Some(Value::String(k)) => k,
                _ => return Err(Error::malformed("metablock", "signature without keyid")),
            };
            let sig = match obj.remove("sig").or_else(|| obj.remove("signature")) {
                Some(Value::String(h)) => {
                    hex::decode(&h).map_err(|_| Error::Hex { field: "sig" })?
                }
                _ => return Err(Error::malformed("metablock", "signature without sig")),
            };
            Ok(MetablockSignature {
                keyid,
                sig,
                extra: obj,
            })
        })
        .collect::<Result<Vec<_>, Error>>()
}

/// A Metablock read from a [`Tree`] without building a
/// [`serde_json::Value`] of `signed`: how large links are verified.
#[derive(Debug, Clone)]
pub struct MetablockRef<'t, 'a> {
    signed: Node<'t, 'a>,
    seal: Seal,
}

impl<'t, 'a> MetablockRef<'t, 'a> {
    /// Reads the Metablock `root` (a strictly parsed document).
    pub fn from_node(root: Node<'t, 'a>, limits: &Limits) -> Result<Self, Error> {
        if !root.is_object() {
            return Err(Error::malformed("metablock", "not a JSON object"));
        }
        let (mut signed, mut raw_sigs) = (None, None);
        for (key, value) in root.members() {
            match key {
                "signed" => signed = Some(value),
                "signatures" => raw_sigs = Some(value),
                _ => return Err(Error::malformed("metablock", "unknown top-level field")),
            }
        }
        let signed = signed.ok_or(Error::malformed("metablock", "missing \"signed\""))?;
        if !signed.is_object() {
            return Err(Error::malformed("metablock", "\"signed\" is not an object"));
        }
        let raw_sigs = match raw_sigs {
            Some(list) if list.is_array() => list,
            _ => return Err(Error::malformed("metablock", "missing \"signatures\" list")),
        };
        let signatures = read_signatures(raw_sigs, limits)?;
        // Canonical bytes are never longer than the document they come from.
        let mut canonical = Vec::with_capacity(root.document_len());
        signed.write_canonical(&mut canonical)?;
        Ok(MetablockRef {
            signed,
            seal: Seal {
                canonical,
                signatures,
            },
        })
    }

    /// The signed value. Only trust it after [`Seal::verify`] succeeded.
    pub fn signed(&self) -> Node<'t, 'a> {
        self.signed
    }

    /// The signatures and the bytes they cover.
    pub fn seal(&self) -> &Seal {
        &self.seal
    }

    /// The owned [`Metablock`].
    pub fn into_owned(self) -> Metablock {
        Metablock {
            signed: self.signed.to_value(),
            seal: self.seal,
        }
    }
}

/// A parsed Metablock.
#[derive(Debug, Clone, PartialEq)]
pub struct Metablock {
    signed: Value,
    seal: Seal,
}

impl Metablock {
    /// Parses a Metablock from JSON bytes.
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Metablock, Error> {
        crate::limits::at_most("metablock", bytes.len(), limits.max_envelope_bytes)?;
        let tree = Tree::parse(bytes)?;
        Ok(MetablockRef::from_node(tree.root(), limits)?.into_owned())
    }

    /// An unsigned Metablock around `signed`.
    pub fn new(signed: Value) -> Result<Metablock, Error> {
        if !signed.is_object() {
            return Err(Error::malformed("metablock", "\"signed\" is not an object"));
        }
        let canonical = cjson::to_canonical(&signed)?;
        Ok(Metablock {
            signed,
            seal: Seal {
                canonical,
                signatures: Vec::new(),
            },
        })
    }

    /// The signed value. Only trust it after [`Metablock::verify`] succeeded.
    pub fn signed(&self) -> &Value {
        &self.signed
    }

    /// The signed value, consuming the Metablock.
    pub fn into_signed(self) -> Value {
        self.signed
    }

    /// The canonical JSON bytes every signature covers.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.seal.canonical
    }

    /// The signatures.
    pub fn signatures(&self) -> &[MetablockSignature] {
        &self.seal.signatures
    }

    /// The signatures and the bytes they cover.
    pub fn seal(&self) -> &Seal {
        &self.seal
    }

    /// Adds (or, for the same key id, replaces) a signature by `signer`, as
    /// in-toto's `Metablock.create_signature` does.
    pub fn add_signature(&mut self, signer: &dyn KeyedSigner) -> Result<(), Error> {
        self.seal.add_signature(signer)
    }

    /// Adds (or, for the same key id, replaces) an OpenPGP signature object
    /// `{keyid, other_headers, signature}`, as securesystemslib's
    /// `create_signature` makes it (see [`crate::gpg::parse_signature_packet`]).
    pub fn add_gpg_signature(&mut self, signature: &crate::gpg::GpgSignature) {
        self.seal.add_gpg_signature(signature);
    }

    /// Adds (or, for the same key id, replaces) a signature by `signer`
    /// under `keyid`, with `extra` fields beside it (in-toto-golang's `cert`
    /// of an X.509 functionary, say).
    pub fn add_signature_as(
        &mut self,
        signer: &dyn KeyedSigner,
        keyid: String,
        extra: Map<String, Value>,
    ) -> Result<(), Error> {
        self.seal.add_signature_as(signer, keyid, extra)
    }

    /// Verifies that at least `threshold` distinct trusted keys signed (see
    /// [`Seal::verify`]).
    pub fn verify(
        &self,
        verifiers: &[&dyn KeyedVerifier],
        threshold: usize,
    ) -> Result<Verified, Error> {
        self.seal.verify(verifiers, threshold)
    }

    /// Verifies an OpenPGP signature by `key` (or its subkeys) at time `now`.
    pub fn verify_gpg(&self, key: &crate::gpg::GpgKey, now: i64) -> Result<(), Error> {
        self.seal.verify_gpg(key, now)
    }

    /// The Metablock as a JSON value (`sig` as lowercase hex).
    pub fn to_value(&self) -> Value {
        json!({"signatures": self.seal.signatures_value(), "signed": self.signed})
    }

    fn signatures_value(&self) -> Value {
        self.seal.signatures_value()
    }

    /// Serializes like in-toto's `Metablock.dump`: sorted keys, one-space
    /// indent, ASCII only (`\uXXXX` escapes).
    pub fn to_json(&self) -> Vec<u8> {
        // Written from borrowed parts: `signed` can be large.
        crate::pretty::to_python_json_members(&[
            ("signatures", &self.signatures_value()),
            ("signed", &self.signed),
        ])
    }
}

/// A Metablock written straight from a serializable `signed` value (a
/// large link, say) rather than from a [`Value`] of it: its canonical JSON
/// is signed, then the file is written from `signed` again, byte for byte
/// what [`Metablock::to_json`] writes for the same value. `signed` must
/// serialize every object's keys in code point order (see
/// [`crate::cjson::to_canonical_sorted`]).
#[derive(Debug)]
pub struct MetablockWriter<'s, T: ?Sized> {
    signed: &'s T,
    seal: Seal,
}

impl<'s, T: serde::Serialize + ?Sized> MetablockWriter<'s, T> {
    /// An unsigned Metablock around `signed`.
    pub fn new(signed: &'s T) -> Result<Self, Error> {
        Ok(MetablockWriter {
            signed,
            seal: Seal {
                canonical: cjson::to_canonical_sorted(signed)?,
                signatures: Vec::new(),
            },
        })
    }

    /// The canonical JSON bytes every signature covers.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.seal.canonical
    }

    /// As [`Metablock::add_signature`].
    pub fn add_signature(&mut self, signer: &dyn KeyedSigner) -> Result<(), Error> {
        self.seal.add_signature(signer)
    }

    /// As [`Metablock::add_gpg_signature`].
    pub fn add_gpg_signature(&mut self, signature: &crate::gpg::GpgSignature) {
        self.seal.add_gpg_signature(signature);
    }

    /// The file, as [`Metablock::to_json`] writes it; the canonical bytes
    /// are dropped first, so the two are never held at once.
    pub fn into_json(self) -> Result<Vec<u8>, Error> {
        let MetablockWriter { signed, mut seal } = self;
        seal.canonical = Vec::new();
        let signatures = seal.signatures_value();
        crate::pretty::to_python_json_sorted(&Parts {
            signatures: crate::Sorted(&signatures),
            signed,
        })
    }
}

/// A Metablock's two members, in code point order.
#[derive(serde::Serialize)]
struct Parts<'a, T: ?Sized> {
    signatures: crate::Sorted<'a>,
    signed: &'a T,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyKind, PrivateKey};

    fn signed_metablock() -> (Metablock, PrivateKey) {
        let key = PrivateKey::generate(KeyKind::Ed25519).unwrap();
        let mut block = Metablock::new(json!({
            "_type": "link",
            "byproducts": {"stdout": "line\n\"quoted\" \\ \u{1}"},
            "name": "build",
            "products": {"a": {"sha256": "ab"}},
        }))
        .unwrap();
        block.add_signature(&key).unwrap();
        (block, key)
    }

    /// The one-pass reader reads the same seal as the tree, from the
    /// pretty-printed file toto writes.
    #[test]
    fn a_sorted_metablock_is_read_in_one_pass_to_the_same_seal() {
        let (block, key) = signed_metablock();
        let bytes = block.to_json();
        let limits = Limits::default();
        let seal = Seal::read_sorted(&bytes, &limits).expect("toto's Metablocks are sorted");
        let tree = Tree::parse(&bytes).unwrap();
        let by_tree = MetablockRef::from_node(tree.root(), &limits).unwrap();
        assert_eq!(&seal, by_tree.seal());
        assert_eq!(seal.canonical_bytes(), block.canonical_bytes());
        assert!(seal.verify(&[key.public_key()], 1).is_ok());
    }

    /// Anything else is left to the tree: keys out of order, other
    /// top-level fields, a `signed` that is no object, oversized input,
    /// floats.
    #[test]
    fn other_metablocks_are_left_to_the_tree() {
        let (block, _) = signed_metablock();
        let text = String::from_utf8(block.to_json()).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let signed = serde_json::to_string(&value["signed"]).unwrap();
        let sigs = serde_json::to_string(&value["signatures"]).unwrap();
        let left = [
            format!(r#"{{"signed":{signed},"signatures":{sigs}}}"#),
            format!(r#"{{"a":1,"signatures":{sigs},"signed":{signed}}}"#),
            format!(r#"{{"signatures":{sigs},"signed":[]}}"#),
            format!(r#"{{"signatures":{{}},"signed":{signed}}}"#),
            format!(r#"{{"signatures":{sigs},"signed":{{"f":1.5}}}}"#),
            format!(r#"{{"signatures":{sigs}}}"#),
        ];
        crate::limits::assert_read_sorted(Seal::read_sorted, left, &text);
    }
}
