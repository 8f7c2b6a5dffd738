//! What a verifier established: the payload its signature covers and who
//! signed it, as one value.
//!
//! `attest` knows no Sigstore. A keyless functionary's evidence (a Sigstore
//! bundle) is checked by a [`FunctionaryVerifier`] that the caller wires in
//! (`keyless` implements it); what the layout verifier then reads as the
//! step's link is the [`VerifiedPayload`] that verifier returned, never a
//! second reading of the evidence's bytes.

use crate::error::Error;
use crate::layout::GitHubConstraints;
use crate::provenance::SourcePolicy;

/// Who signed, as a verifier established it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SignerIdentity {
    /// A key, by its key id.
    Key {
        /// The key id.
        keyid: String,
    },
    /// A Sigstore (Fulcio certificate) identity vouched for by an OIDC issuer.
    Sigstore {
        /// The certificate identity (an email, URI or username `otherName` SAN).
        identity: String,
        /// The OIDC issuer.
        issuer: String,
    },
}

impl std::fmt::Display for SignerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignerIdentity::Key { keyid } => write!(f, "key {keyid}"),
            SignerIdentity::Sigstore { identity, issuer } => write!(f, "{identity} ({issuer})"),
        }
    }
}

/// A payload whose signature a verifier checked, with its type and signer.
///
/// The fields are private: callers read what the verifier returned and
/// cannot swap in other bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPayload {
    payload_type: String,
    payload: Vec<u8>,
    signer: SignerIdentity,
}

impl VerifiedPayload {
    /// For verifiers: `payload` (of `payload_type`) is exactly the bytes
    /// whose signature by `signer` was just checked.
    pub fn new(payload_type: String, payload: Vec<u8>, signer: SignerIdentity) -> VerifiedPayload {
        VerifiedPayload {
            payload_type,
            payload,
            signer,
        }
    }

    /// The payload type (DSSE `payloadType`).
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The payload, as signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Who signed it.
    pub fn signer(&self) -> &SignerIdentity {
        &self.signer
    }
}

/// Verifies the evidence of a keyless functionary.
pub trait FunctionaryVerifier {
    /// Verifies `evidence` (a Sigstore bundle around a DSSE envelope) as
    /// signed by `identity`, vouched for by `issuer`, with a certificate
    /// (and, for `slsa`, a signed Statement) that passes the step's
    /// constraints, and returns the payload it signs. Refusals are errors
    /// whose message says why; a failed constraint is
    /// [`Error::Constraint`]. A verifier that cannot check constraints must
    /// refuse evidence when given some.
    fn verify_evidence(
        &self,
        evidence: &[u8],
        identity: &str,
        issuer: &str,
        constraints: StepConstraints<'_>,
    ) -> Result<VerifiedPayload, Error>;
}

/// A step's checks on a keyless functionary's bundle, beyond its identity.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct StepConstraints<'a> {
    /// gh's signer checks on the certificate (`x-toto-github`).
    pub github: Option<&'a GitHubConstraints>,
    /// slsa-verifier's source and builder checks (`x-toto-slsa`), by
    /// [`SourcePolicy::check`] on the signed Statement and the certificate.
    pub slsa: Option<&'a SourcePolicy>,
}

impl<'a> StepConstraints<'a> {
    /// The constraints of `step`.
    pub fn of(step: &'a crate::layout::Step) -> StepConstraints<'a> {
        StepConstraints {
            github: step.github.as_ref(),
            slsa: step.slsa.as_ref(),
        }
    }

    /// True when nothing beyond the identity is checked.
    pub fn is_empty(&self) -> bool {
        self.github.is_none() && self.slsa.is_none()
    }
}
