//! Layout verification with the reference's (in-toto 3.1 `verifylib`)
//! verdicts and order of checks:
//!
//! 1. the layout is signed by every key given;
//! 2. it has not expired (no `expires`: accepted, with a warning);
//! 3. each step's links `<step>.<keyid8>.link` are loaded for its
//!    functionaries, signature-checked, and at least `threshold` distinct
//!    functionaries must have signed;
//! 4. a link that is itself a layout (a sublayout) is verified recursively
//!    from `<step>.<keyid8>/` and replaced by a summary link;
//! 5. a command that differs from `expected_command` only warns;
//! 6. links of one step must agree on materials and products;
//! 7. a link whose command failed (`return-value` not 0) only warns, as
//!    the reference does not look at it; with
//!    [`Options::require_success`] it fails;
//! 8. every step's artifact rules hold;
//! 9. artifacts the verifier pinned ([`Pinned`], `toto verify --image`)
//!    are produced by a verified step with exactly the pinned digest;
//! 10. inspections run, and their rules hold.
//!
//! A step whose threshold is not met is reported with every candidate file
//! and why it did not count, and the file names looked for and absent.
//!
//! Stricter than the reference, and documented: a link's `name` must be
//! its step's name, step names cannot contain path separators, and
//! sublayouts nest at most [`MAX_SUBLAYOUT_DEPTH`] deep.
//!
//! This module does no I/O: link files and inspections come through
//! [`Evidence`]; "now" is a parameter.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::layout::{Inspection, Layout};
use crate::link::Link;
use crate::signed::SignedDocument;
use crate::time::{format_rfc3339_utc, UnixTime};
use crate::verified::FunctionaryVerifier;

mod inspections;
mod links;
mod pinned;
mod report;
mod steps;
mod threshold;

use links::prefetch;
pub use report::{Failure, PinnedShown, Report, Searched, StepReport};
use threshold::{load_step_links, Accepted};

// Which item a report entry is, and its rule queues (`toto verify -v`).
pub use report::{ItemKind, Queues};

/// Deepest sublayout nesting accepted.
pub const MAX_SUBLAYOUT_DEPTH: usize = 8;

/// Where link files come from and how inspections run.
pub trait Evidence {
    /// The bytes of link file `file_name` in the current directory of
    /// evidence, or `None` when there is no such file.
    fn read_link(&self, file_name: &str) -> Result<Option<Vec<u8>>, Error>;
    /// The evidence of a sublayout: the subdirectory `dir_name`.
    fn subdirectory(&self, dir_name: &str) -> Box<dyn Evidence + '_>;
    /// Runs an inspection and returns the link it recorded.
    fn run_inspection(&self, inspection: &Inspection) -> Result<Link, Error>;
    /// A human-readable location of `file_name`, for reports.
    fn describe(&self, file_name: &str) -> String;
    /// The names of the files in the current directory of evidence for
    /// which `wanted` holds, sorted: asked only to explain a threshold not
    /// met (other files that could be a step's links).
    fn file_names(&self, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<String>, Error> {
        let _ = wanted;
        Ok(Vec::new())
    }
    /// The current directory of evidence, for reports.
    fn location(&self) -> String {
        ".".into()
    }
    /// The verifier of keyless functionaries' evidence (Sigstore bundles).
    /// `attest` knows no Sigstore: the caller wires one in.
    fn keyless_verifier(&self) -> Result<&dyn FunctionaryVerifier, Error> {
        Err(Error::Malformed {
            what: "evidence",
            reason: "keyless functionaries need a Sigstore verifier".into(),
        })
    }
}

/// Appended to a step's link file name for keyless (Sigstore bundle) evidence.
pub const KEYLESS_LINK_SUFFIX: &str = ".sigstore.json";

/// Options of a verification.
#[derive(Debug, Clone)]
pub struct Options {
    /// The time to check expiry against.
    pub now: UnixTime,
    /// Run inspections (otherwise they are skipped, with a warning).
    pub run_inspections: bool,
    /// dsse limits for link files.
    pub limits: dsse::Limits,
    /// The caller has verified keyless signatures of the layout (Sigstore
    /// bundles over its exact bytes), so layout keys may be absent.
    pub keyless_layout: bool,
    /// A link whose command failed (a `return-value` byproduct other than
    /// 0) fails verification; otherwise it is a warning.
    pub require_success: bool,
    /// PEM certificates X.509 functionaries' chains may pass through beside
    /// the layout's `intermediatecas` (in-toto-golang's `verify
    /// --intermediate-certs`), at every sublayout too.
    pub intermediate_certs: Vec<String>,
}

/// An artifact the verifier looked at itself: `toto verify --image`
/// resolves an image in its registry to its manifest digest. Once the step
/// rules hold, every verified step that produces an artifact named `name`
/// must record exactly `digest` ([`Failure::PinnedDigest`]), and at least
/// one must produce it ([`Failure::PinnedNotProduced`]). The digest
/// compared is the one in the verified link; the pinned one is the
/// caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// The artifact name, e.g. `oci://ghcr.io/org/app`.
    pub name: String,
    /// What the verifier found it to be.
    pub digest: crate::DigestSet,
    /// Where that came from, for messages, e.g. `oci://ghcr.io/org/app:v1`.
    pub origin: String,
}

/// Verifies a signed layout: the signatures of `layout_keys` (every one must
/// have signed), then the evidence.
pub fn verify_layout(
    document: &SignedDocument,
    layout_keys: &[dsse::PublicKey],
    evidence: &dyn Evidence,
    options: &Options,
) -> Result<Report, Error> {
    verify_layout_pinned(document, layout_keys, evidence, options, &[])
}

/// [`verify_layout`], with artifacts the verifier pinned: the verified
/// chain must produce each with exactly its pinned digest.
pub fn verify_layout_pinned(
    document: &SignedDocument,
    layout_keys: &[dsse::PublicKey],
    evidence: &dyn Evidence,
    options: &Options,
    pinned: &[Pinned],
) -> Result<Report, Error> {
    let mut report = Report {
        verified: false,
        failure: None,
        steps: Vec::new(),
        warnings: Vec::new(),
        products: Default::default(),
    };
    if layout_keys.is_empty() && !options.keyless_layout {
        return Err(Error::Malformed {
            what: "verification request",
            reason: "at least one layout key (or keyless layout signer) is required".into(),
        });
    }
    for key in layout_keys {
        if document.verify(&[key], 1).is_err() {
            report.failure = Some(Failure::LayoutSignature {
                keyid: key.keyid().to_string(),
            });
            return Ok(report);
        }
    }
    if document.payload_type() != Some("layout") {
        return Err(Error::Malformed {
            what: "layout",
            reason: format!("_type is {:?}, not \"layout\"", document.payload_type()),
        });
    }
    let layout = document.layout()?;
    match verify_chain(&layout, evidence, options, 0, pinned, &mut report)? {
        Ok(_) => report.verified = true,
        Err(failure) => report.failure = Some(failure),
    }
    Ok(report)
}

type Verdict<T> = Result<Result<T, Failure>, Error>;

fn verify_chain(
    layout: &Layout,
    evidence: &dyn Evidence,
    options: &Options,
    depth: usize,
    pinned: &[Pinned],
    report: &mut Report,
) -> Verdict<Option<Link>> {
    match layout.expires_at()? {
        Some(at) if at <= options.now => {
            return Ok(Err(Failure::Expired {
                expires: format_rfc3339_utc(at),
            }))
        }
        Some(_) => {}
        None => report
            .warnings
            .push("layout has no expiry date; it never expires".into()),
    }
    // The layout's certificate authorities, prepared once (ITE-7).
    let cert_trust = if layout.steps.iter().any(|s| !s.cert_constraints.is_empty()) {
        Some(
            crate::x509::CertTrust::new(&layout.rootcas, &layout.intermediatecas)?
                .with_intermediates(&options.intermediate_certs)?,
        )
    } else {
        None
    };
    // Load, check signatures and thresholds, resolve sublayouts.
    let mut chain: BTreeMap<String, Vec<Accepted>> = BTreeMap::new();
    let base = report.steps.len();
    let mut prefetched = prefetch(layout, evidence, options)?;
    for step in &layout.steps {
        let mut step_report = StepReport {
            name: step.name.to_string(),
            ..Default::default()
        };
        let accepted = match load_step_links(
            layout,
            step,
            evidence,
            options,
            depth,
            report,
            &mut step_report,
            &mut prefetched,
            cert_trust.as_ref(),
        )? {
            Ok(a) => a,
            Err(f) => return Ok(Err(f)),
        };
        for a in &accepted {
            if !step.expected_command.is_empty() && a.link.command != step.expected_command {
                step_report.warnings.push(format!(
                    "link {} ran {:?}, layout expects {:?}",
                    a.file, a.link.command, step.expected_command
                ));
            }
        }
        if let Some(failure) = threshold::disagreement(step, &accepted)
            .or_else(|| threshold::failed_command(step, &accepted, options, report))
        {
            return Ok(Err(failure));
        }
        report.steps.push(step_report);
        chain.insert(step.name.to_string(), accepted);
    }
    let reduced: BTreeMap<String, &Link> = chain
        .iter()
        .filter_map(|(name, links)| links.first().map(|a| (name.clone(), &a.link)))
        .collect();
    let files: BTreeMap<String, String> = chain
        .iter()
        .filter_map(|(name, links)| links.first().map(|a| (name.clone(), a.file.clone())))
        .collect();
    match steps::check_step_rules(layout, &reduced, &files, base, report)? {
        Ok(()) => {}
        Err(f) => return Ok(Err(f)),
    }
    if let Some(f) = pinned::check(layout, &reduced, &files, pinned) {
        return Ok(Err(f));
    }
    match inspections::inspect(layout, evidence, options, &reduced, report)? {
        Ok(()) => {}
        Err(f) => return Ok(Err(f)),
    }
    // Only a sublayout needs the link it stands for; the top level would
    // copy its first and last steps' artifact lists for nothing.
    if depth > 0 {
        return Ok(Ok(summary_link(layout, &reduced)));
    }
    drop(reduced);
    // The top level hands its last step's products to the report, moved.
    if let Some(last) = layout
        .steps
        .last()
        .and_then(|s| chain.get_mut(s.name.as_str()))
        .and_then(|links| links.first_mut())
    {
        report.products = std::mem::take(&mut last.link.products);
    }
    drop_aside(chain);
    Ok(Ok(None))
}

/// Drops the verified links on a thread of their own: freeing a few
/// hundred thousand artifact entries takes as long as checking their rules,
/// and nothing waits for it.
fn drop_aside(chain: BTreeMap<String, Vec<Accepted>>) {
    let entries: usize = chain
        .values()
        .flatten()
        .map(|a| a.link.materials.len() + a.link.products.len())
        .sum();
    if entries >= 10_000 {
        // Without a thread to be had, the failed spawn drops them here.
        let _ = std::thread::Builder::new().spawn(move || drop(chain));
    }
}

/// The link a verified sublayout stands for: materials of its first step,
/// products, command and byproducts of its last.
fn summary_link(layout: &Layout, reduced: &BTreeMap<String, &Link>) -> Option<Link> {
    let first = layout
        .steps
        .first()
        .and_then(|s| reduced.get(s.name.as_str()))?;
    let last = layout
        .steps
        .last()
        .and_then(|s| reduced.get(s.name.as_str()))?;
    Some(Link {
        name: String::new(),
        command: last.command.clone(),
        materials: first.materials.clone(),
        products: last.products.clone(),
        byproducts: last.byproducts.clone(),
        environment: serde_json::Map::new(),
    })
}

#[cfg(test)]
mod tests;
