//! toto's own supply chain: `scripts/release` attests the binary it releases
//! and the attestation verifies; the workflows pin every action by commit.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::common::*;

const SLSA: &str = "https://slsa.dev/provenance/v1";
const RELEASER: &str = "release@toto.invalid";

fn repo() -> PathBuf {
    repo_path("")
}

/// `scripts/release --testbed TESTBED --out OUT`, attesting the test's toto
/// binary (no release build), with no ambient token.
fn release(tb: &testbed::Testbed, out: &Path) -> std::process::Output {
    release_command(tb, out).output().unwrap()
}

/// `scripts/release --testbed TESTBED --out OUT`, to run.
fn release_command(tb: &testbed::Testbed, out: &Path) -> Command {
    let mut c = release_script(out);
    c.arg("--testbed").arg(tb.dir());
    c
}

/// `scripts/release --out OUT` attesting the test's toto binary, with no
/// ambient token or release settings in the environment; the caller adds
/// the signer.
fn release_script(out: &Path) -> Command {
    let mut c = Command::new("bash");
    c.arg(repo().join("scripts/release"))
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
        .env_remove("TOTO_RELEASE_GITHUB_WORKFLOW");
    c
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
    let (dir, tb) = tempdir_testbed();
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
    let (dir, tb) = tempdir_testbed();
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

/// `toto key generate -o PATH`: PATH and PATH.pub.
fn key_pair(path: &Path) -> PathBuf {
    generate_key(path, &[]);
    path.to_owned()
}

/// `--key`: the provenance is a DSSE envelope signed with the key, which the
/// script verifies with KEY.pub and `toto envelope verify` accepts.
#[test]
fn release_script_with_a_key_signs_an_envelope_that_verifies() {
    let dir = tempdir();
    let key = key_pair(&dir.path().join("release"));
    let out_dir = dir.path().join("assets");
    let out = release_script(&out_dir)
        .arg("--key")
        .arg(&key)
        .output()
        .unwrap();
    expect_code(&out, 0, "scripts/release --key");
    let envelope = file_ending(&out_dir, ".intoto.jsonl");
    let verify_with = |key: &Path| envelope_verify(key.with_extension("pub"), &envelope);
    expect_code(
        &verify_with(&key),
        0,
        "the envelope verifies with release.pub",
    );
    let other = key_pair(&dir.path().join("other"));
    expect_code(
        &verify_with(&other),
        1,
        "another key's signature is not there",
    );
}

/// Without a way to sign, the script refuses before building anything.
#[test]
fn release_script_without_a_signer_refuses() {
    let dir = tempdir();
    let out = release_script(&dir.path().join("assets"))
        .env_remove("TOTO_RELEASE_ALLOW_DIRTY")
        .output()
        .unwrap();
    expect_error(&out, 2, "nothing to sign with", "no signer");
    assert!(!dir.path().join("assets").exists(), "nothing written");
}

/// The Install section's verification lines, run as written (the version
/// and target of this build put in) on a release that `scripts/release`
/// signed as the release workflow at the tag, with the testbed's trusted root.
#[test]
fn readme_release_verification_runs_as_written() {
    let (dir, tb) = tempdir_testbed();
    let out_dir = dir.path().join("assets");
    let version = env!("CARGO_PKG_VERSION");
    let workflow = format!("OWNER/toto/.github/workflows/release.yml@refs/tags/v{version}");
    let out = release_command(&tb, &out_dir)
        .env("TOTO_RELEASE_GITHUB_WORKFLOW", &workflow)
        .output()
        .unwrap();
    expect_code(&out, 0, "scripts/release as the release workflow");
    let sums = std::fs::read_to_string(out_dir.join("SHA256SUMS")).unwrap();
    let binary = sums.split_whitespace().nth(1).unwrap().to_owned();
    let target = binary
        .strip_prefix(&format!("toto-{version}-"))
        .unwrap()
        .to_owned();

    let block = readme_block("<!-- release-verify -->").replace("\\\n", " ");
    let lines: Vec<String> = block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.replace("0.1.0", version)
                .replace("x86_64-unknown-linux-gnu", &target)
        })
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("sha256sum "), "{}", lines[0]);
    let out = Command::new("sh")
        .arg("-c")
        .arg(&lines[0])
        .current_dir(&out_dir)
        .output()
        .unwrap();
    expect_code(&out, 0, &lines[0]);
    let words = shell_words(&lines[1]);
    assert_eq!(words[0], "toto");
    let out = toto()
        .args(&words[1..])
        .arg("--trusted-root")
        .arg(tb.trusted_root_path())
        .current_dir(&out_dir)
        .output()
        .unwrap();
    expect_code(&out, 0, &lines[1]);
}

/// The README's audit command is the one CI runs, and its live variant
/// exists.
#[test]
fn readme_audit_command_is_what_ci_runs() {
    let block = readme_block("<!-- audit -->");
    assert_eq!(block.trim(), "scripts/audit");
    let ci = repo_text(".ci/run");
    assert!(ci.lines().any(|l| l.trim() == "scripts/audit"), "{ci}");
    assert!(repo_text("README.md").contains("`scripts/audit --live`"));
    assert!(repo_text("scripts/audit").contains("\n--live)\n"));
}

/// Workflow files: everything under `.github/` and `examples/` ending in
/// `.yml`/`.yaml`, and the composite `action.yml`.
fn workflow_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                found.push(path);
            }
        }
    }
    let mut found = vec![repo().join("action.yml")];
    walk(&repo().join(".github"), &mut found);
    walk(&repo().join("examples"), &mut found);
    found
}

/// `uses: OWNER/REPO[/PATH]@<40 hex> # vX.Y.Z`, a local action (`./…`), or a
/// container by digest: `None`; else why not.
fn unpinned(uses: &str) -> Option<&'static str> {
    let (target, comment) = match uses.split_once('#') {
        Some((t, c)) => (t.trim(), Some(c.trim())),
        None => (uses.trim(), None),
    };
    if target.starts_with("./") {
        return None;
    }
    if let Some(image) = target.strip_prefix("docker://") {
        return match image.split_once("@sha256:") {
            Some((_, d)) if d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()) => None,
            _ => Some("a container not pinned by @sha256: digest"),
        };
    }
    let Some((_, rev)) = target.rsplit_once('@') else {
        return Some("no @ref");
    };
    if rev.len() != 40 || !rev.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Some("a tag or branch, not a full commit SHA");
    }
    match comment {
        Some(c) if c.starts_with('v') && c[1..].split('.').count() == 3 => None,
        _ => Some("no `# vX.Y.Z` comment naming the release the SHA is"),
    }
}

#[test]
fn every_action_in_the_workflows_is_pinned_by_commit() {
    let mut checked = 0;
    let mut bad = Vec::new();
    for file in workflow_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start().trim_start_matches("- ").trim_start();
            let Some(uses) = line.strip_prefix("uses:") else {
                continue;
            };
            checked += 1;
            if let Some(why) = unpinned(uses) {
                bad.push(format!(
                    "{}:{}: {} ({why})",
                    file.display(),
                    n + 1,
                    uses.trim()
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "actions not pinned by commit:\n{}",
        bad.join("\n")
    );
    assert!(
        checked >= 4,
        "found only {checked} `uses:` lines: is the scan broken?"
    );
}

#[test]
fn a_tag_a_branch_or_a_short_sha_is_not_a_pin() {
    let sha = "11d5960a326750d5838078e36cf38b85af677262";
    assert_eq!(unpinned(&format!(" actions/checkout@{sha} # v4.4.0")), None);
    assert_eq!(unpinned(" ./.github/actions/local"), None);
    for hostile in [
        " actions/checkout@v4".to_owned(),
        " actions/checkout@main".to_owned(),
        " actions/checkout@11d5960".to_owned(),
        format!(" actions/checkout@{}", sha.to_uppercase()),
        format!(" actions/checkout@{sha}"),
        " docker://alpine:3".to_owned(),
    ] {
        assert!(unpinned(&hostile).is_some(), "{hostile} passed as pinned");
    }
}
