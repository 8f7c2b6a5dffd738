//! The streaming readers `toto verify` reads Metablock links with
//! (`dsse::json::canonicalize_sorted`, `decode_canonical`,
//! `dsse::Seal::read_sorted`, `attest::Link::from_canonical_metablock`)
//! and DSSE links with (`dsse::json::decode_sorted`,
//! `dsse::Envelope::read_sorted`, `attest::Link::from_sorted_payload`):
//! never panic, and accept only what the tree readers accept, with the same
//! result: the same canonical bytes, value, seal, envelope and link. (They
//! may refuse more: keys out of order, floats for the canonical writer; the
//! tree then says why.)
#![no_main]

use dsse::json::Tree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = dsse::Limits::default();
    if let Ok(read) = dsse::json::canonicalize_sorted(data) {
        let tree = Tree::parse(data).expect("the tree accepts what the stream canonicalizes");
        let mut canonical = Vec::new();
        tree.root()
            .write_canonical(&mut canonical)
            .expect("the tree canonicalizes it too");
        assert_eq!(read.bytes, canonical, "canonical bytes differ");
        let members: Vec<_> = tree.root().members().collect();
        assert_eq!(members.len(), read.members.len(), "top-level members differ");
        for ((key, node), (streamed, range)) in members.iter().zip(&read.members) {
            assert_eq!(key, streamed, "member keys differ");
            let mut one = Vec::new();
            node.write_canonical(&mut one).expect("a member canonicalizes");
            assert_eq!(read.bytes.get(range.clone()), Some(&one[..]), "member range");
        }
        let again = Tree::parse_canonical(&read.bytes).expect("canonical bytes read back");
        assert_eq!(again.root().to_value(), tree.root().to_value(), "read back differs");
        let decoded: serde_json::Value =
            dsse::json::decode_canonical(&read.bytes, false).expect("canonical bytes decode");
        assert_eq!(decoded, tree.root().to_value(), "decoded value differs");
    }
    // Anything decode_canonical accepts, the canonical tree reads the same.
    if let Ok(decoded) = dsse::json::decode_canonical::<serde_json::Value>(data, false) {
        let tree = Tree::parse_canonical(data).expect("the canonical tree accepts it too");
        assert_eq!(decoded, tree.root().to_value(), "canonical readers disagree");
    }
    if let Ok(link) = attest::Link::from_canonical_metablock(data.to_vec()) {
        let tree = Tree::parse_canonical(data).expect("the canonical tree accepts the link");
        let same = attest::Link::from_metablock_node(tree.root());
        assert_eq!(
            link.map_err(|e| e.to_string()),
            same.map_err(|e| e.to_string()),
            "links or refusals differ"
        );
    }
    // Sorted JSON text: the value the tree reads.
    if let Ok(decoded) = dsse::json::decode_sorted::<serde_json::Value>(data) {
        let tree = Tree::parse(data).expect("the tree accepts sorted text");
        assert_eq!(decoded, tree.root().to_value(), "sorted readers disagree");
    }
    if let Some(envelope) = dsse::Envelope::read_sorted(data, &limits) {
        let same = dsse::Envelope::from_json(data, &limits).expect("the tree reads the envelope");
        assert_eq!(envelope, same, "envelopes differ");
        assert_eq!(
            envelope.pae(),
            dsse::pae::pae(same.payload_type(), same.payload()),
            "PAE differs"
        );
    }
    // A DSSE payload: the link (or refusal) of its tree.
    if let Some(link) = attest::Link::from_sorted_payload(data) {
        let tree = Tree::parse(data).expect("the tree accepts the payload");
        assert_eq!(
            link.map_err(|e| e.to_string()),
            attest::Link::from_node(tree.root()).map_err(|e| e.to_string()),
            "links or refusals from the payload differ"
        );
    }
    if let Some(seal) = dsse::Seal::read_sorted(data, &limits) {
        let tree = Tree::parse(data).expect("the tree accepts a sorted Metablock");
        let metablock = dsse::MetablockRef::from_node(tree.root(), &limits)
            .expect("the tree reads the Metablock");
        assert_eq!(&seal, metablock.seal(), "seals differ");
        if let Ok(link) = attest::Link::from_canonical_metablock(seal.into_canonical_bytes()) {
            let same = attest::Link::from_metablock_node(metablock.signed());
            assert_eq!(
                link.map_err(|e| e.to_string()),
                same.map_err(|e| e.to_string()),
                "links or refusals from the Metablock differ"
            );
        }
    }
});
