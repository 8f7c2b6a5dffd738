//! Forged evidence built from genuine signatures (issue #16): a bundle that
//! carries a genuine signature *and* a second, unsigned content must never
//! make toto report the unsigned content as verified.
//!
//! The attack: take any genuine `messageSignature` bundle (anyone can copy
//! one from Rekor), add a `dsseEnvelope` whose payload is a Statement of the
//! forger's choosing, signed with nothing. Before the fix, `sigstore-verify`
//! verified the first content it read (the genuine blob signature) while
//! toto returned the second as the verified attestation.

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{
    expect_code, expect_said, keyless_step, layout_signed_in, repo_path, sign_blob, tempdir,
    tempdir_testbed, token, verify_attestation, verify_chain, write, VerifyFlags,
};

const COSIGN_SIGNER: &str = "w.vollprecht@gmail.com";
const GITHUB_OAUTH: &str = "https://github.com/login/oauth";
const LINK_PREDICATE: &str = "https://in-toto.io/attestation/link/v0.3";

fn real_world(name: &str) -> PathBuf {
    repo_path("testdata/real-world").join(name)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `bundle` (a genuine message-signature bundle) with an unsigned
/// `dsseEnvelope` added whose payload is `statement`; `first` says whether
/// the envelope comes before the genuine content in the JSON object.
fn with_forged_envelope(bundle: &Path, statement: &Value, first: bool, out: &Path) -> PathBuf {
    let genuine = String::from_utf8(std::fs::read(bundle).unwrap()).unwrap();
    let genuine = genuine.trim();
    assert!(genuine.contains("\"messageSignature\""), "a blob bundle");
    let envelope = json!({
        "payload": B64.encode(serde_json::to_vec(statement).unwrap()),
        "payloadType": "application/vnd.in-toto+json",
        "signatures": [{"sig": "AAAA"}],
    });
    // Spliced into the text: the order of the two contents is the point.
    let member = format!("\"dsseEnvelope\":{envelope}");
    let inner = &genuine[1..genuine.len() - 1];
    let forged = if first {
        format!("{{{member},{inner}}}")
    } else {
        format!("{{{inner},{member}}}")
    };
    std::fs::write(out, forged).unwrap();
    out.to_owned()
}

/// A Statement whose first subject is the genuinely signed blob (so the
/// genuine signature binds to it) and whose second is the forger's.
fn forged_statement(blob_sha256: &str, predicate_type: &str) -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "app", "digest": {"sha256": blob_sha256}},
            {"name": "backdoor.tar.gz", "digest": {"sha256": "ab".repeat(32)}},
        ],
        "predicateType": predicate_type,
        "predicate": {"builder": {"id": "https://evil.example/forged"}},
    })
}

/// Refused as malformed input (exit 2), naming the two contents, and
/// nothing on stdout claims a verification.
#[track_caller]
fn refused_two_contents(out: &Output, what: &str) {
    expect_said(
        out,
        2,
        "exactly one of messageSignature or dsseEnvelope",
        what,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("\"verified\":true"), "{what}: {stdout}");
}

#[test]
fn bug_a_blob_bundle_with_an_added_unsigned_envelope_was_a_verified_attestation() {
    let tmp = tempdir();
    let blob = std::fs::read(real_world("cosign-v3-blob.txt")).unwrap();
    let statement = forged_statement(&sha256_hex(&blob), "https://slsa.dev/provenance/v1");
    for first in [false, true] {
        let forged = with_forged_envelope(
            &real_world("cosign-v3-blob.sigstore.json"),
            &statement,
            first,
            &tmp.path().join("forged.sigstore.json"),
        );
        let out = verify_attestation(&forged)
            .env("XDG_CACHE_HOME", tmp.path())
            .signer(COSIGN_SIGNER, GITHUB_OAUTH)
            .args(["--format", "json"])
            .output()
            .unwrap();
        refused_two_contents(&out, &format!("keyless, envelope first: {first}"));
    }
}

#[test]
fn bug_a_managed_key_blob_bundle_with_an_added_envelope_was_a_verified_attestation() {
    let tmp = tempdir();
    let case = crate::common::shared()
        .join("vectors/sigstore-conformance/bundle-verify/managed-key-happy-path");
    let artifact = crate::common::shared().join("vectors/sigstore-conformance/bundle-verify/a.txt");
    let statement = forged_statement(
        &sha256_hex(&std::fs::read(artifact).unwrap()),
        "https://slsa.dev/provenance/v1",
    );
    let forged = with_forged_envelope(
        &case.join("bundle.sigstore.json"),
        &statement,
        false,
        &tmp.path().join("forged.sigstore.json"),
    );
    let out = verify_attestation(&forged)
        .env("XDG_CACHE_HOME", tmp.path())
        .arg("--key")
        .arg(case.join("key.pub"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    refused_two_contents(&out, "managed key");
}

/// The same forgery as a keyless functionary's link: alice genuinely signed
/// some blob; the forger turns that bundle into "alice's link for build".
#[test]
fn bug_a_blob_bundle_with_an_added_envelope_satisfied_a_keyless_step() {
    let (dir, tb) = tempdir_testbed();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let blob = write(&dir.path().join("release.bin"), "a release alice signed\n");
    expect_code(
        &sign_blob(&tb, &token(&tb, "alice@example.com"), &blob),
        0,
        "alice signs a blob",
    );
    let (owner, layout) = layout_signed_in(
        dir.path(),
        &format!(
            "expires = \"30d\"\n{}",
            keyless_step(
                "build",
                "alice@example.com",
                tb.issuer(),
                "products = [\"ALLOW *\"]\n"
            )
        ),
    );
    let keyid = first_functionary(&layout);
    let link_statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app", "digest": {"sha256": sha256_hex(&std::fs::read(&blob).unwrap())}}],
        "predicateType": LINK_PREDICATE,
        "predicate": {"name": "build", "command": ["make"], "materials": [], "byproducts": {}},
    });
    with_forged_envelope(
        &blob.with_extension("bin.sigstore.json"),
        &link_statement,
        false,
        &work.join(format!("build.{}.link.sigstore.json", &keyid[..8])),
    );
    expect_said(
        &verify_chain(&layout, &owner, &work, &tb),
        1,
        "exactly one of messageSignature or dsseEnvelope",
        "a forged keyless link",
    );
}

/// The key id of the first step's first functionary in a signed layout
/// (a Metablock or a DSSE envelope).
fn first_functionary(layout: &Path) -> String {
    let document: Value = serde_json::from_slice(&std::fs::read(layout).unwrap()).unwrap();
    let signed = match document.get("signed") {
        Some(signed) => signed.clone(),
        None => serde_json::from_slice(&B64.decode(document["payload"].as_str().unwrap()).unwrap())
            .unwrap(),
    };
    signed["steps"][0]["pubkeys"][0]
        .as_str()
        .unwrap()
        .to_owned()
}
