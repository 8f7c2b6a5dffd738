//! SLSA source and builder checks with slsa-verifier's semantics
//! (`verify-artifact --source-uri --source-tag --source-branch
//! --source-versioned-tag --builder-id`): one typed value,
//! [`SourcePolicy`], whether the command line, a policy file's `[slsa]`
//! table or a layout step's `x-toto-slsa` field asks for it, checked on a
//! verified Statement's provenance predicate and on what the signer's
//! certificate says of its source ([`CertificateSource`]: the caller's
//! keyless verifier reads the certificate; `attest` reads none).
//!
//! Where the provenance and the certificate both name the source, both must
//! match: the certificate's claims are Fulcio's (copied from GitHub's token),
//! the predicate is what the signing workflow wrote. A predicate that says
//! nothing of its source (a PyPI publish attestation, any non-provenance
//! predicate) is judged by the certificate alone.
//!
//! The provenance shapes read:
//! - SLSA v0.2 (`https://slsa.dev/provenance/v0.2`: npm, slsa-github-generator
//!   v1.x generic): `invocation.configSource.uri` (`git+https://github.com/O/R@REF`),
//!   `materials[0].uri`, `builder.id`;
//! - SLSA v1 (`https://slsa.dev/provenance/v1`: `actions/attest-build-provenance`
//!   with build type `https://actions.github.io/buildtypes/workflow/v1`, npm and
//!   slsa-github-generator with `https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1`):
//!   `buildDefinition.externalParameters.workflow.{repository,ref}`,
//!   `buildDefinition.resolvedDependencies[0].uri`, `runDetails.builder.id`.
//!
//! Deliberately simpler than slsa-verifier: the branch is the built ref's
//! (`refs/heads/NAME`); a build from a tag has no branch here (slsa-verifier
//! digs one out of the event payload), so `--source-branch` refuses it.

use serde_json::Value;

use crate::error::Error;
use crate::statement::Statement;

/// SLSA v0.2's predicate type.
pub const SLSA_PROVENANCE_V02: &str = "https://slsa.dev/provenance/v0.2";
/// SLSA v1's predicate type.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// slsa-verifier's source and builder requirements; empty fields are not
/// checked.
///
/// As TOML (`[slsa]`) and as a layout step's `x-toto-slsa` object, the
/// keys are the flags' names with underscores; unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourcePolicy {
    /// `--source-uri github.com/ORG/REPO` (a scheme and `git+` are allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_uri: Option<String>,
    /// `--source-tag v1.2.3`: built from `refs/tags/v1.2.3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_tag: Option<String>,
    /// `--source-branch main`: built from `refs/heads/main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_branch: Option<String>,
    /// `--source-versioned-tag v1.2`: built from a semver tag with this
    /// major (and minor, and patch, as far as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_versioned_tag: Option<String>,
    /// `--builder-id NAME[@VERSION]`: the provenance's builder (or, when it
    /// names none, the certificate's signing workflow) is NAME, and when a
    /// VERSION is given, at VERSION or `refs/tags/VERSION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder_id: Option<String>,
}

/// What a verified signer's certificate says of the source it was issued
/// for (Fulcio's GitHub Actions extensions); all `None` for a key signer.
#[derive(Debug, Clone, Copy, Default)]
pub struct CertificateSource<'a> {
    /// `.1.12` Source Repository URI, e.g. `https://github.com/org/repo`.
    pub source_repository_uri: Option<&'a str>,
    /// `.1.14` Source Repository Ref, e.g. `refs/tags/v1.0`.
    pub source_repository_ref: Option<&'a str>,
    /// `.1.9` Build Signer URI: the workflow that signed, with its ref.
    pub build_signer_uri: Option<&'a str>,
}

/// One place that names a source: where it was read, the repository as
/// `git+https://…` and the ref.
struct Source {
    field: &'static str,
    raw: String,
    repository: String,
    reference: Option<String>,
}

impl SourcePolicy {
    /// True when nothing is asked.
    pub fn is_empty(&self) -> bool {
        *self == SourcePolicy::default()
    }

    /// The policy itself is well-formed: the source is a github.com
    /// repository, the versioned tag is semver, the builder id has at most
    /// one `@` and a version after it.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(uri) = &self.source_uri {
            if !normalize(uri).starts_with("git+https://github.com/") {
                return Err(Error::Malformed {
                    what: "--source-uri",
                    reason: format!("{uri:?} is not a github.com repository (github.com/ORG/REPO)"),
                });
            }
        }
        if let Some(tag) = &self.source_versioned_tag {
            if !semver_valid(tag) {
                return Err(Error::Malformed {
                    what: "--source-versioned-tag",
                    reason: format!("{tag:?} is not a semantic version (vMAJOR[.MINOR[.PATCH]])"),
                });
            }
        }
        if let Some(id) = &self.builder_id {
            split_builder_id(id).ok_or_else(|| Error::Malformed {
                what: "--builder-id",
                reason: format!("{id:?} is not NAME or NAME@VERSION"),
            })?;
        }
        Ok(())
    }

    /// Checks what a verifier verified: the signed Statement (`None`: the
    /// payload is not one) and what the signer's certificate says. Pass
    /// only verified values. A mismatch is [`Error::Constraint`], naming
    /// the field (where it was read), the expected and the found value.
    pub fn check(
        &self,
        statement: Option<&Statement>,
        certificate: &CertificateSource<'_>,
    ) -> Result<(), Error> {
        if self.is_empty() {
            return Ok(());
        }
        self.validate()?;
        let (predicate_type, predicate) = statement
            .map(|s| (s.predicate_type.as_str(), &s.predicate))
            .unwrap_or(("", &Value::Null));
        let mut sources = predicate_sources(predicate_type, predicate);
        if let Some(uri) = certificate.source_repository_uri {
            sources.push(Source {
                field: "certificate Source Repository URI",
                raw: uri.to_owned(),
                repository: normalize(uri),
                reference: certificate.source_repository_ref.map(str::to_owned),
            });
        }
        if let Some(uri) = &self.source_uri {
            let wanted = normalize(uri);
            if sources.is_empty() {
                return Err(mismatch("source repository", uri.as_str(), None));
            }
            for source in &sources {
                if source.repository != wanted {
                    return Err(mismatch(source.field, uri.as_str(), Some(&source.raw)));
                }
            }
        }
        let refs: Vec<(String, Option<&str>)> = sources
            .iter()
            .filter(|s| s.reference.is_some() || s.field.starts_with("provenance trigger"))
            .map(|s| (format!("{} ref", s.field), s.reference.as_deref()))
            .collect();
        let need_ref = self.source_tag.is_some()
            || self.source_branch.is_some()
            || self.source_versioned_tag.is_some();
        if need_ref && refs.is_empty() {
            return Err(mismatch("source ref", "a git ref", None));
        }
        for (field, reference) in &refs {
            let tag = reference.and_then(|r| r.strip_prefix("refs/tags/"));
            let branch = reference.and_then(|r| r.strip_prefix("refs/heads/"));
            if let Some(wanted) = &self.source_tag {
                if tag != Some(wanted.as_str()) {
                    return Err(mismatch(field, format!("refs/tags/{wanted}"), *reference));
                }
            }
            if let Some(wanted) = &self.source_branch {
                if branch != Some(wanted.as_str()) {
                    return Err(mismatch(field, format!("refs/heads/{wanted}"), *reference));
                }
            }
            if let Some(wanted) = &self.source_versioned_tag {
                if !tag.is_some_and(|t| versioned_tag_matches(t, wanted)) {
                    return Err(mismatch(
                        field,
                        format!("a tag of version {wanted} (semver, as slsa-verifier)"),
                        *reference,
                    ));
                }
            }
        }
        if let Some(wanted) = &self.builder_id {
            let (field, found) = match builder_of(predicate_type, predicate) {
                Some(found) => found,
                None => (
                    "certificate Build Signer URI (the provenance names no builder)",
                    certificate.build_signer_uri,
                ),
            };
            if !found.is_some_and(|f| builder_matches(f, wanted)) {
                return Err(mismatch(field, wanted.as_str(), found));
            }
        }
        Ok(())
    }
}

/// [`Error::Constraint`]: `field` is `found`, not `expected`.
fn mismatch(field: &str, expected: impl Into<String>, found: Option<&str>) -> Error {
    Error::Constraint {
        field: field.to_owned(),
        expected: expected.into(),
        found: found.map(str::to_owned),
    }
}

/// slsa-verifier's `NormalizeGitURI`: `git+` and `https://` added when absent.
fn normalize(uri: &str) -> String {
    if uri.starts_with("git+") {
        uri.to_owned()
    } else if uri.contains("://") {
        format!("git+{uri}")
    } else {
        format!("git+https://{uri}")
    }
}

/// `git+URI@REF` → (`git+URI`, `REF`).
fn git_source(field: &'static str, uri: &str) -> Source {
    let (repository, reference) = match uri.split_once('@') {
        Some((repo, r)) => (repo.to_owned(), Some(r.to_owned())),
        None => (uri.to_owned(), None),
    };
    Source {
        field,
        raw: uri.to_owned(),
        repository,
        reference,
    }
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |at, key| at.get(key))
        .and_then(Value::as_str)
}

/// The sources a provenance predicate names (trigger first, then the first
/// material), by its shape.
fn predicate_sources(predicate_type: &str, predicate: &Value) -> Vec<Source> {
    let mut sources = Vec::new();
    match predicate_type {
        SLSA_PROVENANCE_V02 => {
            if let Some(uri) = text(predicate, &["invocation", "configSource", "uri"]) {
                sources.push(git_source(
                    "provenance trigger (invocation.configSource.uri)",
                    uri,
                ));
            }
            let first = predicate.get("materials").and_then(|m| m.get(0));
            if let Some(uri) = first.and_then(|m| text(m, &["uri"])) {
                sources.push(git_source("provenance material (materials[0].uri)", uri));
            }
        }
        SLSA_PROVENANCE_V1 => {
            let workflow = ["buildDefinition", "externalParameters", "workflow"];
            let at = |key: &str| {
                let mut path = workflow.to_vec();
                path.push(key);
                text(predicate, &path)
            };
            if let Some(repository) = at("repository") {
                let reference = at("ref").map(str::to_owned);
                sources.push(Source {
                    field: "provenance trigger (buildDefinition.externalParameters.workflow)",
                    raw: match &reference {
                        Some(r) => format!("{repository}@{r}"),
                        None => repository.to_owned(),
                    },
                    repository: normalize(repository),
                    reference,
                });
            }
            let first = predicate
                .get("buildDefinition")
                .and_then(|b| b.get("resolvedDependencies"))
                .and_then(|d| d.get(0));
            if let Some(uri) = first.and_then(|d| text(d, &["uri"])) {
                if uri.starts_with("git+") {
                    sources.push(git_source(
                        "provenance material (buildDefinition.resolvedDependencies[0].uri)",
                        uri,
                    ));
                }
            }
        }
        _ => {}
    }
    sources
}

/// The builder a provenance predicate names, and where.
fn builder_of<'a>(
    predicate_type: &str,
    predicate: &'a Value,
) -> Option<(&'static str, Option<&'a str>)> {
    match predicate_type {
        SLSA_PROVENANCE_V02 => {
            text(predicate, &["builder", "id"]).map(|id| ("provenance builder.id", Some(id)))
        }
        SLSA_PROVENANCE_V1 => text(predicate, &["runDetails", "builder", "id"])
            .map(|id| ("provenance runDetails.builder.id", Some(id))),
        _ => None,
    }
}

/// `NAME` or `NAME@VERSION` (a non-empty version), as slsa-verifier's
/// `ParseBuilderID`.
fn split_builder_id(id: &str) -> Option<(&str, Option<&str>)> {
    let mut parts = id.split('@');
    let name = parts.next()?;
    let version = parts.next();
    if parts.next().is_some() || version == Some("") {
        return None;
    }
    Some((name, version))
}

/// slsa-verifier's `MatchesLoose`: the names are equal; a version given
/// must be the builder's, or the builder's be `refs/tags/VERSION`.
fn builder_matches(found: &str, wanted: &str) -> bool {
    let (Some((name, version)), Some((wanted_name, wanted_version))) =
        (split_builder_id(found), split_builder_id(wanted))
    else {
        return false;
    };
    name == wanted_name
        && wanted_version.is_none_or(|w| {
            version == Some(w) || version.is_some_and(|v| v.strip_prefix("refs/tags/") == Some(w))
        })
}

/// Go's `golang.org/x/mod/semver.IsValid`: `v` then MAJOR, optionally
/// `.MINOR`, optionally `.PATCH`; a prerelease (`-…`) and build (`+…`)
/// only after a full MAJOR.MINOR.PATCH; numbers without leading zeros.
fn semver_valid(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let (rest, build) = match rest.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (rest, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let number = |n: &str| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
    };
    let identifiers = |s: &str, numeric_rule: bool| {
        s.split('.').all(|id| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && (!numeric_rule || !id.bytes().all(|b| b.is_ascii_digit()) || number(id))
        })
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || !parts.iter().all(|p| number(p)) {
        return false;
    }
    if (pre.is_some() || build.is_some()) && parts.len() != 3 {
        return false;
    }
    pre.is_none_or(|p| identifiers(p, true)) && build.is_none_or(|b| identifiers(b, false))
}

/// slsa-verifier's `VerifyVersionedTag`: the tag is semver; its major is
/// the expected one's; so is its minor when the expected one has a minor,
/// and its patch (prerelease included, build ignored) when it has a patch.
fn versioned_tag_matches(tag: &str, wanted: &str) -> bool {
    if !semver_valid(tag) || !semver_valid(wanted) {
        return false;
    }
    // Canonical: missing minor/patch are 0, build metadata dropped.
    let without_build = |v: &str| v.split_once('+').map_or(v, |(head, _)| head).to_owned();
    let tag = without_build(tag);
    let mut got: Vec<String> = tag.split('.').map(str::to_owned).collect();
    while got.len() < 3 {
        got.push("0".into());
    }
    let want: Vec<String> = without_build(wanted)
        .split('.')
        .map(str::to_owned)
        .collect();
    want.iter().zip(&got).all(|(w, g)| w == g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_tags_as_slsa_verifier() {
        for (tag, wanted, ok) in [
            ("v1.2.3", "v1", true),
            ("v1.2.3", "v1.2", true),
            ("v1.2.3", "v1.2.3", true),
            ("v1.2.3", "v1.3", false),
            ("v1.2.3", "v2", false),
            ("v1.2.3-rc.1", "v1.2.3", false),
            ("v1.2.3-rc.1", "v1.2.3-rc.1", true),
            ("v1.2.3+build.5", "v1.2.3", true),
            ("v1", "v1.0.0", true),
            ("1.2.3", "v1", false),
            ("v01.2.3", "v1", false),
        ] {
            assert_eq!(versioned_tag_matches(tag, wanted), ok, "{tag} {wanted}");
        }
        assert!(!semver_valid("v1.2-rc.1"));
        assert!(semver_valid("v1.2.3-rc.1+b"));
    }

    #[test]
    fn builder_ids_loose_match() {
        let found = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.9.0";
        let name = found.split('@').next().unwrap();
        assert!(builder_matches(found, name));
        assert!(builder_matches(found, &format!("{name}@v1.9.0")));
        assert!(builder_matches(found, &format!("{name}@refs/tags/v1.9.0")));
        assert!(!builder_matches(found, &format!("{name}@v1.8.0")));
        assert!(!builder_matches(found, "https://github.com/actions/runner"));
        assert!(split_builder_id("a@b@c").is_none());
        assert!(split_builder_id("a@").is_none());
    }

    #[test]
    fn source_uris_normalize_as_slsa_verifier() {
        assert_eq!(normalize("github.com/o/r"), "git+https://github.com/o/r");
        assert_eq!(
            normalize("https://github.com/o/r"),
            "git+https://github.com/o/r"
        );
        assert_eq!(
            normalize("git+https://github.com/o/r"),
            "git+https://github.com/o/r"
        );
        let bad = SourcePolicy {
            source_uri: Some("gitlab.com/o/r".into()),
            ..SourcePolicy::default()
        };
        assert!(matches!(bad.validate(), Err(Error::Malformed { .. })));
    }
}
