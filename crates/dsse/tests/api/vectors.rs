//! The reference's vectors in `../shared/vectors/intoto/`: every key id,
//! every DSSE and Metablock signature, every canonical JSON case.

use std::fs;

use dsse::{cjson, Envelope, Error, KeyedVerifier, Limits, Metablock, PrivateKey, PublicKey};
use serde_json::Value;
use testkit::vectors;

fn read(rel: &str) -> Vec<u8> {
    let path = vectors().join(rel);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const KEY_TYPES: [&str; 5] = ["ed25519", "p256", "p384", "p521", "rsa"];

fn key_dicts() -> Value {
    serde_json::from_slice(&read("keys/key_dicts.json")).unwrap()
}

fn public(kt: &str) -> PublicKey {
    PublicKey::from_pem(&read(&format!("keys/{kt}.pub")), None).unwrap()
}

#[test]
fn key_ids_of_every_key_type_match_the_reference() {
    let dicts = key_dicts();
    for kt in KEY_TYPES {
        let dict = &dicts[kt];
        let expected = dict["keyid"].as_str().unwrap();
        let from_pem = public(kt);
        assert_eq!(from_pem.keyid().as_str(), expected, "{kt} from SPKI PEM");
        assert_eq!(
            from_pem.to_key_dict()["keyval"],
            dict["keyval"],
            "{kt} keyval"
        );
        assert_eq!(
            from_pem.to_key_dict()["scheme"],
            dict["scheme"],
            "{kt} scheme"
        );
        assert_eq!(
            from_pem.to_key_dict()["keytype"],
            dict["keytype"],
            "{kt} keytype"
        );
        let from_dict = PublicKey::from_key_dict(dict).unwrap();
        assert_eq!(from_dict.keyid().as_str(), expected, "{kt} from key dict");
        let private = PrivateKey::from_pem(&read(&format!("keys/{kt}.pem")), None, None).unwrap();
        assert_eq!(private.keyid().as_str(), expected, "{kt} from private PEM");
    }
}

#[test]
fn key_dict_with_a_wrong_keyid_is_refused() {
    let mut dict = key_dicts()["p256"].clone();
    dict["keyid"] = Value::String("00".repeat(32));
    assert!(matches!(
        PublicKey::from_key_dict(&dict),
        Err(Error::KeyIdMismatch { .. })
    ));
}

#[test]
fn legacy_key_ids_of_upstream_layout_keys() {
    for dir in ["upstream_demo_files", "upstream_demo_dsse_files"] {
        let layout: Value = serde_json::from_slice(&read(&format!("{dir}/demo.layout"))).unwrap();
        let keys = layout
            .get("signed")
            .map(|s| s["keys"].clone())
            .unwrap_or_else(|| {
                // DSSE layout: decode the payload.
                let env =
                    Envelope::from_json(&read(&format!("{dir}/demo.layout")), &Limits::default())
                        .unwrap();
                serde_json::from_slice::<Value>(env.payload()).unwrap()["keys"].clone()
            });
        let keys = keys.as_object().unwrap();
        assert!(!keys.is_empty());
        for (keyid, dict) in keys {
            let key = PublicKey::from_key_dict(dict).unwrap();
            assert_eq!(key.legacy_keyid().as_str(), keyid, "{dir}: legacy key id");
            assert!(key.matches_keyid(keyid));
            assert_ne!(
                key.keyid().as_str(),
                keyid,
                "{dir}: these are legacy-style ids"
            );
        }
    }
}

#[test]
fn encrypted_pkcs8_needs_the_right_password() {
    let pem = read("keys/ed25519_enc.pem");
    let key = PrivateKey::from_pem(&pem, Some(b"hunter2"), None).unwrap();
    assert_eq!(key.keyid(), public("ed25519").keyid());
    assert!(matches!(
        PrivateKey::from_pem(&pem, None, None),
        Err(Error::PasswordRequired)
    ));
    assert!(matches!(
        PrivateKey::from_pem(&pem, Some(b"hunter3"), None),
        Err(Error::WrongPassword)
    ));
}

#[test]
fn dsse_spec_vector_verifies_with_raw_ecdsa_signature() {
    let key = PublicKey::from_pem(&read("dsse_spec_vector_pub.pem"), None).unwrap();
    let env = Envelope::from_json(&read("dsse_spec_vector.json"), &Limits::default()).unwrap();
    assert_eq!(
        env.pae(),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert!(env.signatures()[0].keyid.is_none());
    let verified = env.verify(&[&key], 1).unwrap();
    assert_eq!(verified.identities, vec![key.keyid().to_string()]);
    assert_eq!(env.payload(), b"hello world");
}

/// The key types of the reference's signed links, with the short key id
/// in their file names.
const REFERENCE_LINK_KEYS: [(&str, &str); 5] = [
    ("ed25519", "6f2fb44c"),
    ("p256", "a39bd120"),
    ("p384", "8bdeb627"),
    ("p521", "c5a38f60"),
    ("rsa", "1a14cce4"),
];

/// Each reference link, as a DSSE envelope and as a metablock, verifies
/// with its key; another type's key does not verify the envelope.
#[test]
fn every_reference_link_verifies_with_its_key_as_dsse_and_metablock() {
    for (kt, short) in REFERENCE_LINK_KEYS {
        let key = public(kt);
        let env = Envelope::from_json(
            &read(&format!("dsse-{kt}.{short}.link")),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(env.payload_type(), "application/vnd.in-toto+json");
        env.verify(&[&key], 1)
            .unwrap_or_else(|e| panic!("{kt} envelope: {e}"));
        let other = public(if kt == "ed25519" { "p256" } else { "ed25519" });
        assert!(
            matches!(env.verify(&[&other], 1), Err(Error::Signature)),
            "{kt}"
        );
        let mb = Metablock::from_json(
            &read(&format!("step-{kt}.{short}.link")),
            &Limits::default(),
        )
        .unwrap();
        mb.verify(&[&key], 1)
            .unwrap_or_else(|e| panic!("{kt} metablock: {e}"));
    }
}

#[test]
fn demo_metablocks_canonicalize_byte_for_byte() {
    for name in [
        "clone.210dcc50.link",
        "package.be06db20.link",
        "root.layout",
        "update-version.210dcc50.link",
    ] {
        let mb = Metablock::from_json(
            &read(&format!("demo_metablock_good/{name}")),
            &Limits::default(),
        )
        .unwrap();
        let expected = read(&format!("demo_metablock_canonical/{name}.signed.canonical"));
        assert_eq!(mb.canonical_bytes(), &expected[..], "{name}");
    }
}

#[test]
fn demo_metablocks_verify_with_the_demo_keys() {
    let dir = vectors().join("demo_metablock_good");
    let key = |name: &str| PublicKey::from_pem(&fs::read(dir.join(name)).unwrap(), None).unwrap();
    let (alice, bob, carl) = (key("alice.pub"), key("bob.pub"), key("carl.pub"));
    let all: [&dyn KeyedVerifier; 3] = [&alice, &bob, &carl];
    for name in [
        "clone.210dcc50.link",
        "package.be06db20.link",
        "root.layout",
        "update-version.210dcc50.link",
    ] {
        let mb =
            Metablock::from_json(&fs::read(dir.join(name)).unwrap(), &Limits::default()).unwrap();
        mb.verify(&all, 1).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn canonical_json_vectors() {
    let cases: Value = serde_json::from_slice(&read("canonical_json_vectors.json")).unwrap();
    let cases = cases.as_object().unwrap();
    assert!(cases.len() >= 8);
    for (name, case) in cases {
        let input = case["input_json"].as_str().unwrap();
        let parsed = cjson::parse_strict(input.as_bytes()).unwrap();
        let result = cjson::to_canonical(&parsed);
        match case.get("canonical_utf8_b64") {
            Some(b64) => {
                let expected = dsse::b64::decode("expected", b64.as_str().unwrap()).unwrap();
                assert_eq!(result.unwrap(), expected, "{name}");
            }
            None => assert!(matches!(result, Err(Error::CanonicalJson { .. })), "{name}"),
        }
    }
}

#[test]
fn reference_files_reserialize_byte_for_byte() {
    // Metablocks: json.dumps(indent=1, sort_keys=True).
    for name in ["step-p256.a39bd120.link", "demo_metablock_good/root.layout"] {
        let raw = read(name);
        let mb = Metablock::from_json(&raw, &Limits::default()).unwrap();
        assert_eq!(mb.to_json(), raw, "{name}");
    }
    // DSSE envelopes and their payloads: json.dumps(…, sort_keys=True) on one line.
    for name in [
        "dsse-p256.a39bd120.link",
        "dsse-rsa.1a14cce4.link",
        "demo_dsse_good/root.layout",
    ] {
        let raw = read(name);
        let env = Envelope::from_json(&raw, &Limits::default()).unwrap();
        assert_eq!(env.to_json(), raw, "{name}");
        let payload = cjson::parse_strict(env.payload()).unwrap();
        assert_eq!(
            dsse::pretty::to_python_json_line(&payload),
            env.payload(),
            "{name} payload"
        );
    }
}
