//! Layout verification with the reference's (in-toto 3.1 `verifylib`)
//! verdicts and order of checks:
//!
//! 1. the layout is signed by every key given;
//! 2. it has not expired (no `expires`: accepted, with a warning);
//! 3. each step's links `<step>.<keyid8>.link` are loaded for its
//!    functionaries, signature-checked, and at least `threshold` distinct
//!    functionaries must have signed;
//! 4. a link that is itself a layout (a sublayout) is verified recursively
//!    from `<step>.<keyid8>/` and replaced by a summary link;
//! 5. a command that differs from `expected_command` only warns;
//! 6. links of one step must agree on materials and products;
//! 7. every step's artifact rules hold;
//! 8. inspections run, and their rules hold.
//!
//! Stricter than the reference, and documented: a link's `name` must be
//! its step's name, step names cannot contain path separators, and
//! sublayouts nest at most [`MAX_SUBLAYOUT_DEPTH`] deep.
//!
//! This module does no I/O: link files and inspections come through
//! [`Evidence`]; "now" is a parameter.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Error;
use crate::layout::{Functionary, Inspection, Layout, Signer, Step};
use crate::link::Link;
use crate::rules::{self, Rule, SourceType};
use crate::signed::{Seal, SignedDocument};
use crate::time::{format_rfc3339_utc, UnixTime};
use crate::verified::{FunctionaryVerifier, SignerIdentity};

/// Deepest sublayout nesting accepted.
pub const MAX_SUBLAYOUT_DEPTH: usize = 8;

/// Where link files come from and how inspections run.
pub trait Evidence {
    /// The bytes of link file `file_name` in the current directory of
    /// evidence, or `None` when there is no such file.
    fn read_link(&self, file_name: &str) -> Result<Option<Vec<u8>>, Error>;
    /// The evidence of a sublayout: the subdirectory `dir_name`.
    fn subdirectory(&self, dir_name: &str) -> Box<dyn Evidence + '_>;
    /// Runs an inspection and returns the link it recorded.
    fn run_inspection(&self, inspection: &Inspection) -> Result<Link, Error>;
    /// A human-readable location of `file_name`, for reports.
    fn describe(&self, file_name: &str) -> String;
    /// The verifier of keyless functionaries' evidence (Sigstore bundles).
    /// `attest` knows no Sigstore: the caller wires one in.
    fn keyless_verifier(&self) -> Result<&dyn FunctionaryVerifier, Error> {
        Err(Error::Malformed {
            what: "evidence",
            reason: "keyless functionaries need a Sigstore verifier".into(),
        })
    }
}

/// Appended to a step's link file name for keyless (Sigstore bundle) evidence.
pub const KEYLESS_LINK_SUFFIX: &str = ".sigstore.json";

/// Options of a verification.
#[derive(Debug, Clone)]
pub struct Options {
    /// The time to check expiry against.
    pub now: UnixTime,
    /// Run inspections (otherwise they are skipped, with a warning).
    pub run_inspections: bool,
    /// dsse limits for link files.
    pub limits: dsse::Limits,
    /// The caller has verified keyless signatures of the layout (Sigstore
    /// bundles over its exact bytes), so layout keys may be absent.
    pub keyless_layout: bool,
}

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
    },
    /// Links of one step disagree on artifacts.
    LinksDisagree {
        /// Step name.
        step: String,
        /// The two link files that differ.
        links: Vec<String>,
    },
    /// An artifact rule failed.
    Rule {
        /// Step or inspection name.
        item: String,
        /// The rule, as the reference writes it.
        rule: String,
        /// `materials` or `products`.
        source: String,
        /// The artifact the rule was about.
        artifact: String,
        /// The link file (or inspection) the artifact came from.
        link: String,
    },
    /// An inspection's command failed.
    Inspection {
        /// Inspection name.
        name: String,
        /// What happened.
        reason: String,
    },
    /// A sublayout failed.
    Sublayout {
        /// Step name.
        step: String,
        /// The failure inside.
        inner: Box<Failure>,
    },
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
            } => write!(
                f,
                "layout is not signed by {identity} ({issuer}): {reason}"
            ),
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
            } => {
                write!(
                    f,
                    "step {step:?} requires links from {required} distinct functionaries, found {} valid",
                    found.len()
                )?;
                if !found.is_empty() {
                    write!(f, " ({})", found.join(", "))?;
                }
                for r in refused {
                    write!(f, "; refused {r}")?;
                }
                for d in duplicates {
                    write!(f, "; not counted {d}")?;
                }
                Ok(())
            }
            Failure::LinksDisagree { step, links } => write!(
                f,
                "step {step:?}: links {} report different materials or products",
                links.join(" and ")
            ),
            Failure::Rule {
                item,
                rule,
                source,
                artifact,
                link,
            } => write!(
                f,
                "step {item:?}: rule \"{rule}\" matched {source} artifact {artifact:?} (link {link})"
            ),
            Failure::Inspection { name, reason } => write!(f, "inspection {name:?}: {reason}"),
            Failure::Sublayout { step, inner } => write!(f, "sublayout {step:?}: {inner}"),
        }
    }
}

/// Per step: the links used and, per rule, the artifacts it consumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct StepReport {
    /// Step or inspection name.
    pub name: String,
    /// Link files accepted (functionary key id → file).
    pub links: BTreeMap<String, String>,
    /// Traces of material rules.
    pub materials: Vec<rules::RuleTrace>,
    /// Traces of product rules.
    pub products: Vec<rules::RuleTrace>,
    /// Warnings (e.g. command mismatch).
    pub warnings: Vec<String>,
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
}

struct Accepted {
    file: String,
    link: Link,
    signer: Signer,
}

/// Why a valid link of `signer` does not count when `accepted` already has
/// one of the same signer: a threshold counts signers, not layout entries.
fn already_counted(accepted: &[Accepted], signer: &Signer, shown: &str) -> Option<String> {
    let first = accepted.iter().find(|a| a.signer.same_as(signer))?;
    Some(format!(
        "{shown}: signed by {signer}, already counted for {} (the layout lists this signer twice)",
        first.file
    ))
}

/// Verifies a signed layout: the signatures of `layout_keys` (every one must
/// have signed), then the evidence.
pub fn verify_layout(
    document: &SignedDocument,
    layout_keys: &[dsse::PublicKey],
    evidence: &dyn Evidence,
    options: &Options,
) -> Result<Report, Error> {
    let mut report = Report {
        verified: false,
        failure: None,
        steps: Vec::new(),
        warnings: Vec::new(),
    };
    if layout_keys.is_empty() && !options.keyless_layout {
        return Err(Error::Malformed {
            what: "verification request",
            reason: "at least one layout key (or keyless layout signer) is required".into(),
        });
    }
    for key in layout_keys {
        if document.verify(&[key], 1).is_err() {
            report.failure = Some(Failure::LayoutSignature {
                keyid: key.keyid().to_string(),
            });
            return Ok(report);
        }
    }
    if document.payload_type() != Some("layout") {
        return Err(Error::Malformed {
            what: "layout",
            reason: format!("_type is {:?}, not \"layout\"", document.payload_type()),
        });
    }
    let layout = document.layout()?;
    match verify_chain(&layout, evidence, options, 0, &mut report)? {
        Ok(_) => report.verified = true,
        Err(failure) => report.failure = Some(failure),
    }
    Ok(report)
}

type Verdict<T> = Result<Result<T, Failure>, Error>;

fn verify_chain(
    layout: &Layout,
    evidence: &dyn Evidence,
    options: &Options,
    depth: usize,
    report: &mut Report,
) -> Verdict<Option<Link>> {
    match layout.expires_at()? {
        Some(at) if at <= options.now => {
            return Ok(Err(Failure::Expired {
                expires: format_rfc3339_utc(at),
            }))
        }
        Some(_) => {}
        None => report
            .warnings
            .push("layout has no expiry date; it never expires".into()),
    }
    // Load, check signatures and thresholds, resolve sublayouts.
    let mut chain: BTreeMap<String, Vec<Accepted>> = BTreeMap::new();
    let base = report.steps.len();
    let mut prefetched = prefetch(layout, evidence, options)?;
    for step in &layout.steps {
        let mut step_report = StepReport {
            name: step.name.to_string(),
            ..Default::default()
        };
        let accepted = match load_step_links(
            layout,
            step,
            evidence,
            options,
            depth,
            report,
            &mut step_report,
            &mut prefetched,
        )? {
            Ok(a) => a,
            Err(f) => return Ok(Err(f)),
        };
        for a in &accepted {
            if !step.expected_command.is_empty() && a.link.command != step.expected_command {
                step_report.warnings.push(format!(
                    "link {} ran {:?}, layout expects {:?}",
                    a.file, a.link.command, step.expected_command
                ));
            }
        }
        if let Some(first) = accepted.first() {
            for other in accepted.iter().skip(1) {
                if other.link.materials != first.link.materials
                    || other.link.products != first.link.products
                {
                    return Ok(Err(Failure::LinksDisagree {
                        step: step.name.to_string(),
                        links: vec![first.file.clone(), other.file.clone()],
                    }));
                }
            }
        }
        report.steps.push(step_report);
        chain.insert(step.name.to_string(), accepted);
    }
    let reduced: BTreeMap<String, &Link> = chain
        .iter()
        .filter_map(|(name, links)| links.first().map(|a| (name.clone(), &a.link)))
        .collect();
    let files: BTreeMap<String, String> = chain
        .iter()
        .filter_map(|(name, links)| links.first().map(|a| (name.clone(), a.file.clone())))
        .collect();
    // Step rules.
    for (index, step) in layout.steps.iter().enumerate() {
        let Some(link) = reduced.get(step.name.as_str()) else {
            continue;
        };
        let file = files.get(step.name.as_str()).cloned().unwrap_or_default();
        let outcome = check_item_rules(
            step.name.as_str(),
            &step.expected_materials,
            &step.expected_products,
            link,
            &reduced,
            &file,
        );
        let traces = match outcome {
            Ok(t) => t,
            Err(f) => return Ok(Err(f)),
        };
        if let Some(r) = report.steps.get_mut(base + index) {
            r.materials = traces.0;
            r.products = traces.1;
        }
    }
    // Inspections.
    if !layout.inspect.is_empty() && !options.run_inspections {
        report.warnings.push(format!(
            "{} inspection(s) skipped (--no-inspections): the result is partial",
            layout.inspect.len()
        ));
    }
    if options.run_inspections {
        let mut inspection_links = Vec::new();
        for inspection in &layout.inspect {
            let link = match evidence.run_inspection(inspection) {
                Ok(l) => l,
                Err(e) => {
                    return Ok(Err(Failure::Inspection {
                        name: inspection.name.to_string(),
                        reason: e.to_string(),
                    }))
                }
            };
            if let Some(code) = link.return_value() {
                if code != 0 {
                    return Ok(Err(Failure::Inspection {
                        name: inspection.name.to_string(),
                        reason: format!("command {:?} exited with {code}", inspection.run),
                    }));
                }
            }
            inspection_links.push((inspection, link));
        }
        let mut with_inspections = reduced.clone();
        for (inspection, link) in &inspection_links {
            with_inspections.insert(inspection.name.to_string(), link);
        }
        for (inspection, link) in &inspection_links {
            let traces = match check_item_rules(
                inspection.name.as_str(),
                &inspection.expected_materials,
                &inspection.expected_products,
                link,
                &with_inspections,
                &format!("inspection {}", inspection.name),
            ) {
                Ok(t) => t,
                Err(f) => return Ok(Err(f)),
            };
            report.steps.push(StepReport {
                name: inspection.name.to_string(),
                materials: traces.0,
                products: traces.1,
                ..Default::default()
            });
        }
    }
    // Only a sublayout needs the link it stands for; the top level would
    // copy its first and last steps' artifact lists for nothing.
    Ok(Ok(if depth > 0 {
        summary_link(layout, &reduced)
    } else {
        None
    }))
}

/// The link a verified sublayout stands for: materials of its first step,
/// products, command and byproducts of its last.
fn summary_link(layout: &Layout, reduced: &BTreeMap<String, &Link>) -> Option<Link> {
    let first = layout
        .steps
        .first()
        .and_then(|s| reduced.get(s.name.as_str()))?;
    let last = layout
        .steps
        .last()
        .and_then(|s| reduced.get(s.name.as_str()))?;
    Some(Link {
        name: String::new(),
        command: last.command.clone(),
        materials: first.materials.clone(),
        products: last.products.clone(),
        byproducts: last.byproducts.clone(),
        environment: serde_json::Map::new(),
    })
}

#[allow(clippy::too_many_arguments)]
/// A link file checked ahead of the step loop: refused, or decoded.
enum Checked {
    Refused(String),
    Link(Result<Link, Error>),
}

/// What a step's evidence holds once its signature checked out.
enum Payload {
    /// A link (or an attestation read as one), or why it could not be read.
    Link(Result<Link, Error>),
    /// A sublayout, verified recursively by the caller.
    Layout(serde_json::Value),
}

/// Reads a verified payload for `step`: a sublayout, or its evidence as a
/// link.
fn read_payload(step: &Step, payload: dsse::json::Node<'_, '_>) -> Payload {
    if payload.get("_type").and_then(|t| t.as_str()) == Some("layout") {
        Payload::Layout(payload.to_value())
    } else {
        Payload::Link(evidence_link(step, payload))
    }
}

/// Reads a verified payload of a signed document, as [`read_payload`]
/// does; a Metablock link must also have the reference's fixed schema.
fn read_sealed(step: &Step, seal: &Seal<'_, '_>, payload: dsse::json::Node<'_, '_>) -> Payload {
    match seal {
        Seal::Metablock(_) if payload.get("_type").and_then(|t| t.as_str()) == Some("link") => {
            Payload::Link(Link::from_metablock_node(payload))
        }
        _ => read_payload(step, payload),
    }
}

/// Parses a signed link and checks it is signed by `key`; returns its
/// payload, or why it is refused.
fn check_signed(
    step: &Step,
    bytes: &[u8],
    key: &dsse::PublicKey,
    keyid: &str,
    shown: &str,
    limits: &dsse::Limits,
) -> Result<Payload, String> {
    let opened = crate::signed::open(bytes, limits, |seal, payload| {
        Ok(seal
            .signers()
            .verify(&[key], 1)
            .ok()
            .map(|_| read_sealed(step, &seal, payload)))
    });
    match opened {
        Err(e) => Err(format!("{shown}: {e}")),
        Ok(None) => Err(format!(
            "{shown}: not signed by functionary {}",
            short(keyid)
        )),
        Ok(Some(payload)) => Ok(payload),
    }
}

/// Checks every key-signed link of `layout` in parallel (parsing, canonical
/// JSON, signatures and decoding dominate verification of big links). Links
/// that turn out to be sublayouts are left for the step loop.
fn prefetch(
    layout: &Layout,
    evidence: &dyn Evidence,
    options: &Options,
) -> Result<BTreeMap<(String, String), Checked>, Error> {
    let mut jobs = Vec::new();
    for step in &layout.steps {
        for keyid in &step.pubkeys {
            let Some(Functionary::Key(key)) = layout.keys.get(keyid) else {
                continue;
            };
            let file = step.name.link_file_name(keyid);
            if let Some(bytes) = evidence.read_link(&file)? {
                jobs.push((step, keyid, key, evidence.describe(&file), bytes));
            }
        }
    }
    // One core: the step loop checks each link as it comes.
    if std::thread::available_parallelism().map_or(1, usize::from) < 2 || jobs.len() < 2 {
        return Ok(BTreeMap::new());
    }
    let checked = crate::parallel::map(
        &jobs,
        0,
        || (),
        |(), (step, keyid, key, shown, bytes)| match check_signed(
            step,
            bytes,
            key,
            keyid,
            shown,
            &options.limits,
        ) {
            Err(why) => Some(Checked::Refused(why)),
            Ok(Payload::Layout(_)) => None,
            Ok(Payload::Link(Ok(link))) if link.name != step.name.as_str() => Some(
                Checked::Refused(format!("{shown}: link is for step {:?}", link.name)),
            ),
            Ok(Payload::Link(decoded)) => Some(Checked::Link(decoded)),
        },
    );
    // What is missing (a worker failed) is checked again by the step loop.
    Ok(jobs
        .iter()
        .zip(checked)
        .filter_map(|((step, keyid, ..), checked)| {
            Some((
                (step.name.to_string(), (*keyid).clone()),
                checked.flatten()?,
            ))
        })
        .collect())
}

/// The link file of `step` by the functionary `keyid`, and its bytes,
/// read once (`None` when there is none). Keyless evidence is a bundle,
/// `<step>.<id8>.link.sigstore.json` (what `toto run --keyless` writes),
/// else `<step>.<id8>.link`; a link signed by an OpenPGP subkey is named
/// after the subkey, and the reference looks for it there too.
fn find_link(
    step: &Step,
    keyid: &str,
    functionary: &Functionary,
    evidence: &dyn Evidence,
) -> Result<(String, Option<Vec<u8>>), Error> {
    let file = step.name.link_file_name(keyid);
    let mut candidates = Vec::new();
    match functionary {
        Functionary::Sigstore { .. } => {
            candidates.push(format!("{file}{KEYLESS_LINK_SUFFIX}"));
            candidates.push(file.clone());
        }
        Functionary::Gpg { key, .. } => {
            candidates.push(file.clone());
            candidates.extend(key.subkey_ids().map(|sub| step.name.link_file_name(sub)));
        }
        Functionary::Key(_) => candidates.push(file.clone()),
    }
    for candidate in candidates {
        if let Some(bytes) = evidence.read_link(&candidate)? {
            return Ok((candidate, Some(bytes)));
        }
    }
    Ok((file, None))
}

#[allow(clippy::too_many_arguments)]
fn load_step_links(
    layout: &Layout,
    step: &Step,
    evidence: &dyn Evidence,
    options: &Options,
    depth: usize,
    report: &mut Report,
    step_report: &mut StepReport,
    prefetched: &mut BTreeMap<(String, String), Checked>,
) -> Verdict<Vec<Accepted>> {
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut refused = Vec::new();
    let mut duplicates = Vec::new();
    for keyid in &step.pubkeys {
        let Some(functionary) = layout.keys.get(keyid) else {
            continue;
        };
        let signer = functionary.signer();
        let prefetched_link = prefetched.remove(&(step.name.to_string(), keyid.clone()));
        // A link the prefetch checked is not read again.
        let (file, bytes) = match prefetched_link {
            Some(_) => (step.name.link_file_name(keyid), None),
            None => find_link(step, keyid, functionary, evidence)?,
        };
        let shown = evidence.describe(&file);
        if let Some(checked) = prefetched_link {
            match checked {
                Checked::Refused(why) => refused.push(why),
                Checked::Link(Ok(link)) => {
                    if let Some(why) = already_counted(&accepted, &signer, &shown) {
                        duplicates.push(why);
                        continue;
                    }
                    step_report.links.insert(keyid.clone(), shown.clone());
                    accepted.push(Accepted {
                        file: shown,
                        link,
                        signer,
                    });
                }
                Checked::Link(Err(e)) => refused.push(format!("{shown}: {e}")),
            }
            continue;
        }
        let Some(bytes) = bytes else {
            continue;
        };
        let payload = match functionary {
            Functionary::Key(key) => {
                match check_signed(step, &bytes, key, keyid, &shown, &options.limits) {
                    Ok(payload) => payload,
                    Err(why) => {
                        refused.push(why);
                        continue;
                    }
                }
            }
            Functionary::Gpg { key, .. } => {
                let opened = crate::signed::open(&bytes, &options.limits, |seal, payload| {
                    Ok(seal
                        .signers()
                        .verify_gpg(key, options.now)
                        .ok()
                        .map(|()| read_sealed(step, &seal, payload)))
                });
                match opened {
                    Ok(Some(payload)) => payload,
                    Ok(None) => {
                        refused.push(format!(
                            "{shown}: no valid OpenPGP signature by {} (or its subkeys; expired keys do not count)",
                            short(keyid)
                        ));
                        continue;
                    }
                    Err(e) => {
                        refused.push(format!("{shown}: {e}"));
                        continue;
                    }
                }
            }
            Functionary::Sigstore { identity, issuer } => {
                let verified = evidence
                    .keyless_verifier()
                    .and_then(|verifier| verifier.verify_evidence(&bytes, identity, issuer))
                    .and_then(|verified| {
                        keyless_payload(&verified, identity, issuer)?;
                        let tree = dsse::json::Tree::parse(verified.payload())?;
                        Ok(read_payload(step, tree.root()))
                    });
                match verified {
                    Ok(payload) => payload,
                    Err(e) => {
                        refused.push(format!(
                            "{shown}: not a valid bundle by {identity} ({issuer}): {e}"
                        ));
                        continue;
                    }
                }
            }
        };
        if let Some(why) = already_counted(&accepted, &signer, &shown) {
            duplicates.push(why);
            continue;
        }
        let link = match payload {
            Payload::Layout(payload) => {
                if depth + 1 > MAX_SUBLAYOUT_DEPTH {
                    return Err(Error::Malformed {
                        what: "layout",
                        reason: format!("sublayouts nest deeper than {MAX_SUBLAYOUT_DEPTH}"),
                    });
                }
                let sublayout = Layout::from_value(payload)?;
                let dir = format!("{}.{}", step.name, short(keyid));
                let sub_evidence = evidence.subdirectory(&dir);
                let mut sub_report = Report {
                    verified: false,
                    failure: None,
                    steps: Vec::new(),
                    warnings: Vec::new(),
                };
                match verify_chain(
                    &sublayout,
                    sub_evidence.as_ref(),
                    options,
                    depth + 1,
                    &mut sub_report,
                )? {
                    Ok(Some(mut summary)) => {
                        summary.name = step.name.to_string();
                        report.warnings.extend(sub_report.warnings);
                        summary
                    }
                    Ok(None) => Link {
                        name: step.name.to_string(),
                        command: Vec::new(),
                        materials: Default::default(),
                        products: Default::default(),
                        byproducts: Default::default(),
                        environment: Default::default(),
                    },
                    Err(inner) => {
                        return Ok(Err(Failure::Sublayout {
                            step: step.name.to_string(),
                            inner: Box::new(inner),
                        }))
                    }
                }
            }
            Payload::Link(Ok(link)) if link.name == step.name.as_str() => link,
            Payload::Link(Ok(link)) => {
                refused.push(format!("{shown}: link is for step {:?}", link.name));
                continue;
            }
            Payload::Link(Err(e)) => {
                refused.push(format!("{shown}: {e}"));
                continue;
            }
        };
        step_report.links.insert(keyid.clone(), shown.clone());
        accepted.push(Accepted {
            file: shown,
            link,
            signer,
        });
    }
    if accepted.len() < step.threshold {
        return Ok(Err(Failure::Threshold {
            step: step.name.to_string(),
            required: step.threshold,
            found: accepted.into_iter().map(|a| a.file).collect(),
            refused,
            duplicates,
        }));
    }
    Ok(Ok(accepted))
}

/// Checks that a keyless verifier vouched for the functionary asked about
/// and for an in-toto payload.
fn keyless_payload(
    verified: &crate::verified::VerifiedPayload,
    identity: &str,
    issuer: &str,
) -> Result<(), Error> {
    let wanted = SignerIdentity::Sigstore {
        identity: identity.to_owned(),
        issuer: issuer.to_owned(),
    };
    if verified.signer() != &wanted {
        return Err(Error::Malformed {
            what: "evidence",
            reason: format!("signed by {}, not by {wanted}", verified.signer()),
        });
    }
    if verified.payload_type() != crate::statement::PAYLOAD_TYPE {
        return Err(Error::Malformed {
            what: "evidence",
            reason: format!(
                "payload type is {:?}, not {:?}",
                verified.payload_type(),
                crate::statement::PAYLOAD_TYPE
            ),
        });
    }
    Ok(())
}

/// The link a step's evidence stands for: a link in any encoding, or an
/// attestation of another predicate type (e.g. SLSA provenance) whose
/// subjects are the step's products.
fn evidence_link(step: &Step, payload: dsse::json::Node<'_, '_>) -> Result<Link, Error> {
    let text = |key| payload.get(key).and_then(|n| n.as_str());
    let is_statement =
        text("_type").is_some_and(|t| t.starts_with("https://in-toto.io/Statement/"));
    if !is_statement || text("predicateType") == Some(crate::link::LINK_PREDICATE_V03) {
        return Link::from_node(payload);
    }
    let statement = crate::statement::Statement::decode(payload)?;
    let mut products = crate::digest::ArtifactMap::new();
    for subject in statement.subject {
        let (Some(name), Some(digest)) = (subject.name, subject.digest) else {
            return Err(Error::Malformed {
                what: "attestation",
                reason: "a subject has no name: it cannot be a step's product".into(),
            });
        };
        products.insert(name, digest);
    }
    let mut byproducts = serde_json::Map::new();
    byproducts.insert(
        "predicateType".into(),
        serde_json::Value::String(statement.predicate_type),
    );
    Ok(Link {
        name: step.name.to_string(),
        command: Vec::new(),
        materials: crate::digest::ArtifactMap::new(),
        products,
        byproducts,
        environment: serde_json::Map::new(),
    })
}

fn short(keyid: &str) -> &str {
    keyid.get(..8).unwrap_or(keyid)
}

type Traces = (Vec<rules::RuleTrace>, Vec<rules::RuleTrace>);

fn check_item_rules(
    item: &str,
    material_rules: &[Rule],
    product_rules: &[Rule],
    link: &Link,
    links: &BTreeMap<String, &Link>,
    file: &str,
) -> Result<Traces, Failure> {
    let mut traces = Vec::with_capacity(2);
    for (source, rules_list) in [
        (SourceType::Materials, material_rules),
        (SourceType::Products, product_rules),
    ] {
        let outcome = rules::verify_item_rules(
            rules_list,
            source,
            &link.materials,
            &link.products,
            &|step: &str| links.get(step).map(|l| (&l.materials, &l.products)),
        );
        match outcome {
            Ok(t) => traces.push(t),
            Err(failure) => {
                return Err(Failure::Rule {
                    item: item.to_owned(),
                    rule: failure.rule.to_string(),
                    source: source.to_string(),
                    artifact: failure.artifact,
                    link: file.to_owned(),
                })
            }
        }
    }
    let products = traces.pop().unwrap_or_default();
    let materials = traces.pop().unwrap_or_default();
    Ok((materials, products))
}

#[cfg(test)]
mod tests;
