//! Signing round trips, thresholds and hostile envelopes.

use dsse::{Envelope, Error, KeyKind, KeyedVerifier, Limits, Metablock, PrivateKey, PublicKey};
use serde_json::json;

const KINDS: [KeyKind; 5] = [
    KeyKind::Ed25519,
    KeyKind::EcdsaP256,
    KeyKind::EcdsaP384,
    KeyKind::EcdsaP521,
    KeyKind::Rsa,
];

#[test]
fn every_key_kind_signs_and_verifies_envelopes_and_metablocks() {
    for kind in KINDS {
        let key = PrivateKey::generate(kind).unwrap();
        let env = Envelope::sign("application/x", b"payload".to_vec(), &[&key]).unwrap();
        let parsed = Envelope::from_json(&env.to_json(), &Limits::default()).unwrap();
        parsed.verify(&[key.public_key()], 1).unwrap();

        let mut mb = Metablock::new(json!({"_type": "link", "name": "x"})).unwrap();
        mb.add_signature(&key).unwrap();
        let parsed = Metablock::from_json(&mb.to_json(), &Limits::default()).unwrap();
        parsed.verify(&[key.public_key()], 1).unwrap();

        // The PEMs toto writes read back to the same key, with and without a password.
        let pem = key.to_pkcs8_pem(None).unwrap();
        let again = PrivateKey::from_pem(pem.as_bytes(), None, None).unwrap();
        assert_eq!(again.keyid(), key.keyid(), "{kind:?}");
        let public =
            PublicKey::from_pem(key.public_key().to_pem().unwrap().as_bytes(), None).unwrap();
        assert_eq!(public.keyid(), key.keyid(), "{kind:?}");
    }
}

#[test]
fn encrypted_pem_round_trip() {
    let key = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
    let pem = key.to_pkcs8_pem(Some(b"correct horse")).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let again = PrivateKey::from_pem(pem.as_bytes(), Some(b"correct horse"), None).unwrap();
    assert_eq!(again.keyid(), key.keyid());
    assert!(matches!(
        PrivateKey::from_pem(pem.as_bytes(), Some(b"wrong"), None),
        Err(Error::WrongPassword)
    ));
}

/// Signs `payload` as `payload_type`, sets `field` of the envelope to
/// `value` and verifies what results.
fn verify_with_changed(payload_type: &str, field: &str, value: &str) -> Result<(), Error> {
    let key = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let env = Envelope::sign(payload_type, b"abc".to_vec(), &[&key]).unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&env.to_json()).unwrap();
    json[field] = value.into();
    let parsed = Envelope::from_json(json.to_string().as_bytes(), &Limits::default()).unwrap();
    parsed.verify(&[key.public_key()], 1).map(|_| ())
}

#[test]
fn tampered_payload_fails() {
    assert!(matches!(
        verify_with_changed("t", "payload", "YWJk"),
        Err(Error::Signature)
    ));
}

#[test]
fn payload_type_swap_fails() {
    assert!(matches!(
        verify_with_changed("a", "payloadType", "b"),
        Err(Error::Signature)
    ));
}

#[test]
fn threshold_counts_distinct_keys_only() {
    let a = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let b = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
    // The same key signing twice is one key.
    let twice = Envelope::sign("t", b"x".to_vec(), &[&a, &a]).unwrap();
    let verifiers: [&dyn KeyedVerifier; 2] = [a.public_key(), b.public_key()];
    assert!(matches!(
        twice.verify(&verifiers, 2),
        Err(Error::Threshold {
            required: 2,
            verified: 1
        })
    ));
    let both = Envelope::sign("t", b"x".to_vec(), &[&a, &b]).unwrap();
    assert_eq!(both.verify(&verifiers, 2).unwrap().identities.len(), 2);
    // An untrusted signer does not count.
    let c = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let other = Envelope::sign("t", b"x".to_vec(), &[&a, &c]).unwrap();
    assert!(matches!(
        other.verify(&verifiers, 2),
        Err(Error::Threshold { .. })
    ));
    assert!(matches!(
        other.verify(&[c.public_key()], 0),
        Err(Error::Malformed { .. })
    ));
}

/// Issue #16: one key under two keytype spellings has two key ids; an
/// envelope signed under both is one signer, not two, for a threshold.
#[test]
fn one_key_under_two_spellings_counts_once() {
    let bob = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
    let plain = bob.public_key().clone();
    let mut dict = plain.to_key_dict();
    assert_eq!(dict["keytype"], "ecdsa");
    dict["keytype"] = serde_json::json!("ecdsa-sha2-nistp256");
    let alias = dsse::PublicKey::from_key_dict(&dict).unwrap();
    assert_ne!(plain.keyid(), alias.keyid());
    let envelope = Envelope::sign("t", b"x".to_vec(), &[&bob]).unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&envelope.to_json()).unwrap();
    let mut second = value["signatures"][0].clone();
    second["keyid"] = serde_json::json!(alias.keyid().to_string());
    value["signatures"].as_array_mut().unwrap().push(second);
    let twice =
        Envelope::from_json(&serde_json::to_vec(&value).unwrap(), &Limits::default()).unwrap();
    let verifiers: [&dyn KeyedVerifier; 2] = [&plain, &alias];
    assert!(matches!(
        twice.verify(&verifiers, 2),
        Err(Error::Threshold {
            required: 2,
            verified: 1
        })
    ));
    assert_eq!(twice.verify(&verifiers, 1).unwrap().identities.len(), 1);
}

/// `document` (JSON) with the signatures `list` built from its own:
/// `(index, flip)` takes signature `index`, with a bit flipped when `flip`.
fn resigned(document: &[u8], list: &[(usize, bool)]) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(document).unwrap();
    let original = value["signatures"].as_array().unwrap().clone();
    let signatures: Vec<serde_json::Value> = list
        .iter()
        .map(|&(index, flip)| {
            let mut sig = original[index].clone();
            if flip {
                let text = sig["sig"].as_str().unwrap();
                // Hex (Metablock) or base64 (envelope): change the first digit.
                let first = if text.starts_with('0') { "1" } else { "0" };
                sig["sig"] = format!("{first}{}", &text[1..]).into();
            }
            sig
        })
        .collect();
    value["signatures"] = signatures.into();
    serde_json::to_vec(&value).unwrap()
}

/// Two signatures under one key id, one bad: the key does not count,
/// whichever comes first (in-toto 3.1 verifies only the first signature
/// under a key id in a Metablock, and refuses an envelope with two).
#[test]
fn a_bad_signature_under_a_trusted_key_id_is_not_skipped() {
    let limits = Limits::default();
    let a = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let b = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
    let envelope = Envelope::sign("t", b"x".to_vec(), &[&a, &b])
        .unwrap()
        .to_json();
    let mut metablock = Metablock::new(json!({"_type": "link", "name": "x"})).unwrap();
    metablock.add_signature(&a).unwrap();
    metablock.add_signature(&b).unwrap();
    let metablock = metablock.to_json();
    let verify = |document: &[u8], verifiers: &[&dyn KeyedVerifier], threshold| {
        let value: serde_json::Value = serde_json::from_slice(document).unwrap();
        if value.get("payload").is_some() {
            Envelope::from_json(document, &limits)
                .unwrap()
                .verify(verifiers, threshold)
        } else {
            Metablock::from_json(document, &limits)
                .unwrap()
                .verify(verifiers, threshold)
        }
    };
    for document in [&envelope, &metablock] {
        // Signature 0 is a's, 1 is b's.
        for list in [[(0, true), (0, false)], [(0, false), (0, true)]] {
            let doc = resigned(document, &list);
            assert!(
                matches!(verify(&doc, &[a.public_key()], 1), Err(Error::Signature)),
                "{list:?}"
            );
        }
        // A threshold of two keys is not met when one of them has a bad
        // signature too.
        let doc = resigned(document, &[(0, false), (1, false), (1, true)]);
        let both: [&dyn KeyedVerifier; 2] = [a.public_key(), b.public_key()];
        assert!(matches!(
            verify(&doc, &both, 2),
            Err(Error::Threshold {
                required: 2,
                verified: 1
            })
        ));
        assert!(verify(&doc, &[a.public_key()], 1).is_ok());
        // Good signatures only: still verified.
        let doc = resigned(document, &[(0, false), (0, false), (1, false)]);
        assert_eq!(verify(&doc, &both, 2).unwrap().identities.len(), 2);
    }
    // A bad signature without a key id names no key: it does not count
    // against one.
    let mut value: serde_json::Value =
        serde_json::from_slice(&resigned(&envelope, &[(1, true), (0, false)])).unwrap();
    value["signatures"][0]
        .as_object_mut()
        .unwrap()
        .remove("keyid");
    let doc = serde_json::to_vec(&value).unwrap();
    assert!(verify(&doc, &[b.public_key()], 1).is_err());
    assert!(verify(&doc, &[a.public_key()], 1).is_ok());
}

#[test]
fn hostile_envelopes_are_typed_errors() {
    let limits = Limits::default();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "truncated",
            br#"{"payload": "YWJj", "payloadType": "t", "signatures": ["#.to_vec(),
        ),
        ("not json", b"\x00\xff garbage".to_vec()),
        (
            "bad base64",
            br#"{"payload": "YW$j", "payloadType": "t", "signatures": []}"#.to_vec(),
        ),
        (
            "duplicate key",
            br#"{"payload": "YWJj", "payload": "YWJk", "payloadType": "t", "signatures": []}"#
                .to_vec(),
        ),
        (
            "unknown field",
            br#"{"payload": "YWJj", "payloadType": "t", "signatures": [], "x": 1}"#.to_vec(),
        ),
        (
            "empty type",
            br#"{"payload": "YWJj", "payloadType": "", "signatures": []}"#.to_vec(),
        ),
        (
            "sig not string",
            br#"{"payload": "YWJj", "payloadType": "t", "signatures": [{"sig": 5}]}"#.to_vec(),
        ),
    ];
    for (name, bytes) in cases {
        assert!(Envelope::from_json(&bytes, &limits).is_err(), "{name}");
    }
    let many = format!(
        r#"{{"payload": "YWJj", "payloadType": "t", "signatures": [{}]}}"#,
        vec![r#"{"sig": "YWJj"}"#; 10_000].join(",")
    );
    assert!(matches!(
        Envelope::from_json(many.as_bytes(), &limits),
        Err(Error::TooMany { actual: 10_000, .. })
    ));
    let huge = format!(
        r#"{{"payload": "{}", "payloadType": "t", "signatures": []}}"#,
        "A".repeat(100 << 20)
    );
    assert!(matches!(
        Envelope::from_json(huge.as_bytes(), &limits),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn hostile_keys_are_typed_errors() {
    assert!(matches!(
        PublicKey::from_pem(b"not a pem", None),
        Err(Error::InvalidKey { .. })
    ));
    let cert_like = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(PublicKey::from_pem(cert_like, None).is_err());
    assert!(PrivateKey::from_pem(cert_like, None, None).is_err());
    let dict = json!({"keytype": "dsa", "scheme": "dsa-sha1", "keyval": {"public": "x"}});
    assert!(matches!(
        PublicKey::from_key_dict(&dict),
        Err(Error::UnsupportedKey { .. })
    ));
    let dict = json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "zz"}});
    assert!(PublicKey::from_key_dict(&dict).is_err());
    let dict =
        json!({"keytype": "ed25519", "scheme": "ecdsa-sha2-nistp256", "keyval": {"public": "00"}});
    assert!(matches!(
        PublicKey::from_key_dict(&dict),
        Err(Error::UnsupportedKey { .. })
    ));
    assert!(PublicKey::from_key_dict(&json!({"keytype": "ed25519"})).is_err());
}
