//! The keyless signer against the testbed in Rekor v2 mode, at the library
//! level: the trust config selects Rekor v2 and the TSA, bundles carry a
//! `hashedrekord` 0.0.2 entry and an RFC 3161 timestamp and verify, and
//! each bad answer from the TSA or the v2 log is the typed error the CLI
//! maps to its exit codes.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
#![allow(clippy::expect_used, reason = "a test fails by panicking")]
#![allow(clippy::panic, reason = "a test fails by panicking")]
#![allow(clippy::indexing_slicing, reason = "a test fails by panicking")]

use keyless::{Artifact, BundleVerifier, Error, IdentityToken, KeylessSigner, Policy, TrustConfig};
use serde_json::Value;

fn start(dir: &std::path::Path) -> testbed::Testbed {
    testbed::Testbed::start_with(
        &testbed::Config {
            dir: dir.to_owned(),
            port: 0,
        },
        &testbed::Options { rekor_v2: true },
    )
    .unwrap()
}

fn token(tb: &testbed::Testbed) -> IdentityToken {
    IdentityToken::parse(&testkit::token(tb, "v2@example.com"), testbed::now()).unwrap()
}

#[test]
fn the_trust_config_selects_rekor_v2_and_its_timestamp_authority() {
    let dir = tempfile::tempdir().unwrap();
    let tb = start(dir.path());
    let config = TrustConfig::from_json(&testkit::trust_config(&tb)).unwrap();
    assert_eq!(config.services.rekor_version, 2);
    assert_eq!(
        config.services.tsa.as_deref(),
        Some(format!("{}/api/v1/timestamp", tb.url()).as_str())
    );

    // Rekor v2 without a TSA gives no signing time: refused up front.
    let mut value: Value = serde_json::from_str(&testkit::trust_config(&tb)).unwrap();
    value["signingConfig"]["tsaUrls"] = Value::Array(Vec::new());
    let err = TrustConfig::from_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(&err, Error::Malformed { reason, .. } if reason.contains("timestamp authority")),
        "{err}"
    );
    // Only v1 offered: v1, still timestamped when a TSA is listed.
    let mut value: Value = serde_json::from_str(&testkit::trust_config(&tb)).unwrap();
    value["signingConfig"]["rekorTlogUrls"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["majorApiVersion"] == 1);
    let config = TrustConfig::from_json(&value.to_string()).unwrap();
    assert_eq!(config.services.rekor_version, 1);
    assert!(config.services.tsa.is_some());
}

#[test]
fn a_rekor_version_can_be_asked_for_and_services_out_of_their_window_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let tb = start(dir.path());
    let text = testkit::trust_config(&tb);
    // Asked for: v1 from a config offering both; v2 explicitly; 3 refused.
    let v1 = TrustConfig::from_json_with(&text, Some(1)).unwrap();
    assert_eq!(v1.services.rekor_version, 1);
    assert_eq!(
        TrustConfig::from_json_with(&text, Some(2))
            .unwrap()
            .services
            .rekor_version,
        2
    );
    assert!(TrustConfig::from_json_with(&text, Some(3)).is_err());
    // A v2 log whose window has ended (or not begun) is not used: v1 is.
    for window in [
        serde_json::json!({"start": "2020-01-01T00:00:00Z", "end": "2021-01-01T00:00:00Z"}),
        serde_json::json!({"start": "2999-01-01T00:00:00Z"}),
    ] {
        let mut value: Value = serde_json::from_str(&text).unwrap();
        for rekor in value["signingConfig"]["rekorTlogUrls"]
            .as_array_mut()
            .unwrap()
        {
            if rekor["majorApiVersion"] == 2 {
                rekor["validFor"] = window.clone();
            }
        }
        let config = TrustConfig::from_json(&value.to_string()).unwrap();
        assert_eq!(config.services.rekor_version, 1, "{window}");
        // ... and asking for v2 then fails, naming what is missing.
        let err = TrustConfig::from_json_with(&value.to_string(), Some(2)).unwrap_err();
        assert!(err.to_string().contains("no current Rekor"), "{err}");
    }
}

#[test]
fn v2_bundles_verify_and_bad_answers_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tb = start(dir.path());
    let config = TrustConfig::from_json(&testkit::trust_config(&tb)).unwrap();
    let signer = KeylessSigner::new(&config, &token(&tb)).unwrap();
    let verifier = BundleVerifier::new(&config.root).unwrap();
    let policy = Policy::Identity {
        identity: "v2@example.com".into(),
        issuer: tb.issuer().into(),
    };

    let signed = signer.sign_blob(b"blob").unwrap();
    let bundle: Value = serde_json::from_str(&signed.json).unwrap();
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["version"], "0.0.2");
    assert!(entry.get("inclusionPromise").is_none());
    verifier
        .verify(signed.json.as_bytes(), Artifact::Bytes(b"blob"), &policy)
        .unwrap();
    let err = verifier
        .verify(signed.json.as_bytes(), Artifact::Bytes(b"other"), &policy)
        .unwrap_err();
    assert!(err.is_verification_failure(), "{err}");
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "blob", "digest": {"sha256": "fa2c8cc4f28176bbeed4b736df569a34c79cd3723e9ec42f9674b4d46ac6b8b8"}}],
        "predicateType": "https://example.com/p",
        "predicate": {},
    });
    let attested = signer
        .sign_dsse(
            "application/vnd.in-toto+json",
            statement.to_string().as_bytes(),
        )
        .unwrap();
    assert_eq!(
        (signed.log_index, attested.log_index, tb.log_v2_size()),
        (0, 1, 2)
    );

    type Fault = fn(&mut testbed::Faults);
    let cases: [(&str, Fault); 6] = [
        ("tampered timestamp", |f| f.tsa_tampered = true),
        ("timestamp of another message", |f| {
            f.tsa_other_imprint = true
        }),
        ("TSA down", |f| f.tsa_down = true),
        ("TSA garbage", |f| f.tsa_garbage = true),
        ("bad inclusion proof", |f| f.rekor_bad_proof = true),
        ("another body", |f| f.rekor_other_body = true),
    ];
    for (what, set) in cases {
        let mut faults = testbed::Faults::default();
        set(&mut faults);
        tb.set_faults(faults);
        let err = signer.sign_blob(b"blob").unwrap_err();
        match what {
            "TSA down" | "TSA garbage" => assert!(
                matches!(&err, Error::Service { service: "TSA", .. }),
                "{what}: {err}"
            ),
            _ => assert!(err.is_verification_failure(), "{what}: {err}"),
        }
    }
}

#[test]
fn a_restarted_v2_testbed_keeps_its_log_and_timestamp_authority() {
    let dir = tempfile::tempdir().unwrap();
    let read_root = |tb: &testbed::Testbed| -> Value {
        serde_json::from_str(&std::fs::read_to_string(tb.trusted_root_path()).unwrap()).unwrap()
    };
    let (first, policy, root_before) = {
        let tb = start(dir.path());
        let config = TrustConfig::from_json(&testkit::trust_config(&tb)).unwrap();
        let signer = KeylessSigner::new(&config, &token(&tb)).unwrap();
        let policy = Policy::Identity {
            identity: signer.identity().to_owned(),
            issuer: signer.issuer().to_owned(),
        };
        (signer.sign_blob(b"first").unwrap(), policy, read_root(&tb))
    };
    let tb = start(dir.path());
    let root_after = read_root(&tb);
    assert_eq!(
        root_before["timestampAuthorities"][0]["certChain"],
        root_after["timestampAuthorities"][0]["certChain"],
        "the TSA chain survives a restart"
    );
    assert_eq!(
        root_before["tlogs"][1]["logId"],
        root_after["tlogs"][1]["logId"]
    );
    assert_eq!(tb.log_v2_size(), 1, "the v2 log is replayed");
    let config = TrustConfig::from_json(&testkit::trust_config(&tb)).unwrap();
    let signer = KeylessSigner::new(&config, &token(&tb)).unwrap();
    assert_eq!(signer.sign_blob(b"second").unwrap().log_index, 1);
    // The bundle signed before the restart verifies against the new root.
    BundleVerifier::new(&config.root)
        .unwrap()
        .verify(first.json.as_bytes(), Artifact::Bytes(b"first"), &policy)
        .unwrap();
}
