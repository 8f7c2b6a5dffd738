//! DSSE envelope parsing: never panics; what parses re-serializes to an equal
//! envelope; no signature verifies under an unrelated key (and failing to
//! verify is an error, never a panic).
#![no_main]

use std::sync::OnceLock;

use dsse::{Envelope, Error, KeyKind, Limits, PrivateKey};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(KeyKind::Ed25519).expect("keygen"))
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(envelope) = Envelope::from_json(data, &limits) else {
        return;
    };
    let json = envelope.to_json();
    let again = Envelope::from_json(&json, &limits).expect("to_json output re-parses");
    assert_eq!(again, envelope);
    assert_eq!(again.to_json(), json, "to_json is not stable");
    let outcome = envelope.verify(&[key().public_key()], 1);
    assert!(
        matches!(outcome, Err(Error::Signature)),
        "verified under a key nobody used: {outcome:?}"
    );
});
