//! Artifact rules of each step, against the other steps' links.

use std::collections::BTreeMap;

use super::report::{Failure, Report};
use super::Verdict;
use crate::layout::Layout;
use crate::link::Link;
use crate::rules::{self, Rule, SourceType};

/// Checks every step's artifact rules; their traces go to the step's report
/// (at `base` + the step's index).
pub(super) fn check_step_rules(
    layout: &Layout,
    reduced: &BTreeMap<String, &Link>,
    files: &BTreeMap<String, String>,
    base: usize,
    report: &mut Report,
) -> Verdict<()> {
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
            reduced,
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
    Ok(Ok(()))
}

type Traces = (Vec<rules::RuleTrace>, Vec<rules::RuleTrace>);

pub(super) fn check_item_rules(
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
