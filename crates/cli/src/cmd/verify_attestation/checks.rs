//! What every attestation `verify-attestation` reads is held to, whichever
//! layout it came in: the signer, subjects, predicate type, predicate
//! requirements, gh's and slsa-verifier's signer checks, a verification
//! summary's expectations, and a Rego policy last.

use anyhow::{Context, Result};
use attest::predicate::PredicateRequirement;
use keyless::Artifact;

use crate::verdict::VerificationFailed;

/// The signature, signer, subjects, predicate type and predicate checks of
/// one bundle: the verified attestation and its Statement, or why not
/// (a [`VerificationFailed`] or [`keyless::Error`] in the chain for exit 1).
/// What each bundle is checked for.
pub(crate) struct Checks<'a> {
    pub(crate) policy: &'a keyless::Policy,
    pub(crate) subjects: &'a [(String, Vec<Artifact<'a>>)],
    pub(crate) predicate_type: Option<&'a str>,
    pub(crate) requirements: &'a [PredicateRequirement],
    pub(crate) source: &'a keyless::provenance::SourcePolicy,
    /// The policy file's gh checks, and whether the command line named the
    /// signer's identity.
    pub(crate) file_github: Option<(&'a keyless::policy::GitHubSigner, bool)>,
    pub(crate) file_source: &'a keyless::provenance::SourcePolicy,
    /// Evaluated last, on what every other check accepted.
    pub(crate) rego: Option<&'a keyless::rego::RegoPolicy>,
    /// What a verification summary must show (with the VSA predicate type).
    pub(crate) vsa: Option<&'a attest::vsa::VsaExpectations>,
}

/// A verification summary's result and the expectations asked of it
/// (`--verified-level`, …), when the predicate type is the VSA's.
pub(crate) fn vsa_holds(
    expected: Option<&attest::vsa::VsaExpectations>,
    statement: &attest::Statement,
) -> Result<()> {
    if let Some(expected) = expected {
        attest::vsa::VerificationSummary::from_statement(statement)
            .and_then(|summary| expected.check(&summary))
            .map_err(|e| VerificationFailed(e.to_string()))?;
    }
    Ok(())
}

/// `bundle` verified by `verifier` for the signer of `checks`, then held
/// to [`check_verified`].
pub(crate) fn check(
    verifier: &keyless::BundleVerifier,
    bundle: &[u8],
    checks: &Checks<'_>,
    shown: &str,
) -> Result<(keyless::VerifiedAttestation, attest::Statement)> {
    let attestation = verifier
        .verify_attestation(bundle, None, checks.policy)
        .with_context(|| format!("cannot verify {shown}"))?;
    let statement = check_verified(&attestation, checks)?;
    Ok((attestation, statement))
}

/// Every check after the signature's on an attestation a verifier
/// returned (a bundle's, a cosign `.att` layer's): its Statement, read from
/// what the verifier read and returned.
pub(crate) fn check_verified(
    attestation: &keyless::VerifiedAttestation,
    checks: &Checks<'_>,
) -> Result<attest::Statement> {
    let Checks {
        policy: _,
        subjects,
        predicate_type,
        requirements,
        source,
        file_github,
        file_source,
        rego,
        vsa,
    } = *checks;
    let statement = verified_statement(attestation)?;
    keyless::attestation::check_statement(&statement, subjects, predicate_type, requirements)?;
    keyless::provenance::check(source, attestation)?;
    if let Some((github, identity_given)) = file_github {
        github
            .check_verified(attestation.verified(), identity_given)
            .context("policy [github]")?;
    }
    keyless::provenance::check(file_source, attestation).context("policy [slsa]")?;
    vsa_holds(vsa, &statement)?;
    if let Some(rego) = rego {
        rego.evaluate(attestation)?;
    }
    Ok(statement)
}

/// The Statement a verified attestation signs, as the verifier read it
/// (strictly, by [`attest::Statement`]'s rules: every subject digest
/// lower-case hex, of the algorithm's length when the algorithm is known).
pub(crate) fn verified_statement(
    attestation: &keyless::VerifiedAttestation,
) -> Result<attest::Statement> {
    attestation.statement().cloned().ok_or_else(|| {
        anyhow::anyhow!(
            "the signed payload is of type {:?}, not an in-toto Statement ({})",
            attestation.payload_type(),
            attest::PAYLOAD_TYPE
        )
    })
}
