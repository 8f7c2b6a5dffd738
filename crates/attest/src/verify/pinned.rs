//! Artifacts the verifier pinned itself ([`Pinned`]): checked against the
//! verified links once the step rules hold, before any inspection runs.

use std::collections::BTreeMap;

use super::report::{Failure, PinnedShown};
use super::Pinned;
use crate::layout::Layout;
use crate::link::Link;
use crate::DigestSet;

/// The first pinned artifact that a verified step produced with another
/// digest, or that no verified step produced. Every step whose (first
/// accepted) link records a product of the pinned name is checked: links of
/// one step agree already, and a later step producing the artifact again
/// must produce the same one.
pub(super) fn check(
    layout: &Layout,
    reduced: &BTreeMap<String, &Link>,
    files: &BTreeMap<String, String>,
    pinned: &[Pinned],
) -> Option<Failure> {
    for pin in pinned {
        let shown_pin = || {
            Box::new(PinnedShown {
                artifact: pin.name.clone(),
                origin: pin.origin.clone(),
                expected: shown(&pin.digest),
            })
        };
        let mut produced = false;
        for step in &layout.steps {
            let name = step.name.as_str();
            let Some(found) = reduced.get(name).and_then(|l| l.products.get(&pin.name)) else {
                continue;
            };
            produced = true;
            if *found != pin.digest {
                return Some(Failure::PinnedDigest {
                    step: name.to_owned(),
                    link: files.get(name).cloned().unwrap_or_default(),
                    found: shown(found),
                    pinned: shown_pin(),
                });
            }
        }
        if !produced {
            return Some(Failure::PinnedNotProduced {
                pinned: shown_pin(),
            });
        }
    }
    None
}

/// `sha256:<hex>` (all of a set's digests, comma-separated).
fn shown(set: &DigestSet) -> String {
    set.iter()
        .map(|(algorithm, hex)| format!("{algorithm}:{hex}"))
        .collect::<Vec<_>>()
        .join(", ")
}
