//! A step's links: the link file of each functionary the layout names,
//! checked (see [`super::links`]), sublayouts verified recursively, and the
//! threshold counted in distinct signers.

use super::links::{
    check_certificate_signed, check_signed, keyless_payload, read_payload, read_sealed, short,
    shown_keyids, Checked, Payload,
};
use super::report::{Failure, Report, Searched, StepReport};
use super::{verify_chain, Evidence, Options, Verdict, KEYLESS_LINK_SUFFIX, MAX_SUBLAYOUT_DEPTH};
use std::collections::BTreeMap;

use crate::error::Error;
use crate::layout::{Functionary, Layout, Signer, Step};
use crate::link::Link;

/// A link counted for a step's threshold.
pub(super) struct Accepted {
    /// Where it was read (for reports).
    pub(super) file: String,
    /// The link (a sublayout's summary link for a sublayout).
    pub(super) link: Link,
    /// Who signed it.
    signer: Signer,
    /// It stands for a verified sublayout.
    sublayout: bool,
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

/// Where a functionary's link file was looked for.
enum Lookup {
    /// The file, and its bytes (read once).
    Found(String, Vec<u8>),
    /// No file: the names looked for.
    Absent(Vec<String>),
}

/// The link file of `step` by the functionary `keyid`, and its bytes,
/// read once; or, when there is none, the file names looked for. Keyless
/// evidence is a bundle, `<step>.<id8>.link.sigstore.json` (what `toto run
/// --keyless` writes), else `<step>.<id8>.link`; a link signed by an
/// OpenPGP subkey is named after the subkey, and the reference looks for
/// it there too.
fn find_link(
    step: &Step,
    keyid: &str,
    functionary: &Functionary,
    evidence: &dyn Evidence,
) -> Result<Lookup, Error> {
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
    for candidate in &candidates {
        if let Some(bytes) = evidence.read_link(candidate)? {
            return Ok(Lookup::Found(candidate.clone(), bytes));
        }
    }
    Ok(Lookup::Absent(candidates))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn load_step_links(
    layout: &Layout,
    step: &Step,
    evidence: &dyn Evidence,
    options: &Options,
    depth: usize,
    report: &mut Report,
    step_report: &mut StepReport,
    prefetched: &mut BTreeMap<(String, String), Checked>,
    cert_trust: Option<&crate::x509::CertTrust>,
) -> Verdict<Vec<Accepted>> {
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut refused = Vec::new();
    let mut duplicates = Vec::new();
    // File names looked for and absent, and the files read (for a report
    // when the threshold is not met).
    let mut missing: Vec<String> = Vec::new();
    let mut examined: Vec<String> = Vec::new();
    for keyid in &step.pubkeys {
        let Some(functionary) = layout.keys.get(keyid) else {
            continue;
        };
        let signer = functionary.signer();
        let prefetched_link = prefetched.remove(&(step.name.to_string(), keyid.clone()));
        // A link the prefetch checked is not read again.
        let (file, bytes) = match prefetched_link {
            Some(_) => (step.name.link_file_name(keyid), None),
            None => match find_link(step, keyid, functionary, evidence)? {
                Lookup::Found(file, bytes) => (file, Some(bytes)),
                Lookup::Absent(looked_for) => {
                    missing.extend(looked_for);
                    continue;
                }
            },
        };
        let shown = evidence.describe(&file);
        examined.push(file);
        // A prefetched link went through `check_signed` already: from here
        // on it takes the same path as one checked now.
        let payload = match (prefetched_link, bytes) {
            (Some(Checked::Refused(why)), _) => {
                refused.push(why);
                continue;
            }
            (Some(Checked::Link(decoded)), _) => Payload::Link(decoded),
            (None, None) => continue,
            (None, Some(bytes)) => match functionary {
                Functionary::Key(key) => {
                    match check_signed(step, bytes, key, keyid, &shown, &options.limits) {
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
                        .and_then(|verifier| {
                            verifier.verify_evidence(
                                &bytes,
                                identity,
                                issuer,
                                crate::verified::StepConstraints::of(step),
                            )
                        })
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
            },
        };
        if let Some(why) = already_counted(&accepted, &signer, &shown) {
            duplicates.push(why);
            continue;
        }
        let sublayout = matches!(payload, Payload::Layout(_));
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
                    products: Default::default(),
                };
                match verify_chain(
                    &sublayout,
                    sub_evidence.as_ref(),
                    options,
                    depth + 1,
                    &[],
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
            Payload::Link(decoded) => match link_of_step(step, decoded, &shown) {
                Ok(link) => link,
                Err(why) => {
                    refused.push(why);
                    continue;
                }
            },
        };
        step_report.links.insert(keyid.clone(), shown.clone());
        accepted.push(Accepted {
            file: shown,
            link,
            signer,
            sublayout,
        });
    }
    if let (Some(trust), false) = (cert_trust, step.cert_constraints.is_empty()) {
        certificate_links(
            step,
            trust,
            evidence,
            options,
            &mut examined,
            &mut accepted,
            &mut refused,
            &mut duplicates,
            step_report,
        )?;
    }
    // Links that disagree with the first one accepted do not count (and,
    // when the threshold is met without them, fail as [`disagreement`]).
    let mut found = Vec::new();
    let mut disagreeing = Vec::new();
    if let Some((first, others)) = accepted.split_first() {
        found.push(first.file.clone());
        for other in others {
            match difference(first, other) {
                None => found.push(other.file.clone()),
                Some(why) => disagreeing.push(format!(
                    "{}: disagrees with {}: {why}",
                    other.file, first.file
                )),
            }
        }
    }
    if found.len() < step.threshold {
        refused.extend(disagreeing);
        refused.extend(other_candidates(layout, step, evidence, &examined, options));
        return Ok(Err(Failure::Threshold {
            step: step.name.to_string(),
            required: step.threshold,
            found,
            refused,
            duplicates,
            searched: Box::new(Searched {
                missing,
                directory: evidence.location(),
            }),
        }));
    }
    Ok(Ok(accepted))
}

/// The link of `step` a checked file (`shown`) holds, or why it does not
/// count.
fn link_of_step(step: &Step, decoded: Result<Link, Error>, shown: &str) -> Result<Link, String> {
    match decoded {
        Ok(link) if link.name == step.name.as_str() => Ok(link),
        Ok(link) => Err(format!("{shown}: link is for step {:?}", link.name)),
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

/// At most this many files are read as links of a step's X.509
/// functionaries.
pub const MAX_CERTIFICATE_LINKS: usize = 256;

/// The links of `step`'s X.509 functionaries (ITE-7): as in-toto-golang,
/// every `<step>.<id>.link` not read for a key functionary, counted when
/// its certificate passes the step's constraints (see
/// [`check_certificate_signed`]). Sublayouts signed by a certificate are not
/// supported.
#[allow(clippy::too_many_arguments)]
fn certificate_links(
    step: &Step,
    trust: &crate::x509::CertTrust,
    evidence: &dyn Evidence,
    options: &Options,
    examined: &mut Vec<String>,
    accepted: &mut Vec<Accepted>,
    refused: &mut Vec<String>,
    duplicates: &mut Vec<String>,
    step_report: &mut StepReport,
) -> Result<(), Error> {
    let wanted = |name: &str| {
        could_be_link_of(step, name)
            && !name.ends_with(KEYLESS_LINK_SUFFIX)
            && !examined.iter().any(|e| e == name)
    };
    let names = evidence.file_names(&wanted)?;
    for name in names.iter().take(MAX_CERTIFICATE_LINKS) {
        examined.push(name.clone());
        let Some(short_id) = name
            .strip_prefix(step.name.as_str())
            .and_then(|r| r.strip_prefix('.'))
            .and_then(|r| r.strip_suffix(".link"))
        else {
            continue;
        };
        let shown = evidence.describe(name);
        let Some(bytes) = evidence.read_link(name)? else {
            continue;
        };
        let (payload, key, subject) =
            match check_certificate_signed(step, trust, &bytes, short_id, &shown, options) {
                Ok(found) => found,
                Err(why) => {
                    refused.push(why);
                    continue;
                }
            };
        let link = match payload {
            Payload::Layout(_) => {
                refused.push(format!(
                    "{shown}: a sublayout signed by a certificate is not supported"
                ));
                continue;
            }
            Payload::Link(decoded) => match link_of_step(step, decoded, &shown) {
                Ok(link) => link,
                Err(why) => {
                    refused.push(why);
                    continue;
                }
            },
        };
        let signer = Signer::certificate(&key, &subject);
        if let Some(why) = already_counted(accepted, &signer, &shown) {
            duplicates.push(why);
            continue;
        }
        step_report
            .links
            .insert(key.legacy_keyid().to_string(), shown.clone());
        accepted.push(Accepted {
            file: shown,
            link,
            signer,
            sublayout: false,
        });
    }
    refused.extend(files_left_over(
        evidence,
        step,
        names.len(),
        MAX_CERTIFICATE_LINKS,
        "read",
    ));
    Ok(())
}

/// The first artifact on which `other`'s link differs from `first`'s, said
/// of `other`: `product "app" has digest sha256:…, not sha256:…`, `material
/// "src" is missing`, `product "extra" is extra`.
fn difference(first: &Accepted, other: &Accepted) -> Option<String> {
    for (kind, ours, theirs) in [
        ("material", &first.link.materials, &other.link.materials),
        ("product", &first.link.products, &other.link.products),
    ] {
        for (name, digest) in ours {
            match theirs.get(name) {
                None => return Some(format!("{kind} {name:?} is missing")),
                Some(d) if d != digest => {
                    return Some(format!("{kind} {name:?} has {}", shown_digests(d, digest)))
                }
                Some(_) => {}
            }
        }
        if let Some(name) = theirs.keys().find(|n| !ours.contains_key(*n)) {
            return Some(format!("{kind} {name:?} is extra"));
        }
    }
    None
}

/// Two digests of one artifact for a message, `digest sha256:…, not
/// sha256:…`: the first algorithm of `theirs` also in `ours` (else the
/// first of each), 16 hex digits.
pub(super) fn shown_digests(theirs: &crate::DigestSet, ours: &crate::DigestSet) -> String {
    let common = theirs
        .iter()
        .find_map(|(algorithm, hex)| Some(((algorithm, hex), (algorithm, ours.get(algorithm)?))));
    let ((a, x), (b, y)) = common.unwrap_or_else(|| (first(theirs), first(ours)));
    let cut = |hex: &str| hex.get(..16).unwrap_or(hex).to_owned();
    format!("digest {a}:{}…, not {b}:{}…", cut(x), cut(y))
}

/// The first algorithm of `set` and its digest.
fn first(set: &crate::DigestSet) -> (&str, &str) {
    set.iter().next().unwrap_or(("", ""))
}

/// Links of one step must agree on materials and products, as in the
/// reference: the first that differs from the first link accepted fails.
pub(super) fn disagreement(step: &Step, accepted: &[Accepted]) -> Option<Failure> {
    let (first, others) = accepted.split_first()?;
    others.iter().find_map(|other| {
        Some(Failure::LinksDisagree {
            step: step.name.to_string(),
            links: vec![first.file.clone(), other.file.clone()],
            difference: difference(first, other)?,
        })
    })
}

/// A link whose command failed (`return-value` not 0): a warning, or with
/// [`Options::require_success`] a failure. A sublayout's links were
/// checked by its own verification.
pub(super) fn failed_command(
    step: &Step,
    accepted: &[Accepted],
    options: &Options,
    report: &mut Report,
) -> Option<Failure> {
    for a in accepted.iter().filter(|a| !a.sublayout) {
        let Some(code) = a.link.return_value().filter(|code| *code != 0) else {
            continue;
        };
        if options.require_success {
            return Some(Failure::CommandFailed {
                step: step.name.to_string(),
                link: a.file.clone(),
                return_value: code,
            });
        }
        report.warnings.push(format!(
            "step {:?}: the command recorded in {} failed (return value {code}); --require-success makes this a failure",
            step.name.as_str(), a.file
        ));
    }
    None
}

/// At most this many files not named for a functionary are examined to
/// explain a threshold not met (each is read and signature-checked).
const MAX_OTHER_CANDIDATES: usize = 32;

/// The other files in the evidence that could be links of `step` (named
/// `<step>.<id>.link` or `<step>.<id>.link.sigstore.json`, not `examined`
/// already), each with why it does not count: only asked when the
/// threshold is not met. The reference reads a functionary's link from its
/// own name only, and so does toto; these files are examined for the
/// message alone.
fn other_candidates(
    layout: &Layout,
    step: &Step,
    evidence: &dyn Evidence,
    examined: &[String],
    options: &Options,
) -> Vec<String> {
    let wanted = |name: &str| could_be_link_of(step, name) && !examined.iter().any(|e| e == name);
    let names = match evidence.file_names(&wanted) {
        Ok(names) => names,
        Err(e) => return vec![format!("{}: cannot be listed: {e}", evidence.location())],
    };
    let mut out = Vec::new();
    for name in names.iter().take(MAX_OTHER_CANDIDATES) {
        let shown = evidence.describe(name);
        let bytes = match evidence.read_link(name) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => continue,
            Err(e) => {
                out.push(format!("{shown}: unreadable: {e}"));
                continue;
            }
        };
        if name.ends_with(KEYLESS_LINK_SUFFIX) {
            out.push(format!(
                "{shown}: a bundle named for no keyless functionary of step {:?}",
                step.name.as_str()
            ));
            continue;
        }
        let why = crate::signed::open(&bytes, &options.limits, |seal, _| {
            let signers = seal.signers();
            let by = step
                .pubkeys
                .iter()
                .find(|keyid| match layout.keys.get(*keyid) {
                    Some(Functionary::Key(key)) => signers.verify(&[key.as_ref()], 1).is_ok(),
                    Some(Functionary::Gpg { key, .. }) => {
                        signers.verify_gpg(key, options.now).is_ok()
                    }
                    _ => false,
                });
            Ok(match by {
                Some(keyid) => format!(
                    "named for no functionary: signed by functionary {}, whose link is read from {}",
                    short(keyid),
                    step.name.link_file_name(keyid)
                ),
                None => strangers(step, &signers.keyids()),
            })
        });
        out.push(match why {
            Ok(why) => format!("{shown}: {why}"),
            Err(e) => format!("{shown}: {e}"),
        });
    }
    out.extend(files_left_over(
        evidence,
        step,
        names.len(),
        MAX_OTHER_CANDIDATES,
        "examined",
    ));
    out
}

/// The note that of the `found` files named like links of `step`, those
/// beyond the first `limit` were not `done` (`read`, `examined`); `None`
/// when there were no more than `limit`.
fn files_left_over(
    evidence: &dyn Evidence,
    step: &Step,
    found: usize,
    limit: usize,
    done: &str,
) -> Option<String> {
    (found > limit).then(|| {
        format!(
            "{}: {} more files named like links of step {:?} not {done} (at most {limit} are)",
            evidence.location(),
            found.saturating_sub(limit),
            step.name.as_str(),
        )
    })
}

/// Why a document whose signatures name `keyids` (none verifying with a
/// functionary of `step`) does not count. Key ids are unauthenticated.
fn strangers(step: &Step, keyids: &[String]) -> String {
    if keyids.is_empty() {
        return format!("signed by no functionary of step {:?}", step.name.as_str());
    }
    format!(
        "wrong key: the signature names key {}, no functionary of step {:?}",
        shown_keyids(keyids),
        step.name.as_str()
    )
}

/// Whether `name` has the shape of a link file of `step`:
/// `<step>.<id>.link` or `<step>.<id>.link.sigstore.json`, the id letters
/// and digits (a key id prefix).
pub(super) fn could_be_link_of(step: &Step, name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(step.name.as_str())
        .and_then(|r| r.strip_prefix('.'))
    else {
        return false;
    };
    let rest = rest.strip_suffix(KEYLESS_LINK_SUFFIX).unwrap_or(rest);
    rest.strip_suffix(".link")
        .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
}
