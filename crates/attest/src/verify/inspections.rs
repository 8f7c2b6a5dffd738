//! Inspections: run (through [`Evidence::run_inspection`]) after every
//! step verified, a failed command refused, then their artifact rules
//! checked against the steps' links and each other's.

use std::collections::BTreeMap;

use super::report::{Failure, ItemKind, Report, StepReport};
use super::steps::check_item_rules;
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
        for (inspection, link) in &inspection_links {
            let mut traced = StepReport {
                name: inspection.name.to_string(),
                kind: ItemKind::Inspection,
                ..Default::default()
            };
            let outcome = check_item_rules(
                (ItemKind::Inspection, inspection.name.as_str()),
                &inspection.expected_materials,
                &inspection.expected_products,
                link,
                &with_inspections,
                &format!("inspection {}", inspection.name),
                &mut traced,
            );
            report.steps.push(traced);
            if let Err(f) = outcome {
                return Ok(Err(f));
            }
        }
    }
    Ok(Ok(()))
}
