//! Strict JSON and canonical JSON: never panics; canonicalization is
//! idempotent.
#![no_main]

use dsse::cjson;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = cjson::parse_strict(data) {
        if let Ok(canonical) = cjson::to_canonical(&value) {
            let reparsed = cjson::parse_strict(&canonical).expect("canonical output parses");
            assert_eq!(reparsed, value);
            assert_eq!(cjson::to_canonical(&reparsed).expect("again"), canonical);
        }
    }
});
