//! Sigstore bundle verification on arbitrary bytes: never panics, never
//! verifies (nothing random is signed by the public-good instance), and an
//! attestation check on the same bytes agrees that nothing verified.
#![no_main]

use keyless::{Artifact, Policy};
use libfuzzer_sys::fuzz_target;

mod common;
use common::public_good_verifier as verifier;

fuzz_target!(|data: &[u8]| {
    let policy = Policy::Identity {
        identity: "fuzz@example.com".into(),
        issuer: "https://example.com".into(),
    };
    assert!(verifier()
        .verify(data, Artifact::Sha256([0; 32]), &policy)
        .is_err());
    assert!(verifier()
        .verify(data, Artifact::Bytes(b"x"), &policy)
        .is_err());
    assert!(verifier().verify_attestation(data, None, &policy).is_err());
});
