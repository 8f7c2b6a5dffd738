//! The layouts tools attach to images (`oci::cosign`, `oci::buildkit`) and
//! slsa-github-generator's legacy envelope (`keyless::legacy`) on arbitrary
//! bytes: reading never panics; a cosign layer converts only into a strict
//! bundle v0.1 that never verifies against the public-good root (nothing
//! random is signed by it); a BuildKit Statement read is unsigned and names
//! the manifest it describes.
//!
//! Input: the bytes as an OCI manifest, an index and a legacy envelope; and
//! split at the first newline, a JSON object of annotations and a blob, as
//! a cosign layer of each kind and a BuildKit layer.
#![no_main]

use std::collections::BTreeMap;

use keyless::{Artifact, Policy};
use libfuzzer_sys::fuzz_target;
use oci::buildkit::{self, AttestationManifest};
use oci::cosign::{self, Descriptor, Material, Sha256Digest};

mod common;
use common::public_good_verifier as verifier;

fn descriptor(media_type: &str, blob: &[u8], annotations: &BTreeMap<String, String>) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: Sha256Digest::of(blob),
        size: blob.len() as u64,
        annotations: annotations.clone(),
        platform: None,
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = cosign::read_manifest(data) {
        assert!(manifest.layers.len() <= cosign::manifest::MAX_LAYERS);
    }
    if let Ok(index) = cosign::read_index(data) {
        if let Ok(entries) = buildkit::attestation_manifests(&index) {
            for entry in entries {
                assert!(index.manifests.iter().any(|m| m.digest == entry.describes));
            }
        }
    }
    if keyless::legacy::read(data).is_ok() {
        assert!(keyless::legacy::is_legacy_envelope(data));
    }

    let (head, blob) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(annotations) = serde_json::from_slice::<BTreeMap<String, String>>(head) else {
        return;
    };
    let policy = Policy::Identity {
        identity: "fuzz@example.com".into(),
        issuer: "https://example.com".into(),
    };
    let image = Sha256Digest::of(b"image");
    for media_type in [cosign::DSSE_LAYER_MEDIA_TYPE, cosign::SIMPLE_SIGNING_MEDIA_TYPE] {
        let layer = descriptor(media_type, blob, &annotations);
        for material in [Material::Certificate, Material::PublicKey] {
            let Ok(bundle) = cosign::layer_bundle(&layer, blob, material) else {
                continue;
            };
            let value: serde_json::Value = serde_json::from_slice(&bundle).expect("bundle is JSON");
            assert_eq!(value["mediaType"], cosign::BUNDLE_V01);
            if material == Material::Certificate {
                assert!(verifier().verify(&bundle, Artifact::Bytes(blob), &policy).is_err());
            }
        }
        assert!(
            cosign::verify_attestation_layer(verifier(), &image, &layer, blob, &policy).is_err()
        );
        assert!(cosign::verify_signature_layer(verifier(), &image, &layer, blob, &policy).is_err());
    }
    let entry = AttestationManifest {
        descriptor: descriptor("application/vnd.oci.image.manifest.v1+json", head, &BTreeMap::new()),
        describes: image,
        platform: None,
    };
    let layer = descriptor(buildkit::IN_TOTO_LAYER, blob, &annotations);
    if let Ok(statement) = buildkit::read_statement(&entry, &layer, blob) {
        assert!(!statement.is_signed());
        assert_eq!(statement.describes(), &image);
    }
});
