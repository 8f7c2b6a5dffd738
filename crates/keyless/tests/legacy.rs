//! slsa-github-generator's legacy `.intoto.jsonl` (a bare DSSE envelope
//! whose signature carries its certificate) looked up in the loopback
//! testbed's Rekor through its search endpoints, turned into bundles and
//! verified; each way of pairing an envelope with the wrong entry or
//! certificate fails.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
#![allow(clippy::expect_used, reason = "a test fails by panicking")]
#![allow(clippy::panic, reason = "a test fails by panicking")]
#![allow(clippy::indexing_slicing, reason = "a test fails by panicking")]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use keyless::{legacy, BundleVerifier, IdentityToken, KeylessSigner, Policy, TrustConfig};
use serde_json::{json, Value};
use sha2::Digest as _;

struct Rekor {
    tb: testbed::Testbed,
    _dir: tempfile::TempDir,
    config: TrustConfig,
    verifier: BundleVerifier,
}

impl Rekor {
    fn start() -> Rekor {
        let dir = tempfile::tempdir().unwrap();
        let tb = testkit::testbed(dir.path());
        let config = TrustConfig::from_json(&testkit::trust_config(&tb)).unwrap();
        let verifier = BundleVerifier::new(&config.root).unwrap();
        Rekor {
            tb,
            _dir: dir,
            config,
            verifier,
        }
    }

    fn policy(&self, identity: &str) -> Policy {
        Policy::Identity {
            identity: identity.into(),
            issuer: self.tb.issuer().into(),
        }
    }

    /// Signs `statement` keylessly as `identity` (logged as Rekor `dsse`
    /// 0.0.1) and returns the legacy envelope slsa-github-generator writes
    /// for it: the envelope, its one signature carrying the leaf PEM.
    fn legacy_envelope(&self, identity: &str, statement: &[u8]) -> Value {
        let token =
            IdentityToken::parse(&testkit::token(&self.tb, identity), testbed::now()).unwrap();
        let signed = KeylessSigner::new(&self.config, &token)
            .unwrap()
            .sign_dsse(attest::PAYLOAD_TYPE, statement)
            .unwrap();
        testkit::legacy_envelope(&serde_json::from_str(&signed.json).unwrap())
    }

    /// `envelope` must fail to verify for `identity`: a verification
    /// failure (exit 1) whose message names each of `needles`.
    fn refuses(&self, envelope: &Value, identity: &str, needles: &[&str]) {
        let err = self.verify(envelope, identity).unwrap_err();
        assert!(err.is_verification_failure(), "{err}");
        let text = err.to_string();
        for needle in needles {
            assert!(text.contains(needle), "{needle:?} not in: {text}");
        }
    }

    fn verify(&self, envelope: &Value, identity: &str) -> Result<Vec<String>, keyless::Error> {
        let text = format!("{envelope}\n");
        assert!(legacy::is_legacy_envelope(text.as_bytes()));
        let read = legacy::read(text.as_bytes())?;
        let document = legacy::lookup(self.tb.url(), &read)?;
        assert_eq!(document.format, keyless::document::Format::LegacyEnvelope);
        let mut verified = Vec::new();
        let mut last = None;
        for entry in &document.entries {
            match self
                .verifier
                .verify_attestation(&entry.bundle, None, &self.policy(identity))
            {
                Ok(attestation) => {
                    assert_eq!(attestation.payload(), payload_of(envelope));
                    verified.push(entry.place.clone());
                }
                Err(e) => last = Some(e),
            }
        }
        match (verified.is_empty(), last) {
            (true, Some(e)) => Err(e),
            _ => Ok(verified),
        }
    }
}

fn payload_of(envelope: &Value) -> Vec<u8> {
    B64.decode(envelope["payload"].as_str().unwrap()).unwrap()
}

fn statement(n: u8) -> Vec<u8> {
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": "binary-linux-amd64", "digest": {"sha256": hex::encode([n; 32])}}],
        "predicate": {"builder": {"id": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.9.0"}},
    })
    .to_string()
    .into_bytes()
}

#[test]
fn a_legacy_envelope_verifies_with_its_rekor_entry() {
    let rekor = Rekor::start();
    let envelope = rekor.legacy_envelope("alice@example.com", &statement(1));
    let verified = rekor.verify(&envelope, "alice@example.com").unwrap();
    assert_eq!(verified.len(), 1, "{verified:?}");
    assert!(verified[0].starts_with("Rekor entry "), "{verified:?}");
    // Found through the search index, then by UUID.
    assert_eq!(rekor.tb.requests("/api/v1/index/retrieve"), 1);
}

#[test]
fn an_envelope_never_logged_is_a_failure_naming_the_search() {
    let rekor = Rekor::start();
    let mut envelope = rekor.legacy_envelope("alice@example.com", &statement(1));
    // Another payload, the same (now wrong) signature: nothing logged it.
    envelope["payload"] = json!(B64.encode(statement(2)));
    let payload_hash = hex::encode(sha2::Sha256::digest(statement(2)));
    rekor.refuses(
        &envelope,
        "alice@example.com",
        &["has no entry for this envelope", &payload_hash],
    );
}

#[test]
fn a_signature_swapped_for_another_logged_one_fails() {
    let rekor = Rekor::start();
    let a = rekor.legacy_envelope("alice@example.com", &statement(1));
    // The same Statement signed again: another signature, another entry.
    let b = rekor.legacy_envelope("alice@example.com", &statement(1));
    // A's payload and certificate with B's signature: the search finds both
    // entries; only B's logged that signature, and A's certificate does not
    // verify it.
    let mut swapped = a.clone();
    swapped["signatures"][0]["sig"] = b["signatures"][0]["sig"].clone();
    rekor.refuses(
        &swapped,
        "alice@example.com",
        &["DSSE signature verification failed"],
    );
}

#[test]
fn a_certificate_of_another_identity_fails() {
    let rekor = Rekor::start();
    let alice = rekor.legacy_envelope("alice@example.com", &statement(1));
    let mallory = rekor.legacy_envelope("mallory@example.com", &statement(3));
    // Signed and logged by mallory: the identity policy refuses it.
    let err = rekor.verify(&mallory, "alice@example.com").unwrap_err();
    assert!(err.to_string().contains("identity mismatch"), "{err}");
    // Alice's signature and entry beside mallory's certificate: the
    // signature does not verify with it, nor does the entry name it.
    let mut swapped = alice.clone();
    swapped["signatures"][0]["cert"] = mallory["signatures"][0]["cert"].clone();
    rekor.refuses(&swapped, "mallory@example.com", &[]);
}

#[test]
fn the_testbed_answers_rekor_v1_searches() {
    let rekor = Rekor::start();
    let envelope = rekor.legacy_envelope("alice@example.com", &statement(1));
    let payload_hash = hex::encode(sha2::Sha256::digest(payload_of(&envelope)));
    let url = rekor.tb.url();
    let (status, uuids) = testkit::post_json(
        url,
        "/api/v1/index/retrieve",
        &json!({"hash": format!("sha256:{}", payload_hash.to_uppercase())}),
    );
    assert_eq!(status, 200);
    let uuids = uuids.as_array().unwrap().clone();
    assert_eq!(uuids.len(), 1);
    let uuid = uuids[0].as_str().unwrap();
    let by_uuid = testkit::get_json(url, &format!("/api/v1/log/entries/{uuid}"));
    assert!(by_uuid.get(uuid).is_some());
    let (_, by_index) = testkit::post_json(
        url,
        "/api/v1/log/entries/retrieve",
        &json!({"logIndexes": [0]}),
    );
    let (_, by_uuids) = testkit::post_json(
        url,
        "/api/v1/log/entries/retrieve",
        &json!({"entryUUIDs": [uuid]}),
    );
    assert_eq!(by_index, json!([by_uuid]));
    assert_eq!(by_uuids, json!([by_uuid]));
    let (_, none) = testkit::post_json(
        url,
        "/api/v1/index/retrieve",
        &json!({"hash": format!("sha256:{}", "0".repeat(64))}),
    );
    assert_eq!(none, json!([]));
    let (status, _) = testkit::post_json(
        url,
        "/api/v1/index/retrieve",
        &json!({"email": "alice@example.com"}),
    );
    assert_eq!(status, 400);
    let too_many: Vec<u64> = (0..11).collect();
    let (status, _) = testkit::post_json(
        url,
        "/api/v1/log/entries/retrieve",
        &json!({"logIndexes": too_many}),
    );
    assert_eq!(status, 400);
}
