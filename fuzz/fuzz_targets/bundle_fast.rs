//! The bundle fast path against the general verifier (`sigstore-verify`) on
//! mutations of real bundles: whatever the fast path accepts, the general
//! path accepts too, with the same result; and `verify` never panics.
//!
//! Seeded with the sigstore-conformance bundles; the policy and artifact are
//! those of their happy paths (`a.txt`, by digest), so mutations of
//! `happy-path-v0.3` start out verified.
#![no_main]

use keyless::{Artifact, Policy};
use libfuzzer_sys::fuzz_target;

mod common;
use common::public_good_verifier as verifier;

/// The public-good verifier without its fast path: `verify` takes the
/// general path.
fn general() -> &'static keyless::BundleVerifier {
    static VERIFIER: std::sync::OnceLock<keyless::BundleVerifier> = std::sync::OnceLock::new();
    VERIFIER.get_or_init(|| {
        keyless::BundleVerifier::new(&keyless::TrustRoot::public_good().expect("embedded root"))
            .expect("verifier")
            .without_fast_path()
    })
}

/// SHA-256 of the conformance suite's `a.txt` (a0cfc712…efa01bf).
const A_TXT: [u8; 32] = [
    0xa0, 0xcf, 0xc7, 0x12, 0x71, 0xd6, 0xe2, 0x78, 0xe5, 0x7c, 0xd3, 0x32, 0xff, 0x95, 0x7c, 0x3f,
    0x70, 0x43, 0xfd, 0xda, 0x35, 0x4c, 0x4c, 0xbb, 0x19, 0x0a, 0x30, 0xd5, 0x6e, 0xfa, 0x01, 0xbf,
];

fuzz_target!(|data: &[u8]| {
    let policy = Policy::Identity {
        identity: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
    };
    let artifact = Artifact::Sha256(A_TXT);
    let verified = verifier().verify(data, artifact, &policy);
    if let Ok(fast) = verifier().verify_fast_path(data, artifact, &policy) {
        match general().verify(data, artifact, &policy) {
            Ok(general) => assert_eq!(fast, general, "the paths report differently"),
            Err(e) => panic!("the fast path accepted what the general path refuses: {e}"),
        }
        assert!(verified.is_ok());
    }
});
