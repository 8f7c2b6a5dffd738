//! The bundle, the signer and the trust root: the flags every command that
//! verifies a Sigstore bundle shares (`verify-bundle`, `verify-attestation`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use keyless::{BundleVerifier, CertificatePolicy, Policy, TrustRoot};

use crate::policy_args::GitHubSignerArgs;
use crate::trust_roots::trust_root;

/// The bundle, who must have signed it, and the trust root: shared by the
/// commands that verify bundles.
#[derive(Debug, clap::Args)]
pub struct BundleArgs {
    /// The Sigstore bundle (`*.sigstore.json`); verify-bundle takes it
    /// repeatedly to verify many bundles of one artifact in one run.
    /// Default: ARTIFACT.sigstore.json, when it exists (as sigstore-python).
    #[arg(long = "bundle", value_name = "FILE")]
    pub(crate) bundles: Vec<PathBuf>,
    /// The signer's certificate identity (an email, URI or username SAN),
    /// matched exactly.
    #[arg(
        long,
        visible_alias = "cert-identity",
        value_name = "ID",
        conflicts_with = "key"
    )]
    certificate_identity: Option<String>,
    /// A regular expression the whole certificate identity must match.
    #[arg(
        long,
        visible_alias = "cert-identity-regex",
        value_name = "REGEX",
        conflicts_with_all = ["key", "certificate_identity"]
    )]
    certificate_identity_regexp: Option<String>,
    /// The OIDC issuer that vouched for the identity, matched exactly
    /// (default with gh's --owner/--repo/--signer-*: GitHub Actions').
    #[arg(long, visible_alias = "cert-oidc-issuer", value_name = "URL")]
    certificate_oidc_issuer: Option<String>,
    /// A regular expression the whole OIDC issuer must match.
    #[arg(
        long,
        visible_alias = "cert-oidc-issuer-regex",
        value_name = "REGEX",
        conflicts_with = "key"
    )]
    certificate_oidc_issuer_regexp: Option<String>,
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
    #[arg(long, visible_alias = "public-key-path", value_name = "KEY")]
    key: Option<PathBuf>,
    /// Accepted for cosign and sigstore-python command lines: toto verifies
    /// offline anyway (against the trusted root; no log lookups).
    #[arg(long)]
    offline: bool,
    #[command(flatten)]
    github: GitHubSignerArgs,
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
    /// The trust config named (`--trust-config` or TOTO_TRUST_CONFIG), if
    /// any: also where `--vsa` signs by default.
    pub fn trust_config(&self) -> Option<&Path> {
        self.trust_config.as_deref()
    }

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

    /// With no `--bundle`, the bundle next to the artifact,
    /// `ARTIFACT.sigstore.json` (sigstore-python's default).
    pub fn default_bundle(&mut self, artifact: Option<&Path>) -> Result<()> {
        if !self.bundles.is_empty() {
            return Ok(());
        }
        let Some(artifact) = artifact else {
            bail!("give --bundle FILE (or the artifact, to use ARTIFACT.sigstore.json)");
        };
        let mut name = artifact.as_os_str().to_owned();
        name.push(".sigstore.json");
        let beside = PathBuf::from(name);
        if !beside.is_file() {
            bail!(
                "no --bundle given and {} does not exist: give --bundle FILE",
                beside.display()
            );
        }
        crate::verbosity::info!("using the bundle {}", beside.display());
        self.bundles.push(beside);
        Ok(())
    }

    /// True when the signer's identity is named (exactly, by a regular
    /// expression, or by gh's --signer-repo/--signer-workflow): gh's
    /// --owner/--repo then imply no identity.
    pub fn names_signer_identity(&self) -> bool {
        self.certificate_identity.is_some()
            || self.certificate_identity_regexp.is_some()
            || self.github.signer().names_signer()
    }

    /// gh's signer checks asked for.
    pub fn github_signer(&self) -> keyless::policy::GitHubSigner {
        self.github.signer()
    }

    /// The signer policy.
    pub fn policy(&self) -> Result<Policy> {
        let github = self.github.signer();
        if let Some(key) = &self.key {
            if self.certificate_oidc_issuer.is_some() || !github.is_empty() {
                bail!("--key verifies a managed-key bundle; certificate options do not apply");
            }
            let pem = crate::files::read_limited(key, 64 << 10, "key")?;
            return Ok(Policy::Key {
                pem: String::from_utf8(pem)
                    .with_context(|| format!("{} is not a PEM file", key.display()))?,
            });
        }
        if self.certificate_identity.is_none()
            && self.certificate_identity_regexp.is_none()
            && github.is_empty()
        {
            bail!(
                "name the signer: --certificate-identity or --certificate-identity-regexp \
                 (with --certificate-oidc-issuer), gh's --owner, --repo or --signer-workflow, \
                 or --key"
            );
        }
        let issuer = match (
            &self.certificate_oidc_issuer,
            &self.certificate_oidc_issuer_regexp,
        ) {
            (Some(issuer), _) => issuer.clone(),
            (None, Some(_)) => String::new(),
            // gh's default issuer.
            (None, None) if !github.is_empty() => keyless::policy::GITHUB_ACTIONS_ISSUER.to_owned(),
            (None, None) => bail!(
                "give --certificate-oidc-issuer (or --certificate-oidc-issuer-regexp) with the \
                 certificate identity, or --key"
            ),
        };
        github.validate()?;
        Ok(Policy::Certificate(CertificatePolicy {
            identity: self.certificate_identity.clone(),
            identity_regexp: self.certificate_identity_regexp.clone(),
            issuer,
            issuer_regexp: self.certificate_oidc_issuer_regexp.clone(),
            github_workflow_repository: self.certificate_github_workflow_repository.clone(),
            github_workflow_ref: self.certificate_github_workflow_ref.clone(),
            github_workflow_trigger: self.certificate_github_workflow_trigger.clone(),
            github_workflow_sha: self.certificate_github_workflow_sha.clone(),
            github: Box::new(github),
        }))
    }

    /// The trusted root's flags.
    pub fn trust(&self) -> &TrustRootArgs {
        &self.trust
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
