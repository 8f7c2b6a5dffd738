//! Signed documents and links in every encoding: never panics; a link that
//! parses converts losslessly through Statement v1 and the classic form;
//! links decoded straight from the borrowed tree (how `toto verify` reads
//! them) are exactly those decoded from a `serde_json::Value`, by the
//! container's rule too.
#![no_main]

use attest::{Link, SignedDocument, Statement};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = dsse::Limits::default();
    let doc = SignedDocument::from_json(data, &limits);
    let opened = attest::signed::open(
        data,
        &limits,
        |_, payload| Ok(Link::from_node(payload).ok()),
    );
    assert_eq!(
        doc.is_ok(),
        opened.is_ok(),
        "readers disagree on the document"
    );
    // By the container's rule (a Metablock link has in-toto's fixed
    // schema), as `toto verify` and `SignedDocument::link` read them.
    let sealed = attest::signed::open(data, &limits, |seal, payload| {
        Ok(match seal {
            attest::signed::Seal::Metablock(_) => Link::from_metablock_node(payload),
            attest::signed::Seal::Envelope(_) => Link::from_node(payload),
        }
        .ok())
    });
    if let Ok(doc) = &doc {
        assert_eq!(doc.link().ok(), sealed.ok().flatten(), "sealed link decoders disagree");
    }
    if let Ok(doc) = doc {
        let link = Link::from_payload(doc.payload().clone()).ok();
        assert_eq!(link, opened.ok().flatten(), "link decoders disagree");
        if let Some(link) = link {
            let via_statement =
                Link::from_payload(link.to_statement().to_value()).expect("statement");
            assert_eq!(via_statement, link);
            let via_classic = Link::from_payload(link.to_classic()).expect("classic");
            assert_eq!(via_classic, link);
        }
    }
    // A bare payload, read both ways.
    let tree = dsse::json::Tree::parse(data);
    if let Ok(value) = dsse::cjson::parse_strict(data) {
        let tree = tree.expect("the tree reads what parse_strict reads");
        assert_eq!(
            Link::from_payload(value.clone()).ok(),
            Link::from_node(tree.root()).ok(),
            "link decoders disagree on a payload"
        );
        assert_eq!(
            Statement::from_value(value.clone()).ok(),
            Statement::decode(tree.root()).ok(),
            "statement decoders disagree"
        );
        if let Ok(statement) = Statement::from_value(value) {
            let again = Statement::from_value(statement.to_value()).expect("statement round trip");
            assert_eq!(again, statement);
        }
    }
});
