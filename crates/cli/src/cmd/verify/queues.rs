//! `toto verify -v`: each rule's queue before and after it ran, per step
//! and inspection, materials then products; the rule that failed gets the
//! queue it saw. `in-toto-verify -v` logs each rule as it verifies it and
//! prints the queue after each rule when one fails; this prints both queues
//! for every rule, pass or fail.

use std::collections::BTreeSet;

use attest::rules::SourceType;
use attest::verify::StepReport;

/// Most paths shown per queue; the rest are counted.
const SHOWN: usize = 20;

/// Prints `item`'s rule queues, when `-v` is in effect.
pub(super) fn print(item: &StepReport) {
    if !crate::verbosity::enabled(crate::verbosity::Level::Verbose) {
        return;
    }
    for (source, traces, left) in [
        (
            SourceType::Materials,
            &item.materials,
            &item.queues.materials,
        ),
        (SourceType::Products, &item.products, &item.queues.products),
    ] {
        // The queue before rule `i` is what was left plus what rules `i..`
        // consumed: start from the first rule's and take away as they go.
        let mut queue: BTreeSet<&str> = left.iter().map(String::as_str).collect();
        for trace in traces {
            queue.extend(trace.consumed.iter().map(String::as_str));
        }
        let prefix = format!("{} {:?} {source}", item.kind, item.name);
        for trace in traces {
            let before = list(&queue);
            for consumed in &trace.consumed {
                queue.remove(consumed.as_str());
            }
            crate::verbosity::verbose!(
                "{prefix}: \"{}\": queue before {before}, after {}",
                trace.rule,
                list(&queue)
            );
        }
        if let Some((failed_source, rule)) = &item.queues.failed {
            if *failed_source == source {
                crate::verbosity::verbose!(
                    "{prefix}: \"{rule}\": queue before {}, failed",
                    list(&queue)
                );
                return;
            }
        }
    }
}

/// A queue as `["a", "b"]`, at most [`SHOWN`] paths, then how many more.
fn list(queue: &BTreeSet<&str>) -> String {
    let mut shown: Vec<String> = queue.iter().take(SHOWN).map(|a| format!("{a:?}")).collect();
    if queue.len() > SHOWN {
        shown.push(format!("… ({} more)", queue.len() - SHOWN));
    }
    format!("[{}]", shown.join(", "))
}
