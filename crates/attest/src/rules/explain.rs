//! Why a rule failed. [`Cause`] tells the artifact's story, not only which
//! rule refused it: a `DISALLOW` that refuses an artifact is rarely the
//! cause. The cause is an earlier rule whose pattern selected the artifact
//! but that did not consume it: a `MATCH` whose FROM step recorded other
//! digests (or not this path at all), a `CREATE` of what was already a
//! material, a `MODIFY` of an unchanged file, a `DELETE` of what is still
//! there. A `REQUIRE` fails because the path was never there or an earlier
//! rule consumed it.
//!
//! The cause is worked out only when a rule fails, from the inputs the
//! engine used and with its own path arithmetic (`engine::match_view`), so
//! it cannot tell a story the engine did not follow.

use std::fmt;

use serde::Serialize;

use super::engine::{match_view, FailureKind, RuleTrace, StepLookup};
use super::model::{Rule, SourceType};
use crate::digest::{ArtifactMap, DigestSet};
use crate::pattern::Pattern;

/// What kind of cause (`failure.cause.kind` in `toto verify --format json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CauseKind {
    /// A `MATCH` found the path in its FROM step with other digests.
    DigestMismatch,
    /// A `MATCH` did not find the path among its FROM step's artifacts.
    AbsentFromSource,
    /// A `MATCH` names a step (or inspection) that has no link.
    NoSourceLink,
    /// A `CREATE` of a product that was already a material.
    CreatedButWasMaterial,
    /// A `MODIFY` of an artifact whose digests are the same on both sides.
    ModifyUnchanged,
    /// A `MODIFY` of an artifact that is on one side only.
    ModifyAbsent,
    /// A `DELETE` of a material that is still a product.
    DeletedButStillPresent,
    /// `DISALLOW` matched an artifact that no earlier rule's pattern selected.
    Disallowed,
    /// `REQUIRE` of a path that is not among the artifacts.
    RequiredMissing,
    /// `REQUIRE` of a path an earlier rule consumed.
    RequiredConsumed,
    /// A `MATCH` source prefix rebuilt a path the item does not have.
    UnresolvedMatch,
}

/// Why a rule failed on an artifact. Fields that do not apply to a kind
/// are `None` (and left out of JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Cause {
    /// What happened.
    pub kind: CauseKind,
    /// The rule that should have consumed the artifact (for
    /// [`CauseKind::RequiredConsumed`]: the rule that consumed it; for
    /// [`CauseKind::UnresolvedMatch`]: the failing `MATCH` itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The `MATCH` rule's FROM step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_step: Option<String>,
    /// Which artifacts of the FROM step the `MATCH` compares with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_side: Option<SourceType>,
    /// The path the `MATCH` looked up in its FROM step (or, for
    /// [`CauseKind::UnresolvedMatch`], the rebuilt path it did not find).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
    /// The digests the rule expected: the FROM step's artifact (`MATCH`);
    /// the material (`CREATE`, `MODIFY`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<DigestSet>,
    /// The digests found: the artifact's (`MATCH`); the product
    /// (`CREATE`, `MODIFY`, `DELETE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<DigestSet>,
}

impl Cause {
    fn new(kind: CauseKind, rule: Option<&Rule>) -> Cause {
        Cause {
            kind,
            rule: rule.map(Rule::to_string),
            source_step: None,
            source_side: None,
            source_path: None,
            expected: None,
            found: None,
        }
    }
}

/// What the engine had when a rule failed.
pub(super) struct Failed<'r, 'a> {
    /// The item's rules; the first `traces.len()` of them were applied.
    pub rules: &'r [Rule],
    /// What each applied rule consumed.
    pub traces: &'r [RuleTrace],
    pub source: SourceType,
    pub materials: &'a ArtifactMap,
    pub products: &'a ArtifactMap,
    pub steps: StepLookup<'r, 'a>,
}

impl Failed<'_, '_> {
    /// Why `rule` failed on `artifact` as `kind` says.
    pub fn cause(&self, rule: &Rule, artifact: &str, kind: &FailureKind) -> Cause {
        match kind {
            FailureKind::Disallowed => self.disallowed(artifact),
            FailureKind::Required => self.required(artifact),
            FailureKind::UnresolvedMatch { resolved } => {
                let mut cause = Cause::new(CauseKind::UnresolvedMatch, Some(rule));
                cause.source_path = Some(resolved.clone());
                cause
            }
        }
    }

    /// The rules applied before the failing one.
    fn applied(&self) -> impl Iterator<Item = (&Rule, &RuleTrace)> {
        self.rules.iter().zip(self.traces)
    }

    /// Why `DISALLOW` found `artifact` still queued: the earlier rules whose
    /// pattern selected it (none consumed it, or it would not be queued),
    /// each with why it did not consume it. A `MATCH` whose FROM step has
    /// the path with other digests says the most, so it wins; otherwise the
    /// first such rule in order.
    fn disallowed(&self, artifact: &str) -> Cause {
        let mut first = None;
        for (rule, _) in self.applied() {
            let Some(cause) = self.not_consumed_by(rule, artifact) else {
                continue;
            };
            if cause.kind == CauseKind::DigestMismatch {
                return cause;
            }
            first.get_or_insert(cause);
        }
        first.unwrap_or_else(|| Cause::new(CauseKind::Disallowed, None))
    }

    /// Why `rule` did not consume queued `artifact`; `None` when its pattern
    /// does not select it (or the rule never consumes on this side).
    fn not_consumed_by(&self, rule: &Rule, artifact: &str) -> Option<Cause> {
        let (mine, other) = match self.source {
            SourceType::Materials => (self.materials, self.products),
            SourceType::Products => (self.products, self.materials),
        };
        let digests = mine.get(artifact);
        let selects = |pattern: &str| Pattern::new(pattern).matches(artifact);
        let mut cause = match rule {
            Rule::Match(m) => {
                let (compared, dest_path) = match_view(
                    &Pattern::new(&m.pattern),
                    &m.source_prefix,
                    &m.dest_prefix,
                    artifact,
                    mine,
                )?;
                let mut cause = Cause::new(CauseKind::NoSourceLink, Some(rule));
                cause.source_step = Some(m.dest_name.clone());
                cause.source_side = Some(m.dest_type);
                cause.found = Some(compared.clone());
                if let Some((materials, products)) = (self.steps)(&m.dest_name) {
                    match m.dest_type.pick(materials, products).get(&dest_path) {
                        None => cause.kind = CauseKind::AbsentFromSource,
                        Some(theirs) if theirs != compared => {
                            cause.kind = CauseKind::DigestMismatch;
                            cause.expected = Some(theirs.clone());
                        }
                        // Equal: the engine would have consumed it.
                        Some(_) => return None,
                    }
                }
                cause.source_path = Some(dest_path);
                return Some(cause);
            }
            Rule::Create(p) if self.source == SourceType::Products && selects(p) => {
                let material = other.get(artifact)?;
                let mut cause = Cause::new(CauseKind::CreatedButWasMaterial, Some(rule));
                cause.expected = Some(material.clone());
                cause
            }
            Rule::Delete(p) if self.source == SourceType::Materials && selects(p) => {
                let product = other.get(artifact)?;
                let mut cause = Cause::new(CauseKind::DeletedButStillPresent, Some(rule));
                cause.found = Some(product.clone());
                return Some(cause);
            }
            Rule::Modify(p) if selects(p) => {
                let theirs = other.get(artifact);
                let kind = match theirs {
                    None => CauseKind::ModifyAbsent,
                    Some(theirs) if Some(theirs) == digests => CauseKind::ModifyUnchanged,
                    Some(_) => return None,
                };
                let mut cause = Cause::new(kind, Some(rule));
                // As the rule sees it: materials before, products after.
                let (before, after) = match self.source {
                    SourceType::Materials => (digests, theirs),
                    SourceType::Products => (theirs, digests),
                };
                cause.expected = before.cloned();
                cause.found = after.cloned();
                return Some(cause);
            }
            _ => return None,
        };
        cause.found = digests.cloned();
        Some(cause)
    }

    /// Why `REQUIRE path` did not find `path` in the queue.
    fn required(&self, path: &str) -> Cause {
        let consumer = self
            .applied()
            .find(|(_, trace)| trace.consumed.iter().any(|c| c == path));
        match consumer {
            Some((rule, _)) => Cause::new(CauseKind::RequiredConsumed, Some(rule)),
            None => Cause::new(CauseKind::RequiredMissing, None),
        }
    }
}

/// A digest set in one line, each value cut to 16 hex digits:
/// `sha256:ab12cd34ab12cd34…`.
fn short_digests(digests: &DigestSet) -> String {
    let parts: Vec<String> = digests
        .iter()
        .map(|(algorithm, hex)| match hex.get(..16) {
            Some(head) if head.len() < hex.len() => format!("{algorithm}:{head}…"),
            _ => format!("{algorithm}:{hex}"),
        })
        .collect();
    parts.join(", ")
}

/// The one line that explains a rule failure, without the item prefix:
/// what the rule that should have consumed the artifact did not do and why,
/// then the failing rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Explanation<'e> {
    /// The failing rule.
    pub rule: &'e str,
    /// The list the rule is in.
    pub source: SourceType,
    /// The artifact.
    pub artifact: &'e str,
    /// Why.
    pub cause: &'e Cause,
}

impl fmt::Display for Explanation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Explanation {
            rule,
            source,
            artifact,
            cause,
        } = *self;
        let digests = |d: &Option<DigestSet>| d.as_ref().map(short_digests).unwrap_or_default();
        let cause_rule = cause.rule.as_deref().unwrap_or_default();
        let step = cause.source_step.as_deref().unwrap_or_default();
        let side = cause
            .source_side
            .map(SourceType::as_str)
            .unwrap_or_default();
        // The artifact under another name in the FROM step (MATCH prefixes).
        let there = match cause.source_path.as_deref() {
            Some(path) if path != artifact => format!(" (as {path:?})"),
            _ => String::new(),
        };
        let other_side = match source {
            SourceType::Materials => SourceType::Products,
            SourceType::Products => SourceType::Materials,
        };
        let why = match cause.kind {
            CauseKind::DigestMismatch => format!(
                "its digest {} differs from {step}'s {}{there} {}",
                digests(&cause.found),
                side.trim_end_matches('s'),
                digests(&cause.expected)
            ),
            CauseKind::AbsentFromSource => format!("it is absent from {step}'s {side}{there}"),
            CauseKind::NoSourceLink => format!("there is no link for {step:?}"),
            CauseKind::CreatedButWasMaterial => format!(
                "it was already a material ({})",
                digests(&cause.expected)
            ),
            CauseKind::ModifyUnchanged => format!(
                "it is unchanged ({} in materials and products)",
                digests(&cause.found)
            ),
            CauseKind::ModifyAbsent => {
                format!("it is not among the {other_side}, so it was not modified")
            }
            CauseKind::DeletedButStillPresent => "it is still among the products".to_owned(),
            CauseKind::Disallowed => {
                return write!(
                    f,
                    "rule \"{rule}\" matched {source} artifact {artifact:?}, which no earlier rule authorizes"
                )
            }
            CauseKind::RequiredMissing => {
                return write!(
                    f,
                    "rule \"{rule}\" failed: {source} artifact {artifact:?} is not among the {source}"
                )
            }
            CauseKind::RequiredConsumed => {
                return write!(
                    f,
                    "rule \"{rule}\" failed: {source} artifact {artifact:?} was consumed by the earlier rule \"{cause_rule}\""
                )
            }
            CauseKind::UnresolvedMatch => {
                let resolved = cause.source_path.as_deref().unwrap_or_default();
                return write!(
                    f,
                    "rule \"{rule}\" turns {source} artifact {artifact:?} into {resolved:?}, which is not among the {source} (in-toto 3.1 fails here too)"
                );
            }
        };
        write!(
            f,
            "{source} artifact {artifact:?} was not consumed by \"{cause_rule}\": {why}; \"{rule}\" then refused it"
        )
    }
}
