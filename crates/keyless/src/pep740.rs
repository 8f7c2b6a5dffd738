//! PEP 740 attestations (PyPI's "digital attestations"), read as Sigstore
//! bundles.
//!
//! PyPI does not serve Sigstore bundles: it serves the PEP 740 shapes that the
//! `pypi-attestations` package defines.
//!
//! - An *attestation object*:
//!   `{"version": 1, "verification_material": {"certificate": B64(DER),
//!   "transparency_entries": [ENTRY, …]}, "envelope": {"statement": B64,
//!   "signature": B64}}`, where `statement` is the DSSE payload (an in-toto
//!   Statement), `signature` the one DSSE signature, and each `ENTRY` a Rekor
//!   log entry in the protobuf-specs `TransparencyLogEntry` JSON form.
//! - A *provenance object* (what `https://pypi.org/integrity/<project>/<version>/<file>/provenance`
//!   returns): `{"version": 1, "attestation_bundles": [{"publisher": {…},
//!   "attestations": [ATTESTATION, …]}, …]}`.
//!
//! Each attestation becomes a bundle v0.3 (`certificate`, the first
//! transparency entry, a `dsseEnvelope` of payload type
//! `application/vnd.in-toto+json`), exactly what `pypi-attestations`'
//! `Attestation.to_bundle` builds, and is then verified like any other
//! bundle, so every check (chain, SCT, log entry, signature over the PAE)
//! applies unchanged. The conversion copies bytes; it decides nothing.
//!
//! Reading is strict: duplicate keys, trailing data, unknown fields, a
//! `version` other than 1, non-canonical or empty base64, and missing parts
//! are malformed input; the counts are bounded by [`MAX_ATTESTATIONS`] and
//! [`MAX_TRANSPARENCY_ENTRIES`]. Deliberately unsupported: the
//! provenance object's `publisher` is PyPI's statement about the Trusted
//! Publisher, signed by nothing; it must be an object with a `kind` (its
//! other fields vary by kind and are left open) and is never used as
//! evidence: require the signer's identity with a policy instead.
//!
//! Specification: <https://peps.python.org/pep-0740/> ("Attestation objects",
//! "Provenance objects").

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::bundle::{Error, MAX_BUNDLE_BYTES};
use crate::document::{known_fields, known_object};

/// Most attestations read from one provenance object.
pub const MAX_ATTESTATIONS: usize = 64;

/// Most transparency entries one attestation may list (only the first is
/// used, as `pypi-attestations` does).
pub const MAX_TRANSPARENCY_ENTRIES: usize = 16;

/// The DSSE payload type of every PEP 740 envelope.
const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Which PEP 740 object a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One attestation object.
    Attestation,
    /// A provenance object holding attestation bundles.
    Provenance,
}

/// Tells a PEP 740 document from a Sigstore bundle by its top-level keys,
/// without judging the rest: a JSON object without `mediaType` that has
/// `attestation_bundles` (provenance) or `envelope` (attestation).
/// `None` for anything else, including JSON that does not parse.
pub fn detect(json: &[u8]) -> Option<Shape> {
    if json.len() > MAX_BUNDLE_BYTES {
        return None;
    }
    let value = dsse::cjson::parse_strict(json).ok()?;
    let object = value.as_object()?;
    if object.contains_key("mediaType") {
        return None;
    }
    if object.contains_key("attestation_bundles") {
        Some(Shape::Provenance)
    } else if object.contains_key("envelope") {
        Some(Shape::Attestation)
    } else {
        None
    }
}

/// Converts a PEP 740 attestation object or provenance object into one
/// Sigstore bundle v0.3 (JSON bytes) per attestation, in document order.
pub fn to_bundles(json: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    crate::error::at_most(WHAT, json.len(), "bytes", MAX_BUNDLE_BYTES)?;
    let value = dsse::cjson::parse_strict(json).map_err(|e| {
        malformed(match std::error::Error::source(&e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        })
    })?;
    let top = value
        .as_object()
        .ok_or_else(|| malformed("not a JSON object".into()))?;
    if top.contains_key("attestation_bundles") {
        provenance(top)
    } else {
        Ok(vec![attestation(top, "attestation")?])
    }
}

const WHAT: &str = "PEP 740 attestation";

fn malformed(reason: String) -> Error {
    crate::error::malformed(WHAT, reason)
}

/// The object `key` of `object` (`at`), holding no field but `known`, and
/// where it is (`at.key`).
fn member<'a>(
    object: &'a Map<String, Value>,
    at: &str,
    key: &str,
    known: &[&str],
) -> Result<(&'a Map<String, Value>, String), Error> {
    let member_at = format!("{at}.{key}");
    let member = known_object(WHAT, field(object, at, key)?, &member_at, known)?;
    Ok((member, member_at))
}

fn field<'a>(object: &'a Map<String, Value>, at: &str, key: &str) -> Result<&'a Value, Error> {
    object
        .get(key)
        .ok_or_else(|| malformed(format!("{at} has no {key}")))
}

fn version_one(object: &Map<String, Value>, at: &str) -> Result<(), Error> {
    match field(object, at, "version")?.as_u64() {
        Some(1) => Ok(()),
        _ => Err(malformed(format!(
            "{at} has version {}, only 1 is defined",
            object
                .get("version")
                .map_or_else(String::new, Value::to_string)
        ))),
    }
}

/// Decodes standard, padded, canonical base64; empty is malformed.
fn base64_field(object: &Map<String, Value>, at: &str, key: &str) -> Result<Vec<u8>, Error> {
    let text = field(object, at, key)?
        .as_str()
        .ok_or_else(|| malformed(format!("{at}.{key} is not a string")))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| malformed(format!("{at}.{key} is not base64")))?;
    if bytes.is_empty() {
        return Err(malformed(format!("{at}.{key} is empty")));
    }
    Ok(bytes)
}

fn array<'a>(
    object: &'a Map<String, Value>,
    at: &str,
    key: &str,
    max: usize,
) -> Result<&'a Vec<Value>, Error> {
    let items = field(object, at, key)?
        .as_array()
        .ok_or_else(|| malformed(format!("{at}.{key} is not a list")))?;
    if items.is_empty() {
        return Err(malformed(format!("{at}.{key} is empty")));
    }
    if items.len() > max {
        return Err(malformed(format!(
            "{at}.{key} has {} items, over the limit of {max}",
            items.len()
        )));
    }
    Ok(items)
}

fn provenance(top: &Map<String, Value>) -> Result<Vec<Vec<u8>>, Error> {
    let at = "provenance";
    known_fields(WHAT, top, at, &["version", "attestation_bundles"])?;
    version_one(top, at)?;
    let groups = array(top, at, "attestation_bundles", MAX_ATTESTATIONS)?;
    let mut bundles = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let at = format!("attestation_bundles[{i}]");
        let group = known_object(WHAT, group, &at, &["publisher", "attestations"])?;
        // PyPI's word about the Trusted Publisher: an object with a kind,
        // its other fields open (they vary by kind and grow); never evidence.
        let publisher = field(group, &at, "publisher")?
            .as_object()
            .ok_or_else(|| malformed(format!("{at}.publisher is not an object")))?;
        if !publisher.get("kind").is_some_and(Value::is_string) {
            return Err(malformed(format!("{at}.publisher has no kind")));
        }
        let items = array(group, &at, "attestations", MAX_ATTESTATIONS)?;
        if bundles.len() + items.len() > MAX_ATTESTATIONS {
            return Err(malformed(format!(
                "more than {MAX_ATTESTATIONS} attestations"
            )));
        }
        for (j, item) in items.iter().enumerate() {
            let at = format!("{at}.attestations[{j}]");
            let item = item
                .as_object()
                .ok_or_else(|| malformed(format!("{at} is not an object")))?;
            bundles.push(attestation(item, &at)?);
        }
    }
    Ok(bundles)
}

/// One attestation object as a bundle v0.3.
fn attestation(top: &Map<String, Value>, at: &str) -> Result<Vec<u8>, Error> {
    known_fields(
        WHAT,
        top,
        at,
        &["version", "verification_material", "envelope"],
    )?;
    version_one(top, at)?;
    let (material, material_at) = member(
        top,
        at,
        "verification_material",
        &["certificate", "transparency_entries"],
    )?;
    let certificate = base64_field(material, &material_at, "certificate")?;
    let entries = array(
        material,
        &material_at,
        "transparency_entries",
        MAX_TRANSPARENCY_ENTRIES,
    )?;
    if let Some(i) = entries.iter().position(|e| !e.is_object()) {
        return Err(malformed(format!(
            "{material_at}.transparency_entries[{i}] is not an object"
        )));
    }
    let entry = entries
        .first()
        .ok_or_else(|| malformed(format!("{material_at}.transparency_entries is empty")))?;
    let (envelope, envelope_at) = member(top, at, "envelope", &["statement", "signature"])?;
    let statement = base64_field(envelope, &envelope_at, "statement")?;
    let signature = base64_field(envelope, &envelope_at, "signature")?;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let bundle = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": b64(&certificate)},
            "tlogEntries": [entry],
        },
        "dsseEnvelope": {
            "payload": b64(&statement),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": b64(&signature)}],
        },
    });
    serde_json::to_vec(&bundle).map_err(|e| malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{Artifact, BundleVerifier, CertificatePolicy, Policy, TrustRoot};

    const PROVENANCE: &[u8] =
        include_bytes!("../../../testdata/real-world/pypi_attestations-0.0.19.tar.gz.provenance");
    const SLSA: &[u8] = include_bytes!(
        "../../../testdata/real-world/pypi_attestations-0.0.19.tar.gz.slsa.attestation"
    );
    const SDIST: &[u8] =
        include_bytes!("../../../testdata/real-world/pypi_attestations-0.0.19.tar.gz");

    fn policy() -> Policy {
        Policy::Certificate(CertificatePolicy {
            identity: Some(
                "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"
                    .into(),
            ),
            issuer: "https://token.actions.githubusercontent.com".into(),
            ..CertificatePolicy::default()
        })
    }

    fn edit(doc: &[u8], change: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut value: Value = serde_json::from_slice(doc).unwrap();
        change(&mut value);
        serde_json::to_vec(&value).unwrap()
    }

    fn refused(doc: &[u8], expected: &str) {
        match to_bundles(doc) {
            Err(Error::Malformed { what, reason }) => {
                assert_eq!(what, "PEP 740 attestation");
                assert!(reason.contains(expected), "{reason:?} lacks {expected:?}");
            }
            other => panic!("accepted ({expected}): {other:?}"),
        }
    }

    #[test]
    fn real_pypi_attestations_convert_and_verify_offline() {
        assert_eq!(detect(PROVENANCE), Some(Shape::Provenance));
        assert_eq!(detect(SLSA), Some(Shape::Attestation));
        let verifier = BundleVerifier::new(&TrustRoot::public_good().unwrap()).unwrap();
        for (doc, predicate_type) in [
            (PROVENANCE, "https://docs.pypi.org/attestations/publish/v1"),
            (SLSA, "https://slsa.dev/provenance/v1"),
        ] {
            let bundles = to_bundles(doc).unwrap();
            assert_eq!(bundles.len(), 1);
            let bundle = &bundles[0];
            assert_eq!(detect(bundle), None, "a converted bundle is a bundle");
            let verified = verifier
                .verify_attestation(bundle, Some(Artifact::Bytes(SDIST)), &policy())
                .unwrap();
            let statement: Value = serde_json::from_slice(verified.payload()).unwrap();
            assert_eq!(statement["predicateType"], predicate_type);
            assert!(verifier
                .verify_attestation(bundle, Some(Artifact::Bytes(b"another sdist")), &policy())
                .is_err());
        }
    }

    #[test]
    fn a_sigstore_bundle_is_not_pep740() {
        assert_eq!(detect(br#"{"mediaType":"x","envelope":{}}"#), None);
        assert_eq!(detect(b"not json"), None);
        assert_eq!(detect(b"[1]"), None);
    }

    #[test]
    fn malformed_documents_are_refused_by_name() {
        refused(b"{} trailing", "trailing");
        refused(br#"{"version":1,"version":1}"#, "duplicate");
        refused(&edit(SLSA, |v| v["version"] = 2.into()), "version 2");
        refused(
            &edit(SLSA, |v| v["extra"] = 1.into()),
            "unknown field \"extra\"",
        );
        refused(
            &edit(SLSA, |v| v["envelope"]["payloadType"] = "text/plain".into()),
            "unknown field \"payloadType\"",
        );
        refused(
            &edit(SLSA, |v| v["envelope"]["signature"] = "not base64!".into()),
            "signature is not base64",
        );
        refused(
            &edit(SLSA, |v| v["envelope"]["statement"] = "".into()),
            "statement is empty",
        );
        refused(
            &edit(SLSA, |v| {
                v["verification_material"]["transparency_entries"] = Value::Array(vec![])
            }),
            "transparency_entries is empty",
        );
        refused(
            &edit(SLSA, |v| {
                v["verification_material"]["transparency_entries"] =
                    Value::Array(vec![Value::Null; MAX_TRANSPARENCY_ENTRIES + 1])
            }),
            "over the limit",
        );
        refused(
            &edit(SLSA, |v| {
                v["verification_material"]["transparency_entries"] = Value::Array(vec![1.into()])
            }),
            "is not an object",
        );
        refused(
            &edit(PROVENANCE, |v| {
                v["attestation_bundles"][0]["publisher"] = Value::Null
            }),
            "publisher is not an object",
        );
        refused(
            &edit(PROVENANCE, |v| {
                v["attestation_bundles"] = Value::Array(vec![])
            }),
            "attestation_bundles is empty",
        );
        refused(
            &edit(PROVENANCE, |v| {
                let one = v["attestation_bundles"][0]["attestations"][0].clone();
                v["attestation_bundles"][0]["attestations"] =
                    Value::Array(vec![one; MAX_ATTESTATIONS + 1]);
            }),
            "over the limit",
        );
    }

    /// A converted bundle carries the signature over the statement it was
    /// given: swapping statements between two genuine attestations of the
    /// same signer cannot verify.
    #[test]
    fn swapped_statement_does_not_verify() {
        let publish: Value = serde_json::from_slice(PROVENANCE).unwrap();
        let statement =
            publish["attestation_bundles"][0]["attestations"][0]["envelope"]["statement"].clone();
        let swapped = edit(SLSA, |v| v["envelope"]["statement"] = statement);
        let bundle = to_bundles(&swapped).unwrap().remove(0);
        let verifier = BundleVerifier::new(&TrustRoot::public_good().unwrap()).unwrap();
        let err = verifier
            .verify_attestation(&bundle, Some(Artifact::Bytes(SDIST)), &policy())
            .unwrap_err();
        assert!(err.is_verification_failure(), "{err}");
    }
}
