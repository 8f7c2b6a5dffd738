//! What the testbed's Fulcio, Rekor and timestamp authority read from
//! clients: proposed Rekor v1 and v2 entries, identity tokens, RFC 3161
//! requests. Never panics; a body that is accepted is canonical
//! (re-canonicalizing it changes nothing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use p256::ecdsa::SigningKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(body) = testbed::canonical_body(&value) {
            let parsed: serde_json::Value = serde_json::from_slice(&body).expect("body is JSON");
            assert_eq!(parsed.to_string().into_bytes(), body);
        }
        if let Ok((_, body)) = testbed::canonical_body_v2(&value) {
            let parsed: serde_json::Value = serde_json::from_slice(&body).expect("v2 body is JSON");
            assert_eq!(parsed.to_string().into_bytes(), body);
        }
    }
    let _ = testbed::tsa::parse_request(data);
    if let Ok(token) = std::str::from_utf8(data) {
        let key = SigningKey::from_slice(&[7u8; 32]).expect("a fixed key");
        let _ = testbed::oidc::verify(&key, token, 1_780_000_000);
    }
});
