//! What a keyless signer reads: identity tokens (JWTs from the environment
//! or GitHub), trust configs, and the answers of a timestamp authority and
//! of Rekor v2. Never panics; a token that parses is unexpired and has the
//! Sigstore audience.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_780_000_000;

fuzz_target!(|data: &[u8]| {
    let _ = keyless::sign::fuzzing::check_timestamp_response(data);
    if let Ok(answer) = serde_json::from_slice::<serde_json::Value>(data) {
        let sent = keyless::sign::fuzzing::sample_v2_request();
        let _ = keyless::sign::fuzzing::check_v2_entry(&answer, &sent);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = keyless::IdentityToken::parse(text, NOW) {
        assert!(token.expires > NOW);
    }
    let _ = keyless::TrustConfig::from_json(text);
});
