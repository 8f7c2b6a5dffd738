//! BuildKit's attestation manifests, from an OCI image layout built to
//! BuildKit's documented format (`testdata/oci/buildkit/`, see
//! `testdata/oci/README.md`): read as unsigned Statements tied to the image
//! manifest each describes; each rule broken by an input that must be
//! refused or ignored.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
#![allow(clippy::expect_used, reason = "a test fails by panicking")]
#![allow(clippy::panic, reason = "a test fails by panicking")]
#![allow(clippy::indexing_slicing, reason = "a test fails by panicking")]

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci::buildkit::{self, AttestationManifest, Descriptor, Error, Sha256Digest};
use oci::cosign::{read_index, read_manifest};
use serde_json::{json, Value};

const REPOSITORY: &str = "registry.example/team/app";
const PROVENANCE: &str = "https://slsa.dev/provenance/v0.2";
const SBOM: &str = "https://spdx.dev/Document";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

fn layout_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/oci/buildkit")
}

/// An OCI image layout being written: blobs by digest.
#[derive(Default)]
struct Layout {
    blobs: BTreeMap<Sha256Digest, Vec<u8>>,
}

impl Layout {
    fn add(&mut self, media_type: &str, bytes: Vec<u8>, extra: Value) -> Value {
        let digest = Sha256Digest::of(&bytes);
        let mut descriptor = json!({
            "mediaType": media_type,
            "digest": digest.to_string(),
            "size": bytes.len(),
        });
        for (k, v) in extra.as_object().unwrap() {
            descriptor[k] = v.clone();
        }
        self.blobs.insert(digest, bytes);
        descriptor
    }

    fn add_json(&mut self, media_type: &str, value: &Value, extra: Value) -> Value {
        self.add(media_type, value.to_string().into_bytes(), extra)
    }
}

fn platform(os: &str, architecture: &str) -> Value {
    json!({"architecture": architecture, "os": os})
}

/// A Statement as BuildKit writes them (Statement v0.1), about the image
/// manifest whose digest is `manifest` (`sha256:…`).
fn statement(
    predicate_type: &str,
    platform: &str,
    manifest: &impl std::fmt::Display,
    predicate: Value,
) -> Value {
    let manifest = manifest.to_string();
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate_type,
        "subject": [{
            "name": format!("pkg:docker/{REPOSITORY}@latest?platform={}", platform.replace('/', "%2F")),
            "digest": {"sha256": manifest.trim_start_matches("sha256:")},
        }],
        "predicate": predicate,
    })
}

/// The layout BuildKit's docs describe: a two-platform image index, after
/// the image manifests one attestation manifest per platform (provenance
/// and SBOM), each layer annotated with its predicate type.
fn build_layout() -> (Layout, Value) {
    let mut layout = Layout::default();
    let mut manifests = Vec::new();
    let mut attestations = Vec::new();
    for (os, arch) in [("linux", "amd64"), ("linux", "arm64")] {
        let config = json!({
            "architecture": arch, "os": os, "config": {},
            "rootfs": {"type": "layers", "diff_ids": []},
        });
        let config = layout.add_json(OCI_CONFIG, &config, json!({}));
        let image = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [],
        });
        let image = layout.add_json(
            OCI_MANIFEST,
            &image,
            json!({"platform": platform(os, arch)}),
        );
        let image_digest = image["digest"].as_str().unwrap().to_owned();
        let platform_name = format!("{os}/{arch}");
        let provenance = statement(
            PROVENANCE,
            &platform_name,
            &image_digest,
            json!({"builder": {"id": ""}, "buildType": "https://mobyproject.org/buildkit@v1"}),
        );
        let sbom = statement(
            SBOM,
            &platform_name,
            &image_digest,
            json!({"SPDXID": "SPDXRef-DOCUMENT", "spdxVersion": "SPDX-2.3"}),
        );
        let mut layers = Vec::new();
        for s in [&provenance, &sbom] {
            layers.push(layout.add_json(
                buildkit::IN_TOTO_LAYER,
                s,
                json!({"annotations": {buildkit::PREDICATE_TYPE_ANNOTATION: s["predicateType"]}}),
            ));
        }
        let diff_ids: Vec<Value> = layers.iter().map(|l| l["digest"].clone()).collect();
        let config = json!({
            "architecture": "unknown", "os": "unknown", "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        let config = layout.add_json(OCI_CONFIG, &config, json!({}));
        let attestation = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers,
        });
        attestations.push(layout.add_json(
            OCI_MANIFEST,
            &attestation,
            json!({
                "annotations": {
                    buildkit::REFERENCE_DIGEST: image_digest,
                    buildkit::REFERENCE_TYPE: buildkit::ATTESTATION_MANIFEST,
                },
                "platform": platform("unknown", "unknown"),
            }),
        ));
        manifests.push(image);
    }
    manifests.extend(attestations);
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    (layout, index)
}

/// Reads the committed layout: its index and blobs.
fn committed() -> (oci::cosign::Index, BTreeMap<Sha256Digest, Vec<u8>>) {
    let dir = layout_dir();
    let outer = read_index(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let mut blobs = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("blobs/sha256")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let digest = Sha256Digest::of(&bytes);
        assert_eq!(
            digest.hex(),
            path.file_name().unwrap().to_str().unwrap(),
            "blob named after its digest"
        );
        blobs.insert(digest, bytes);
    }
    // The layout's index.json points at the image index.
    let index = read_index(&blobs[&outer.manifests[0].digest]).unwrap();
    (index, blobs)
}

#[test]
#[ignore = "writes testdata/oci/buildkit/"]
fn regenerate_fixtures() {
    let (mut layout, index) = build_layout();
    let dir = layout_dir();
    let blobs = dir.join("blobs/sha256");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&blobs).unwrap();
    let index = layout.add_json(
        "application/vnd.oci.image.index.v1+json",
        &index,
        json!({"annotations": {"org.opencontainers.image.ref.name": "latest"}}),
    );
    for (digest, bytes) in &layout.blobs {
        std::fs::write(blobs.join(digest.hex()), bytes).unwrap();
    }
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let outer = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [index]});
    std::fs::write(dir.join("index.json"), format!("{outer:#}\n")).unwrap();
}

#[test]
fn the_committed_layout_reads_as_unsigned_statements_tied_to_each_platform() {
    let (index, blobs) = committed();
    let entries = buildkit::attestation_manifests(&index).unwrap();
    assert_eq!(entries.len(), 2);
    let mut seen = Vec::new();
    for entry in &entries {
        let image = index
            .manifests
            .iter()
            .find(|m| m.digest == entry.describes)
            .unwrap();
        assert_eq!(entry.platform, image.platform);
        let layers = buildkit::statement_layers(entry, &blobs[&entry.descriptor.digest]).unwrap();
        assert_eq!(layers.len(), 2);
        for layer in &layers {
            let unsigned = buildkit::read_statement(entry, layer, &blobs[&layer.digest]).unwrap();
            assert!(!unsigned.is_signed());
            assert_eq!(unsigned.describes(), &entry.describes);
            assert_eq!(unsigned.attestation_manifest(), &entry.descriptor.digest);
            seen.push((
                entry.platform.clone().unwrap(),
                unsigned.statement().predicate_type.clone(),
            ));
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("linux/amd64".to_owned(), PROVENANCE.to_owned()),
            ("linux/amd64".to_owned(), SBOM.to_owned()),
            ("linux/arm64".to_owned(), PROVENANCE.to_owned()),
            ("linux/arm64".to_owned(), SBOM.to_owned()),
        ]
    );
}

/// The layout built afresh, read: entries, and for the first, its layers.
fn fresh() -> (
    Layout,
    oci::cosign::Index,
    Vec<AttestationManifest>,
    Vec<Descriptor>,
) {
    let (layout, index) = build_layout();
    let index = read_index(index.to_string().as_bytes()).unwrap();
    let entries = buildkit::attestation_manifests(&index).unwrap();
    let layers =
        buildkit::statement_layers(&entries[0], &layout.blobs[&entries[0].descriptor.digest])
            .unwrap();
    (layout, index, entries, layers)
}

/// A layer descriptor for `blob`, annotated with `predicate_type`.
fn layer_for(blob: &[u8], predicate_type: &str) -> Descriptor {
    Descriptor {
        media_type: buildkit::IN_TOTO_LAYER.into(),
        digest: Sha256Digest::of(blob),
        size: blob.len() as u64,
        annotations: [(
            buildkit::PREDICATE_TYPE_ANNOTATION.to_owned(),
            predicate_type.to_owned(),
        )]
        .into(),
        platform: None,
    }
}

/// `blob` read as a layer of `entry` annotated with `predicate_type`.
fn read_as(
    entry: &AttestationManifest,
    blob: &str,
    predicate_type: &str,
) -> Result<buildkit::UnsignedStatement, Error> {
    let layer = layer_for(blob.as_bytes(), predicate_type);
    buildkit::read_statement(entry, &layer, blob.as_bytes())
}

fn source(err: Error) -> Error {
    match err {
        Error::Layer { source, .. } => *source,
        other => panic!("not about a layer: {other}"),
    }
}

#[test]
fn a_statement_about_the_other_platform_is_refused_naming_both() {
    let (_, _, entries, _) = fresh();
    let other = entries[1].describes.to_string();
    let blob = statement(PROVENANCE, "linux/arm64", &other, json!({})).to_string();
    let err = read_as(&entries[0], &blob, PROVENANCE).unwrap_err();
    assert!(err.is_verification_failure());
    match source(err) {
        Error::SubjectMismatch { expected, found } => {
            assert_eq!(expected, entries[0].describes);
            assert_eq!(found, other);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_predicate_type_other_than_the_annotation_is_refused() {
    let (_, _, entries, _) = fresh();
    let blob = statement(SBOM, "linux/amd64", &entries[0].describes, json!({})).to_string();
    let err = read_as(&entries[0], &blob, PROVENANCE).unwrap_err();
    match source(err) {
        Error::Malformed { reason, .. } => {
            assert!(
                reason.contains(SBOM) && reason.contains(PROVENANCE),
                "{reason}"
            )
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_blob_other_than_the_descriptors_is_refused() {
    let (layout, _, entries, layers) = fresh();
    // The second layer's blob under the first layer's descriptor.
    let err = buildkit::read_statement(&entries[0], &layers[0], &layout.blobs[&layers[1].digest])
        .unwrap_err();
    assert!(matches!(source(err), Error::BlobMismatch { .. }));
    // Another attestation manifest than the index names.
    let err = buildkit::statement_layers(&entries[0], &layout.blobs[&entries[1].descriptor.digest])
        .unwrap_err();
    assert!(matches!(err, Error::BlobMismatch { .. }), "{err}");
}

#[test]
fn a_layer_that_is_not_a_statement_is_malformed() {
    let (_, _, entries, _) = fresh();
    for blob in [
        r#"{"payloadType":"application/vnd.in-toto+json","payload":"","signatures":[]}"#.to_owned(),
        r#"{"_type":"https://in-toto.io/Statement/v1","_type":"x"}"#.to_owned(),
    ] {
        let err = read_as(&entries[0], &blob, PROVENANCE).unwrap_err();
        assert!(!err.is_verification_failure(), "{err}");
        assert!(matches!(source(err), Error::Malformed { .. }));
    }
}

#[test]
fn other_reference_types_and_layer_media_types_are_ignored() {
    let (mut layout, index) = build_layout();
    let mut index = index;
    // An entry of another reference type, and an attestation manifest with
    // a layer of an unknown media type.
    let unknown = layout.add("application/vnd.example+json", b"{}".to_vec(), json!({}));
    let config = layout.add_json(OCI_CONFIG, &json!({}), json!({}));
    let first = index["manifests"][0]["digest"].clone();
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [unknown]});
    let entry = layout.add_json(
        OCI_MANIFEST,
        &manifest,
        json!({"annotations": {
            buildkit::REFERENCE_TYPE: "something-else", buildkit::REFERENCE_DIGEST: first,
        }}),
    );
    let also = layout.add_json(OCI_MANIFEST, &manifest, json!({"annotations": {
        buildkit::REFERENCE_TYPE: buildkit::ATTESTATION_MANIFEST, buildkit::REFERENCE_DIGEST: first,
    }}));
    index["manifests"].as_array_mut().unwrap().push(entry);
    index["manifests"].as_array_mut().unwrap().push(also);
    let index = read_index(index.to_string().as_bytes()).unwrap();
    let entries = buildkit::attestation_manifests(&index).unwrap();
    assert_eq!(entries.len(), 3, "the other reference type is not one");
    let layers = buildkit::statement_layers(&entries[2], manifest.to_string().as_bytes()).unwrap();
    assert!(layers.is_empty(), "{layers:?}");
    // read_statement refuses such a layer outright.
    let err = buildkit::read_statement(
        &entries[2],
        &read_manifest(manifest.to_string().as_bytes())
            .unwrap()
            .layers[0],
        b"{}",
    )
    .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
}

#[test]
fn an_attestation_manifest_describing_nothing_in_the_index_is_malformed() {
    let (_, index) = build_layout();
    for (digest, why) in [
        (
            json!(Sha256Digest::of(b"elsewhere").to_string()),
            "not an image manifest of this index",
        ),
        (json!("sha256:short"), "vnd.docker.reference.digest"),
        (Value::Null, "no vnd.docker.reference.digest"),
    ] {
        let mut index = index.clone();
        let annotations = &mut index["manifests"][2]["annotations"];
        match digest {
            Value::Null => {
                annotations
                    .as_object_mut()
                    .unwrap()
                    .remove(buildkit::REFERENCE_DIGEST);
            }
            digest => annotations[buildkit::REFERENCE_DIGEST] = digest,
        }
        let index = read_index(index.to_string().as_bytes()).unwrap();
        match buildkit::attestation_manifests(&index) {
            Err(Error::Malformed { reason, .. }) => assert!(reason.contains(why), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
