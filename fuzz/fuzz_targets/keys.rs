//! Key parsing (PEM, encrypted PEM, key dicts): never panics; a public key
//! that parses writes a PEM that reads back to the same key id.
#![no_main]

use dsse::{cjson, PrivateKey, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = PublicKey::from_pem(data, None) {
        let pem = key.to_pem().expect("encode");
        let again = PublicKey::from_pem(pem.as_bytes(), None).expect("re-read");
        assert_eq!(again.keyid(), key.keyid());
    }
    let _ = PrivateKey::from_pem(data, None, None);
    let _ = PrivateKey::from_pem(data, Some(b"pw"), None);
    if let Ok(value) = cjson::parse_strict(data) {
        let _ = dsse::gpg::GpgKey::from_key_dict(&value);
        if let Ok(key) = PublicKey::from_key_dict(&value) {
            let again = PublicKey::from_key_dict(&key.to_key_dict()).expect("re-read dict");
            assert_eq!(again.keyid(), key.keyid());
        }
    }
});
