//! Bundle verification, behind toto's own types: callers never see
//! `sigstore-verify`'s, so its API churn stays in this file.
//!
//! One file per job: `model` (what callers pass and get back), `identity`
//! (who may have signed), `verifier` (the [`BundleVerifier`]), `attestation`
//! (DSSE attestations and `attest`'s functionary verifier); below them,
//! `parsed` and `schema` (a bundle read strictly, once), `fast` (the fast
//! path), `profile`, `checkpoint`, `sct`, `san`, `timestamps` (toto's own
//! checks) and `file` (artifacts read again).

pub use crate::error::Error;

mod attestation;
mod checkpoint;
mod fast;
mod file;
mod identity;
mod model;
mod parsed;
mod profile;
mod san;
mod schema;
mod sct;
mod timestamps;
mod verifier;

pub(crate) use identity::claims_of;
pub use identity::{CertificatePolicy, Policy};
pub use model::{Artifact, TrustRoot, Verified, VerifiedAttestation, MAX_BUNDLE_BYTES};
pub use timestamps::MAX_TIMESTAMPS;
use verifier::failed;
pub use verifier::BundleVerifier;

use file::Input;
pub use file::MAX_RAW_ARTIFACT_BYTES;
pub(crate) use parsed::binds_no_artifact;
use parsed::{first_subject_digest, read_statement, Content, Parsed};

/// The most signature lines a log entry's checkpoint may have (Go's `note`
/// package's limit). Of those lines, the first whose key hint is the entry's
/// log's is verified, once, and decides.
pub use checkpoint::MAX_SIGNATURE_LINES as MAX_CHECKPOINT_SIGNATURES;

/// Entry points for the fuzz targets (`fuzz/`); not an API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// Reads `json` as [`super::BundleVerifier`] does before verifying:
    /// strictly, with the schema; when it has one meaning, `sigstore-types`
    /// must read the same content from it. `Ok(true)` for a DSSE bundle.
    pub fn read_bundle(json: &[u8]) -> Result<bool, super::Error> {
        let parsed = super::Parsed::read(json)?;
        // `typed` checks that both readers agree on the content.
        parsed.typed()?;
        Ok(parsed.content == super::Content::DsseEnvelope)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    /// Found by tests/e2e/hostile_bundles.rs: `Bundle::from_json` verified
    /// the first of two `dsseEnvelope` keys while the payload returned (and
    /// checked against policies, used as link contents) came from the last,
    /// so anyone could append an unsigned Statement to a genuine bundle.
    #[test]
    fn bug_duplicate_dsse_envelope_key_returned_an_unverified_payload() {
        let envelope = |payload: &str| {
            format!(
                r#"{{"payloadType":"application/vnd.in-toto+json","payload":"{}","signatures":[{{"sig":"AA=="}}]}}"#,
                base64::engine::general_purpose::STANDARD.encode(payload)
            )
        };
        let bundle = format!(
            r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{},"dsseEnvelope":{}}}"#,
            envelope("signed"),
            envelope("forged")
        );
        let refused = |result: Result<(String, Vec<u8>), Error>| match result {
            Err(Error::Malformed { what, reason }) => {
                assert_eq!(what, "bundle");
                assert!(reason.contains("duplicate object key"), "{reason}");
            }
            other => panic!("duplicate keys accepted: {other:?}"),
        };
        refused(Parsed::read(bundle.as_bytes()).map(|_| (String::new(), Vec::new())));
        let verifier = BundleVerifier::new(&TrustRoot::public_good().unwrap()).unwrap();
        let policy = Policy::Identity {
            identity: "a@example.com".into(),
            issuer: "https://issuer.example".into(),
        };
        refused(
            verifier
                .verify(bundle.as_bytes(), Artifact::Bytes(b""), &policy)
                .map(|_| (String::new(), Vec::new())),
        );
    }

    /// Issue #16: the content and the verification material are protobuf
    /// `oneof`s; `sigstore-verify` reads the first member of each and
    /// ignores a second, so a bundle with two has two meanings.
    #[test]
    fn two_contents_or_two_kinds_of_material_are_malformed() {
        let material = r#""verificationMaterial":{"publicKey":{"hint":"x"},"tlogEntries":[{}]}"#;
        let message = r#""messageSignature":{"signature":"AA=="}"#;
        let envelope =
            r#""dsseEnvelope":{"payloadType":"t","payload":"","signatures":[{"sig":"AA=="}]}"#;
        let bundle = |members: &[&str]| format!("{{{}}}", members.join(","));
        let why = |json: String| match Parsed::read(json.as_bytes()) {
            Err(Error::Malformed { what, reason }) => {
                assert_eq!(what, "bundle");
                reason
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("accepted: {json}"),
        };
        for members in [
            [material, message, envelope],
            [material, envelope, message],
            [envelope, material, message],
        ] {
            let reason = why(bundle(&members));
            assert!(
                reason.contains("exactly one of messageSignature or dsseEnvelope"),
                "{reason}"
            );
            assert!(reason.contains("both"), "{reason}");
        }
        assert!(why(bundle(&[material])).contains("neither"));
        let two_materials = r#""verificationMaterial":{"publicKey":{"hint":"x"},"certificate":{"rawBytes":"AA=="}}"#;
        assert!(why(bundle(&[two_materials, message])).contains("this bundle has 2"));
        let no_material = r#""verificationMaterial":{"tlogEntries":[{}]}"#;
        assert!(why(bundle(&[no_material, message])).contains("this bundle has 0"));
        let two_entries =
            r#""verificationMaterial":{"publicKey":{"hint":"x"},"tlogEntries":[{},{}]}"#;
        assert!(why(bundle(&[two_entries, message])).contains("exactly one transparency log entry"));
        let media = r#""mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json""#;
        let entry = r#"{"logIndex":"1","logId":{"keyId":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},"kindVersion":{"kind":"k","version":"v"},"canonicalizedBody":"AA=="}"#;
        let material = format!(
            r#""verificationMaterial":{{"publicKey":{{"hint":"x"}},"tlogEntries":[{entry}]}}"#
        );
        let material = material.as_str();
        let content = |json: String| Parsed::read(json.as_bytes()).map(|p| p.content);
        let envelope =
            r#""dsseEnvelope":{"payloadType":"t","payload":"","signatures":[{"sig":"AA=="}]}"#;
        assert_eq!(
            content(bundle(&[media, material, envelope])).unwrap(),
            Content::DsseEnvelope
        );
        assert_eq!(
            content(bundle(&[message, media, material])).unwrap(),
            Content::MessageSignature
        );
    }
}
