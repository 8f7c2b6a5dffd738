//! The reference's links and layouts through toto's model.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
#![allow(clippy::expect_used, reason = "a test fails by panicking")]
#![allow(clippy::panic, reason = "a test fails by panicking")]
#![allow(clippy::indexing_slicing, reason = "a test fails by panicking")]

use std::fs;
use std::path::PathBuf;

use attest::{Encoding, Link, SignedDocument};
use dsse::{cjson, Limits, PublicKey};
use testkit::vectors;

/// Every link file the reference wrote, with the directory it is in.
fn reference_links() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [
        "",
        "recording",
        "demo_metablock_good",
        "demo_dsse_good",
        "demo_metablock_tampered",
        "demo_dsse_tampered",
        "upstream_demo_files",
        "upstream_demo_dsse_files",
    ] {
        for entry in fs::read_dir(vectors().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "link") {
                out.push(path);
            }
        }
    }
    assert!(
        out.len() >= 30,
        "expected the reference's links, found {}",
        out.len()
    );
    out
}

#[test]
fn reference_links_round_trip_through_the_model_in_canonical_form() {
    for path in reference_links() {
        let bytes = fs::read(&path).unwrap();
        let doc = SignedDocument::from_json(&bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_ne!(doc.encoding(), Encoding::Statement, "{}", path.display());
        let link = Link::from_payload(doc.payload().clone())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            cjson::to_canonical(&link.to_classic()).unwrap(),
            cjson::to_canonical(doc.payload()).unwrap(),
            "{}",
            path.display()
        );
        // Through Statement v1 + link v0.3 and back.
        let statement = link.to_statement().to_value();
        let again = Link::from_payload(statement).unwrap();
        assert_eq!(again, link, "{}", path.display());
        // What in-toto 3.1 wrote re-serializes byte for byte (the upstream
        // files come from older versions with other whitespace).
        if !path.to_string_lossy().contains("upstream_") {
            assert!(
                doc.to_json() == bytes,
                "{} does not re-serialize",
                path.display()
            );
        }
    }
}

#[test]
fn reference_links_verify_by_their_functionary_keys() {
    let dicts: serde_json::Value =
        serde_json::from_slice(&fs::read(vectors().join("keys/key_dicts.json")).unwrap()).unwrap();
    let keys: Vec<PublicKey> = dicts
        .as_object()
        .unwrap()
        .values()
        .map(|d| PublicKey::from_key_dict(d).unwrap())
        .collect();
    let verifiers: Vec<&dyn dsse::KeyedVerifier> =
        keys.iter().map(|k| k as &dyn dsse::KeyedVerifier).collect();
    let mut checked = 0;
    for path in reference_links() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("step-")
            || name.starts_with("dsse-")
            || path.parent().unwrap().ends_with("recording"))
        {
            continue;
        }
        let doc = SignedDocument::from_json(&fs::read(&path).unwrap(), &Limits::default()).unwrap();
        let verified = doc
            .verify(&verifiers, 1)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let short = name.split('.').nth(1).unwrap();
        assert!(verified.identities[0].starts_with(short), "{name}");
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}

#[test]
fn toto_signs_all_three_encodings() {
    let key = dsse::PrivateKey::generate(dsse::KeyKind::Ed25519).unwrap();
    let doc = SignedDocument::from_json(
        &fs::read(vectors().join("step-p256.a39bd120.link")).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let link = Link::from_payload(doc.payload().clone()).unwrap();
    for (encoding, payload) in [
        (Encoding::Metablock, link.to_classic()),
        (Encoding::Dsse, link.to_classic()),
        (Encoding::Statement, link.to_statement().to_value()),
    ] {
        let mut doc = SignedDocument::new(payload, encoding).unwrap();
        doc.add_signature(&key).unwrap();
        let parsed = SignedDocument::from_json(&doc.to_json(), &Limits::default()).unwrap();
        assert_eq!(parsed.encoding(), encoding);
        parsed.verify(&[key.public_key()], 1).unwrap();
        assert_eq!(Link::from_payload(parsed.payload().clone()).unwrap(), link);
    }
}

/// in-toto-golang's `demo.layout` (testdata/peers/in-toto-golang) carries
/// ITE-7 X.509 material: `rootcas`, `intermediatecas` and a step's
/// `cert_constraints`. The model keeps it as signed and writes it back.
#[test]
fn ite7_fields_of_in_toto_golangs_demo_layout_are_kept() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/peers/in-toto-golang/demo.layout");
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    let signed = &doc["signed"];
    let layout = attest::layout::Layout::from_value(signed.clone()).unwrap();
    assert_eq!(layout.rootcas.len(), 1);
    assert_eq!(layout.intermediatecas.len(), 1);
    assert_eq!(layout.steps[0].cert_constraints.len(), 1);
    assert!(layout.steps[1].cert_constraints.is_empty());
    let written = layout.to_value();
    for field in ["rootcas", "intermediatecas"] {
        assert_eq!(written[field], signed[field], "{field}");
    }
    assert_eq!(
        written["steps"][0]["cert_constraints"],
        signed["steps"][0]["cert_constraints"]
    );
    assert!(written["steps"][1].get("cert_constraints").is_none());
}
