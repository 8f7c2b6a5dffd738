//! Sigstore bundles and attestation documents as other tools write them
//! (issue #18): identities in every SAN form Fulcio issues, gh's JSON Lines
//! files, npm's attestations document. Real files are under
//! `testdata/peers/` (its README names where each comes from); what must be
//! signed fresh is forged with the testbed's keys (`testkit::forge`).

use std::path::{Path, PathBuf};
use std::process::Output;

use testbed::pki::Identity;
use testkit::forge::{self, LeafSpec};

use crate::common::{
    expect_code, expect_error, verify_attestation, verify_bundle, Forged, VerifyFlags,
};

const ARTIFACT: &[u8] = b"release bytes\n";
const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// This file's bundles and checks on the shared fixture.
impl Forged {
    /// A leaf the testbed's Fulcio would issue, with `san` as its SAN.
    fn signer(&self, san: Identity) -> forge::Signer {
        let mut spec = LeafSpec::fulcio(
            san.as_str(),
            self.tb.issuer(),
            Some(&self.forge.ct),
            testbed::now(),
        );
        spec.san = Some(san);
        forge::leaf(&self.forge.intermediate, &spec).unwrap()
    }

    /// A blob bundle over the artifact and an attestation bundle naming it,
    /// both signed by a leaf whose SAN is `san`, written as `NAME.blob.json`
    /// and `NAME.att.json`.
    fn bundles(&self, name: &str, san: Identity) -> (PathBuf, PathBuf) {
        let signer = self.signer(san);
        let now = testbed::now();
        let blob = self.forge.blob_bundle(&signer, ARTIFACT, now).unwrap();
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "app.tar.gz", "digest": {"sha256": hex::encode(sha256(ARTIFACT))}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {"buildType": "https://example.com/b"}},
        });
        let att = self
            .forge
            .dsse_bundle(
                &signer,
                PAYLOAD_TYPE,
                statement.to_string().as_bytes(),
                None,
                now,
            )
            .unwrap();
        let (blob_path, att_path) = (
            self.path(&format!("{name}.blob.json")),
            self.path(&format!("{name}.att.json")),
        );
        std::fs::write(&blob_path, blob.to_string()).unwrap();
        std::fs::write(&att_path, att.to_string()).unwrap();
        (blob_path, att_path)
    }

    /// `verify-bundle` of `bundle` over the artifact, by `identity`.
    fn verify_blob(&self, bundle: &Path, identity: &str) -> Output {
        verify_bundle(bundle)
            .testbed_signer(&self.tb, identity)
            .arg(&self.artifact)
            .output()
            .unwrap()
    }

    /// `verify-attestation` of `bundle` with the artifact as subject, by
    /// `identity`.
    fn verify_att(&self, bundle: &Path, identity: &str, subject: bool) -> Output {
        let mut cmd = verify_attestation(bundle);
        cmd.testbed_signer(&self.tb, identity);
        if subject {
            cmd.subject(&self.artifact);
        }
        cmd.output().unwrap()
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// Fulcio issues email, URI and username (`otherName`,
/// 1.3.6.1.4.1.57264.1.7, a UTF8String) SANs; a bundle by each verifies
/// for its identity, exactly or by regular expression, as a blob and as an
/// attestation (with and without a subject), and is refused for another
/// identity with a message naming the SAN found and the one expected.
/// Before, toto said "expected …, got none" for the username identity.
#[test]
fn identities_in_every_san_form_fulcio_issues() {
    let f = Forged::new(ARTIFACT);
    let forms = [
        ("email", Identity::Email("alice@example.com".into())),
        (
            "uri",
            Identity::Uri("https://example.com/ci/release@v1".into()),
        ),
        ("username", Identity::Username("alice!example.com".into())),
    ];
    for (name, san) in forms {
        let identity = san.as_str().to_owned();
        let (blob, att) = f.bundles(name, san);
        let out = f.verify_blob(&blob, &identity);
        expect_code(&out, 0, &format!("{name}: verify-bundle"));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&identity),
            "{name}: the verified identity is not shown: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        expect_code(
            &f.verify_att(&att, &identity, true),
            0,
            &format!("{name}: verify-attestation --subject"),
        );
        let out = f.verify_att(&att, &identity, false);
        expect_code(&out, 0, &format!("{name}: verify-attestation"));
        let regexp = verify_bundle(&blob)
            .args([
                "--certificate-identity-regexp",
                &format!("{}.*", &identity[..3]),
            ])
            .args(["--certificate-oidc-issuer", f.tb.issuer()])
            .args(["--trusted-root"])
            .arg(f.tb.trusted_root_path())
            .arg(&f.artifact)
            .output()
            .unwrap();
        expect_code(
            &regexp,
            0,
            &format!("{name}: --certificate-identity-regexp"),
        );

        // sigstore-python 4.5.1 agrees on email and URI SANs. On the
        // username it compares the otherName's DER (tag 0x0c, length, text)
        // with the identity, so never matches: a known disagreement, pinned
        // here so that a fixed peer shows up. sigstore-go decodes the
        // UTF8String (cryptoutils.UnmarshalOtherNameSAN), as toto does.
        if let Some(py) = crate::common::python("identities_in_every_san_form_fulcio_issues") {
            let out = crate::common::python_verify(&py, &f.tb, &blob, &identity, &f.artifact);
            if name == "username" {
                expect_error(&out, 1, r"'\x0c\x11alice!example.com'", "sigstore-python");
            } else {
                expect_code(&out, 0, &format!("{name}: sigstore-python"));
            }
        }
        // sigstore-js (tests/peer/js, @sigstore/verify) reads no otherName
        // SAN ("expected alice!example.com, got undefined"): pinned too.
        if let Some(js) = crate::common::node_peer("identities_in_every_san_form_fulcio_issues") {
            let out = crate::common::js_verify(&js, &f.tb, &blob, &f.artifact, &identity);
            if name == "username" {
                expect_error(&out, 1, "got undefined", "sigstore-js");
            } else {
                expect_code(&out, 0, &format!("{name}: sigstore-js"));
            }
        }
        // Another identity of the same form: refused, naming both.
        let other = identity
            .replacen("alice", "mallory", 1)
            .replacen("ci", "cd", 1);
        let said = format!("{identity:?}, expected {other:?}");
        expect_error(&f.verify_blob(&blob, &other), 1, &said, name);
        expect_error(&f.verify_att(&att, &other, true), 1, &said, name);
        expect_error(&f.verify_att(&att, &other, false), 1, &said, name);
    }
}

/// A file of `testdata/peers/`.
fn peers(name: &str) -> PathBuf {
    crate::common::repo_path(&format!("testdata/peers/{name}"))
}

const GITHUB: &str = "https://token.actions.githubusercontent.com";
const SIGSTORE_JS: &str =
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main";
const GUNDAM_VISOR: &str =
    "https://github.com/ramonpetgrave64/gundam-visor/.github/workflows/npm-publish.yml@refs/tags/v1.0.1";
const NPM_PUBLISH: &str = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";

/// `toto verify-attestation --bundle BUNDLE` by `identity` at GitHub's
/// issuer, against the embedded public-good root, with `extra` flags.
fn verify_real(bundle: &Path, identity: &str, extra: &[&str]) -> Output {
    let cache = crate::common::tempdir();
    verify_attestation(bundle)
        .env("XDG_CACHE_HOME", cache.path())
        .signer(identity, GITHUB)
        .args(extra)
        .output()
        .unwrap()
}

/// gh's JSON Lines files (cli/cli's test data; `gh attestation download`
/// writes one bundle per line): toto verifies every line, selects those
/// that pass every check, and names them; gh's own tests: two bundles
/// load and verify, blank lines are skipped, an empty file and bundles
/// without verification material or content are refused on reading.
#[test]
fn gh_json_lines_select_the_bundles_that_verify_and_name_their_lines() {
    let jsonl = peers("sigstore-js-2.1.0_with_2_bundles.jsonl");
    let tgz = crate::common::repo_path("testdata/real-world/sigstore-2.1.0.tgz");
    let tgz = tgz.to_str().unwrap();
    let out = verify_real(&jsonl, SIGSTORE_JS, &["--subject", tgz]);
    crate::common::expect_stdout(
        &out,
        0,
        &["read as:        JSON Lines of Sigstore bundles (2 bundles); verified: line 1, line 2"],
        "gh's two-bundle JSON Lines file",
    );
    let out = verify_real(&jsonl, SIGSTORE_JS, &["--subject", tgz, "--format", "json"]);
    expect_code(&out, 0, "--format json");
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["format"], "JSON Lines of Sigstore bundles");
    assert_eq!(shown["entry"], "line 1");
    assert_eq!(
        shown["verified_entries"],
        serde_json::json!(["line 1", "line 2"])
    );

    // Another subject, another signer: no line verifies; each is named.
    let other = peers("gundam-visor-cli-v1-tag.tgz");
    let out = verify_real(&jsonl, SIGSTORE_JS, &["--subject", other.to_str().unwrap()]);
    expect_error(
        &out,
        1,
        "none of the 2 bundles in the file (JSON Lines of Sigstore bundles) satisfies every check; line 1: ",
        "wrong subject",
    );
    expect_error(
        &verify_real(&jsonl, GUNDAM_VISOR, &["--subject", tgz]),
        1,
        "line 2: cannot verify",
        "wrong identity",
    );

    // Line 1 tampered, line 3 (after a blank line) genuine: line 3 is
    // selected; blank lines are skipped as gh skips them.
    let dir = crate::common::tempdir();
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut tampered: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    tampered["dsseEnvelope"]["signatures"][0]["sig"] =
        serde_json::Value::String(base64_of(b"not the signature"));
    let mixed = dir.path().join("mixed.jsonl");
    std::fs::write(&mixed, format!("{tampered}\n\n{}\n\n\n", lines[1])).unwrap();
    crate::common::expect_stdout(
        &verify_real(&mixed, SIGSTORE_JS, &["--subject", tgz]),
        0,
        &["(2 bundles); verified: line 3"],
        "one tampered line",
    );

    // What gh refuses on reading, toto refuses as malformed input (2).
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "\n\n").unwrap();
    for (file, says) in [
        (empty, "the file is empty"),
        (
            peers("github_provenance_demo-0.0.12-py3-none-any-bundle-missing-cert.jsonl"),
            "this bundle has neither",
        ),
        (
            peers("github_provenance_demo-0.0.12-py3-none-any-bundle-missing-verification-material.jsonl"),
            "no verificationMaterial",
        ),
    ] {
        expect_error(&verify_real(&file, SIGSTORE_JS, &[]), 2, says, says);
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A refused verification: file, identity, arguments, exit code, what the
/// error says, the case.
type Refusal<'a> = (&'a Path, &'a str, &'a [&'a str], i32, &'a str, &'a str);

/// npm's attestations document (slsa-verifier's test data, as the registry
/// serves it): the SLSA provenance (keyless, by the publishing workflow)
/// and npm's publish attestation (the registry's key) verified in one
/// command, with the verdicts slsa-verifier's `Test_runVerifyNpmPackage`
/// states: the genuine document verifies, one whose provenance or publish
/// signature is broken does not, a builder id it does not name fails.
#[test]
fn npm_attestations_document_verifies_provenance_and_publish_in_one_command() {
    let doc = peers("gundam-visor-cli-v1-tag.tgz.json");
    let tgz = peers("gundam-visor-cli-v1-tag.tgz");
    let key = crate::common::repo_path("testdata/real-world/npm-publish-key.pub");
    let subject = ["--subject", tgz.to_str().unwrap()];
    let with_key = [&subject[..], &["--npm-publish-key", key.to_str().unwrap()]].concat();

    crate::common::expect_stdout(
        &verify_real(&doc, GUNDAM_VISOR, &with_key),
        0,
        &[
            "read as:        npm attestations document (2 bundles); verified: attestation 1, attestation 2",
            &format!("also verified:  attestation 1 ({NPM_PUBLISH}), signed by the npm publish key"),
            "predicate type: https://slsa.dev/provenance/v1",
        ],
        "npm document with the publish key",
    );
    // Without the key the provenance is selected alone.
    crate::common::expect_stdout(
        &verify_real(&doc, GUNDAM_VISOR, &subject),
        0,
        &["verified: attestation 2"],
        "npm document, provenance only",
    );
    // slsa-verifier: "invalid signature provenance npm CLI v1".
    let bad_provenance = peers("gundam-visor-cli-v1-tag-invalidsigprov.tgz.json");
    for args in [&subject[..], &with_key[..]] {
        expect_error(
            &verify_real(&bad_provenance, GUNDAM_VISOR, args),
            1,
            "attestation 2: cannot verify",
            "broken provenance signature",
        );
    }
    // slsa-verifier: "invalid signature publish npm CLI v1". Without
    // --npm-publish-key toto does not check the publish attestation.
    let bad_publish = peers("gundam-visor-cli-v1-tag-invalidsigpub.tgz.json");
    expect_code(
        &verify_real(&bad_publish, GUNDAM_VISOR, &subject),
        0,
        "broken publish signature, provenance only",
    );
    // slsa-verifier: "valid npm CLI builder v1 mismatch builder".
    let dir = crate::common::tempdir();
    let policy = dir.path().join("builder.toml");
    std::fs::write(
        &policy,
        "[[require]]\npath = \"runDetails.builder.id\"\nequals = \"https://github.com/actions/runner/github-hosted2\"\n",
    )
    .unwrap();
    let builder = [&with_key[..], &["--policy", policy.to_str().unwrap()]].concat();
    // Another package's tarball is no subject of either attestation.
    let other = crate::common::repo_path("testdata/real-world/sigstore-2.1.0.tgz");
    // The document's predicateType is not signed: it must be the signed one.
    let mut claimed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&doc).unwrap()).unwrap();
    claimed["attestations"][1]["predicateType"] = "https://slsa.dev/provenance/v0.2".into();
    let claimed_path = dir.path().join("claimed.json");
    std::fs::write(&claimed_path, claimed.to_string()).unwrap();
    let refused: [Refusal; 5] = [
        (
            &bad_publish,
            GUNDAM_VISOR,
            &with_key,
            1,
            "1 of the 2 attestations in the file (npm attestations document) not verified",
            "broken publish signature",
        ),
        (
            &doc,
            GUNDAM_VISOR,
            &builder,
            1,
            "policy: predicate runDetails.builder.id is \"https://github.com/actions/runner/github-hosted\"",
            "another builder",
        ),
        // The key applies to npm's document only: a usage error elsewhere.
        (
            &peers("sigstore-js-2.1.0_with_2_bundles.jsonl"),
            SIGSTORE_JS,
            &with_key,
            2,
            "--npm-publish-key applies to npm's attestations document",
            "--npm-publish-key on JSON Lines",
        ),
        (
            &doc,
            GUNDAM_VISOR,
            &["--subject", other.to_str().unwrap()],
            1,
            "is not a subject of the attestation",
            "another tarball",
        ),
        (
            &claimed_path,
            GUNDAM_VISOR,
            &with_key,
            1,
            "attestation 2: the document says predicate type \"https://slsa.dev/provenance/v0.2\", \
             the signed Statement says \"https://slsa.dev/provenance/v1\"",
            "a claimed predicate type that is not the signed one",
        ),
    ];
    for (file, identity, args, code, says, case) in refused {
        expect_error(&verify_real(file, identity, args), code, says, case);
    }
}

/// slsa-github-generator's `.intoto.jsonl` (slsa-verifier's test data) is a
/// bare DSSE envelope whose log entry is only in Rekor: said so, exit 2.
#[test]
fn a_legacy_intoto_jsonl_envelope_is_named() {
    let out = verify_real(
        &peers("binary-linux-amd64-workflow_dispatch.intoto.jsonl"),
        SIGSTORE_JS,
        &[],
    );
    expect_error(
        &out,
        2,
        "found a bare DSSE envelope, not a Sigstore bundle",
        "envelope",
    );
    expect_error(&out, 2, "only in Rekor", "envelope");
}

/// The README's commands for these files, run as written from
/// `testdata/peers/`: each verifies.
#[test]
fn readme_peer_commands_pass() {
    assert_eq!(
        crate::common::readme_commands_pass("<!-- peers -->", &peers("")),
        2
    );
}

/// Several RFC 3161 timestamps (Rekor v2 bundles, whose only source of
/// time they are): those that verify against the trusted TSAs count, each
/// authority once, and one verified time is the threshold, as sigstore-go
/// and sigstore-python apply it. Before, one timestamp over other data
/// beside a good one refused the whole bundle.
#[test]
fn several_timestamps_count_those_that_verify_each_authority_once() {
    use serde_json::Value;
    let v2 =
        crate::common::Signing::new(crate::rekor_v2::start_v2, "alice@example.com", "app.tar.gz");
    let (blob, attestation) = v2.sign_both("app");
    let read = |p: &Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    const STAMPS: &str = "/verificationMaterial/timestampVerificationData/rfc3161Timestamps";
    let good = read(&blob).pointer(STAMPS).unwrap()[0].clone();
    // The attestation's timestamp is over another signature.
    let other = read(&attestation).pointer(STAMPS).unwrap()[0].clone();
    let with = |name: &str, stamps: Vec<&Value>| -> PathBuf {
        let mut bundle = read(&blob);
        *bundle.pointer_mut(STAMPS).unwrap() = Value::Array(stamps.into_iter().cloned().collect());
        let path = v2.path(&format!("{name}.sigstore.json"));
        std::fs::write(&path, bundle.to_string()).unwrap();
        path
    };
    // A second timestamp of the same signature by the same TSA: distinct
    // bytes, the same authority.
    let signature = read(&blob)["messageSignature"]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let again =
        serde_json::json!({"signedTimestamp": base64_of(&tsa_answer(&v2.tb, &signature, 0))});
    assert_ne!(again, good);
    let cases = [
        ("same_authority_twice_counts_once", vec![&good, &again], 0),
        ("good_then_other_data", vec![&good, &other], 0),
        ("other_data_then_good", vec![&other, &good], 0),
        ("only_other_data", vec![&other], 1),
        ("other_data_and_its_twin", vec![&other, &other], 2),
        ("the_same_timestamp_twice", vec![&good, &good], 2),
    ];
    let py =
        crate::common::python("several_timestamps_count_those_that_verify_each_authority_once");
    for (name, stamps, code) in cases {
        let path = with(name, stamps);
        let out = v2.verify_bundle(&path);
        expect_code(&out, code, name);
        match code {
            1 => expect_error(&out, 1, "timestamp", name),
            // One spelling per bundle (keyless::bundle::schema): the same
            // bytes twice are malformed, as sigstore-python refuses them.
            2 => expect_error(&out, 2, "the same RFC 3161 timestamp is there twice", name),
            _ => {}
        }
        // sigstore-python gives the same verdicts (it refuses identical
        // timestamps with "duplicate timestamp found").
        if let Some(py) = &py {
            let out = v2.python_verify(py, &path, v2.signer, &v2.artifact);
            match code {
                2 => expect_error(&out, 1, "duplicate timestamp found", name),
                _ => expect_code(&out, code, &format!("{name}: sigstore-python")),
            }
        }
    }
    // The verified times: one per authority, none from other data.
    for (name, stamps) in [
        ("times_same_authority", vec![&good, &again]),
        ("times_other_data", vec![&other, &good]),
    ] {
        let out = verify_bundle(with(name, stamps))
            .testbed_signer(&v2.tb, v2.signer)
            .args(["--format", "json"])
            .arg(&v2.artifact)
            .output()
            .unwrap();
        expect_code(&out, 0, name);
        let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            shown["times"].as_array().map(Vec::len),
            Some(1),
            "{name}: {shown}"
        );
    }
    // More than 32 (both peers' limit): malformed.
    let more: Vec<Value> = (1..=31)
        .map(|n| serde_json::json!({"signedTimestamp": base64_of(&tsa_answer(&v2.tb, &signature, n))}))
        .collect();
    let mut thirty_three = vec![&good, &again];
    thirty_three.extend(&more);
    let many = with("thirty_three", thirty_three);
    expect_error(
        &v2.verify_bundle(&many),
        2,
        "33 RFC 3161 timestamps, over the limit of 32",
        "33",
    );
}

/// The testbed TSA's answer (DER `TimeStampResp`) for `signature` (base64),
/// asked over HTTP as a signer asks.
fn tsa_answer(tb: &testbed::Testbed, signature: &str, nonce: u8) -> Vec<u8> {
    use base64::Engine as _;
    use std::io::{Read as _, Write as _};
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .unwrap();
    let request = testbed::tsa::request_for(&signature, &[0x01, nonce]).unwrap();
    let host = tb.url().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&host).unwrap();
    write!(
        stream,
        "POST /api/v1/timestamp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/timestamp-query\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        request.len()
    )
    .unwrap();
    stream.write_all(&request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let head_end = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    answer.split_off(head_end + 4)
}

/// `verify-bundle` (and every reader of one bundle) names the format it
/// found when given a file of several bundles or a bare envelope, instead
/// of "exactly one of messageSignature or dsseEnvelope must be set".
#[test]
fn one_bundle_readers_name_the_format_they_found() {
    let tgz = peers("gundam-visor-cli-v1-tag.tgz");
    for (file, says) in [
        (
            peers("sigstore-js-2.1.0_with_2_bundles.jsonl"),
            "found JSON Lines of Sigstore bundles holding 2 bundles, expected one Sigstore bundle",
        ),
        (
            peers("gundam-visor-cli-v1-tag.tgz.json"),
            "found npm attestations document holding 2 bundles, expected one Sigstore bundle",
        ),
        (
            peers("binary-linux-amd64-workflow_dispatch.intoto.jsonl"),
            "found a bare DSSE envelope, not a Sigstore bundle",
        ),
    ] {
        let out = verify_bundle(&file)
            .signer(GUNDAM_VISOR, GITHUB)
            .arg(&tgz)
            .output()
            .unwrap();
        expect_error(&out, 2, says, says);
    }
}
