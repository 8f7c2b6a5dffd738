//! Artifact rules and patterns: never panics; a rule that parses prints back
//! to itself; fnmatch terminates on any pattern.
#![no_main]

use attest::rules::{fnmatch, Rule};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rule) = text.parse::<Rule>() {
        let again: Rule = rule.to_string().parse().expect("printed rule parses");
        assert_eq!(again, rule);
    }
    if let Some((name, pattern)) = text.split_once('\n') {
        let _ = fnmatch(name, pattern);
    }
});
