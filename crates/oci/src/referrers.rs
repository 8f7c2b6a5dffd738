//! Sigstore bundles attached to images as OCI 1.1 referrers: the layout
//! `gh` (`actions/attest-build-provenance` with `push-to-registry`, through
//! `@sigstore/oci`) and `cosign --new-bundle-format` write, and the
//! referrers tag schema for registries without the referrers API.
//!
//! An attestation is an artifact manifest:
//! - `artifactType` [`BUNDLE_MEDIA_TYPE`], `config` the empty descriptor,
//! - one layer, the bundle, of media type [`BUNDLE_MEDIA_TYPE`],
//! - `subject` the image manifest's descriptor,
//! - annotations `dev.sigstore.bundle.content` = `dsse-envelope` and
//!   `dev.sigstore.bundle.predicateType` = the Statement's predicate type.
//!
//! `@sigstore/oci` also writes `org.opencontainers.image.created`; toto
//! does not, so that attaching one bundle twice writes the same manifest
//! (same digest, no second entry).
//!
//! Registries without the referrers API (`GET /v2/<name>/referrers/<digest>`
//! answers 404) get the referrers tag schema: an index at tag
//! `sha256-<hex>` listing the referrers, updated by read, append, write
//! (distribution spec, "Pushing Manifests with Subject" and "Referrers Tag
//! Schema"). The read and write are not atomic: two writers at once can
//! lose an entry, as with every client of the tag schema.

use std::collections::BTreeMap;

use crate::model::{self, Descriptor, Index, Manifest};
use crate::reference::{Digest, Reference};
use crate::registry::Registry;
use crate::Error;

/// The Sigstore bundle v0.3 media type: the artifact type and the layer's.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Annotation: what the bundle holds (`dsse-envelope` for attestations).
pub const CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
/// Annotation: the predicate type of the attestation (unsigned: a hint for
/// listing only, never trusted).
pub const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";

/// How the registry lists referrers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The OCI 1.1 referrers API.
    Api,
    /// The referrers tag schema (`sha256-<hex>` index).
    TagSchema,
}

impl Source {
    /// How it is shown.
    pub fn name(self) -> &'static str {
        match self {
            Source::Api => "referrers API",
            Source::TagSchema => "referrers tag schema",
        }
    }
}

/// The artifact manifest attaching `bundle` to `subject`.
pub fn bundle_manifest(subject: &Descriptor, bundle: &[u8], predicate_type: &str) -> Vec<u8> {
    let mut layer = Descriptor::of(BUNDLE_MEDIA_TYPE, bundle);
    layer.annotations = BTreeMap::new();
    let mut subject = subject.clone();
    subject.annotations.clear();
    subject.artifact_type = None;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(model::MANIFEST_MEDIA_TYPE.to_owned()),
        artifact_type: Some(BUNDLE_MEDIA_TYPE.to_owned()),
        config: Descriptor::of(model::EMPTY_MEDIA_TYPE, model::EMPTY_CONTENT),
        layers: vec![layer],
        subject: Some(subject),
        annotations: BTreeMap::from([
            (CONTENT_ANNOTATION.to_owned(), "dsse-envelope".to_owned()),
            (
                PREDICATE_TYPE_ANNOTATION.to_owned(),
                predicate_type.to_owned(),
            ),
        ]),
    };
    model::to_bytes(&manifest)
}

/// What [`attach`] did.
#[derive(Clone, Debug)]
pub struct Attached {
    /// The attestation manifest's descriptor.
    pub descriptor: Descriptor,
    /// How the registry lists it.
    pub source: Source,
    /// False when the tag-schema index already listed it.
    pub listed_now: bool,
}

/// Checks that the registry lets us write to `image`'s repository, before
/// anything is signed or published to a transparency log: uploads the
/// empty config blob every attestation manifest names (a no-op when the
/// registry has it).
pub fn prepare(registry: &Registry, image: &Reference) -> Result<(), Error> {
    registry.push_blob(image, model::EMPTY_CONTENT).map(|_| ())
}

/// Attaches `bundle` (a Sigstore bundle holding a DSSE envelope) to the
/// image manifest `subject` in `image`'s repository.
pub fn attach(
    registry: &Registry,
    image: &Reference,
    subject: &Descriptor,
    bundle: &[u8],
    predicate_type: &str,
) -> Result<Attached, Error> {
    let subject_digest = subject.sha256(&image.to_string())?;
    registry.push_blob(image, model::EMPTY_CONTENT)?;
    registry.push_blob(image, bundle)?;
    let manifest = bundle_manifest(subject, bundle, predicate_type);
    let digest = Digest::of(&manifest);
    registry.push_manifest(
        &image.at_digest(digest),
        &manifest,
        model::MANIFEST_MEDIA_TYPE,
    )?;
    let mut descriptor = Descriptor::of(model::MANIFEST_MEDIA_TYPE, &manifest);
    descriptor.artifact_type = Some(BUNDLE_MEDIA_TYPE.to_owned());
    descriptor.annotations = BTreeMap::from([
        (CONTENT_ANNOTATION.to_owned(), "dsse-envelope".to_owned()),
        (
            PREDICATE_TYPE_ANNOTATION.to_owned(),
            predicate_type.to_owned(),
        ),
    ]);
    if registry.referrers_api(image, subject_digest)?.is_some() {
        return Ok(Attached {
            descriptor,
            source: Source::Api,
            listed_now: true,
        });
    }
    let tag = subject_digest.referrers_tag();
    let place = format!("{}:{tag}", image.name());
    let mut index = match registry.manifest_at_tag(image, &tag)? {
        Some(found) => model::parse::<Index>(&found.bytes, "referrers index", &place)?,
        None => Index::empty(),
    };
    if index
        .manifests
        .iter()
        .any(|d| d.digest == descriptor.digest)
    {
        return Ok(Attached {
            descriptor,
            source: Source::TagSchema,
            listed_now: false,
        });
    }
    index.manifests.push(descriptor.clone());
    index.media_type = Some(model::INDEX_MEDIA_TYPE.to_owned());
    registry.push_manifest(
        &image.at_tag(&tag),
        &model::to_bytes(&index),
        model::INDEX_MEDIA_TYPE,
    )?;
    Ok(Attached {
        descriptor,
        source: Source::TagSchema,
        listed_now: true,
    })
}

/// The referrers of `subject`: from the referrers API, or, where the
/// registry has none, the tag schema's index (none when the tag is absent).
/// At most [`crate::Limits::max_referrers`] entries are read.
pub fn list(
    registry: &Registry,
    image: &Reference,
    subject: Digest,
) -> Result<(Source, Vec<Descriptor>), Error> {
    let place = format!("referrers of {}@{subject}", image.name());
    let max = registry.limits().max_referrers;
    match registry.referrers_api(image, subject)? {
        Some(body) => Ok((Source::Api, read_listing(&body, Source::Api, &place, max)?)),
        None => match registry.manifest_at_tag(image, &subject.referrers_tag())? {
            Some(found) => Ok((
                Source::TagSchema,
                read_listing(&found.bytes, Source::TagSchema, &place, max)?,
            )),
            None => Ok((Source::TagSchema, Vec::new())),
        },
    }
}

/// Reads a referrers listing as `source` serves it (the referrers API's
/// answer or the tag schema's index, both an OCI image index), strictly,
/// with at most `max` entries. `place` names it in errors.
pub fn read_listing(
    bytes: &[u8],
    source: Source,
    place: &str,
    max: usize,
) -> Result<Vec<Descriptor>, Error> {
    let what = match source {
        Source::Api => "referrers listing",
        Source::TagSchema => "referrers index",
    };
    let index = model::parse::<Index>(bytes, what, place)?;
    if index.manifests.len() > max {
        return Err(Error::TooLarge {
            what: "referrers listing",
            reference: place.to_owned(),
            limit: max as u64,
        });
    }
    Ok(index.manifests)
}

/// One Sigstore bundle found among an image's referrers, or why the
/// referrer could not give one. Nothing here is verified: the bundle's
/// bytes are what the registry served under the digests the subject's
/// referrers name, each digest checked.
#[derive(Debug)]
pub struct Found {
    /// The referrer's manifest digest.
    pub manifest: String,
    /// The bundle's bytes, or why there are none.
    pub bundle: Result<Vec<u8>, Error>,
}

/// The Sigstore bundles attached to `subject`: every referrer whose
/// `artifactType` is a Sigstore bundle's, its manifest fetched by digest
/// (checked), its `subject` required to be `subject`, its one bundle layer
/// fetched (size bounded, digest checked). Manifests and then blobs are
/// fetched concurrently. Referrers of other artifact types are left out.
pub fn bundles(
    registry: &Registry,
    image: &Reference,
    subject: Digest,
    referrers: &[Descriptor],
) -> Vec<Found> {
    let candidates: Vec<&Descriptor> = referrers
        .iter()
        .filter(|d| {
            d.artifact_type
                .as_deref()
                .is_some_and(|t| t.starts_with("application/vnd.dev.sigstore.bundle"))
        })
        .collect();
    let mut found: Vec<Found> = Vec::new();
    let mut digests = Vec::new();
    for d in &candidates {
        match d.sha256(&image.to_string()) {
            Ok(digest) => digests.push(digest),
            Err(e) => found.push(Found {
                manifest: d.digest.clone(),
                bundle: Err(e),
            }),
        }
    }
    let manifests = registry.manifests(image, &digests);
    let mut layers = Vec::new();
    for (digest, fetched) in digests.iter().zip(manifests) {
        let place = format!("{}@{digest}", image.name());
        let layer = fetched.and_then(|resolved| read_referrer(&resolved.bytes, subject, &place));
        match layer {
            Ok(layer) => layers.push((digest, layer)),
            Err(e) => found.push(Found {
                manifest: digest.to_string(),
                bundle: Err(e),
            }),
        }
    }
    let descriptors: Vec<Descriptor> = layers.iter().map(|(_, l)| l.clone()).collect();
    for ((digest, _), blob) in layers.iter().zip(registry.blobs(image, &descriptors)) {
        found.push(Found {
            manifest: digest.to_string(),
            bundle: blob,
        });
    }
    found
}

/// Reads a referrer's artifact manifest: strictly parsed, its `subject`
/// `subject`, exactly one layer and that a Sigstore bundle; the layer's
/// descriptor (to fetch, size bounded and digest checked). `place` names it
/// in errors.
pub fn read_referrer(bytes: &[u8], subject: Digest, place: &str) -> Result<Descriptor, Error> {
    let manifest: Manifest = model::parse(bytes, "referrer manifest", place)?;
    bundle_layer(&manifest, subject, place)
}

/// The bundle layer of a referrer manifest whose subject is `subject`.
fn bundle_layer(manifest: &Manifest, subject: Digest, place: &str) -> Result<Descriptor, Error> {
    let malformed = |reason: String| Error::Malformed {
        what: "referrer manifest",
        reference: place.to_owned(),
        reason,
    };
    let Some(named) = &manifest.subject else {
        return Err(malformed("it has no subject".into()));
    };
    if named.digest != subject.to_string() {
        return Err(malformed(format!(
            "its subject is {}, not the image {subject}",
            named.digest.chars().take(80).collect::<String>()
        )));
    }
    match manifest.layers.as_slice() {
        [one]
            if one
                .media_type
                .starts_with("application/vnd.dev.sigstore.bundle") =>
        {
            Ok(one.clone())
        }
        [_] => Err(malformed("its layer is not a Sigstore bundle".into())),
        layers => Err(malformed(format!(
            "{} layers; a bundle referrer has exactly one",
            layers.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Descriptor {
        Descriptor::of(model::MANIFEST_MEDIA_TYPE, b"{\"schemaVersion\":2}")
    }

    #[test]
    fn the_manifest_has_gh_s_layout_and_is_the_same_each_time() {
        let bytes = bundle_manifest(
            &subject(),
            b"{\"bundle\":1}",
            "https://slsa.dev/provenance/v1",
        );
        assert_eq!(
            bytes,
            bundle_manifest(
                &subject(),
                b"{\"bundle\":1}",
                "https://slsa.dev/provenance/v1"
            )
        );
        let m: Manifest = model::parse(&bytes, "m", "here").unwrap();
        assert_eq!(m.artifact_type.as_deref(), Some(BUNDLE_MEDIA_TYPE));
        assert_eq!(m.config.media_type, model::EMPTY_MEDIA_TYPE);
        assert_eq!(
            m.config.digest,
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(m.layers.len(), 1);
        assert_eq!(m.layers[0].media_type, BUNDLE_MEDIA_TYPE);
        assert_eq!(m.subject, Some(subject()));
        assert_eq!(m.annotations[CONTENT_ANNOTATION], "dsse-envelope");
        assert_eq!(
            m.annotations[PREDICATE_TYPE_ANNOTATION],
            "https://slsa.dev/provenance/v1"
        );
    }

    #[test]
    fn a_referrer_of_another_subject_gives_no_bundle() {
        let bytes = bundle_manifest(&subject(), b"{}", "t");
        let m: Manifest = model::parse(&bytes, "m", "here").unwrap();
        let other = Digest::of(b"another image");
        let err = bundle_layer(&m, other, "here").unwrap_err();
        assert!(err.to_string().contains("not the image"), "{err}");
        let own = subject().sha256("here").unwrap();
        assert!(bundle_layer(&m, own, "here").is_ok());
    }

    #[test]
    fn a_referrer_with_two_layers_gives_no_bundle() {
        let bytes = bundle_manifest(&subject(), b"{}", "t");
        let mut m: Manifest = model::parse(&bytes, "m", "here").unwrap();
        m.layers.push(m.layers[0].clone());
        let own = subject().sha256("here").unwrap();
        let err = bundle_layer(&m, own, "here").unwrap_err();
        assert!(err.to_string().contains("2 layers"), "{err}");
    }
}
