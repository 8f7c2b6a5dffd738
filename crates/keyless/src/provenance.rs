//! SLSA source and builder checks (slsa-verifier's `--source-uri`,
//! `--source-tag`, `--source-branch`, `--source-versioned-tag`,
//! `--builder-id`) on a verified attestation: the checks are
//! [`attest::provenance`]'s, given the Statement the verifier returned and
//! the claims of the certificate it verified.

pub use attest::provenance::{SourcePolicy, SLSA_PROVENANCE_V02, SLSA_PROVENANCE_V1};

use crate::policy::CertificateClaims;
use crate::{Error, VerifiedAttestation};

/// What a verified certificate's claims say of its source, as
/// [`attest::provenance`] reads it.
pub fn certificate_source(claims: &CertificateClaims) -> attest::provenance::CertificateSource<'_> {
    attest::provenance::CertificateSource {
        source_repository_uri: claims.source_repository_uri.as_deref(),
        source_repository_ref: claims.source_repository_ref.as_deref(),
        build_signer_uri: claims.build_signer_uri.as_deref(),
    }
}

/// Checks `policy` on a verified attestation: its Statement's provenance
/// predicate and its certificate's claims. A mismatch is
/// [`Error::Mismatch`] (field, expected, found); a malformed policy,
/// [`Error::Malformed`].
pub fn check(policy: &SourcePolicy, attestation: &VerifiedAttestation) -> Result<(), Error> {
    policy
        .check(
            attestation.statement(),
            &certificate_source(&attestation.verified().claims),
        )
        .map_err(from_attest)
}

/// `attest`'s constraint and form errors as this crate's.
pub(crate) fn from_attest(e: attest::Error) -> Error {
    match e {
        attest::Error::Constraint {
            field,
            expected,
            found,
        } => Error::Mismatch {
            field,
            expected,
            found,
        },
        attest::Error::Malformed { what, reason } => Error::Malformed { what, reason },
        other => Error::Malformed {
            what: "SLSA source policy",
            reason: other.to_string(),
        },
    }
}
