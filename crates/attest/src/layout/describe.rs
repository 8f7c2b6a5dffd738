//! Authoring a layout from a small declarative description (what `toto
//! layout new` reads from TOML or YAML): steps with their functionaries
//! (key files, OpenPGP keys, keyless identities), threshold, expected
//! command and rules; inspections; an expiry given as a duration or a date.
//!
//! [`Description`] is deserialized with any serde format; [`build`] turns
//! it into a [`Layout`]. Keys are found by the caller ([`KeySource`]):
//! this module reads no file and runs no program, and "now" is a parameter.
//!
//! ```
//! use attest::layout::describe::{self, Description, KeySource};
//!
//! struct NoKeys;
//! impl KeySource for NoKeys {}
//!
//! let text = r#"{"expires": "30d", "steps": [{"name": "build",
//!     "identities": [{"identity": "ci@example.org", "issuer": "https://issuer.example"}],
//!     "products": ["CREATE dist/*", "DISALLOW *"]}]}"#;
//! let description: Description = serde_json::from_str(text).unwrap();
//! let layout = describe::build(description, 1_767_225_600, &NoKeys)?;
//! assert_eq!(layout.expires.as_deref(), Some("2026-01-31T00:00:00Z"));
//! assert_eq!(layout.steps[0].name.as_str(), "build");
//! # Ok::<(), describe::DescriptionError>(())
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;
use crate::layout::{Functionary, GitHubConstraints, Inspection, Layout, Step, StepName};
use crate::rules::{Rule, RuleError, SourceType};
use crate::step::Artifacts;
use crate::time::{format_rfc3339_utc, parse_rfc3339_utc, UnixTime};

/// An error from the caller's [`KeySource`].
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// Where the functionaries' keys come from.
pub trait KeySource {
    /// The public key in file `path`, as the description names it
    /// (relative to the description, say).
    fn public_key(&self, path: &Path) -> Result<dsse::PublicKey, SourceError> {
        Err(format!("no key source for {}", path.display()).into())
    }
    /// The reference's key dict of OpenPGP key `keyid` (`gpg --export`).
    fn gpg_key(&self, keyid: &str) -> Result<Value, SourceError> {
        Err(format!("no OpenPGP key source for {keyid}").into())
    }
    /// The PEM text of certificate file `path` (a root or intermediate CA
    /// of X.509 functionaries).
    fn certificate(&self, path: &Path) -> Result<String, SourceError> {
        Err(format!("no certificate source for {}", path.display()).into())
    }
}

/// A layout description. Unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    readme: String,
    #[serde(default)]
    steps: Vec<StepDescription>,
    #[serde(default)]
    inspections: Vec<InspectionDescription>,
    /// Root CA certificate files of X.509 functionaries (ITE-7 `rootcas`).
    #[serde(default)]
    rootcas: Vec<PathBuf>,
    /// Intermediate CA certificate files (ITE-7 `intermediatecas`).
    #[serde(default)]
    intermediatecas: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepDescription {
    name: String,
    #[serde(default)]
    functionaries: Vec<PathBuf>,
    #[serde(default)]
    identities: Vec<IdentityDescription>,
    /// OpenPGP key ids, exported with `gpg --export`.
    #[serde(default)]
    gpg_keys: Vec<String>,
    #[serde(default = "one")]
    threshold: usize,
    #[serde(default)]
    expected_command: Vec<String>,
    #[serde(default)]
    materials: Vec<String>,
    #[serde(default)]
    products: Vec<String>,
    /// Checks on the keyless functionaries' certificates.
    #[serde(default)]
    github: Option<GitHubConstraints>,
    /// X.509 functionaries: certificates under `rootcas` meeting one of
    /// these (ITE-7 `cert_constraints`).
    #[serde(default)]
    cert_constraints: Vec<CertConstraintDescription>,
}

/// An ITE-7 certificate constraint, field for field as the layout has it
/// (see [`crate::x509`]): a field left out allows no value; `["*"]` (`"*"`
/// for `common_name`) any. `roots` holds `"*"` or the `rootcas` files (all
/// of them: in-toto-golang compares it with every root of the layout).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CertConstraintDescription {
    #[serde(default)]
    common_name: String,
    #[serde(default)]
    dns_names: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    organizations: Vec<String>,
    #[serde(default)]
    roots: Vec<String>,
    #[serde(default)]
    uris: Vec<String>,
}

/// A keyless functionary: whoever holds a Fulcio certificate for `identity`
/// from `issuer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityDescription {
    identity: String,
    issuer: String,
}

fn one() -> usize {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectionDescription {
    name: String,
    run: Vec<String>,
    #[serde(default)]
    materials: Vec<String>,
    #[serde(default)]
    products: Vec<String>,
}

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

/// Something legal but probably a mistake in a layout ([`warnings`]).
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

/// Parses `365d`, `12h`, `30m`, `45s`, `2w` into seconds.
fn parse_duration(text: &str) -> Option<i64> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok()?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(scale)
}

fn parse_rules(
    kind: ItemKind,
    item: &StepName,
    what: Artifacts,
    rules: &[String],
) -> Result<Vec<Rule>, DescriptionError> {
    rules
        .iter()
        .map(|r| {
            r.parse::<Rule>().map_err(|reason| DescriptionError::Rule {
                kind,
                item: item.clone(),
                what,
                reason,
            })
        })
        .collect()
}

/// The layout `description` describes, expiring relative to `now` when
/// `expires` is a duration; keys come from `keys`. Refused: a threshold of
/// 0 or above the functionaries listed, a step listing one signer twice (in
/// any spelling), an inspection without a command, an invalid rule or name,
/// a rule that can never match ([`RuleProblem`]). See also [`warnings`].
pub fn build(
    description: Description,
    now: UnixTime,
    keys: &dyn KeySource,
) -> Result<Layout, DescriptionError> {
    let expires = match description.expires {
        None => None,
        Some(text) => Some(match parse_duration(&text) {
            Some(seconds) => format_rfc3339_utc(now.saturating_add(seconds)),
            None => match parse_rfc3339_utc(&text) {
                Ok(_) => text,
                Err(source) => return Err(DescriptionError::Expires { text, source }),
            },
        }),
    };
    let rootcas = certificates("rootcas", &description.rootcas, keys)?;
    let intermediatecas = certificates("intermediatecas", &description.intermediatecas, keys)?;
    // The rootcas files as the description names them, with their ids.
    let roots: Vec<(String, String)> = description
        .rootcas
        .iter()
        .map(|p| p.display().to_string())
        .zip(rootcas.values().map(|(id, _)| id.clone()))
        .collect();
    let mut functionaries = BTreeMap::new();
    let mut steps = Vec::new();
    // Per step, what the description called each functionary, in order.
    let mut shown: Vec<Vec<String>> = Vec::new();
    for s in description.steps {
        let name = StepName::parse(&s.name)?;
        let mut pubkeys = Vec::new();
        let mut named = Vec::new();
        for path in s.functionaries {
            let key = keys
                .public_key(&path)
                .map_err(|source| DescriptionError::Functionary {
                    step: name.clone(),
                    path: path.clone(),
                    source,
                })?;
            let id = key.keyid().to_string();
            named.push(format!("functionary {}", path.display()));
            pubkeys.push(id.clone());
            functionaries.insert(id, Functionary::Key(Box::new(key)));
        }
        for keyid in s.gpg_keys {
            let gpg_error = |source: SourceError| DescriptionError::GpgFunctionary {
                step: name.clone(),
                keyid: keyid.clone(),
                source,
            };
            let dict = keys.gpg_key(&keyid).map_err(gpg_error)?;
            let key =
                dsse::gpg::GpgKey::from_key_dict(&dict).map_err(|e| gpg_error(Box::new(e)))?;
            let id = key.keyid().to_owned();
            named.push(format!("OpenPGP key {keyid}"));
            pubkeys.push(id.clone());
            functionaries.insert(
                id,
                Functionary::Gpg {
                    key: Box::new(key),
                    dict,
                },
            );
        }
        for who in s.identities {
            named.push(format!("identity {} ({})", who.identity, who.issuer));
            let functionary = Functionary::Sigstore {
                identity: who.identity,
                issuer: who.issuer,
            };
            let id = functionary.keyid()?;
            pubkeys.push(id.clone());
            functionaries.insert(id, functionary);
        }
        let cert_constraints = cert_constraints(&name, s.cert_constraints, &roots)?;
        // Certificates are not counted ahead: any number may be issued.
        if s.threshold == 0 || (cert_constraints.is_empty() && s.threshold > pubkeys.len()) {
            return Err(DescriptionError::Threshold {
                step: name,
                threshold: s.threshold,
                functionaries: pubkeys.len(),
            });
        }
        if s.github.is_some() {
            crate::layout::keyless_only(&name, &pubkeys, &functionaries)?;
        }
        shown.push(named);
        steps.push(Step {
            expected_materials: parse_rules(
                ItemKind::Step,
                &name,
                Artifacts::Materials,
                &s.materials,
            )?,
            expected_products: parse_rules(
                ItemKind::Step,
                &name,
                Artifacts::Products,
                &s.products,
            )?,
            name,
            pubkeys,
            expected_command: s.expected_command,
            threshold: s.threshold,
            cert_constraints,
            github: s.github,
        });
    }
    let mut inspect = Vec::new();
    for i in description.inspections {
        let name = StepName::parse(&i.name)?;
        if i.run.is_empty() {
            return Err(DescriptionError::EmptyRun(name));
        }
        inspect.push(Inspection {
            expected_materials: parse_rules(
                ItemKind::Inspection,
                &name,
                Artifacts::Materials,
                &i.materials,
            )?,
            expected_products: parse_rules(
                ItemKind::Inspection,
                &name,
                Artifacts::Products,
                &i.products,
            )?,
            name,
            run: i.run,
        });
    }
    let layout = Layout {
        expires,
        readme: description.readme,
        keys: functionaries,
        steps,
        inspect,
        rootcas: rootcas.into_values().collect(),
        intermediatecas: intermediatecas.into_values().collect(),
    };
    if let Some((step, first, second)) = layout.duplicate_functionary() {
        let at = layout.steps.iter().position(|s| std::ptr::eq(s, step));
        let named = |i: usize| {
            at.and_then(|at| shown.get(at)?.get(i))
                .map_or("?", String::as_str)
                .to_owned()
        };
        let signer = step.pubkeys.get(first).and_then(|id| layout.keys.get(id));
        return Err(DescriptionError::DuplicateSigner {
            step: step.name.clone(),
            first: named(first),
            second: named(second),
            signer: signer.map(|f| f.signer().to_string()),
        });
    }
    check_rules(&layout)?;
    Ok(layout)
}

/// Every rule list of `layout`: (step or inspection, its name, materials or
/// products, the rules).
fn rule_lists(layout: &Layout) -> impl Iterator<Item = RuleList<'_>> {
    let steps = layout.steps.iter().flat_map(move |s| {
        both(
            ItemKind::Step,
            &s.name,
            &s.expected_materials,
            &s.expected_products,
        )
    });
    let inspections = layout.inspect.iter().flat_map(move |i| {
        both(
            ItemKind::Inspection,
            &i.name,
            &i.expected_materials,
            &i.expected_products,
        )
    });
    steps.chain(inspections)
}

/// A rule list: step or inspection, its name, materials or products, the rules.
type RuleList<'l> = (ItemKind, &'l StepName, Artifacts, &'l [Rule]);

/// The materials and products rule lists of one step or inspection.
fn both<'l>(
    kind: ItemKind,
    name: &'l StepName,
    materials: &'l [Rule],
    products: &'l [Rule],
) -> [RuleList<'l>; 2] {
    [
        (kind, name, Artifacts::Materials, materials),
        (kind, name, Artifacts::Products, products),
    ]
}

/// The CA certificates of `files`, by the order of the files (each entry
/// keyed by its key id, as in-toto-golang's `in-toto key layout` writes it).
fn certificates(
    field: &'static str,
    files: &[PathBuf],
    keys: &dyn KeySource,
) -> Result<BTreeMap<usize, (String, crate::x509::CaCertificate)>, DescriptionError> {
    let mut out = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for (index, path) in files.iter().enumerate() {
        let fail = |source: SourceError| DescriptionError::Certificate {
            field,
            path: path.clone(),
            source,
        };
        let pem = keys.certificate(path).map_err(fail)?;
        let (id, ca) = crate::x509::CaCertificate::from_pem(&pem).map_err(|e| fail(Box::new(e)))?;
        if !seen.insert(id.clone()) {
            return Err(fail(format!("listed twice (key id {id})").into()));
        }
        out.insert(index, (id, ca));
    }
    Ok(out)
}

/// A step's constraints, `roots` naming rootcas files (`roots`: as the
/// description names them, with their ids) turned into ids. Refused: a
/// constraint that could never be met (no `roots`, roots that are not all
/// the layout's, no root at all).
fn cert_constraints(
    step: &StepName,
    described: Vec<CertConstraintDescription>,
    roots: &[(String, String)],
) -> Result<Vec<crate::x509::CertConstraint>, DescriptionError> {
    let mut out = Vec::new();
    for (index, c) in described.into_iter().enumerate() {
        let never = |reason: String| DescriptionError::CertConstraint {
            step: step.clone(),
            index,
            reason,
        };
        if roots.is_empty() {
            return Err(never(
                "the layout has no rootcas, so no certificate can chain to one".into(),
            ));
        }
        let ids = if c.roots == [crate::x509::ALLOW_ALL] {
            c.roots
        } else {
            let mut ids = Vec::new();
            for root in &c.roots {
                let (_, id) = roots
                    .iter()
                    .find(|(file, id)| file == root || id == root)
                    .ok_or_else(|| {
                        never(format!(
                            "roots: {root:?} is not \"*\" nor one of the rootcas files"
                        ))
                    })?;
                ids.push(id.clone());
            }
            ids.sort();
            ids.dedup();
            if ids.len() != roots.len() {
                return Err(never(
                    "roots must list every rootcas file, or be [\"*\"]: in-toto-golang compares \
                     it with all the layout's roots"
                        .into(),
                ));
            }
            ids
        };
        out.push(crate::x509::CertConstraint::new(
            c.common_name,
            c.dns_names,
            c.emails,
            c.organizations,
            ids,
            c.uris,
        ));
    }
    Ok(out)
}

/// Refuses rules that parse but can never match: `MATCH … FROM` an unknown
/// name or the item itself, and rules after a catch-all `ALLOW *` or
/// `DISALLOW *`.
fn check_rules(layout: &Layout) -> Result<(), DescriptionError> {
    let known: Vec<StepName> = layout
        .steps
        .iter()
        .map(|s| s.name.clone())
        .chain(layout.inspect.iter().map(|i| i.name.clone()))
        .collect();
    for (kind, item, what, rules) in rule_lists(layout) {
        let pointless = |rule: &Rule, problem| DescriptionError::Pointless {
            kind,
            item: item.clone(),
            what,
            rule: Box::new(rule.clone()),
            problem,
        };
        let mut catch_all: Option<&Rule> = None;
        for rule in rules {
            if let Some(after) = catch_all {
                return Err(pointless(
                    rule,
                    RuleProblem::AfterCatchAll {
                        after: Box::new(after.clone()),
                    },
                ));
            }
            match rule {
                Rule::Match(m) if m.dest_name == item.as_str() => {
                    return Err(pointless(rule, RuleProblem::FromItself { kind }));
                }
                Rule::Match(m) if !known.iter().any(|k| k.as_str() == m.dest_name) => {
                    return Err(pointless(
                        rule,
                        RuleProblem::UnknownStep {
                            from: m.dest_name.clone(),
                            known: known.clone(),
                        },
                    ));
                }
                Rule::Allow(p) | Rule::Disallow(p) if p == "*" => catch_all = Some(rule),
                _ => {}
            }
        }
    }
    Ok(())
}

/// What is legal in `layout` but probably a mistake: a step whose products
/// no rule matches, a MATCH rule that can never fail. `toto layout new`
/// prints them and writes the layout anyway.
pub fn warnings(layout: &Layout) -> Vec<Warning> {
    let mut out = Vec::new();
    let consumed = |step: &StepName| {
        rule_lists(layout).any(|(_, _, _, rules)| {
            rules.iter().any(|r| {
                matches!(r, Rule::Match(m)
                    if m.dest_type == SourceType::Products && m.dest_name == step.as_str())
            })
        })
    };
    for step in &layout.steps {
        if !consumed(&step.name) {
            out.push(Warning::UnconsumedProducts {
                step: step.name.clone(),
            });
        }
    }
    for (kind, item, what, rules) in rule_lists(layout) {
        for (at, rule) in rules.iter().enumerate() {
            let guarded = rules
                .get(at + 1..)
                .is_some_and(|rest| rest.iter().any(|r| matches!(r, Rule::Disallow(_))));
            if matches!(rule, Rule::Match(_)) && !guarded {
                out.push(Warning::MatchNeverFails {
                    kind,
                    item: item.clone(),
                    what,
                    rule: rule.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoKeys;
    impl KeySource for NoKeys {}

    fn build_json(text: &str) -> Result<Layout, DescriptionError> {
        build(serde_json::from_str(text).unwrap(), 0, &NoKeys)
    }

    const ALICE: &str = r#"{"identity": "alice@example.org", "issuer": "https://issuer.example"}"#;

    #[test]
    fn a_duration_expires_from_now_and_a_date_is_kept() {
        let layout = build_json(r#"{"expires": "2w"}"#).unwrap();
        assert_eq!(layout.expires.as_deref(), Some("1970-01-15T00:00:00Z"));
        let layout = build_json(r#"{"expires": "2030-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(layout.expires.as_deref(), Some("2030-01-01T00:00:00Z"));
        let error = build_json(r#"{"expires": "soon"}"#).unwrap_err();
        assert!(matches!(error, DescriptionError::Expires { .. }), "{error}");
    }

    #[test]
    fn a_threshold_above_the_functionaries_is_refused() {
        let text = format!(
            r#"{{"steps": [{{"name": "build", "threshold": 2, "identities": [{ALICE}]}}]}}"#
        );
        let error = build_json(&text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "step build: threshold 2 needs at least that many functionaries (has 1)"
        );
    }

    #[test]
    fn one_identity_listed_twice_is_refused_as_one_signer() {
        let text =
            format!(r#"{{"steps": [{{"name": "build", "identities": [{ALICE}, {ALICE}]}}]}}"#);
        let error = build_json(&text).unwrap_err();
        assert!(
            matches!(error, DescriptionError::DuplicateSigner { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_bad_rule_names_the_step_and_its_rules() {
        let text = format!(
            r#"{{"steps": [{{"name": "build", "identities": [{ALICE}], "products": ["CREATE"]}}]}}"#
        );
        let error = build_json(&text).unwrap_err().to_string();
        assert!(error.starts_with("step build: products: "), "{error}");
    }

    fn chain(build_products: &str, package_materials: &str) -> String {
        format!(
            r#"{{"steps": [
                {{"name": "build", "identities": [{ALICE}], "products": {build_products}}},
                {{"name": "package", "identities": [{ALICE}], "materials": {package_materials}}}],
              "inspections": [{{"name": "untar", "run": ["tar"],
                "materials": ["MATCH app.tar WITH PRODUCTS FROM package", "DISALLOW *"]}}]}}"#
        )
    }

    #[test]
    fn match_from_an_unknown_step_names_it_and_the_known_steps() {
        let text = chain(
            "[]",
            r#"["MATCH app WITH PRODUCTS FROM biuld", "DISALLOW *"]"#,
        );
        let error = build_json(&text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "step package: materials: rule \"MATCH app WITH PRODUCTS FROM biuld\": FROM \"biuld\" \
             names no step or inspection of this layout (known: build, package, untar)"
        );
    }

    #[test]
    fn an_inspection_matching_from_an_unknown_step_is_named_as_an_inspection() {
        let text = chain("[]", "[]").replace("FROM package", "FROM pakage");
        let error = build_json(&text).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "inspection untar: materials: rule \"MATCH app.tar WITH PRODUCTS FROM pakage\": \
                 FROM \"pakage\" names no step or inspection"
            ),
            "{error}"
        );
    }

    #[test]
    fn match_from_the_step_itself_is_refused() {
        let text = chain("[]", r#"["MATCH app WITH PRODUCTS FROM package"]"#);
        let error = build_json(&text).unwrap_err();
        assert!(
            matches!(
                &error,
                DescriptionError::Pointless {
                    problem: RuleProblem::FromItself {
                        kind: ItemKind::Step
                    },
                    ..
                }
            ),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .starts_with("step package: materials: rule \"MATCH app WITH PRODUCTS FROM package\": FROM names this step itself"),
            "{error}"
        );
    }

    #[test]
    fn a_rule_after_allow_star_is_refused() {
        let text = chain(r#"["ALLOW *", "DISALLOW app"]"#, "[]");
        let error = build_json(&text).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "step build: products: rule \"DISALLOW app\": comes after \"ALLOW *\""
            ),
            "{error}"
        );
    }

    #[test]
    fn typos_in_rules_name_the_item_and_the_rule() {
        for (rule, problem) in [
            (
                "MATHC app WITH PRODUCTS FROM build",
                "unknown rule type \"MATHC\"",
            ),
            ("ALLOW", "ALLOW takes exactly one pattern"),
            ("MATCH app WITH PRODCTS FROM build", "not \"PRODCTS\""),
        ] {
            let text = chain("[]", &format!(r#"["{rule}"]"#));
            let error = build_json(&text).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("step package: materials: rule \"{rule}\": ")),
                "{error}"
            );
            assert!(error.contains(problem), "{error}");
        }
    }

    #[test]
    fn unconsumed_products_and_unguarded_matches_are_warned_about() {
        let text = chain("[]", r#"["MATCH app WITH PRODUCTS FROM build", "ALLOW *"]"#);
        let layout = build_json(&text).unwrap();
        let said: Vec<String> = warnings(&layout).iter().map(ToString::to_string).collect();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with(
                "step package: materials: rule \"MATCH app WITH PRODUCTS FROM build\" can never fail"
            ),
            "{said:?}"
        );
        let text = chain("[]", r#"["DISALLOW *"]"#);
        let layout = build_json(&text).unwrap();
        assert_eq!(
            warnings(&layout),
            [Warning::UnconsumedProducts {
                step: StepName::parse("build").unwrap()
            }]
        );
    }

    #[test]
    fn an_inspection_without_a_command_is_refused() {
        let error = build_json(r#"{"inspections": [{"name": "untar", "run": []}]}"#).unwrap_err();
        assert_eq!(error.to_string(), "inspection untar: run is empty");
    }

    #[test]
    fn a_key_file_the_source_cannot_give_names_the_step_and_the_file() {
        let error = build_json(r#"{"steps": [{"name": "build", "functionaries": ["bob.pub"]}]}"#)
            .unwrap_err();
        assert_eq!(error.to_string(), "step build: functionary bob.pub");
    }

    /// Certificates read from in-toto-golang's test data.
    struct GolangCerts;
    impl KeySource for GolangCerts {
        fn certificate(&self, path: &Path) -> Result<String, SourceError> {
            let dir =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/peers/in-toto-golang");
            Ok(std::fs::read_to_string(dir.join(path))?)
        }
    }

    fn build_certs(step: &str) -> Result<Layout, DescriptionError> {
        let text = format!(
            r#"{{"rootcas": ["root.cert.pem"], "intermediatecas": ["example.com.intermediate.cert.pem"],
                "steps": [{step}]}}"#
        );
        build(serde_json::from_str(&text).unwrap(), 0, &GolangCerts)
    }

    /// The description's CA files become the layout's `rootcas` and
    /// `intermediatecas` under in-toto-golang's ids (its `demo.layout`
    /// lists its root as `da6360ef…`, its intermediate as `a6c9536b…`), a
    /// root file in `roots` becomes its id, and every field is written.
    #[test]
    fn x509_functionaries_are_authored_with_in_toto_golangs_ids() {
        let layout = build_certs(
            r#"{"name": "write-code", "cert_constraints": [{"common_name": "write-code.example.com",
                "organizations": ["example"], "roots": ["root.cert.pem"],
                "uris": ["spiffe://example.com/write-code"]}]}"#,
        )
        .unwrap();
        let root = "da6360ef818d52b11f891132609f34907bd48521b33fc96927979b7fce876136";
        assert_eq!(layout.rootcas.keys().collect::<Vec<_>>(), [root]);
        assert_eq!(
            layout.intermediatecas.keys().collect::<Vec<_>>(),
            ["a6c9536bc35adcd7fefde347b89a6c6d03da63d2955733eb15774b29c7fdb25f"]
        );
        let written = layout.to_value();
        assert_eq!(
            written["steps"][0]["cert_constraints"],
            serde_json::json!([{"common_name": "write-code.example.com", "dns_names": [],
                "emails": [], "organizations": ["example"], "roots": [root],
                "uris": ["spiffe://example.com/write-code"]}])
        );
        // Read back as signed.
        let read = Layout::from_value(written.clone()).unwrap();
        assert_eq!(read.to_value(), written);
    }

    #[test]
    fn a_certificate_constraint_that_can_never_be_met_is_refused() {
        for (constraint, says) in [
            (
                r#"{"common_name": "*"}"#,
                "roots must list every rootcas file",
            ),
            (
                r#"{"roots": ["other.pem"]}"#,
                "is not \"*\" nor one of the rootcas files",
            ),
        ] {
            let error = build_certs(&format!(
                r#"{{"name": "s", "cert_constraints": [{constraint}]}}"#
            ))
            .unwrap_err();
            let shown = error.to_string();
            assert!(
                shown.starts_with("step s: cert_constraints[0]: ") && shown.contains(says),
                "{shown}"
            );
        }
        let error =
            build_json(r#"{"steps": [{"name": "s", "cert_constraints": [{"roots": ["*"]}]}]}"#)
                .unwrap_err();
        assert!(error.to_string().contains("no rootcas"), "{error}");
        let unknown = serde_json::from_str::<Description>(
            r#"{"steps": [{"name": "s", "cert_constraints": [{"roles": ["*"]}]}]}"#,
        );
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `roles`"));
    }
}
