//! cosign's `.att` and `.sig` layouts, signed for real against the loopback
//! testbed (Fulcio, Rekor v1, CT log) and laid out as cosign lays them out
//! (`testdata/oci/README.md`): each layer verifies, and each check is broken
//! by a validly signed input that must fail.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
#![allow(clippy::expect_used, reason = "a test fails by panicking")]
#![allow(clippy::panic, reason = "a test fails by panicking")]
#![allow(clippy::indexing_slicing, reason = "a test fails by panicking")]

mod common;

use common::Cosign;
use keyless::{error_chain, Policy};
use oci::cosign::{self, Error, Sha256Digest};

fn image(n: u8) -> Sha256Digest {
    Sha256Digest::of(format!("image manifest {n}").as_bytes())
}

/// `result` must be a verification failure (exit 1) whose message, with
/// its sources, names each of `needles`.
fn fails_with<T: std::fmt::Debug>(result: Result<T, Error>, needles: &[&str]) {
    let err = result.expect_err("verified");
    assert!(err.is_verification_failure(), "not a failure: {err}");
    let text = error_chain(&err);
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} not in: {text}");
    }
}

#[test]
fn a_keyless_attestation_layer_verifies_and_returns_its_statement() {
    let cosign = Cosign::start();
    let att = cosign.keyless_attestation("alice@example.com", &image(1));
    // Through the manifest as the registry serves it.
    let manifest = cosign::read_manifest(&att.manifest()).unwrap();
    assert_eq!(manifest.layers.len(), 1);
    let verified = cosign::verify_attestation_layer(
        &cosign.verifier,
        &image(1),
        &manifest.layers[0],
        &att.blob,
        &cosign.alice(),
    )
    .unwrap();
    assert_eq!(
        verified.verified().identity.as_deref(),
        Some("alice@example.com")
    );
    assert!(verified.verified().tlog_verified);
    let statement = verified.statement().unwrap();
    assert_eq!(statement.predicate_type, common::PREDICATE_TYPE);
    assert_eq!(
        statement.subject[0].digest.as_ref().unwrap().get("sha256"),
        Some(image(1).hex().as_str())
    );
}

#[test]
fn a_keyless_signature_layer_verifies_for_the_image_it_names() {
    let cosign = Cosign::start();
    let sig = cosign.keyless_signature("alice@example.com", &image(1));
    let manifest = cosign::read_manifest(&sig.manifest()).unwrap();
    let verified = cosign::verify_signature_layer(
        &cosign.verifier,
        &image(1),
        &manifest.layers[0],
        &sig.blob,
        &cosign.alice(),
    )
    .unwrap();
    assert_eq!(verified.image(), &image(1));
    assert_eq!(verified.docker_reference(), common::REPOSITORY);
    assert_eq!(
        verified.verified().identity.as_deref(),
        Some("alice@example.com")
    );
}

#[test]
fn a_simple_signing_payload_naming_another_digest_fails_naming_both() {
    let cosign = Cosign::start();
    // A valid signature, logged, over a payload for image 2.
    let sig = cosign.keyless_signature("alice@example.com", &image(2));
    let err = cosign
        .verify_signature(&sig, &image(1), &cosign.alice())
        .unwrap_err();
    assert!(err.is_verification_failure());
    let Error::Layer { source, .. } = &err else {
        panic!("{err}")
    };
    match source.as_ref() {
        Error::ImageMismatch { expected, found } => {
            assert_eq!(expected, &image(1));
            assert_eq!(found, &image(2).to_string());
        }
        other => panic!("{other}"),
    }
    let text = error_chain(&err);
    assert!(
        text.contains(&image(1).to_string()) && text.contains(&image(2).to_string()),
        "{text}"
    );
}

/// A validly signed payload that is not what cosign writes: the keys in
/// another case (Go's decoder would read them), another `critical.type`.
/// Refused as malformed, not verified.
#[test]
fn a_signed_payload_cosign_would_not_write_is_malformed() {
    let cosign = Cosign::start();
    let digest = image(1).to_string();
    let payloads = [
        (
            serde_json::json!({"critical": {"identity": {"docker-reference": common::REPOSITORY},
                "image": {"Docker-manifest-digest": digest}, "type": cosign::SIMPLE_SIGNING_TYPE},
                "optional": null}),
            "Docker-manifest-digest",
        ),
        (
            serde_json::json!({"critical": {"identity": {"docker-reference": common::REPOSITORY},
                "image": {"docker-manifest-digest": digest}, "type": "atomic container signature"},
                "optional": null}),
            "atomic container signature",
        ),
    ];
    for (payload, why) in payloads {
        let sig =
            cosign.keyless_signature_of("alice@example.com", payload.to_string().into_bytes());
        let err = cosign
            .verify_signature(&sig, &image(1), &cosign.alice())
            .unwrap_err();
        assert!(!err.is_verification_failure(), "{err}");
        assert!(error_chain(&err).contains(why), "{}", error_chain(&err));
    }
}

#[test]
fn an_attestation_about_another_image_fails() {
    let cosign = Cosign::start();
    let att = cosign.keyless_attestation("alice@example.com", &image(2));
    fails_with(
        cosign.verify_attestation(&att, &image(1), &cosign.alice()),
        &["does not match any subject"],
    );
}

#[test]
fn a_certificate_of_another_identity_fails_the_identity_policy() {
    let cosign = Cosign::start();
    let att = cosign.keyless_attestation("mallory@example.com", &image(1));
    fails_with(
        cosign.verify_attestation(&att, &image(1), &cosign.alice()),
        &["identity mismatch", "mallory@example.com"],
    );
    let sig = cosign.keyless_signature("mallory@example.com", &image(1));
    fails_with(
        cosign.verify_signature(&sig, &image(1), &cosign.alice()),
        &["identity mismatch"],
    );
}

#[test]
fn a_set_over_another_body_fails() {
    let cosign = Cosign::start();
    let a = cosign.keyless_attestation("alice@example.com", &image(1));
    let b = cosign.keyless_attestation("alice@example.com", &image(1));
    // A's SET beside B's (logged, valid) body: the SET does not verify.
    let mut set_a_body_b = a.rekor_bundle.clone();
    set_a_body_b["Payload"]["body"] = b.rekor_bundle["Payload"]["body"].clone();
    let forged = a.with_rekor_bundle(&set_a_body_b);
    fails_with(
        cosign.verify_attestation(&forged, &image(1), &cosign.alice()),
        &["SET verification failed"],
    );
    // B's whole entry (a valid SET over B's body) beside A's envelope and
    // certificate: the logged body is not A's.
    let forged = a.with_rekor_bundle(&b.rekor_bundle);
    fails_with(
        cosign.verify_attestation(&forged, &image(1), &cosign.alice()),
        &["log entry does not match the bundle"],
    );
    // The same for signatures: B's logged hashedrekord beside A's signature.
    let a = cosign.keyless_signature("alice@example.com", &image(1));
    let b = cosign.keyless_signature("alice@example.com", &image(1));
    let forged = a.with_rekor_bundle(&b.rekor_bundle);
    fails_with(
        cosign.verify_signature(&forged, &image(1), &cosign.alice()),
        &["log entry does not match the bundle"],
    );
}

#[test]
fn a_swapped_envelope_fails() {
    let cosign = Cosign::start();
    let a = cosign.keyless_attestation("alice@example.com", &image(1));
    let b = cosign.keyless_attestation("alice@example.com", &image(1));
    // B's envelope (validly signed, by B's key) under A's annotations, the
    // descriptor naming B's blob so that the blob check passes.
    let swapped = a.with_blob(&b.blob);
    fails_with(
        cosign.verify_attestation(&swapped, &image(1), &cosign.alice()),
        &["DSSE signature verification failed"],
    );
    // B's envelope under A's descriptor: the blob is not the descriptor's.
    let mut mislabelled = b.clone();
    mislabelled.descriptor = a.descriptor.clone();
    fails_with(
        cosign.verify_attestation(&mislabelled, &image(1), &cosign.alice()),
        &["blob mismatch"],
    );
    // A signature payload swapped for another image's, validly signed.
    let a = cosign.keyless_signature("alice@example.com", &image(1));
    let b = cosign.keyless_signature("alice@example.com", &image(2));
    let swapped = a.with_blob(&b.blob);
    fails_with(
        cosign.verify_signature(&swapped, &image(2), &cosign.alice()),
        &["invalid signature"],
    );
}

#[test]
fn key_signed_layers_verify_with_their_key_only() {
    let cosign = Cosign::start();
    let key = common::Key::random();
    let att = cosign.key_attestation(&key, &image(1));
    let sig = cosign.key_signature(&key, &image(1));
    let policy = Policy::Key { pem: key.pem() };
    let verified = cosign.verify_attestation(&att, &image(1), &policy).unwrap();
    assert_eq!(verified.verified().identity, None);
    assert!(verified.verified().tlog_verified);
    cosign.verify_signature(&sig, &image(1), &policy).unwrap();
    // Another key.
    let other = Policy::Key {
        pem: common::Key::random().pem(),
    };
    fails_with(
        cosign.verify_attestation(&att, &image(1), &other),
        &["DSSE signature verification failed"],
    );
    fails_with(
        cosign.verify_signature(&sig, &image(1), &other),
        &["invalid signature"],
    );
    // An identity policy: there is no certificate to check.
    let err = cosign
        .verify_attestation(&att, &image(1), &cosign.alice())
        .unwrap_err();
    assert!(!err.is_verification_failure(), "{err}");
    assert!(error_chain(&err).contains("signed with a key"), "{err}");
}

#[test]
fn a_keyless_layer_verified_with_a_key_policy_needs_that_key() {
    let cosign = Cosign::start();
    let att = cosign.keyless_attestation("alice@example.com", &image(1));
    let policy = Policy::Key {
        pem: common::Key::random().pem(),
    };
    fails_with(
        cosign.verify_attestation(&att, &image(1), &policy),
        &["DSSE signature verification failed"],
    );
}

#[test]
fn a_layer_read_as_the_other_kind_is_refused() {
    let cosign = Cosign::start();
    let att = cosign.keyless_attestation("alice@example.com", &image(1));
    let err = cosign
        .verify_signature(&att, &image(1), &cosign.alice())
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
}

/// The committed fixtures (`testdata/oci/cosign/`) verify against their
/// committed trusted root, with the verdicts their README states.
#[test]
fn committed_fixtures_verify_as_documented() {
    common::check_committed_fixtures();
}

/// Regenerates `testdata/oci/cosign/` from a fresh testbed:
/// `cargo test -p toto-oci --test cosign -- --ignored regenerate_fixtures`.
#[test]
#[ignore = "writes testdata/oci/cosign/"]
fn regenerate_fixtures() {
    common::write_fixtures();
}

/// Interop: sigstore-js (`@sigstore/verify`, the peer script) verifies the
/// bundles toto makes from cosign's layers (a keyless signature over its
/// payload, a keyless attestation), against the testbed's trusted root, for
/// the identity that signed, and refuses them for another identity.
/// (sigstore-python cannot be the peer: it requires an inclusion proof,
/// which cosign's layout never carries.)
#[test]
fn sigstore_js_verifies_the_bundles_made_from_cosign_layers() {
    let Some(script) = testkit::peer(
        "TOTO_NODE_PEER",
        "the sigstore-js peer script",
        "sigstore_js_verifies_the_bundles_made_from_cosign_layers",
    ) else {
        return;
    };
    let cosign = Cosign::start();
    let dir = tempfile::tempdir().unwrap();
    let sig = cosign.keyless_signature("alice@example.com", &image(1));
    let att = cosign.keyless_attestation("alice@example.com", &image(1));
    // The signature's artifact is its payload; the attestation's, the image
    // manifest whose digest image(1) is.
    let payload = dir.path().join("payload.json");
    std::fs::write(&payload, &sig.blob).unwrap();
    let manifest = dir.path().join("manifest.json");
    std::fs::write(&manifest, "image manifest 1").unwrap();
    // And a forgery: the attestation's SET beside another logged body.
    let other = cosign.keyless_attestation("alice@example.com", &image(1));
    let mut forged_entry = att.rekor_bundle.clone();
    forged_entry["Payload"]["body"] = other.rekor_bundle["Payload"]["body"].clone();
    let forged = att.with_rekor_bundle(&forged_entry);
    for (layer, artifact, name, genuine) in [
        (&sig, &payload, "sig", true),
        (&att, &manifest, "att", true),
        (&forged, &manifest, "forged", false),
    ] {
        let bundle = cosign::layer_bundle(
            &layer.descriptor,
            &layer.blob,
            cosign::Material::Certificate,
        )
        .unwrap();
        let path = dir.path().join(format!("{name}.sigstore.json"));
        std::fs::write(&path, bundle).unwrap();
        for (identity, verifies) in [
            ("alice@example.com", genuine),
            ("mallory@example.com", false),
        ] {
            let out = std::process::Command::new("node")
                .arg(&script)
                .arg(cosign.tb.trusted_root_path())
                .arg(&path)
                .arg(artifact)
                .args([identity, cosign.tb.issuer()])
                .output()
                .unwrap();
            assert_eq!(
                out.status.success(),
                verifies,
                "{name} as {identity}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if name == "forged" {
                let said = String::from_utf8_lossy(&out.stderr);
                assert!(said.contains("inclusion promise"), "{said}");
            }
        }
    }
}
