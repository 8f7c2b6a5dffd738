//! DSSE envelope parsing: never panics; what parses re-serializes to an equal
//! envelope; no signature verifies under an unrelated key.
#![no_main]

use std::sync::OnceLock;

use dsse::{Envelope, KeyKind, Limits, PrivateKey};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(KeyKind::Ed25519).expect("keygen"))
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(envelope) = Envelope::from_json(data, &limits) {
        let again = Envelope::from_json(&envelope.to_json(), &limits).expect("re-parse");
        assert_eq!(again, envelope);
        assert!(envelope.verify(&[key().public_key()], 1).is_err());
    }
});
