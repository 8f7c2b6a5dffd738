//! Artifact rules of each step (and inspection), against the other steps'
//! links. The two queues of every item are independent (a rule only
//! consumes from its own), so with many artifacts they are checked on all
//! cores at once; the outcomes are then taken in the order the reference
//! checks them, so the failure reported is the one it reports.

use std::collections::BTreeMap;

use super::report::{Failure, ItemKind, Report, StepReport};
use super::Verdict;
use crate::layout::Layout;
use crate::link::Link;
use crate::rules::{self, ItemTrace, Rule, RuleFailure, SourceType};

/// Fewer queued artifacts than this (over all items) are checked on one
/// thread: starting threads would cost more than it saves.
const PARALLEL_FROM: usize = 4096;

/// The rules of one step or inspection, and its link.
pub(super) struct ItemRules<'a> {
    pub(super) kind: ItemKind,
    pub(super) name: &'a str,
    pub(super) materials: &'a [Rule],
    pub(super) products: &'a [Rule],
    pub(super) link: &'a Link,
    /// Where the link was read, for failures.
    pub(super) file: String,
}

/// What one item's material rules and product rules did.
pub(super) type Outcome = [Result<ItemTrace, RuleFailure>; 2];

/// Checks every step's artifact rules; their traces go to the step's report
/// (at `base` + the step's index).
pub(super) fn check_step_rules(
    layout: &Layout,
    reduced: &BTreeMap<String, &Link>,
    files: &BTreeMap<String, String>,
    base: usize,
    report: &mut Report,
) -> Verdict<()> {
    let mut items = Vec::new();
    let mut slots = Vec::new();
    for (index, step) in layout.steps.iter().enumerate() {
        let Some(link) = reduced.get(step.name.as_str()) else {
            continue;
        };
        items.push(ItemRules {
            kind: ItemKind::Step,
            name: step.name.as_str(),
            materials: &step.expected_materials,
            products: &step.expected_products,
            link,
            file: files.get(step.name.as_str()).cloned().unwrap_or_default(),
        });
        slots.push(base + index);
    }
    for ((item, outcome), slot) in items.iter().zip(check_items(&items, reduced)).zip(slots) {
        let mut scratch = StepReport::default();
        let traced = report.steps.get_mut(slot).unwrap_or(&mut scratch);
        if let Err(f) = record(item, outcome, traced) {
            return Ok(Err(f));
        }
    }
    Ok(Ok(()))
}

/// The outcome of every item's rules against its link (and `links` for
/// MATCH), in item order.
pub(super) fn check_items(
    items: &[ItemRules<'_>],
    links: &BTreeMap<String, &Link>,
) -> Vec<Outcome> {
    let jobs: Vec<(&ItemRules<'_>, SourceType)> = items
        .iter()
        .flat_map(|item| [(item, SourceType::Materials), (item, SourceType::Products)])
        .collect();
    let queued: usize = items
        .iter()
        .map(|item| item.link.materials.len() + item.link.products.len())
        .sum();
    let check = |&(item, source): &(&ItemRules<'_>, SourceType)| {
        let rules = match source {
            SourceType::Materials => item.materials,
            SourceType::Products => item.products,
        };
        rules::trace_item_rules(
            rules,
            source,
            &item.link.materials,
            &item.link.products,
            &|step: &str| links.get(step).map(|l| (&l.materials, &l.products)),
        )
    };
    let threads = if queued < PARALLEL_FROM { 1 } else { 0 };
    let outcomes = crate::parallel::map(&jobs, threads, || (), |(), job| check(job));
    let mut outcomes = jobs.iter().zip(outcomes).map(|(job, outcome)| {
        // A worker that panicked: checked again here, to panic as it would
        // have on one thread.
        outcome.unwrap_or_else(|| check(job))
    });
    let mut pairs = Vec::with_capacity(items.len());
    while let (Some(materials), Some(products)) = (outcomes.next(), outcomes.next()) {
        pairs.push([materials, products]);
    }
    pairs
}

/// Records an item's outcome in `traced` as the reference checks it:
/// materials, then products; what each rule consumed and what was left, up
/// to the rule that failed, if one did.
pub(super) fn record(
    item: &ItemRules<'_>,
    outcome: Outcome,
    traced: &mut StepReport,
) -> Result<(), Failure> {
    for (source, outcome) in [SourceType::Materials, SourceType::Products]
        .into_iter()
        .zip(outcome)
    {
        let (trace, failure) = match outcome {
            Ok(trace) => (trace, None),
            Err(mut failure) => (std::mem::take(&mut failure.trace), Some(failure)),
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
                item: item.name.to_owned(),
                item_kind: item.kind,
                rule,
                source,
                artifact: failure.artifact,
                link: item.file.clone(),
                cause: failure.cause,
            });
        }
    }
    Ok(())
}
