//! Verification against hostile layouts and links, with evidence held in
//! memory: each input is validly signed and breaks exactly one check.

use std::collections::BTreeMap;

use dsse::{KeyKind, KeyedSigner, PrivateKey};
use serde_json::{json, Value};

use super::*;
use crate::layout::Functionary;
use crate::link::Encoding;
use crate::verified::SignerIdentity;

/// Link files by name; keyless "bundles" are `identity\nissuer\npayload`,
/// checked by [`FakeSigstore`] as a Sigstore verifier would check
/// the certificate's identity and issuer.
/// The second field counts the reads of each file.
#[derive(Default)]
struct Files(
    BTreeMap<String, Vec<u8>>,
    std::sync::Mutex<BTreeMap<String, usize>>,
);

impl Files {
    /// How often `file_name` was read (or looked for).
    fn reads(&self, file_name: &str) -> usize {
        self.1.lock().unwrap().get(file_name).copied().unwrap_or(0)
    }
}

impl Evidence for Files {
    fn read_link(&self, file_name: &str) -> Result<Option<Vec<u8>>, Error> {
        *self
            .1
            .lock()
            .unwrap()
            .entry(file_name.to_owned())
            .or_default() += 1;
        Ok(self.0.get(file_name).cloned())
    }
    fn subdirectory(&self, _: &str) -> Box<dyn Evidence + '_> {
        Box::new(Files::default())
    }
    fn run_inspection(&self, inspection: &Inspection) -> Result<Link, Error> {
        Err(Error::Malformed {
            what: "inspection",
            reason: format!("{} cannot run here", inspection.name),
        })
    }
    fn describe(&self, file_name: &str) -> String {
        file_name.to_owned()
    }
    fn keyless_verifier(&self) -> Result<&dyn FunctionaryVerifier, Error> {
        Ok(&FakeSigstore)
    }
}

/// Checks a fake bundle's identity and issuer as a Sigstore verifier would
/// check the certificate's.
struct FakeSigstore;

impl FunctionaryVerifier for FakeSigstore {
    fn verify_evidence(
        &self,
        bundle: &[u8],
        identity: &str,
        issuer: &str,
    ) -> Result<crate::verified::VerifiedPayload, Error> {
        let text = std::str::from_utf8(bundle).unwrap();
        let mut parts = text.splitn(3, '\n');
        let (who, by, payload) = (parts.next(), parts.next(), parts.next());
        if who != Some(identity) || by != Some(issuer) {
            return Err(dsse::Error::Signature.into());
        }
        Ok(crate::verified::VerifiedPayload::new(
            crate::statement::PAYLOAD_TYPE.to_owned(),
            payload.unwrap().as_bytes().to_vec(),
            SignerIdentity::Sigstore {
                identity: identity.to_owned(),
                issuer: issuer.to_owned(),
            },
        ))
    }
}

/// `metablock` with one more signature by `key`, under the key id `keyid`
/// (a key has more than one).
fn sign_under(metablock: &[u8], key: &PrivateKey, keyid: &str) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(metablock).unwrap();
    let canonical = dsse::cjson::to_canonical(&value["signed"]).unwrap();
    let sig = hex::encode(key.sign_bytes(&canonical).unwrap());
    value["signatures"]
        .as_array_mut()
        .unwrap()
        .push(json!({"keyid": keyid, "sig": sig}));
    serde_json::to_vec(&value).unwrap()
}

fn key_dict(key: &PrivateKey) -> Value {
    key.public_key().to_key_dict()
}

fn build_link() -> Link {
    let mut products = crate::digest::ArtifactMap::new();
    products.insert(
        "app".into(),
        crate::DigestSet::single("sha256", &"ab".repeat(32)).unwrap(),
    );
    Link {
        name: "build".into(),
        command: vec!["make".into()],
        materials: Default::default(),
        products,
        byproducts: Default::default(),
        environment: Default::default(),
    }
}

/// A link for step `build` in `encoding`, signed by every signer.
fn signed_link(encoding: Encoding, signers: &[&dyn KeyedSigner]) -> Vec<u8> {
    signed_edited_link(encoding, signers, |_| {})
}

/// A link for step `build` in `encoding` whose payload `edit` changed
/// before signing, signed by every signer.
fn signed_edited_link(
    encoding: Encoding,
    signers: &[&dyn KeyedSigner],
    edit: impl Fn(&mut Value),
) -> Vec<u8> {
    let link = build_link();
    let mut payload = match encoding {
        Encoding::Statement => link.to_statement().to_value(),
        _ => link.to_classic(),
    };
    edit(&mut payload);
    let mut document = SignedDocument::new(payload, encoding).unwrap();
    for signer in signers {
        document.add_signature(*signer).unwrap();
    }
    document.to_json()
}

/// A layout with the one step `build` performed by `pubkeys` (key ids of
/// `keys`) with `threshold`.
fn layout(keys: &[(&str, Value)], pubkeys: &[&str], threshold: usize) -> Value {
    let keys: serde_json::Map<String, Value> = keys
        .iter()
        .map(|(id, dict)| ((*id).to_owned(), dict.clone()))
        .collect();
    json!({
        "_type": "layout",
        "expires": "2100-01-01T00:00:00Z",
        "readme": "",
        "keys": keys,
        "steps": [{
            "_type": "step",
            "name": "build",
            "expected_materials": [],
            "expected_products": [],
            "pubkeys": pubkeys,
            "expected_command": [],
            "threshold": threshold,
        }],
        "inspect": [],
    })
}

fn options() -> Options {
    Options {
        now: 1_700_000_000,
        run_inspections: false,
        limits: dsse::Limits::default(),
        keyless_layout: false,
    }
}

/// Verifies `layout`, signed by a fresh owner key, against `files`.
fn verify(layout: Value, files: &Files) -> Report {
    let owner = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let mut document = SignedDocument::new(layout, Encoding::Metablock).unwrap();
    document.add_signature(&owner).unwrap();
    let received =
        SignedDocument::from_json(&document.to_json(), &dsse::Limits::default()).unwrap();
    verify_layout(&received, &[owner.public_key().clone()], files, &options()).unwrap()
}

fn link_file(keyid: &str) -> String {
    format!("build.{}.link", &keyid[..8])
}

/// The report failed the threshold of `build`, one signer counted, and
/// says `duplicate` was not counted.
#[track_caller]
fn expect_counted_once(report: &Report, duplicate: &str) {
    assert!(!report.verified, "one signer met a threshold of 2");
    let failure = report.failure.as_ref().unwrap();
    let Failure::Threshold {
        required,
        found,
        duplicates,
        ..
    } = failure
    else {
        panic!("not a threshold failure: {failure}");
    };
    assert_eq!((*required, found.len()), (2, 1), "{failure}");
    assert_eq!(duplicates.len(), 1, "{failure}");
    let shown = failure.to_string();
    assert!(
        shown.contains("already counted") && shown.contains("lists this signer twice"),
        "{shown}"
    );
    assert!(
        shown.contains(duplicate),
        "{shown} does not name {duplicate}"
    );
}

#[test]
fn threshold_counts_a_key_listed_twice_once() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let id = bob.keyid().to_string();
    let mut files = Files::default();
    files
        .0
        .insert(link_file(&id), signed_link(Encoding::Metablock, &[&bob]));
    let report = verify(layout(&[(&id, key_dict(&bob))], &[&id, &id], 2), &files);
    expect_counted_once(&report, &format!("key {id}"));
}

#[test]
fn threshold_counts_a_key_under_its_current_and_legacy_key_id_once() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let current = bob.keyid().to_string();
    let legacy = bob.public_key().legacy_keyid().to_string();
    let mut files = Files::default();
    // One link, copied under both names; its signature names the current id.
    let link = signed_link(Encoding::Dsse, &[&bob]);
    files.0.insert(link_file(&current), link.clone());
    files.0.insert(link_file(&legacy), link);
    let keys = [
        (current.as_str(), key_dict(&bob)),
        (&legacy, key_dict(&bob)),
    ];
    let report = verify(layout(&keys, &[&current, &legacy], 2), &files);
    expect_counted_once(&report, &format!("key {current}"));
}

#[test]
fn threshold_counts_a_key_under_two_keytype_spellings_once() {
    let bob = PrivateKey::generate(KeyKind::EcdsaP256).unwrap();
    let plain = key_dict(&bob);
    assert_eq!(plain["keytype"], "ecdsa");
    let mut alias = plain.clone();
    alias["keytype"] = json!("ecdsa-sha2-nistp256");
    let alias_key = dsse::PublicKey::from_key_dict(&alias).unwrap();
    let (plain_id, alias_id) = (bob.keyid().to_string(), alias_key.keyid().to_string());
    assert_ne!(plain_id, alias_id);
    // One link signed under both key ids, copied under both names.
    let link = sign_under(&signed_link(Encoding::Metablock, &[&bob]), &bob, &alias_id);
    let mut files = Files::default();
    files.0.insert(link_file(&plain_id), link.clone());
    files.0.insert(link_file(&alias_id), link);
    let keys = [(plain_id.as_str(), plain), (&alias_id, alias)];
    let report = verify(layout(&keys, &[&plain_id, &alias_id], 2), &files);
    expect_counted_once(&report, "already counted for build.");
}

/// The keyless functionary bob@example.com: its key id, its key dict, and
/// its bundle of the `build` link.
fn keyless_bob() -> (String, Value, Files) {
    let dict = json!({
        "keytype": crate::layout::SIGSTORE_KEYTYPE,
        "scheme": crate::layout::SIGSTORE_SCHEME,
        "keyval": {"identity": "bob@example.com", "issuer": "https://issuer.example"},
    });
    let id = Functionary::Sigstore {
        identity: "bob@example.com".into(),
        issuer: "https://issuer.example".into(),
    }
    .keyid()
    .unwrap();
    let payload = serde_json::to_string(&build_link().to_statement().to_value()).unwrap();
    let mut files = Files::default();
    files.0.insert(
        format!("{}{KEYLESS_LINK_SUFFIX}", link_file(&id)),
        format!("bob@example.com\nhttps://issuer.example\n{payload}").into_bytes(),
    );
    (id, dict, files)
}

#[test]
fn threshold_counts_a_keyless_identity_listed_twice_once() {
    let (id, dict, files) = keyless_bob();
    let report = verify(layout(&[(&id, dict)], &[&id, &id], 2), &files);
    expect_counted_once(&report, "bob@example.com (https://issuer.example)");
}

/// A keyless link is read once: it was read to find it, then again to
/// verify it (a file swapped between the two reads was verified, not the
/// one found).
#[test]
fn a_keyless_link_is_read_once() {
    let (id, dict, files) = keyless_bob();
    let bundle = format!("{}{KEYLESS_LINK_SUFFIX}", link_file(&id));
    let report = verify(layout(&[(&id, dict)], &[&id], 1), &files);
    assert!(report.verified, "{:?}", report.failure);
    assert_eq!(
        files.reads(&bundle),
        1,
        "the bundle was read more than once"
    );
    assert_eq!(files.reads(&link_file(&id)), 0);
}

#[test]
fn threshold_of_two_distinct_keys_is_met() {
    let (bob, carl) = (
        PrivateKey::generate(KeyKind::Ed25519).unwrap(),
        PrivateKey::generate(KeyKind::EcdsaP256).unwrap(),
    );
    let (b, c) = (bob.keyid().to_string(), carl.keyid().to_string());
    let mut files = Files::default();
    files
        .0
        .insert(link_file(&b), signed_link(Encoding::Statement, &[&bob]));
    files
        .0
        .insert(link_file(&c), signed_link(Encoding::Metablock, &[&carl]));
    let keys = [(b.as_str(), key_dict(&bob)), (&c, key_dict(&carl))];
    let report = verify(layout(&keys, &[&b, &c], 2), &files);
    assert!(report.verified, "{:?}", report.failure);
}

#[test]
fn duplicate_functionaries_are_found_in_the_layout() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let current = bob.keyid().to_string();
    let legacy = bob.public_key().legacy_keyid().to_string();
    let keys = [
        (current.as_str(), key_dict(&bob)),
        (&legacy, key_dict(&bob)),
    ];
    let parsed = Layout::from_value(layout(&keys, &[&current, &legacy], 2)).unwrap();
    let (step, first, second) = parsed.duplicate_functionary().unwrap();
    assert_eq!((step.name.as_str(), first, second), ("build", 0, 1));
    let carl = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let c = carl.keyid().to_string();
    let keys = [(current.as_str(), key_dict(&bob)), (&c, key_dict(&carl))];
    let parsed = Layout::from_value(layout(&keys, &[&current, &c], 2)).unwrap();
    assert!(parsed.duplicate_functionary().is_none());
}

/// A change to a payload before it is signed.
type Edit = fn(&mut Value);

/// A layout whose step `build` `bob` performs, with `link` as his link.
fn bob_builds(bob: &PrivateKey, link: Vec<u8>) -> Report {
    let id = bob.keyid().to_string();
    let mut files = Files::default();
    files.0.insert(link_file(&id), link);
    verify(layout(&[(&id, key_dict(bob))], &[&id], 1), &files)
}

/// The attestation framework's rule: a consumer ignores fields it does not
/// know when the signature covers them — in a Statement link at the top
/// level, in the predicate and in a subject, and in a DSSE classic link (as
/// in-toto 3.1 reads it).
#[test]
fn signed_unknown_fields_of_attestations_and_dsse_links_are_ignored() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let edits: [(Encoding, Edit); 4] = [
        (Encoding::Statement, |v| v["extension"] = json!({"x": 1})),
        (Encoding::Statement, |v| {
            v["predicate"]["extension"] = json!(1)
        }),
        (Encoding::Statement, |v| {
            v["subject"][0]["extension"] = json!(1)
        }),
        (Encoding::Dsse, |v| v["extension"] = json!("signed")),
    ];
    for (encoding, edit) in edits {
        let report = bob_builds(&bob, signed_edited_link(encoding, &[&bob], edit));
        assert!(report.verified, "{encoding:?}: {:?}", report.failure);
    }
}

/// A Metablock link has in-toto's fixed schema: a signed extra field is
/// refused by name (in-toto-verify refuses it too: its signature check
/// drops the field).
#[test]
fn a_signed_unknown_field_in_a_metablock_link_is_refused() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let link = signed_edited_link(Encoding::Metablock, &[&bob], |v| {
        v["extension"] = json!(1);
    });
    let report = bob_builds(&bob, link);
    let failure = report.failure.unwrap().to_string();
    assert!(
        failure
            .contains("unknown field \"extension\": a Metablock link has in-toto's fixed schema"),
        "{failure}"
    );
}

/// A Metablock is verified over the canonical JSON of `signed` as
/// received: a field added after signing, to a link or to the layout,
/// breaks the signature.
#[test]
fn a_field_added_to_a_signed_metablock_breaks_its_signature() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let mut link: Value =
        serde_json::from_slice(&signed_link(Encoding::Metablock, &[&bob])).unwrap();
    link["signed"]["extension"] = json!(1);
    let report = bob_builds(&bob, serde_json::to_vec(&link).unwrap());
    let failure = report.failure.unwrap().to_string();
    assert!(
        failure.contains(&format!(
            "refused {}: not signed by functionary",
            link_file(bob.keyid().as_str())
        )),
        "{failure}"
    );
    let owner = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let mut document = SignedDocument::new(layout(&[], &[], 1), Encoding::Metablock).unwrap();
    document.add_signature(&owner).unwrap();
    let mut added: Value = serde_json::from_slice(&document.to_json()).unwrap();
    added["signed"]["readme"] = json!("added after signing");
    let received = SignedDocument::from_json(
        &serde_json::to_vec(&added).unwrap(),
        &dsse::Limits::default(),
    )
    .unwrap();
    let report = verify_layout(
        &received,
        &[owner.public_key().clone()],
        &Files::default(),
        &options(),
    )
    .unwrap();
    assert_eq!(
        report.failure,
        Some(Failure::LayoutSignature {
            keyid: owner.keyid().to_string()
        })
    );
}
