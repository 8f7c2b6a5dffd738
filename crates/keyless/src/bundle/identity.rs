//! Who may have signed a bundle: a policy (an identity and issuer, the
//! certificate's claims, or a managed key) and its checks on a verified
//! certificate.

use crate::error::Error;
use crate::policy::{CertificateClaims, GitHubSigner};

use super::*;

/// Who must have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// A Fulcio certificate for exactly this identity (SAN) and OIDC issuer.
    Identity {
        /// Certificate identity (an email, URI or username `otherName` SAN),
        /// matched exactly.
        identity: String,
        /// OIDC issuer URL, matched exactly.
        issuer: String,
    },
    /// A Fulcio certificate matched by claims: the identity exactly or by a
    /// regular expression (whole-identity match), the issuer exactly, and
    /// optionally the GitHub Actions claims cosign users check.
    Certificate(CertificatePolicy),
    /// A managed key (the bundle carries a public-key hint, no certificate).
    Key {
        /// SPKI public key PEM.
        pem: String,
    },
}

/// Certificate claims a bundle's signer must have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertificatePolicy {
    /// The identity (SAN), exactly.
    pub identity: Option<String>,
    /// A regular expression the whole identity must match.
    pub identity_regexp: Option<String>,
    /// The OIDC issuer, exactly; empty when [`Self::issuer_regexp`] says
    /// which issuers are accepted (one of the two is required: a policy
    /// with neither is malformed).
    pub issuer: String,
    /// A regular expression the whole OIDC issuer must match (cosign's
    /// `--certificate-oidc-issuer-regexp`), checked as well as a non-empty
    /// [`Self::issuer`].
    pub issuer_regexp: Option<String>,
    /// GitHub repository `owner/name` (Fulcio's source repository URI claim).
    pub github_workflow_repository: Option<String>,
    /// Git ref, e.g. `refs/tags/v1.0` (source repository ref claim).
    pub github_workflow_ref: Option<String>,
    /// Event that triggered the workflow, e.g. `push` (build trigger claim).
    pub github_workflow_trigger: Option<String>,
    /// Commit SHA (source repository digest claim).
    pub github_workflow_sha: Option<String>,
    /// `gh attestation verify`'s signer checks ([`GitHubSigner`]; boxed,
    /// as most policies have none).
    pub github: Box<GitHubSigner>,
}

/// A regular expression that must match the whole of `text`.
fn whole_match(what: &'static str, pattern: &str, text: &str) -> Result<bool, Error> {
    let anchored = format!("^(?:{pattern})$");
    let re = regex_lite::Regex::new(&anchored).map_err(|e| Error::Malformed {
        what,
        reason: e.to_string(),
    })?;
    Ok(re.is_match(text))
}

impl CertificatePolicy {
    /// The identity this policy accepts among `sans`, every identity the
    /// certificate names ([`san::identities`]): the one equal to the
    /// policy's identity, else the first the regular expression matches
    /// whole, else (no identity constraint) the first. `Err` names what was
    /// expected and what the certificate has.
    pub(crate) fn select_identity(&self, sans: &[String]) -> Result<Option<String>, Error> {
        if let Some(wanted) = &self.identity {
            return match sans.iter().find(|s| *s == wanted) {
                Some(found) => Ok(Some(found.clone())),
                None => Err(Error::Verification {
                    reason: format!(
                        "identity mismatch: the certificate identity (SAN) is {}, expected {wanted:?}",
                        san::shown(sans)
                    ),
                }),
            };
        }
        if let Some(pattern) = &self.identity_regexp {
            for found in sans {
                if whole_match("identity regular expression", pattern, found)? {
                    return Ok(Some(found.clone()));
                }
            }
            return Err(Error::Verification {
                reason: format!(
                    "identity mismatch: the certificate identity (SAN) is {}, which does not match \
                     {pattern:?}",
                    san::shown(sans)
                ),
            });
        }
        Ok(sans.first().cloned())
    }

    /// Checks what the verifier could not express: the issuer regexp, the
    /// GitHub claims and gh's signer checks (the identity is
    /// [`Self::select_identity`]'s).
    pub(super) fn check_claims(
        &self,
        identity: Option<&str>,
        issuer: Option<&str>,
        claims: &CertificateClaims,
    ) -> Result<(), Error> {
        if let Some(pattern) = &self.issuer_regexp {
            let issuer = issuer.unwrap_or_default();
            if !whole_match("issuer regular expression", pattern, issuer)? {
                return Err(Error::Verification {
                    reason: format!(
                        "certificate OIDC issuer {issuer:?} does not match {pattern:?}"
                    ),
                });
            }
        }
        let checks = [
            (
                "repository",
                &self.github_workflow_repository,
                claims
                    .source_repository_uri
                    .as_deref()
                    .map(|u| u.trim_start_matches("https://github.com/")),
            ),
            (
                "ref",
                &self.github_workflow_ref,
                claims.source_repository_ref.as_deref(),
            ),
            (
                "trigger",
                &self.github_workflow_trigger,
                claims.build_trigger.as_deref(),
            ),
            (
                "sha",
                &self.github_workflow_sha,
                claims.source_repository_digest.as_deref(),
            ),
        ];
        for (name, wanted, actual) in checks {
            if let Some(wanted) = wanted {
                if actual != Some(wanted.as_str()) {
                    let actual = actual.map_or_else(|| "absent".to_owned(), |a| format!("{a:?}"));
                    return Err(Error::Verification {
                        reason: format!(
                            "certificate's GitHub workflow {name} is {actual}, expected {wanted:?}"
                        ),
                    });
                }
            }
        }
        let identity_given = self.identity.is_some() || self.identity_regexp.is_some();
        self.github.check(identity, claims, identity_given)
    }

    /// The policy can be checked: an issuer (exact or by regexp) is named,
    /// the regular expressions compile, gh's repositories are OWNER/REPO.
    pub(super) fn validate(&self) -> Result<(), Error> {
        if self.issuer.is_empty() && self.issuer_regexp.is_none() {
            return Err(Error::Malformed {
                what: "certificate policy",
                reason: "no OIDC issuer: give the issuer or a regular expression for it".into(),
            });
        }
        for (what, pattern) in [
            ("identity regular expression", &self.identity_regexp),
            ("issuer regular expression", &self.issuer_regexp),
        ] {
            if let Some(pattern) = pattern {
                whole_match(what, pattern, "")?;
            }
        }
        self.github.validate()
    }
}

/// The claims of a certificate, as toto's type.
pub(crate) fn claims_of(ci: &sigstore_verify::crypto::x509::FulcioCiClaims) -> CertificateClaims {
    CertificateClaims {
        build_signer_uri: ci.build_signer_uri.clone(),
        build_signer_digest: ci.build_signer_digest.clone(),
        runner_environment: ci.runner_environment.clone(),
        source_repository_uri: ci.source_repository_uri.clone(),
        source_repository_digest: ci.source_repository_digest.clone(),
        source_repository_ref: ci.source_repository_ref.clone(),
        source_repository_owner_uri: ci.source_repository_owner_uri.clone(),
        build_config_uri: ci.build_config_uri.clone(),
        build_trigger: ci.build_trigger.clone(),
        run_invocation_uri: ci.run_invocation_uri.clone(),
    }
}
