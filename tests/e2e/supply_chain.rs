//! toto's own supply chain: `scripts/release` attests the binary it releases
//! and the attestation verifies.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::common::*;

const SLSA: &str = "https://slsa.dev/provenance/v1";
const RELEASER: &str = "release@toto.invalid";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `scripts/release --testbed TESTBED --out OUT`, attesting the test's toto
/// binary (no release build), with no ambient token.
fn release(tb: &testbed::Testbed, out: &Path) -> std::process::Output {
    Command::new("bash")
        .arg(repo().join("scripts/release"))
        .arg("--testbed")
        .arg(tb.dir())
        .arg("--out")
        .arg(out)
        .env("TOTO_RELEASE_BINARY", env!("CARGO_BIN_EXE_toto"))
        // A developer's tree may have uncommitted changes; CI's has none.
        .env("TOTO_RELEASE_ALLOW_DIRTY", "1")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("SIGSTORE_ID_TOKEN")
        .env_remove("SIGSTORE_IDENTITY_TOKEN")
        .env_remove("GITHUB_WORKFLOW_REF")
        .env_remove("TOTO_RELEASE_IDENTITY")
        .env_remove("TOTO_RELEASE_BUILDER_ID")
        .output()
        .unwrap()
}

/// `toto verify-attestation --format json` of the release's bundle for
/// `subject`, as the releaser on the testbed.
fn verify_release(tb: &testbed::Testbed, bundle: &Path, subject: &Path) -> std::process::Output {
    verify_attestation(bundle)
        .testbed_signer(tb, RELEASER)
        .subject(subject)
        .args(["--predicate-type", SLSA, "--format", "json"])
        .output()
        .unwrap()
}

fn git_head() -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo())
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    assert!(out.status.success(), "git rev-parse HEAD");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// (name, version, checksum) of every crates.io package in Cargo.lock.
fn locked_packages() -> Vec<(String, String, String)> {
    let lock: toml::Table = repo_text("Cargo.lock").parse().unwrap();
    lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let checksum = p.get("checksum")?.as_str()?;
            Some((
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
                checksum.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn release_script_attests_the_binary_and_its_provenance_verifies() {
    let dir = tempdir();
    let tb = start_testbed(dir.path());
    let out_dir = dir.path().join("assets");
    let out = release(&tb, &out_dir);
    expect_code(&out, 0, "scripts/release --testbed");

    let version = env!("CARGO_PKG_VERSION");
    let assets: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let binary_name = assets
        .iter()
        .find(|n| n.starts_with(&format!("toto-{version}-")) && !n.contains(".sigstore"))
        .unwrap_or_else(|| panic!("no binary among {assets:?}"))
        .clone();
    let binary = out_dir.join(&binary_name);
    let bundle = out_dir.join(format!("{binary_name}.sigstore.json"));
    let bytes = std::fs::read(&binary).unwrap();
    assert_eq!(
        bytes,
        std::fs::read(env!("CARGO_BIN_EXE_toto")).unwrap(),
        "the released binary is the one given"
    );
    let digest = hex::encode(Sha256::digest(&bytes));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("SHA256SUMS")).unwrap(),
        format!("{digest}  {binary_name}\n")
    );

    let out = verify_release(&tb, &bundle, &binary);
    expect_code(&out, 0, "the release's provenance verifies");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let statement = &report["statement"];
    assert_eq!(statement["predicateType"], SLSA);
    assert_eq!(statement["subject"][0]["name"], binary_name.as_str());
    assert_eq!(statement["subject"][0]["digest"]["sha256"], digest.as_str());
    let build = &statement["predicate"]["buildDefinition"];
    let commit = git_head();
    assert_eq!(
        build["externalParameters"]["source"]["commit"],
        commit.as_str()
    );
    assert_eq!(
        build["externalParameters"]["buildCommand"],
        "cargo build --release -p toto --locked"
    );
    assert!(build["buildType"]
        .as_str()
        .unwrap()
        .ends_with("/scripts/release/v1"));
    assert_eq!(
        statement["predicate"]["runDetails"]["builder"]["id"],
        "urn:toto:builder:local"
    );
    let resolved = build["resolvedDependencies"].as_array().unwrap();
    assert_eq!(resolved[0]["digest"]["gitCommit"], commit.as_str());
    let locked = locked_packages();
    assert_eq!(
        resolved.len(),
        1 + locked.len(),
        "the commit and every locked crate"
    );
    for (name, version, checksum) in &locked {
        let uri = format!("pkg:cargo/{name}@{version}");
        let entry = resolved
            .iter()
            .find(|d| d["uri"] == uri.as_str())
            .unwrap_or_else(|| panic!("{uri} missing from resolvedDependencies"));
        assert_eq!(entry["digest"]["sha256"], checksum.as_str(), "{uri}");
        assert_eq!(entry["name"], name.as_str());
    }
}

/// A binary swapped after the release (same name, other bytes) is not the
/// attested subject.
#[test]
fn a_binary_replaced_after_the_release_does_not_verify() {
    let dir = tempdir();
    let tb = start_testbed(dir.path());
    let out_dir = dir.path().join("assets");
    expect_code(&release(&tb, &out_dir), 0, "scripts/release --testbed");
    let bundle = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".sigstore.json"))
        .unwrap();
    let binary = PathBuf::from(
        bundle
            .to_string_lossy()
            .strip_suffix(".sigstore.json")
            .unwrap(),
    );
    let mut bytes = std::fs::read(&binary).unwrap();
    bytes.extend_from_slice(b"\0backdoor");
    std::fs::write(&binary, bytes).unwrap();
    let out = verify_release(&tb, &bundle, &binary);
    expect_code(&out, 1, "a replaced binary");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], false);
    assert!(
        report["error"].as_str().unwrap().contains("subject"),
        "{report}"
    );
}

/// Without a way to sign, the script refuses before building anything.
#[test]
fn release_script_without_a_signer_refuses() {
    let dir = tempdir();
    let out = Command::new("bash")
        .arg(repo().join("scripts/release"))
        .arg("--out")
        .arg(dir.path().join("assets"))
        .env("TOTO_RELEASE_BINARY", env!("CARGO_BIN_EXE_toto"))
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("SIGSTORE_ID_TOKEN")
        .output()
        .unwrap();
    expect_error(&out, 2, "nothing to sign with", "no signer");
    assert!(!dir.path().join("assets").exists(), "nothing written");
}
