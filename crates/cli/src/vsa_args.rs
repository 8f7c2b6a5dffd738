//! `--vsa FILE`: after `toto verify` or `toto verify-attestation`, a signed
//! SLSA Verification Summary Attestation ([`attest::vsa`]) of what was
//! verified, written as a Sigstore bundle: keyless through the signer
//! `toto attest --keyless` uses, or with a managed key (a public-key hint,
//! the envelope logged in Rekor v1 as `cosign attest --key` logs it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use attest::vsa::{VerificationResult, VerificationSummary, VsaVerifier, SLSA_VERSION};
use attest::{DigestSet, ResourceDescriptor, PAYLOAD_TYPE};
use sha2::{Digest as _, Sha256};

use crate::keyless_sign::{cli_error, KeylessArgs};

/// The verifier id written by default: toto's repository.
pub const DEFAULT_VERIFIER_ID: &str = env!("CARGO_PKG_REPOSITORY");

/// The VSA flags shared by `verify` and `verify-attestation`.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Verification summary (SLSA VSA)")]
pub struct VsaArgs {
    /// After a successful verification, write a signed SLSA Verification
    /// Summary Attestation (https://slsa.dev/verification_summary/v1) of it
    /// to FILE, a Sigstore bundle; sign it with --vsa-key or --vsa-keyless.
    /// A failed verification writes none (see --vsa-on-failure).
    #[arg(long, value_name = "FILE")]
    pub vsa: Option<PathBuf>,
    /// Sign the VSA with this private key (PEM; TOTO_KEY_PASSWORD when
    /// encrypted): the bundle carries the key id as its public-key hint, and
    /// the envelope is logged in the Rekor (v1) of --vsa-trust-config.
    #[arg(
        long,
        value_name = "FILE",
        requires = "vsa",
        conflicts_with = "vsa_keyless"
    )]
    pub vsa_key: Option<PathBuf>,
    /// Sign the VSA keylessly (OIDC token → Fulcio → Rekor), as
    /// `toto attest --keyless` signs.
    #[arg(long, requires = "vsa")]
    pub vsa_keyless: bool,
    /// The Sigstore instance to sign and log the VSA with (a
    /// ClientTrustConfig JSON). Default: --trust-config or
    /// TOTO_TRUST_CONFIG when set, else the public-good instance.
    #[arg(long, value_name = "FILE", requires = "vsa")]
    pub vsa_trust_config: Option<PathBuf>,
    /// The OIDC identity token for --vsa-keyless (default:
    /// SIGSTORE_ID_TOKEN, SIGSTORE_IDENTITY_TOKEN or GitHub Actions').
    #[arg(long, value_name = "TOKEN", requires = "vsa_keyless")]
    pub vsa_identity_token: Option<String>,
    /// The VSA's verifier.id: who verified, as consumers will require it
    /// (default: toto's repository URI).
    #[arg(long, value_name = "URI", requires = "vsa")]
    pub vsa_verifier_id: Option<String>,
    /// The VSA's resourceUri: where consumers fetch the artifact (default:
    /// the artifact's name, when there is one artifact).
    #[arg(long, value_name = "URI", requires = "vsa")]
    pub vsa_resource_uri: Option<String>,
    /// The VSA's policy.uri (default: the policy file or layout as named,
    /// with its digest; without one, urn:toto:verify-attestation).
    #[arg(long, value_name = "URI", requires = "vsa")]
    pub vsa_policy_uri: Option<String>,
    /// Also write the VSA when verification fails, with verificationResult
    /// FAILED (and verifiedLevels ["FAILED"]).
    #[arg(long, requires = "vsa")]
    pub vsa_on_failure: bool,
}

/// The VSA's signer, ready before verification starts (a key read, a
/// password asked for, an identity token found), so that a signer that
/// cannot sign fails the command before the verification is spent.
pub enum VsaSigner {
    /// A managed key, and the Sigstore instance whose Rekor v1 logs it.
    Key {
        key: Box<dsse::PrivateKey>,
        pem: String,
        config: Box<keyless::TrustConfig>,
    },
    /// Keyless: the signing options and the identity token.
    Keyless {
        signing: KeylessArgs,
        token: keyless::IdentityToken,
    },
}

/// What was verified, for the summary.
pub struct Summary {
    /// The artifacts verified (each with a digest).
    pub subjects: Vec<ResourceDescriptor>,
    /// The policy: `uri` and, for a file, `digest`.
    pub policy: ResourceDescriptor,
    /// The attestations verification used.
    pub inputs: Vec<ResourceDescriptor>,
    /// The levels verified (ignored for a failure).
    pub levels: Vec<String>,
    /// Passed or failed.
    pub result: VerificationResult,
}

/// A descriptor of `uri` with the SHA-256 of `bytes`.
pub fn described(uri: String, bytes: &[u8]) -> ResourceDescriptor {
    ResourceDescriptor {
        uri: Some(uri),
        digest: DigestSet::single("sha256", &hex::encode(Sha256::digest(bytes))).ok(),
        ..Default::default()
    }
}

impl VsaArgs {
    /// Stage one (no I/O): the flags make sense together.
    pub fn check(&self) -> Result<()> {
        if self.vsa.is_some() && self.vsa_key.is_none() && !self.vsa_keyless {
            bail!("--vsa needs a signer: --vsa-key FILE or --vsa-keyless");
        }
        Ok(())
    }

    /// Whether a VSA is written for an outcome that `passed` or not.
    pub fn wanted(&self, passed: bool) -> bool {
        self.vsa.is_some() && (passed || self.vsa_on_failure)
    }

    /// The policy descriptor: `--vsa-policy-uri`, else `file` as named
    /// with the digest of its `bytes`, else `fallback`.
    pub fn policy(&self, file: Option<(&Path, &[u8])>, fallback: &str) -> ResourceDescriptor {
        match (file, &self.vsa_policy_uri) {
            (Some((path, bytes)), uri) => described(
                uri.clone().unwrap_or_else(|| path.display().to_string()),
                bytes,
            ),
            (None, uri) => ResourceDescriptor {
                uri: Some(uri.clone().unwrap_or_else(|| fallback.to_owned())),
                ..Default::default()
            },
        }
    }

    /// Stage two, before verifying: the signer of the VSA (`None` without
    /// `--vsa`); `trust_config` is the verifying command's
    /// (`--trust-config` / TOTO_TRUST_CONFIG), the default instance to sign
    /// with.
    pub fn signer(&self, trust_config: Option<&Path>) -> Result<Option<VsaSigner>> {
        let Some(output) = &self.vsa else {
            return Ok(None);
        };
        // Nothing is logged in Rekor for a VSA that cannot be written.
        let dir = match output.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = output
            .file_name()
            .with_context(|| format!("--vsa {} names no file", output.display()))?;
        crate::files::check_writable(dir, &[name.to_string_lossy().into_owned()])
            .with_context(|| format!("cannot write the VSA {}", output.display()))?;
        let signing = KeylessArgs {
            keyless: true,
            trust_config: self
                .vsa_trust_config
                .clone()
                .or_else(|| trust_config.map(Path::to_path_buf)),
            identity_token: self.vsa_identity_token.clone(),
            oidc_device_flow: false,
            oidc_issuer: None,
            rekor_version: self.vsa_key.as_ref().map(|_| 1),
        };
        Ok(Some(match &self.vsa_key {
            Some(path) => {
                let key = crate::keys::load_private_key(path, None)?;
                let pem = key
                    .public_key()
                    .to_pem()
                    .with_context(|| format!("cannot read the public key of {}", path.display()))?;
                let config = signing.trust_config()?;
                VsaSigner::Key {
                    key: Box::new(key),
                    pem,
                    config: Box::new(config),
                }
            }
            None => {
                let token = signing.token().context(
                    "cannot sign the VSA keylessly (--vsa-keyless; the token: \
                     --vsa-identity-token, or the environment)",
                )?;
                VsaSigner::Keyless { signing, token }
            }
        }))
    }

    /// Signs the VSA of `summary` with `signer` ([`Self::signer`]) and
    /// writes it. Returns the JSON report of what was written.
    pub fn write(&self, summary: Summary, signer: &VsaSigner) -> Result<serde_json::Value> {
        let Some(output) = &self.vsa else {
            return Ok(serde_json::Value::Null);
        };
        let resource_uri = match (&self.vsa_resource_uri, summary.subjects.as_slice()) {
            (Some(uri), _) => uri.clone(),
            (None, [one]) => one.name.clone().with_context(|| {
                "the artifact has no name (a digest was given): name the resource with \
                 --vsa-resource-uri URI; no VSA was written"
            })?,
            (None, many) => bail!(
                "{} artifacts were verified: name the resource with --vsa-resource-uri URI; \
                 no VSA was written",
                many.len()
            ),
        };
        let levels = match summary.result {
            VerificationResult::Passed => summary.levels,
            VerificationResult::Failed => vec!["FAILED".to_owned()],
        };
        let predicate = VerificationSummary {
            verifier: VsaVerifier {
                id: self
                    .vsa_verifier_id
                    .clone()
                    .unwrap_or_else(|| DEFAULT_VERIFIER_ID.to_owned()),
                version: BTreeMap::from([(
                    "toto".to_owned(),
                    env!("CARGO_PKG_VERSION").to_owned(),
                )]),
            },
            time_verified: Some(attest::time::format_rfc3339_utc(crate::clock::unix_now())),
            resource_uri: resource_uri.clone(),
            policy: summary.policy,
            input_attestations: summary.inputs,
            verification_result: summary.result,
            verified_levels: levels.clone(),
            dependency_levels: None,
            slsa_version: Some(SLSA_VERSION.to_owned()),
        };
        let statement = predicate
            .statement(summary.subjects)
            .context("cannot write the VSA")?;
        let payload =
            serde_json::to_vec(&statement.into_value()).context("cannot serialize the VSA")?;
        let (bundle, signer) = match signer {
            VsaSigner::Key { key, pem, config } => {
                let bundle =
                    keyless::sign_dsse_with_key(config, key.as_ref(), pem, PAYLOAD_TYPE, &payload)
                        .map_err(cli_error)
                        .context("cannot sign the VSA")?;
                let keyid = dsse::KeyedSigner::keyid(key.as_ref());
                (bundle, serde_json::json!({"kind": "key", "keyid": keyid}))
            }
            VsaSigner::Keyless { signing, token } => {
                let signer = signing.signer(token)?;
                let bundle = signer
                    .sign_dsse(PAYLOAD_TYPE, &payload)
                    .map_err(cli_error)
                    .context("cannot sign the VSA")?;
                let shown = serde_json::json!({
                    "kind": "keyless",
                    "identity": signer.identity(),
                    "issuer": signer.issuer(),
                });
                (bundle, shown)
            }
        };
        crate::keyless_sign::write_bundle(output, &bundle)?;
        crate::verbosity::info!(
            "wrote the verification summary {} ({}, resource {resource_uri}; Rekor log index {})",
            output.display(),
            predicate.verification_result.as_str(),
            bundle.log_index
        );
        Ok(serde_json::json!({
            "file": output.display().to_string(),
            "verification_result": predicate.verification_result.as_str(),
            "resource_uri": resource_uri,
            "verified_levels": levels,
            "signer": signer,
            "log_index": bundle.log_index,
        }))
    }
}

/// The consumer's side: slsa-verifier's `verify-vsa` checks as
/// `verify-attestation` flags.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Checking a verification summary (SLSA VSA)")]
pub struct VsaCheckArgs {
    /// A level the VSA must show (repeatable, or comma-separated as
    /// slsa-verifier's --verified-levels): SLSA_<TRACK>_LEVEL_<N> is met by
    /// that track's level N or higher, anything else (e.g.
    /// SLSA_BUILD_LEVEL_UNEVALUATED) by an equal entry. Implies
    /// --predicate-type https://slsa.dev/verification_summary/v1.
    #[arg(
        long,
        visible_alias = "verified-levels",
        value_name = "LEVEL",
        value_delimiter = ','
    )]
    verified_level: Vec<String>,
    /// The VSA's resourceUri, exactly (implies the VSA predicate type).
    #[arg(long, value_name = "URI")]
    resource_uri: Option<String>,
    /// The VSA's verifier.id, exactly (implies the VSA predicate type).
    #[arg(long, value_name = "URI")]
    verifier_id: Option<String>,
    /// The VSA's policy.uri, exactly (implies the VSA predicate type).
    #[arg(long, value_name = "URI")]
    policy_uri: Option<String>,
    /// A digest the VSA's policy.digest must have, ALG:HEX (implies the VSA
    /// predicate type).
    #[arg(long, value_name = "ALG:HEX")]
    policy_digest: Option<String>,
}

impl VsaCheckArgs {
    /// The expectations (stage one: no I/O).
    pub fn expectations(&self) -> Result<attest::vsa::VsaExpectations> {
        let policy_digest = match &self.policy_digest {
            None => None,
            Some(text) => {
                let (alg, hex) = text
                    .split_once(':')
                    .with_context(|| format!("--policy-digest {text:?} is not ALG:HEX"))?;
                Some(
                    DigestSet::single(alg, hex)
                        .with_context(|| format!("--policy-digest {text:?}"))?,
                )
            }
        };
        Ok(attest::vsa::VsaExpectations {
            verifier_id: self.verifier_id.clone(),
            resource_uri: self.resource_uri.clone(),
            verified_levels: self.verified_level.clone(),
            policy_uri: self.policy_uri.clone(),
            policy_digest,
        })
    }
}
