//! The keyless client against the loopback testbed: the log under load from
//! concurrent signers (unique, contiguous indices; every inclusion proof and
//! consistency proofs checked with sigstore-merkle), and a log that survives
//! a restart.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
#![allow(clippy::expect_used, reason = "a test fails by panicking")]
#![allow(clippy::panic, reason = "a test fails by panicking")]
#![allow(clippy::indexing_slicing, reason = "a test fails by panicking")]

use std::time::Instant;

use base64::Engine as _;
use keyless::{
    Artifact, BundleVerifier, IdentityToken, KeylessSigner, Policy, TrustConfig, TrustRoot,
};
use serde_json::Value;
use sha2::Digest as _;
use sigstore_types::Sha256Hash;
use testkit::get_json;

fn config(tb: &testbed::Testbed) -> TrustConfig {
    TrustConfig::from_json(&testkit::trust_config(tb)).unwrap()
}

fn token(tb: &testbed::Testbed, identity: &str) -> IdentityToken {
    IdentityToken::parse(&testkit::token(tb, identity), testbed::now()).unwrap()
}

fn hash(hex: &str) -> Sha256Hash {
    Sha256Hash::from_hex(hex).unwrap()
}

fn hashes(proof: &Value) -> Vec<Sha256Hash> {
    proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash(h.as_str().unwrap()))
        .collect()
}

fn leaf_hash(body_b64: &str) -> Sha256Hash {
    let body = base64::engine::general_purpose::STANDARD
        .decode(body_b64)
        .unwrap();
    let mut h = sha2::Sha256::new();
    h.update([0u8]);
    h.update(&body);
    Sha256Hash::new(h.finalize().into())
}

#[test]
fn a_thousand_signings_from_sixteen_clients_leave_a_consistent_log() {
    const CLIENTS: usize = 16;
    const TOTAL: usize = 1000;
    let dir = tempfile::tempdir().unwrap();
    let tb = testbed::Testbed::start(&testbed::Config {
        dir: dir.path().to_owned(),
        port: 0,
    })
    .unwrap();
    let config = config(&tb);
    let started = Instant::now();
    let indices: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (tb, config) = (&tb, &config);
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    for n in (client..TOTAL).step_by(CLIENTS) {
                        // One signing: a fresh key and certificate, one log entry,
                        // the bundle verified.
                        let identity = format!("client{client}@example.com");
                        let signer = KeylessSigner::new(config, &token(tb, &identity)).unwrap();
                        let blob = format!("artifact {n}");
                        mine.push(signer.sign_blob(blob.as_bytes()).unwrap().log_index);
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let elapsed = started.elapsed();
    eprintln!(
        "{TOTAL} keyless signings (Fulcio + Rekor + bundle verification) from {CLIENTS} clients \
         in {:.2} s: {:.0}/s",
        elapsed.as_secs_f64(),
        TOTAL as f64 / elapsed.as_secs_f64()
    );
    let mut sorted = indices.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..TOTAL as u64).collect::<Vec<_>>(),
        "indices unique and contiguous"
    );

    let info = get_json(tb.url(), "/api/v1/log");
    let size = info["treeSize"].as_u64().unwrap();
    assert_eq!(size, TOTAL as u64);
    let root = hash(info["rootHash"].as_str().unwrap());
    let checkpoint = info["signedTreeHead"].as_str().unwrap();
    let root_line = checkpoint.lines().nth(2).unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(root_line)
            .unwrap(),
        root.as_bytes(),
        "the checkpoint names the root"
    );
    for index in 0..size {
        let entry = get_json(tb.url(), &format!("/api/v1/log/entries?logIndex={index}"));
        let entry = entry.as_object().unwrap().values().next().unwrap();
        let proof = &entry["verification"]["inclusionProof"];
        sigstore_merkle::verify_inclusion_proof(
            &leaf_hash(entry["body"].as_str().unwrap()),
            index,
            proof["treeSize"].as_u64().unwrap(),
            &hashes(proof),
            &root,
        )
        .unwrap_or_else(|e| panic!("entry {index}: {e}"));
    }
    for first in [1u64, 2, 3, 7, 64, 500, 999, 1000] {
        let old = get_json(
            tb.url(),
            &format!("/api/v1/log/proof?firstSize={first}&lastSize={first}"),
        );
        let proof = get_json(
            tb.url(),
            &format!("/api/v1/log/proof?firstSize={first}&lastSize={size}"),
        );
        sigstore_merkle::verify_consistency_proof(
            first,
            size,
            &hashes(&proof),
            &hash(old["rootHash"].as_str().unwrap()),
            &root,
        )
        .unwrap_or_else(|e| panic!("consistency {first} -> {size}: {e}"));
    }
}

#[test]
fn the_log_and_its_keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        testbed::Testbed::start(&testbed::Config {
            dir: dir.path().to_owned(),
            port: 0,
        })
        .unwrap()
    };
    let mut tb = start();
    let signer = KeylessSigner::new(&config(&tb), &token(&tb, "alice@example.com")).unwrap();
    let bundles: Vec<_> = (0..3)
        .map(|n| signer.sign_blob(format!("blob {n}").as_bytes()).unwrap())
        .collect();
    let issuer = tb.issuer().to_owned();
    let old_root = get_json(tb.url(), "/api/v1/log")["rootHash"]
        .as_str()
        .unwrap()
        .to_owned();
    tb.shutdown();
    drop(tb);

    let tb = start();
    assert_eq!(tb.log_size(), 3, "the log was replayed");
    let signer = KeylessSigner::new(&config(&tb), &token(&tb, "alice@example.com")).unwrap();
    assert_eq!(signer.sign_blob(b"after restart").unwrap().log_index, 3);
    // Bundles from before the restart verify with the rewritten trusted root.
    let root =
        TrustRoot::from_json(&std::fs::read_to_string(tb.trusted_root_path()).unwrap()).unwrap();
    let verifier = BundleVerifier::new(&root).unwrap();
    let general = BundleVerifier::new(&root).unwrap().without_fast_path();
    for (n, bundle) in bundles.iter().enumerate() {
        let policy = Policy::Identity {
            identity: "alice@example.com".into(),
            issuer: issuer.clone(),
        };
        let blob = format!("blob {n}");
        let artifact = Artifact::Bytes(blob.as_bytes());
        let verified = verifier
            .verify(bundle.json.as_bytes(), artifact, &policy)
            .unwrap();
        // toto's own blob bundles have the shape the fast path takes, and
        // both paths report the same.
        let fast = verifier.verify_fast_path(bundle.json.as_bytes(), artifact, &policy);
        assert_eq!(fast, Ok(verified.clone()));
        let by_general = general.verify(bundle.json.as_bytes(), artifact, &policy);
        assert_eq!(by_general.unwrap(), verified);
    }
    let proof = get_json(tb.url(), "/api/v1/log/proof?firstSize=3&lastSize=4");
    sigstore_merkle::verify_consistency_proof(
        3,
        4,
        &hashes(&proof),
        &hash(&old_root),
        &hash(proof["rootHash"].as_str().unwrap()),
    )
    .unwrap();
}
