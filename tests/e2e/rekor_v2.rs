//! Keyless signing against the testbed in Rekor v2 mode: a `hashedrekord`
//! 0.0.2 entry with an inclusion proof to a signed checkpoint, no SET, and
//! an RFC 3161 timestamp from the testbed's TSA for the signing time.
//! toto's bundles are verified by toto, sigstore-python 4.5.1 and
//! sigstore-js; sigstore-python's v2 bundles by toto; tampered timestamps
//! and proofs are refused, when signing and when verifying.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::Value;

use crate::common::{expect_code, node_peer, python, python_bin_dir, tempdir, toto};

const REKOR_V1: &str = "/api/v1/log/entries";
const REKOR_V2: &str = "/api/v2/log/entries";
const TSA: &str = "/api/v1/timestamp";

fn start(dir: &Path) -> testbed::Testbed {
    testbed::Testbed::start_with(
        &testbed::Config {
            dir: dir.join("testbed"),
            port: 0,
        },
        &testbed::Options { rekor_v2: true },
    )
    .unwrap()
}

fn token(tb: &testbed::Testbed, identity: &str) -> String {
    tb.token(&testbed::TokenRequest {
        identity: identity.into(),
        ..Default::default()
    })
    .unwrap()
}

fn keyless(tb: &testbed::Testbed, token: &str) -> Vec<String> {
    vec![
        "--keyless".into(),
        "--trust-config".into(),
        tb.trust_config_path().display().to_string(),
        "--identity-token".into(),
        token.into(),
    ]
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_owned()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn sign_blob(tb: &testbed::Testbed, token: &str, artifact: &Path, bundle: &Path) -> Output {
    toto()
        .arg("sign-blob")
        .args(keyless(tb, token))
        .arg("--bundle")
        .arg(bundle)
        .arg(artifact)
        .output()
        .unwrap()
}

fn attest(tb: &testbed::Testbed, token: &str, subject: &Path, bundle: &Path) -> Output {
    toto()
        .arg("attest")
        .args(keyless(tb, token))
        .args([
            "--predicate-type",
            "https://example.com/review/v1",
            "--subject",
        ])
        .arg(subject)
        .arg("-o")
        .arg(bundle)
        .output()
        .unwrap()
}

fn verify_bundle(tb: &testbed::Testbed, bundle: &Path, identity: &str, file: &Path) -> Output {
    toto()
        .args(["verify-bundle", "--bundle"])
        .arg(bundle)
        .args([
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            tb.issuer(),
            "--trusted-root",
        ])
        .arg(tb.trusted_root_path())
        .arg(file)
        .output()
        .unwrap()
}

fn verify_attestation(
    tb: &testbed::Testbed,
    bundle: &Path,
    identity: &str,
    subject: &Path,
) -> Output {
    toto()
        .args(["verify-attestation", "--bundle"])
        .arg(bundle)
        .args([
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            tb.issuer(),
            "--trusted-root",
        ])
        .arg(tb.trusted_root_path())
        .arg("--subject")
        .arg(subject)
        .output()
        .unwrap()
}

/// Asserts a bundle is what Rekor v2 and a TSA make: one `hashedrekord`
/// 0.0.2 entry with an inclusion proof and checkpoint, no SET, no
/// integrated time, and one RFC 3161 timestamp.
#[track_caller]
fn assert_v2_bundle(bundle: &Value) {
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["kind"], "hashedrekord", "{entry}");
    assert_eq!(entry["kindVersion"]["version"], "0.0.2", "{entry}");
    assert!(
        entry.get("inclusionPromise").is_none(),
        "no SET in v2: {entry}"
    );
    assert!(
        entry.get("integratedTime").is_none_or(|t| t == "0"),
        "no integrated time in v2: {entry}"
    );
    let checkpoint = entry["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap();
    assert!(
        checkpoint.starts_with("127.0.0.1\n"),
        "a v2 checkpoint's origin has no tree id: {checkpoint:?}"
    );
    let stamps = bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .unwrap();
    assert_eq!(stamps.len(), 1, "{bundle}");
}

fn sigstore(python: &Path) -> Command {
    let mut c = Command::new(python_bin_dir(python).join("sigstore"));
    c.env_remove("SIGSTORE_IDENTITY_TOKEN");
    c
}

fn python_verify(
    python: &Path,
    tb: &testbed::Testbed,
    bundle: &Path,
    identity: &str,
    file: &Path,
) -> Output {
    sigstore(python)
        .arg("--trust-config")
        .arg(tb.trust_config_path())
        .args(["verify", "identity", "--bundle"])
        .arg(bundle)
        .args([
            "--cert-identity",
            identity,
            "--cert-oidc-issuer",
            tb.issuer(),
        ])
        .arg(file)
        .output()
        .unwrap()
}

/// Rewrites a bundle file through `edit`, into `out`.
fn edited(bundle: &Path, out: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut value = read_json(bundle);
    edit(&mut value);
    std::fs::write(out, value.to_string()).unwrap();
    out.to_owned()
}

/// Flips the last byte of a bundle's RFC 3161 answer: the ECDSA signature
/// over the token's signed attributes no longer verifies.
fn tamper_timestamp(bundle: &mut Value) {
    let stamp = &mut bundle["verificationMaterial"]["timestampVerificationData"]
        ["rfc3161Timestamps"][0]["signedTimestamp"];
    let mut der = B64.decode(stamp.as_str().unwrap()).unwrap();
    *der.last_mut().unwrap() ^= 1;
    *stamp = Value::String(B64.encode(der));
}

/// A bogus hash in the audit path: it no longer leads to the checkpoint.
fn spoil_proof(bundle: &mut Value) {
    let hashes = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"]
        .as_array_mut()
        .unwrap();
    let bogus = Value::String(B64.encode([0x42u8; 32]));
    match hashes.first_mut() {
        Some(first) => *first = bogus,
        None => hashes.push(bogus),
    }
}

#[test]
fn toto_signs_blobs_and_attestations_through_rekor_v2_and_verifies_them() {
    let dir = tempdir();
    let tb = start(dir.path());
    // The signing config offers both Rekor versions and the TSA; clients
    // pick v2, the highest.
    let config = read_json(&tb.trust_config_path());
    let rekors = config["signingConfig"]["rekorTlogUrls"].as_array().unwrap();
    assert!(rekors.iter().any(|r| r["majorApiVersion"] == 2), "{config}");
    assert_eq!(
        config["signingConfig"]["tsaUrls"][0]["url"],
        format!("{}{TSA}", tb.url())
    );
    assert_eq!(
        config["trustedRoot"]["timestampAuthorities"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let artifact = write(&dir.path().join("app.tar.gz"), "release bytes\n");
    let other = write(&dir.path().join("other"), "other bytes\n");
    let t = token(&tb, "alice@example.com");
    let blob = dir.path().join("app.sigstore.json");
    expect_code(&sign_blob(&tb, &t, &artifact, &blob), 0, "sign-blob (v2)");
    let attestation = dir.path().join("app.att.sigstore.json");
    expect_code(&attest(&tb, &t, &artifact, &attestation), 0, "attest (v2)");
    assert_eq!(
        (
            tb.requests(REKOR_V2),
            tb.requests(REKOR_V1),
            tb.requests(TSA)
        ),
        (2, 0, 2),
        "two v2 entries, each timestamped, nothing in the v1 log"
    );
    assert_eq!((tb.log_v2_size(), tb.log_size()), (2, 0));
    assert_v2_bundle(&read_json(&blob));
    let att = read_json(&attestation);
    assert_v2_bundle(&att);
    assert!(att.get("dsseEnvelope").is_some(), "{att}");

    expect_code(
        &verify_bundle(&tb, &blob, "alice@example.com", &artifact),
        0,
        "verify-bundle",
    );
    expect_code(
        &verify_bundle(&tb, &blob, "alice@example.com", &other),
        1,
        "another artifact",
    );
    expect_code(
        &verify_bundle(&tb, &blob, "mallory@example.com", &artifact),
        1,
        "another identity",
    );
    expect_code(
        &verify_attestation(&tb, &attestation, "alice@example.com", &artifact),
        0,
        "verify-attestation",
    );
    expect_code(
        &verify_attestation(&tb, &attestation, "alice@example.com", &other),
        1,
        "an attestation for another subject",
    );
    expect_code(
        &verify_attestation(&tb, &attestation, "mallory@example.com", &artifact),
        1,
        "an attestation by another identity",
    );

    // Without its timestamp a v2 bundle has no signing time: refused.
    let untimed = edited(&blob, &dir.path().join("untimed.json"), |b| {
        b["verificationMaterial"]
            .as_object_mut()
            .unwrap()
            .remove("timestampVerificationData");
    });
    expect_code(
        &verify_bundle(&tb, &untimed, "alice@example.com", &artifact),
        1,
        "a v2 bundle without a timestamp",
    );
    // A timestamp over another signature (the attestation's) is refused.
    let swapped = edited(&blob, &dir.path().join("swapped.json"), |b| {
        b["verificationMaterial"]["timestampVerificationData"] =
            att["verificationMaterial"]["timestampVerificationData"].clone();
    });
    expect_code(
        &verify_bundle(&tb, &swapped, "alice@example.com", &artifact),
        1,
        "a timestamp of another signature",
    );
}

/// (d) Tampered RFC 3161 timestamps and bad v2 inclusion proofs are
/// refused by the verifier (in a bundle) and by the signer (from the
/// services), which then writes no bundle.
#[test]
fn tampered_timestamps_and_bad_v2_proofs_are_refused() {
    let dir = tempdir();
    let tb = start(dir.path());
    let artifact = write(&dir.path().join("a.txt"), "a\n");
    let t = token(&tb, "carol@example.com");
    let good = dir.path().join("good.sigstore.json");
    expect_code(&sign_blob(&tb, &t, &artifact, &good), 0, "sign-blob");
    // Grow the log so the good entry's audit path is not empty.
    for n in 0..3 {
        let out = dir.path().join(format!("more{n}.json"));
        expect_code(&sign_blob(&tb, &t, &artifact, &out), 0, "sign-blob");
    }
    let latest = dir.path().join("more2.json");
    expect_code(
        &verify_bundle(&tb, &good, "carol@example.com", &artifact),
        0,
        "the untouched bundle",
    );
    let tampered = edited(&good, &dir.path().join("tsa.json"), tamper_timestamp);
    let out = verify_bundle(&tb, &tampered, "carol@example.com", &artifact);
    expect_code(&out, 1, "a tampered timestamp");
    for (name, bundle) in [("first", &good), ("latest", &latest)] {
        let spoiled = edited(
            bundle,
            &dir.path().join(format!("proof-{name}.json")),
            spoil_proof,
        );
        expect_code(
            &verify_bundle(&tb, &spoiled, "carol@example.com", &artifact),
            1,
            &format!("a bad inclusion proof ({name} entry)"),
        );
    }

    // The same faults from the services: the signer refuses them.
    let bundle = dir.path().join("faulty.sigstore.json");
    let fault = |set: fn(&mut testbed::Faults)| {
        let mut f = testbed::Faults::default();
        set(&mut f);
        f
    };
    #[rustfmt::skip]
    let cases: [(&str, testbed::Faults, i32, &str); 6] = [
        ("tampered timestamp", fault(|f| f.tsa_tampered = true), 1, "verification failed"),
        ("timestamp of another message", fault(|f| f.tsa_other_imprint = true), 1, "verification failed"),
        ("TSA down", fault(|f| f.tsa_down = true), 2, "TSA"),
        ("TSA garbage", fault(|f| f.tsa_garbage = true), 2, "not DER"),
        ("bad v2 inclusion proof", fault(|f| f.rekor_bad_proof = true), 1, "does not lead to the checkpoint"),
        ("Rekor v2 body differs", fault(|f| f.rekor_other_body = true), 1, "not the entry sent"),
    ];
    for (what, faults, code, needle) in cases {
        tb.set_faults(faults);
        let out = sign_blob(&tb, &t, &artifact, &bundle);
        expect_code(&out, code, what);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{what}: {stderr}");
        assert!(!bundle.exists(), "{what}: a bundle was written");
    }
    tb.set_faults(testbed::Faults::default());
    expect_code(&sign_blob(&tb, &t, &artifact, &bundle), 0, "faults cleared");

    // sigstore-python refuses the tampered bundles too.
    let Some(py) = python("tampered_timestamps_and_bad_v2_proofs_are_refused") else {
        return;
    };
    expect_code(
        &python_verify(&py, &tb, &good, "carol@example.com", &artifact),
        0,
        "sigstore-python: the untouched bundle",
    );
    for spoiled in [&tampered, &dir.path().join("proof-latest.json")] {
        let out = python_verify(&py, &tb, spoiled, "carol@example.com", &artifact);
        assert_ne!(
            out.status.code(),
            Some(0),
            "sigstore-python accepted {}",
            spoiled.display()
        );
    }
}

#[test]
fn toto_v2_bundles_verify_with_sigstore_python() {
    let Some(py) = python("toto_v2_bundles_verify_with_sigstore_python") else {
        return;
    };
    let dir = tempdir();
    let tb = start(dir.path());
    let artifact = write(&dir.path().join("pkg.whl"), "wheel\n");
    let other = write(&dir.path().join("other"), "other\n");
    let t = token(&tb, "dana@example.com");
    let blob = dir.path().join("pkg.sigstore.json");
    expect_code(&sign_blob(&tb, &t, &artifact, &blob), 0, "sign-blob");
    let attestation = dir.path().join("pkg.att.sigstore.json");
    expect_code(&attest(&tb, &t, &artifact, &attestation), 0, "attest");
    for bundle in [&blob, &attestation] {
        expect_code(
            &python_verify(&py, &tb, bundle, "dana@example.com", &artifact),
            0,
            &format!("sigstore-python verifies {}", bundle.display()),
        );
        for (identity, file) in [("dana@example.com", &other), ("eve@example.com", &artifact)] {
            let out = python_verify(&py, &tb, bundle, identity, file);
            assert_ne!(
                out.status.code(),
                Some(0),
                "sigstore-python accepted {} for {identity}, {}",
                bundle.display(),
                file.display()
            );
        }
    }
}

#[test]
fn sigstore_python_v2_bundles_verify_with_toto() {
    let Some(py) = python("sigstore_python_v2_bundles_verify_with_toto") else {
        return;
    };
    let dir = tempdir();
    let tb = start(dir.path());
    let artifact = write(&dir.path().join("wheel.whl"), "wheel bytes\n");
    let other = write(&dir.path().join("other"), "x\n");
    let t = token(&tb, "bob@example.com");
    let python_sign = |extra: &[&str], bundle: &Path| {
        sigstore(&py)
            .arg("--trust-config")
            .arg(tb.trust_config_path())
            .arg("sign")
            .args(extra)
            .args(["--identity-token", &t, "--bundle"])
            .arg(bundle)
            .arg(&artifact)
            .output()
            .unwrap()
    };
    let bundle = dir.path().join("wheel.sigstore.json");
    expect_code(&python_sign(&[], &bundle), 0, "sigstore sign (picks v2)");
    assert_v2_bundle(&read_json(&bundle));
    assert_eq!((tb.requests(REKOR_V2), tb.requests(TSA)), (1, 1));
    expect_code(
        &verify_bundle(&tb, &bundle, "bob@example.com", &artifact),
        0,
        "toto verifies sigstore-python's v2 bundle",
    );
    expect_code(
        &verify_bundle(&tb, &bundle, "bob@example.com", &other),
        1,
        "wrong artifact",
    );
    expect_code(
        &verify_bundle(&tb, &bundle, "eve@example.com", &artifact),
        1,
        "wrong identity",
    );
    let tampered = edited(&bundle, &dir.path().join("tampered.json"), tamper_timestamp);
    expect_code(
        &verify_bundle(&tb, &tampered, "bob@example.com", &artifact),
        1,
        "sigstore-python's bundle with a tampered timestamp",
    );

    // `--rekor-version 1` on the same testbed: a v1 entry (with a SET),
    // still timestamped by the TSA; toto verifies it too.
    let v1 = dir.path().join("wheel.v1.sigstore.json");
    expect_code(
        &python_sign(&["--rekor-version", "1"], &v1),
        0,
        "sigstore sign --rekor-version 1",
    );
    let v1_json = read_json(&v1);
    let entry = &v1_json["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["version"], "0.0.1", "{entry}");
    assert!(entry.get("inclusionPromise").is_some(), "{entry}");
    expect_code(
        &verify_bundle(&tb, &v1, "bob@example.com", &artifact),
        0,
        "toto verifies sigstore-python's v1 bundle from a v2 testbed",
    );

    // A DSSE attestation: sigstore-python logs it as hashedrekord 0.0.2
    // over the PAE (rekor-v2-spec §6.1.4), and toto accepts that.
    let predicate = write(
        &dir.path().join("p.json"),
        r#"{"buildDefinition":{"buildType":"https://example.com/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}"#,
    );
    let attestation = dir.path().join("wheel.att.sigstore.json");
    let out = sigstore(&py)
        .arg("--trust-config")
        .arg(tb.trust_config_path())
        .args([
            "attest",
            "--identity-token",
            &t,
            "--predicate-type",
            "https://slsa.dev/provenance/v1",
            "--predicate",
        ])
        .arg(&predicate)
        .arg("--bundle")
        .arg(&attestation)
        .arg(&artifact)
        .output()
        .unwrap();
    expect_code(&out, 0, "sigstore attest (v2)");
    assert_v2_bundle(&read_json(&attestation));
    expect_code(
        &verify_attestation(&tb, &attestation, "bob@example.com", &artifact),
        0,
        "toto verifies sigstore-python's v2 attestation",
    );
    expect_code(
        &verify_attestation(&tb, &attestation, "bob@example.com", &other),
        1,
        "an attestation for another subject",
    );
}

#[test]
fn toto_v2_bundles_verify_with_sigstore_js() {
    let Some(script) = node_peer("toto_v2_bundles_verify_with_sigstore_js") else {
        return;
    };
    let dir = tempdir();
    let tb = start(dir.path());
    let artifact = write(&dir.path().join("pkg.tgz"), "package\n");
    let other = write(&dir.path().join("other"), "other\n");
    let t = token(&tb, "dana@example.com");
    let blob = dir.path().join("pkg.sigstore.json");
    expect_code(&sign_blob(&tb, &t, &artifact, &blob), 0, "sign-blob");
    let attestation = dir.path().join("pkg.att.sigstore.json");
    expect_code(&attest(&tb, &t, &artifact, &attestation), 0, "attest");
    let js = |bundle: &Path, file: &Path, identity: &str| {
        Command::new("node")
            .arg(&script)
            .arg(tb.trusted_root_path())
            .arg(bundle)
            .arg(file)
            .args([identity, tb.issuer()])
            .output()
            .unwrap()
    };
    for bundle in [&blob, &attestation] {
        expect_code(
            &js(bundle, &artifact, "dana@example.com"),
            0,
            "sigstore-js verifies",
        );
        expect_code(
            &js(bundle, &artifact, "eve@example.com"),
            1,
            "sigstore-js: wrong identity",
        );
    }
    expect_code(
        &js(&blob, &other, "dana@example.com"),
        1,
        "sigstore-js: wrong artifact",
    );
    let tampered = edited(&blob, &dir.path().join("tsa.json"), tamper_timestamp);
    expect_code(
        &js(&tampered, &artifact, "dana@example.com"),
        1,
        "sigstore-js: a tampered timestamp",
    );
}
