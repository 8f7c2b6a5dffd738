//! What a keyless signer reads before it signs: identity tokens (JWTs from
//! the environment or GitHub) and trust configs. Never panics; a token that
//! parses is unexpired and has the Sigstore audience.
#![no_main]

use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_780_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(token) = keyless::IdentityToken::parse(text, NOW) {
        assert!(token.expires > NOW);
    }
    let _ = keyless::TrustConfig::from_json(text);
});
