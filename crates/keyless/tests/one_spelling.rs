//! One bundle, one spelling (issue #16): the classes of bundle that
//! `scripts/differential-bundles` found toto accepting and sigstore-python
//! refusing, each made from a genuine conformance bundle that verifies, with
//! exactly one thing changed, and the refusal it must get.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
#![allow(clippy::expect_used, reason = "a test fails by panicking")]
#![allow(clippy::panic, reason = "a test fails by panicking")]
#![allow(clippy::indexing_slicing, reason = "a test fails by panicking")]

use keyless::{Artifact, BundleVerifier, Error, Policy, TrustRoot};
use serde_json::{json, Value};

const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

/// A conformance case: its bundle as JSON and a verifier for its root.
struct Case {
    bundle: Value,
    verifier: BundleVerifier,
    artifact: Vec<u8>,
}

impl Case {
    fn load(name: &str) -> Case {
        let conformance = testkit::conformance::case(name);
        let root =
            TrustRoot::from_json(&std::fs::read_to_string(&conformance.trusted_root).unwrap())
                .unwrap();
        let case = Case {
            bundle: serde_json::from_slice(&std::fs::read(&conformance.bundle).unwrap()).unwrap(),
            verifier: BundleVerifier::new(&root).unwrap(),
            artifact: std::fs::read(&conformance.artifact).unwrap(),
        };
        case.verify_text(&serde_json::to_string(&case.bundle).unwrap())
            .unwrap_or_else(|e| panic!("control: {name} must verify: {e}"));
        case
    }

    fn verify_text(&self, text: &str) -> Result<keyless::Verified, Error> {
        let policy = Policy::Identity {
            identity: IDENTITY.into(),
            issuer: ISSUER.into(),
        };
        self.verifier
            .verify(text.as_bytes(), Artifact::Bytes(&self.artifact), &policy)
    }

    /// The bundle with `change` applied is refused with `why` in the
    /// message; `verification` says whether it is a failed verification
    /// (exit 1) or malformed input (exit 2).
    #[track_caller]
    fn refused(&self, what: &str, change: impl FnOnce(&mut Value), verification: bool, why: &str) {
        let mut bundle = self.bundle.clone();
        change(&mut bundle);
        let text = serde_json::to_string(&bundle).unwrap();
        match self.verify_text(&text) {
            Ok(_) => panic!("{what}: accepted"),
            Err(e) => {
                assert_eq!(e.is_verification_failure(), verification, "{what}: {e}");
                assert!(e.to_string().contains(why), "{what}: {e} lacks {why:?}");
            }
        }
    }
}

const ENTRY: &str = "/verificationMaterial/tlogEntries/0";

fn at<'a>(bundle: &'a mut Value, pointer: &str) -> &'a mut Value {
    bundle
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}"))
}

fn checkpoint(bundle: &mut Value) -> &mut Value {
    at(
        bundle,
        &format!("{ENTRY}/inclusionProof/checkpoint/envelope"),
    )
}

#[test]
fn two_of_something_is_refused() {
    let v03 = Case::load("happy-path-v0.3");
    v03.refused(
        "two log entries",
        |b| {
            let entry = b.pointer(ENTRY).unwrap().clone();
            at(b, "/verificationMaterial/tlogEntries")
                .as_array_mut()
                .unwrap()
                .push(entry);
        },
        false,
        "exactly one transparency log entry",
    );
    v03.refused(
        "a certificate chain beside the certificate",
        |b| {
            let certificate = b["verificationMaterial"]["certificate"].clone();
            b["verificationMaterial"]["x509CertificateChain"] =
                json!({"certificates": [certificate]});
        },
        false,
        "exactly one of certificate, x509CertificateChain or publicKey",
    );
    let dsse = Case::load("happy-path-intoto-in-dsse-v3");
    let envelope = dsse.bundle["dsseEnvelope"].clone();
    v03.refused(
        "an envelope beside the message signature",
        |b| b["dsseEnvelope"] = envelope,
        false,
        "exactly one of messageSignature or dsseEnvelope",
    );
    let v2 = Case::load("rekor2-happy-path");
    let timestamps = "/verificationMaterial/timestampVerificationData/rfc3161Timestamps";
    v2.refused(
        "the same timestamp twice",
        |b| {
            let list = at(b, timestamps).as_array_mut().unwrap();
            let first = list[0].clone();
            list.push(first);
        },
        false,
        "the same RFC 3161 timestamp is there twice",
    );
}

/// The field `from` of the object `v`, under the name `to`.
fn rename(v: &mut Value, from: &str, to: &str) {
    let object = v.as_object_mut().unwrap();
    let field = object.remove(from).unwrap();
    object.insert(to.into(), field);
}

#[test]
fn other_spellings_of_the_same_bundle_are_refused() {
    let v03 = Case::load("happy-path-v0.3");
    v03.refused(
        "no mediaType",
        |b| {
            b.as_object_mut().unwrap().remove("mediaType");
        },
        false,
        "bundle has no mediaType",
    );
    v03.refused(
        "a certificate in a v0.1 bundle",
        |b| b["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.1"),
        false,
        "`certificate` is a v0.3 field",
    );
    v03.refused(
        "an unknown top-level field",
        |b| b["dsseEnvelopes"] = json!([]),
        false,
        "unknown field \"dsseEnvelopes\" in bundle",
    );
    v03.refused(
        "a field in the wrong case",
        |b| rename(&mut b["messageSignature"], "messageDigest", "messagedigest"),
        false,
        "unknown field \"messagedigest\" in messageSignature",
    );
    v03.refused(
        "snake_case field names",
        |b| rename(b, "mediaType", "media_type"),
        false,
        "unknown field \"media_type\"",
    );
    v03.refused(
        "an enum name in lower case",
        |b| b["messageSignature"]["messageDigest"]["algorithm"] = json!("sha2_256"),
        false,
        "messageDigest.algorithm \"sha2_256\" is not one of",
    );
    v03.refused(
        "base64url without padding",
        |b| {
            let raw = at(b, "/verificationMaterial/certificate/rawBytes");
            let url = raw
                .as_str()
                .unwrap()
                .replace('+', "-")
                .replace('/', "_")
                .trim_end_matches('=')
                .to_owned();
            assert_ne!(
                raw.as_str().unwrap(),
                url,
                "the certificate has + or / or ="
            );
            *raw = json!(url);
        },
        false,
        "certificate.rawBytes is not standard, padded base64",
    );
    v03.refused(
        "a hash in hex",
        |b| {
            let root = at(b, &format!("{ENTRY}/inclusionProof/rootHash"));
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(root.as_str().unwrap())
                .unwrap();
            *root = json!(hex::encode(bytes));
        },
        false,
        "inclusionProof.rootHash holds 48 bytes, not a 32-byte hash",
    );
    v03.refused(
        "an int64 as a JSON number",
        |b| {
            let index = at(b, &format!("{ENTRY}/logIndex"));
            let n: i64 = index.as_str().unwrap().parse().unwrap();
            *index = json!(n);
        },
        false,
        "logIndex is not an int64 written as a decimal string",
    );
    v03.refused(
        "an int64 with a leading zero",
        |b| {
            let index = at(b, &format!("{ENTRY}/integratedTime"));
            *index = json!(format!("0{}", index.as_str().unwrap()));
        },
        false,
        "is not a non-negative decimal int64",
    );
}

#[test]
fn log_entries_whose_parts_disagree_are_refused() {
    let v03 = Case::load("happy-path-v0.3");
    v03.refused(
        "a checkpoint without its final newline",
        |b| {
            let note = checkpoint(b);
            *note = json!(note.as_str().unwrap().trim_end_matches('\n'));
        },
        false,
        "do not end with a newline",
    );
    v03.refused(
        "a log id of no trusted log",
        |b| *at(b, &format!("{ENTRY}/logId/keyId")) = json!("A".repeat(43) + "="),
        true,
        "names no transparency log of the trusted root",
    );
    let v2 = Case::load("rekor2-happy-path");
    v2.refused(
        "Rekor v2: the proof's index differs from the entry's",
        |b| *at(b, &format!("{ENTRY}/inclusionProof/logIndex")) = json!("0"),
        true,
        "is not its inclusion proof's",
    );
    v2.refused(
        "Rekor v2: the proof's tree size differs from the checkpoint's",
        |b| *at(b, &format!("{ENTRY}/inclusionProof/treeSize")) = json!("1"),
        true,
        "tree size 1 is not its checkpoint's",
    );
    let other_root = v03
        .bundle
        .pointer(&format!("{ENTRY}/inclusionProof/rootHash"))
        .unwrap()
        .clone();
    v2.refused(
        "Rekor v2: the proof's root hash differs from the checkpoint's",
        |b| *at(b, &format!("{ENTRY}/inclusionProof/rootHash")) = other_root,
        true,
        "root hash is not its checkpoint's",
    );
    v2.refused(
        "Rekor v2: a log id of no trusted log",
        |b| *at(b, &format!("{ENTRY}/logId/keyId")) = json!("A".repeat(43) + "="),
        true,
        "names no transparency log of the trusted root",
    );
}
