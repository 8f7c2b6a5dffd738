//! Metablock parsing: never panics; re-serialization keeps the signed bytes.
#![no_main]

use dsse::{Limits, Metablock};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(block) = Metablock::from_json(data, &limits) {
        let again = Metablock::from_json(&block.to_json(), &limits).expect("re-parse");
        assert_eq!(again.canonical_bytes(), block.canonical_bytes());
    }
});
