//! Chains big enough for the paths only big evidence takes: a link's
//! signature checked on a thread of its own while it is decoded (over
//! 1 MiB), every item's rule queues checked at once (over 4096 queued
//! artifacts), the verified links dropped aside (over 10 000 entries).
//! Each gives the verdict, the failure and the report the small path gives.

use super::*;
use crate::digest::ArtifactMap;

/// Artifacts in each list: a consume link of 12 000 materials and
/// 12 000 products is over 1 MiB in every encoding.
const ARTIFACTS: usize = 12_000;

fn tree() -> ArtifactMap {
    (0..ARTIFACTS)
        .map(|i| {
            (
                format!("tree/d{:03}/f{i:05}", i / 500),
                crate::DigestSet::single("sha256", &format!("{i:064x}")).unwrap(),
            )
        })
        .collect()
}

/// Step `name`'s link in `encoding`, signed by `signer` (with `materials`
/// and `products`).
fn step_link(
    name: &str,
    materials: ArtifactMap,
    products: ArtifactMap,
    encoding: Encoding,
    signer: &PrivateKey,
) -> Vec<u8> {
    let link = Link {
        name: name.into(),
        command: Vec::new(),
        materials,
        products,
        byproducts: Default::default(),
        environment: Default::default(),
    };
    sign_link_as(&link, encoding, &[signer], |_| {})
}

/// Verifies produce (`produce_rules` on its products) then consume
/// (`consume_rules` on both lists), bob's links in `encoding`; consume's
/// link signed by `consume_signer` (bob, unless given).
fn verify_chain_of(
    encoding: Encoding,
    produce_rules: &[&str],
    consume_rules: &[&str],
    consume_signer: Option<&PrivateKey>,
) -> Report {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let id = bob.keyid().to_string();
    let mut files = Files::default();
    let produce = step_link("produce", ArtifactMap::new(), tree(), encoding, &bob);
    let consume = step_link(
        "consume",
        tree(),
        tree(),
        encoding,
        consume_signer.unwrap_or(&bob),
    );
    assert!(consume.len() > 1 << 20, "{} bytes", consume.len());
    files
        .0
        .insert(format!("produce.{}.link", &id[..8]), produce);
    files
        .0
        .insert(format!("consume.{}.link", &id[..8]), consume);
    let words = |rules: &[&str]| -> Vec<Vec<String>> {
        let words = |rule: &&str| rule.split_whitespace().map(str::to_owned).collect();
        rules.iter().map(words).collect()
    };
    let step = |name: &str, materials: &[&str], products: &[&str]| {
        let (materials, products) = (words(materials), words(products));
        json!({
            "_type": "step", "name": name, "pubkeys": [id], "threshold": 1,
            "expected_command": [], "expected_materials": materials,
            "expected_products": products,
        })
    };
    let layout = json!({
        "_type": "layout", "expires": "2100-01-01T00:00:00Z", "readme": "",
        "keys": {id.clone(): key_dict(&bob)},
        "steps": [
            step("produce", &[], produce_rules),
            step("consume", consume_rules, consume_rules),
        ],
        "inspect": [],
    });
    verify(layout, &files)
}

const MATCHED: &[&str] = &["MATCH tree/* WITH PRODUCTS FROM produce", "DISALLOW *"];

#[test]
fn a_big_chain_verifies_in_every_encoding_and_reports_its_products() {
    for encoding in [Encoding::Metablock, Encoding::Dsse, Encoding::Statement] {
        let report = verify_chain_of(encoding, &["CREATE tree/*", "DISALLOW *"], MATCHED, None);
        assert!(report.verified, "{encoding:?}: {:?}", report.failure);
        // The last step's products, handed over (moved) to the report.
        assert_eq!(report.products, tree(), "{encoding:?}");
        let consume = &report.steps[1];
        for traces in [&consume.materials, &consume.products] {
            assert_eq!(traces[0].consumed.len(), ARTIFACTS, "{encoding:?}");
            assert!(traces[1].consumed.is_empty());
        }
        assert_eq!(report.steps[0].products[0].consumed.len(), ARTIFACTS);
    }
}

/// Every item fails somewhere; the failure reported is the one checked
/// first (steps in order, materials before products), and the report has
/// no traces of what comes after it — as when checked one by one.
#[test]
fn of_many_failing_queues_the_first_in_the_references_order_is_reported() {
    let last = format!("tree/d023/f{:05}", ARTIFACTS - 1);
    let failing_produce = ["CREATE tree/d000/*", "DISALLOW *"];
    let report = verify_chain_of(Encoding::Metablock, &failing_produce, &["DISALLOW *"], None);
    match report.failure.as_ref().unwrap() {
        Failure::Rule {
            item,
            source,
            artifact,
            ..
        } => {
            assert_eq!(item, "produce");
            assert_eq!(*source, crate::rules::SourceType::Products);
            // The first path after what CREATE consumed.
            assert_eq!(artifact, "tree/d001/f00500");
        }
        other => panic!("{other}"),
    }
    assert_eq!(report.steps[0].products[0].consumed.len(), 500);
    assert!(report.steps[1].materials.is_empty() && report.steps[1].products.is_empty());

    // produce passes; consume's materials fail before its products do.
    let report = verify_chain_of(
        Encoding::Metablock,
        &["CREATE tree/*"],
        &["ALLOW tree/d000/*", "DISALLOW *"],
        None,
    );
    match report.failure.as_ref().unwrap() {
        Failure::Rule { item, source, .. } => {
            assert_eq!(item, "consume");
            assert_eq!(*source, crate::rules::SourceType::Materials);
        }
        other => panic!("{other}"),
    }
    let consume = &report.steps[1];
    assert_eq!(consume.materials[0].consumed.len(), 500);
    assert!(
        consume.products.is_empty(),
        "products traced after materials failed"
    );
    assert_eq!(
        consume.queues.failed,
        Some((crate::rules::SourceType::Materials, "DISALLOW *".into()))
    );
    assert_eq!(consume.queues.materials.last(), Some(&last));
}

/// A big link signed by another key under bob's file name: its signature
/// is checked while it is decoded, and what was decoded is not used.
#[test]
fn a_big_link_signed_by_another_key_is_refused_in_every_encoding() {
    let mallory = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    for encoding in [Encoding::Metablock, Encoding::Dsse, Encoding::Statement] {
        let report = verify_chain_of(encoding, &["CREATE tree/*"], MATCHED, Some(&mallory));
        let failure = report.failure.expect("refused").to_string();
        assert!(
            failure.contains("not signed by functionary") && failure.contains("wrong key"),
            "{encoding:?}: {failure}"
        );
        assert!(report.products.is_empty());
    }
}

/// A big link whose signature names bob's key but does not verify (one
/// artifact's digest changed after signing): a bad signature, in the
/// Metablock and envelope encodings.
#[test]
fn a_big_link_changed_after_signing_is_a_bad_signature() {
    for encoding in [Encoding::Metablock, Encoding::Dsse] {
        let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
        let id = bob.keyid().to_string();
        let link = step_link("consume", tree(), tree(), encoding, &bob);
        let mut value: Value = serde_json::from_slice(&link).unwrap();
        let other = "f".repeat(64);
        match encoding {
            Encoding::Metablock => {
                value["signed"]["products"]["tree/d000/f00000"]["sha256"] = json!(other);
            }
            _ => {
                let decoded = dsse::b64::decode("payload", value["payload"].as_str().unwrap());
                let mut payload: Value = serde_json::from_slice(&decoded.unwrap()).unwrap();
                payload["products"]["tree/d000/f00000"]["sha256"] = json!(other);
                value["payload"] = json!(dsse::b64::encode(&serde_json::to_vec(&payload).unwrap()));
            }
        }
        let mut files = Files::default();
        files.0.insert(
            format!("consume.{}.link", &id[..8]),
            serde_json::to_vec(&value).unwrap(),
        );
        let mut layout = layout(&[(&id, key_dict(&bob))], &[&id], 1);
        layout["steps"][0]["name"] = json!("consume");
        let failure = verify(layout, &files).failure.expect("refused").to_string();
        assert!(
            failure.contains("not signed by functionary") && failure.contains("bad signature"),
            "{encoding:?}: {failure}"
        );
    }
}
