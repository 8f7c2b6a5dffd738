//! The strict reading of a Sigstore bundle (`keyless::bundle::Parsed`: one
//! content, one kind of verification material, one log entry, the
//! protobuf-specs JSON form): never panics on any bytes, and whatever it
//! accepts, `sigstore-types` reads to the same content.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = keyless::bundle::fuzzing::read_bundle(data) {
        // Refusals are typed and say why.
        assert!(!e.to_string().is_empty());
    }
});
