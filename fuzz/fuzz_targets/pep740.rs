//! PEP 740 attestation and provenance objects on arbitrary bytes: reading
//! never panics; what converts is a bundle v0.3 that is strict JSON, is not
//! itself taken for PEP 740, and never verifies (nothing random is signed by
//! the public-good instance); what converts is detected as PEP 740.
#![no_main]

use keyless::pep740::{detect, to_bundles, MAX_ATTESTATIONS};
use keyless::Policy;
use libfuzzer_sys::fuzz_target;

mod common;
use common::public_good_verifier as verifier;

fuzz_target!(|data: &[u8]| {
    let shape = detect(data);
    let Ok(bundles) = to_bundles(data) else {
        return;
    };
    // What converts is a PEP 740 object by its fields: detection agrees.
    assert!(shape.is_some(), "converted but not detected");
    assert!(!bundles.is_empty() && bundles.len() <= MAX_ATTESTATIONS);
    let policy = Policy::Identity {
        identity: "fuzz@example.com".into(),
        issuer: "https://example.com".into(),
    };
    for bundle in &bundles {
        let value: serde_json::Value = serde_json::from_slice(bundle).expect("bundle is JSON");
        assert_eq!(
            value["mediaType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );
        assert_eq!(detect(bundle), None);
        assert!(verifier()
            .verify_attestation(bundle, None, &policy)
            .is_err());
    }
});
