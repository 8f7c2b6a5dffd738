//! Attestation bundles (a DSSE envelope around a Statement): the payload
//! returned from the one bundle verified, bound to a subject or not, and
//! `attest`'s verifier of keyless functionaries.

use sigstore_verify::types::SignatureContent;

use crate::error::Error;
use crate::policy::GitHubSigner;

use super::verifier::{signer, Signer};
use super::*;

impl BundleVerifier {
    /// Verifies an attestation bundle (a DSSE envelope around an in-toto
    /// Statement) under `policy`, and returns the payload it signs.
    ///
    /// With `subject`, the artifact must be one of the Statement's subjects.
    /// Without, the bundle is verified bound to the Statement's own first
    /// subject: the signature, certificate and log checks are complete, and
    /// which subjects matter is then the caller's policy. A Statement with
    /// no subject at all (an in-toto link of a step without products) binds
    /// nothing: `sigstore-verify` cannot verify its bundle, toto verifies it
    /// itself, only in the shape toto's signer writes (a v0.3 bundle, a P-256
    /// Fulcio certificate, one Rekor v1 `dsse` 0.0.1 entry with SET and
    /// inclusion proof, no RFC 3161 timestamp).
    pub fn verify_attestation(
        &self,
        bundle_json: &[u8],
        subject: Option<Artifact<'_>>,
        policy: &Policy,
    ) -> Result<VerifiedAttestation, Error> {
        let parsed = self.read(bundle_json)?;
        if parsed.content != Content::DsseEnvelope {
            return Err(Error::Malformed {
                what: "attestation bundle",
                reason: "no dsseEnvelope: this bundle signs a blob, not an attestation".into(),
            });
        }
        // One typed value: the envelope whose signature is verified below is
        // the one whose payload is returned.
        let bundle = parsed.typed()?;
        let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
            return Err(Error::Malformed {
                what: "attestation bundle",
                reason: "no dsseEnvelope: this bundle signs a blob, not an attestation".into(),
            });
        };
        let payload = envelope.payload.as_bytes();
        // The Statement is read once, here; its subjects bind the bundle
        // when no artifact is given, and callers get it with the payload.
        let statement = match (&subject, envelope.payload_type == attest::PAYLOAD_TYPE) {
            (Some(_), false) => None,
            _ => Some(read_statement(payload)?),
        };
        let binding = match (subject, &statement) {
            (Some(artifact), _) => Some(artifact),
            (None, Some(statement)) => first_subject_digest(statement)?,
            (None, None) => None,
        };
        let verified = match binding {
            Some(binding) => self.general(&bundle, binding, policy)?,
            None => self.verify_unbound(&parsed, policy)?,
        };
        Ok(VerifiedAttestation {
            verified,
            payload_type: envelope.payload_type.clone(),
            payload: payload.to_vec(),
            statement,
        })
    }
}

/// `keyless` is `attest`'s verifier of keyless functionaries: a Sigstore
/// bundle around a DSSE envelope, signed by the functionary's identity.
impl attest::FunctionaryVerifier for BundleVerifier {
    fn verify_evidence(
        &self,
        evidence: &[u8],
        identity: &str,
        issuer: &str,
        constraints: attest::StepConstraints<'_>,
    ) -> Result<attest::VerifiedPayload, attest::Error> {
        let policy = Policy::Identity {
            identity: identity.to_owned(),
            issuer: issuer.to_owned(),
        };
        let attestation = self
            .verify_attestation(evidence, None, &policy)
            .map_err(|e| attest::Error::Malformed {
                what: "bundle",
                reason: e.to_string(),
            })?;
        if let Some(slsa) = constraints.slsa {
            // The same check as `verify-attestation --source-uri …`, on the
            // Statement this verifier read and the certificate it verified.
            slsa.check(
                attestation.statement(),
                &crate::provenance::certificate_source(&attestation.verified().claims),
            )?;
        }
        let VerifiedAttestation {
            verified,
            payload_type,
            payload,
            ..
        } = attestation;
        if let Some(github) = constraints.github {
            // The functionary names the identity exactly: as with
            // `--cert-identity`, `repo`/`owner` add no identity requirement.
            GitHubSigner::from(github)
                .check_verified(&verified, true)
                .map_err(|e| match e {
                    Error::Mismatch {
                        field,
                        expected,
                        found,
                    } => attest::Error::Constraint {
                        field,
                        expected,
                        found,
                    },
                    other => attest::Error::Malformed {
                        what: "step github constraints",
                        reason: other.to_string(),
                    },
                })?;
        }
        let (Some(identity), Some(issuer)) = (verified.identity, verified.issuer) else {
            return Err(attest::Error::Malformed {
                what: "bundle",
                reason: "verified without a certificate identity".into(),
            });
        };
        Ok(attest::VerifiedPayload::new(
            payload_type,
            payload,
            attest::SignerIdentity::Sigstore { identity, issuer },
        ))
    }
}

impl BundleVerifier {
    /// Verifies a DSSE bundle whose Statement has no subject, so binds no
    /// artifact. `sigstore-verify` 0.15.1 cannot (it refuses "in-toto
    /// statement has no subjects"); sigstore-python can (`verify_dsse`
    /// needs no artifact). toto verifies it itself, with every check of its
    /// fast path, in the shape its signer writes: a v0.3 bundle, a P-256
    /// Fulcio certificate, one Rekor v1 `dsse` 0.0.1 entry with SET and
    /// inclusion proof, no RFC 3161 timestamp. Any other shape is refused.
    fn verify_unbound(&self, parsed: &Parsed<'_>, policy: &Policy) -> Result<Verified, Error> {
        let refused = |why: &str| Error::Verification {
            reason: format!(
                "the Statement has no subject, so the bundle binds no artifact; toto verifies \
                 such a bundle only as its signer writes it (a P-256 Fulcio certificate, one \
                 Rekor v1 dsse entry with SET and inclusion proof): {why}"
            ),
        };
        let Signer::Certificate(wanted) = signer(policy) else {
            return Err(refused("signed by a managed key"));
        };
        let fast = self
            .fast
            .as_ref()
            .ok_or_else(|| refused("the trusted root's keys are not all ECDSA"))?;
        fast.verify_unbound_dsse(parsed.tree.root(), &wanted, jiff::Timestamp::now())
            .map_err(refused)
    }
}
