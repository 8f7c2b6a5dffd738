//! Inspections: run (through [`Evidence::run_inspection`]) after every
//! step verified, a failed command refused, then their artifact rules
//! checked against the steps' links and each other's.

use std::collections::BTreeMap;

use super::report::{Failure, ItemKind, Report, StepReport};
use super::steps::{check_items, record, ItemRules};
use super::{Evidence, Options, Verdict};
use crate::layout::Layout;
use crate::link::Link;

/// Runs the layout's inspections (or warns that they are skipped) and
/// checks their rules.
pub(super) fn inspect(
    layout: &Layout,
    evidence: &dyn Evidence,
    options: &Options,
    reduced: &BTreeMap<String, &Link>,
    report: &mut Report,
) -> Verdict<()> {
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
        let items: Vec<ItemRules<'_>> = inspection_links
            .iter()
            .map(|(inspection, link)| ItemRules {
                kind: ItemKind::Inspection,
                name: inspection.name.as_str(),
                materials: &inspection.expected_materials,
                products: &inspection.expected_products,
                link,
                file: format!("inspection {}", inspection.name),
            })
            .collect();
        for (item, outcome) in items.iter().zip(check_items(&items, &with_inspections)) {
            let mut traced = StepReport {
                name: item.name.to_owned(),
                kind: ItemKind::Inspection,
                ..Default::default()
            };
            let outcome = record(item, outcome, &mut traced);
            report.steps.push(traced);
            if let Err(f) = outcome {
                return Ok(Err(f));
            }
        }
    }
    Ok(Ok(()))
}
