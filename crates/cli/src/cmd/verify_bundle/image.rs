//! `toto verify-bundle oci://…`: an image's signatures, verified; the
//! image verifies when at least one passes.
//!
//! The image is resolved once (with `--platform`, to an index's manifest
//! for that platform), and its signatures are read from two places, each
//! named in the output:
//! - cosign's `sha256-<hex>.sig` tag: each layer a simple-signing payload
//!   whose `docker-manifest-digest` must be the digest verified, checked by
//!   [`oci::cosign::verify_signature_layer`] (signature, certificate or
//!   key, the log entry's SET);
//! - Sigstore bundles attached as referrers (the referrers API or the tag
//!   schema). `cosign sign --new-bundle-format` attaches a DSSE bundle whose
//!   in-toto Statement has predicate type `https://sigstore.dev/cosign/sign/v1`, an empty
//!   predicate and the image digest as subject (sigstore/cosign
//!   `cmd/cosign/cli/sign/sign.go`, `signDigestBundle`); a message-signature
//!   bundle signs the manifest's bytes, so its message digest is the image
//!   digest. Either verifies with the same verifier as `verify-bundle FILE`
//!   ([`oci::cosign::verify_signature_bundle`]).
//!   Other attestations (another predicate type) are listed and refused: a
//!   provenance attestation is not a signature of the image (cosign's
//!   verify takes one for a signature; toto does not).

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::VerifyBundleArgs;
use crate::cmd::verify_attestation::image::{platform, resolve, Outcome, Subject};
use crate::verdict::Format;

/// Where a signature was found.
const COSIGN_SIG: &str = "cosign .sig";

/// `toto verify-bundle oci://…`.
pub(super) fn run(args: &VerifyBundleArgs, image: &oci::Reference) -> Result<ExitCode> {
    if !args.signer.bundles.is_empty() {
        bail!("the signatures of {image} come from its registry: drop --bundle");
    }
    let platform = platform(args.platform.as_deref())?;
    let policy = args.signer.policy()?;
    let verifier = args.signer.verifier()?;
    let registry = args.registry.connect(image)?;
    let Subject { digest, pinned, .. } = resolve(&registry, image, platform)?;
    let image_digest = oci::cosign::Sha256Digest::from_bytes(*digest.bytes());

    // cosign's .sig tag.
    let sig_tag = oci::cosign::signature_tag(&image_digest);
    let tagged = oci::discover::cosign_layers(&registry, &pinned, &sig_tag);
    let mut outcomes =
        Outcome::of_cosign_tag(image, (COSIGN_SIG, &sig_tag), tagged, |layer, blob| {
            let signature = oci::cosign::verify_signature_layer(
                &verifier,
                &image_digest,
                layer,
                &blob,
                &policy,
            )?;
            Ok(signature.verified().clone())
        });

    // Bundles attached as referrers.
    let (listed_by, referrers) = oci::referrers::list(&registry, &pinned, digest)
        .with_context(|| format!("cannot list the referrers of {pinned}"))?;
    for found in oci::referrers::bundles(&registry, &pinned, digest, &referrers) {
        let result = found.bundle.map_err(anyhow::Error::new).and_then(|bundle| {
            oci::cosign::verify_signature_bundle(&verifier, &image_digest, &bundle, &policy)
                .with_context(|| {
                    let claimed = oci::cosign::claimed_message_digest(&bundle)
                        .map(|d| format!(" (the bundle signs {d})"))
                        .unwrap_or_default();
                    format!("not a signature of {digest}{claimed}")
                })
        });
        outcomes.push(Outcome {
            source: listed_by.name(),
            manifest: found.manifest,
            layer: None,
            result,
        });
    }

    let passed = outcomes.iter().filter(|o| o.result.is_ok()).count();
    report(args, image, digest, &outcomes)?;
    if passed > 0 {
        if args.format == Format::Text && !crate::verbosity::quiet() {
            println!(
                "{pinned}: {passed} of {} signature(s) verified",
                outcomes.len()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.format == Format::Text {
        eprintln!(
            "{} {pinned}: {}",
            crate::style::bad("toto: verification failed:"),
            if outcomes.is_empty() {
                format!(
                    "no signature: no {sig_tag} tag, and no Sigstore bundle among its {} \
                     referrer(s) ({})",
                    referrers.len(),
                    listed_by.name()
                )
            } else {
                format!("none of its {} signature(s) verifies", outcomes.len())
            }
        );
    }
    Ok(ExitCode::from(crate::verdict::EXIT_FAILED))
}

/// Prints each signature's outcome.
fn report(
    args: &VerifyBundleArgs,
    image: &oci::Reference,
    digest: oci::Digest,
    outcomes: &[Outcome<keyless::Verified>],
) -> Result<()> {
    match args.format {
        Format::Json => {
            let listed: Vec<Value> = outcomes
                .iter()
                .map(|o| {
                    let mut entry = serde_json::Map::new();
                    entry.insert("source".into(), json!(o.source));
                    entry.insert("manifest".into(), json!(o.manifest));
                    entry.insert("layer".into(), json!(o.layer));
                    entry.insert("verified".into(), json!(o.result.is_ok()));
                    match &o.result {
                        Ok(verified) => {
                            entry.insert("identity".into(), json!(verified.identity));
                            entry.insert("issuer".into(), json!(verified.issuer));
                        }
                        Err(e) => {
                            entry.insert("error".into(), json!(format!("{e:#}")));
                        }
                    }
                    Value::Object(entry)
                })
                .collect();
            crate::verdict::print_json(&json!({
                "verified": outcomes.iter().any(|o| o.result.is_ok()),
                "image": image.to_string(),
                "digest": digest.to_string(),
                "signatures": listed,
            }))?;
        }
        Format::Text if crate::verbosity::quiet() => {}
        Format::Text => {
            for o in outcomes {
                o.print(image, |verified| {
                    match (&verified.identity, &verified.issuer) {
                        (Some(id), Some(iss)) => format!("signed by {id} ({iss})"),
                        _ => "signed by the --key".into(),
                    }
                });
            }
        }
    }
    Ok(())
}
