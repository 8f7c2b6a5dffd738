//! Every sigstore-conformance bundle-verification case, through the CLI, by
//! artifact path and by digest, with the client protocol's arguments.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use testkit::conformance::{self, Case, DEFAULT_IDENTITY, DEFAULT_ISSUER};

use crate::common::*;

/// `toto COMMAND --bundle BUNDLE --certificate-identity IDENTITY
/// --certificate-oidc-issuer ISSUER`.
fn verify_as(command: &str, bundle: &Path, identity: &str, issuer: &str) -> Command {
    let mut cmd = toto();
    cmd.args([command, "--bundle"]).arg(bundle).args([
        "--certificate-identity",
        identity,
        "--certificate-oidc-issuer",
        issuer,
    ]);
    cmd
}

/// Runs one case; returns the exit code.
fn run_case(case: &Case, by_digest: bool) -> (i32, String) {
    let mut cmd = match &case.key {
        Some(key) => {
            let mut cmd = toto();
            cmd.args(["verify-bundle", "--bundle"])
                .arg(&case.bundle)
                .arg("--key")
                .arg(key);
            cmd
        }
        None => verify_as("verify-bundle", &case.bundle, &case.identity, &case.issuer),
    };
    cmd.arg("--trusted-root").arg(&case.trusted_root);
    if by_digest {
        cmd.arg(format!(
            "sha256:{}",
            hex::encode(Sha256::digest(fs::read(&case.artifact).unwrap()))
        ));
    } else {
        cmd.arg(&case.artifact);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn all_conformance_cases_give_the_expected_verdict() {
    let mut wrong = Vec::new();
    let mut runs = 0;
    for case in conformance::cases() {
        let (name, must_fail) = (&case.name, case.must_fail);
        for by_digest in [false, true] {
            runs += 1;
            let (code, stderr) = run_case(&case, by_digest);
            let right = if must_fail {
                code == 1 || code == 2
            } else {
                code == 0
            };
            if !right {
                wrong.push(format!(
                    "{name} (digest: {by_digest}): exit {code}: {stderr}"
                ));
            }
        }
    }
    assert_eq!(runs, 140);
    assert!(
        wrong.is_empty(),
        "{} of 140 wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn verify_bundle_usage_errors() {
    let case = shared().join("vectors/sigstore-conformance/bundle-verify/happy-path-v0.3");
    // Neither an identity nor a key.
    let out = toto()
        .args(["verify-bundle", "--bundle"])
        .arg(case.join("bundle.sigstore.json"))
        .arg("x")
        .output()
        .unwrap();
    expect_code(&out, 2, "no policy");
    // A malformed bundle is an input error.
    let dir = tempdir();
    let bad = dir.path().join("bad.sigstore.json");
    fs::write(&bad, "{\"mediaType\": 1").unwrap();
    let out = verify_as("verify-bundle", &bad, "a", "b")
        .arg(format!("sha256:{}", "0".repeat(64)))
        .output()
        .unwrap();
    expect_code(&out, 2, "malformed bundle");
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.sigstore.json"));
    // A good bundle for another artifact is a verification failure, named.
    let other = dir.path().join("other.txt");
    fs::write(&other, "not the signed artifact").unwrap();
    let good = |identity: &str, artifact: &Path| {
        let bundle = case.join("bundle.sigstore.json");
        verify_as("verify-bundle", &bundle, identity, DEFAULT_ISSUER)
            .arg(artifact)
            .output()
            .unwrap()
    };
    expect_code(&good(DEFAULT_IDENTITY, &other), 1, "wrong artifact");
    // A good bundle checked against another identity fails too.
    let signed = case.parent().unwrap().join("a.txt");
    let out = good("mallory@example.com", &signed);
    expect_code(&out, 1, "wrong identity");
}

fn attestation(args: &[&str]) -> std::process::Output {
    let base = shared().join("vectors/sigstore-conformance");
    verify_as(
        "verify-attestation",
        &base.join("bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json"),
        DEFAULT_IDENTITY,
        DEFAULT_ISSUER,
    )
    .arg("--trusted-root")
    .arg(base.join("trusted_roots/production_trusted_root.json"))
    .args(args)
    .output()
    .unwrap()
}

#[test]
fn verify_attestation_checks_subjects_predicate_and_policy() {
    let base = shared().join("vectors/sigstore-conformance");
    let a_txt = base.join("bundle-verify/a.txt");
    let a = a_txt.to_str().unwrap();
    let ok = attestation(&[
        "--subject",
        a,
        "--predicate-type",
        "https://slsa.dev/provenance/v1",
        "--format",
        "json",
    ]);
    expect_code(&ok, 0, "subject and predicate type");
    let report: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(report["identity"], DEFAULT_IDENTITY);
    assert_eq!(
        report["statement"]["predicateType"],
        "https://slsa.dev/provenance/v1"
    );
    assert_eq!(report["statement"]["subject"][0]["name"], "a.txt");
    let digest = format!(
        "sha256:{}",
        hex::encode(Sha256::digest(fs::read(&a_txt).unwrap()))
    );
    expect_code(&attestation(&["--digest", &digest]), 0, "subject by digest");
    expect_code(
        &attestation(&["--digest", &format!("sha256:{}", "ab".repeat(32))]),
        1,
        "not a subject",
    );
    let dir = tempdir();
    let other = dir.path().join("other");
    fs::write(&other, "x").unwrap();
    let out = attestation(&["--subject", other.to_str().unwrap()]);
    expect_code(&out, 1, "file not a subject");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a subject"));
    expect_code(
        &attestation(&["--predicate-type", "https://slsa.dev/provenance/v0.2"]),
        1,
        "predicate type",
    );
    let policy = dir.path().join("policy.toml");
    fs::write(
        &policy,
        "[[require]]\npath = \"buildDefinition.buildType\"\nequals = \"https://actions.github.io/buildtypes/workflow/v1\"\n\
         [[require]]\npath = \"buildDefinition.externalParameters.workflow.repository\"\nprefix = \"https://github.com/loosebazooka/\"\n",
    )
    .unwrap();
    expect_code(
        &attestation(&["--policy", policy.to_str().unwrap()]),
        0,
        "policy holds",
    );
    fs::write(
        &policy,
        "[[require]]\npath = \"buildDefinition.externalParameters.workflow.repository\"\nprefix = \"https://github.com/my-org/\"\n",
    )
    .unwrap();
    let out = attestation(&["--policy", policy.to_str().unwrap()]);
    expect_code(&out, 1, "policy fails");
    assert!(String::from_utf8_lossy(&out.stderr).contains("my-org"));
    // Another identity: refused.
    let out = verify_as(
        "verify-attestation",
        &base.join("bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json"),
        "mallory@example.com",
        DEFAULT_ISSUER,
    )
    .arg("--trusted-root")
    .arg(base.join("trusted_roots/production_trusted_root.json"))
    .output()
    .unwrap();
    expect_code(&out, 1, "wrong identity");
    // A blob bundle is not an attestation: input error.
    let out = verify_as(
        "verify-attestation",
        &base.join("bundle-verify/happy-path-v0.3/bundle.sigstore.json"),
        DEFAULT_IDENTITY,
        DEFAULT_ISSUER,
    )
    .output()
    .unwrap();
    expect_code(&out, 2, "blob bundle");
}

#[test]
fn identity_regexp_and_github_claims() {
    let base = shared().join("vectors/sigstore-conformance");
    let run = |args: &[&str]| {
        toto()
            .args(["verify-bundle", "--bundle"])
            .arg(base.join("bundle-verify/happy-path-v0.3/bundle.sigstore.json"))
            .args([
                "--certificate-oidc-issuer",
                DEFAULT_ISSUER,
                "--trusted-root",
            ])
            .arg(base.join("trusted_roots/production_trusted_root.json"))
            .args(args)
            .arg(base.join("bundle-verify/a.txt"))
            .output()
            .unwrap()
    };
    expect_code(
        &run(&[
            "--certificate-identity-regexp",
            r"https://github\.com/sigstore-conformance/.*@refs/heads/main",
        ]),
        0,
        "regexp",
    );
    // The whole identity must match, not a part of it.
    expect_code(
        &run(&["--certificate-identity-regexp", "extremely"]),
        1,
        "partial regexp",
    );
    expect_code(
        &run(&["--certificate-identity-regexp", "("]),
        2,
        "bad regexp",
    );
    let repo = "sigstore-conformance/extremely-dangerous-public-oidc-beacon";
    expect_code(
        &run(&[
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-github-workflow-repository",
            repo,
            "--certificate-github-workflow-ref",
            "refs/heads/main",
        ]),
        0,
        "github claims",
    );
    let out = run(&[
        "--certificate-identity",
        DEFAULT_IDENTITY,
        "--certificate-github-workflow-repository",
        "evil/repo",
    ]);
    expect_code(&out, 1, "wrong repository");
    assert!(String::from_utf8_lossy(&out.stderr).contains("evil/repo"));
    expect_code(
        &run(&[
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-github-workflow-ref",
            "refs/tags/v9",
        ]),
        1,
        "wrong ref",
    );
}

#[test]
fn many_bundles_in_one_run_report_each_in_order() {
    let base = shared().join("vectors/sigstore-conformance/bundle-verify");
    let names = [
        "happy-path-v0.3",
        "signature-mismatch_fail",
        "happy-path-v0.2",
        "happy-path-v0.1",
    ];
    let mut cmd = toto();
    cmd.arg("verify-bundle");
    for name in names {
        cmd.arg("--bundle")
            .arg(base.join(name).join("bundle.sigstore.json"));
    }
    let out = cmd
        .args([
            "--certificate-identity",
            DEFAULT_IDENTITY,
            "--certificate-oidc-issuer",
            DEFAULT_ISSUER,
        ])
        .args(["--format", "json"])
        .arg(base.join("a.txt"))
        .output()
        .unwrap();
    expect_code(&out, 1, "one of four fails");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for (line, name) in lines.iter().zip(names) {
        assert!(line["bundle"].as_str().unwrap().contains(name));
        assert_eq!(line["verified"], !name.ends_with("_fail"), "{name}");
    }
}

/// Many bundles in one invocation (verified on all cores): one JSON line
/// per bundle, in the order given, each with its own case's verdict.
#[test]
fn batch_verification_keeps_order_and_per_bundle_verdicts() {
    let base = shared().join("vectors/sigstore-conformance");
    // The cases that use the protocol's defaults, so one command line fits
    // them all: default identity, issuer, artifact and trusted root.
    let batch: Vec<PathBuf> = conformance::cases()
        .into_iter()
        .map(|c| c.dir)
        .filter(|c| {
            [
                "artifact",
                "trusted_root.json",
                "key.pub",
                "identity",
                "issuer",
            ]
            .iter()
            .all(|f| !c.join(f).exists())
        })
        .collect();
    assert!(batch.len() >= 20, "only {} default cases", batch.len());
    let mut cmd = toto();
    cmd.arg("verify-bundle");
    // Twice over, reversed the second time, so order mistakes show.
    for case in batch.iter().chain(batch.iter().rev()) {
        cmd.arg("--bundle").arg(case.join("bundle.sigstore.json"));
    }
    let out = cmd
        .args(["--certificate-identity", DEFAULT_IDENTITY])
        .args(["--certificate-oidc-issuer", DEFAULT_ISSUER])
        .arg("--trusted-root")
        .arg(base.join("trusted_roots/production_trusted_root.json"))
        .args(["--format", "json"])
        .arg(base.join("a.txt"))
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2 * batch.len());
    let mut any_failed = false;
    for (case, line) in batch.iter().chain(batch.iter().rev()).zip(&lines) {
        let expected = !case.to_string_lossy().ends_with("_fail");
        any_failed |= !expected;
        assert_eq!(
            line["bundle"].as_str(),
            Some(case.join("bundle.sigstore.json").to_string_lossy().as_ref())
        );
        assert_eq!(line["verified"], expected, "{}: {line}", case.display());
    }
    // 1 for a failed verification, 2 when some bundle was malformed.
    assert!(any_failed);
    assert!(matches!(out.status.code(), Some(1 | 2)), "{:?}", out.status);
}

/// A bundle of a batch that cannot be read is reported on its own line
/// (exit 2); the others are still verified, in order.
#[test]
fn unreadable_bundle_in_a_batch_is_reported_and_the_rest_verified() {
    let base = shared().join("vectors/sigstore-conformance/bundle-verify");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.sigstore.json");
    let good = base.join("happy-path-v0.3/bundle.sigstore.json");
    for format in ["json", "text"] {
        let out = toto()
            .arg("verify-bundle")
            .arg("--bundle")
            .arg(&good)
            .arg("--bundle")
            .arg(&missing)
            .arg("--bundle")
            .arg(&good)
            .args(["--certificate-identity", DEFAULT_IDENTITY])
            .args(["--certificate-oidc-issuer", DEFAULT_ISSUER])
            .args(["--format", format])
            .arg(base.join("a.txt"))
            .output()
            .unwrap();
        expect_code(&out, 2, "one bundle unreadable");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        if format == "json" {
            let lines: Vec<serde_json::Value> = stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let verdicts: Vec<_> = lines.iter().map(|l| l["verified"].clone()).collect();
            assert_eq!(verdicts, [true, false, true]);
            let error = lines[1]["error"].as_str().unwrap();
            assert!(
                error.contains("cannot read bundle") && error.contains("missing.sigstore.json"),
                "{error}"
            );
        } else {
            assert_eq!(
                stdout.lines().filter(|l| l.starts_with("Verified")).count(),
                2,
                "{stdout}"
            );
            assert!(
                stderr.contains("cannot read bundle") && stderr.contains("missing.sigstore.json"),
                "{stderr}"
            );
        }
    }
}
