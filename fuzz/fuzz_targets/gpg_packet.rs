//! OpenPGP packet reading (`gpg --detach-sign` output and `gpg --export`
//! output): never panics, stays within its limits, and every key dict it
//! makes is one the verifier reads back.
#![no_main]

use dsse::gpg::{key_dict_from_export, parse_signature_packet, GpgKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sig) = parse_signature_packet(data) {
        assert!(data.len() <= dsse::gpg::MAX_SIGNATURE_PACKET_BYTES);
        assert_eq!(sig.keyid.len(), 40);
        // Version, type, algorithm, hash and the hashed-area length.
        assert!(sig.other_headers.len() >= 6);
        assert_eq!(sig.other_headers.first(), Some(&4));
    }
    if let Ok(dict) = key_dict_from_export(data, "") {
        let key = GpgKey::from_key_dict(&dict).expect("an exported key dict reads back");
        assert_eq!(Some(key.keyid()), dict["keyid"].as_str());
    }
});
