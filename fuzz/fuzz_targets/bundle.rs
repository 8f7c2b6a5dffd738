//! Sigstore bundle verification on arbitrary bytes: never panics, never
//! verifies (nothing random is signed by the public-good instance), and an
//! attestation check on the same bytes agrees that nothing verified.
#![no_main]

use std::sync::OnceLock;

use keyless::{Artifact, BundleVerifier, Policy, TrustRoot};
use libfuzzer_sys::fuzz_target;

fn verifier() -> &'static BundleVerifier {
    static VERIFIER: OnceLock<BundleVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        BundleVerifier::new(&TrustRoot::public_good().expect("embedded root")).expect("verifier")
    })
}

fuzz_target!(|data: &[u8]| {
    let policy = Policy::Identity {
        identity: "fuzz@example.com".into(),
        issuer: "https://example.com".into(),
    };
    assert!(verifier().verify(data, Artifact::Sha256([0; 32]), &policy).is_err());
    assert!(verifier().verify(data, Artifact::Bytes(b"x"), &policy).is_err());
    assert!(verifier().verify_attestation(data, None, &policy).is_err());
});
