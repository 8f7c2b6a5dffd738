//! A bundle read strictly, once, before anything verifies or reads it
//! ([`Parsed`]: strict JSON, one content, one kind of verification
//! material, one log entry, the schema), and the in-toto Statement a DSSE
//! bundle carries read strictly for the subject it binds.

use sigstore_verify::types::{Bundle, SignatureContent};

use super::{schema, Artifact, Error, MAX_BUNDLE_BYTES};

/// What a bundle signs: its one signature content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Content {
    /// `messageSignature`: a signature over an artifact's bytes (a blob).
    MessageSignature,
    /// `dsseEnvelope`: a signed attestation.
    DsseEnvelope,
}

/// A bundle read strictly, once, before anything verifies or reads it.
///
/// The protobuf `Bundle` has two `oneof`s that JSON spells as sibling
/// members: the content (`messageSignature` | `dsseEnvelope`) and the
/// verification material (`certificate` | `x509CertificateChain` |
/// `publicKey`). `sigstore-verify` reads each as a flattened enum, which
/// takes the first member it meets and ignores the other, so a bundle with
/// both would be verified on one content while another reader saw the
/// second. Here a bundle with two (or none) of either is malformed, so a
/// bundle has one meaning; together with refusing duplicate keys, every
/// reader of these bytes sees the one bundle that was verified.
pub(super) struct Parsed<'a> {
    json: &'a [u8],
    /// The strict JSON tree (the fast path reads it).
    pub(super) tree: dsse::json::Tree<'a>,
    /// Its one signature content.
    pub(super) content: Content,
}

impl<'a> Parsed<'a> {
    /// Reads `bundle_json` strictly: one content, one kind of verification
    /// material, one log entry, the schema ([`schema`]).
    pub(super) fn read(bundle_json: &'a [u8]) -> Result<Parsed<'a>, Error> {
        let tree = strict_json(bundle_json)?;
        let root = tree.root();
        let malformed = |reason: &str| Error::Malformed {
            what: "bundle",
            reason: reason.to_owned(),
        };
        if !root.is_object() {
            return Err(malformed("not a JSON object"));
        }
        let content = match (
            root.get("messageSignature").is_some(),
            root.get("dsseEnvelope").is_some(),
        ) {
            (true, false) => Content::MessageSignature,
            (false, true) => Content::DsseEnvelope,
            (true, true) => {
                return Err(malformed(
                    "exactly one of messageSignature or dsseEnvelope must be set; \
                     this bundle has both",
                ))
            }
            (false, false) => {
                return Err(malformed(
                    "exactly one of messageSignature or dsseEnvelope must be set; \
                     this bundle has neither",
                ))
            }
        };
        if let Some(material) = root.get("verificationMaterial") {
            let kinds = ["certificate", "x509CertificateChain", "publicKey"]
                .into_iter()
                .filter(|kind| material.get(kind).is_some())
                .count();
            if kinds != 1 {
                return Err(malformed(&format!(
                    "exactly one of certificate, x509CertificateChain or publicKey must be \
                     set in verificationMaterial; this bundle has {kinds}"
                )));
            }
            // One signature, one log entry (as sigstore-python requires):
            // a second entry is not a second signer.
            let entries = material.get("tlogEntries").map_or(0, |e| e.len());
            if entries != 1 {
                return Err(malformed(&format!(
                    "a bundle carries exactly one transparency log entry; this one has {entries}"
                )));
            }
        }
        schema::check(root)?;
        Ok(Parsed {
            json: bundle_json,
            tree,
            content,
        })
    }

    /// The bundle in `sigstore-verify`'s types, for its verifier.
    pub(super) fn typed(&self) -> Result<Bundle, Error> {
        let text = std::str::from_utf8(self.json).map_err(|_| Error::Malformed {
            what: "bundle",
            reason: "not UTF-8".into(),
        })?;
        let bundle = Bundle::from_json(text).map_err(|e| Error::Malformed {
            what: "bundle",
            reason: e.to_string(),
        })?;
        // Both readers must agree on what is signed (they do: `read`
        // allows one content); checked, not assumed.
        let agrees = matches!(
            (&bundle.content, self.content),
            (
                SignatureContent::MessageSignature(_),
                Content::MessageSignature
            ) | (SignatureContent::DsseEnvelope(_), Content::DsseEnvelope)
        );
        if !agrees {
            return Err(Error::Malformed {
                what: "bundle",
                reason: "its signature content cannot be read unambiguously".into(),
            });
        }
        Ok(bundle)
    }
}

/// Parses a bundle strictly: duplicate object keys and trailing data are
/// malformed.
fn strict_json(bundle_json: &[u8]) -> Result<dsse::json::Tree<'_>, Error> {
    crate::error::at_most("bundle", bundle_json.len(), "bytes", MAX_BUNDLE_BYTES)?;
    parse_strictly(bundle_json, "bundle")
}

/// `json` (a bundle or a payload, `what`) parsed strictly.
fn parse_strictly<'j>(json: &'j [u8], what: &'static str) -> Result<dsse::json::Tree<'j>, Error> {
    dsse::json::Tree::parse(json).map_err(|e| Error::Malformed {
        what,
        reason: match std::error::Error::source(&e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    })
}

/// Whether `payload` is a Statement without subjects: a bundle of it binds
/// no artifact, and only [`super::BundleVerifier::verify_unbound`] verifies it.
pub(crate) fn binds_no_artifact(payload: &[u8]) -> bool {
    read_statement(payload).is_ok_and(|s| matches!(first_subject_digest(&s), Ok(None)))
}

/// Reads a signed payload as a Statement: strictly (duplicate keys
/// refused), into `attest`'s type, by the rule every command applies to
/// subjects (lower-case hex of the algorithm's length).
pub(super) fn read_statement(payload: &[u8]) -> Result<attest::Statement, Error> {
    let tree = parse_strictly(payload, "attestation statement")?;
    attest::Statement::decode(tree.root()).map_err(|e| Error::Malformed {
        what: "attestation statement",
        reason: e.to_string(),
    })
}

/// The first subject digest of a Statement usable for binding; `None` for
/// a Statement without subjects (`"subject": []`), which binds nothing.
pub(super) fn first_subject_digest(
    statement: &attest::Statement,
) -> Result<Option<Artifact<'static>>, Error> {
    if statement.subject.is_empty() {
        return Ok(None);
    }
    for digest in statement.subject.iter().filter_map(|s| s.digest.as_ref()) {
        let bytes_of = |alg: &str| digest.get(alg).and_then(|h| hex::decode(h).ok());
        if let Some(bytes) = bytes_of("sha256").and_then(|b| <[u8; 32]>::try_from(b).ok()) {
            return Ok(Some(Artifact::Sha256(bytes)));
        }
        if let Some(bytes) = bytes_of("sha512").and_then(|b| <[u8; 64]>::try_from(b).ok()) {
            return Ok(Some(Artifact::Sha512(bytes)));
        }
    }
    Err(Error::Malformed {
        what: "attestation statement",
        reason: "no subject with a sha256 or sha512 digest".into(),
    })
}
