//! Layout verification as an entry point: arbitrary bytes as the layout and
//! as every link file. Never panics; never verifies a layout no trusted key
//! signed.
#![no_main]

use std::sync::OnceLock;

use attest::layout::Inspection;
use attest::verify::{verify_layout, Evidence, Options};
use attest::{Link, SignedDocument};
use dsse::{KeyKind, Limits, PrivateKey};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(KeyKind::Ed25519).expect("keygen"))
}

/// Every link file has the fuzzed bytes; inspections are refused.
struct Fuzzed<'a>(&'a [u8]);

impl Evidence for Fuzzed<'_> {
    fn read_link(&self, _: &str) -> Result<Option<Vec<u8>>, attest::Error> {
        Ok(Some(self.0.to_vec()))
    }
    fn subdirectory(&self, _: &str) -> Box<dyn Evidence + '_> {
        Box::new(Fuzzed(self.0))
    }
    fn run_inspection(&self, _: &Inspection) -> Result<Link, attest::Error> {
        Err(attest::Error::Malformed { what: "inspection", reason: "not run while fuzzing".into() })
    }
    fn describe(&self, name: &str) -> String {
        name.to_owned()
    }
}

fuzz_target!(|data: &[u8]| {
    let options = Options { now: 0, run_inspections: true, limits: Limits::default(), keyless_layout: false, require_success: false, intermediate_certs: Vec::new() };
    if let Ok(document) = SignedDocument::from_json(data, &Limits::default()) {
        if let Ok(report) = verify_layout(&document, &[key().public_key().clone()], &Fuzzed(data), &options) {
            assert!(!report.verified, "a layout nobody trusted signed verified");
        }
        // The same bytes, signed by the trusted key: must not panic either.
        if let Ok(mut signed) = SignedDocument::new(document.payload().clone(), document.encoding()) {
            if signed.add_signature(key()).is_ok() {
                let _ = verify_layout(&signed, &[key().public_key().clone()], &Fuzzed(data), &options);
            }
        }
    }
});
