//! The bundle fast path against the general verifier (`sigstore-verify`):
//! whatever the fast path accepts, the general path must accept too, with
//! the same result. Checked on every sigstore-conformance case and on
//! thousands of mutations of bundles the fast path accepts.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
#![allow(clippy::expect_used, reason = "a test fails by panicking")]
#![allow(clippy::panic, reason = "a test fails by panicking")]
#![allow(clippy::indexing_slicing, reason = "a test fails by panicking")]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use keyless::{Artifact, BundleVerifier, CertificatePolicy, Policy, TrustRoot};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

struct Case {
    name: String,
    bundle: Vec<u8>,
    artifact: Vec<u8>,
    policy: Policy,
    root: PathBuf,
}

fn cases() -> Vec<Case> {
    testkit::conformance::cases()
        .into_iter()
        .map(|case| Case {
            policy: match &case.key {
                Some(key) => Policy::Key {
                    pem: fs::read_to_string(key).unwrap(),
                },
                None => Policy::Identity {
                    identity: case.identity.clone(),
                    issuer: case.issuer.clone(),
                },
            },
            bundle: fs::read(&case.bundle).unwrap_or_default(),
            artifact: fs::read(&case.artifact).unwrap(),
            root: case.trusted_root,
            name: case.name,
        })
        .collect()
}

/// A trusted root's verifier, and the same without its fast path.
struct Verifiers {
    verifier: BundleVerifier,
    general: BundleVerifier,
}

/// The verifiers for a trusted root; `None` for the cases whose root is
/// refused (they must fail, and do before either path runs).
fn verifier(root: &Path) -> Option<Verifiers> {
    let json = fs::read_to_string(root).unwrap();
    let root = TrustRoot::from_json(&json).ok()?;
    Some(Verifiers {
        verifier: BundleVerifier::new(&root).ok()?,
        general: BundleVerifier::new(&root).ok()?.without_fast_path(),
    })
}

/// Asserts the fast path accepts nothing the general path refuses, and
/// returns whether it accepted.
fn agree(
    verifiers: &Verifiers,
    bundle: &[u8],
    artifact: Artifact<'_>,
    policy: &Policy,
    what: &str,
) -> bool {
    let Ok(fast) = verifiers
        .verifier
        .verify_fast_path(bundle, artifact, policy)
    else {
        return false;
    };
    match verifiers.general.verify(bundle, artifact, policy) {
        Ok(general) => assert_eq!(fast, general, "{what}: the paths report differently"),
        Err(e) => panic!(
            "{what}: the fast path accepted a bundle the general path refuses: {e}\n{}",
            String::from_utf8_lossy(bundle)
        ),
    }
    true
}

#[test]
fn fast_path_agrees_on_every_conformance_case() {
    let mut verifiers = BTreeMap::new();
    let mut accepted = Vec::new();
    for case in cases() {
        let Some(verifier) = verifiers
            .entry(case.root.clone())
            .or_insert_with(|| verifier(&case.root))
        else {
            assert!(case.name.ends_with("_fail"), "{}: root refused", case.name);
            continue;
        };
        let digest: [u8; 32] = Sha256::digest(&case.artifact).into();
        for (artifact, how) in [
            (Artifact::Bytes(&case.artifact), "bytes"),
            (Artifact::Sha256(digest), "digest"),
        ] {
            let what = format!("{} by {how}", case.name);
            if agree(verifier, &case.bundle, artifact, &case.policy, &what) {
                assert!(!case.name.ends_with("_fail"), "{what} accepted");
                accepted.push(what);
            }
        }
    }
    // The common shape: the v0.3 happy path and the other v0.3 message
    // signature cases with a hashedrekord 0.0.1 entry and no timestamps.
    for must in ["happy-path-v0.3 by bytes", "happy-path-v0.3 by digest"] {
        assert!(
            accepted.iter().any(|a| a == must),
            "fast path declined {must}; accepted: {accepted:?}"
        );
    }
    eprintln!("fast path accepted {}: {accepted:?}", accepted.len());
}

/// Every value in `value` (itself included) with its path, for mutation.
fn nodes<'v>(value: &'v Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'v Value)>) {
    out.push((path.clone(), value));
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        path.push(key);
        nodes(child, path, out);
        path.pop();
    }
}

/// Every string in `value`, by path.
fn strings(value: &Value) -> Vec<(Vec<String>, String)> {
    let mut all = Vec::new();
    nodes(value, &mut Vec::new(), &mut all);
    all.into_iter()
        .filter_map(|(path, v)| Some((path, v.as_str()?.to_owned())))
        .collect()
}

fn at<'v>(value: &'v mut Value, path: &[String]) -> &'v mut Value {
    path.iter().fold(value, |v, key| match v {
        Value::Object(map) => map.get_mut(key).unwrap(),
        Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
        _ => panic!("bad path"),
    })
}

/// Variants of a bundle: each string changed (a character, its decoded
/// bytes, emptied, turned into a number), each member removed or
/// duplicated into an unknown name, and the log entry's body edited.
fn mutations(bundle: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (path, s) in &strings(bundle) {
        let name = path.join(".");
        let mut set = |label: &str, new: Value| {
            let mut v = bundle.clone();
            *at(&mut v, path) = new;
            out.push((format!("{name}: {label}"), v));
        };
        set("emptied", Value::from(""));
        set("number", Value::from(1));
        for i in [0, s.len() / 3, s.len() / 2, s.len().saturating_sub(5)] {
            if let Some(c) = s.chars().nth(i) {
                let other = if c == 'A' { 'B' } else { 'A' };
                let mut changed: Vec<char> = s.chars().collect();
                changed[i] = other;
                set(
                    &format!("char {i}"),
                    Value::from(changed.into_iter().collect::<String>()),
                );
            }
        }
        if let Ok(n) = s.parse::<u64>() {
            set("plus one", Value::from((n + 1).to_string()));
            set("minus one", Value::from(n.saturating_sub(1).to_string()));
            set("leading zero", Value::from(format!("0{n}")));
        }
        if let Ok(mut raw) = STANDARD.decode(s) {
            if !raw.is_empty() {
                let step = (raw.len() / 24).max(1);
                for i in (0..raw.len()).step_by(step) {
                    raw[i] ^= 0x01;
                    set(
                        &format!("decoded byte {i}"),
                        Value::from(STANDARD.encode(&raw)),
                    );
                    raw[i] ^= 0x01;
                }
                set(
                    "decoded truncated",
                    Value::from(STANDARD.encode(&raw[..raw.len() - 1])),
                );
                let mut longer = raw.clone();
                longer.push(0);
                set("decoded extended", Value::from(STANDARD.encode(&longer)));
                set(
                    "unpadded",
                    Value::from(base64::engine::general_purpose::STANDARD_NO_PAD.encode(&raw)),
                );
                set(
                    "url-safe",
                    Value::from(base64::engine::general_purpose::URL_SAFE.encode(&raw)),
                );
            }
        }
    }
    // Members removed, and unknown members added, at every object.
    let mut all = Vec::new();
    nodes(bundle, &mut Vec::new(), &mut all);
    let paths: Vec<Vec<String>> = all
        .into_iter()
        .filter(|(_, v)| v.is_object())
        .map(|(path, _)| path)
        .collect();
    for path in paths {
        let name = path.join(".");
        let mut v = bundle.clone();
        at(&mut v, &path)
            .as_object_mut()
            .unwrap()
            .insert("extra".into(), Value::from("x"));
        out.push((format!("{name}: unknown member"), v));
        let keys: Vec<String> = at(&mut bundle.clone(), &path)
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        for key in keys {
            let mut v = bundle.clone();
            at(&mut v, &path).as_object_mut().unwrap().remove(&key);
            out.push((format!("{name}.{key}: removed"), v));
        }
    }
    // The log entry's body, edited as JSON and re-encoded.
    let body_path = [
        "verificationMaterial",
        "tlogEntries",
        "0",
        "canonicalizedBody",
    ]
    .map(String::from);
    let body = STANDARD
        .decode(at(&mut bundle.clone(), &body_path).as_str().unwrap())
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    let mut edits = mutations_of_body(&body);
    edits.push((
        "body reformatted".into(),
        serde_json::to_vec_pretty(&body).unwrap(),
    ));
    for (label, new_body) in edits {
        let mut v = bundle.clone();
        *at(&mut v, &body_path) = Value::from(STANDARD.encode(new_body));
        out.push((label, v));
    }
    out
}

fn mutations_of_body(body: &Value) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (path, s) in strings(body) {
        let mut v = body.clone();
        let mut changed = s.clone();
        changed.push('0');
        *at(&mut v, &path) = Value::from(changed);
        out.push((
            format!("body {}: changed", path.join(".")),
            serde_json::to_vec(&v).unwrap(),
        ));
    }
    out
}

#[test]
fn fast_path_accepts_no_mutation_the_general_path_refuses() {
    let cases = cases();
    let mut tried = 0;
    let mut fast_accepted = 0;
    for case in cases.iter().filter(|c| !c.name.ends_with("_fail")) {
        let verifiers = verifier(&case.root).unwrap();
        let verifier = &verifiers.verifier;
        let artifact = Artifact::Bytes(&case.artifact);
        if let Err(why) = verifier.verify_fast_path(&case.bundle, artifact, &case.policy) {
            eprintln!("{}: fast path declines: {why}", case.name);
            continue;
        }
        let bundle: Value = serde_json::from_slice(&case.bundle).unwrap();
        for (label, mutated) in mutations(&bundle) {
            if mutated == bundle {
                continue;
            }
            let bytes = serde_json::to_vec(&mutated).unwrap();
            let what = format!("{}: {label}", case.name);
            tried += 1;
            if agree(&verifiers, &bytes, artifact, &case.policy, &what) {
                fast_accepted += 1;
            }
        }
        // The same bundle for another artifact, identity, issuer or claim.
        let Policy::Identity { identity, issuer } = &case.policy else {
            continue;
        };
        let wrong: [(&str, Policy); 5] = [
            (
                "identity",
                Policy::Identity {
                    identity: format!("{identity}x"),
                    issuer: issuer.clone(),
                },
            ),
            (
                "issuer",
                Policy::Identity {
                    identity: identity.clone(),
                    issuer: format!("{issuer}x"),
                },
            ),
            (
                "regexp",
                Policy::Certificate(CertificatePolicy {
                    identity_regexp: Some("https://example\\.com/.*".into()),
                    issuer: issuer.clone(),
                    ..CertificatePolicy::default()
                }),
            ),
            (
                "repository",
                Policy::Certificate(CertificatePolicy {
                    identity: Some(identity.clone()),
                    issuer: issuer.clone(),
                    github_workflow_repository: Some("someone/else".into()),
                    ..CertificatePolicy::default()
                }),
            ),
            (
                "sha",
                Policy::Certificate(CertificatePolicy {
                    identity: Some(identity.clone()),
                    issuer: issuer.clone(),
                    github_workflow_sha: Some("0".repeat(40)),
                    ..CertificatePolicy::default()
                }),
            ),
        ];
        for (label, policy) in wrong {
            assert!(
                verifier
                    .verify_fast_path(&case.bundle, artifact, &policy)
                    .is_err(),
                "{}: wrong {label} accepted",
                case.name
            );
            assert!(verifier.verify(&case.bundle, artifact, &policy).is_err());
        }
        let other = [case.artifact.as_slice(), b"x"].concat();
        assert!(verifier
            .verify_fast_path(&case.bundle, Artifact::Bytes(&other), &case.policy)
            .is_err());
        assert!(verifier
            .verify_fast_path(&case.bundle, Artifact::Sha256([0; 32]), &case.policy)
            .is_err());
    }
    assert!(tried > 1000, "only {tried} mutations tried");
    // Only edits that change no signed byte verify: whitespace outside the
    // signed parts and nothing else.
    eprintln!("{tried} mutations, {fast_accepted} accepted by both paths");
}
