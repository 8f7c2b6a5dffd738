//! Fetches the attestations that live beside an image outside the referrers
//! listing: cosign's `sha256-<hex>.att` / `.sig` tags and BuildKit's
//! attestation manifests inside an image index. Bytes only, every manifest
//! and blob fetched by digest and checked on receipt; [`crate::cosign`]
//! verifies the cosign layers, [`crate::buildkit`] reads BuildKit's
//! (unsigned) Statements.

use std::collections::BTreeMap;

use crate::buildkit::{self, AttestationManifest, UnsignedStatement};
use crate::cosign::{self, Sha256Digest};
use crate::model;
use crate::reference::{Digest, Reference};
use crate::registry::Registry;

/// Why a layout could not be fetched or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The registry did not serve it (or served other bytes).
    #[error(transparent)]
    Registry(#[from] crate::Error),
    /// What it served is not the layout it claims to be.
    #[error(transparent)]
    Layout(#[from] cosign::Error),
}

/// The layers of a cosign tag's manifest, each with its blob (checked
/// against its descriptor's digest and size) or why there is none.
#[derive(Debug)]
pub struct TaggedLayers {
    /// The tag.
    pub tag: String,
    /// The digest of the manifest at the tag.
    pub manifest: Sha256Digest,
    /// Its layers, in order.
    pub layers: Vec<(cosign::Descriptor, Result<Vec<u8>, crate::Error>)>,
}

/// The registry's descriptor of a layer read by [`cosign::read_manifest`].
fn wire(descriptor: &cosign::Descriptor) -> model::Descriptor {
    model::Descriptor {
        media_type: descriptor.media_type.clone(),
        digest: descriptor.digest.to_string(),
        size: descriptor.size,
        artifact_type: None,
        annotations: BTreeMap::new(),
    }
}

/// The same digest as the registry client spells it.
fn digest(of: &Sha256Digest) -> Result<Digest, crate::Error> {
    of.to_string().parse()
}

/// The manifest at cosign's `tag` in `image`'s repository (none when the
/// tag does not exist) and its layers' blobs, fetched concurrently.
pub fn cosign_layers(
    registry: &Registry,
    image: &Reference,
    tag: &str,
) -> Result<Option<TaggedLayers>, Error> {
    let Some(found) = registry.manifest_at_tag(image, tag)? else {
        return Ok(None);
    };
    let manifest = cosign::read_manifest(&found.bytes)?;
    let wired: Vec<model::Descriptor> = manifest.layers.iter().map(wire).collect();
    let blobs = registry.blobs(image, &wired);
    Ok(Some(TaggedLayers {
        tag: tag.to_owned(),
        manifest: Sha256Digest::of(&found.bytes),
        layers: manifest.layers.into_iter().zip(blobs).collect(),
    }))
}

/// One BuildKit Statement found in an index, or why its layer (or its
/// attestation manifest) could not be read.
#[derive(Debug)]
pub struct Unsigned {
    /// The attestation manifest it is listed in.
    pub entry: AttestationManifest,
    /// The layer, when the attestation manifest was read.
    pub layer: Option<Sha256Digest>,
    /// The Statement, as read (never verified: nobody signed it).
    pub statement: Result<UnsignedStatement, Error>,
}

/// The BuildKit attestation manifests of the index `index_json` (fetched
/// from `image`'s repository), their in-toto layers fetched and read.
/// An index that lists none gives none.
pub fn buildkit_statements(
    registry: &Registry,
    image: &Reference,
    index_json: &[u8],
) -> Result<Vec<Unsigned>, Error> {
    let index = cosign::read_index(index_json)?;
    let entries = buildkit::attestation_manifests(&index)?;
    let digests = entries
        .iter()
        .map(|e| digest(&e.descriptor.digest))
        .collect::<Result<Vec<Digest>, _>>()?;
    let manifests = registry.manifests(image, &digests);
    let mut found = Vec::new();
    for (entry, fetched) in entries.into_iter().zip(manifests) {
        let layers = fetched
            .map_err(Error::from)
            .and_then(|m| Ok(buildkit::statement_layers(&entry, &m.bytes)?));
        let layers = match layers {
            Ok(layers) => layers,
            Err(e) => {
                found.push(Unsigned {
                    entry,
                    layer: None,
                    statement: Err(e),
                });
                continue;
            }
        };
        let wired: Vec<model::Descriptor> = layers.iter().map(wire).collect();
        for (layer, blob) in layers.iter().zip(registry.blobs(image, &wired)) {
            let statement = blob
                .map_err(Error::from)
                .and_then(|b| Ok(buildkit::read_statement(&entry, layer, &b)?));
            found.push(Unsigned {
                entry: entry.clone(),
                layer: Some(layer.digest),
                statement,
            });
        }
    }
    Ok(found)
}

/// The manifest of `index_json` for `platform` (`os/arch[/variant]`), or
/// the platforms it lists when none is that one. BuildKit's attestation
/// manifests (`unknown/unknown`) are not images and are not offered.
pub fn platform_manifest(
    index_json: &[u8],
    platform: &str,
) -> Result<Result<Sha256Digest, Vec<String>>, Error> {
    let index = cosign::read_index(index_json)?;
    let images = index
        .manifests
        .iter()
        .filter(|m| m.annotation(buildkit::REFERENCE_TYPE).is_none());
    let mut listed = Vec::new();
    for m in images {
        match &m.platform {
            Some(p) if p == platform => return Ok(Ok(m.digest)),
            Some(p) => listed.push(p.clone()),
            None => listed.push(format!("(no platform) {}", m.digest)),
        }
    }
    Ok(Err(listed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        digest: &Sha256Digest,
        platform: &str,
        attestation_of: Option<&Sha256Digest>,
    ) -> String {
        let mut parts = platform.split('/');
        let (os, arch, variant) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
        let platform = match variant {
            Some(v) => format!(r#"{{"os":"{os}","architecture":"{arch}","variant":"{v}"}}"#),
            None => format!(r#"{{"os":"{os}","architecture":"{arch}"}}"#),
        };
        let annotations = attestation_of.map_or(String::new(), |d| {
            format!(
                r#","annotations":{{"{}":"{}","{}":"{d}"}}"#,
                buildkit::REFERENCE_TYPE,
                buildkit::ATTESTATION_MANIFEST,
                buildkit::REFERENCE_DIGEST
            )
        });
        format!(
            r#"{{"mediaType":"{}","digest":"{digest}","size":2,"platform":{platform}{annotations}}}"#,
            model::MANIFEST_MEDIA_TYPE
        )
    }

    #[test]
    fn a_platform_is_picked_among_the_images_and_the_others_are_named() {
        let (amd64, arm64, att) = (
            Sha256Digest::of(b"amd64"),
            Sha256Digest::of(b"arm64"),
            Sha256Digest::of(b"attestation"),
        );
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{},{},{}]}}"#,
            model::INDEX_MEDIA_TYPE,
            entry(&amd64, "linux/amd64", None),
            entry(&arm64, "linux/arm64/v8", None),
            entry(&att, "unknown/unknown", Some(&amd64)),
        );
        let pick = |p: &str| platform_manifest(index.as_bytes(), p).unwrap();
        assert_eq!(pick("linux/amd64"), Ok(amd64));
        assert_eq!(pick("linux/arm64/v8"), Ok(arm64));
        // The variant is part of the platform; an attestation manifest is
        // no image.
        assert_eq!(
            pick("linux/arm64"),
            Err(vec!["linux/amd64".to_owned(), "linux/arm64/v8".to_owned()])
        );
        assert!(pick("unknown/unknown").is_err());
        assert!(platform_manifest(b"{}", "linux/amd64").is_err());
    }
}
