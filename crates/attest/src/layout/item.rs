//! The items of a supply chain: a [`Step`] (who may perform it, what it
//! may touch, the checks on its functionaries' certificates) and an
//! [`Inspection`] (a command run at verification time).

use std::collections::BTreeMap;

use crate::error::Error;
use crate::provenance::SourcePolicy;
use crate::rules::Rule;
use crate::x509::CertConstraint;

use super::*;

/// A step of the supply chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Step name.
    pub name: StepName,
    /// Rules for the materials.
    pub expected_materials: Vec<Rule>,
    /// Rules for the products.
    pub expected_products: Vec<Rule>,
    /// Key ids of the functionaries allowed to perform the step.
    pub pubkeys: Vec<String>,
    /// The command the step is expected to run (a mismatch only warns).
    pub expected_command: Vec<String>,
    /// Distinct functionaries that must agree.
    pub threshold: usize,
    /// ITE-7 `cert_constraints` (in-toto-golang's X.509 functionaries): a
    /// Metablock link signed by a certificate that chains to the layout's
    /// `rootcas` and meets one of them counts towards the threshold (see
    /// [`crate::x509`]).
    pub cert_constraints: Vec<CertConstraint>,
    /// Checks on the Fulcio certificate of a keyless functionary's bundle
    /// (`x-toto-github` in the layout JSON): a link counts for the
    /// threshold only when its certificate's claims pass them.
    pub github: Option<GitHubConstraints>,
    /// slsa-verifier's source and builder checks on a keyless
    /// functionary's bundle (`x-toto-slsa` in the layout JSON): its
    /// provenance predicate and its certificate's claims must pass them for
    /// the link to count. The same value `--source-uri`, `--builder-id`, …
    /// build for `verify-attestation`, checked by the same code.
    pub slsa: Option<SourcePolicy>,
}

/// The layout field of a step's [`SourcePolicy`]; the reference ignores it
/// as it does [`GITHUB_CONSTRAINTS_FIELD`].
pub const SLSA_CONSTRAINTS_FIELD: &str = "x-toto-slsa";

/// The layout field of a step's [`GitHubConstraints`]. The reference
/// (in-toto 3.1) reads a step with `Step(**fields)` and ignores it: with
/// Sigstore keys enabled there (they are not by default), a DSSE-signed
/// layout carrying it reads, a Metablock-signed one does not (the
/// reference re-serializes the step fields it knows before checking the
/// signature).
pub const GITHUB_CONSTRAINTS_FIELD: &str = "x-toto-github";

/// `gh attestation verify`'s signer checks, as a step of a layout carries
/// them: checked by the caller's
/// [`FunctionaryVerifier`](crate::FunctionaryVerifier) on the certificate
/// of a keyless functionary's bundle (`attest` reads no certificate).
/// Every field left out is not checked; the meaning of each is gh's flag
/// of the same name (`--repo`, `--signer-workflow`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubConstraints {
    /// `--owner`: the Source Repository Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `--repo OWNER/REPO`: the Source Repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// `--signer-workflow`: the signing workflow (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_workflow: Option<String>,
    /// `--signer-repo OWNER/REPO`: the repository of the signing workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_repo: Option<String>,
    /// `--signer-digest`: the Build Signer Digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_digest: Option<String>,
    /// `--source-ref`: the Source Repository Ref.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    /// `--source-digest`: the Source Repository Digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_digest: Option<String>,
    /// `--deny-self-hosted-runners`: the Runner Environment is
    /// `github-hosted`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deny_self_hosted_runners: bool,
}

impl GitHubConstraints {
    /// True when no check is asked for.
    pub fn is_empty(&self) -> bool {
        *self == GitHubConstraints::default()
    }
}

/// An inspection: a command run during verification.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// Inspection name.
    pub name: StepName,
    /// Rules for the materials.
    pub expected_materials: Vec<Rule>,
    /// Rules for the products.
    pub expected_products: Vec<Rule>,
    /// The command, as argv.
    pub run: Vec<String>,
}

/// A step's certificate constraints (`x-toto-github`, `x-toto-slsa`) are
/// well-formed and its functionaries all keyless.
pub(crate) fn certificate_constraints(
    name: &StepName,
    github: &Option<GitHubConstraints>,
    slsa: &Option<SourcePolicy>,
    pubkeys: &[String],
    keys: &BTreeMap<String, Functionary>,
) -> Result<(), Error> {
    if github.is_some() {
        keyless_only(name, GITHUB_CONSTRAINTS_FIELD, pubkeys, keys)?;
    }
    if let Some(slsa) = slsa {
        keyless_only(name, SLSA_CONSTRAINTS_FIELD, pubkeys, keys)?;
        slsa.validate()
            .map_err(|e| malformed(format!("step {name}: {SLSA_CONSTRAINTS_FIELD}: {e}")))?;
    }
    Ok(())
}

/// Certificate constraints need certificates: a step carrying them lists
/// keyless functionaries only (a key-signed link could not be checked, and
/// counting it would skip the constraints).
fn keyless_only(
    name: &StepName,
    field: &str,
    pubkeys: &[String],
    keys: &BTreeMap<String, Functionary>,
) -> Result<(), Error> {
    for keyid in pubkeys {
        if !matches!(keys.get(keyid), Some(Functionary::Sigstore { .. })) {
            return Err(malformed(format!(
                "step {name}: {field} checks certificates, but functionary \
                 {keyid} is not a keyless identity"
            )));
        }
    }
    Ok(())
}
