//! Signed in-toto documents (links and layouts) in any of the three
//! encodings, read and written through one type.

use serde_json::Value;

use crate::error::Error;
use crate::link::Encoding;
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
        if bytes.len() > limits.max_envelope_bytes {
            return Err(dsse::Error::TooLarge {
                what: "document",
                limit: limits.max_envelope_bytes,
                actual: bytes.len(),
            }
            .into());
        }
        let value = dsse::cjson::parse_strict(bytes)?;
        if value.get("payloadType").is_some() {
            let envelope = dsse::Envelope::from_json(bytes, limits)?;
            if envelope.payload_type() != PAYLOAD_TYPE {
                return Err(Error::Malformed {
                    what: "envelope",
                    reason: format!(
                        "payloadType is {:?}, expected {PAYLOAD_TYPE}",
                        envelope.payload_type()
                    ),
                });
            }
            let payload = dsse::cjson::parse_strict(envelope.payload())?;
            if !payload.is_object() {
                return Err(Error::Malformed {
                    what: "envelope payload",
                    reason: "not a JSON object".into(),
                });
            }
            return Ok(SignedDocument {
                container: Container::Envelope(envelope),
                envelope_payload: Some(payload),
            });
        }
        if value.get("signed").is_some() {
            let metablock = dsse::Metablock::from_value(value, limits)?;
            return Ok(SignedDocument {
                container: Container::Metablock(metablock),
                envelope_payload: None,
            });
        }
        Err(Error::Malformed {
            what: "document",
            reason: "neither a DSSE envelope (payloadType) nor a Metablock (signed)".into(),
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
        match &self.container {
            Container::Metablock(m) => m.signatures().iter().map(|s| s.keyid.clone()).collect(),
            Container::Envelope(e) => e
                .signatures()
                .iter()
                .filter_map(|s| s.keyid.clone())
                .collect(),
        }
    }

    /// Number of signatures.
    pub fn signature_count(&self) -> usize {
        match &self.container {
            Container::Metablock(m) => m.signatures().len(),
            Container::Envelope(e) => e.signatures().len(),
        }
    }

    /// Verifies that `threshold` distinct trusted keys signed.
    pub fn verify(
        &self,
        verifiers: &[&dyn dsse::KeyedVerifier],
        threshold: usize,
    ) -> Result<dsse::Verified, Error> {
        Ok(match &self.container {
            Container::Metablock(m) => m.verify(verifiers, threshold)?,
            Container::Envelope(e) => e.verify(verifiers, threshold)?,
        })
    }

    /// Verifies an OpenPGP signature by `key` at time `now` (Metablocks only,
    /// as in the reference).
    pub fn verify_gpg(&self, key: &dsse::gpg::GpgKey, now: i64) -> Result<(), Error> {
        match &self.container {
            Container::Metablock(m) => Ok(m.verify_gpg(key, now)?),
            Container::Envelope(_) => Err(dsse::Error::Signature.into()),
        }
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
            Container::Envelope(_) => Err(Error::Malformed {
                what: "document",
                reason: "OpenPGP signatures exist only in Metablocks (--format metablock)".into(),
            }),
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
