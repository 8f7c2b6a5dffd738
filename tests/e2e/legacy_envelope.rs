//! slsa-github-generator's legacy `.intoto.jsonl` (a bare DSSE envelope
//! whose signature carries its certificate, its log entry only in Rekor)
//! verified by `toto verify-attestation --rekor-url`, against the testbed's
//! Rekor and its search endpoints.

use std::path::Path;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::common::*;

/// `toto attest --keyless` of a provenance for `subject`, rewritten as
/// slsa-github-generator writes it: the envelope, its signature carrying
/// the leaf certificate (PEM); written to `out`.
fn legacy_envelope(tb: &testbed::Testbed, identity: &str, subject: &Path, out: &Path) -> Value {
    let dir = out.parent().unwrap();
    let predicate = write(&dir.join("predicate.json"), r#"{"buildType":"x"}"#);
    let bundle_path = dir.join("attestation.sigstore.json");
    attest_provenance(
        &keyless(tb, &token(tb, identity)),
        &predicate,
        subject,
        &bundle_path,
    );
    let bundle: Value = serde_json::from_slice(&std::fs::read(&bundle_path).unwrap()).unwrap();
    let legacy = testkit::legacy_envelope(&bundle);
    std::fs::write(out, format!("{legacy}\n")).unwrap();
    legacy
}

fn verify_legacy(
    tb: &testbed::Testbed,
    envelope: &Path,
    subject: &Path,
    rekor: bool,
) -> std::process::Output {
    let mut command = verify_attestation(envelope);
    command
        .testbed_signer(tb, "alice@example.com")
        .subject(subject);
    if rekor {
        command.args(["--rekor-url", tb.url()]);
    }
    command.output().unwrap()
}

#[test]
fn a_legacy_envelope_verifies_with_rekor_url_and_is_named_without() {
    let (dir, tb) = tempdir_testbed();
    let subject = write(&dir.path().join("binary-linux-amd64"), "binary");
    let envelope = dir.path().join("binary-linux-amd64.intoto.jsonl");
    let legacy = legacy_envelope(&tb, "alice@example.com", &subject, &envelope);

    let out = verify_legacy(&tb, &envelope, &subject, true);
    expect_stdout(
        &out,
        0,
        &["Rekor entry"],
        "legacy envelope with --rekor-url",
    );

    // Without --rekor-url: named, with the flag that verifies it.
    let out = verify_legacy(&tb, &envelope, &subject, false);
    expect_error(&out, 2, "found a bare DSSE envelope", "without --rekor-url");
    expect_error(&out, 2, "--rekor-url", "without --rekor-url");

    // Another payload under the logged signature: Rekor has no entry for it.
    let mut forged = legacy.clone();
    forged["payload"] = json!(base64::engine::general_purpose::STANDARD.encode(
        br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x"}"#
    ));
    let forged_path = write(&dir.path().join("forged.intoto.jsonl"), &forged.to_string());
    let out = verify_legacy(&tb, &forged_path, &subject, true);
    expect_error(&out, 1, "has no entry for this envelope", "forged payload");

    // Another signer's identity required: the entry verifies, the policy fails.
    let out = verify_attestation(&envelope)
        .testbed_signer(&tb, "mallory@example.com")
        .subject(&subject)
        .args(["--rekor-url", tb.url()])
        .output()
        .unwrap();
    expect_error(&out, 1, "identity mismatch", "another identity");

    // --rekor-url on a Sigstore bundle, or not a URL: refused before anything.
    let bundle = dir.path().join("attestation.sigstore.json");
    let out = verify_legacy(&tb, &bundle, &subject, true);
    expect_error(&out, 2, "is not one", "--rekor-url on a bundle");
    let out = verify_attestation(&envelope)
        .testbed_signer(&tb, "alice@example.com")
        .args(["--rekor-url", "rekor.example"])
        .output()
        .unwrap();
    expect_error(&out, 2, "is not an http(s):// URL", "not a URL");
}
