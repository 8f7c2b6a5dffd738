//! What a verification returns: the verdict, the first [`Failure`] with
//! the facts a message needs, and per step the links used and the artifacts
//! each rule consumed (`toto verify --format json` serializes these).

use std::collections::BTreeMap;

use serde::Serialize;

pub use crate::layout::describe::ItemKind;
use crate::rules;

/// Why verification failed: the stage and the facts a report needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Failure {
    /// The layout is not signed by every key given.
    LayoutSignature {
        /// Key id of the key whose signature is missing or bad.
        keyid: String,
    },
    /// A keyless signature of the layout (a Sigstore bundle over its exact
    /// bytes) is missing or does not verify.
    LayoutBundle {
        /// The signer required.
        identity: String,
        /// Its OIDC issuer.
        issuer: String,
        /// Why the bundle was refused.
        reason: String,
    },
    /// The layout expired.
    Expired {
        /// When.
        expires: String,
    },
    /// Too few functionaries provided valid links.
    Threshold {
        /// Step name.
        step: String,
        /// Required distinct functionaries.
        required: usize,
        /// Valid links found, by file.
        found: Vec<String>,
        /// Link files present but refused, with why.
        refused: Vec<String>,
        /// Valid links not counted: their signer was counted already (the
        /// layout lists one signer under two entries).
        duplicates: Vec<String>,
        /// Where the functionaries' link files were looked for, and which
        /// were absent (in the report: `missing` and `directory`).
        #[serde(flatten)]
        searched: Box<Searched>,
    },
    /// Links of one step disagree on artifacts.
    LinksDisagree {
        /// Step name.
        step: String,
        /// The two link files that differ.
        links: Vec<String>,
        /// The first artifact on which the second link differs from the
        /// first, e.g. `product "app" has digest sha256:…, not sha256:…`.
        difference: String,
    },
    /// A link's command failed (its `return-value` byproduct is not 0) and
    /// the verifier asked for success (`--require-success`).
    CommandFailed {
        /// Step name.
        step: String,
        /// The link file.
        link: String,
        /// The command's return value.
        return_value: i64,
    },
    /// An artifact rule of a step or an inspection failed.
    Rule {
        /// Step or inspection name.
        item: String,
        /// Whether `item` is a step or an inspection.
        item_kind: ItemKind,
        /// The rule, as the reference writes it.
        rule: String,
        /// `materials` or `products`: the list the rule is in.
        source: rules::SourceType,
        /// The artifact the rule was about.
        artifact: String,
        /// The link file (or inspection) the artifact came from.
        link: String,
        /// Why: the earlier rule that should have consumed the artifact,
        /// and why it did not.
        cause: Box<rules::Cause>,
    },
    /// An inspection's command failed.
    Inspection {
        /// Inspection name.
        name: String,
        /// What happened.
        reason: String,
    },
    /// A verified step's link records an artifact the verifier pinned
    /// ([`super::Pinned`], e.g. an image resolved in its registry) with
    /// another digest.
    PinnedDigest {
        /// Step name.
        step: String,
        /// The link file that records it.
        link: String,
        /// The digest the link records.
        found: String,
        /// The artifact and its pinned digest (in the report: `artifact`,
        /// `origin` and `expected`).
        #[serde(flatten)]
        pinned: Box<PinnedShown>,
    },
    /// No verified step produced an artifact the verifier pinned.
    PinnedNotProduced {
        /// The artifact and its pinned digest.
        #[serde(flatten)]
        pinned: Box<PinnedShown>,
    },
    /// A sublayout failed.
    Sublayout {
        /// Step name.
        step: String,
        /// The failure inside.
        inner: Box<Failure>,
    },
}

/// An artifact the verifier pinned, as a [`Failure`] shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinnedShown {
    /// The artifact, e.g. `oci://ghcr.io/org/app`.
    pub artifact: String,
    /// Where the pinned digest came from, e.g. `oci://ghcr.io/org/app:v1`.
    pub origin: String,
    /// The pinned digest, `sha256:<hex>`.
    pub expected: String,
}

impl std::fmt::Display for PinnedShown {
    /// `oci://ghcr.io/org/app:v1 is sha256:…`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is {}", self.origin, self.expected)
    }
}

/// Where a step's links were looked for: the fields `missing` and
/// `directory` of a [`Failure::Threshold`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Searched {
    /// File names looked for (the functionaries' link files) and absent.
    pub missing: Vec<String>,
    /// The directory they were looked for in.
    pub directory: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::LayoutSignature { keyid } => write!(
                f,
                "layout is not signed by key {keyid}; check that the layout key is the owner's"
            ),
            Failure::LayoutBundle {
                identity,
                issuer,
                reason,
            } => write!(f, "layout is not signed by {identity} ({issuer}): {reason}"),
            Failure::Expired { expires } => write!(
                f,
                "layout expired on {expires}; ask the owner for a fresh layout"
            ),
            Failure::Threshold {
                step,
                required,
                found,
                refused,
                duplicates,
                searched,
            } => {
                let Searched { missing, directory } = searched.as_ref();
                write!(
                    f,
                    "step {step:?} requires links from {required} distinct functionaries, found {} valid",
                    found.len()
                )?;
                if !found.is_empty() {
                    write!(f, " ({})", found.join(", "))?;
                }
                for r in refused {
                    write!(f, "\n  refused {r}")?;
                }
                for d in duplicates {
                    write!(f, "\n  not counted {d}")?;
                }
                let looked_for = missing.join(", ");
                if missing.is_empty() {
                    // Every file looked for was there.
                } else if found.is_empty() && refused.is_empty() && duplicates.is_empty() {
                    write!(f, "\n  no link found: looked for {looked_for} in directory {directory}")?;
                } else {
                    write!(f, "\n  not found in directory {directory}: {looked_for}")?;
                }
                Ok(())
            }
            Failure::LinksDisagree {
                step,
                links,
                difference,
            } => write!(
                f,
                "step {step:?}: links {} report different materials or products: in {}, {difference}",
                links.join(" and "),
                links.last().map_or("", String::as_str)
            ),
            Failure::CommandFailed {
                step,
                link,
                return_value,
            } => write!(
                f,
                "step {step:?}: the command recorded in {link} failed (return value {return_value}); --require-success refuses failed commands"
            ),
            Failure::Rule {
                item,
                item_kind,
                rule,
                source,
                artifact,
                link,
                cause,
            } => {
                let explanation = rules::Explanation {
                    rule,
                    source: *source,
                    artifact,
                    cause,
                };
                write!(f, "{item_kind} {item:?}: {explanation}")?;
                match item_kind {
                    ItemKind::Step => write!(f, " (link {link})"),
                    ItemKind::Inspection => Ok(()),
                }
            }
            Failure::Inspection { name, reason } => write!(f, "inspection {name:?}: {reason}"),
            Failure::PinnedDigest {
                step,
                link,
                found,
                pinned,
            } => write!(
                f,
                "step {step:?}: product {:?} has digest {found} in link {link}, but {pinned}: \
                 the artifact is not the one the step produced",
                pinned.artifact
            ),
            Failure::PinnedNotProduced { pinned } => write!(
                f,
                "no verified step produced {:?} ({pinned}): no link records a product of that \
                 name",
                pinned.artifact
            ),
            Failure::Sublayout { step, inner } => write!(f, "sublayout {step:?}: {inner}"),
        }
    }
}

/// Per step: the links used and, per rule, the artifacts it consumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct StepReport {
    /// Step or inspection name.
    pub name: String,
    /// Whether this is a step or an inspection.
    pub kind: ItemKind,
    /// Link files accepted (functionary key id → file).
    pub links: BTreeMap<String, String>,
    /// Traces of material rules.
    pub materials: Vec<rules::RuleTrace>,
    /// Traces of product rules.
    pub products: Vec<rules::RuleTrace>,
    /// What the rules left in each queue, and the rule that failed, if
    /// one did (for `toto verify -v`; not serialized).
    #[serde(skip)]
    pub queues: Queues,
    /// Warnings (e.g. command mismatch).
    pub warnings: Vec<String>,
}

/// What an item's rules left in its two queues: after the last rule, or,
/// on the side whose rule failed, when that rule ran. With the traces this
/// gives every rule's queue: the queue before rule `i` is what was left plus
/// what rules `i..` consumed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Queues {
    /// Materials no rule consumed.
    pub materials: Vec<String>,
    /// Products no rule consumed.
    pub products: Vec<String>,
    /// The rule that failed, and the list (materials or products) it is in.
    pub failed: Option<(rules::SourceType, String)>,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Verified or not.
    pub verified: bool,
    /// The failure, when not verified.
    pub failure: Option<Failure>,
    /// Steps examined, in order.
    pub steps: Vec<StepReport>,
    /// Warnings about the layout as a whole.
    pub warnings: Vec<String>,
    /// The products of the layout's last step, as its verified link
    /// records them (empty unless verified): what a verification summary
    /// may name as its subjects. Not serialized.
    #[serde(skip)]
    pub products: crate::ArtifactMap,
}
