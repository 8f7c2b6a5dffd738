//! `verify-attestation --policy FILE.rego` (#20): Rego policies as cosign
//! (`allow`) and witness (`deny` messages) users write them, evaluated by
//! regorus on the verified Statement and signer, on the real bundles of
//! `testdata/real-world/`: a policy that allows, one that denies with its
//! message, a syntax error, a field the Statement lacks, a key signer's
//! input, and a forged Statement no policy can pass.

use std::path::Path;
use std::process::Output;

use crate::common::{expect_code, expect_error, tempdir, write};
use crate::real_world::{
    data, edit_base64, tampered, toto_in_data, GITHUB, PYPI_ATTESTATIONS, PYPI_PUBLISH,
    SIGSTORE_1_3_0_SHA512, SIGSTORE_JS,
};

/// `toto verify-attestation` of sigstore@2.1.0's npm provenance (`bundle`,
/// the real one unless forged) by its signer, with `--policy POLICY`.
fn verify_sigstore_js(bundle: &Path, policy: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<std::ffi::OsString> = vec![
        "verify-attestation".into(),
        "sigstore-2.1.0.tgz".into(),
        "--bundle".into(),
        bundle.into(),
        "--certificate-identity".into(),
        SIGSTORE_JS.into(),
        "--certificate-oidc-issuer".into(),
        GITHUB.into(),
        "--policy".into(),
        policy.into(),
    ];
    args.extend(extra.iter().map(Into::into));
    toto_in_data(&args)
}

fn provenance() -> std::path::PathBuf {
    data("sigstore-2.1.0.tgz.provenance.sigstore.json")
}

/// cosign's form: `allow` true on what the predicate and the certificate
/// say; the summary names the policy.
#[test]
fn an_allow_policy_passes_the_provenance_it_describes() {
    let tmp = tempdir();
    let out = verify_sigstore_js(&provenance(), &data("sigstore-js.allow.rego"), &[]);
    expect_code(&out, 0, "sigstore-js.allow.rego");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("policy:         ") && stdout.contains("sigstore-js.allow.rego allows"),
        "{stdout}"
    );
    // One condition changed (the runner the certificate names): allow is
    // undefined, a denial.
    let text = std::fs::read_to_string(data("sigstore-js.allow.rego"))
        .unwrap()
        .replace("== \"github-hosted\"", "== \"self-hosted\"");
    let policy = write(&tmp.path().join("self-hosted.rego"), &text);
    let out = verify_sigstore_js(&provenance(), &policy, &[]);
    expect_error(
        &out,
        1,
        "denies: data.signature.allow is undefined (no allow rule held)",
        "another runner",
    );
}

/// witness's form: each `deny` message is printed, in text and JSON.
#[test]
fn a_deny_policy_fails_with_its_message() {
    let policy = data("sigstore-js.release-tag.rego");
    let out = verify_sigstore_js(&provenance(), &policy, &[]);
    expect_error(
        &out,
        1,
        "sigstore-js.release-tag.rego denies: built from refs/heads/main, not from a release tag",
        "built from a branch",
    );
    let out = verify_sigstore_js(&provenance(), &policy, &["--format", "json"]);
    expect_code(&out, 1, "--format json");
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["verified"], false);
    assert!(
        shown["error"]
            .as_str()
            .unwrap()
            .contains("built from refs/heads/main, not from a release tag"),
        "{shown}"
    );
}

/// A module that does not parse (as v1 or v0) is an input error naming the
/// file and the line; so is one declaring neither rule.
#[test]
fn a_policy_that_does_not_parse_is_exit_2_naming_file_and_line() {
    let tmp = tempdir();
    let broken = write(
        &tmp.path().join("broken.rego"),
        "package signature\n\nallow if {\n\tinput.predicateType ==\n}\n",
    );
    let out = verify_sigstore_js(&provenance(), &broken, &[]);
    expect_code(&out, 2, "syntax error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let named = format!("{}:", broken.display());
    assert!(stderr.contains("malformed Rego policy"), "{stderr}");
    assert!(stderr.contains(&named), "{named} in {stderr}");
    assert!(!stderr.contains("verification failed"), "{stderr}");

    let neither = write(
        &tmp.path().join("neither.rego"),
        "package signature\n\nok := true\n",
    );
    let out = verify_sigstore_js(&provenance(), &neither, &[]);
    expect_error(&out, 2, "declares neither `allow` nor `deny`", "no rule");
}

/// A field the Statement does not have: an `allow` reading it is undefined
/// (a denial); a `deny` that tests for presence fires on it (PyPI's
/// publish attestation has a null predicate). A managed key's signer is
/// `{"kind": "key"}`: the certificate fields are absent there, and a
/// policy can say so.
#[test]
fn a_policy_reading_an_absent_field_never_passes_by_accident() {
    let tmp = tempdir();
    let policy = write(
        &tmp.path().join("absent.rego"),
        "package signature\nimport rego.v1\n\
         allow if input.predicate.buildDefinition.noSuchField == \"x\"\n",
    );
    let out = verify_sigstore_js(&provenance(), &policy, &[]);
    expect_error(
        &out,
        1,
        "data.signature.allow is undefined",
        "an absent field",
    );

    let release_tag = data("sigstore-js.release-tag.rego");
    let out = toto_in_data(&[
        "verify-attestation",
        "pypi_attestations-0.0.19.tar.gz",
        "--bundle",
        "pypi_attestations-0.0.19.tar.gz.provenance",
        "--certificate-identity",
        PYPI_ATTESTATIONS,
        "--certificate-oidc-issuer",
        GITHUB,
        "--predicate-type",
        PYPI_PUBLISH,
        "--policy",
        release_tag.to_str().unwrap(),
    ]);
    expect_error(
        &out,
        1,
        "denies: the provenance names no source ref",
        "a publish attestation has no workflow ref",
    );

    let policy = write(
        &tmp.path().join("key.rego"),
        "package npm\nimport rego.v1\n\
         allow if {\n\tinput.signer.kind == \"key\"\n\tnot input.signer.identity\n\
         \tinput.subject[0].name == \"pkg:npm/sigstore@1.3.0\"\n}\n",
    );
    let out = toto_in_data(&[
        "verify-attestation",
        SIGSTORE_1_3_0_SHA512,
        "--bundle",
        "sigstore-1.3.0.tgz.publish.sigstore.json",
        "--key",
        "npm-publish-key.pub",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    expect_code(&out, 0, "a key-signed publish attestation");
}

/// A Statement changed after signing, so that a policy would allow it (the
/// workflow ref made a tag), fails verification: the policy, even one that
/// allows everything, is never asked.
#[test]
fn a_forged_statement_fails_before_any_policy_is_evaluated() {
    let tmp = tempdir();
    let forged = tampered(tmp.path(), "forged.sigstore.json", &provenance(), |v| {
        edit_base64(v, "/dsseEnvelope/payload", |payload| {
            let at = payload
                .windows(15)
                .position(|w| w == b"refs/heads/main")
                .unwrap();
            payload[at..at + 15].copy_from_slice(b"refs/tags/v2.10");
        })
    });
    let release_tag = data("sigstore-js.release-tag.rego");
    let out = verify_sigstore_js(&provenance(), &release_tag, &[]);
    expect_code(&out, 1, "the real provenance is denied");
    let everything = write(
        &tmp.path().join("everything.rego"),
        "package signature\nallow := true\n",
    );
    for policy in [&release_tag, &everything] {
        let out = verify_sigstore_js(&forged, policy, &[]);
        expect_code(&out, 1, &format!("forged, {}", policy.display()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("denies"), "{stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("Verified"));
    }
}
