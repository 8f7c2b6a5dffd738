//! The OCI documents cosign's and BuildKit's layouts are made of, read from
//! bytes already fetched: image manifests (their layers' descriptors, with
//! annotations), image indexes, and SHA-256 content digests. Strict JSON
//! (duplicate keys refused, [`dsse::json`]), sizes and counts bounded; fields
//! the formats do not use are ignored, as the image spec asks of readers.
//!
//! Specs: OCI image-spec `manifest.md`, `image-index.md`, `descriptor.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::Error;

/// Largest manifest or index read, in bytes (the distribution spec's
/// suggested limit for manifests, 4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;
/// Most layers read from one manifest (cosign adds one per signature or
/// attestation; BuildKit one per predicate).
pub const MAX_LAYERS: usize = 256;
/// Most manifests read from one index.
pub const MAX_INDEX_MANIFESTS: usize = 1024;
/// Most annotations on one descriptor or manifest.
pub const MAX_ANNOTATIONS: usize = 64;

/// The OCI and Docker media types of an image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker's image manifest v2 schema 2 (older cosign writes it).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker's manifest list.
pub const DOCKER_INDEX: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// A SHA-256 content digest (`sha256:<64 lowercase hex>`), the only
/// algorithm cosign and BuildKit write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256Digest {
        Sha256Digest(Sha256::digest(bytes).into())
    }

    /// A digest from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Sha256Digest {
        Sha256Digest(bytes)
    }

    /// The 32 bytes.
    pub fn bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The 64 lowercase hex digits.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl FromStr for Sha256Digest {
    type Err = Error;

    /// `sha256:` and 64 lowercase hex digits (the image spec's canonical
    /// encoding; anything else is refused, not normalized).
    fn from_str(text: &str) -> Result<Sha256Digest, Error> {
        let malformed = || Error::Malformed {
            what: "digest",
            reason: format!(
                "{} is not sha256:<64 lowercase hex digits>",
                keyless::untrusted_text(text)
            ),
        };
        let hex_part = text.strip_prefix("sha256:").ok_or_else(malformed)?;
        if hex_part.len() != 64
            || !hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(malformed());
        }
        let bytes = hex::decode(hex_part).map_err(|_| malformed())?;
        <[u8; 32]>::try_from(bytes)
            .map(Sha256Digest)
            .map_err(|_| malformed())
    }
}

/// A content descriptor: what a manifest says about a blob or manifest it
/// points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The media type of what it points to.
    pub media_type: String,
    /// Its digest.
    pub digest: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
    /// The platform (indexes only): `os/architecture[/variant]`.
    pub platform: Option<String>,
}

impl Descriptor {
    /// Checks that `blob` is what this descriptor points to: its size and
    /// its SHA-256 (a registry's answer is never trusted on its own).
    pub fn check_blob(&self, blob: &[u8]) -> Result<(), Error> {
        let found = Sha256Digest::of(blob);
        if found != self.digest || u64::try_from(blob.len()).ok() != Some(self.size) {
            return Err(Error::BlobMismatch {
                expected: format!("{} ({} bytes)", self.digest, self.size),
                found: format!("{found} ({} bytes)", blob.len()),
            });
        }
        Ok(())
    }

    /// The annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

/// An image manifest: its layers and annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The manifest's media type, when it says.
    pub media_type: Option<String>,
    /// `artifactType`, when set.
    pub artifact_type: Option<String>,
    /// The config descriptor.
    pub config: Descriptor,
    /// The layers, in order.
    pub layers: Vec<Descriptor>,
    /// The manifest's `subject`, when set.
    pub subject: Option<Descriptor>,
    /// The manifest's own annotations.
    pub annotations: BTreeMap<String, String>,
}

/// An image index: the manifests it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// The index's media type, when it says.
    pub media_type: Option<String>,
    /// The manifests, in order.
    pub manifests: Vec<Descriptor>,
    /// The index's own annotations.
    pub annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct WirePlatform {
    architecture: String,
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Deserialize)]
struct WireDescriptor {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    platform: Option<WirePlatform>,
}

#[derive(Deserialize)]
struct WireManifest {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(rename = "artifactType", default)]
    artifact_type: Option<String>,
    config: WireDescriptor,
    #[serde(default)]
    layers: Vec<WireDescriptor>,
    #[serde(default)]
    subject: Option<WireDescriptor>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct WireIndex {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    manifests: Vec<WireDescriptor>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

fn annotations(
    what: &'static str,
    map: Option<BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, Error> {
    let map = map.unwrap_or_default();
    if map.len() > MAX_ANNOTATIONS {
        return Err(Error::Malformed {
            what,
            reason: format!(
                "{} annotations, more than the {MAX_ANNOTATIONS} read",
                map.len()
            ),
        });
    }
    Ok(map)
}

impl WireDescriptor {
    fn typed(self, what: &'static str) -> Result<Descriptor, Error> {
        let digest = self.digest.parse().map_err(|e| match e {
            Error::Malformed { reason, .. } => Error::Malformed { what, reason },
            other => other,
        })?;
        Ok(Descriptor {
            media_type: self.media_type,
            digest,
            size: self.size,
            annotations: annotations(what, self.annotations)?,
            platform: self.platform.map(|p| match p.variant {
                Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                None => format!("{}/{}", p.os, p.architecture),
            }),
        })
    }
}

pub(crate) fn strict<T: serde::de::DeserializeOwned>(
    what: &'static str,
    json: &[u8],
) -> Result<T, Error> {
    if json.len() > MAX_MANIFEST_BYTES {
        return Err(Error::Malformed {
            what,
            reason: format!(
                "{} bytes, more than the {MAX_MANIFEST_BYTES} read",
                json.len()
            ),
        });
    }
    dsse::json::from_slice_strict(json).map_err(|e| Error::Malformed {
        what,
        reason: match std::error::Error::source(&e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    })
}

/// The checks every manifest and index gets: schema version 2, one of the
/// `accepted` media types when it names one, at most `max` `items`.
fn check_document(
    what: &'static str,
    schema_version: u32,
    media_type: Option<&str>,
    accepted: [&str; 2],
    (items, count, max): (&str, usize, usize),
) -> Result<(), Error> {
    if schema_version != 2 {
        return Err(Error::Unsupported {
            what,
            found: format!("schemaVersion {schema_version}"),
            expected: "schemaVersion 2".into(),
        });
    }
    if let Some(media_type) = media_type {
        if !accepted.contains(&media_type) {
            return Err(Error::Unsupported {
                what,
                found: format!("media type {}", keyless::untrusted_text(media_type)),
                expected: accepted.join(" or "),
            });
        }
    }
    if count > max {
        return Err(Error::Malformed {
            what,
            reason: format!("{count} {items}, more than the {max} read"),
        });
    }
    Ok(())
}

/// Reads an image manifest (OCI, or Docker v2 schema 2).
pub fn read_manifest(json: &[u8]) -> Result<Manifest, Error> {
    const WHAT: &str = "image manifest";
    let wire: WireManifest = strict(WHAT, json)?;
    check_document(
        WHAT,
        wire.schema_version,
        wire.media_type.as_deref(),
        [OCI_MANIFEST, DOCKER_MANIFEST],
        ("layers", wire.layers.len(), MAX_LAYERS),
    )?;
    Ok(Manifest {
        media_type: wire.media_type,
        artifact_type: wire.artifact_type,
        config: wire.config.typed("manifest config descriptor")?,
        layers: wire
            .layers
            .into_iter()
            .map(|l| l.typed("layer descriptor"))
            .collect::<Result<_, _>>()?,
        subject: wire
            .subject
            .map(|s| s.typed("subject descriptor"))
            .transpose()?,
        annotations: annotations(WHAT, wire.annotations)?,
    })
}

/// Reads an image index (OCI, or Docker's manifest list).
pub fn read_index(json: &[u8]) -> Result<Index, Error> {
    const WHAT: &str = "image index";
    let wire: WireIndex = strict(WHAT, json)?;
    check_document(
        WHAT,
        wire.schema_version,
        wire.media_type.as_deref(),
        [OCI_INDEX, DOCKER_INDEX],
        ("manifests", wire.manifests.len(), MAX_INDEX_MANIFESTS),
    )?;
    Ok(Index {
        media_type: wire.media_type,
        manifests: wire
            .manifests
            .into_iter()
            .map(|m| m.typed("index manifest descriptor"))
            .collect::<Result<_, _>>()?,
        annotations: annotations(WHAT, wire.annotations)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_read_only_in_their_canonical_spelling() {
        let hex = "a".repeat(64);
        let digest: Sha256Digest = format!("sha256:{hex}").parse().unwrap();
        assert_eq!(digest.to_string(), format!("sha256:{hex}"));
        for bad in [
            format!("sha256:{}", "A".repeat(64)),
            format!("sha512:{hex}"),
            format!("sha256:{}", "a".repeat(63)),
            hex.clone(),
            format!("sha256:{hex} "),
        ] {
            assert!(bad.parse::<Sha256Digest>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_blob_must_have_the_descriptors_digest_and_size() {
        let blob = b"layer";
        let descriptor = Descriptor {
            media_type: "x".into(),
            digest: Sha256Digest::of(blob),
            size: 5,
            annotations: BTreeMap::new(),
            platform: None,
        };
        descriptor.check_blob(blob).unwrap();
        assert!(matches!(
            descriptor.check_blob(b"other"),
            Err(Error::BlobMismatch { .. })
        ));
        let wrong_size = Descriptor {
            size: 6,
            ..descriptor
        };
        assert!(wrong_size.check_blob(blob).is_err());
    }

    #[test]
    fn manifests_with_duplicate_keys_or_another_schema_are_refused() {
        let d = format!(
            r#"{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}}"#,
            "0".repeat(64)
        );
        let ok = format!(r#"{{"schemaVersion":2,"config":{d},"layers":[{d}]}}"#);
        assert_eq!(read_manifest(ok.as_bytes()).unwrap().layers.len(), 1);
        let dup = format!(r#"{{"schemaVersion":2,"config":{d},"layers":[],"layers":[{d}]}}"#);
        assert!(matches!(
            read_manifest(dup.as_bytes()),
            Err(Error::Malformed { .. })
        ));
        let v1 = format!(r#"{{"schemaVersion":1,"config":{d}}}"#);
        assert!(matches!(
            read_manifest(v1.as_bytes()),
            Err(Error::Unsupported { .. })
        ));
        let index = format!(r#"{{"schemaVersion":2,"manifests":[{d}]}}"#);
        assert!(read_manifest(index.as_bytes()).is_err());
        assert_eq!(read_index(index.as_bytes()).unwrap().manifests.len(), 1);
    }
}
