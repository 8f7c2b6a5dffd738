//! Key parsing (PEM, encrypted PEM, key dicts): never panics; a key that
//! parses writes a PEM (or key dict) that reads back to the same key id.
#![no_main]

use dsse::{cjson, PrivateKey, PublicKey};
use libfuzzer_sys::fuzz_target;

fn check_private(key: &PrivateKey) {
    let scheme = Some(key.public_key().scheme());
    let pem = key.to_pkcs8_pem(None).expect("encode private key");
    let again = PrivateKey::from_pem(pem.as_bytes(), None, scheme).expect("re-read private key");
    assert_eq!(again.keyid(), key.keyid());
    let public = PublicKey::from_pem(
        key.public_key().to_pem().expect("encode").as_bytes(),
        scheme,
    )
    .expect("re-read public half");
    assert_eq!(public.keyid(), key.keyid());
}

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = PublicKey::from_pem(data, None) {
        let pem = key.to_pem().expect("encode public key");
        let again = PublicKey::from_pem(pem.as_bytes(), None).expect("re-read public key");
        assert_eq!(again.keyid(), key.keyid());
    }
    if let Ok(key) = PrivateKey::from_pem(data, None, None) {
        check_private(&key);
    }
    if let Ok(key) = PrivateKey::from_pem(data, Some(b"pw"), None) {
        check_private(&key);
    }
    if let Ok(value) = cjson::parse_strict(data) {
        let _ = dsse::gpg::GpgKey::from_key_dict(&value);
        if let Ok(key) = PublicKey::from_key_dict(&value) {
            let again = PublicKey::from_key_dict(&key.to_key_dict()).expect("re-read key dict");
            assert_eq!(again.keyid(), key.keyid());
        }
    }
});
