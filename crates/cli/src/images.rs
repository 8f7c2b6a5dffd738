//! Container images in toto's commands: an image as a step's product
//! (`toto run --subject oci://…`), as what a verified chain's products are
//! held to (`toto verify --image oci://…`), and the bundle a key-signed
//! attestation or link is attached to an image in.
//!
//! In a link an image is the artifact `oci://REGISTRY/REPO` with
//! `{"sha256": <manifest digest hex>}`: the `REGISTRY/REPO` that `toto
//! attest --subject oci://…` names as a Statement subject (Docker Hub names
//! normalized the same way), behind the scheme so that it can never be
//! taken for a file recorded at the relative path `REGISTRY/REPO`. The tag
//! is not part of the name: a tag moves, the digest is what was built, and
//! a layout's rules must name the image the same way whichever tag a build
//! pushed (`MATCH oci://ghcr.io/org/app WITH PRODUCTS FROM build`).
//!
//! Registries are reached here, in the CLI, through `oci`; the library is
//! handed digests (`attest::step::Step::add_product`,
//! `attest::verify::Pinned`) and never does network I/O.

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};

use crate::registry_args::RegistryArgs;

/// The artifact name of `image` in a link: `oci://REGISTRY/REPO`.
pub(crate) fn artifact_name(image: &oci::Reference) -> String {
    format!("{}{}", oci::SCHEME, image.name())
}

/// An image named on the command line, with a client for its registry.
pub(crate) struct Image {
    pub(crate) reference: oci::Reference,
    pub(crate) registry: oci::Registry,
}

/// An image resolved (once) to its manifest.
pub(crate) struct ResolvedImage {
    pub(crate) image: Image,
    pub(crate) descriptor: oci::model::Descriptor,
    pub(crate) digest: oci::Digest,
}

impl ResolvedImage {
    /// `{"sha256": <manifest digest hex>}`.
    pub(crate) fn digest_set(&self) -> Result<attest::DigestSet> {
        Ok(attest::DigestSet::single("sha256", &self.digest.hex())?)
    }
}

/// Parses each `flag` value as `oci://REGISTRY/REPO[:TAG|@DIGEST]` and sets
/// up a client for its registry (no request is made yet). Two references
/// to one repository are refused: a link names an artifact once.
pub(crate) fn parse(texts: &[String], flag: &str, registry: &RegistryArgs) -> Result<Vec<Image>> {
    let mut names = BTreeSet::new();
    let mut images = Vec::new();
    for text in texts {
        if !oci::Reference::is_image(text) {
            bail!("{flag} {text}: an image is named oci://REGISTRY/REPO:TAG (or @sha256:…)");
        }
        let reference =
            oci::Reference::parse(text).with_context(|| format!("{flag} {text} is not valid"))?;
        let name = artifact_name(&reference);
        if !names.insert(name.clone()) {
            bail!("{flag} names {name} twice: a link records one digest per image name");
        }
        let registry = registry.connect(&reference)?;
        images.push(Image {
            reference,
            registry,
        });
    }
    Ok(images)
}

/// Resolves `image` to its manifest digest (one request for the
/// manifest, whose digest is checked on receipt) and says so on stderr,
/// with `what` it is used for.
pub(crate) fn resolve(image: Image, what: &str) -> Result<ResolvedImage> {
    let resolved = image
        .registry
        .resolve(&image.reference)
        .with_context(|| format!("cannot resolve {}", image.reference))?;
    let digest = resolved.descriptor.sha256(&image.reference.to_string())?;
    crate::verbosity::info!(
        "{} is {}@{digest}: {what}",
        image.reference,
        image.reference.name()
    );
    Ok(ResolvedImage {
        image,
        descriptor: resolved.descriptor,
        digest,
    })
}

/// Attaches `bundle` (a Sigstore bundle of a Statement whose predicate is
/// `predicate_type`; `what` it is, for messages: a link, an attestation)
/// to `resolved` as an OCI 1.1 referrer (or in the referrers tag schema);
/// attaching the same bundle again adds nothing. What `--format json`
/// reports about it.
pub(crate) fn attach(
    resolved: &ResolvedImage,
    bundle: &[u8],
    predicate_type: &str,
    what: &str,
) -> Result<serde_json::Value> {
    let image = &resolved.image.reference;
    let pinned = format!("{}@{}", image.name(), resolved.digest);
    let attached = oci::referrers::attach(
        &resolved.image.registry,
        image,
        &resolved.descriptor,
        bundle,
        predicate_type,
    )
    .with_context(|| format!("cannot attach the {what} to {pinned}"))?;
    crate::verbosity::info!(
        "attached the {what} {} to {pinned} ({}{})",
        attached.descriptor.digest,
        attached.source.name(),
        if attached.listed_now {
            ""
        } else {
            "; it was attached already"
        }
    );
    Ok(serde_json::json!({
        "attestation": attached.descriptor.digest,
        "listed_by": attached.source.name(),
        "already_attached": !attached.listed_now,
    }))
}

/// A Sigstore bundle v0.3 around a key-signed DSSE envelope (its JSON):
/// the verification material is the key's hint (its key id), as cosign
/// `--new-bundle-format --key` writes; no log entry (toto does not publish
/// key signatures to Rekor). `toto verify-attestation oci://… --key PUB`
/// verifies the envelope with the key.
pub(crate) fn key_bundle(envelope: &[u8], keyid: &str) -> Result<Vec<u8>> {
    // The envelope goes in as signed, byte for byte (no re-encoding).
    let text = String::from_utf8(envelope.to_vec()).context("the envelope is not UTF-8")?;
    let envelope =
        serde_json::value::RawValue::from_string(text).context("the envelope is not JSON")?;
    let bundle = serde_json::json!({
        "mediaType": oci::referrers::BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": keyid}, "tlogEntries": []},
        "dsseEnvelope": envelope,
    });
    serde_json::to_vec(&bundle).context("cannot serialize the bundle")
}
