//! The checks of a built layout: rules that can never match (refused) and
//! what is legal but probably a mistake (warned about).

use crate::layout::{Layout, StepName};
use crate::rules::{Rule, SourceType};
use crate::step::Artifacts;

use super::*;

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

/// Refuses rules that parse but can never match: `MATCH … FROM` an unknown
/// name or the item itself, and rules after a catch-all `ALLOW *` or
/// `DISALLOW *`.
pub(super) fn check_rules(layout: &Layout) -> Result<(), DescriptionError> {
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
