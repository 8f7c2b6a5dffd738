//! `toto verify --image oci://… --links-from-image`: the step links attached
//! to the images (as `toto run --push` attaches them) are read from their
//! referrers into a private directory, each under the file name `toto
//! verify` looks for, and verified from there like any link directory.
//!
//! Nothing read here is trusted: a bundle's claimed step and key hint only
//! choose a file name (a wrong name makes the link not found or refused,
//! never accepted), and the layout parsed here, before its signatures are
//! checked, only lists the functionaries to name files after. A keyless
//! bundle is named after the step's Sigstore functionary whose identity its
//! certificate verifies for; `verify_layout` verifies every file again.

use std::path::Path;

use anyhow::{Context, Result};
use attest::layout::{Functionary, Layout};
use attest::StepConstraints;

use crate::images::ResolvedImage;

/// A Sigstore bundle as attached: its DSSE envelope (the bytes as received,
/// which are what is written and verified) and, for a key-signed one, the
/// key's hint.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    dsse_envelope: Box<serde_json::value::RawValue>,
    verification_material: Material,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Material {
    public_key: Option<Hint>,
}

#[derive(serde::Deserialize)]
struct Hint {
    hint: String,
}

/// Writes the links attached to `images` into `dir`; how many.
pub(super) fn fetch(
    images: &[ResolvedImage],
    layout: &Layout,
    keyless: &dyn attest::FunctionaryVerifier,
    dir: &Path,
) -> Result<usize> {
    let limits = crate::files::limits();
    let mut written = 0;
    for resolved in images {
        let image = resolved.image.reference.at_digest(resolved.digest);
        let registry = &resolved.image.registry;
        let (listed_by, referrers) = oci::referrers::list(registry, &image, resolved.digest)
            .with_context(|| format!("cannot list the referrers of {image}"))?;
        let found = oci::referrers::bundles(registry, &image, resolved.digest, &referrers);
        crate::verbosity::verbose!(
            "{image}: {} referrer(s) ({}), {} bundle(s)",
            referrers.len(),
            listed_by.name(),
            found.len()
        );
        for one in found {
            let named = one
                .bundle
                .map_err(anyhow::Error::new)
                .and_then(|bundle| link_file(&bundle, layout, keyless, &limits));
            match named {
                Ok(Some((name, bytes))) => {
                    let path = dir.join(&name);
                    if path.exists() {
                        crate::verbosity::warning(format_args!(
                            "{image}: referrer {} is a second link {name}; the first is kept",
                            one.manifest
                        ));
                        continue;
                    }
                    crate::files::write_atomic(&path, &bytes, None)?;
                    crate::verbosity::verbose!("{image}: referrer {} is {name}", one.manifest);
                    written += 1;
                }
                Ok(None) => {
                    crate::verbosity::verbose!(
                        "{image}: referrer {} is no link of this layout's functionaries",
                        one.manifest
                    );
                }
                Err(e) => {
                    crate::verbosity::verbose!("{image}: referrer {} skipped: {e:#}", one.manifest)
                }
            }
        }
    }
    Ok(written)
}

/// The file name and bytes `toto verify` reads `bundle` from, or `None`
/// when it is no link of the layout's functionaries.
fn link_file(
    bundle: &[u8],
    layout: &Layout,
    keyless: &dyn attest::FunctionaryVerifier,
    limits: &dsse::Limits,
) -> Result<Option<(String, Vec<u8>)>> {
    let wire: Wire = serde_json::from_slice(bundle).context("not a Sigstore bundle")?;
    let envelope_json = wire.dsse_envelope.get().as_bytes().to_vec();
    let envelope = dsse::Envelope::from_json(&envelope_json, limits)?;
    let statement: serde_json::Value =
        serde_json::from_slice(envelope.payload()).context("the payload is not JSON")?;
    if statement.get("predicateType").and_then(|t| t.as_str()) != Some(attest::LINK_PREDICATE_V03) {
        return Ok(None);
    }
    let Some(claimed) = statement
        .pointer("/predicate/name")
        .and_then(|n| n.as_str())
    else {
        return Ok(None);
    };
    let Some(step) = layout.steps.iter().find(|s| s.name.as_str() == claimed) else {
        return Ok(None);
    };
    let functionaries = step
        .pubkeys
        .iter()
        .filter_map(|id| layout.keys.get(id).map(|f| (id, f)));
    for (id, functionary) in functionaries {
        match (functionary, &wire.verification_material.public_key) {
            (Functionary::Key(key), Some(hint))
                if hint.hint == key.keyid().to_string()
                    || hint.hint == key.legacy_keyid().to_string() =>
            {
                return Ok(Some((step.name.link_file_name(id), envelope_json)));
            }
            (Functionary::Sigstore { identity, issuer }, None)
                if keyless
                    .verify_evidence(bundle, identity, issuer, StepConstraints::of(step))
                    .is_ok() =>
            {
                return Ok(Some((
                    keyless::link_bundle_name(&step.name, id),
                    bundle.to_vec(),
                )));
            }
            _ => {}
        }
    }
    Ok(None)
}
