//! Artifacts the verifier pinned (`toto verify --image`): each check broken
//! on its own by a chain whose links are otherwise valid.

use super::*;

/// Verifies the one-step layout (its link records product `app` as
/// `sha256:abab…`) with `pinned`.
fn verify_pinned(pinned: &[Pinned]) -> Report {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let id = bob.keyid().to_string();
    let mut files = Files::default();
    files
        .0
        .insert(link_file(&id), signed_link(Encoding::Statement, &[&bob]));
    let owner = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let mut document = SignedDocument::new(
        layout(&[(&id, key_dict(&bob))], &[&id], 1),
        Encoding::Metablock,
    )
    .unwrap();
    document.add_signature(&owner).unwrap();
    let received =
        SignedDocument::from_json(&document.to_json(), &dsse::Limits::default()).unwrap();
    verify_layout_pinned(
        &received,
        &[owner.public_key().clone()],
        &files,
        &options(),
        pinned,
    )
    .unwrap()
}

fn pin(name: &str, hex_pair: &str) -> Pinned {
    Pinned {
        name: name.into(),
        digest: crate::DigestSet::single("sha256", &hex_pair.repeat(32)).unwrap(),
        origin: format!("{name}:v1"),
    }
}

#[test]
fn a_pinned_artifact_the_step_produced_with_that_digest_verifies() {
    let report = verify_pinned(&[pin("app", "ab")]);
    assert!(report.verified, "{:?}", report.failure);
}

#[test]
fn a_pinned_artifact_the_step_produced_with_another_digest_fails_naming_both() {
    let report = verify_pinned(&[pin("app", "cd")]);
    let failure = report.failure.unwrap();
    let Failure::PinnedDigest {
        step,
        found,
        pinned,
        ..
    } = &failure
    else {
        panic!("not a pinned digest failure: {failure}");
    };
    let expected = &pinned.expected;
    assert_eq!((step.as_str(), pinned.artifact.as_str()), ("build", "app"));
    assert_eq!(expected, &format!("sha256:{}", "cd".repeat(32)));
    assert_eq!(found, &format!("sha256:{}", "ab".repeat(32)));
    let shown = failure.to_string();
    assert!(
        shown.contains(expected) && shown.contains(found) && shown.contains("app:v1"),
        "{shown}"
    );
}

#[test]
fn a_pinned_artifact_no_step_produced_fails() {
    let report = verify_pinned(&[pin("app", "ab"), pin("oci://registry.example/app", "ab")]);
    let failure = report.failure.unwrap();
    assert!(
        matches!(&failure, Failure::PinnedNotProduced { pinned } if pinned.artifact == "oci://registry.example/app"),
        "{failure}"
    );
}
