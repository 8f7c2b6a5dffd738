//! The third workflow: attestations made by other tools, as they were
//! published, verified offline with the embedded public-good trust root.
//! The inputs live in `testdata/real-world/` (their provenance is in its
//! README): npm provenance (SLSA v0.2 and v1, sha512 subjects, bundles
//! v0.1 and v0.3, `intoto` log entries) and npm's publish attestation (a
//! managed key), a GitHub artifact attestation from a reusable workflow
//! (`dsse` log entry), and PyPI's PEP 740 attestation and provenance objects
//! (GitHub and GitLab publishers). Each verifies with the right signer and
//! predicate policy, and fails (exit 1) for the wrong signer, artifact,
//! predicate type or policy value, and for a one-byte tamper.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use serde_json::Value;

use crate::common::{
    expect_code, expect_error, expect_refused, expect_stdout, python, python_tempdir, readme_block,
    repo_path, shell_words, sigstore, sigstore_verify, tempdir, toto, toto_in, verify_attestation,
    verify_bundle, VerifyFlags,
};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
pub(crate) const GITHUB: &str = "https://token.actions.githubusercontent.com";
pub(crate) const SIGSTORE_JS: &str =
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main";
pub(crate) const PYPI_ATTESTATIONS: &str =
    "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19";
pub(crate) const REUSABLE: &str = "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d";
const GITLAB_ID: &str =
    "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main";
pub(crate) const SIGSTORE_1_3_0_SHA512: &str = "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751";
const SIGSTORE_2_1_0_SHA512: &str = "90f223f992e4c88dd068cd2a5fc57f9d2b30798343dd6e38f29c240e04ba090ef831f84490847c4e82b9232c78e8a258463b1e55c0f7469f730265008fa6633f";
const PYPI_SDIST_SHA256: &str = "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3";
pub(crate) const SLSA_V1: &str = "https://slsa.dev/provenance/v1";
pub(crate) const COSIGN_SIGNER: &str = "w.vollprecht@gmail.com";
pub(crate) const GITHUB_OAUTH: &str = "https://github.com/login/oauth";
const CONDA_SIGNER: &str =
    "https://github.com/prefix-dev/sigstore-example/.github/workflows/action.yaml@refs/heads/main";
const CONDA_PUBLISH: &str = "https://schemas.conda.org/attestations-publish-1.schema.json";
pub(crate) const PYPI_PUBLISH: &str = "https://docs.pypi.org/attestations/publish/v1";

pub(crate) fn data(name: &str) -> PathBuf {
    repo_path("testdata/real-world").join(name)
}

/// `toto ARGS…` in `testdata/real-world/`, with no fetched trust root in
/// reach (an empty XDG cache of its own).
pub(crate) fn toto_in_data(args: &[impl AsRef<std::ffi::OsStr>]) -> Output {
    in_data(toto().args(args))
}

/// `command` run in `testdata/real-world/` with no fetched trust root in
/// reach: the embedded public-good root decides.
fn in_data(command: &mut Command) -> Output {
    let cache = tempdir();
    command
        .current_dir(data(""))
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .unwrap()
}

/// `toto verify-attestation --format json --bundle BUNDLE ARGS…` with no
/// fetched trust root in reach: the embedded public-good root decides.
pub(crate) fn verify(bundle: &Path, args: &[&str]) -> Output {
    in_data(
        verify_attestation(bundle)
            .args(["--format", "json"])
            .args(args),
    )
}

/// Verifies and returns the Statement shown.
#[track_caller]
pub(crate) fn verified(bundle: &Path, args: &[&str]) -> Value {
    let out = verify(bundle, args);
    expect_code(&out, 0, &format!("{} {args:?}", bundle.display()));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["verified"], true, "{shown}");
    shown
}

/// Exit 1, with `why` in the reported error.
#[track_caller]
pub(crate) fn refused(bundle: &Path, args: &[&str], why: &str) {
    let out = verify(bundle, args);
    expect_code(&out, 1, &format!("{} {args:?} must fail", bundle.display()));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["verified"], false, "{shown}");
    let error = shown["error"].as_str().unwrap();
    assert!(error.contains(why), "{error:?} lacks {why:?}");
}

fn policy(dir: &Path, name: &str, toml: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, toml).unwrap();
    path.to_str().unwrap().to_owned()
}

/// For each (flag, value, why): exit 1 with `why` for `args` with the value
/// after `flag` replaced.
#[track_caller]
pub(crate) fn refused_each(bundle: &Path, args: &[&str], changes: &[(&str, &str, &str)]) {
    for (flag, value, why) in changes {
        refused(bundle, &with(args, flag, value), why);
    }
}

/// `args` with the value after `flag` replaced.
pub(crate) fn with<'a>(args: &[&'a str], flag: &str, value: &'a str) -> Vec<&'a str> {
    let mut out = args.to_vec();
    let at = out.iter().position(|a| *a == flag).unwrap();
    out[at + 1] = value;
    out
}

/// `args` without `flag` and its value.
pub(crate) fn without<'a>(args: &[&'a str], flag: &str) -> Vec<&'a str> {
    let mut out = args.to_vec();
    let at = out.iter().position(|a| *a == flag).unwrap();
    out.drain(at..at + 2);
    out
}

/// A copy of a JSON file with one byte changed by `tamper`.
pub(crate) fn tampered(
    dir: &Path,
    name: &str,
    original: &Path,
    tamper: impl FnOnce(&mut Value),
) -> PathBuf {
    let mut value: Value = serde_json::from_slice(&std::fs::read(original).unwrap()).unwrap();
    tamper(&mut value);
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
    path
}

/// The base64 string at `pointer`, decoded, with `edit` applied to the
/// bytes, encoded again.
pub(crate) fn edit_base64(value: &mut Value, pointer: &str, edit: impl FnOnce(&mut [u8])) {
    let slot = value.pointer_mut(pointer).unwrap();
    let mut bytes = B64.decode(slot.as_str().unwrap()).unwrap();
    edit(&mut bytes);
    *slot = Value::String(B64.encode(bytes));
}

/// One byte of a signed Statement changed, the JSON left valid: the first
/// `"sigstore` / `"pypi_` subject name letter becomes another letter.
fn flip_subject_name(payload: &mut [u8]) {
    let at = payload
        .windows(7)
        .position(|w| w == b"\"name\":")
        .expect("a subject name")
        + 8;
    assert!(payload[at].is_ascii_lowercase(), "{}", payload[at] as char);
    payload[at] = if payload[at] == b'x' { b'y' } else { b'x' };
}

/// `bundle` with one byte of its signed Statement changed (the JSON left
/// valid) is refused for its signature.
#[track_caller]
fn refused_with_changed_statement(dir: &Path, bundle: &Path, args: &[&str]) {
    let payload = tampered(dir, "payload.json", bundle, |b| {
        edit_base64(b, "/dsseEnvelope/payload", flip_subject_name)
    });
    refused(&payload, args, "signature");
}

/// `bundle` with the last byte of its DSSE signature changed is refused
/// for its signature.
#[track_caller]
fn refused_with_changed_signature(dir: &Path, bundle: &Path, args: &[&str]) {
    let signature = tampered(dir, "signature.json", bundle, |b| {
        edit_base64(b, "/dsseEnvelope/signatures/0/sig", flip_last_byte)
    });
    refused(&signature, args, "signature");
}

/// The last byte of an ECDSA signature (inside `s`): still DER, no longer
/// the signature.
fn flip_last_byte(signature: &mut [u8]) {
    let last = signature.last_mut().unwrap();
    *last ^= 0x01;
}

#[test]
fn npm_provenance_slsa_v02_bundle_v01_by_sha512_digest() {
    let tmp = tempdir();
    let bundle = data("sigstore-1.3.0.tgz.provenance.sigstore.json");
    let good = policy(
        tmp.path(),
        "good.toml",
        r#"
[[require]]
path = "builder.id"
equals = "https://github.com/actions/runner"
[[require]]
path = "invocation.configSource.uri"
equals = "git+https://github.com/sigstore/sigstore-js@refs/heads/main"
[[require]]
path = "invocation.configSource.entryPoint"
equals = ".github/workflows/release.yml"
"#,
    );
    let args = [
        "--certificate-identity",
        SIGSTORE_JS,
        "--certificate-oidc-issuer",
        GITHUB,
        "--predicate-type",
        "https://slsa.dev/provenance/v0.2",
        "--digest",
        SIGSTORE_1_3_0_SHA512,
        "--policy",
        &good,
    ];
    let shown = verified(&bundle, &args);
    assert_eq!(shown["identity"], SIGSTORE_JS);
    assert_eq!(shown["issuer"], GITHUB);
    let statement = &shown["statement"];
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v0.1");
    assert_eq!(
        statement["predicateType"],
        "https://slsa.dev/provenance/v0.2"
    );
    assert_eq!(statement["subject"][0]["name"], "pkg:npm/sigstore@1.3.0");
    assert_eq!(
        format!(
            "sha512:{}",
            statement["subject"][0]["digest"]["sha512"]
                .as_str()
                .unwrap()
        ),
        SIGSTORE_1_3_0_SHA512
    );

    let fork = "https://github.com/evil/sigstore-js/.github/workflows/release.yml@refs/heads/main";
    let other = format!("sha512:{SIGSTORE_2_1_0_SHA512}");
    let other_source = policy(
        tmp.path(),
        "fork.toml",
        "[[require]]\npath = \"invocation.configSource.uri\"\nprefix = \"git+https://github.com/evil/\"\n",
    );
    refused_each(
        &bundle,
        &args,
        &[
            ("--certificate-identity", fork, "identity mismatch"),
            (
                "--certificate-oidc-issuer",
                "https://gitlab.com",
                "issuer mismatch",
            ),
            ("--digest", &other, "is not a subject of the attestation"),
            (
                "--predicate-type",
                SLSA_V1,
                "predicate type is \"https://slsa.dev/provenance/v0.2\"",
            ),
            (
                "--policy",
                &other_source,
                "policy: predicate invocation.configSource.uri",
            ),
        ],
    );
}

#[test]
fn npm_provenance_slsa_v1_bundle_v03_for_the_tarball_with_github_claims() {
    let tmp = tempdir();
    let bundle = data("sigstore-2.1.0.tgz.provenance.sigstore.json");
    let good = policy(
        tmp.path(),
        "good.toml",
        r#"
[[require]]
path = "buildDefinition.buildType"
equals = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
[[require]]
path = "buildDefinition.externalParameters.workflow.repository"
equals = "https://github.com/sigstore/sigstore-js"
[[require]]
path = "buildDefinition.externalParameters.workflow.ref"
prefix = "refs/heads/"
[[require]]
path = "runDetails.builder.id"
one_of = ["https://github.com/actions/runner/github-hosted"]
"#,
    );
    let args = [
        "--certificate-identity-regexp",
        r"https://github\.com/sigstore/sigstore-js/\.github/workflows/release\.yml@refs/heads/.*",
        "--certificate-oidc-issuer",
        GITHUB,
        "--certificate-github-workflow-repository",
        "sigstore/sigstore-js",
        "--certificate-github-workflow-ref",
        "refs/heads/main",
        "--certificate-github-workflow-trigger",
        "push",
        "--predicate-type",
        SLSA_V1,
        "--subject",
        "sigstore-2.1.0.tgz",
        "--policy",
        &good,
    ];
    let shown = verified(&bundle, &args);
    assert_eq!(shown["identity"], SIGSTORE_JS);
    let statement = &shown["statement"];
    assert_eq!(statement["predicateType"], SLSA_V1);
    assert_eq!(statement["subject"][0]["name"], "pkg:npm/sigstore@2.1.0");
    assert_eq!(
        statement["subject"][0]["digest"]["sha512"],
        SIGSTORE_2_1_0_SHA512
    );
    // The same by digest.
    let digest = format!("sha512:{SIGSTORE_2_1_0_SHA512}");
    let mut by_digest = without(&args, "--subject");
    by_digest.extend(["--digest", digest.as_str()]);
    verified(&bundle, &by_digest);

    let other_builder = policy(
        tmp.path(),
        "self-hosted.toml",
        "[[require]]\npath = \"runDetails.builder.id\"\nequals = \"https://github.com/actions/runner/self-hosted\"\n",
    );
    let other_ref = policy(
        tmp.path(),
        "tags.toml",
        "[[require]]\npath = \"buildDefinition.externalParameters.workflow.ref\"\nprefix = \"refs/tags/\"\n",
    );
    refused_each(
        &bundle,
        &args,
        &[
            (
                "--certificate-identity-regexp",
                r"https://github\.com/sigstore/sigstore-js/\.github/workflows/other\.yml@.*",
                "does not match",
            ),
            (
                "--certificate-github-workflow-repository",
                "sigstore/sigstore-python",
                "workflow repository is \"sigstore/sigstore-js\"",
            ),
            (
                "--certificate-github-workflow-ref",
                "refs/tags/v2.1.0",
                "workflow ref is \"refs/heads/main\"",
            ),
            (
                "--subject",
                "pypi_attestations-0.0.19.tar.gz",
                "is not a subject of the attestation",
            ),
            (
                "--policy",
                &other_builder,
                "policy: predicate runDetails.builder.id",
            ),
            (
                "--policy",
                &other_ref,
                "policy: predicate buildDefinition.externalParameters.workflow.ref",
            ),
        ],
    );

    // One byte of the signed Statement, one byte of the signature.
    refused_with_changed_statement(tmp.path(), &bundle, &by_digest);
    refused_with_changed_signature(tmp.path(), &bundle, &by_digest);
}

#[test]
fn npm_publish_attestation_by_the_registry_key() {
    let tmp = tempdir();
    let bundle = data("sigstore-1.3.0.tgz.publish.sigstore.json");
    let args = [
        "--key",
        "npm-publish-key.pub",
        "--predicate-type",
        "https://github.com/npm/attestation/tree/main/specs/publish/v0.1",
        "--digest",
        SIGSTORE_1_3_0_SHA512,
    ];
    let shown = verified(&bundle, &args);
    assert_eq!(shown["identity"], Value::Null);
    assert_eq!(shown["statement"]["predicate"]["name"], "sigstore");
    assert_eq!(shown["statement"]["predicate"]["version"], "1.3.0");
    // A well-formed P-256 key that did not sign.
    let other_key = tmp.path().join("other.pub");
    let out = toto_in(
        tmp.path(),
        &["key", "generate", "--type", "ecdsa-p256", "-o", "other"],
    );
    expect_code(&out, 0, "key generate");
    let other = other_key.to_str().unwrap().to_owned();
    refused(&bundle, &with(&args, "--key", &other), "signature");
    refused_with_changed_signature(tmp.path(), &bundle, &args);
}

#[test]
fn github_artifact_attestation_from_a_reusable_workflow() {
    let tmp = tempdir();
    let bundle = data("reusable-workflow-artifact.sigstore.json");
    let args = [
        "--certificate-identity",
        REUSABLE,
        "--certificate-oidc-issuer",
        GITHUB,
        // The reusable workflow signs; the caller's repository is a claim.
        "--certificate-github-workflow-repository",
        "malancas/attest-demo",
        "--certificate-github-workflow-trigger",
        "workflow_dispatch",
        "--predicate-type",
        SLSA_V1,
        "--subject",
        "reusable-workflow-artifact",
    ];
    let shown = verified(&bundle, &args);
    assert_eq!(shown["identity"], REUSABLE);
    assert_eq!(
        shown["statement"]["predicate"]["buildDefinition"]["externalParameters"]["workflow"]
            ["repository"],
        "https://github.com/malancas/attest-demo"
    );
    refused_each(
        &bundle,
        &args,
        &[
            (
                "--certificate-github-workflow-repository",
                "github/artifact-attestations-workflows",
                "workflow repository is \"malancas/attest-demo\"",
            ),
            (
                "--certificate-github-workflow-trigger",
                "push",
                "workflow trigger is \"workflow_dispatch\"",
            ),
            (
                "--subject",
                "gitlab_oidc_project-0.0.3.tar.gz",
                "is not a subject of the attestation",
            ),
        ],
    );
    refused_with_changed_statement(tmp.path(), &bundle, &args[..8]);
}

/// cosign v3's blob bundle: a v0.3 message signature with both a SET and an
/// RFC 3161 timestamp, so two verified times (and the general verifier, as
/// the fast path does not take timestamps).
#[test]
fn cosign_v3_blob_bundle_with_a_set_and_a_timestamp() {
    let tmp = tempdir();
    let bundle = data("cosign-v3-blob.sigstore.json");
    let run = |bundle: &Path, identity: &str, issuer: &str, artifact: &str| {
        in_data(
            verify_bundle(bundle)
                .signer(identity, issuer)
                .args(["--format", "json", artifact]),
        )
    };
    let out = run(&bundle, COSIGN_SIGNER, GITHUB_OAUTH, "cosign-v3-blob.txt");
    expect_code(&out, 0, "cosign v3 blob bundle");
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["identity"], COSIGN_SIGNER);
    assert_eq!(
        shown["times"],
        serde_json::json!(["2025-12-03T18:36:42Z", "2025-12-03T18:36:43Z"]),
        "the timestamp's time and the log's"
    );
    for (identity, issuer, artifact, what) in [
        (
            "someone@example.com",
            GITHUB_OAUTH,
            "cosign-v3-blob.txt",
            "identity",
        ),
        (COSIGN_SIGNER, GITHUB, "cosign-v3-blob.txt", "issuer"),
        (
            COSIGN_SIGNER,
            GITHUB_OAUTH,
            "reusable-workflow-artifact",
            "artifact",
        ),
    ] {
        let out = run(&bundle, identity, issuer, artifact);
        expect_code(&out, 1, &format!("another {what}"));
    }
    let timestamp =
        "/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0/signedTimestamp";
    let changed = tampered(tmp.path(), "signature.json", &bundle, |b| {
        edit_base64(b, "/messageSignature/signature", flip_last_byte)
    });
    let out = run(&changed, COSIGN_SIGNER, GITHUB_OAUTH, "cosign-v3-blob.txt");
    expect_refused(&out, "tampered signature");
    // A timestamp that does not verify is no source of time (issue #18, as
    // sigstore-go and sigstore-python count them); the SET's integrated
    // time is one, so the bundle verifies at that time alone.
    let bad_timestamp = tampered(tmp.path(), "timestamp.json", &bundle, |b| {
        edit_base64(b, timestamp, flip_last_byte)
    });
    let out = run(
        &bad_timestamp,
        COSIGN_SIGNER,
        GITHUB_OAUTH,
        "cosign-v3-blob.txt",
    );
    expect_code(&out, 0, "tampered timestamp beside a SET");
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["times"], serde_json::json!(["2025-12-03T18:36:43Z"]));
    // sigstore-python agrees.
    let Some(py) = python("cosign_v3_blob_bundle_with_a_set_and_a_timestamp") else {
        return;
    };
    let python_verifies_bundle = |bundle: &Path, artifact: &str| {
        sigstore_verify(
            sigstore_python(&py, tmp.path()),
            bundle,
            COSIGN_SIGNER,
            GITHUB_OAUTH,
        )
        .current_dir(data(""))
        .arg("--offline")
        .arg(artifact)
        .output()
        .unwrap()
    };
    let python_verifies = |artifact: &str| python_verifies_bundle(&bundle, artifact);
    expect_code(&python_verifies("cosign-v3-blob.txt"), 0, "sigstore-python");
    expect_refused(
        &python_verifies("reusable-workflow-artifact"),
        "sigstore-python: another artifact",
    );
    expect_code(
        &python_verifies_bundle(&bad_timestamp, "cosign-v3-blob.txt"),
        0,
        "sigstore-python: tampered timestamp beside a SET",
    );
}

/// A conda publish attestation (DSSE, `dsse` 0.0.1 entry) made in GitHub
/// Actions for prefix.dev.
#[test]
fn conda_publish_attestation() {
    let tmp = tempdir();
    let bundle = data("conda-attestation.sigstore.json");
    let args = [
        "--certificate-identity",
        CONDA_SIGNER,
        "--certificate-oidc-issuer",
        GITHUB,
        "--predicate-type",
        CONDA_PUBLISH,
        "--subject",
        "signed-package-2.1.0-hb0f4dca_0.conda",
    ];
    let shown = verified(&bundle, &args);
    assert_eq!(
        shown["statement"]["predicate"]["targetChannel"],
        "https://prefix.dev/sigstore-example"
    );
    let channel = policy(
        tmp.path(),
        "channel.toml",
        "[[require]]\npath = \"targetChannel\"\nequals = \"https://prefix.dev/other\"\n",
    );
    refused_each(&bundle,
        &args,
        &[
            (
                "--certificate-identity",
                "https://github.com/prefix-dev/sigstore-example/.github/workflows/other.yaml@refs/heads/main",
                "identity",
            ),
            ("--predicate-type", SLSA_V1, "predicate type"),
            (
                "--subject",
                "cosign-v3-blob.txt",
                "is not a subject of the attestation",
            ),
        ],
    );
    refused(
        &bundle,
        &[&args[..], &["--policy", &channel]].concat(),
        "targetChannel",
    );
    refused_with_changed_statement(tmp.path(), &bundle, &args[..6]);
}

#[test]
fn pypi_provenance_object_and_pep740_attestations() {
    let tmp = tempdir();
    let provenance = data("pypi_attestations-0.0.19.tar.gz.provenance");
    let slsa = data("pypi_attestations-0.0.19.tar.gz.slsa.attestation");
    let base = [
        "--certificate-identity",
        PYPI_ATTESTATIONS,
        "--certificate-oidc-issuer",
        GITHUB,
        "--certificate-github-workflow-repository",
        "trailofbits/pypi-attestations",
        "--certificate-github-workflow-ref",
        "refs/tags/v0.0.19",
        "--subject",
        "pypi_attestations-0.0.19.tar.gz",
        "--predicate-type",
        PYPI_PUBLISH,
    ];
    let shown = verified(&provenance, &base);
    let statement = &shown["statement"];
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], PYPI_PUBLISH);
    assert_eq!(statement["predicate"], Value::Null);
    assert_eq!(
        statement["subject"][0]["name"],
        "pypi_attestations-0.0.19.tar.gz"
    );
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        PYPI_SDIST_SHA256
    );

    let good = policy(
        tmp.path(),
        "good.toml",
        r#"
[[require]]
path = "buildDefinition.externalParameters.workflow.repository"
equals = "https://github.com/trailofbits/pypi-attestations"
[[require]]
path = "buildDefinition.externalParameters.workflow.ref"
equals = "refs/tags/v0.0.19"
[[require]]
path = "buildDefinition.internalParameters.github.runner_environment"
equals = "github-hosted"
"#,
    );
    let mut slsa_args = with(&base, "--predicate-type", SLSA_V1);
    slsa_args.extend(["--policy", good.as_str()]);
    let shown = verified(&slsa, &slsa_args);
    assert_eq!(shown["statement"]["predicateType"], SLSA_V1);
    assert_eq!(
        shown["statement"]["subject"][0]["digest"]["sha256"],
        PYPI_SDIST_SHA256
    );

    for file in [&provenance, &slsa] {
        let args = if file == &slsa {
            &slsa_args[..]
        } else {
            &base[..]
        };
        let fork = "https://github.com/evil/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19";
        refused_each(
            file,
            args,
            &[
                ("--certificate-identity", fork, "identity mismatch"),
                (
                    "--certificate-oidc-issuer",
                    "https://gitlab.com",
                    "issuer mismatch",
                ),
                (
                    "--subject",
                    "gitlab_oidc_project-0.0.3.tar.gz",
                    "is not a subject of the attestation",
                ),
                (
                    "--certificate-github-workflow-ref",
                    "refs/tags/v0.0.20",
                    "workflow ref is \"refs/tags/v0.0.19\"",
                ),
            ],
        );
    }
    refused(
        &provenance,
        &with(&base, "--predicate-type", SLSA_V1),
        "predicate type is \"https://docs.pypi.org/attestations/publish/v1\"",
    );
    let other_ref = policy(
        tmp.path(),
        "main.toml",
        "[[require]]\npath = \"buildDefinition.externalParameters.workflow.ref\"\nequals = \"refs/heads/main\"\n",
    );
    refused(
        &slsa,
        &with(&slsa_args, "--policy", &other_ref),
        "policy: predicate buildDefinition.externalParameters.workflow.ref",
    );

    // One byte of the statement, one byte of the signature.
    let statement = tampered(tmp.path(), "statement.provenance", &provenance, |p| {
        edit_base64(
            p,
            "/attestation_bundles/0/attestations/0/envelope/statement",
            flip_subject_name,
        )
    });
    refused(&statement, &base[..8], "signature");
    let signature = tampered(tmp.path(), "signature.attestation", &slsa, |a| {
        edit_base64(a, "/envelope/signature", flip_last_byte)
    });
    refused(&signature, &slsa_args, "signature");

    // A provenance object with two attestations (the SLSA one first): the
    // one that passes every check is the one shown; when none does, each
    // one's reason is given.
    let slsa_object: Value = serde_json::from_slice(&std::fs::read(&slsa).unwrap()).unwrap();
    let two = tampered(tmp.path(), "two.provenance", &provenance, |p| {
        let list = p["attestation_bundles"][0]["attestations"]
            .as_array_mut()
            .unwrap();
        list.insert(0, slsa_object);
    });
    let shown = verified(&two, &base);
    assert_eq!(shown["statement"]["predicateType"], PYPI_PUBLISH);
    let shown = verified(&two, &slsa_args);
    assert_eq!(shown["statement"]["predicateType"], SLSA_V1);
    refused(&two,
        &with(&base, "--predicate-type", "https://example.com/other/v1"),
        "none of the 2 bundles in the file (PEP 740 provenance object) satisfies every check; attestation 1: predicate type is \"https://slsa.dev/provenance/v1\"",
    );

    // Malformed PEP 740 input is an input error (2), named as such.
    let unknown = tampered(tmp.path(), "unknown.attestation", &slsa, |a| {
        a["envelope"]["payload_type"] = Value::String("text/plain".into())
    });
    let out = verify(&unknown, &slsa_args);
    let what = "an unknown field in a PEP 740 attestation";
    expect_error(&out, 2, "PEP 740", what);
    expect_error(&out, 2, "unknown field \"payload_type\"", what);
}

#[test]
fn pep740_attestation_from_a_gitlab_trusted_publisher() {
    let attestation = data("gitlab_oidc_project-0.0.3.tar.gz.publish.attestation");
    let args = [
        "--certificate-identity",
        GITLAB_ID,
        "--certificate-oidc-issuer",
        "https://gitlab.com",
        "--predicate-type",
        PYPI_PUBLISH,
        "--subject",
        "gitlab_oidc_project-0.0.3.tar.gz",
    ];
    let shown = verified(&attestation, &args);
    assert_eq!(shown["issuer"], "https://gitlab.com");
    assert_eq!(
        shown["statement"]["subject"][0]["name"],
        "gitlab_oidc_project-0.0.3.tar.gz"
    );
    refused_each(
        &attestation,
        &args,
        &[
            ("--certificate-oidc-issuer", GITHUB, "issuer mismatch"),
            (
                "--subject",
                "pypi_attestations-0.0.19.tar.gz",
                "is not a subject of the attestation",
            ),
        ],
    );
}

/// The text output names the PEP 740 reading and the signer.
#[test]
fn text_output_shows_the_verified_statement_summary() {
    let out = in_data(
        verify_attestation("pypi_attestations-0.0.19.tar.gz.provenance")
            .signer(PYPI_ATTESTATIONS, GITHUB)
            .subject("pypi_attestations-0.0.19.tar.gz"),
    );
    let subject = "pypi_attestations-0.0.19.tar.gz";
    expect_stdout(
        &out,
        0,
        &[
            "read as:        PEP 740 provenance object (1 bundle); verified: attestation 1",
            &format!("signed by:      {PYPI_ATTESTATIONS} ({GITHUB})"),
            &format!("subject:        {subject} sha256:{PYPI_SDIST_SHA256}"),
        ],
        "text output",
    );
}

/// The README's commands for this workflow, run as written from
/// `testdata/real-world/`: each verifies.
#[test]
fn readme_real_world_commands_pass() {
    let joined = readme_block("<!-- real-world -->").replace("\\\n", " ");
    let commands: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("cd "))
        .collect();
    assert!(commands.len() >= 4, "{commands:?}");
    for command in commands {
        let words = shell_words(command);
        assert_eq!(words[0], "toto", "{command}");
        expect_code(&toto_in_data(&words[1..]), 0, command);
    }
}

pub(crate) fn sigstore_python(python: &Path, home: &Path) -> Command {
    let mut c = sigstore(python);
    c.env("HOME", home)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("XDG_DATA_HOME");
    c
}

/// sigstore-python 4.5.1 (offline, its own embedded public-good root) gives
/// the same verdicts on the same inputs: the GitHub artifact attestation as
/// it is, and the PEP 740 attestations as the bundles v0.3 they stand for
/// (built in Python, independently of toto's conversion, by the
/// differential driver's `pep740_to_bundle`, the way `pypi-attestations`'
/// `to_bundle` does). npm's provenance names its
/// subject by SHA-512 only, which sigstore-python's CLI does not match, so
/// it is left out.
#[test]
fn sigstore_python_agrees_on_the_real_world_inputs() {
    let Some((py, tmp)) = python_tempdir("sigstore_python_agrees_on_the_real_world_inputs") else {
        return;
    };
    // `pep740_to_bundle` of scripts/differential/driver.py.
    let convert = "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[3]); \
                   from driver import pep740_to_bundle; \
                   json.dump(pep740_to_bundle(Path(sys.argv[1])), open(sys.argv[2], 'w'))";
    let cases = [
        (
            data("reusable-workflow-artifact.sigstore.json"),
            REUSABLE,
            GITHUB,
            "reusable-workflow-artifact",
        ),
        (
            data("pypi_attestations-0.0.19.tar.gz.provenance"),
            PYPI_ATTESTATIONS,
            GITHUB,
            "pypi_attestations-0.0.19.tar.gz",
        ),
        (
            data("pypi_attestations-0.0.19.tar.gz.slsa.attestation"),
            PYPI_ATTESTATIONS,
            GITHUB,
            "pypi_attestations-0.0.19.tar.gz",
        ),
        (
            data("gitlab_oidc_project-0.0.3.tar.gz.publish.attestation"),
            GITLAB_ID,
            "https://gitlab.com",
            "gitlab_oidc_project-0.0.3.tar.gz",
        ),
        (
            data("conda-attestation.sigstore.json"),
            CONDA_SIGNER,
            GITHUB,
            "signed-package-2.1.0-hb0f4dca_0.conda",
        ),
    ];
    for (i, (input, identity, issuer, artifact)) in cases.iter().enumerate() {
        let bundle = if input.extension().is_some_and(|e| e == "json") {
            input.clone()
        } else {
            let out_path = tmp.path().join(format!("converted-{i}.sigstore.json"));
            let out = Command::new(&py)
                .args(["-c", convert])
                .arg(input)
                .arg(&out_path)
                .arg(repo_path("scripts/differential"))
                .output()
                .unwrap();
            expect_code(&out, 0, "convert PEP 740 in Python");
            out_path
        };
        let run = |artifact: &str, identity: &str| {
            sigstore_verify(sigstore_python(&py, tmp.path()), &bundle, identity, issuer)
                .current_dir(data(""))
                .arg("--offline")
                .arg(artifact)
                .output()
                .unwrap()
        };
        let out = run(artifact, identity);
        expect_code(
            &out,
            0,
            &format!("sigstore-python verifies {}", input.display()),
        );
        let ours = verify(
            input,
            &[
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                issuer,
                "--subject",
                artifact,
            ],
        );
        expect_code(&ours, 0, &format!("toto verifies {}", input.display()));
        // Both refuse another artifact and another identity.
        let other = if *artifact == "reusable-workflow-artifact" {
            "sigstore-2.1.0.tgz"
        } else {
            "reusable-workflow-artifact"
        };
        expect_refused(&run(other, identity), "sigstore-python: other artifact");
        expect_refused(
            &run(
                artifact,
                "https://github.com/evil/x/.github/workflows/r.yml@refs/heads/main",
            ),
            "sigstore-python: other identity",
        );
    }
}
