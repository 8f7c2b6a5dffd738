//! Metablock parsing: never panics; re-serialization keeps the signed value,
//! the signed (canonical) bytes and every (keyid, sig) pair.
#![no_main]

use dsse::{Limits, Metablock};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(block) = Metablock::from_json(data, &limits) else {
        return;
    };
    let again = Metablock::from_json(&block.to_json(), &limits).expect("to_json output re-parses");
    assert_eq!(again.canonical_bytes(), block.canonical_bytes());
    assert_eq!(again.signed(), block.signed());
    let pairs = |b: &Metablock| -> Vec<(String, Vec<u8>)> {
        b.signatures()
            .iter()
            .map(|s| (s.keyid.clone(), s.sig.clone()))
            .collect()
    };
    assert_eq!(pairs(&again), pairs(&block));
});
