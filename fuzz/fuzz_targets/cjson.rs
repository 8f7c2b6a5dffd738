//! Strict JSON and canonical JSON: never panics; canonical form depends only
//! on the value (not on key order or whitespace of the input).
//!
//! (Canonical output is not always JSON: securesystemslib writes control
//! characters raw, so it is not re-parsed here.)
#![no_main]

use dsse::cjson;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = cjson::parse_strict(data) {
        let canonical = cjson::to_canonical(&value);
        let pretty = serde_json::to_vec_pretty(&value).expect("serialize");
        let reparsed = cjson::parse_strict(&pretty).expect("pretty output parses");
        // (Values are not compared: serde_json's float parsing is not exactly
        // round-trip; floats are refused by canonicalization anyway.)
        match (canonical, cjson::to_canonical(&reparsed)) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            _ => panic!("canonicalization depends on the input's form"),
        }
    }
});
