//! Key ids as in-toto-golang and in-toto 2.x compute them, on in-toto-golang's
//! own test keys (`testdata/peers/in-toto-golang/`, copied from its
//! `test/data`). The expected ids are the ones its `in_toto/keylib_test.go`
//! states (`TestLoadKey` with the curve's scheme, `TestLoadKeyDefaults`).

use std::fs;
use std::path::PathBuf;

use dsse::{PrivateKey, PublicKey, Scheme};
use serde_json::json;

fn read(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/peers/in-toto-golang")
        .join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `TestLoadKey`: file, scheme, key id.
const LOAD_KEY: [(&str, &str, &str); 8] = [
    (
        "alice.pub",
        "rsassa-pss-sha256",
        "70ca5750c2eda80b18f41f4ec5f92146789b5d68dd09577be422a0159bd13680",
    ),
    (
        "dan",
        "rsassa-pss-sha256",
        "b7d643dec0a051096ee5d87221b5d91a33daa658699d30903e1cefb90c418401",
    ),
    (
        "dan.pub",
        "rsassa-pss-sha256",
        "b7d643dec0a051096ee5d87221b5d91a33daa658699d30903e1cefb90c418401",
    ),
    (
        "carol",
        "ed25519",
        "be6371bc627318218191ce0780fd3183cce6c36da02938a477d2e4dfae1804a6",
    ),
    (
        "carol.pub",
        "ed25519",
        "be6371bc627318218191ce0780fd3183cce6c36da02938a477d2e4dfae1804a6",
    ),
    (
        "frank",
        "ecdsa-sha2-nistp521",
        "434cf7c5b168f6ea4c7e6e67afa74a02625310530f1664f761637bdc7ad8f8df",
    ),
    (
        "frank.pub",
        "ecdsa-sha2-nistp521",
        "434cf7c5b168f6ea4c7e6e67afa74a02625310530f1664f761637bdc7ad8f8df",
    ),
    (
        "grace.pub",
        "ecdsa-sha2-nistp384",
        "a5522ebccd492f64e6ec0bbcb5eb782708f6e26709a3712e64fff108b98e5142",
    ),
];

/// `TestLoadKeyDefaults`: every ECDSA key gets `ecdsa-sha2-nistp256`.
const LOAD_KEY_DEFAULTS: [(&str, &str); 4] = [
    (
        "frank",
        "0ab02fd8a1195d902d4e71df38123be0d3fa9ea45ebc6e1246d8e82179acb6dd",
    ),
    (
        "frank.pub",
        "0ab02fd8a1195d902d4e71df38123be0d3fa9ea45ebc6e1246d8e82179acb6dd",
    ),
    (
        "grace",
        "a5fe82bffd11c43cd25b41b427496dea8eb61505bfa11907a6a565ebb00fa323",
    ),
    (
        "grace.pub",
        "a5fe82bffd11c43cd25b41b427496dea8eb61505bfa11907a6a565ebb00fa323",
    ),
];

fn load(name: &str, scheme: Option<Scheme>) -> PublicKey {
    let pem = read(name);
    if name.ends_with(".pub") {
        PublicKey::from_pem(&pem, scheme).unwrap_or_else(|e| panic!("{name}: {e}"))
    } else {
        PrivateKey::from_pem(&pem, None, scheme)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .public_key()
            .clone()
    }
}

#[test]
fn legacy_key_ids_are_the_ones_in_toto_golang_load_key_computes() {
    for (name, scheme, keyid) in LOAD_KEY {
        let key = load(name, Scheme::from_name(scheme));
        assert_eq!(key.legacy_keyid().as_str(), keyid, "{name} ({scheme})");
        assert!(key.matches_keyid(keyid), "{name}");
    }
}

#[test]
fn ecdsa_keys_also_answer_to_in_toto_golangs_default_scheme_id() {
    for (name, keyid) in LOAD_KEY_DEFAULTS {
        let key = load(name, None);
        assert!(key.matches_keyid(keyid), "{name}: {keyid}");
        assert_ne!(key.legacy_keyid().as_str(), keyid, "{name}: an alias");
    }
    // Only ECDSA keys get the alias: an RSA key under the ECDSA default
    // scheme is not the same key name.
    let rsa = load("alice.pub", None);
    assert_eq!(rsa.keyids().count(), 2, "current and legacy only");
}

#[test]
fn key_dict_as_in_toto_golang_writes_it_for_a_p384_key_verifies_by_the_curve() {
    // `in-toto key layout grace.pub` writes scheme ecdsa-sha2-nistp256 for a
    // P-384 key; go-securesystemslib then signs and verifies with SHA-384.
    let pem = String::from_utf8(read("grace.pub")).unwrap();
    let dict = json!({
        "keyid": "a5fe82bffd11c43cd25b41b427496dea8eb61505bfa11907a6a565ebb00fa323",
        "keyid_hash_algorithms": ["sha256", "sha512"],
        "keytype": "ecdsa",
        "scheme": "ecdsa-sha2-nistp256",
        "keyval": {"public": pem.trim_end()},
    });
    let key = PublicKey::from_key_dict(&dict).unwrap();
    let signer = PrivateKey::from_pem(&read("grace"), None, None).unwrap();
    let sig = signer.sign_bytes(b"layout").unwrap();
    key.verify_bytes(b"layout", &sig).unwrap();
    assert!(key.verify_bytes(b"layouT", &sig).is_err());

    // Only a key dict read from a layout may do so: a key toto names or
    // signs with keeps its curve's scheme, which securesystemslib also
    // verifies.
    assert!(PublicKey::from_pem(&read("grace.pub"), Some(Scheme::EcdsaP256)).is_err());
    assert!(PrivateKey::from_pem(&read("grace"), None, Some(Scheme::EcdsaP256)).is_err());
}

#[test]
fn legacy_id_of_a_crlf_pem_file_with_a_preamble_is_the_one_securesystemslib_gives() {
    // alice.pub with CRLF line ends and a comment line before it:
    // securesystemslib 0.31 `import_rsakey_from_public_pem` (in-toto 2.3
    // `--layout-keys`) cuts the PEM block and makes CRLF LF, so the id is
    // in-toto-golang's.
    let text = String::from_utf8(read("alice.pub")).unwrap();
    let text = format!("alice\r\n{}", text.replace('\n', "\r\n"));
    let key = PublicKey::from_pem(text.as_bytes(), None).unwrap();
    assert_eq!(
        key.legacy_keyid().as_str(),
        "70ca5750c2eda80b18f41f4ec5f92146789b5d68dd09577be422a0159bd13680"
    );
    assert_eq!(key.keyid(), load("alice.pub", None).keyid());
}

/// `heidi` is a P-224 key, which in-toto-golang loads (`TestLoadKey`,
/// `TestLoadKeyDefaults`) and go-securesystemslib signs over SHA-256.
#[test]
fn p224_keys_load_with_in_toto_golangs_key_ids() {
    for name in ["heidi", "heidi.pub"] {
        let key = load(name, None);
        assert_eq!(key.scheme(), Scheme::EcdsaP224, "{name}");
        assert_eq!(
            key.legacy_keyid().as_str(),
            "fae849ef9247cc7d19ebd33ab63b5d18a31357508fd82d8ad2aad6fdcc584bd7",
            "{name}: TestLoadKey"
        );
        assert!(
            key.matches_keyid("337f2a2bed46e863a68f17ae0e3e96756eca87c38080d872c5824493cec1ce1a"),
            "{name}: TestLoadKeyDefaults"
        );
    }
}

/// `openssl dgst -sha256 -sign heidi` over "in-toto-golang P-224": what
/// go-securesystemslib makes. The SHA-224 signature of the same message (the
/// curve's default hash, which in-toto-golang does not use) is refused.
#[test]
fn p224_signatures_are_over_sha256_as_go_securesystemslib_makes_them() {
    let msg = b"in-toto-golang P-224";
    let sha256 = hex::decode(
        "303c021c5aeb753bf9703c4a62c3bf6b0237b65d13cdad59eb0be6ae61ee5591021c3588df15a28c\
         cc204376b382c9adc6160e041baba1c26f51b406a002",
    )
    .unwrap();
    let sha224 = hex::decode(
        "303d021d00c3ba7ab8c26194bf1f44fefb21e4a487e1d1a9f9186a1ad4100dbad0021c4e358652c5\
         d62efdf813b139cb1fe8fe80f28a521fcf1c56f0f41692",
    )
    .unwrap();
    let key = load("heidi.pub", None);
    key.verify_bytes(msg, &sha256).unwrap();
    assert!(
        key.verify_bytes(msg, &sha224).is_err(),
        "SHA-224 is not the hash"
    );
    assert!(key.verify_bytes(b"in-toto-golang P-225", &sha256).is_err());

    let signer = PrivateKey::from_pem(&read("heidi"), None, None).unwrap();
    let ours = signer.sign_bytes(msg).unwrap();
    key.verify_bytes(msg, &ours).unwrap();
}
