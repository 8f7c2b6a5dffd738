//! Layout parsing: never panics; a layout that parses round-trips.
#![no_main]

use attest::layout::Layout;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = dsse::cjson::parse_strict(data) {
        let value = value.get("signed").cloned().unwrap_or(value);
        if let Ok(layout) = Layout::from_value(value) {
            let again = Layout::from_value(layout.to_value()).expect("round trip");
            assert_eq!(again.steps, layout.steps);
            assert_eq!(again.inspect, layout.inspect);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = attest::time::parse_rfc3339_utc(text);
    }
});
