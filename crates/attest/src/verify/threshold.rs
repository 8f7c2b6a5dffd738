//! A step's links: the link file of each functionary the layout names,
//! checked (see [`super::links`]), sublayouts verified recursively, and the
//! threshold counted in distinct signers.

use super::links::{
    check_signed, keyless_payload, read_payload, read_sealed, short, Checked, Payload,
};
use super::report::{Failure, Report, StepReport};
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
pub(super) fn load_step_links(
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
