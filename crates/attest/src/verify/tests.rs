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
    fn file_names(&self, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<String>, Error> {
        Ok(self.0.keys().filter(|name| wanted(name)).cloned().collect())
    }
    fn location(&self) -> String {
        "memory".into()
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
        constraints: crate::verified::StepConstraints<'_>,
    ) -> Result<crate::verified::VerifiedPayload, Error> {
        // The fake certificate's Source Repository is org/repo.
        if let Some(repo) = constraints.github.and_then(|g| g.repo.as_deref()) {
            if repo != "org/repo" {
                return Err(Error::Constraint {
                    field: "certificate Source Repository URI".into(),
                    expected: format!("https://github.com/{repo}"),
                    found: Some("https://github.com/org/repo".into()),
                });
            }
        }
        // ... and its ref refs/heads/main; the payload is read as no Statement.
        if let Some(slsa) = constraints.slsa {
            slsa.check(
                None,
                &crate::provenance::CertificateSource {
                    source_repository_uri: Some("https://github.com/org/repo"),
                    source_repository_ref: Some("refs/heads/main"),
                    build_signer_uri: None,
                },
            )?;
        }
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
    sign_link_as(&build_link(), encoding, signers, edit)
}

/// `link` in `encoding`, its payload changed by `edit`, signed by every
/// signer.
fn sign_link_as(
    link: &Link,
    encoding: Encoding,
    signers: &[&dyn KeyedSigner],
    edit: impl Fn(&mut Value),
) -> Vec<u8> {
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
        require_success: false,
        intermediate_certs: Vec::new(),
    }
}

/// Verifies `layout`, signed by a fresh owner key, against `files`.
fn verify(layout: Value, files: &Files) -> Report {
    verify_with(layout, files, &options())
}

/// Verifies `layout`, signed by a fresh owner key, against `files`, with
/// `options`.
fn verify_with(layout: Value, files: &Files, options: &Options) -> Report {
    let owner = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let mut document = SignedDocument::new(layout, Encoding::Metablock).unwrap();
    document.add_signature(&owner).unwrap();
    let received =
        SignedDocument::from_json(&document.to_json(), &dsse::Limits::default()).unwrap();
    verify_layout(&received, &[owner.public_key().clone()], files, options).unwrap()
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

/// A step's `x-toto-github` checks reach the keyless verifier: a link whose
/// (fake) certificate fails one is refused for the threshold, with the
/// field, the expected and the found value.
#[test]
fn a_keyless_link_failing_the_steps_github_checks_is_refused() {
    let (id, dict, files) = keyless_bob();
    let with_repo = |repo: &str| {
        let mut layout = layout(&[(&id, dict.clone())], &[&id], 1);
        layout["steps"][0]["x-toto-github"] = json!({ "repo": repo });
        layout
    };
    let report = verify(with_repo("org/repo"), &files);
    assert!(report.verified, "{:?}", report.failure);
    let report = verify(with_repo("org/other"), &files);
    let Some(Failure::Threshold { refused, found, .. }) = &report.failure else {
        panic!("not a threshold failure: {:?}", report.failure);
    };
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].ends_with(
            "certificate Source Repository URI is \"https://github.com/org/repo\", \
             expected https://github.com/org/other"
        ),
        "{refused:?}"
    );
}

/// A layout whose step, performed by a key functionary, carries `checks`
/// on certificates under `field` is refused.
fn refused_on_a_key_functionarys_step(field: &str, checks: Value) {
    let key = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let keyid = key.keyid().to_string();
    let mut keyed = layout(&[(&keyid, key_dict(&key))], &[&keyid], 1);
    keyed["steps"][0][field] = checks;
    let err = crate::layout::Layout::from_value(keyed).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("{field} checks certificates, but functionary")),
        "{err}"
    );
}

/// `x-toto-github` checks certificates: a step listing a key functionary
/// cannot carry it, and a check toto does not know is refused.
#[test]
fn github_checks_need_keyless_functionaries_and_known_fields() {
    refused_on_a_key_functionarys_step("x-toto-github", json!({ "repo": "org/repo" }));
    let (id, dict, _) = keyless_bob();
    let mut unknown = layout(&[(&id, dict)], &[&id], 1);
    unknown["steps"][0]["x-toto-github"] = json!({ "repository": "org/repo" });
    let err = crate::layout::Layout::from_value(unknown).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `repository`"),
        "{err}"
    );
}

/// A step's `x-toto-slsa` checks reach the keyless verifier too, with the
/// same refusal for the threshold; the layout refuses them on a key
/// functionary's step, malformed, or with an unknown field.
#[test]
fn a_keyless_link_failing_the_steps_slsa_checks_is_refused() {
    let (id, dict, files) = keyless_bob();
    let with_slsa = |slsa: Value| {
        let mut layout = layout(&[(&id, dict.clone())], &[&id], 1);
        layout["steps"][0]["x-toto-slsa"] = slsa;
        layout
    };
    let report = verify(
        with_slsa(json!({ "source_uri": "github.com/org/repo", "source_branch": "main" })),
        &files,
    );
    assert!(report.verified, "{:?}", report.failure);
    let report = verify(with_slsa(json!({ "source_branch": "release" })), &files);
    let Some(Failure::Threshold { refused, .. }) = &report.failure else {
        panic!("not a threshold failure: {:?}", report.failure);
    };
    assert!(
        refused[0].ends_with(
            "certificate Source Repository URI ref is \"refs/heads/main\", expected refs/heads/release"
        ),
        "{refused:?}"
    );
    for (slsa, said) in [
        (
            json!({ "source_versioned_tag": "1" }),
            "x-toto-slsa: malformed --source-versioned-tag",
        ),
        (
            json!({ "source_uri": "github.com/o/r", "tag": "v1" }),
            "unknown field `tag`",
        ),
    ] {
        let err = crate::layout::Layout::from_value(with_slsa(slsa)).unwrap_err();
        assert!(err.to_string().contains(said), "{err}");
    }
    refused_on_a_key_functionarys_step(
        "x-toto-slsa",
        json!({ "source_uri": "github.com/org/repo" }),
    );
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
    bob_builds_with(bob, link, &options())
}

/// [`bob_builds`], verified with `options`.
fn bob_builds_with(bob: &PrivateKey, link: Vec<u8>, options: &Options) -> Report {
    let id = bob.keyid().to_string();
    let mut files = Files::default();
    files.0.insert(link_file(&id), link);
    verify_with(layout(&[(&id, key_dict(bob))], &[&id], 1), &files, options)
}

/// `bob`'s link, recording a command that returned `code`.
fn returned(bob: &PrivateKey, code: i64) -> Vec<u8> {
    signed_edited_link(Encoding::Metablock, &[bob], |v| {
        v["byproducts"]["return-value"] = json!(code)
    })
}

/// Options with [`Options::require_success`].
fn strict() -> Options {
    Options {
        require_success: true,
        ..options()
    }
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

/// A link under the functionary's file name, validly signed by another
/// key: refused as the wrong key, naming the key id its signature names.
#[test]
fn a_link_signed_by_another_key_under_the_functionarys_name_is_the_wrong_key() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let mallory = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let report = bob_builds(&bob, signed_link(Encoding::Metablock, &[&mallory]));
    let failure = report.failure.unwrap().to_string();
    let expected = format!(
        "refused {}: not signed by functionary {}: wrong key (the signature names key \"{}\")",
        link_file(bob.keyid().as_str()),
        &bob.keyid().as_str()[..8],
        mallory.keyid()
    );
    assert!(failure.contains(&expected), "{failure}");
}

/// A signature under the functionary's key id that does not verify with
/// its key (mallory signed, naming bob's key id): a bad signature.
#[test]
fn a_signature_under_the_functionarys_key_id_that_does_not_verify_is_a_bad_signature() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let mallory = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let unsigned = signed_link(Encoding::Metablock, &[]);
    let report = bob_builds(&bob, sign_under(&unsigned, &mallory, bob.keyid().as_str()));
    let failure = report.failure.unwrap().to_string();
    let expected = format!(
        "refused {}: not signed by functionary {}: bad signature",
        link_file(bob.keyid().as_str()),
        &bob.keyid().as_str()[..8],
    );
    assert!(failure.contains(&expected), "{failure}");
}

/// bob's link of step `test`, under his file name for `build`: refused as
/// the other step's.
#[test]
fn a_link_of_another_step_under_the_functionarys_name_is_refused_as_such() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let link = signed_edited_link(Encoding::Metablock, &[&bob], |v| v["name"] = json!("test"));
    let failure = bob_builds(&bob, link).failure.unwrap().to_string();
    let expected = format!(
        "refused {}: link is for step \"test\"",
        link_file(bob.keyid().as_str())
    );
    assert!(failure.contains(&expected), "{failure}");
}

/// A signature naming a hostile key id (control characters, a newline
/// and a forged second line, 100 characters): the message shows it
/// escaped and cut to 64 characters.
#[test]
fn a_hostile_key_id_is_shown_escaped_and_cut() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let mallory = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let hostile = format!("\u{1b}[2J\n  refused nothing: {}", "f".repeat(100));
    let link = sign_under(&signed_link(Encoding::Metablock, &[]), &mallory, &hostile);
    let failure = bob_builds(&bob, link).failure.unwrap().to_string();
    let shown: String = hostile.chars().take(64).collect();
    assert!(
        failure.contains(&format!("wrong key (the signature names key {shown:?})")),
        "{failure}"
    );
    assert!(!failure.contains('\u{1b}'), "{failure}");
    assert_eq!(failure.lines().count(), 2, "{failure}");
}

/// `bob`'s and `carol`'s link files (carol's payload edited by `edit`), and
/// the layout of `build` by both with `threshold`.
fn bob_and_carol(threshold: usize, edit: impl Fn(&mut Value)) -> (Value, Files, [String; 2]) {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let carol = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let ids = [bob.keyid().to_string(), carol.keyid().to_string()];
    let mut files = Files::default();
    files.0.insert(
        link_file(&ids[0]),
        signed_link(Encoding::Metablock, &[&bob]),
    );
    files.0.insert(
        link_file(&ids[1]),
        signed_edited_link(Encoding::Metablock, &[&carol], edit),
    );
    let keys = [
        (ids[0].as_str(), key_dict(&bob)),
        (&ids[1], key_dict(&carol)),
    ];
    let layout = layout(&keys, &[&ids[0], &ids[1]], threshold);
    (layout, files, ids)
}

/// The digest of carol's `app` differs from bob's.
fn another_app(v: &mut Value) {
    v["products"]["app"]["sha256"] = json!("cd".repeat(32));
}

/// Threshold 2 of bob and carol, carol's product differing: her link does
/// not count, and the report says on which artifact it disagrees.
#[test]
fn a_link_disagreeing_with_the_first_does_not_count_and_says_where() {
    let (layout, files, ids) = bob_and_carol(2, another_app);
    let report = verify(layout, &files);
    let Some(Failure::Threshold { found, refused, .. }) = &report.failure else {
        panic!("not a threshold failure: {:?}", report.failure);
    };
    assert_eq!(found, &[link_file(&ids[0])]);
    let expected = format!(
        "{}: disagrees with {}: product \"app\" has digest sha256:{}…, not sha256:{}…",
        link_file(&ids[1]),
        link_file(&ids[0]),
        "cd".repeat(8),
        "ab".repeat(8)
    );
    assert_eq!(refused, &[expected]);
}

/// Threshold 1 met by bob, carol's link disagreeing: links of one step
/// must agree (as in the reference), and the failure names the artifact.
#[test]
fn links_disagreeing_beyond_the_threshold_fail_naming_the_artifact() {
    let (layout, files, ids) = bob_and_carol(1, |v| {
        v["materials"]["src"] = json!({"sha256": "ef".repeat(32)});
    });
    let report = verify(layout, &files);
    assert_eq!(
        report.failure,
        Some(Failure::LinksDisagree {
            step: "build".into(),
            links: vec![link_file(&ids[0]), link_file(&ids[1])],
            difference: "material \"src\" is extra".into(),
        })
    );
}

/// Files named like `build` links but for no functionary are examined
/// when the threshold is not met: bob's link renamed, a bundle, and
/// mallory's link; a file named for another step is not.
#[test]
fn files_named_for_no_functionary_are_explained() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let mallory = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let id = bob.keyid().to_string();
    let mut files = Files::default();
    files.0.insert(
        "build.0000aaaa.link".into(),
        signed_link(Encoding::Metablock, &[&bob]),
    );
    files.0.insert(
        link_file(mallory.keyid().as_str()),
        signed_link(Encoding::Dsse, &[&mallory]),
    );
    files
        .0
        .insert("test.0000aaaa.link".into(), b"not a build link".to_vec());
    files.0.insert(
        format!("build.0000bbbb.link{KEYLESS_LINK_SUFFIX}"),
        b"a bundle".to_vec(),
    );
    let report = verify(layout(&[(&id, key_dict(&bob))], &[&id], 1), &files);
    let Some(Failure::Threshold {
        refused, searched, ..
    }) = &report.failure
    else {
        panic!("not a threshold failure: {:?}", report.failure);
    };
    // Files are examined in name order; mallory's key id is random.
    let mut refused = refused.clone();
    refused.sort();
    let mut expected = vec![
            format!(
                "build.0000aaaa.link: named for no functionary: signed by functionary {}, whose link is read from {}",
                &id[..8],
                link_file(&id)
            ),
            "build.0000bbbb.link.sigstore.json: a bundle named for no keyless functionary of step \"build\"".into(),
            format!(
                "{}: wrong key: the signature names key \"{}\", no functionary of step \"build\"",
                link_file(mallory.keyid().as_str()),
                mallory.keyid()
            ),
        ];
    expected.sort();
    assert_eq!(refused, expected);
    assert_eq!(searched.missing, &[link_file(&id)]);
}

/// No link at all: the file names looked for, and where.
#[test]
fn no_link_found_names_the_files_looked_for_and_where() {
    let (layout, _, ids) = bob_and_carol(1, |_| {});
    let report = verify(layout, &Files::default());
    let failure = report.failure.unwrap();
    let Failure::Threshold { searched, .. } = &failure else {
        panic!("not a threshold failure: {failure}");
    };
    let names = [link_file(&ids[0]), link_file(&ids[1])];
    assert_eq!(
        **searched,
        Searched {
            missing: names.to_vec(),
            directory: "memory".into()
        }
    );
    assert!(
        failure.to_string().ends_with(&format!(
            "found 0 valid\n  no link found: looked for {}, {} in directory memory",
            names[0], names[1]
        )),
        "{failure}"
    );
}

/// No evidence of a keyless functionary: both names looked for, the
/// bundle first.
#[test]
fn no_keyless_evidence_names_the_bundle_and_the_link_looked_for() {
    let (id, dict, _) = keyless_bob();
    let report = verify(layout(&[(&id, dict)], &[&id], 1), &Files::default());
    let Some(Failure::Threshold { searched, .. }) = &report.failure else {
        panic!("not a threshold failure: {:?}", report.failure);
    };
    let file = link_file(&id);
    assert_eq!(
        searched.missing,
        [format!("{file}{KEYLESS_LINK_SUFFIX}"), file]
    );
}

/// A link recording a failed command: verified with a warning naming the
/// step, the link and the return value; with `require_success`, refused.
#[test]
fn a_failed_command_warns_or_with_require_success_fails() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let file = link_file(bob.keyid().as_str());
    let report = bob_builds(&bob, returned(&bob, 3));
    assert!(report.verified, "{:?}", report.failure);
    let warning = format!("step \"build\": the command recorded in {file} failed (return value 3)");
    assert!(
        report.warnings.iter().any(|w| w.starts_with(&warning)),
        "{:?}",
        report.warnings
    );
    let report = bob_builds_with(&bob, returned(&bob, 3), &strict());
    assert_eq!(
        report.failure,
        Some(Failure::CommandFailed {
            step: "build".into(),
            link: file,
            return_value: 3,
        })
    );
}

/// A return value of 0 is no warning, and no failure with
/// `require_success`.
#[test]
fn a_command_that_succeeded_is_no_warning() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let report = bob_builds_with(&bob, returned(&bob, 0), &strict());
    assert!(report.verified, "{:?}", report.failure);
    assert!(
        report.warnings.iter().all(|w| !w.contains("failed")),
        "{:?}",
        report.warnings
    );
}

/// Only files named `<step>.<id>.link` (or `.link.sigstore.json`) are
/// candidates of a step: not another step's whose name starts alike.
#[test]
fn candidate_link_files_are_named_after_the_step() {
    let parsed = Layout::from_value(layout(&[], &[], 1)).unwrap();
    let step = &parsed.steps[0];
    for (name, candidate) in [
        ("build.0123abcd.link", true),
        ("build.0123abcd.link.sigstore.json", true),
        ("build.x.0123abcd.link", false),
        ("build..link", false),
        ("build.0123abcd.link.json", false),
        ("builder.0123abcd.link", false),
        ("build.0123abcd", false),
        ("build.01\u{1b}[2J.link", false),
    ] {
        assert_eq!(threshold::could_be_link_of(step, name), candidate, "{name}");
    }
}

/// Two digests of one artifact are shown under an algorithm both have,
/// else each under its first.
#[test]
fn disagreeing_digests_are_shown_under_a_common_algorithm() {
    // Hex digit pairs repeated to each algorithm's length.
    let set = |pairs: &[(&str, &str)]| {
        let digests = pairs.iter().map(|(algorithm, pair)| {
            let bytes = match *algorithm {
                "sha256" => 32,
                "sha384" => 48,
                _ => 64,
            };
            ((*algorithm).to_owned(), pair.repeat(bytes))
        });
        crate::DigestSet::new(digests.collect()).unwrap()
    };
    let theirs = set(&[("sha256", "ab"), ("sha512", "cd")]);
    for (ours, shown) in [
        (("sha512", "ef"), ("sha512", "cd", "sha512")),
        (("sha384", "01"), ("sha256", "ab", "sha384")),
    ] {
        let (a, x, b) = shown;
        let expected = format!("digest {a}:{}…, not {b}:{}…", x.repeat(8), ours.1.repeat(8));
        assert_eq!(threshold::shown_digests(&theirs, &set(&[ours])), expected);
    }
}

mod big;
mod pinned;
mod x509;

/// [`links::check_signed`] of `bytes` shown as `build.link`, named for
/// `keyid`, against the one step of `layout(&[], &[], 1)`, with `key`.
fn check_build_link(
    bytes: Vec<u8>,
    key: &PrivateKey,
    keyid: &str,
) -> Result<links::Payload, String> {
    let parsed = Layout::from_value(layout(&[], &[], 1)).unwrap();
    links::check_signed(
        &parsed.steps[0],
        bytes,
        key.public_key(),
        keyid,
        "build.link",
        &dsse::Limits::default(),
    )
}

/// A Metablock link in the sorted form toto and in-toto write is read in
/// one pass from the canonical bytes its signature covers; the same
/// document with its keys in another order is read through the tree. Both
/// give the same link, the same refusal of a wrong key, and the same
/// sublayout.
#[test]
fn a_sorted_metablock_link_reads_as_the_tree_reads_it() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let carol = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let keyid = bob.keyid().to_string();
    // Reversed key order at the top and in `signed`: not sorted.
    let unsorted = |sorted: &[u8]| -> Vec<u8> {
        let value: Value = serde_json::from_slice(sorted).unwrap();
        let reversed = |v: &Value| -> String {
            let members: Vec<String> = v
                .as_object()
                .unwrap()
                .iter()
                .rev()
                .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
                .collect();
            format!("{{{}}}", members.join(","))
        };
        format!(
            r#"{{"signed":{},"signatures":{}}}"#,
            reversed(&value["signed"]),
            value["signatures"]
        )
        .into_bytes()
    };
    let check = |bytes: Vec<u8>, key: &PrivateKey| check_build_link(bytes, key, &keyid);
    let limits = dsse::Limits::default();
    // A link whose stdout holds what canonical JSON writes raw or escapes.
    let link = signed_edited_link(Encoding::Metablock, &[&bob], |v| {
        v["byproducts"] = json!({"stdout": "a\nb\t\"c\" \\ \u{1}é", "return-value": 0});
    });
    assert!(dsse::Seal::read_sorted(&link, &limits).is_some());
    assert!(dsse::Seal::read_sorted(&unsorted(&link), &limits).is_none());
    let read = |bytes: Vec<u8>| match check(bytes, &bob) {
        Ok(links::Payload::Link(Ok(link))) => link,
        _ => panic!("not read as a link"),
    };
    let fast = read(link.clone());
    assert_eq!(fast, read(unsorted(&link)));
    assert_eq!(fast.byproducts["stdout"], "a\nb\t\"c\" \\ \u{1}é");
    // The wrong key: the same refusal either way.
    let refused = |bytes: Vec<u8>| match check(bytes, &carol) {
        Err(why) => why,
        Ok(_) => panic!("accepted under the wrong key"),
    };
    assert_eq!(refused(link.clone()), refused(unsorted(&link)));
    // A field outside the fixed schema: the tree's refusal either way.
    let extended = signed_edited_link(Encoding::Metablock, &[&bob], |v| {
        v["extension"] = json!(1);
    });
    let why = |bytes: Vec<u8>| match check(bytes, &bob) {
        Ok(links::Payload::Link(Err(e))) => e.to_string(),
        _ => panic!("not refused as a link"),
    };
    assert_eq!(why(extended.clone()), why(unsorted(&extended)));
    assert!(why(extended).contains("unknown field \"extension\""));
    // A sublayout in a Metablock: the same layout value either way.
    let mut sub = SignedDocument::new(layout(&[], &[], 1), Encoding::Metablock).unwrap();
    sub.add_signature(&bob).unwrap();
    let sub = sub.to_json();
    assert!(dsse::Seal::read_sorted(&sub, &limits).is_some());
    let sublayout = |bytes: Vec<u8>| match check(bytes, &bob) {
        Ok(links::Payload::Layout(value)) => value,
        _ => panic!("not read as a sublayout"),
    };
    assert_eq!(sublayout(sub.clone()), sublayout(unsorted(&sub)));
}

/// What [`links::check_signed`] made of a document, for comparing paths.
fn outcome(checked: Result<links::Payload, String>) -> String {
    match checked {
        Err(why) => format!("refused: {why}"),
        Ok(links::Payload::Link(Ok(link))) => format!("link: {link:?}"),
        Ok(links::Payload::Link(Err(e))) => format!("not a link: {e}"),
        Ok(links::Payload::Layout(value)) => format!("sublayout: {value}"),
    }
}

/// A DSSE envelope read in one pass and its payload decoded in one pass
/// give what the tree gives: the same link, and the same refusal, in the
/// tree's order. Each payload is signed three ways: all keys sorted (both
/// one-pass readers), the payload's top-level keys reversed (the envelope
/// in one pass, the payload as a tree) and the envelope's keys reversed
/// (all as a tree).
#[test]
fn a_sorted_dsse_link_reads_as_the_tree_reads_it() {
    let bob = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let carol = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let keyid = bob.keyid().to_string();
    let limits = dsse::Limits::default();
    let reversed = |v: &Value| -> Vec<u8> {
        let Some(members) = v.as_object() else {
            return serde_json::to_vec(v).unwrap();
        };
        let members: Vec<String> = members
            .iter()
            .rev()
            .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
            .collect();
        format!("{{{}}}", members.join(",")).into_bytes()
    };
    let variants = |payload: &Value| -> [Vec<u8>; 3] {
        let sign = |bytes: Vec<u8>| {
            dsse::Envelope::sign(crate::statement::PAYLOAD_TYPE, bytes, &[&bob])
                .unwrap()
                .to_json()
        };
        let sorted = sign(serde_json::to_vec(payload).unwrap());
        let envelope: Value = serde_json::from_slice(&sorted).unwrap();
        let unsorted_envelope = format!(
            r#"{{"signatures":{},"payloadType":{},"payload":{}}}"#,
            envelope["signatures"], envelope["payloadType"], envelope["payload"]
        );
        [
            sorted,
            sign(reversed(payload)),
            unsorted_envelope.into_bytes(),
        ]
    };
    // Every variant read with `key`: one outcome for all three.
    let same = |payload: &Value, key: &PrivateKey| -> String {
        let [sorted, payload_unsorted, envelope_unsorted] = variants(payload);
        assert!(dsse::Envelope::read_sorted(&sorted, &limits).is_some());
        assert!(dsse::Envelope::read_sorted(&payload_unsorted, &limits).is_some());
        assert!(dsse::Envelope::read_sorted(&envelope_unsorted, &limits).is_none());
        let check = |bytes: Vec<u8>| outcome(check_build_link(bytes, key, &keyid));
        let fast = check(sorted);
        assert_eq!(fast, check(payload_unsorted), "{payload}");
        assert_eq!(fast, check(envelope_unsorted), "{payload}");
        fast
    };
    let link = build_link();
    let mut statement = link.to_statement().to_value();
    statement["predicate"]["byproducts"] =
        json!({"stdout": "a\nb\t\"c\" \\ \u{1}é", "return-value": 0});
    statement["predicate"]["materials"] = json!([
        {"name": "src/a", "digest": {"sha256": "cd".repeat(32)}, "annotations": {"x": [1.5]}},
    ]);
    let classic = link.to_classic();
    for payload in [&statement, &classic] {
        let bytes = serde_json::to_vec(payload).unwrap();
        assert!(Link::from_sorted_payload(&bytes).is_some());
        assert!(same(payload, &bob).starts_with("link: "));
        assert!(same(payload, &carol).contains("not signed by functionary"));
    }
    let fast = Link::from_sorted_payload(&serde_json::to_vec(&statement).unwrap());
    assert_eq!(
        fast.unwrap().unwrap().byproducts["stdout"],
        "a\nb\t\"c\" \\ \u{1}é"
    );
    // Refused links: the same refusal, one pass or not.
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut payload = statement.clone();
        edit(&mut payload);
        payload
    };
    let twice = edited(&|v| {
        let first = v["subject"][0].clone();
        v["subject"].as_array_mut().unwrap().push(first);
    });
    assert!(Link::from_sorted_payload(&serde_json::to_vec(&twice).unwrap()).is_some());
    assert!(same(&twice, &bob).contains("subjects lists \"app\" twice"));
    let nameless = edited(&|v| {
        v["subject"][0]["name"].take();
    });
    assert!(Link::from_sorted_payload(&serde_json::to_vec(&nameless).unwrap()).is_none());
    assert!(same(&nameless, &bob).contains("needs a name and a digest"));
    // Left to the tree: another predicate (its subjects are the products),
    // a sublayout, a payload that is not an object (named before a
    // signature that does not verify).
    let provenance = edited(&|v| v["predicateType"] = json!("https://slsa.dev/provenance/v1"));
    assert!(Link::from_sorted_payload(&serde_json::to_vec(&provenance).unwrap()).is_none());
    assert!(same(&provenance, &bob).starts_with("link: "));
    assert!(same(&layout(&[], &[], 1), &bob).starts_with("sublayout: "));
    for key in [&bob, &carol] {
        assert!(same(&json!([1]), key).contains("not a JSON object"));
    }
}
