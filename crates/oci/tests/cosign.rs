//! cosign's `.att` and `.sig` layouts, signed for real against the loopback
//! testbed (Fulcio, Rekor v1, CT log) and laid out as cosign lays them out
//! (`testdata/oci/README.md`): each layer verifies, and each check is broken
//! by a validly signed input that must fail.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
#![allow(clippy::expect_used, reason = "a test fails by panicking")]
#![allow(clippy::panic, reason = "a test fails by panicking")]
#![allow(clippy::indexing_slicing, reason = "a test fails by panicking")]

mod common;

use common::{Cosign, Layer};
use keyless::{error_chain, Policy};
use oci::cosign::{self, Error, Sha256Digest};

fn image(n: u8) -> Sha256Digest {
    Sha256Digest::of(format!("image manifest {n}").as_bytes())
}

/// The signer of the fixtures.
const ALICE: &str = "alice@example.com";

/// `result` (of `case`) must be a verification failure (exit 1) whose
/// message, with its sources, names each of `needles`.
#[track_caller]
fn fails_with<T: std::fmt::Debug>(case: &str, result: Result<T, Error>, needles: &[&str]) {
    let err = result.expect_err(case);
    assert!(
        err.is_verification_failure(),
        "{case}: not a failure: {err}"
    );
    let text = error_chain(&err);
    for needle in needles {
        assert!(text.contains(needle), "{case}: {needle:?} not in: {text}");
    }
}

/// `layer` as the registry serves it: its descriptor read back from its
/// manifest.
fn served(layer: &Layer) -> Layer {
    let manifest = cosign::read_manifest(&layer.manifest()).unwrap();
    let [descriptor] = &manifest.layers[..] else {
        panic!("one layer: {:?}", manifest.layers);
    };
    let mut served = layer.clone();
    served.descriptor = descriptor.clone();
    served
}

/// Keyless layers, through their manifests as the registry serves them:
/// an attestation layer verifies and returns its Statement (and read as a
/// signature is refused as unsupported); a signature layer verifies for the
/// image it names.
#[test]
fn keyless_layers_verify_through_their_manifests() {
    let cosign = Cosign::start();
    let att = served(&cosign.keyless_attestation(ALICE, &image(1)));
    let verified = cosign
        .verify_attestation(&att, &image(1), &cosign.alice())
        .unwrap();
    assert_eq!(verified.verified().identity.as_deref(), Some(ALICE));
    assert!(verified.verified().tlog_verified);
    let statement = verified.statement().unwrap();
    assert_eq!(statement.predicate_type, common::PREDICATE_TYPE);
    assert_eq!(
        statement.subject[0].digest.as_ref().unwrap().get("sha256"),
        Some(image(1).hex().as_str())
    );
    let err = cosign
        .verify_signature(&att, &image(1), &cosign.alice())
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");

    let sig = served(&cosign.keyless_signature(ALICE, &image(1)));
    let verified = cosign
        .verify_signature(&sig, &image(1), &cosign.alice())
        .unwrap();
    assert_eq!(verified.image(), &image(1));
    assert_eq!(verified.docker_reference(), common::REPOSITORY);
    assert_eq!(verified.verified().identity.as_deref(), Some(ALICE));
}

#[test]
fn a_simple_signing_payload_naming_another_digest_fails_naming_both() {
    let cosign = Cosign::start();
    // A valid signature, logged, over a payload for image 2.
    let sig = cosign.keyless_signature(ALICE, &image(2));
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
        let sig = cosign.keyless_signature_of(ALICE, payload.to_string().into_bytes());
        let err = cosign
            .verify_signature(&sig, &image(1), &cosign.alice())
            .unwrap_err();
        assert!(!err.is_verification_failure(), "{err}");
        assert!(error_chain(&err).contains(why), "{}", error_chain(&err));
    }
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
        "the attestation under another key",
        cosign.verify_attestation(&att, &image(1), &other),
        &["DSSE signature verification failed"],
    );
    fails_with(
        "the signature under another key",
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

/// Validly signed layers that must fail, each for the check its row names:
/// the subject, the identity, the log entry's SET and body, the envelope
/// and blob under the descriptor, the key. Each failure is a verification
/// failure (exit 1) whose message names each of the row's needles.
#[test]
fn each_check_refuses_a_validly_signed_forgery() {
    let cosign = Cosign::start();
    let alice = cosign.alice();
    let another_key = Policy::Key {
        pem: common::Key::random().pem(),
    };
    let attestation = |by: &str, n: u8| cosign.keyless_attestation(by, &image(n));
    let signature = |by: &str, n: u8| cosign.keyless_signature(by, &image(n));
    // Attestations are verified for image 1, signatures for the image named.
    let as_attestation = |layer: &Layer, policy: &Policy| {
        cosign
            .verify_attestation(layer, &image(1), policy)
            .map(drop)
    };
    let as_signature =
        |layer: &Layer, n: u8| cosign.verify_signature(layer, &image(n), &alice).map(drop);
    let (a, b) = (attestation(ALICE, 1), attestation(ALICE, 1));
    let (sig_a, sig_b) = (signature(ALICE, 1), signature(ALICE, 1));
    let mut set_a_body_b = a.rekor_bundle.clone();
    set_a_body_b["Payload"]["body"] = b.rekor_bundle["Payload"]["body"].clone();
    let mut b_under_a = b.clone();
    b_under_a.descriptor = a.descriptor.clone();
    let cases: [(&str, Result<(), Error>, &[&str]); 10] = [
        (
            "an attestation about another image",
            as_attestation(&attestation(ALICE, 2), &alice),
            &["does not match any subject"],
        ),
        (
            "another identity's attestation",
            as_attestation(&attestation("mallory@example.com", 1), &alice),
            &["identity mismatch", "mallory@example.com"],
        ),
        (
            "another identity's signature",
            as_signature(&signature("mallory@example.com", 1), 1),
            &["identity mismatch"],
        ),
        (
            "A's SET beside B's (logged, valid) body",
            as_attestation(&a.with_rekor_bundle(&set_a_body_b), &alice),
            &["SET verification failed"],
        ),
        (
            "B's whole log entry beside A's envelope and certificate",
            as_attestation(&a.with_rekor_bundle(&b.rekor_bundle), &alice),
            &["log entry does not match the bundle"],
        ),
        (
            "B's logged hashedrekord beside A's signature",
            as_signature(&sig_a.with_rekor_bundle(&sig_b.rekor_bundle), 1),
            &["log entry does not match the bundle"],
        ),
        (
            "B's envelope under A's annotations, the descriptor naming B's blob",
            as_attestation(&a.with_blob(&b.blob), &alice),
            &["DSSE signature verification failed"],
        ),
        (
            "B's envelope under A's descriptor",
            as_attestation(&b_under_a, &alice),
            &["blob mismatch"],
        ),
        (
            "a signature payload swapped for another image's",
            as_signature(&sig_a.with_blob(&signature(ALICE, 2).blob), 2),
            &["invalid signature"],
        ),
        (
            "a keyless attestation under a key policy",
            as_attestation(&a, &another_key),
            &["DSSE signature verification failed"],
        ),
    ];
    for (case, result, needles) in cases {
        fails_with(case, result, needles);
    }
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
    let sig = cosign.keyless_signature(ALICE, &image(1));
    let att = cosign.keyless_attestation(ALICE, &image(1));
    // The signature's artifact is its payload; the attestation's, the image
    // manifest whose digest image(1) is.
    let payload = dir.path().join("payload.json");
    std::fs::write(&payload, &sig.blob).unwrap();
    let manifest = dir.path().join("manifest.json");
    std::fs::write(&manifest, "image manifest 1").unwrap();
    // And a forgery: the attestation's SET beside another logged body.
    let other = cosign.keyless_attestation(ALICE, &image(1));
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
