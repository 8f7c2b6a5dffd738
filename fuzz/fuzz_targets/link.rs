//! Signed documents and links in every encoding: never panics; a link that
//! parses converts losslessly through Statement v1 and the classic form.
#![no_main]

use attest::{Link, SignedDocument, Statement};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = dsse::Limits::default();
    if let Ok(doc) = SignedDocument::from_json(data, &limits) {
        if let Ok(link) = Link::from_payload(doc.payload().clone()) {
            let via_statement = Link::from_payload(link.to_statement().to_value()).expect("statement");
            assert_eq!(via_statement, link);
            let via_classic = Link::from_payload(link.to_classic()).expect("classic");
            assert_eq!(via_classic, link);
        }
    }
    if let Ok(value) = dsse::cjson::parse_strict(data) {
        if let Ok(statement) = Statement::from_value(value) {
            let again = Statement::from_value(statement.to_value()).expect("statement round trip");
            assert_eq!(again, statement);
        }
    }
});
