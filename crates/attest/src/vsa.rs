//! SLSA Verification Summary Attestations (VSA,
//! `https://slsa.dev/verification_summary/v1`; slsa-framework/slsa
//! `spec/verification_summary.md`): what a verifier writes after it checked
//! an artifact against a policy, so that a consumer who trusts the verifier
//! can decide without the evidence.
//!
//! [`VerificationSummary`] is the predicate, written and read here: built by
//! the verifier from what it verified ([`VerificationSummary::statement`]),
//! read strictly by a consumer from a verified Statement
//! ([`VerificationSummary::from_statement`]) and checked against the
//! consumer's expectations ([`VsaExpectations::check`], slsa-verifier's
//! `verify-vsa` semantics: the verifier id and resource URI match exactly,
//! the result is `PASSED`, each expected level is met by a level of the same
//! track at least as high). `dependencyLevels` is read and kept but toto
//! never claims it: it does not verify dependencies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::DigestSet;
use crate::error::Error;
use crate::statement::{ResourceDescriptor, Statement};

/// The VSA predicate type.
pub const VSA_PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";

/// The SLSA version whose levels toto writes (`slsaVersion`).
pub const SLSA_VERSION: &str = "1.0";

/// SLSA provenance predicate types: a verified one carries a Build level.
pub const SLSA_PROVENANCE_TYPES: &[&str] = &[
    "https://slsa.dev/provenance/v1",
    "https://slsa.dev/provenance/v0.2",
    "https://slsa.dev/provenance/v0.1",
];

/// `verificationResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VerificationResult {
    /// The artifact passed the policy.
    Passed,
    /// It did not.
    Failed,
}

impl VerificationResult {
    /// As written: `PASSED` or `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationResult::Passed => "PASSED",
            VerificationResult::Failed => "FAILED",
        }
    }
}

/// `verifier`: who verified, and with what versions of which components.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VsaVerifier {
    /// The verifier's identity (a URI).
    pub id: String,
    /// Component → version.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub version: BTreeMap<String, String>,
}

/// A `SlsaResult` read as a track level: `SLSA_<TRACK>_LEVEL_<N>` or
/// `SLSA_<TRACK>_LEVEL_UNEVALUATED` (level `None`). Other results (`FAILED`,
/// verified properties) are no track level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackLevel<'a> {
    /// The track, e.g. `BUILD`.
    pub track: &'a str,
    /// The level; `None` for `UNEVALUATED`.
    pub level: Option<u8>,
}

impl<'a> TrackLevel<'a> {
    /// `text` as a track level, or `None`.
    pub fn parse(text: &'a str) -> Option<TrackLevel<'a>> {
        let rest = text.strip_prefix("SLSA_")?;
        let (track, level) = rest.rsplit_once("_LEVEL_")?;
        if track.is_empty() || !track.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            return None;
        }
        let level = match level {
            "UNEVALUATED" => None,
            digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                Some(digits.parse().ok()?)
            }
            _ => return None,
        };
        Some(TrackLevel { track, level })
    }
}

/// `SLSA_BUILD_LEVEL_UNEVALUATED`: no claim about the Build track.
pub const BUILD_LEVEL_UNEVALUATED: &str = "SLSA_BUILD_LEVEL_UNEVALUATED";

/// The Build level a verification establishes: none for anything but SLSA
/// provenance ([`BUILD_LEVEL_UNEVALUATED`]); for verified SLSA provenance,
/// level 1 (provenance exists and its signature verified), and level 2
/// when its signer is a hosted build platform (`hosted_signer`: a Fulcio
/// certificate issued to a GitHub-hosted runner, whose provenance the
/// platform signs). toto never claims level 3: whether a builder is
/// hardened is not something the evidence shows.
pub fn build_level(predicate_type: &str, hosted_signer: bool) -> &'static str {
    match (
        SLSA_PROVENANCE_TYPES.contains(&predicate_type),
        hosted_signer,
    ) {
        (false, _) => BUILD_LEVEL_UNEVALUATED,
        (true, false) => "SLSA_BUILD_LEVEL_1",
        (true, true) => "SLSA_BUILD_LEVEL_2",
    }
}

/// The VSA predicate (field names as the spec writes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationSummary {
    /// Who verified.
    pub verifier: VsaVerifier,
    /// When (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_verified: Option<String>,
    /// The resource the artifact was verified as.
    pub resource_uri: String,
    /// The policy verified against (`uri`, and `digest` when it is a file).
    pub policy: ResourceDescriptor,
    /// The attestations verification used: every one of them, and only them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_attestations: Vec<ResourceDescriptor>,
    /// `PASSED` or `FAILED`.
    pub verification_result: VerificationResult,
    /// The highest level verified per track (`FAILED` when failed).
    pub verified_levels: Vec<String>,
    /// Dependencies per level (read, never written by toto).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency_levels: Option<BTreeMap<String, u64>>,
    /// The SLSA version of the levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slsa_version: Option<String>,
}

impl VerificationSummary {
    /// The summary as a Statement about `subjects` (each with a digest).
    /// The required fields the spec asks a URI of (`verifier.id`,
    /// `resourceUri`, `policy.uri`) must not be empty.
    pub fn statement(&self, subjects: Vec<ResourceDescriptor>) -> Result<Statement, Error> {
        if subjects.is_empty() || subjects.iter().any(|s| s.digest.is_none()) {
            return Err(Error::Malformed {
                what: "VSA",
                reason: "a VSA is about artifacts: each subject needs a digest".into(),
            });
        }
        let empty = [
            ("verifier.id", self.verifier.id.as_str()),
            ("resourceUri", self.resource_uri.as_str()),
            ("policy.uri", self.policy.uri.as_deref().unwrap_or_default()),
        ]
        .into_iter()
        .find(|(_, value)| value.trim().is_empty());
        if let Some((field, _)) = empty {
            return Err(Error::Malformed {
                what: "VSA",
                reason: format!("{field} is empty: it must name a URI"),
            });
        }
        let predicate = serde_json::to_value(self).map_err(|e| Error::Malformed {
            what: "VSA",
            reason: e.to_string(),
        })?;
        Ok(Statement::new(subjects, VSA_PREDICATE_TYPE, predicate))
    }

    /// The summary a verified `statement` carries: its predicate type must
    /// be [`VSA_PREDICATE_TYPE`] and its predicate have every required
    /// field (unknown fields are ignored, as the spec's parsing rules say).
    pub fn from_statement(statement: &Statement) -> Result<VerificationSummary, Error> {
        if statement.predicate_type != VSA_PREDICATE_TYPE {
            return Err(Error::Constraint {
                field: "predicateType".into(),
                expected: VSA_PREDICATE_TYPE.into(),
                found: Some(statement.predicate_type.clone()),
            });
        }
        VerificationSummary::deserialize(&statement.predicate).map_err(|e| Error::Malformed {
            what: "VSA predicate",
            reason: e.to_string(),
        })
    }
}

/// What a verified layout's summary is about and what it used: the
/// `subjects` (the products of the layout's last step named in `wanted`, or
/// all of them, with the digests its verified link records) and the
/// `inputs` (every link file the verification accepted, with the SHA-256
/// of the bytes read, from `read`: location → hex digest). `Err` when a
/// wanted name is no such product, when there is nothing to summarize, or
/// when an accepted link has no digest (it was not read through the
/// observer that digests).
pub fn layout_subjects_and_inputs(
    report: &crate::verify::Report,
    wanted: &[String],
    read: &BTreeMap<String, String>,
) -> Result<(Vec<ResourceDescriptor>, Vec<ResourceDescriptor>), Error> {
    let refused = |reason: String| Error::Malformed {
        what: "VSA",
        reason,
    };
    if !report.verified {
        return Err(refused("the layout did not verify".into()));
    }
    let subjects = match wanted {
        [] => report
            .products
            .iter()
            .map(|(name, digest)| ResourceDescriptor::artifact(name, digest.clone()))
            .collect(),
        names => names
            .iter()
            .map(|name| match report.products.get(name) {
                Some(digest) => Ok(ResourceDescriptor::artifact(name, digest.clone())),
                None => Err(refused(format!(
                    "--vsa-subject {name:?} is not a product of the layout's last step"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if subjects.is_empty() {
        return Err(refused("the layout's last step has no products".into()));
    }
    let mut inputs = Vec::new();
    for file in report.steps.iter().flat_map(|step| step.links.values()) {
        let digest = read.get(file).ok_or_else(|| {
            refused(format!(
                "{file} was accepted but its bytes were not digested"
            ))
        })?;
        inputs.push(ResourceDescriptor {
            uri: Some(file.clone()),
            digest: Some(DigestSet::single("sha256", digest).map_err(|e| refused(e.to_string()))?),
            ..Default::default()
        });
    }
    Ok((subjects, inputs))
}

/// What a consumer expects of a VSA (slsa-verifier's `verify-vsa` flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VsaExpectations {
    /// `verifier.id`, exactly.
    pub verifier_id: Option<String>,
    /// `resourceUri`, exactly.
    pub resource_uri: Option<String>,
    /// Levels that must be met: `SLSA_<TRACK>_LEVEL_<N>` by a level of the
    /// same track at least `N`; anything else by an equal entry.
    pub verified_levels: Vec<String>,
    /// `policy.uri`, exactly.
    pub policy_uri: Option<String>,
    /// Digests `policy.digest` must agree with.
    pub policy_digest: Option<DigestSet>,
}

/// A mismatch of `field`.
fn mismatch(field: &str, expected: impl Into<String>, found: Option<String>) -> Error {
    Error::Constraint {
        field: format!("VSA {field}"),
        expected: expected.into(),
        found,
    }
}

impl VsaExpectations {
    /// True when nothing is expected beyond a `PASSED` result.
    pub fn is_empty(&self) -> bool {
        *self == VsaExpectations::default()
    }

    /// Checks `summary`: the result is `PASSED`, and every expectation
    /// holds. The error ([`Error::Constraint`]) names the field, what was
    /// expected and what the VSA says.
    pub fn check(&self, summary: &VerificationSummary) -> Result<(), Error> {
        if summary.verification_result != VerificationResult::Passed {
            return Err(mismatch(
                "verificationResult",
                "PASSED",
                Some(summary.verification_result.as_str().into()),
            ));
        }
        if let Some(id) = self
            .verifier_id
            .as_ref()
            .filter(|id| **id != summary.verifier.id)
        {
            return Err(mismatch(
                "verifier.id",
                format!("{id:?}"),
                Some(summary.verifier.id.clone()),
            ));
        }
        if let Some(uri) = self
            .resource_uri
            .as_ref()
            .filter(|uri| **uri != summary.resource_uri)
        {
            return Err(mismatch(
                "resourceUri",
                format!("{uri:?}"),
                Some(summary.resource_uri.clone()),
            ));
        }
        if let Some(uri) = self
            .policy_uri
            .as_ref()
            .filter(|uri| summary.policy.uri.as_ref() != Some(*uri))
        {
            return Err(mismatch(
                "policy.uri",
                format!("{uri:?}"),
                summary.policy.uri.clone(),
            ));
        }
        if let Some(digest) = &self.policy_digest {
            let agrees = summary
                .policy
                .digest
                .as_ref()
                .is_some_and(|found| found.agrees_with(digest));
            if !agrees {
                let shown = |d: &DigestSet| {
                    d.iter()
                        .map(|(a, h)| format!("{a}:{h}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                return Err(mismatch(
                    "policy.digest",
                    shown(digest),
                    summary.policy.digest.as_ref().map(shown),
                ));
            }
        }
        for wanted in &self.verified_levels {
            if !level_met(wanted, &summary.verified_levels) {
                let expected = match TrackLevel::parse(wanted) {
                    Some(TrackLevel { level: Some(_), .. }) => format!("{wanted} or higher"),
                    _ => wanted.clone(),
                };
                return Err(mismatch(
                    "verifiedLevels",
                    expected,
                    Some(format!("[{}]", summary.verified_levels.join(", "))),
                ));
            }
        }
        Ok(())
    }
}

/// Whether `found` meets `wanted`: a numbered level by a numbered level of
/// the same track at least as high; anything else by an equal entry.
fn level_met(wanted: &str, found: &[String]) -> bool {
    match TrackLevel::parse(wanted) {
        Some(TrackLevel {
            track,
            level: Some(n),
        }) => found.iter().any(|f| {
            TrackLevel::parse(f)
                .is_some_and(|f| f.track == track && f.level.is_some_and(|l| l >= n))
        }),
        _ => found.iter().any(|f| f == wanted),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn summary() -> VerificationSummary {
        VerificationSummary {
            verifier: VsaVerifier {
                id: "https://example.com/verifier".into(),
                version: BTreeMap::from([("toto".into(), "0.1.0".into())]),
            },
            time_verified: Some("2026-01-02T03:04:05Z".into()),
            resource_uri: "app.tar.gz".into(),
            policy: ResourceDescriptor {
                uri: Some("policy.toml".into()),
                digest: Some(DigestSet::single("sha256", &"ab".repeat(32)).unwrap()),
                ..Default::default()
            },
            input_attestations: vec![ResourceDescriptor {
                uri: Some("app.tar.gz.sigstore.json".into()),
                digest: Some(DigestSet::single("sha256", &"cd".repeat(32)).unwrap()),
                ..Default::default()
            }],
            verification_result: VerificationResult::Passed,
            verified_levels: vec!["SLSA_BUILD_LEVEL_2".into()],
            dependency_levels: None,
            slsa_version: Some(SLSA_VERSION.into()),
        }
    }

    fn subject() -> Vec<ResourceDescriptor> {
        vec![ResourceDescriptor::artifact(
            "app.tar.gz",
            DigestSet::single("sha256", &"ef".repeat(32)).unwrap(),
        )]
    }

    /// The field names are the spec's, exactly.
    #[test]
    fn the_predicate_is_written_with_the_specs_field_names() {
        let statement = summary().statement(subject()).unwrap().into_value();
        assert_eq!(statement["predicateType"], VSA_PREDICATE_TYPE);
        assert_eq!(
            statement["predicate"],
            json!({
                "verifier": {"id": "https://example.com/verifier", "version": {"toto": "0.1.0"}},
                "timeVerified": "2026-01-02T03:04:05Z",
                "resourceUri": "app.tar.gz",
                "policy": {"uri": "policy.toml", "digest": {"sha256": "ab".repeat(32)}},
                "inputAttestations": [
                    {"uri": "app.tar.gz.sigstore.json", "digest": {"sha256": "cd".repeat(32)}}
                ],
                "verificationResult": "PASSED",
                "verifiedLevels": ["SLSA_BUILD_LEVEL_2"],
                "slsaVersion": "1.0",
            })
        );
        let read = Statement::from_value(statement).unwrap();
        assert_eq!(
            VerificationSummary::from_statement(&read).unwrap(),
            summary()
        );
    }

    #[test]
    fn a_vsa_with_an_empty_verifier_resource_or_policy_is_not_written() {
        let mut no_verifier = summary();
        no_verifier.verifier.id = String::new();
        let mut no_resource = summary();
        no_resource.resource_uri = " ".into();
        let mut no_policy = summary();
        no_policy.policy.uri = None;
        for (vsa, field) in [
            (no_verifier, "verifier.id"),
            (no_resource, "resourceUri"),
            (no_policy, "policy.uri"),
        ] {
            let refused = vsa.statement(subject()).unwrap_err().to_string();
            assert!(refused.contains(field), "{refused}");
        }
    }

    #[test]
    fn a_vsa_without_a_subject_digest_is_not_written() {
        let mut subjects = subject();
        subjects[0].digest = None;
        assert!(summary().statement(subjects).is_err());
        assert!(summary().statement(Vec::new()).is_err());
    }

    #[test]
    fn a_predicate_missing_a_required_field_or_of_another_type_is_refused() {
        let mut value = summary().statement(subject()).unwrap().into_value();
        value["predicate"]
            .as_object_mut()
            .unwrap()
            .remove("resourceUri");
        let statement = Statement::from_value(value).unwrap();
        assert!(matches!(
            VerificationSummary::from_statement(&statement),
            Err(Error::Malformed { .. })
        ));
        let mut other = summary().statement(subject()).unwrap();
        other.predicate_type = "https://slsa.dev/provenance/v1".into();
        assert!(matches!(
            VerificationSummary::from_statement(&other),
            Err(Error::Constraint { .. })
        ));
    }

    #[test]
    fn levels_parse_as_tracks_and_numbers() {
        assert_eq!(
            TrackLevel::parse("SLSA_BUILD_LEVEL_3"),
            Some(TrackLevel {
                track: "BUILD",
                level: Some(3)
            })
        );
        assert_eq!(
            TrackLevel::parse("SLSA_SOURCE_LEVEL_UNEVALUATED"),
            Some(TrackLevel {
                track: "SOURCE",
                level: None
            })
        );
        for not_a_level in [
            "FAILED",
            "SLSA_BUILD_LEVEL_",
            "SLSA__LEVEL_1",
            "SLSA_BUILD_LEVEL_x",
        ] {
            assert_eq!(TrackLevel::parse(not_a_level), None, "{not_a_level}");
        }
    }

    /// Each expectation has its refusal, naming field, expected and found.
    #[test]
    fn each_expectation_refuses_exactly_its_mismatch() {
        let good = summary();
        let all = VsaExpectations {
            verifier_id: Some("https://example.com/verifier".into()),
            resource_uri: Some("app.tar.gz".into()),
            verified_levels: vec!["SLSA_BUILD_LEVEL_1".into(), "SLSA_BUILD_LEVEL_2".into()],
            policy_uri: Some("policy.toml".into()),
            policy_digest: Some(DigestSet::single("sha256", &"ab".repeat(32)).unwrap()),
        };
        all.check(&good).unwrap();
        let refused = |expect: VsaExpectations, vsa: &VerificationSummary| -> String {
            match expect.check(vsa) {
                Err(e @ Error::Constraint { .. }) => e.to_string(),
                other => panic!("expected a mismatch, got {other:?}"),
            }
        };
        // Each expectation changed to what the VSA does not say, and what
        // the refusal must name.
        type Mismatch = (fn(&mut VsaExpectations), &'static [&'static str]);
        let mismatches: [Mismatch; 6] = [
            (
                |e| e.verified_levels = vec!["SLSA_BUILD_LEVEL_3".into()],
                &[
                    "VSA verifiedLevels",
                    "SLSA_BUILD_LEVEL_3 or higher",
                    "SLSA_BUILD_LEVEL_2",
                ],
            ),
            (
                |e| e.verified_levels = vec!["SLSA_SOURCE_LEVEL_1".into()],
                &["SLSA_SOURCE_LEVEL_1"],
            ),
            (
                |e| e.resource_uri = Some("other.tar.gz".into()),
                &["VSA resourceUri", "other.tar.gz"],
            ),
            (
                |e| e.verifier_id = Some("https://example.com/other".into()),
                &["VSA verifier.id"],
            ),
            (
                |e| e.policy_uri = Some("other.toml".into()),
                &["VSA policy.uri"],
            ),
            (
                |e| e.policy_digest = Some(DigestSet::single("sha256", &"00".repeat(32)).unwrap()),
                &["VSA policy.digest"],
            ),
        ];
        for (change, needles) in mismatches {
            let mut expect = all.clone();
            change(&mut expect);
            let msg = refused(expect, &good);
            for needle in needles {
                assert!(msg.contains(needle), "{needle:?} not in: {msg}");
            }
        }
        let mut failed = good.clone();
        failed.verification_result = VerificationResult::Failed;
        failed.verified_levels = vec!["FAILED".into()];
        let msg = refused(VsaExpectations::default(), &failed);
        assert!(
            msg.contains("VSA verificationResult") && msg.contains("FAILED"),
            "{msg}"
        );
    }

    /// UNEVALUATED meets no numbered level, and is met only by itself.
    #[test]
    fn unevaluated_meets_no_numbered_level() {
        let mut vsa = summary();
        vsa.verified_levels = vec![BUILD_LEVEL_UNEVALUATED.into()];
        let level1 = VsaExpectations {
            verified_levels: vec!["SLSA_BUILD_LEVEL_1".into()],
            ..Default::default()
        };
        assert!(level1.check(&vsa).is_err());
        let unevaluated = VsaExpectations {
            verified_levels: vec![BUILD_LEVEL_UNEVALUATED.into()],
            ..Default::default()
        };
        unevaluated.check(&vsa).unwrap();
    }

    fn verified_report() -> crate::verify::Report {
        let mut step = crate::verify::StepReport {
            name: "package".into(),
            ..Default::default()
        };
        step.links
            .insert("keyid".into(), "package.be06db20.link".into());
        crate::verify::Report {
            verified: true,
            failure: None,
            steps: vec![step],
            warnings: Vec::new(),
            products: crate::ArtifactMap::from([
                (
                    "a.tar.gz".to_owned(),
                    DigestSet::single("sha256", &"ab".repeat(32)).unwrap(),
                ),
                (
                    "b.tar.gz".to_owned(),
                    DigestSet::single("sha256", &"cd".repeat(32)).unwrap(),
                ),
            ]),
        }
    }

    /// Only what was verified: the last step's products (all, or those
    /// named), each accepted link file with the digest of the bytes read.
    #[test]
    fn a_layouts_summary_names_only_what_was_verified() {
        let report = verified_report();
        let read = BTreeMap::from([("package.be06db20.link".to_owned(), "ef".repeat(32))]);
        let (subjects, inputs) = layout_subjects_and_inputs(&report, &[], &read).unwrap();
        assert_eq!(subjects.len(), 2);
        assert_eq!(inputs[0].uri.as_deref(), Some("package.be06db20.link"));
        assert_eq!(
            inputs[0].digest.as_ref().and_then(|d| d.get("sha256")),
            Some("ef".repeat(32).as_str())
        );
        let (one, _) =
            layout_subjects_and_inputs(&report, &["b.tar.gz".to_owned()], &read).unwrap();
        assert_eq!(one[0].name.as_deref(), Some("b.tar.gz"));
        assert_eq!(one.len(), 1);
        let refused = |report: &crate::verify::Report, wanted: &[String], read| {
            layout_subjects_and_inputs(report, wanted, read)
                .unwrap_err()
                .to_string()
        };
        assert!(refused(&report, &["c.tar.gz".to_owned()], &read).contains("not a product"));
        let unread = BTreeMap::new();
        assert!(refused(&report, &[], &unread).contains("not digested"));
        let mut failed = verified_report();
        failed.verified = false;
        assert!(refused(&failed, &[], &read).contains("did not verify"));
        let mut no_products = verified_report();
        no_products.products.clear();
        assert!(refused(&no_products, &[], &read).contains("no products"));
    }

    #[test]
    fn build_levels_follow_the_predicate_and_the_signer() {
        assert_eq!(
            build_level("https://slsa.dev/provenance/v1", true),
            "SLSA_BUILD_LEVEL_2"
        );
        assert_eq!(
            build_level("https://slsa.dev/provenance/v0.2", false),
            "SLSA_BUILD_LEVEL_1"
        );
        assert_eq!(
            build_level("https://example.com/review/v1", true),
            BUILD_LEVEL_UNEVALUATED
        );
    }
}
