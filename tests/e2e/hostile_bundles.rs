//! Hostile Sigstore bundles (issue #8, the Sigstore part of the adversarial
//! corpus): a loopback testbed signs a good blob bundle and a good DSSE
//! attestation bundle with `toto --keyless`; `testbed::forge` forges
//! certificates, SCTs, Rekor entries, inclusion proofs, checkpoints and SETs
//! with the testbed's keys or with keys of nobody's. Every variant must get
//! its exact exit code from `toto verify-bundle` / `toto verify-attestation`
//! (1: verification failed, 2: malformed input), a message naming what is
//! wrong, no panic, in bounded time.
//!
//! Each forged variant has a control: the same forge with the default knobs
//! verifies, so a refusal is caused by the one knob turned.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use testbed::forge::{self, Forge, LeafSpec, Signer};

use crate::common::{
    expect_code, keyless, sign_blob, start_testbed, tempdir, token, toto, verify_attestation,
    verify_bundle, VerifyFlags,
};

const IDENTITY: &str = "alice@example.com";
const ARTIFACT: &[u8] = b"release bytes\n";
const OTHER: &[u8] = b"other bytes\n";
/// Wall-clock bound of one verification (a debug build on a busy 2-core CI).
const BOUND: Duration = Duration::from_secs(20);
const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";

struct Fixture {
    dir: tempfile::TempDir,
    tb: testbed::Testbed,
    forge: Forge,
    artifact: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempdir();
        let tb = start_testbed(dir.path());
        let forge = Forge::open(tb.dir()).unwrap();
        let artifact = dir.path().join("app.tar.gz");
        std::fs::write(&artifact, ARTIFACT).unwrap();
        Fixture {
            dir,
            tb,
            forge,
            artifact,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn keyless_args(&self) -> Vec<String> {
        keyless(&self.tb, &token(&self.tb, IDENTITY))
    }

    /// A blob bundle for the artifact, signed by `toto sign-blob --keyless`.
    fn signed_blob_bundle(&self) -> Value {
        let out = sign_blob(&self.tb, &token(&self.tb, IDENTITY), &self.artifact);
        expect_code(&out, 0, "toto sign-blob --keyless");
        read_json(&self.path("app.tar.gz.sigstore.json"))
    }

    /// An attestation bundle over the artifact, signed by `toto attest --keyless`.
    fn signed_attestation_bundle(&self) -> Value {
        let predicate = self.path("provenance.json");
        std::fs::write(&predicate, r#"{"builder":{"id":"https://example.com/b"}}"#).unwrap();
        let bundle = self.path("app.att.sigstore.json");
        let out = toto()
            .arg("attest")
            .args(self.keyless_args())
            .args(["--predicate-type", "https://slsa.dev/provenance/v1"])
            .arg("--predicate")
            .arg(&predicate)
            .arg("--subject")
            .arg(&self.artifact)
            .arg("-o")
            .arg(&bundle)
            .output()
            .unwrap();
        expect_code(&out, 0, "toto attest --keyless");
        read_json(&bundle)
    }

    fn leaf_spec(&self) -> LeafSpec<'_> {
        LeafSpec::fulcio(
            IDENTITY,
            self.tb.issuer(),
            Some(&self.forge.ct),
            testbed::now(),
        )
    }

    /// A leaf the testbed's Fulcio would issue, from its intermediate.
    fn good_signer(&self) -> Signer {
        forge::leaf(&self.forge.intermediate, &self.leaf_spec()).unwrap()
    }

    /// A forged blob bundle for the artifact by `signer`, logged now.
    fn forged_blob_bundle(&self, signer: &Signer) -> Value {
        self.forge
            .blob_bundle(signer, ARTIFACT, testbed::now())
            .unwrap()
    }

    /// A forged blob bundle whose logged body is `body` (the bundle itself
    /// carries `signer`'s signature over the artifact).
    fn bundle_with_body(&self, signer: &Signer, body: Vec<u8>) -> Value {
        let mut log = self.forge.log().unwrap();
        let entry = forge::logged(&mut log, body, testbed::now()).unwrap();
        forge::bundle(
            signer.leaf_der(),
            &entry,
            "hashedrekord",
            forge::message_signature(ARTIFACT, &signer.sign(ARTIFACT)),
        )
        .unwrap()
    }

    fn run(&self, command: Command, name: &str, bundle: &[u8]) -> (Output, Duration) {
        let path = self.path(&format!("{name}.sigstore.json"));
        std::fs::write(&path, bundle).unwrap();
        self.run_file(command, &path)
    }

    fn run_file(&self, command: Command, bundle: &Path) -> (Output, Duration) {
        let mut cmd = match command {
            Command::Bundle => verify_bundle(bundle),
            Command::Attestation => verify_attestation(bundle),
        };
        cmd.testbed_signer(&self.tb, IDENTITY);
        match command {
            Command::Bundle => cmd.arg(&self.artifact),
            Command::Attestation => cmd.subject(&self.artifact),
        };
        let start = Instant::now();
        let out = cmd.output().unwrap();
        (out, start.elapsed())
    }
}

#[derive(Debug, Clone, Copy)]
enum Command {
    Bundle,
    Attestation,
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Replaces the value at `pointer` (which must exist).
fn set(v: &mut Value, pointer: &str, new: Value) {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the bundle")) = new;
}

fn get<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer}"))
}

const ENTRY: &str = "/verificationMaterial/tlogEntries/0";

/// One hostile variant: what it is, what toto must answer.
struct Case {
    name: &'static str,
    command: Command,
    bundle: Vec<u8>,
    code: i32,
    /// Fragments stderr must contain (case-insensitive), all of them.
    says: &'static [&'static str],
}

fn case(name: &'static str, bundle: &Value, code: i32, says: &'static [&'static str]) -> Case {
    Case {
        name,
        command: Command::Bundle,
        bundle: bytes(bundle),
        code,
        says,
    }
}

/// Runs every case; fails once, listing every case toto got wrong.
fn check(f: &Fixture, cases: Vec<Case>) {
    let mut wrong = Vec::new();
    for c in cases {
        let (out, took) = f.run(c.command, c.name, &c.bundle);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let lower = stderr.to_lowercase();
        let mut problems = Vec::new();
        if out.status.code() != Some(c.code) {
            problems.push(format!("exit {:?}, expected {}", out.status.code(), c.code));
        }
        for fragment in c.says {
            if !lower.contains(&fragment.to_lowercase()) {
                problems.push(format!("stderr does not say {fragment:?}"));
            }
        }
        if lower.contains("panicked") {
            problems.push("panicked".into());
        }
        if took > BOUND {
            problems.push(format!("took {took:?}"));
        }
        eprintln!(
            "{}: exit {:?} in {took:?}: {}",
            c.name,
            out.status.code(),
            stderr.trim()
        );
        if !problems.is_empty() {
            wrong.push(format!(
                "{}: {}\n  stdout: {}\n  stderr: {}",
                c.name,
                problems.join("; "),
                String::from_utf8_lossy(&out.stdout).trim(),
                stderr.trim()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "hostile bundles mishandled:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn hostile_certificates_are_refused() {
    let f = Fixture::new();
    let now = testbed::now();
    let mut cases = vec![case(
        "control_forged_bundle_verifies",
        &f.forged_blob_bundle(&f.good_signer()),
        0,
        &[],
    )];

    let mut spec = f.leaf_spec();
    spec.eku = vec![SERVER_AUTH.parse().unwrap()];
    let signer = forge::leaf(&f.forge.intermediate, &spec).unwrap();
    cases.push(case(
        "leaf_with_server_auth_eku_not_code_signing",
        &f.forged_blob_bundle(&signer),
        1,
        &["certificate"],
    ));

    let mut spec = f.leaf_spec();
    spec.eku = vec![];
    let signer = forge::leaf(&f.forge.intermediate, &spec).unwrap();
    cases.push(case(
        "leaf_with_empty_eku",
        &f.forged_blob_bundle(&signer),
        1,
        &["certificate"],
    ));

    let mut spec = f.leaf_spec();
    (spec.not_before, spec.not_after) = (now - 7200, now - 6600);
    let signer = forge::leaf(&f.forge.intermediate, &spec).unwrap();
    cases.push(case(
        "leaf_expired_before_integrated_time",
        &f.forged_blob_bundle(&signer),
        1,
        &["certificate", "expired"],
    ));

    let mut spec = f.leaf_spec();
    (spec.not_before, spec.not_after) = (now + 3600, now + 4200);
    let signer = forge::leaf(&f.forge.intermediate, &spec).unwrap();
    cases.push(case(
        "leaf_not_yet_valid_at_integrated_time",
        &f.forged_blob_bundle(&signer),
        1,
        &["certificate", "NotValidYet"],
    ));

    // The integrated time (vouched for by the SET) is what counts: a leaf
    // valid on the wall clock but not yet valid when the entry was
    // integrated is refused, one expired now but valid then verifies (the
    // trusted root's logs and CAs are valid from an hour before the
    // testbed started), and a time in the future is refused.
    let signer = f.good_signer();
    cases.push(case(
        "integrated_time_in_the_future",
        &f.forge.blob_bundle(&signer, ARTIFACT, now + 3600).unwrap(),
        1,
        &["integrated time", "in the future"],
    ));
    cases.push(case(
        "leaf_valid_now_but_not_yet_valid_at_integrated_time",
        &f.forge.blob_bundle(&signer, ARTIFACT, now - 3600).unwrap(),
        1,
        &["certificate", "NotValidYet"],
    ));
    let mut spec = f.leaf_spec();
    (spec.not_before, spec.not_after) = (now - 3000, now - 2400);
    let signer = forge::leaf(&f.forge.intermediate, &spec).unwrap();
    cases.push(case(
        "control_leaf_expired_now_but_valid_at_integrated_time_verifies",
        &f.forge.blob_bundle(&signer, ARTIFACT, now - 2700).unwrap(),
        0,
        &[],
    ));

    let stranger = forge::other_root("stranger root", now).unwrap();
    let signer = forge::leaf(&stranger, &f.leaf_spec()).unwrap();
    cases.push(case(
        "leaf_issued_by_an_untrusted_ca",
        &f.forged_blob_bundle(&signer),
        1,
        &["certificate", "chain"],
    ));

    // Same subject name as the testbed's intermediate, another key.
    let impostor = forge::other_root("toto testbed intermediate", now).unwrap();
    let signer = forge::leaf(&impostor, &f.leaf_spec()).unwrap();
    cases.push(case(
        "leaf_issued_by_a_ca_named_like_the_trusted_intermediate",
        &f.forged_blob_bundle(&signer),
        1,
        &["certificate", "chain"],
    ));

    let mut spec = f.leaf_spec();
    spec.identity = "mallory@example.com".into();
    let signer = forge::leaf(&f.forge.intermediate, &spec).unwrap();
    cases.push(case(
        "leaf_for_another_identity",
        &f.forged_blob_bundle(&signer),
        1,
        &["identity"],
    ));
    let mut spec = f.leaf_spec();
    spec.oidc_issuer = "https://accounts.example.com".into();
    let signer = forge::leaf(&f.forge.intermediate, &spec).unwrap();
    cases.push(case(
        "leaf_from_another_oidc_issuer",
        &f.forged_blob_bundle(&signer),
        1,
        &["issuer"],
    ));

    // v0.1 bundles carry the chain: a leaf under an intermediate the trusted
    // root's CA issued. Control: a real CA intermediate verifies.
    let v01 = |signer: &Signer, intermediate: &testbed::pki::Authority| {
        let mut b = f.forged_blob_bundle(signer);
        set(
            &mut b,
            "/mediaType",
            json!("application/vnd.dev.sigstore.bundle+json;version=0.1"),
        );
        let material = b["verificationMaterial"].as_object_mut().unwrap();
        material.remove("certificate");
        material.insert(
            "x509CertificateChain".into(),
            json!({"certificates": [
                {"rawBytes": B64.encode(signer.leaf_der())},
                {"rawBytes": B64.encode(intermediate.cert_der())},
            ]}),
        );
        b
    };
    let ca = forge::intermediate(&f.forge.root, "sub ca", now, true).unwrap();
    let signer = forge::leaf(&ca, &f.leaf_spec()).unwrap();
    cases.push(case(
        "control_v01_chain_through_a_real_sub_ca_verifies",
        &v01(&signer, &ca),
        0,
        &[],
    ));
    let not_ca = forge::intermediate(&f.forge.root, "not a ca", now, false).unwrap();
    let signer = forge::leaf(&not_ca, &f.leaf_spec()).unwrap();
    cases.push(case(
        "chain_through_an_intermediate_that_is_not_a_ca",
        &v01(&signer, &not_ca),
        1,
        &["certificate", "chain"],
    ));

    let rogue_ct = forge::other_ct_log().unwrap();
    let mut spec = f.leaf_spec();
    spec.sct = Some(&rogue_ct);
    let signer = forge::leaf(&f.forge.intermediate, &spec).unwrap();
    cases.push(case(
        "sct_from_a_log_not_in_the_trusted_root",
        &f.forged_blob_bundle(&signer),
        1,
        &["signed certificate timestamp"],
    ));

    let mut spec = f.leaf_spec();
    spec.sct = None;
    let signer = forge::leaf(&f.forge.intermediate, &spec).unwrap();
    cases.push(case(
        "leaf_without_sct",
        &f.forged_blob_bundle(&signer),
        1,
        &["signed certificate timestamp"],
    ));

    check(&f, cases);
}

/// A forged blob bundle and the log it came from (entry at index 3 of 6).
fn forged_with_log(f: &Fixture, signer: &Signer) -> (Value, testbed::log::Log) {
    let signature = signer.sign(ARTIFACT);
    let body = forge::hashedrekord_body(
        &Sha256::digest(ARTIFACT).into(),
        &signature,
        &signer.leaf_pem().unwrap(),
    );
    let mut log = f.forge.log().unwrap();
    let entry = forge::logged(&mut log, body, testbed::now()).unwrap();
    let bundle = forge::bundle(
        signer.leaf_der(),
        &entry,
        "hashedrekord",
        forge::message_signature(ARTIFACT, &signature),
    )
    .unwrap();
    (bundle, log)
}

fn b64_hashes(entry: &Value) -> Value {
    let hashes: Vec<String> = entry["verification"]["inclusionProof"]["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| B64.encode(hex::decode(h.as_str().unwrap()).unwrap()))
        .collect();
    json!(hashes)
}

#[test]
fn hostile_log_entries_are_refused() {
    let f = Fixture::new();
    let signer = f.good_signer();
    let (good, log) = forged_with_log(&f, &signer);
    let tree_id = f.forge.tree_id();
    let rekor = f.forge.rekor_key();
    let size = log.size();
    let root = log.root_at(size);
    let mut cases = vec![case("control_forged_bundle_verifies", &good, 0, &[])];

    // Inclusion proofs.
    let mut b = good.clone();
    let (_, other_entry) = log.entry_json(1).unwrap();
    set(
        &mut b,
        &format!("{ENTRY}/inclusionProof/hashes"),
        b64_hashes(&other_entry),
    );
    cases.push(case(
        "inclusion_proof_hashes_of_another_leaf",
        &b,
        1,
        &["inclusion proof", "root hash mismatch"],
    ));

    let other_root = log.root_at(size - 1);
    let mut b = good.clone();
    set(
        &mut b,
        &format!("{ENTRY}/inclusionProof/rootHash"),
        json!(B64.encode(other_root)),
    );
    set(
        &mut b,
        &format!("{ENTRY}/inclusionProof/checkpoint/envelope"),
        json!(forge::signed_checkpoint(rekor, tree_id, size, &other_root)),
    );
    cases.push(case(
        "inclusion_proof_to_a_wrong_root_with_a_matching_checkpoint",
        &b,
        1,
        &["inclusion proof", "root hash mismatch"],
    ));

    let mut b = good.clone();
    set(
        &mut b,
        &format!("{ENTRY}/inclusionProof/treeSize"),
        json!("4"),
    );
    set(
        &mut b,
        &format!("{ENTRY}/inclusionProof/checkpoint/envelope"),
        json!(forge::signed_checkpoint(rekor, tree_id, 4, &root)),
    );
    cases.push(case(
        "inclusion_proof_with_a_wrong_tree_size",
        &b,
        1,
        &["inclusion proof", "proof hashes"],
    ));

    // Checkpoints.
    let mut b = good.clone();
    set(
        &mut b,
        &format!("{ENTRY}/inclusionProof/checkpoint/envelope"),
        json!(forge::signed_checkpoint(
            &forge::random_key(),
            tree_id,
            size,
            &root
        )),
    );
    cases.push(case(
        "checkpoint_signed_by_another_key",
        &b,
        1,
        &["checkpoint", "no matching Rekor key"],
    ));
    // The testbed key's hint, another key's signature.
    let real = get(
        &good,
        &format!("{ENTRY}/inclusionProof/checkpoint/envelope"),
    );
    let (note, signature_line) = real.split_once("\n\n").unwrap();
    let (prefix, blob) = signature_line.trim_end().rsplit_once(' ').unwrap();
    let hint = B64.decode(blob).unwrap()[..4].to_vec();
    let forged = [
        hint,
        forge::sign(&forge::random_key(), format!("{note}\n").as_bytes()),
    ]
    .concat();
    let mut b = good.clone();
    set(
        &mut b,
        &format!("{ENTRY}/inclusionProof/checkpoint/envelope"),
        json!(format!("{note}\n\n{prefix} {}\n", B64.encode(forged))),
    );
    cases.push(case(
        "checkpoint_with_the_log_key_hint_signed_by_another_key",
        &b,
        1,
        &["checkpoint"],
    ));

    let mut b = good.clone();
    set(
        &mut b,
        &format!("{ENTRY}/inclusionProof/checkpoint/envelope"),
        json!(forge::signed_checkpoint(rekor, tree_id, size, &other_root)),
    );
    cases.push(case(
        "checkpoint_root_differs_from_the_proof",
        &b,
        1,
        &["inclusion proof root hash does not match checkpoint"],
    ));

    // SETs.
    let entry = good.pointer(ENTRY).unwrap().clone();
    let body = get(&entry, "/canonicalizedBody");
    let log_id = hex::encode(B64.decode(get(&entry, "/logId/keyId")).unwrap());
    let time: i64 = get(&entry, "/integratedTime").parse().unwrap();
    let index: usize = get(&entry, "/logIndex").parse().unwrap();
    let with_set = |set_b64: String| {
        let mut b = good.clone();
        set(
            &mut b,
            &format!("{ENTRY}/inclusionPromise/signedEntryTimestamp"),
            json!(set_b64),
        );
        b
    };
    cases.push(case(
        "set_over_another_integrated_time",
        &with_set(forge::signed_entry_timestamp(
            rekor,
            body,
            time - 60,
            &log_id,
            index,
        )),
        1,
        &["SET verification failed"],
    ));
    cases.push(case(
        "set_over_another_log_index",
        &with_set(forge::signed_entry_timestamp(
            rekor,
            body,
            time,
            &log_id,
            index + 1,
        )),
        1,
        &["SET verification failed"],
    ));
    cases.push(case(
        "set_signed_by_another_key",
        &with_set(forge::signed_entry_timestamp(
            &forge::random_key(),
            body,
            time,
            &log_id,
            index,
        )),
        1,
        &["SET verification failed"],
    ));
    let mut b = good.clone();
    set(
        &mut b,
        &format!("{ENTRY}/integratedTime"),
        json!((time - 60).to_string()),
    );
    cases.push(case("integrated_time_moved_under_the_set", &b, 1, &["SET"]));

    // Logged bodies that disagree with the bundle, each logged genuinely
    // (valid proof, checkpoint and SET for that body).
    let digest: [u8; 32] = Sha256::digest(ARTIFACT).into();
    let pem = signer.leaf_pem().unwrap();
    cases.push(case(
        "logged_body_with_another_signature",
        &f.bundle_with_body(
            &signer,
            forge::hashedrekord_body(&digest, &signer.sign(OTHER), &pem),
        ),
        1,
        &["signature in bundle does not match", "Rekor entry"],
    ));
    let other_leaf = f.good_signer().leaf_pem().unwrap();
    cases.push(case(
        "logged_body_with_another_certificate",
        &f.bundle_with_body(
            &signer,
            forge::hashedrekord_body(&digest, &signer.sign(ARTIFACT), &other_leaf),
        ),
        1,
        &["certificate in bundle does not match", "Rekor entry"],
    ));
    cases.push(case(
        "logged_body_with_another_digest",
        &f.bundle_with_body(
            &signer,
            forge::hashedrekord_body(&Sha256::digest(OTHER).into(), &signer.sign(ARTIFACT), &pem),
        ),
        1,
        &["hash mismatch", "hashedrekord entry"],
    ));

    check(&f, cases);
}

#[test]
fn hostile_signed_bundles_are_refused() {
    let f = Fixture::new();
    let blob = f.signed_blob_bundle();
    let att = f.signed_attestation_bundle();
    let attestation = |name, bundle: &Value, code, says| Case {
        name,
        command: Command::Attestation,
        bundle: bytes(bundle),
        code,
        says,
    };
    let mut cases = vec![
        case("control_signed_blob_bundle_verifies", &blob, 0, &[]),
        attestation("control_signed_attestation_verifies", &att, 0, &[]),
    ];

    // The DSSE envelope changed after signing.
    let payload = B64.decode(get(&att, "/dsseEnvelope/payload")).unwrap();
    let mut statement: Value = serde_json::from_slice(&payload).unwrap();
    statement["predicate"] = json!({"builder": {"id": "https://evil.example/"}});
    let mut b = att.clone();
    set(
        &mut b,
        "/dsseEnvelope/payload",
        json!(B64.encode(serde_json::to_vec(&statement).unwrap())),
    );
    cases.push(attestation(
        "dsse_payload_swapped_after_signing",
        &b,
        1,
        &["signature"],
    ));
    let mut b = att.clone();
    set(
        &mut b,
        "/dsseEnvelope/payloadType",
        json!("application/json"),
    );
    cases.push(attestation(
        "dsse_payload_type_swapped_after_signing",
        &b,
        1,
        &["payload type"],
    ));
    let mut b = att.clone();
    let one = b["dsseEnvelope"]["signatures"][0].clone();
    set(
        &mut b,
        "/dsseEnvelope/signatures",
        Value::Array(vec![one; 10_000]),
    );
    cases.push(attestation(
        "dsse_envelope_with_10000_signatures",
        &b,
        2,
        &["malformed bundle", "exactly one signature"],
    ));

    // Malformed bundles.
    let mut b = blob.clone();
    set(
        &mut b,
        "/mediaType",
        json!("application/vnd.dev.sigstore.bundle.v9.9+json"),
    );
    cases.push(case("unknown_media_type", &b, 2, &["malformed bundle"]));
    let text = bytes(&blob);
    cases.push(Case {
        name: "truncated_json",
        command: Command::Bundle,
        bundle: text[..text.len() / 2].to_vec(),
        code: 2,
        says: &["malformed bundle"],
    });
    cases.push(Case {
        name: "garbage_bytes",
        command: Command::Bundle,
        bundle: b"\x00\xff{{[garbage".to_vec(),
        code: 2,
        says: &["malformed bundle"],
    });
    let mut b = blob.clone();
    set(
        &mut b,
        "/verificationMaterial/certificate/rawBytes",
        json!("%%% not base64 %%%"),
    );
    cases.push(case(
        "certificate_that_is_not_base64",
        &b,
        2,
        &["malformed bundle"],
    ));
    let mut b = blob.clone();
    set(&mut b, "/messageSignature/signature", json!("not*base64!"));
    cases.push(case(
        "signature_that_is_not_base64",
        &b,
        2,
        &["malformed bundle"],
    ));
    let mut b = blob.clone();
    set(&mut b, &format!("{ENTRY}/canonicalizedBody"), json!("@@@@"));
    cases.push(case(
        "body_that_is_not_base64",
        &b,
        2,
        &["malformed bundle"],
    ));
    check(&f, cases);

    // 100 MB: refused by the size limit before it is parsed.
    let huge = f.path("huge.sigstore.json");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(100 << 20).unwrap();
    for command in [Command::Bundle, Command::Attestation] {
        let (out, took) = f.run_file(command, &huge);
        expect_code(&out, 2, "a 100 MB bundle");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("over the limit of"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(took < BOUND, "a 100 MB bundle took {took:?}");
    }
}

/// A Statement about the artifact.
fn statement(predicate: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app.tar.gz", "digest": {"sha256": hex::encode(Sha256::digest(ARTIFACT))}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": predicate,
    }))
    .unwrap()
}

/// Inserts `key: value` before the first key of the JSON object `json`,
/// which keeps its own `key`: a duplicate key, the first one hostile.
fn duplicate_first(json: &Value, key: &str, value: &Value) -> Vec<u8> {
    let text = serde_json::to_string(json).unwrap();
    let rest = text.strip_prefix('{').unwrap();
    format!("{{{}:{value},{rest}", json!(key)).into_bytes()
}

/// Appends `key: value` after the last key of the JSON object `json`.
fn duplicate_last(json: &Value, key: &str, value: &Value) -> Vec<u8> {
    let text = serde_json::to_string(json).unwrap();
    let rest = text.strip_suffix('}').unwrap();
    format!("{rest},{}:{value}}}", json!(key)).into_bytes()
}

#[test]
fn hostile_attestations_are_refused() {
    let f = Fixture::new();
    let now = testbed::now();
    let signer = f.good_signer();
    let payload_type = "application/vnd.in-toto+json";
    let good_payload = statement(json!({"builder": {"id": "https://example.com/b"}}));
    let evil_payload = statement(json!({"builder": {"id": "https://evil.example/"}}));
    let attestation = |name, bundle: Vec<u8>, code, says| Case {
        name,
        command: Command::Attestation,
        bundle,
        code,
        says,
    };
    let good = f
        .forge
        .dsse_bundle(&signer, payload_type, &good_payload, None, now)
        .unwrap();
    let mut cases = vec![attestation(
        "control_forged_attestation_verifies",
        bytes(&good),
        0,
        &[],
    )];

    // Logged bodies that disagree with the bundle's envelope.
    let other_envelope = signer.envelope(payload_type, &evil_payload);
    let b = f
        .forge
        .dsse_bundle(
            &signer,
            payload_type,
            &good_payload,
            Some(&other_envelope),
            now,
        )
        .unwrap();
    cases.push(attestation(
        "logged_dsse_body_for_another_envelope",
        bytes(&b),
        1,
        &["log entry does not match the bundle"],
    ));
    let mut resigned = signer.envelope(payload_type, &good_payload);
    resigned["signatures"] = other_envelope["signatures"].clone();
    let b = f
        .forge
        .dsse_bundle(&signer, payload_type, &good_payload, Some(&resigned), now)
        .unwrap();
    cases.push(attestation(
        "logged_dsse_body_with_another_signature",
        bytes(&b),
        1,
        &["log entry does not match the bundle"],
    ));

    // A bundle whose envelope is signed by the leaf but whose logged entry
    // and envelope carry the evil payload: the signature must fail.
    let mut evil = good.clone();
    set(
        &mut evil,
        "/dsseEnvelope/payload",
        json!(B64.encode(&evil_payload)),
    );
    // Duplicate keys: the verifier and the payload extractor must not see
    // two different envelopes.
    cases.push(attestation(
        "duplicate_dsse_envelope_key_hostile_first",
        duplicate_first(&good, "dsseEnvelope", &evil["dsseEnvelope"]),
        2,
        &["duplicate"],
    ));
    cases.push(attestation(
        "duplicate_dsse_envelope_key_hostile_last",
        duplicate_last(&good, "dsseEnvelope", &evil["dsseEnvelope"]),
        2,
        &["duplicate"],
    ));
    let text = serde_json::to_string(&good).unwrap();
    let good_field = format!("\"payload\":{}", good["dsseEnvelope"]["payload"]);
    let evil_field = format!("\"payload\":{}", evil["dsseEnvelope"]["payload"]);
    assert!(text.contains(&good_field));
    cases.push(attestation(
        "duplicate_payload_key_inside_the_envelope_hostile_first",
        text.replace(&good_field, &format!("{evil_field},{good_field}"))
            .into_bytes(),
        2,
        &["duplicate"],
    ));
    cases.push(attestation(
        "duplicate_payload_key_inside_the_envelope_hostile_last",
        text.replace(&good_field, &format!("{good_field},{evil_field}"))
            .into_bytes(),
        2,
        &["duplicate"],
    ));

    // Deeply nested JSON: refused by the parser's depth limit, no stack
    // overflow.
    let depth = 100_000;
    let mut nested =
        String::from("{\"mediaType\":\"application/vnd.dev.sigstore.bundle.v0.3+json\",\"x\":");
    nested.push_str(&"[".repeat(depth));
    nested.push_str(&"]".repeat(depth));
    nested.push('}');
    cases.push(attestation(
        "json_nested_100000_levels",
        nested.clone().into_bytes(),
        2,
        &["recursion limit"],
    ));
    cases.push(Case {
        name: "json_nested_100000_levels_blob",
        command: Command::Bundle,
        bundle: nested.into_bytes(),
        code: 2,
        says: &["recursion limit"],
    });

    check(&f, cases);
}

/// The bug `duplicate_dsse_envelope_key_hostile_last` found: toto verified
/// the first `dsseEnvelope` of a bundle and printed (and checked policies
/// against) the payload of the last, so appending an unsigned Statement to
/// anyone's genuine attestation made it "verified".
#[test]
fn bug_duplicate_dsse_envelope_key_printed_an_unverified_statement() {
    let f = Fixture::new();
    let good = f.signed_attestation_bundle();
    let payload = B64.decode(get(&good, "/dsseEnvelope/payload")).unwrap();
    let mut statement: Value = serde_json::from_slice(&payload).unwrap();
    statement["predicate"] = json!({"builder": {"id": "https://evil.example/"}});
    let mut evil = good["dsseEnvelope"].clone();
    evil["payload"] = json!(B64.encode(serde_json::to_vec(&statement).unwrap()));
    let path = f.path("duplicate.sigstore.json");
    std::fs::write(&path, duplicate_last(&good, "dsseEnvelope", &evil)).unwrap();
    let out = verify_attestation(&path)
        .args(["--format", "json"])
        .testbed_signer(&f.tb, IDENTITY)
        .subject(&f.artifact)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("evil.example"),
        "an unsigned Statement was printed as verified: {stdout}"
    );
    expect_code(&out, 2, "a bundle with two dsseEnvelope keys");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("duplicate object key"), "{stderr}");
}
