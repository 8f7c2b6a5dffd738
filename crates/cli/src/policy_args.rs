//! The policy flags consumers already type with other verifiers: gh's signer
//! checks (`gh attestation verify`), slsa-verifier's source and builder
//! checks, cosign's `--type` shorthands. Only parsing lives here; the checks
//! are `keyless::policy` and `keyless::provenance`.

use anyhow::{bail, Result};

/// `--help`'s heading of gh's flags.
const GITHUB: &str = "GitHub signer checks (as gh attestation verify)";
/// `--help`'s heading of slsa-verifier's and cosign's flags.
const PROVENANCE: &str = "Provenance checks (as slsa-verifier and cosign)";

/// gh's signer checks, on the certificate's claims (shared by the commands
/// that verify bundles).
#[derive(Debug, Clone, clap::Args)]
pub struct GitHubSignerArgs {
    /// The repository owner (the certificate's Source Repository Owner URI
    /// is https://github.com/OWNER); unless a signer is named, the signing
    /// workflow must be in one of OWNER's repositories.
    #[arg(help_heading = GITHUB, long, value_name = "OWNER")]
    owner: Option<String>,
    /// The source repository (Source Repository URI
    /// https://github.com/OWNER/REPO); unless a signer is named, the signing
    /// workflow must be in it.
    #[arg(help_heading = GITHUB, long, value_name = "OWNER/REPO")]
    repo: Option<String>,
    /// The workflow that signed, `[HOST/]OWNER/REPO/PATH` (a regular
    /// expression matched from the identity's start, as gh).
    #[arg(help_heading = GITHUB, long, value_name = "[HOST/]OWNER/REPO/PATH")]
    signer_workflow: Option<String>,
    /// The repository of the (reusable) workflow that signed.
    #[arg(help_heading = GITHUB, long, value_name = "OWNER/REPO")]
    signer_repo: Option<String>,
    /// The commit of the signing workflow (Build Signer Digest).
    #[arg(help_heading = GITHUB, long, value_name = "SHA")]
    signer_digest: Option<String>,
    /// The git ref built (Source Repository Ref), e.g. refs/tags/v1.
    #[arg(help_heading = GITHUB, long, value_name = "REF")]
    source_ref: Option<String>,
    /// The commit built (Source Repository Digest).
    #[arg(help_heading = GITHUB, long, value_name = "SHA")]
    source_digest: Option<String>,
    /// Refuse signatures made on self-hosted runners (Runner Environment
    /// must be github-hosted).
    #[arg(help_heading = GITHUB, long)]
    deny_self_hosted_runners: bool,
}

impl GitHubSignerArgs {
    /// The checks asked for.
    pub fn signer(&self) -> keyless::policy::GitHubSigner {
        keyless::policy::GitHubSigner {
            owner: self.owner.clone(),
            repo: self.repo.clone(),
            signer_workflow: self.signer_workflow.clone(),
            signer_repo: self.signer_repo.clone(),
            signer_digest: self.signer_digest.clone(),
            source_ref: self.source_ref.clone(),
            source_digest: self.source_digest.clone(),
            deny_self_hosted_runners: self.deny_self_hosted_runners,
        }
    }
}

/// verify-attestation's provenance flags: slsa-verifier's source and builder
/// checks, cosign's `--type`, and `--no-subject`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProvenanceArgs {
    /// cosign's predicate type shorthand (slsaprovenance, slsaprovenance02,
    /// slsaprovenance1, spdx, spdxjson, cyclonedx, link, vuln, openvex,
    /// custom) or a URI.
    #[arg(help_heading = PROVENANCE, long = "type", value_name = "TYPE", conflicts_with = "predicate_type")]
    type_: Option<String>,
    /// The source repository, github.com/ORG/REPO: in the provenance and
    /// the certificate, wherever they name it.
    #[arg(help_heading = PROVENANCE, long, value_name = "github.com/ORG/REPO")]
    source_uri: Option<String>,
    /// Built from this tag (refs/tags/TAG).
    #[arg(help_heading = PROVENANCE, long, value_name = "TAG")]
    source_tag: Option<String>,
    /// Built from this branch (refs/heads/BRANCH).
    #[arg(help_heading = PROVENANCE, long, value_name = "BRANCH")]
    source_branch: Option<String>,
    /// Built from a semver tag of this version: vMAJOR, vMAJOR.MINOR or
    /// vMAJOR.MINOR.PATCH must agree.
    #[arg(help_heading = PROVENANCE, long, value_name = "vX[.Y[.Z]]")]
    source_versioned_tag: Option<String>,
    /// The builder, NAME or NAME@VERSION (VERSION may be a tag name for a
    /// builder at refs/tags/VERSION).
    #[arg(help_heading = PROVENANCE, long, value_name = "ID")]
    builder_id: Option<String>,
    /// Verify without binding the attestation to an artifact (silences the
    /// warning given when no --subject, --digest or artifact is named).
    #[arg(help_heading = PROVENANCE, long, conflicts_with_all = ["subject", "digest", "artifact"])]
    pub(crate) no_subject: bool,
}

impl ProvenanceArgs {
    /// The predicate type `--type` names, if given.
    pub fn predicate_type(&self) -> Result<Option<String>> {
        let Some(value) = &self.type_ else {
            return Ok(None);
        };
        match attest::statement::cosign_predicate_type(value) {
            Some(uri) => Ok(Some(uri.to_owned())),
            None => bail!(
                "--type {value:?} is neither a predicate type URI nor one of cosign's names ({})",
                attest::statement::COSIGN_PREDICATE_TYPES
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// slsa-verifier's checks asked for, checked for form.
    pub fn source(&self) -> Result<keyless::provenance::SourcePolicy> {
        let policy = keyless::provenance::SourcePolicy {
            source_uri: self.source_uri.clone(),
            source_tag: self.source_tag.clone(),
            source_branch: self.source_branch.clone(),
            source_versioned_tag: self.source_versioned_tag.clone(),
            builder_id: self.builder_id.clone(),
        };
        policy.validate()?;
        Ok(policy)
    }
}
