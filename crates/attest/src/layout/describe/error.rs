//! What can be wrong with a description: the errors that refuse it
//! ([`DescriptionError`], [`RuleProblem`]) and the warnings about a layout
//! that is legal but probably a mistake ([`Warning`]).

use std::path::PathBuf;

use crate::error::Error;
use crate::layout::StepName;
use crate::rules::{Rule, RuleError};
use crate::step::Artifacts;

use super::SourceError;

/// Why a description does not make a layout; each names the step or
/// inspection and the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DescriptionError {
    /// `expires` is neither a duration nor an RFC 3339 date.
    #[error("expires = {text:?}: use a duration like \"365d\" or YYYY-MM-DDTHH:MM:SSZ")]
    Expires {
        /// What was written.
        text: String,
        /// Why it is not a date.
        #[source]
        source: Error,
    },
    /// A functionary's key file could not be used.
    #[error("step {step}: functionary {}", path.display())]
    Functionary {
        /// The step.
        step: StepName,
        /// The file, as the description names it.
        path: PathBuf,
        /// Why.
        #[source]
        source: SourceError,
    },
    /// An OpenPGP functionary's key could not be exported or read.
    #[error("step {step}: OpenPGP functionary {keyid}")]
    GpgFunctionary {
        /// The step.
        step: StepName,
        /// The key id, as the description names it.
        keyid: String,
        /// Why.
        #[source]
        source: SourceError,
    },
    /// The threshold is 0 or above the number of functionaries.
    #[error("step {step}: threshold {threshold} needs at least that many functionaries (has {functionaries})")]
    Threshold {
        /// The step.
        step: StepName,
        /// The threshold asked for.
        threshold: usize,
        /// The functionaries listed.
        functionaries: usize,
    },
    /// A rule does not parse.
    #[error("{kind} {item}: {what}: {reason}")]
    Rule {
        /// Step or inspection.
        kind: ItemKind,
        /// The step or inspection.
        item: StepName,
        /// Its materials or products rules.
        what: Artifacts,
        /// Why.
        reason: RuleError,
    },
    /// A rule that parses but can never do what it says.
    #[error("{kind} {item}: {what}: rule \"{rule}\": {problem}")]
    Pointless {
        /// Step or inspection.
        kind: ItemKind,
        /// The step or inspection.
        item: StepName,
        /// Its materials or products rules.
        what: Artifacts,
        /// The rule, as written.
        rule: Box<Rule>,
        /// Why it can never match.
        problem: RuleProblem,
    },
    /// An inspection without a command.
    #[error("inspection {0}: run is empty")]
    EmptyRun(StepName),
    /// A CA certificate file could not be used.
    #[error("{field} {}", path.display())]
    Certificate {
        /// `rootcas` or `intermediatecas`.
        field: &'static str,
        /// The file, as the description names it.
        path: PathBuf,
        /// Why.
        #[source]
        source: SourceError,
    },
    /// A certificate constraint no certificate could meet.
    #[error("step {step}: cert_constraints[{index}]: {reason}")]
    CertConstraint {
        /// The step.
        step: StepName,
        /// Which constraint.
        index: usize,
        /// Why it could never be met.
        reason: String,
    },
    /// A step lists one signer twice.
    #[error(
        "step {step}: {second} is the same signer as {first}{}; a threshold counts each \
         signer once, so list every functionary once",
        signer.as_ref().map_or(String::new(), |s| format!(" ({s})"))
    )]
    DuplicateSigner {
        /// The step.
        step: StepName,
        /// The first listing, as the description names it.
        first: String,
        /// The second listing.
        second: String,
        /// The signer both are.
        signer: Option<String>,
    },
    /// An invalid name or functionary.
    #[error(transparent)]
    Invalid(#[from] Error),
}

/// Whether a rule list belongs to a step or an inspection (also in
/// verification reports: `verify::StepReport::kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// A step of the supply chain.
    #[default]
    Step,
    /// An inspection.
    Inspection,
}

impl std::fmt::Display for ItemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ItemKind::Step => "step",
            ItemKind::Inspection => "inspection",
        })
    }
}

/// Why a rule that parses can never match (see [`DescriptionError::Pointless`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleProblem {
    /// `MATCH … FROM` a name that is no step or inspection of the layout.
    #[error("FROM {from:?} names no step or inspection of this layout (known: {})", known_names(.known))]
    UnknownStep {
        /// The name after FROM.
        from: String,
        /// The steps and inspections of the layout, in order.
        known: Vec<StepName>,
    },
    /// `MATCH … FROM` the step or inspection the rule belongs to.
    #[error("FROM names this {kind} itself, so it compares its artifacts with themselves and checks nothing; name the step that made them")]
    FromItself {
        /// Step or inspection.
        kind: ItemKind,
    },
    /// A rule after `ALLOW *` or `DISALLOW *`: nothing is left for it.
    #[error("comes after \"{after}\", which leaves no artifact for it (ALLOW * consumes every one, DISALLOW * fails on any); move it before")]
    AfterCatchAll {
        /// The catch-all rule before it.
        after: Box<Rule>,
    },
}

fn known_names(known: &[StepName]) -> String {
    if known.is_empty() {
        return "none".to_owned();
    }
    known
        .iter()
        .map(StepName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Something legal but probably a mistake in a layout ([`warnings`](super::warnings)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// No rule anywhere matches this step's products (`MATCH … WITH
    /// PRODUCTS FROM step`): what it makes is checked against nothing.
    UnconsumedProducts {
        /// The step.
        step: StepName,
    },
    /// A MATCH rule with no DISALLOW after it in its list: an artifact it
    /// does not match is allowed anyway, so it can never fail.
    MatchNeverFails {
        /// Step or inspection.
        kind: ItemKind,
        /// The step or inspection.
        item: StepName,
        /// Its materials or products rules.
        what: Artifacts,
        /// The MATCH rule.
        rule: Rule,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::UnconsumedProducts { step } => write!(
                f,
                "step {step}: no later step or inspection consumes its products (no \
                 \"MATCH … WITH PRODUCTS FROM {step}\" anywhere), so nothing checks that what \
                 it made is what was used"
            ),
            Warning::MatchNeverFails {
                kind,
                item,
                what,
                rule,
            } => write!(
                f,
                "{kind} {item}: {what}: rule \"{rule}\" can never fail: no DISALLOW follows \
                 it, so an artifact it does not match (a replaced one) is allowed anyway; \
                 end the list with \"DISALLOW *\""
            ),
        }
    }
}
