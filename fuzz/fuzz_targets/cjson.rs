//! Strict JSON and canonical JSON: never panics; canonicalization is
//! idempotent (canonical bytes re-parse to a value with byte-identical
//! canonical form) and depends only on the value, not on key order or
//! whitespace of the input. The borrowed reader `dsse::json::Tree` agrees
//! with `parse_strict` on every input: same verdict, same value, same
//! canonical bytes, same value when decoded through serde.
#![no_main]

use dsse::cjson;
use libfuzzer_sys::fuzz_target;

/// Canonical output writes control characters raw, as securesystemslib does,
/// so it is not always JSON. It has no whitespace outside strings, so every
/// byte below 0x20 is inside a string: escaping them gives JSON of the same
/// value.
fn escape_controls(canonical: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(canonical.len());
    for &b in canonical {
        if b < 0x20 {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let tree = dsse::json::Tree::parse(data);
    let Ok(value) = cjson::parse_strict(data) else {
        assert!(tree.is_err(), "only the borrowed reader accepts the input");
        return;
    };
    let tree = tree.expect("the borrowed reader accepts what parse_strict accepts");
    let canonical = cjson::to_canonical(&value);
    assert_eq!(
        tree.root().to_value(),
        value,
        "readers disagree on the value"
    );
    let decoded: serde_json::Value = tree.root().decode().expect("tree decodes");
    assert_eq!(decoded, value, "serde decoding of the tree differs");
    let mut from_tree = Vec::new();
    match (&canonical, tree.root().write_canonical(&mut from_tree)) {
        (Ok(a), Ok(())) => assert_eq!(*a, from_tree, "canonical bytes differ"),
        (Err(_), Err(_)) => {}
        _ => panic!("only one reader's value canonicalizes"),
    }
    if let Ok(once) = &canonical {
        let reparsed =
            cjson::parse_strict(&escape_controls(once)).expect("canonical output re-parses");
        let twice = cjson::to_canonical(&reparsed).expect("re-parsed value canonicalizes");
        assert_eq!(&twice, once, "canonical JSON is not idempotent");
        if !once.iter().any(|&b| b < 0x20) {
            // Without control characters the canonical form is plain JSON.
            let plain = cjson::parse_strict(once).expect("canonical output is JSON");
            assert_eq!(plain, reparsed);
        }
    }
    // Same value, different form: pretty-printed (other whitespace, escapes).
    let pretty = serde_json::to_vec_pretty(&value).expect("serialize");
    let again = cjson::parse_strict(&pretty).expect("pretty output parses");
    // (Floats are not compared: serde_json's float parsing is not exactly
    // round-trip, and canonicalization refuses them anyway.)
    match (canonical, cjson::to_canonical(&again)) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "canonical form depends on the input's form"),
        (Err(_), Err(_)) => {}
        _ => panic!("canonicalization succeeds for one form of the value only"),
    }
});
