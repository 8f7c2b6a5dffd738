//! A description made into a layout: durations, rules, functionaries,
//! certificates and their constraints, checked as they are read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::layout::{Functionary, Inspection, Layout, Step, StepName};
use crate::rules::Rule;
use crate::step::Artifacts;
use crate::time::{format_rfc3339_utc, parse_rfc3339_utc, UnixTime};

use super::check::check_rules;
use super::model::{CertConstraintDescription, Description, KeySource};
use super::*;

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
        crate::layout::certificate_constraints(
            &name,
            &s.github,
            &s.slsa,
            &pubkeys,
            &functionaries,
        )?;
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
            slsa: s.slsa,
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
