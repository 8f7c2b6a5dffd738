//! Docker BuildKit's attestations: attestation manifests listed in an image
//! index beside the images they describe, whose layers are in-toto
//! Statements. Read from bytes already fetched (the index, an attestation
//! manifest, each layer's blob); this module does no I/O.
//!
//! **Nothing here is verified.** BuildKit does not sign these Statements:
//! what an index says about an image is only as trustworthy as whoever
//! pushed the index. They are read into [`UnsignedStatement`], a type that
//! says so, and that no verifier accepts as a verified result; `toto
//! verify-attestation` may show them to a policy only when the user allows
//! unsigned evidence (`--allow-unsigned`), and never counts them as verified.
//!
//! The format (moby/buildkit `docs/attestations/attestation-storage.md`; see
//! `testdata/oci/README.md`):
//! - in the image index, after the image manifests, one manifest per image
//!   with the annotations [`REFERENCE_TYPE`] = [`ATTESTATION_MANIFEST`] (any
//!   other value: the manifest is ignored) and [`REFERENCE_DIGEST`] = the
//!   digest of the image manifest it describes, its platform
//!   `unknown/unknown`;
//! - in that manifest, one layer per attestation, media type
//!   [`IN_TOTO_LAYER`] (other media types are ignored), annotated with
//!   [`PREDICATE_TYPE_ANNOTATION`]; the blob an in-toto Statement (not an
//!   envelope) whose subject is the described manifest.

use std::collections::BTreeSet;

use crate::cosign::manifest;
pub use crate::cosign::{Descriptor, Error, Index, Sha256Digest};

/// Annotation naming what an index entry is.
pub const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
/// Annotation naming the manifest an attestation manifest describes.
pub const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
/// The [`REFERENCE_TYPE`] of an attestation manifest.
pub const ATTESTATION_MANIFEST: &str = "attestation-manifest";
/// Layer media type of an in-toto Statement.
pub const IN_TOTO_LAYER: &str = "application/vnd.in-toto+json";
/// Layer annotation repeating the Statement's `predicateType`.
pub const PREDICATE_TYPE_ANNOTATION: &str = "in-toto.io/predicate-type";

/// Largest Statement read, in bytes (BuildKit's SBOMs can be large).
pub const MAX_STATEMENT_BYTES: usize = 64 << 20;

/// An attestation manifest listed in an image index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationManifest {
    /// The index's descriptor of the attestation manifest.
    pub descriptor: Descriptor,
    /// The image manifest it describes (listed in the same index).
    pub describes: Sha256Digest,
    /// That manifest's platform, when the index names one.
    pub platform: Option<String>,
}

/// The attestation manifests of `index`, each tied to the image manifest it
/// describes. An entry whose [`REFERENCE_TYPE`] is absent or another value
/// is not one (the format says to ignore it). One that names no digest, a
/// malformed one, or a manifest the index does not list is malformed.
pub fn attestation_manifests(index: &Index) -> Result<Vec<AttestationManifest>, Error> {
    let listed: BTreeSet<Sha256Digest> = index
        .manifests
        .iter()
        .filter(|m| m.annotation(REFERENCE_TYPE).is_none())
        .map(|m| m.digest)
        .collect();
    let mut found = Vec::new();
    for entry in &index.manifests {
        if entry.annotation(REFERENCE_TYPE) != Some(ATTESTATION_MANIFEST) {
            continue;
        }
        let malformed = |reason: String| Error::Malformed {
            what: "BuildKit attestation manifest descriptor",
            reason: format!("{}: {reason}", entry.digest),
        };
        let describes: Sha256Digest = entry
            .annotation(REFERENCE_DIGEST)
            .ok_or_else(|| malformed(format!("no {REFERENCE_DIGEST} annotation")))?
            .parse()
            .map_err(|e| malformed(format!("{REFERENCE_DIGEST}: {e}")))?;
        if !listed.contains(&describes) {
            return Err(malformed(format!(
                "it describes {describes}, which is not an image manifest of this index"
            )));
        }
        let platform = index
            .manifests
            .iter()
            .find(|m| m.digest == describes)
            .and_then(|m| m.platform.clone());
        found.push(AttestationManifest {
            descriptor: entry.clone(),
            describes,
            platform,
        });
    }
    Ok(found)
}

/// The in-toto layers of an attestation manifest, fetched as
/// `manifest_json`: checked against the index's descriptor of it, read, and
/// its layers of other media types left out (the format says to ignore
/// them).
pub fn statement_layers(
    entry: &AttestationManifest,
    manifest_json: &[u8],
) -> Result<Vec<Descriptor>, Error> {
    entry.descriptor.check_blob(manifest_json)?;
    let manifest = manifest::read_manifest(manifest_json)?;
    Ok(manifest
        .layers
        .into_iter()
        .filter(|l| l.media_type == IN_TOTO_LAYER)
        .collect())
}

/// An in-toto Statement BuildKit attached to an image: **unsigned**, so
/// never a verified result. It records where it was found; only
/// [`read_statement`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsignedStatement {
    statement: attest::Statement,
    describes: Sha256Digest,
    attestation_manifest: Sha256Digest,
    layer: Sha256Digest,
}

impl UnsignedStatement {
    /// The Statement, as read (nobody signed it).
    pub fn statement(&self) -> &attest::Statement {
        &self.statement
    }

    /// The image manifest it describes (one of the Statement's subjects).
    pub fn describes(&self) -> &Sha256Digest {
        &self.describes
    }

    /// The attestation manifest it was found in.
    pub fn attestation_manifest(&self) -> &Sha256Digest {
        &self.attestation_manifest
    }

    /// The layer it was read from.
    pub fn layer(&self) -> &Sha256Digest {
        &self.layer
    }

    /// Always false: BuildKit's attestations carry no signature. Callers
    /// that list evidence say so next to it.
    pub fn is_signed(&self) -> bool {
        false
    }
}

/// Reads one in-toto layer of an attestation manifest: the blob checked
/// against its descriptor, read strictly as an in-toto Statement, its
/// `predicateType` the one the layer's annotation names (when it names
/// one), and one of its subjects the image manifest the attestation
/// manifest describes (by SHA-256; another subject alone is refused, naming
/// both).
pub fn read_statement(
    entry: &AttestationManifest,
    layer: &Descriptor,
    blob: &[u8],
) -> Result<UnsignedStatement, Error> {
    if layer.media_type != IN_TOTO_LAYER {
        return Err(Error::Unsupported {
            what: "BuildKit attestation layer",
            found: format!("media type {}", keyless::untrusted_text(&layer.media_type)),
            expected: IN_TOTO_LAYER.into(),
        });
    }
    let in_layer = |source: Error| Error::Layer {
        kind: "BuildKit attestation",
        layer: layer.digest,
        source: Box::new(source),
    };
    if blob.len() > MAX_STATEMENT_BYTES {
        return Err(in_layer(Error::Malformed {
            what: "in-toto Statement",
            reason: format!(
                "{} bytes, more than the {MAX_STATEMENT_BYTES} read",
                blob.len()
            ),
        }));
    }
    layer.check_blob(blob).map_err(in_layer)?;
    let statement = dsse::json::Tree::parse(blob)
        .map_err(|e| e.to_string())
        .and_then(|tree| attest::Statement::decode(tree.root()).map_err(|e| e.to_string()))
        .map_err(|reason| {
            in_layer(Error::Malformed {
                what: "in-toto Statement",
                reason,
            })
        })?;
    if let Some(annotated) = layer.annotation(PREDICATE_TYPE_ANNOTATION) {
        if annotated != statement.predicate_type {
            return Err(in_layer(Error::Malformed {
                what: "in-toto Statement",
                reason: format!(
                    "its predicateType is {}, the layer's {PREDICATE_TYPE_ANNOTATION} \
                     annotation says {}",
                    keyless::untrusted_text(&statement.predicate_type),
                    keyless::untrusted_text(annotated)
                ),
            }));
        }
    }
    let describes = entry.describes.hex();
    let named: Vec<&str> = statement
        .subject
        .iter()
        .filter_map(|s| s.digest.as_ref()?.get("sha256"))
        .collect();
    if !named.contains(&describes.as_str()) {
        let shown: Vec<String> = named
            .iter()
            .take(4)
            .map(|d| {
                format!("sha256:{d}")
                    .parse::<Sha256Digest>()
                    .map(|d| d.to_string())
                    .unwrap_or_else(|_| keyless::untrusted_text(d))
            })
            .collect();
        let found = match (shown.is_empty(), named.len() > shown.len()) {
            (true, _) => "no sha256 digest".to_owned(),
            (false, false) => shown.join(", "),
            (false, true) => format!("{}, … ({} in all)", shown.join(", "), named.len()),
        };
        return Err(in_layer(Error::SubjectMismatch {
            expected: entry.describes,
            found,
        }));
    }
    Ok(UnsignedStatement {
        statement,
        describes: entry.describes,
        attestation_manifest: entry.descriptor.digest,
        layer: layer.digest,
    })
}
