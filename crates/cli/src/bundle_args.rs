//! The bundle, the signer and the trust root: the flags every command that
//! verifies a Sigstore bundle shares (`verify-bundle`, `verify-attestation`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use keyless::{BundleVerifier, CertificatePolicy, Policy, TrustRoot};

use crate::trust_roots::trust_root;

/// The bundle, who must have signed it, and the trust root: shared by the
/// commands that verify bundles.
#[derive(Debug, clap::Args)]
pub struct BundleArgs {
    /// The Sigstore bundle (`*.sigstore.json`); verify-bundle takes it
    /// repeatedly to verify many bundles of one artifact in one run.
    #[arg(long = "bundle", value_name = "FILE", required = true)]
    pub(crate) bundles: Vec<PathBuf>,
    /// The signer's certificate identity (an email, URI or username SAN),
    /// matched exactly.
    #[arg(
        long,
        value_name = "ID",
        requires = "certificate_oidc_issuer",
        conflicts_with = "key"
    )]
    certificate_identity: Option<String>,
    /// A regular expression the whole certificate identity must match.
    #[arg(
        long,
        value_name = "REGEX",
        requires = "certificate_oidc_issuer",
        conflicts_with_all = ["key", "certificate_identity"]
    )]
    certificate_identity_regexp: Option<String>,
    /// The OIDC issuer that vouched for the identity, matched exactly.
    #[arg(long, value_name = "URL")]
    certificate_oidc_issuer: Option<String>,
    /// GitHub Actions: the repository (owner/name) the workflow ran in.
    #[arg(long, value_name = "OWNER/REPO")]
    certificate_github_workflow_repository: Option<String>,
    /// GitHub Actions: the git ref, e.g. refs/tags/v1.0.
    #[arg(long, value_name = "REF")]
    certificate_github_workflow_ref: Option<String>,
    /// GitHub Actions: the triggering event, e.g. push.
    #[arg(long, value_name = "EVENT")]
    certificate_github_workflow_trigger: Option<String>,
    /// GitHub Actions: the commit SHA.
    #[arg(long, value_name = "SHA")]
    certificate_github_workflow_sha: Option<String>,
    /// A managed public key (PEM) instead of a certificate identity.
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present_any = ["certificate_identity", "certificate_identity_regexp"]
    )]
    key: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustRootArgs,
}

/// The trusted root to verify against: shared by every command that
/// verifies Sigstore bundles (verify-bundle, verify-attestation, verify).
#[derive(Debug, Clone, clap::Args)]
pub struct TrustRootArgs {
    /// Trusted root JSON to verify against; wins over --trust-config and
    /// TOTO_TRUST_CONFIG.
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
    /// A ClientTrustConfig JSON (what signing's --trust-config takes, e.g.
    /// the testbed's trust_config.json): verify against its trusted root.
    /// Precedence: --trusted-root, then --trust-config, then
    /// TOTO_TRUST_CONFIG, then the public-good root (`toto trust update`'s,
    /// else the one embedded in toto).
    #[arg(long, value_name = "FILE", env = "TOTO_TRUST_CONFIG")]
    trust_config: Option<PathBuf>,
}

impl TrustRootArgs {
    /// The trusted root, by the precedence above.
    pub fn load(&self) -> Result<TrustRoot> {
        let Some(config) = self
            .trust_config
            .as_ref()
            .filter(|_| self.trusted_root.is_none())
        else {
            return trust_root(self.trusted_root.as_deref());
        };
        // Whoever sets the environment chooses what verifies: say it.
        crate::verbosity::info!(
            "verifying against the trusted root of trust config {} (--trust-config or \
             TOTO_TRUST_CONFIG; --trusted-root FILE overrides it)",
            config.display()
        );
        let bytes = crate::files::read_limited(config, 16 << 20, "trust config")?;
        let text = String::from_utf8(bytes)
            .with_context(|| format!("trust config {} is not UTF-8", config.display()))?;
        keyless::TrustConfig::trusted_root_from_json(&text)
            .with_context(|| format!("cannot read trust config {}", config.display()))
    }
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
        Ok(BundleVerifier::new(&self.trust.load()?)?)
    }

    /// The bytes of the one bundle given.
    pub fn read_bundle(&self) -> Result<Vec<u8>> {
        if self.bundles.len() != 1 {
            bail!("give exactly one --bundle");
        }
        crate::files::read_limited(self.bundle(), keyless::MAX_BUNDLE_BYTES, "bundle")
    }
}
