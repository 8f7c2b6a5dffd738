//! The signer checks consumers already write with `gh attestation verify`,
//! on the Fulcio certificate's claims, and the claims themselves as a
//! verified bundle returns them ([`crate::Verified::claims`]).
//!
//! The claims are the extensions under `1.3.6.1.4.1.57264.1` that Fulcio
//! copies from the workload's identity token
//! (<https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md>). gh
//! reads them through sigstore-go's `certificate.Extensions`; [`GitHubSigner`]
//! checks the same fields with the same comparisons
//! (`pkg/cmd/attestation/verify` in cli/cli).

use crate::Error;

/// The GitHub Actions OIDC issuer: gh's default `--cert-oidc-issuer`.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The predicate type `gh attestation verify` requires unless told
/// otherwise (SLSA provenance v1).
pub const GITHUB_DEFAULT_PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";

/// What a verified Fulcio certificate says about the workload it was issued
/// to (every claim optional: a certificate issued to a person has none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertificateClaims {
    /// `.1.9` Build Signer URI: the workflow that signed, with its ref.
    pub build_signer_uri: Option<String>,
    /// `.1.10` Build Signer Digest: the commit of the signing workflow.
    pub build_signer_digest: Option<String>,
    /// `.1.11` Runner Environment: `github-hosted` or `self-hosted`.
    pub runner_environment: Option<String>,
    /// `.1.12` Source Repository URI, e.g. `https://github.com/org/repo`.
    pub source_repository_uri: Option<String>,
    /// `.1.13` Source Repository Digest: the commit built.
    pub source_repository_digest: Option<String>,
    /// `.1.14` Source Repository Ref, e.g. `refs/tags/v1.0`.
    pub source_repository_ref: Option<String>,
    /// `.1.16` Source Repository Owner URI, e.g. `https://github.com/org`.
    pub source_repository_owner_uri: Option<String>,
    /// `.1.18` Build Config URI: the workflow that ran, with its ref.
    pub build_config_uri: Option<String>,
    /// `.1.20` Build Trigger, e.g. `push`.
    pub build_trigger: Option<String>,
    /// `.1.21` Run Invocation URI: the run's page.
    pub run_invocation_uri: Option<String>,
}

impl CertificateClaims {
    /// The claims as `(name, value)` pairs, named as Fulcio's OID document
    /// names them (for output).
    pub fn present(&self) -> Vec<(&'static str, &str)> {
        [
            ("buildSignerURI", &self.build_signer_uri),
            ("buildSignerDigest", &self.build_signer_digest),
            ("runnerEnvironment", &self.runner_environment),
            ("sourceRepositoryURI", &self.source_repository_uri),
            ("sourceRepositoryDigest", &self.source_repository_digest),
            ("sourceRepositoryRef", &self.source_repository_ref),
            (
                "sourceRepositoryOwnerURI",
                &self.source_repository_owner_uri,
            ),
            ("buildConfigURI", &self.build_config_uri),
            ("buildTrigger", &self.build_trigger),
            ("runInvocationURI", &self.run_invocation_uri),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
        .collect()
    }
}

/// `gh attestation verify`'s signer checks, on the certificate's claims.
/// Every field left empty is not checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GitHubSigner {
    /// `--owner`: the Source Repository Owner URI is
    /// `https://github.com/OWNER` (ASCII case-insensitive, as gh).
    pub owner: Option<String>,
    /// `--repo OWNER/REPO`: the Source Repository URI is
    /// `https://github.com/OWNER/REPO` (case-insensitive), and the owner
    /// is OWNER.
    pub repo: Option<String>,
    /// `--signer-workflow [HOST/]OWNER/REPO/PATH`: a regular expression the
    /// certificate identity must match from its start, after `https://`
    /// and the host (`github.com` when none is given).
    pub signer_workflow: Option<String>,
    /// `--signer-repo OWNER/REPO`: the identity (the signing workflow)
    /// lives in this repository (case-insensitive prefix
    /// `https://github.com/OWNER/REPO/`).
    pub signer_repo: Option<String>,
    /// `--signer-digest`: the Build Signer Digest, exactly.
    pub signer_digest: Option<String>,
    /// `--source-ref`: the Source Repository Ref, exactly.
    pub source_ref: Option<String>,
    /// `--source-digest`: the Source Repository Digest, exactly.
    pub source_digest: Option<String>,
    /// `--deny-self-hosted-runners`: the Runner Environment is
    /// `github-hosted`.
    pub deny_self_hosted_runners: bool,
}

/// A claim that is not what the policy requires: the field, the expected
/// and the found value.
pub(crate) fn mismatch(field: &str, expected: impl Into<String>, found: Option<&str>) -> Error {
    Error::Mismatch {
        field: field.to_owned(),
        expected: expected.into(),
        found: found.map(str::to_owned),
    }
}

/// A layout step's constraints are gh's flags of the same names.
impl From<&attest::layout::GitHubConstraints> for GitHubSigner {
    fn from(c: &attest::layout::GitHubConstraints) -> GitHubSigner {
        GitHubSigner {
            owner: c.owner.clone(),
            repo: c.repo.clone(),
            signer_workflow: c.signer_workflow.clone(),
            signer_repo: c.signer_repo.clone(),
            signer_digest: c.signer_digest.clone(),
            source_ref: c.source_ref.clone(),
            source_digest: c.source_digest.clone(),
            deny_self_hosted_runners: c.deny_self_hosted_runners,
        }
    }
}

impl GitHubSigner {
    /// True when no check is asked for.
    pub fn is_empty(&self) -> bool {
        *self == GitHubSigner::default()
    }

    /// True when a flag that names the signer's identity is given
    /// (`--signer-repo`, `--signer-workflow`): gh then derives no identity
    /// requirement from `--owner`/`--repo`.
    pub fn names_signer(&self) -> bool {
        self.signer_repo.is_some() || self.signer_workflow.is_some()
    }

    /// `owner/repo` must be two non-empty parts, as gh requires.
    pub fn validate(&self) -> Result<(), Error> {
        for (flag, value) in [("repo", &self.repo), ("signer-repo", &self.signer_repo)] {
            if let Some(value) = value {
                let parts: Vec<&str> = value.split('/').collect();
                if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                    return Err(Error::Malformed {
                        what: "GitHub repository",
                        reason: format!("--{flag} {value:?} is not OWNER/REPO"),
                    });
                }
            }
        }
        if let Some(workflow) = &self.signer_workflow {
            workflow_regex(workflow)?;
        }
        Ok(())
    }

    /// Checks what a verified bundle established (for checks that come
    /// from a policy file, after verification under the command line's
    /// signer policy): as [`CertificatePolicy`](crate::CertificatePolicy)'s
    /// `github` does. `identity_given`: the signer was named otherwise.
    pub fn check_verified(
        &self,
        verified: &crate::Verified,
        identity_given: bool,
    ) -> Result<(), Error> {
        self.validate()?;
        self.check(
            verified.identity.as_deref(),
            &verified.claims,
            identity_given,
        )
    }

    /// Checks the certificate's identity and claims. `identity_given`: the
    /// policy names the identity itself (exactly or by a regular
    /// expression), so `--owner`/`--repo` add no identity requirement (gh's
    /// rule).
    pub(crate) fn check(
        &self,
        identity: Option<&str>,
        claims: &CertificateClaims,
        identity_given: bool,
    ) -> Result<(), Error> {
        let owner = self
            .repo
            .as_deref()
            .and_then(|r| r.split_once('/').map(|(o, _)| o))
            .or(self.owner.as_deref());
        if let Some(owner) = owner {
            equal_ignoring_case(
                "certificate Source Repository Owner URI",
                &format!("https://github.com/{owner}"),
                claims.source_repository_owner_uri.as_deref(),
            )?;
        }
        if let Some(repo) = &self.repo {
            equal_ignoring_case(
                "certificate Source Repository URI",
                &format!("https://github.com/{repo}"),
                claims.source_repository_uri.as_deref(),
            )?;
        }
        // gh: the signer identity from --signer-repo, else --signer-workflow,
        // else (with no identity given) the repository or owner.
        let under = if let Some(signer_repo) = &self.signer_repo {
            Some(signer_repo.as_str())
        } else if self.signer_workflow.is_some() || identity_given {
            None
        } else {
            self.repo.as_deref().or(self.owner.as_deref())
        };
        if let Some(under) = under {
            let prefix = format!("https://github.com/{under}/");
            let found = identity.unwrap_or_default();
            let matches = found
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(&prefix));
            if !matches {
                return Err(mismatch(
                    "certificate identity (signing workflow)",
                    format!("a workflow under {prefix}"),
                    identity,
                ));
            }
        }
        if let Some(workflow) = &self.signer_workflow {
            let re = workflow_regex(workflow)?;
            if !identity.is_some_and(|i| re.is_match(i)) {
                return Err(mismatch(
                    "certificate identity (signing workflow)",
                    format!("a match of {}", re.as_str()),
                    identity,
                ));
            }
        }
        let exact = [
            (
                "certificate Build Signer Digest",
                &self.signer_digest,
                &claims.build_signer_digest,
            ),
            (
                "certificate Source Repository Ref",
                &self.source_ref,
                &claims.source_repository_ref,
            ),
            (
                "certificate Source Repository Digest",
                &self.source_digest,
                &claims.source_repository_digest,
            ),
        ];
        for (field, wanted, found) in exact {
            if let Some(wanted) = wanted {
                if found.as_deref() != Some(wanted.as_str()) {
                    return Err(mismatch(field, wanted.as_str(), found.as_deref()));
                }
            }
        }
        if self.deny_self_hosted_runners
            && claims.runner_environment.as_deref() != Some("github-hosted")
        {
            return Err(mismatch(
                "certificate Runner Environment",
                "github-hosted (--deny-self-hosted-runners)",
                claims.runner_environment.as_deref(),
            ));
        }
        Ok(())
    }
}

fn equal_ignoring_case(field: &str, wanted: &str, found: Option<&str>) -> Result<(), Error> {
    if found.is_some_and(|f| f.eq_ignore_ascii_case(wanted)) {
        Ok(())
    } else {
        Err(mismatch(field, wanted, found))
    }
}

/// gh's `--signer-workflow`: `^https://` then the value, prefixed with
/// `github.com/` unless it starts with a host (`name.name…`).
fn workflow_regex(workflow: &str) -> Result<regex_lite::Regex, Error> {
    let has_host = workflow
        .split_once('/')
        .map(|(first, _)| first)
        .is_some_and(|first| {
            let mut labels = first.split('.');
            let valid = |l: &str| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            };
            labels.next().is_some_and(valid) && labels.next().is_some_and(valid)
        });
    let pattern = if has_host {
        format!("^https://{workflow}")
    } else {
        format!("^https://github.com/{workflow}")
    };
    regex_lite::Regex::new(&pattern).map_err(|e| Error::Malformed {
        what: "--signer-workflow regular expression",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> CertificateClaims {
        CertificateClaims {
            build_signer_digest: Some("aaaa".into()),
            runner_environment: Some("github-hosted".into()),
            source_repository_uri: Some("https://github.com/Org/Repo".into()),
            source_repository_digest: Some("bbbb".into()),
            source_repository_ref: Some("refs/tags/v1".into()),
            source_repository_owner_uri: Some("https://github.com/Org".into()),
            ..CertificateClaims::default()
        }
    }

    const ID: &str = "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1";

    fn field_of(result: Result<(), Error>) -> String {
        match result {
            Err(Error::Mismatch { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_check_fails_on_its_own_claim() {
        let ok = GitHubSigner {
            owner: Some("org".into()),
            repo: Some("org/repo".into()),
            signer_digest: Some("aaaa".into()),
            source_ref: Some("refs/tags/v1".into()),
            source_digest: Some("bbbb".into()),
            deny_self_hosted_runners: true,
            ..GitHubSigner::default()
        };
        ok.check(Some(ID), &claims(), false).unwrap();
        type Change = fn(&mut GitHubSigner);
        let cases: [(Change, &str); 6] = [
            (|s| s.owner = Some("other".into()), "Owner URI"),
            (
                |s| s.repo = Some("org/other".into()),
                "Source Repository URI",
            ),
            (
                |s| s.signer_digest = Some("cccc".into()),
                "Build Signer Digest",
            ),
            (
                |s| s.source_ref = Some("refs/heads/main".into()),
                "Source Repository Ref",
            ),
            (
                |s| s.source_digest = Some("cccc".into()),
                "Source Repository Digest",
            ),
            (|s| s.signer_repo = Some("org/other".into()), "identity"),
        ];
        for (change, field) in cases {
            let mut signer = ok.clone();
            signer.repo = None;
            change(&mut signer);
            let found = field_of(signer.check(Some(ID), &claims(), false));
            assert!(found.contains(field), "{found} for {field}");
        }
        let mut self_hosted = claims();
        self_hosted.runner_environment = Some("self-hosted".into());
        assert!(field_of(ok.check(Some(ID), &self_hosted, false)).contains("Runner"));
    }

    #[test]
    fn owner_implies_an_identity_under_the_owner_unless_one_is_given() {
        let signer = GitHubSigner {
            owner: Some("org".into()),
            ..GitHubSigner::default()
        };
        let elsewhere = "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main";
        assert!(field_of(signer.check(Some(elsewhere), &claims(), false)).contains("identity"));
        signer.check(Some(elsewhere), &claims(), true).unwrap();
    }

    #[test]
    fn signer_workflow_is_a_regex_after_the_host() {
        for (workflow, ok) in [
            ("org/repo/.github/workflows/release.yml", true),
            ("github.com/org/repo/.github/workflows/release.yml", true),
            ("org/repo/.github/workflows/other.yml", false),
            ("evil.example/org/repo", false),
        ] {
            let signer = GitHubSigner {
                signer_workflow: Some(workflow.into()),
                ..GitHubSigner::default()
            };
            assert_eq!(
                signer.check(Some(ID), &claims(), false).is_ok(),
                ok,
                "{workflow}"
            );
        }
    }

    #[test]
    fn malformed_repositories_are_input_errors() {
        let signer = GitHubSigner {
            repo: Some("just-a-name".into()),
            ..GitHubSigner::default()
        };
        assert!(matches!(signer.validate(), Err(Error::Malformed { .. })));
    }
}
