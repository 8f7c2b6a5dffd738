//! The values callers hand a bundle verifier and get back from it: the
//! artifact a bundle is about, the trusted root, what a verification
//! established and a verified attestation's payload.

use sigstore_verify::trust_root::{TrustedRoot, SIGSTORE_PRODUCTION_TRUSTED_ROOT};

use crate::error::Error;
use crate::policy::CertificateClaims;

/// Largest bundle accepted, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;

/// The artifact a bundle is about.
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// Only its SHA-256 digest.
    Sha256([u8; 32]),
    /// Only its SHA-512 digest (attestations only: npm provenance names
    /// subjects by SHA-512).
    Sha512([u8; 64]),
    /// A file, never held in memory when avoidable: `sha256` (which the
    /// caller computed streaming, once for any number of bundles) serves
    /// every bundle whose checks need only that; a bundle that needs another
    /// digest is verified while the file is streamed again; a signature
    /// scheme that signs the raw bytes (Ed25519) reads the file, up to
    /// [`MAX_RAW_ARTIFACT_BYTES`](super::MAX_RAW_ARTIFACT_BYTES). What is
    /// read again must hash to `sha256` ([`file`]).
    File {
        /// The file.
        path: &'a std::path::Path,
        /// Its SHA-256.
        sha256: [u8; 32],
    },
}

/// A verified attestation: the DSSE payload the signature covered, taken
/// from the one typed bundle that was verified. Only
/// [`BundleVerifier::verify_attestation`](super::BundleVerifier::verify_attestation)
/// makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAttestation {
    pub(super) verified: Verified,
    pub(super) payload_type: String,
    pub(super) payload: Vec<u8>,
    /// The payload read as a Statement, when its type is in-toto's.
    pub(super) statement: Option<attest::Statement>,
}

impl VerifiedAttestation {
    /// Who signed, and what the verification established.
    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    /// The DSSE payload type (`application/vnd.in-toto+json`).
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The payload bytes (an in-toto Statement), as signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The Statement the payload is, read once, strictly, by
    /// [`attest::Statement`]'s rules (`None` when the payload type is not
    /// in-toto's: only a bundle verified against a given artifact can have
    /// another).
    pub fn statement(&self) -> Option<&attest::Statement> {
        self.statement.as_ref()
    }
}

/// A Sigstore trusted root (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`).
#[derive(Debug, Clone)]
pub struct TrustRoot(pub(super) TrustedRoot);

impl TrustRoot {
    /// The public-good Sigstore trusted root, as embedded in this binary.
    pub fn public_good() -> Result<TrustRoot, Error> {
        TrustRoot::from_json(SIGSTORE_PRODUCTION_TRUSTED_ROOT)
    }

    /// Reads a trusted root from its JSON.
    pub fn from_json(json: &str) -> Result<TrustRoot, Error> {
        TrustedRoot::from_json(json)
            .map(TrustRoot)
            .map_err(|e| Error::Malformed {
                what: "trusted root",
                reason: e.to_string(),
            })
    }
}

/// What a verified bundle established.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verified {
    /// The certificate identity (SAN), for certificate bundles.
    pub identity: Option<String>,
    /// The OIDC issuer, for certificate bundles.
    pub issuer: Option<String>,
    /// Authenticated times used (RFC 3339).
    pub times: Vec<String>,
    /// Whether the transparency log inclusion was verified.
    pub tlog_verified: bool,
    /// The certificate's claims about the workload it was issued to
    /// (empty for a managed key).
    pub claims: CertificateClaims,
}
