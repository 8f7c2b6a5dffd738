//! Files of bundles (`keyless::document`: a bundle, gh's JSON Lines, npm's
//! attestations document, PEP 740) on arbitrary bytes: reading never
//! panics; what reads holds between 1 and `MAX_ENTRIES` bundles (a PEP 740
//! provenance object up to its own limit), each a JSON object, and none
//! verifies (nothing random is signed by the public-good instance).
#![no_main]

use keyless::document::{read, Format, MAX_ENTRIES};
use keyless::pep740::MAX_ATTESTATIONS;
use keyless::Policy;
use libfuzzer_sys::fuzz_target;

mod common;
use common::public_good_verifier as verifier;

fuzz_target!(|data: &[u8]| {
    let Ok(document) = read(data) else {
        return;
    };
    let limit = match document.format {
        Format::Pep740Provenance => MAX_ATTESTATIONS,
        _ => MAX_ENTRIES,
    };
    assert!(!document.entries.is_empty() && document.entries.len() <= limit);
    let policy = Policy::Identity {
        identity: "fuzz@example.com".into(),
        issuer: "https://example.com".into(),
    };
    for entry in &document.entries {
        let value: serde_json::Value =
            serde_json::from_slice(&entry.bundle).expect("each bundle is JSON");
        assert!(value.is_object(), "{value}");
        assert!(verifier()
            .verify_attestation(&entry.bundle, None, &policy)
            .is_err());
    }
});
