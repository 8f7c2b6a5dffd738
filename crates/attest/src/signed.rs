//! Signed in-toto documents (links and layouts) in any of the three
//! encodings, read and written through one type.

use serde_json::Value;

use crate::error::Error;
use crate::link::{Encoding, Link};
use crate::statement::PAYLOAD_TYPE;

#[derive(Debug, Clone, PartialEq)]
enum Container {
    Metablock(dsse::Metablock),
    Envelope(dsse::Envelope),
}

/// A signed link or layout: a Metablock or a DSSE envelope, with its payload
/// parsed (strictly) but not yet trusted.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedDocument {
    container: Container,
    /// The parsed payload of an envelope (a Metablock holds its own).
    envelope_payload: Option<Value>,
}

impl SignedDocument {
    /// Reads a Metablock or DSSE envelope. DSSE payloads must be
    /// `application/vnd.in-toto+json` JSON.
    pub fn from_json(bytes: &[u8], limits: &dsse::Limits) -> Result<SignedDocument, Error> {
        open(bytes, limits, |seal, payload| {
            Ok(match seal {
                Seal::Metablock(m) => SignedDocument {
                    container: Container::Metablock(m.into_owned()),
                    envelope_payload: None,
                },
                Seal::Envelope(e) => SignedDocument {
                    container: Container::Envelope(e.clone()),
                    envelope_payload: Some(payload.to_value()),
                },
            })
        })
    }

    /// An unsigned document around `payload` (a classic link or layout, or a
    /// Statement) in `encoding`.
    pub fn new(payload: Value, encoding: Encoding) -> Result<SignedDocument, Error> {
        Ok(match encoding {
            Encoding::Metablock => SignedDocument {
                container: Container::Metablock(dsse::Metablock::new(payload)?),
                envelope_payload: None,
            },
            Encoding::Dsse | Encoding::Statement => {
                let bytes = if encoding == Encoding::Dsse {
                    dsse::pretty::to_python_json_line(&payload)
                } else {
                    serde_json::to_vec(&payload).map_err(|e| Error::Malformed {
                        what: "statement",
                        reason: e.to_string(),
                    })?
                };
                SignedDocument {
                    container: Container::Envelope(dsse::Envelope::new(PAYLOAD_TYPE, bytes)),
                    envelope_payload: Some(payload),
                }
            }
        })
    }

    /// The bytes the signatures cover, as received: a DSSE envelope's
    /// payload, a Metablock's canonical JSON of `signed`.
    pub fn payload_bytes(&self) -> &[u8] {
        match &self.container {
            Container::Metablock(m) => m.canonical_bytes(),
            Container::Envelope(e) => e.payload(),
        }
    }

    /// The layout the document carries, decoded once into its type: from
    /// the DSSE payload bytes as received, or from a Metablock's `signed`
    /// as parsed (its canonical JSON is not always JSON: control characters
    /// stay raw). Only trust it after [`SignedDocument::verify`] succeeded.
    pub fn layout(&self) -> Result<crate::layout::Layout, Error> {
        match &self.container {
            Container::Metablock(m) => crate::layout::Layout::decode(m.signed()),
            Container::Envelope(e) => {
                let tree = dsse::json::Tree::parse(e.payload())?;
                crate::layout::Layout::decode(tree.root())
            }
        }
    }

    /// The same document without its signatures, its payload bytes kept
    /// (re-signing signs what was received, never a re-encoding of it).
    pub fn unsigned(&self) -> Result<SignedDocument, Error> {
        Ok(SignedDocument {
            container: match &self.container {
                Container::Metablock(m) => {
                    Container::Metablock(dsse::Metablock::new(m.signed().clone())?)
                }
                Container::Envelope(e) => {
                    Container::Envelope(dsse::Envelope::new(e.payload_type(), e.payload().to_vec()))
                }
            },
            envelope_payload: self.envelope_payload.clone(),
        })
    }

    /// The payload. Only trust it after [`SignedDocument::verify`] succeeded.
    pub fn payload(&self) -> &Value {
        match (&self.container, &self.envelope_payload) {
            (Container::Metablock(m), _) => m.signed(),
            (Container::Envelope(_), Some(payload)) => payload,
            (Container::Envelope(_), None) => &Value::Null,
        }
    }

    /// The payload, consuming the document (no copy of a large payload).
    /// Only trust it after [`SignedDocument::verify`] succeeded.
    pub fn into_payload(self) -> Value {
        match (self.container, self.envelope_payload) {
            (Container::Metablock(m), _) => m.into_signed(),
            (Container::Envelope(_), payload) => payload.unwrap_or(Value::Null),
        }
    }

    /// The link the document carries, by its container's rule: a Metablock
    /// link has in-toto's fixed schema (see [`Link::from_metablock_node`]);
    /// unknown fields of a DSSE payload are ignored. Only trust it after
    /// [`SignedDocument::verify`] succeeded.
    pub fn link(&self) -> Result<Link, Error> {
        if let Container::Metablock(m) = &self.container {
            let signed = m.signed();
            crate::link::check_metablock_fields(
                signed.get("_type").and_then(Value::as_str),
                signed
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.as_str()),
            )?;
        }
        Link::from_payload(self.payload().clone())
    }

    /// The payload's `_type`.
    pub fn payload_type(&self) -> Option<&str> {
        self.payload().get("_type").and_then(Value::as_str)
    }

    /// How the document is encoded.
    pub fn encoding(&self) -> Encoding {
        match &self.container {
            Container::Metablock(_) => Encoding::Metablock,
            Container::Envelope(_) => match self.payload_type() {
                Some(t) if t.starts_with("https://in-toto.io/Statement/") => Encoding::Statement,
                _ => Encoding::Dsse,
            },
        }
    }

    /// Key ids named beside the signatures (unauthenticated hints).
    pub fn signature_keyids(&self) -> Vec<String> {
        self.signers().keyids()
    }

    /// Number of signatures.
    pub fn signature_count(&self) -> usize {
        match &self.container {
            Container::Metablock(m) => m.signatures().len(),
            Container::Envelope(e) => e.signatures().len(),
        }
    }

    fn signers(&self) -> Signers<'_> {
        match &self.container {
            Container::Metablock(m) => Signers::Metablock(m.seal()),
            Container::Envelope(e) => Signers::Envelope(e),
        }
    }

    /// Verifies that `threshold` distinct trusted keys signed.
    pub fn verify(
        &self,
        verifiers: &[&dyn dsse::KeyedVerifier],
        threshold: usize,
    ) -> Result<dsse::Verified, Error> {
        self.signers().verify(verifiers, threshold)
    }

    /// Verifies an OpenPGP signature by `key` at time `now` (Metablocks only,
    /// as in the reference).
    pub fn verify_gpg(&self, key: &dsse::gpg::GpgKey, now: i64) -> Result<(), Error> {
        self.signers().verify_gpg(key, now)
    }

    /// Signs a Metablock as an ITE-7 X.509 functionary, as in-toto-golang
    /// does (`Metablock.Sign` with a key loaded from a certificate): the
    /// signature under the in-toto-golang id of the certificate's key,
    /// `cert` beside it. `key` must be the certificate's key. Returns the
    /// key id. DSSE envelopes carry no certificate.
    pub fn add_certificate_signature(
        &mut self,
        key: &dsse::PrivateKey,
        cert_pem: &str,
    ) -> Result<String, Error> {
        let Container::Metablock(m) = &mut self.container else {
            return Err(Error::Malformed {
                what: "certificate signature",
                reason: "a DSSE envelope carries no certificate; X.509 functionaries sign \
                         Metablocks (as in in-toto-golang)"
                    .into(),
            });
        };
        let cert = crate::x509::LeafCert::from_pem(cert_pem)?;
        let cert_key = cert.public_key()?;
        if cert_key.spki_sha256() != key.public_key().spki_sha256() {
            return Err(Error::Malformed {
                what: "certificate signature",
                reason: format!(
                    "certificate {:?} holds key {}, not the signing key {}",
                    cert.subject,
                    cert_key.keyid(),
                    key.keyid()
                ),
            });
        }
        let keyid = cert_key.legacy_keyid().to_string();
        let mut extra = serde_json::Map::new();
        extra.insert("cert".into(), Value::String(cert_pem.to_owned()));
        m.add_signature_as(key, keyid.clone(), extra)?;
        Ok(keyid)
    }

    /// Adds a signature (replacing one by the same key in a Metablock).
    pub fn add_signature(&mut self, signer: &dyn dsse::KeyedSigner) -> Result<(), Error> {
        match &mut self.container {
            Container::Metablock(m) => m.add_signature(signer)?,
            Container::Envelope(e) => e.add_signature(signer)?,
        }
        Ok(())
    }

    /// The bytes an OpenPGP signature covers: the canonical JSON of a
    /// Metablock's `signed` (`None` for DSSE: the reference signs only
    /// Metablocks with gpg).
    pub fn gpg_signable(&self) -> Option<&[u8]> {
        match &self.container {
            Container::Metablock(m) => Some(m.canonical_bytes()),
            Container::Envelope(_) => None,
        }
    }

    /// Adds an OpenPGP signature object (Metablocks only; replaces one by
    /// the same key id).
    pub fn add_gpg_signature(&mut self, signature: &dsse::gpg::GpgSignature) -> Result<(), Error> {
        match &mut self.container {
            Container::Metablock(m) => {
                m.add_gpg_signature(signature);
                Ok(())
            }
            Container::Envelope(_) => Err(gpg_needs_a_metablock()),
        }
    }

    /// The document as the reference writes it.
    pub fn to_json(&self) -> Vec<u8> {
        match &self.container {
            Container::Metablock(m) => m.to_json(),
            Container::Envelope(e) => e.to_json(),
        }
    }
}

/// A document a link signer signs: a [`SignedDocument`], or a
/// [`LinkDocument`] being written.
pub trait Signable {
    /// Adds a signature by `signer` (see [`SignedDocument::add_signature`]).
    fn add_signature(&mut self, signer: &dyn dsse::KeyedSigner) -> Result<(), Error>;
    /// The bytes an OpenPGP signature covers (Metablocks only).
    fn gpg_signable(&self) -> Option<&[u8]>;
    /// Adds an OpenPGP signature object (Metablocks only).
    fn add_gpg_signature(&mut self, signature: &dsse::gpg::GpgSignature) -> Result<(), Error>;
}

impl Signable for SignedDocument {
    fn add_signature(&mut self, signer: &dyn dsse::KeyedSigner) -> Result<(), Error> {
        SignedDocument::add_signature(self, signer)
    }
    fn gpg_signable(&self) -> Option<&[u8]> {
        SignedDocument::gpg_signable(self)
    }
    fn add_gpg_signature(&mut self, signature: &dsse::gpg::GpgSignature) -> Result<(), Error> {
        SignedDocument::add_gpg_signature(self, signature)
    }
}

/// A link being signed and written, straight from the [`Link`]: its bytes
/// are those of [`SignedDocument::new`] around [`Link::to_classic`] (or
/// [`Link::to_statement`]) in the same encoding, written with no
/// [`Value`] of its artifact lists, so memory stays near the size of the
/// file however many artifacts the link lists.
#[derive(Debug)]
pub enum LinkDocument<'l> {
    /// A classic link in a Metablock.
    Metablock(dsse::MetablockWriter<'l, Link>),
    /// A DSSE envelope around a classic link or a Statement.
    Envelope(dsse::Envelope),
}

impl<'l> LinkDocument<'l> {
    /// An unsigned document holding `link` in `encoding`.
    pub fn new(link: &'l Link, encoding: Encoding) -> Result<LinkDocument<'l>, Error> {
        Ok(match encoding {
            Encoding::Metablock => LinkDocument::Metablock(dsse::MetablockWriter::new(link)?),
            Encoding::Dsse => LinkDocument::Envelope(dsse::Envelope::new(
                PAYLOAD_TYPE,
                dsse::pretty::to_python_json_line_sorted(link)?,
            )),
            Encoding::Statement => {
                let bytes = dsse::pretty::to_compact_json(&crate::link::AsStatement(link))
                    .map_err(|e| Error::Malformed {
                        what: "statement",
                        reason: e.to_string(),
                    })?;
                LinkDocument::Envelope(dsse::Envelope::new(PAYLOAD_TYPE, bytes))
            }
        })
    }

    /// The document as the reference writes it.
    pub fn into_json(self) -> Result<Vec<u8>, Error> {
        Ok(match self {
            LinkDocument::Metablock(m) => m.into_json()?,
            LinkDocument::Envelope(e) => e.to_json(),
        })
    }
}

impl Signable for LinkDocument<'_> {
    fn add_signature(&mut self, signer: &dyn dsse::KeyedSigner) -> Result<(), Error> {
        match self {
            LinkDocument::Metablock(m) => m.add_signature(signer)?,
            LinkDocument::Envelope(e) => e.add_signature(signer)?,
        }
        Ok(())
    }
    fn gpg_signable(&self) -> Option<&[u8]> {
        match self {
            LinkDocument::Metablock(m) => Some(m.canonical_bytes()),
            LinkDocument::Envelope(_) => None,
        }
    }
    fn add_gpg_signature(&mut self, signature: &dsse::gpg::GpgSignature) -> Result<(), Error> {
        match self {
            LinkDocument::Metablock(m) => {
                m.add_gpg_signature(signature);
                Ok(())
            }
            LinkDocument::Envelope(_) => Err(gpg_needs_a_metablock()),
        }
    }
}

fn gpg_needs_a_metablock() -> Error {
    Error::Malformed {
        what: "document",
        reason: "OpenPGP signatures exist only in Metablocks (--format metablock)".into(),
    }
}

/// The signatures of a document and the bytes they cover.
#[derive(Debug, Clone, Copy)]
pub enum Signers<'s> {
    /// A Metablock's signatures over the canonical JSON of `signed`.
    Metablock(&'s dsse::Seal),
    /// A DSSE envelope's signatures over PAE(payloadType, payload).
    Envelope(&'s dsse::Envelope),
}

impl Signers<'_> {
    /// Key ids named beside the signatures (unauthenticated hints).
    pub fn keyids(&self) -> Vec<String> {
        match self {
            Signers::Metablock(m) => m.signatures().iter().map(|s| s.keyid.clone()).collect(),
            Signers::Envelope(e) => e
                .signatures()
                .iter()
                .filter_map(|s| s.keyid.clone())
                .collect(),
        }
    }

    /// Verifies that `threshold` distinct trusted keys signed.
    pub fn verify(
        &self,
        verifiers: &[&dyn dsse::KeyedVerifier],
        threshold: usize,
    ) -> Result<dsse::Verified, Error> {
        Ok(match self {
            Signers::Metablock(m) => m.verify(verifiers, threshold)?,
            Signers::Envelope(e) => e.verify(verifiers, threshold)?,
        })
    }

    /// Verifies an OpenPGP signature by `key` at time `now` (Metablocks only,
    /// as in the reference).
    pub fn verify_gpg(&self, key: &dsse::gpg::GpgKey, now: i64) -> Result<(), Error> {
        match self {
            Signers::Metablock(m) => Ok(m.verify_gpg(key, now)?),
            Signers::Envelope(_) => Err(dsse::Error::Signature.into()),
        }
    }
}

/// How [`open`] found a document signed.
#[derive(Debug)]
pub enum Seal<'t, 'a> {
    /// A Metablock (its `signed` still borrowed from the input).
    Metablock(dsse::MetablockRef<'t, 'a>),
    /// A DSSE envelope with an in-toto payload (the payload node borrows
    /// from it).
    Envelope(&'t dsse::Envelope),
}

impl Seal<'_, '_> {
    /// The signatures and the bytes they cover.
    pub fn signers(&self) -> Signers<'_> {
        match self {
            Seal::Metablock(m) => Signers::Metablock(m.seal()),
            Seal::Envelope(e) => Signers::Envelope(e),
        }
    }
}

/// Reads a Metablock or DSSE envelope (DSSE payloads must be
/// `application/vnd.in-toto+json` JSON objects) and hands `read` its seal
/// and its payload, parsed strictly but not yet trusted, as a borrowed
/// [`dsse::json::Node`]: large links are decoded from it straight into typed
/// values, with no [`Value`] of the whole payload.
pub fn open<R>(
    bytes: &[u8],
    limits: &dsse::Limits,
    read: impl FnOnce(Seal<'_, '_>, dsse::json::Node<'_, '_>) -> Result<R, Error>,
) -> Result<R, Error> {
    if bytes.len() > limits.max_envelope_bytes {
        return Err(dsse::Error::TooLarge {
            what: "document",
            limit: limits.max_envelope_bytes,
            actual: bytes.len(),
        }
        .into());
    }
    let tree = dsse::json::Tree::parse(bytes)?;
    let root = tree.root();
    if root.get("payloadType").is_some() {
        let envelope = dsse::Envelope::from_node(root, limits)?;
        if envelope.payload_type() != PAYLOAD_TYPE {
            return Err(Error::Malformed {
                what: "envelope",
                reason: format!(
                    "payloadType is {:?}, expected {PAYLOAD_TYPE}",
                    envelope.payload_type()
                ),
            });
        }
        let payload_tree = payload_tree(&envelope)?;
        return read(Seal::Envelope(&envelope), payload_tree.root());
    }
    if root.get("signed").is_some() {
        let metablock = dsse::MetablockRef::from_node(root, limits)?;
        let signed = metablock.signed();
        return read(Seal::Metablock(metablock), signed);
    }
    Err(Error::Malformed {
        what: "document",
        reason: "neither a DSSE envelope (payloadType) nor a Metablock (signed)".into(),
    })
}

/// The payload of an in-toto envelope, parsed strictly: it must be a JSON
/// object.
pub(crate) fn payload_tree(envelope: &dsse::Envelope) -> Result<dsse::json::Tree<'_>, Error> {
    let tree = dsse::json::Tree::parse(envelope.payload())?;
    if !tree.root().is_object() {
        return Err(Error::Malformed {
            what: "envelope payload",
            reason: "not a JSON object".into(),
        });
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DSSE layout whose payload is not in the form toto writes (compact
    /// JSON, keys in another order).
    fn compact_envelope() -> (Vec<u8>, Vec<u8>) {
        let payload = br#"{"steps":[],"inspect":[],"keys":{},"readme":"","_type":"layout"}"#;
        let envelope = dsse::Envelope::new(PAYLOAD_TYPE, payload.to_vec());
        (envelope.to_json(), payload.to_vec())
    }

    /// A link written straight from its maps is, byte for byte, the link
    /// written from its JSON value, in every encoding, signed or not.
    #[test]
    fn a_link_document_is_the_signed_document_of_the_link() {
        use crate::digest::DigestSet;
        use serde_json::json;
        let digest = |c: &str| DigestSet::single("sha256", &c.repeat(64)).unwrap();
        let mut link = Link {
            name: "build".into(),
            command: vec!["sh".into(), "-c".into(), "printf '\\033[1m ü'".into()],
            materials: Default::default(),
            products: Default::default(),
            byproducts: serde_json::Map::new(),
            environment: serde_json::Map::new(),
        };
        let key = dsse::PrivateKey::generate(dsse::KeyKind::Ed25519).unwrap();
        for round in 0..2 {
            for encoding in [Encoding::Metablock, Encoding::Dsse, Encoding::Statement] {
                let payload = match encoding {
                    Encoding::Statement => link.to_statement().into_value(),
                    _ => link.to_classic(),
                };
                let mut expected = SignedDocument::new(payload, encoding).unwrap();
                let mut written = LinkDocument::new(&link, encoding).unwrap();
                if round == 1 {
                    expected.add_signature(&key).unwrap();
                    Signable::add_signature(&mut written, &key).unwrap();
                }
                assert_eq!(
                    String::from_utf8(written.into_json().unwrap()).unwrap(),
                    String::from_utf8(expected.to_json()).unwrap(),
                    "{encoding:?}"
                );
            }
            link.materials
                .insert("a b/ü\"\u{1}\u{7f}".into(), digest("a"));
            link.materials.insert("Z".into(), digest("b"));
            link.products.insert("out/x".into(), digest("c"));
            link.products.insert(String::new(), digest("d"));
            link.byproducts
                .insert("stdout".into(), json!("\u{1b}[1m bold \n\t😀"));
            link.byproducts.insert("return-value".into(), json!(-1));
            link.environment
                .insert("nested".into(), json!({"b": [1, {}], "a": null}));
        }
    }

    #[test]
    fn re_signing_keeps_the_payload_bytes_received() {
        let (json, payload) = compact_envelope();
        let document = SignedDocument::from_json(&json, &dsse::Limits::default()).unwrap();
        let mut unsigned = document.unsigned().unwrap();
        let key = dsse::PrivateKey::generate(dsse::KeyKind::Ed25519).unwrap();
        unsigned.add_signature(&key).unwrap();
        let written =
            SignedDocument::from_json(&unsigned.to_json(), &dsse::Limits::default()).unwrap();
        assert_eq!(written.payload_bytes(), payload.as_slice());
        written.verify(&[key.public_key()], 1).unwrap();
    }

    #[test]
    fn a_layout_is_decoded_from_the_bytes_received() {
        let (json, _) = compact_envelope();
        let document = SignedDocument::from_json(&json, &dsse::Limits::default()).unwrap();
        assert_eq!(
            document.layout().unwrap().to_value(),
            crate::layout::Layout::from_value(document.payload().clone())
                .unwrap()
                .to_value()
        );
    }
}
