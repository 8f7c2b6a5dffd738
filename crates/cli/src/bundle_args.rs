//! The bundle, the signer and the trust root: the flags every command that
//! verifies a Sigstore bundle shares (`verify-bundle`, `verify-attestation`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use keyless::{BundleVerifier, CertificatePolicy, Policy};

use crate::trust_roots::trust_root;

/// The bundle, who must have signed it, and the trust root: shared by the
/// commands that verify bundles.
#[derive(Debug, clap::Args)]
pub struct BundleArgs {
    /// The Sigstore bundle (`*.sigstore.json`); verify-bundle takes it
    /// repeatedly to verify many bundles of one artifact in one run.
    #[arg(long = "bundle", value_name = "FILE", required = true)]
    pub(crate) bundles: Vec<PathBuf>,
    /// The signer's certificate identity (email or URI), matched exactly.
    #[arg(
        long,
        value_name = "ID",
        requires = "certificate_oidc_issuer",
        conflicts_with = "key"
    )]
    pub(crate) certificate_identity: Option<String>,
    /// A regular expression the whole certificate identity must match.
    #[arg(
        long,
        value_name = "REGEX",
        requires = "certificate_oidc_issuer",
        conflicts_with_all = ["key", "certificate_identity"]
    )]
    pub(crate) certificate_identity_regexp: Option<String>,
    /// The OIDC issuer that vouched for the identity, matched exactly.
    #[arg(long, value_name = "URL")]
    pub(crate) certificate_oidc_issuer: Option<String>,
    /// GitHub Actions: the repository (owner/name) the workflow ran in.
    #[arg(long, value_name = "OWNER/REPO")]
    pub(crate) certificate_github_workflow_repository: Option<String>,
    /// GitHub Actions: the git ref, e.g. refs/tags/v1.0.
    #[arg(long, value_name = "REF")]
    pub(crate) certificate_github_workflow_ref: Option<String>,
    /// GitHub Actions: the triggering event, e.g. push.
    #[arg(long, value_name = "EVENT")]
    pub(crate) certificate_github_workflow_trigger: Option<String>,
    /// GitHub Actions: the commit SHA.
    #[arg(long, value_name = "SHA")]
    pub(crate) certificate_github_workflow_sha: Option<String>,
    /// A managed public key (PEM) instead of a certificate identity.
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present_any = ["certificate_identity", "certificate_identity_regexp"]
    )]
    pub(crate) key: Option<PathBuf>,
    /// Trusted root JSON (default: the public-good Sigstore root embedded in toto).
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted_root: Option<PathBuf>,
}

impl BundleArgs {
    /// The (first) bundle path.
    pub fn bundle(&self) -> &Path {
        self.bundles.first().map_or(Path::new(""), PathBuf::as_path)
    }

    /// The signer policy.
    pub fn policy(&self) -> Result<Policy> {
        if let Some(key) = &self.key {
            if self.certificate_oidc_issuer.is_some() {
                bail!("--key verifies a managed-key bundle; certificate options do not apply");
            }
            let pem = crate::files::read_limited(key, 64 << 10, "key")?;
            return Ok(Policy::Key {
                pem: String::from_utf8(pem)
                    .with_context(|| format!("{} is not a PEM file", key.display()))?,
            });
        }
        let Some(issuer) = &self.certificate_oidc_issuer else {
            bail!("give --certificate-oidc-issuer with the certificate identity, or --key");
        };
        Ok(Policy::Certificate(CertificatePolicy {
            identity: self.certificate_identity.clone(),
            identity_regexp: self.certificate_identity_regexp.clone(),
            issuer: issuer.clone(),
            github_workflow_repository: self.certificate_github_workflow_repository.clone(),
            github_workflow_ref: self.certificate_github_workflow_ref.clone(),
            github_workflow_trigger: self.certificate_github_workflow_trigger.clone(),
            github_workflow_sha: self.certificate_github_workflow_sha.clone(),
        }))
    }

    /// A verifier for the trust root.
    pub fn verifier(&self) -> Result<BundleVerifier> {
        Ok(BundleVerifier::new(&trust_root(
            self.trusted_root.as_deref(),
        )?)?)
    }

    /// The bytes of the one bundle given.
    pub fn read_bundle(&self) -> Result<Vec<u8>> {
        if self.bundles.len() != 1 {
            bail!("give exactly one --bundle");
        }
        crate::files::read_limited(self.bundle(), keyless::MAX_BUNDLE_BYTES, "bundle")
    }
}
