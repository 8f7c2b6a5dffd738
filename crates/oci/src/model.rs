//! The OCI image spec's descriptors, manifests and indexes, as far as toto
//! reads and writes them (image-spec v1.1: descriptor.md, manifest.md,
//! image-index.md). Unknown fields are ignored, as the spec requires of
//! readers; duplicate keys are refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::reference::Digest;
use crate::Error;

/// An OCI image manifest.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index.
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// Docker's v2 schema 2 manifest.
pub const DOCKER_MANIFEST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's manifest list.
pub const DOCKER_LIST_MEDIA_TYPE: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// The empty descriptor's media type (image-spec v1.1, "Guidance for an
/// Empty Descriptor"), and its content `{}`.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The empty descriptor's content.
pub const EMPTY_CONTENT: &[u8] = b"{}";

/// What toto accepts when it asks for a manifest.
pub const MANIFEST_TYPES: &[&str] = &[
    MANIFEST_MEDIA_TYPE,
    INDEX_MEDIA_TYPE,
    DOCKER_MANIFEST_MEDIA_TYPE,
    DOCKER_LIST_MEDIA_TYPE,
];

/// A content descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the content.
    pub media_type: String,
    /// Its digest, `algorithm:encoded` (as the registry wrote it; see
    /// [`Descriptor::sha256`]).
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// The artifact type, for manifests of artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// The digest as SHA-256 (the only algorithm toto follows).
    pub fn sha256(&self, place: &str) -> Result<Digest, Error> {
        self.digest.parse().map_err(|_| Error::Malformed {
            what: "descriptor",
            reference: place.to_owned(),
            reason: format!(
                "digest {:?} is not sha256:<64 lower-case hex>",
                self.digest.chars().take(80).collect::<String>()
            ),
        })
    }

    /// A descriptor of `bytes`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: Digest::of(bytes).to_string(),
            size: bytes.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// An image manifest (also an artifact manifest, with `artifactType`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// `application/vnd.oci.image.manifest.v1+json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers.
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (also a referrers listing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// `application/vnd.oci.image.index.v1+json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

impl Index {
    /// An empty OCI index.
    pub fn empty() -> Index {
        Index {
            schema_version: 2,
            media_type: Some(INDEX_MEDIA_TYPE.to_owned()),
            manifests: Vec::new(),
        }
    }
}

/// Parses a manifest strictly (one JSON value, no duplicate keys).
pub fn parse<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
    place: &str,
) -> Result<T, Error> {
    dsse::json::from_slice_strict(bytes).map_err(|e| Error::Malformed {
        what,
        reference: place.to_owned(),
        reason: e.to_string(),
    })
}

/// The media type of a manifest: its `mediaType` field, else the
/// Content-Type the registry sent.
pub(crate) fn manifest_media_type(
    bytes: &[u8],
    headers: &reqwest::header::HeaderMap,
    place: &str,
) -> Result<String, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Typed {
        #[serde(default)]
        media_type: Option<String>,
    }
    let typed: Typed = parse(bytes, "manifest", place)?;
    let header = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
    typed
        .media_type
        .or(header)
        .filter(|t| MANIFEST_TYPES.contains(&t.as_str()))
        .ok_or_else(|| Error::Malformed {
            what: "manifest",
            reference: place.to_owned(),
            reason: "no known manifest media type".into(),
        })
}

/// Serializes as compact JSON (the bytes that are digested and pushed).
pub fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain structs cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}
