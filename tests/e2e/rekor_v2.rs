//! Keyless signing against the testbed in Rekor v2 mode: a `hashedrekord`
//! 0.0.2 entry with an inclusion proof to a signed checkpoint, no SET, and
//! an RFC 3161 timestamp from the testbed's TSA for the signing time.
//! toto's bundles are verified by toto, sigstore-python 4.5.1 and
//! sigstore-js; sigstore-python's v2 bundles by toto; tampered timestamps
//! and proofs are refused, when signing and when verifying.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::Value;

use crate::common::{
    expect_code, expect_error, expect_refused, faults, js_verifies_toto_bundles, js_verify, python,
    python_attest, python_sign, testbed_verify_attestation, testbed_verify_bundle, write, Signing,
    VerifyFlags, PROVENANCE,
};

const REKOR_V1: &str = "/api/v1/log/entries";
const REKOR_V2: &str = "/api/v2/log/entries";
use crate::evidence::FULCIO;
const TSA: &str = "/api/v1/timestamp";

/// A testbed in Rekor v2 mode keeping its state in `dir/testbed`.
pub(crate) fn start_v2(dir: &Path) -> testbed::Testbed {
    testbed::Testbed::start_with(
        &testbed::Config {
            dir: dir.join("testbed"),
            port: 0,
        },
        &testbed::Options { rekor_v2: true },
    )
    .unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
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
    let v2 = Signing::new(start_v2, "alice@example.com", "app.tar.gz");
    let tb = &v2.tb;
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

    let (blob, attestation) = v2.sign_both("app");
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

    v2.expect_bound(
        testbed_verify_bundle,
        &blob,
        "mallory@example.com",
        "verify-bundle",
    );
    v2.expect_bound(
        testbed_verify_attestation,
        &attestation,
        "mallory@example.com",
        "verify-attestation",
    );

    // Without its timestamp a v2 bundle has no signing time: refused.
    let untimed = edited(&blob, &v2.path("untimed.json"), |b| {
        b["verificationMaterial"]
            .as_object_mut()
            .unwrap()
            .remove("timestampVerificationData");
    });
    expect_code(
        &v2.verify_bundle(&untimed),
        1,
        "a v2 bundle without a timestamp",
    );
    // A timestamp over another signature (the attestation's) is refused.
    let swapped = edited(&blob, &v2.path("swapped.json"), |b| {
        b["verificationMaterial"]["timestampVerificationData"] =
            att["verificationMaterial"]["timestampVerificationData"].clone();
    });
    expect_code(
        &v2.verify_bundle(&swapped),
        1,
        "a timestamp of another signature",
    );
}

/// (d) Tampered RFC 3161 timestamps and bad v2 inclusion proofs are
/// refused by the verifier (in a bundle) and by the signer (from the
/// services), which then writes no bundle.
#[test]
fn tampered_timestamps_and_bad_v2_proofs_are_refused() {
    let v2 = Signing::new(start_v2, "carol@example.com", "a.txt");
    let good = v2.path("good.sigstore.json");
    expect_code(&v2.sign_blob(&good), 0, "sign-blob");
    // Grow the log so the good entry's audit path is not empty.
    for n in 0..3 {
        let out = v2.path(&format!("more{n}.json"));
        expect_code(&v2.sign_blob(&out), 0, "sign-blob");
    }
    let latest = v2.path("more2.json");
    expect_code(&v2.verify_bundle(&good), 0, "the untouched bundle");
    let tampered = edited(&good, &v2.path("tsa.json"), tamper_timestamp);
    expect_code(&v2.verify_bundle(&tampered), 1, "a tampered timestamp");
    for (name, bundle) in [("first", &good), ("latest", &latest)] {
        let spoiled = edited(bundle, &v2.path(&format!("proof-{name}.json")), spoil_proof);
        expect_code(
            &v2.verify_bundle(&spoiled),
            1,
            &format!("a bad inclusion proof ({name} entry)"),
        );
    }

    // The same faults from the services: the signer refuses them.
    let bundle = v2.path("faulty.sigstore.json");
    #[rustfmt::skip]
    let cases: [(&str, testbed::Faults, i32, &str); 6] = [
        ("tampered timestamp", faults(|f| f.tsa_tampered = true), 1, "verification failed"),
        ("timestamp of another message", faults(|f| f.tsa_other_imprint = true), 1, "verification failed"),
        ("TSA down", faults(|f| f.tsa_down = true), 2, "TSA"),
        ("TSA garbage", faults(|f| f.tsa_garbage = true), 2, "not DER"),
        ("bad v2 inclusion proof", faults(|f| f.rekor_bad_proof = true), 1, "does not lead to the checkpoint"),
        ("Rekor v2 body differs", faults(|f| f.rekor_other_body = true), 1, "not the entry sent"),
    ];
    for (what, faults, code, needle) in cases {
        v2.tb.set_faults(faults);
        let out = v2.sign_blob(&bundle);
        expect_error(&out, code, needle, what);
        assert!(!bundle.exists(), "{what}: a bundle was written");
    }
    v2.tb.set_faults(testbed::Faults::default());
    expect_code(&v2.sign_blob(&bundle), 0, "faults cleared");

    // sigstore-python refuses the tampered bundles too.
    let Some(py) = python("tampered_timestamps_and_bad_v2_proofs_are_refused") else {
        return;
    };
    expect_code(
        &v2.python_verify(&py, &good, v2.signer, &v2.artifact),
        0,
        "sigstore-python: the untouched bundle",
    );
    for spoiled in [&tampered, &v2.path("proof-latest.json")] {
        expect_refused(
            &v2.python_verify(&py, spoiled, v2.signer, &v2.artifact),
            &format!("sigstore-python accepted {}", spoiled.display()),
        );
    }
}

#[test]
fn toto_v2_bundles_verify_with_sigstore_python() {
    let Some(py) = python("toto_v2_bundles_verify_with_sigstore_python") else {
        return;
    };
    let v2 = Signing::new(start_v2, "dana@example.com", "pkg.whl");
    let (blob, attestation) = v2.sign_both("pkg");
    for bundle in [&blob, &attestation] {
        expect_code(
            &v2.python_verify(&py, bundle, v2.signer, &v2.artifact),
            0,
            &format!("sigstore-python verifies {}", bundle.display()),
        );
        for (identity, file) in [(v2.signer, &v2.other), ("eve@example.com", &v2.artifact)] {
            expect_refused(
                &v2.python_verify(&py, bundle, identity, file),
                &format!(
                    "sigstore-python accepted {} for {identity}, {}",
                    bundle.display(),
                    file.display()
                ),
            );
        }
    }
}

#[test]
fn sigstore_python_v2_bundles_verify_with_toto() {
    let Some(py) = python("sigstore_python_v2_bundles_verify_with_toto") else {
        return;
    };
    let v2 = Signing::new(start_v2, "bob@example.com", "wheel.whl");
    let tb = &v2.tb;
    let python_sign = |extra: &[&str], bundle: &Path| {
        python_sign(&py, tb, &v2.token, extra, bundle, &v2.artifact)
    };
    let bundle = v2.path("wheel.sigstore.json");
    expect_code(&python_sign(&[], &bundle), 0, "sigstore sign (picks v2)");
    assert_v2_bundle(&read_json(&bundle));
    assert_eq!((tb.requests(REKOR_V2), tb.requests(TSA)), (1, 1));
    v2.expect_bound(
        testbed_verify_bundle,
        &bundle,
        "eve@example.com",
        "toto verifies sigstore-python's v2 bundle",
    );
    let tampered = edited(&bundle, &v2.path("tampered.json"), tamper_timestamp);
    expect_code(
        &v2.verify_bundle(&tampered),
        1,
        "sigstore-python's bundle with a tampered timestamp",
    );

    // `--rekor-version 1` on the same testbed: a v1 entry (with a SET),
    // still timestamped by the TSA; toto verifies it too.
    let v1 = v2.path("wheel.v1.sigstore.json");
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
        &v2.verify_bundle(&v1),
        0,
        "toto verifies sigstore-python's v1 bundle from a v2 testbed",
    );

    // A DSSE attestation: sigstore-python logs it as hashedrekord 0.0.2
    // over the PAE (rekor-v2-spec §6.1.4), and toto accepts that.
    let predicate = write(&v2.path("p.json"), PROVENANCE);
    let attestation = v2.path("wheel.att.sigstore.json");
    let out = python_attest(&py, tb, &v2.token, &predicate, &attestation, &v2.artifact);
    expect_code(&out, 0, "sigstore attest (v2)");
    assert_v2_bundle(&read_json(&attestation));
    expect_code(
        &testbed_verify_attestation(tb, &attestation, v2.signer, &v2.artifact),
        0,
        "toto verifies sigstore-python's v2 attestation",
    );
    expect_code(
        &testbed_verify_attestation(tb, &attestation, v2.signer, &v2.other),
        1,
        "an attestation for another subject",
    );
}

#[test]
fn toto_v2_bundles_verify_with_sigstore_js() {
    let Some((script, v2, blob)) =
        js_verifies_toto_bundles("toto_v2_bundles_verify_with_sigstore_js", start_v2)
    else {
        return;
    };
    let tampered = edited(&blob, &v2.path("tsa.json"), tamper_timestamp);
    expect_code(
        &js_verify(&script, &v2.tb, &tampered, &v2.artifact, v2.signer),
        1,
        "sigstore-js: a tampered timestamp",
    );
}

/// `--rekor-version 1` against a testbed offering both versions: a v1 entry
/// (with its SET, and the TSA's timestamp too), which verifies; and
/// `--rekor-version 2` without a trust config offering it is a usage error.
#[test]
fn rekor_version_1_can_be_asked_for() {
    let v2 = Signing::new(start_v2, "erin@example.com", "app.zip");
    let tb = &v2.tb;
    let bundle = v2.dir.path().join("v1.sigstore.json");
    let out = crate::common::toto()
        .arg("sign-blob")
        .args(crate::common::keyless(tb, &v2.token))
        .args(["--rekor-version", "1", "--bundle"])
        .arg(&bundle)
        .arg(&v2.artifact)
        .output()
        .unwrap();
    expect_code(&out, 0, "sign-blob --rekor-version 1");
    assert_eq!((tb.requests(REKOR_V1), tb.requests(REKOR_V2)), (1, 0));
    let entry = &read_json(&bundle)["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["version"], "0.0.1", "{entry}");
    assert!(entry.get("inclusionPromise").is_some(), "a v1 SET: {entry}");
    let out = testbed_verify_bundle(tb, &bundle, v2.signer, &v2.artifact);
    expect_code(&out, 0, "verify the v1 bundle");

    let out = crate::common::toto()
        .args(["sign-blob", "--keyless", "--rekor-version", "2"])
        .args(["--identity-token", &v2.token])
        .arg(&v2.artifact)
        .env_remove("TOTO_TRUST_CONFIG")
        .output()
        .unwrap();
    expect_error(
        &out,
        2,
        "--trust-config",
        "--rekor-version 2 on the public-good instance",
    );
    let out = crate::common::toto()
        .args(["sign-blob", "--keyless", "--rekor-version", "3"])
        .arg(&v2.artifact)
        .output()
        .unwrap();
    expect_code(&out, 2, "--rekor-version 3");
}

/// A step without products has a Statement without subjects, which toto
/// verifies only from a Rekor v1 entry without RFC 3161 timestamp: with
/// Rekor v2 `toto run --keyless` refuses it before anything is timestamped
/// or logged, and writes no bundle; `--rekor-version 1` records it, not
/// timestamped though the trust config offers a TSA, and it verifies.
#[test]
fn a_step_without_products_is_refused_before_rekor_v2_and_recorded_with_v1() {
    let s = Signing::new(start_v2, "alice@example.com", "a.txt");
    let run = |extra: &[&str]| {
        crate::common::toto()
            .current_dir(s.dir.path())
            .args(["run", "-n", "test"])
            .args(crate::common::keyless(&s.tb, &s.token))
            .args(extra)
            .args(["-m", "a.txt", "--", "true"])
            .output()
            .unwrap()
    };
    let links = || -> Vec<PathBuf> {
        std::fs::read_dir(s.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".link.sigstore.json"))
            .collect()
    };
    expect_error(
        &run(&[]),
        2,
        "a link without products is logged to Rekor v1 only",
        "a Statement without subjects through Rekor v2",
    );
    assert_eq!(
        (
            s.tb.requests(FULCIO),
            s.tb.requests(REKOR_V2),
            s.tb.requests(TSA)
        ),
        (0, 0, 0),
        "refused before the step: no certificate, nothing timestamped or logged"
    );
    assert!(links().is_empty(), "no bundle written");
    expect_code(
        &run(&["--rekor-version", "1"]),
        0,
        "the same through Rekor v1",
    );
    assert_eq!(
        (s.tb.requests(REKOR_V1), s.tb.requests(TSA)),
        (1, 0),
        "logged once, not timestamped"
    );
    let [bundle] = &links()[..] else {
        panic!("one link bundle: {:?}", links())
    };
    let out = crate::common::verify_attestation(bundle)
        .signer(s.signer, s.tb.issuer())
        .trusted_root(s.tb.trusted_root_path())
        .output()
        .unwrap();
    expect_code(&out, 0, "toto verify-attestation of the link's bundle");
}
