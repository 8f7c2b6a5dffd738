//! Artifact rules of each step, against the other steps' links.

use std::collections::BTreeMap;

use super::report::{Failure, ItemKind, Report, StepReport};
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
        let mut scratch = StepReport::default();
        let traced = report.steps.get_mut(base + index).unwrap_or(&mut scratch);
        let outcome = check_item_rules(
            (ItemKind::Step, step.name.as_str()),
            &step.expected_materials,
            &step.expected_products,
            link,
            reduced,
            &file,
            traced,
        );
        if let Err(f) = outcome {
            return Ok(Err(f));
        }
    }
    Ok(Ok(()))
}

/// Checks an item's material rules, then its product rules, against `link`
/// (and `links` for MATCH); records what each rule consumed and what was
/// left in `traced`, up to the rule that failed, if one did.
pub(super) fn check_item_rules(
    (item_kind, item): (ItemKind, &str),
    material_rules: &[Rule],
    product_rules: &[Rule],
    link: &Link,
    links: &BTreeMap<String, &Link>,
    file: &str,
    traced: &mut StepReport,
) -> Result<(), Failure> {
    for (source, rules_list) in [
        (SourceType::Materials, material_rules),
        (SourceType::Products, product_rules),
    ] {
        let outcome = rules::trace_item_rules(
            rules_list,
            source,
            &link.materials,
            &link.products,
            &|step: &str| links.get(step).map(|l| (&l.materials, &l.products)),
        );
        let (trace, failure) = match outcome {
            Ok(trace) => (trace, None),
            Err(failure) => {
                let mut failure = failure;
                let trace = std::mem::take(&mut failure.trace);
                (trace, Some(failure))
            }
        };
        let (traces, left) = match source {
            SourceType::Materials => (&mut traced.materials, &mut traced.queues.materials),
            SourceType::Products => (&mut traced.products, &mut traced.queues.products),
        };
        *traces = trace.rules;
        *left = trace.unconsumed;
        if let Some(failure) = failure {
            let rule = failure.rule.to_string();
            traced.queues.failed = Some((source, rule.clone()));
            return Err(Failure::Rule {
                item: item.to_owned(),
                item_kind,
                rule,
                source,
                artifact: failure.artifact,
                link: file.to_owned(),
                cause: failure.cause,
            });
        }
    }
    Ok(())
}
