//! Hostile Sigstore bundles (issue #8, the Sigstore part of the adversarial
//! corpus): a loopback testbed signs a good blob bundle and a good DSSE
//! attestation bundle with `toto --keyless`; `testkit::forge` forges
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
use testkit::forge::{self, Forge, LeafSpec, Signer};

use crate::common::{
    attest_provenance, expect_code, expect_refused, keyless, python, python_verify, sign_blob,
    token, verify_attestation, verify_bundle, Forged, VerifyFlags,
};

const IDENTITY: &str = "alice@example.com";
const ARTIFACT: &[u8] = b"release bytes\n";
/// The DSSE payload type of an in-toto Statement.
const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
const OTHER: &[u8] = b"other bytes\n";
/// Wall-clock bound of one verification (a debug build on a busy 2-core CI).
const BOUND: Duration = Duration::from_secs(20);
const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";

struct Fixture {
    dir: tempfile::TempDir,
    tb: testbed::Testbed,
    forge: Forge,
    artifact: PathBuf,
    /// What toto and sigstore-python trust: the testbed's trust files, or
    /// those [`Fixture::trust`] wrote.
    trusted_root: PathBuf,
    trust_config: PathBuf,
    /// The fixture's "now": leaves are valid from it, entries are logged
    /// at or after it, so a slow run cannot move a log entry before its
    /// leaf's validity.
    now: i64,
}

impl Fixture {
    fn new() -> Fixture {
        let Forged {
            dir,
            tb,
            forge,
            artifact,
        } = Forged::new(ARTIFACT);
        let (trusted_root, trust_config) = (tb.trusted_root_path(), tb.trust_config_path());
        Fixture {
            now: testbed::now(),
            dir,
            tb,
            forge,
            artifact,
            trusted_root,
            trust_config,
        }
    }

    /// Trusts the `extra` certificate authorities
    /// ([`forge::certificate_authority`]) besides the testbed's.
    fn trust(&mut self, extra: &[Value]) {
        (self.trusted_root, self.trust_config) =
            forge::trust_files_with(self.tb.dir(), extra, self.dir.path()).unwrap();
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
        attest_provenance(&self.keyless_args(), &predicate, &self.artifact, &bundle);
        read_json(&bundle)
    }

    fn leaf_spec(&self) -> LeafSpec<'_> {
        LeafSpec::fulcio(IDENTITY, self.tb.issuer(), Some(&self.forge.ct), self.now)
    }

    /// The case `name`: a blob bundle by a leaf from the testbed's
    /// intermediate whose [`Fixture::leaf_spec`] `edit` changed.
    fn leaf_case<'a>(
        &'a self,
        name: &'static str,
        edit: impl FnOnce(&mut LeafSpec<'a>),
        code: i32,
        says: &'static [&'static str],
    ) -> Case {
        case(name, &self.forged_blob_bundle(&self.leaf(edit)), code, says)
    }

    /// A leaf from the testbed's intermediate, its [`Fixture::leaf_spec`]
    /// changed by `edit`.
    fn leaf<'a>(&'a self, edit: impl FnOnce(&mut LeafSpec<'a>)) -> Signer {
        let mut spec = self.leaf_spec();
        edit(&mut spec);
        forge::leaf(&self.forge.intermediate, &spec).unwrap()
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
            Command::Attestation | Command::Unbound => verify_attestation(bundle),
        };
        cmd.signer(IDENTITY, self.tb.issuer())
            .trusted_root(&self.trusted_root);
        match command {
            Command::Bundle => cmd.arg(&self.artifact),
            Command::Attestation => cmd.subject(&self.artifact),
            Command::Unbound => &mut cmd,
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
    /// `verify-attestation` without `--subject`.
    Unbound,
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

/// A copy of `v` with the value at `pointer` replaced by `new`.
fn with(v: &Value, pointer: &str, new: Value) -> Value {
    let mut copy = v.clone();
    set(&mut copy, pointer, new);
    copy
}

/// A copy of the DSSE bundle `v` whose envelope carries its one signature
/// twice.
fn signature_twice(v: &Value) -> Value {
    let signature = v["dsseEnvelope"]["signatures"][0].clone();
    with(
        v,
        "/dsseEnvelope/signatures",
        json!([signature.clone(), signature]),
    )
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
    let now = f.now;
    let mut cases = vec![case(
        "control_forged_bundle_verifies",
        &f.forged_blob_bundle(&f.good_signer()),
        0,
        &[],
    )];

    cases.push(f.leaf_case(
        "leaf_with_server_auth_eku_not_code_signing",
        |spec| spec.eku = vec![SERVER_AUTH.parse().unwrap()],
        1,
        &["certificate"],
    ));

    cases.push(f.leaf_case(
        "leaf_with_empty_eku",
        |spec| spec.eku = vec![],
        1,
        &["certificate"],
    ));

    cases.push(f.leaf_case(
        "leaf_expired_before_integrated_time",
        |spec| (spec.not_before, spec.not_after) = (now - 7200, now - 6600),
        1,
        &["certificate", "expired"],
    ));

    cases.push(f.leaf_case(
        "leaf_not_yet_valid_at_integrated_time",
        |spec| (spec.not_before, spec.not_after) = (now + 3600, now + 4200),
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
    let signer = f.leaf(|spec| (spec.not_before, spec.not_after) = (now - 3000, now - 2400));
    cases.push(case(
        "control_leaf_expired_now_but_valid_at_integrated_time_verifies",
        &f.forge.blob_bundle(&signer, ARTIFACT, now - 2700).unwrap(),
        0,
        &[],
    ));

    // A stranger's CA, and one with the same subject name as the testbed's
    // intermediate but another key.
    for (name, ca) in [
        ("leaf_issued_by_an_untrusted_ca", "stranger root"),
        (
            "leaf_issued_by_a_ca_named_like_the_trusted_intermediate",
            "toto testbed intermediate",
        ),
    ] {
        let ca = forge::other_root(ca, now).unwrap();
        let signer = forge::leaf(&ca, &f.leaf_spec()).unwrap();
        let says: &[&str] = &["certificate", "chain"];
        cases.push(case(name, &f.forged_blob_bundle(&signer), 1, says));
    }

    cases.push(f.leaf_case(
        "leaf_for_another_identity",
        |spec| spec.identity = "mallory@example.com".into(),
        1,
        &["identity"],
    ));
    cases.push(f.leaf_case(
        "leaf_from_another_oidc_issuer",
        |spec| spec.oidc_issuer = "https://accounts.example.com".into(),
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
    let through: [(&'static str, &str, bool, i32, &'static [&'static str]); 2] = [
        (
            "control_v01_chain_through_a_real_sub_ca_verifies",
            "sub ca",
            true,
            0,
            &[],
        ),
        (
            "chain_through_an_intermediate_that_is_not_a_ca",
            "not a ca",
            false,
            1,
            &["certificate", "chain"],
        ),
    ];
    for (name, cn, is_ca, code, says) in through {
        let ca = forge::intermediate(&f.forge.root, cn, now, is_ca).unwrap();
        let signer = forge::leaf(&ca, &f.leaf_spec()).unwrap();
        cases.push(case(name, &v01(&signer, &ca), code, says));
    }

    let rogue_ct = forge::other_ct_log().unwrap();
    cases.push(f.leaf_case(
        "sct_from_a_log_not_in_the_trusted_root",
        |spec| spec.sct = Some(&rogue_ct),
        1,
        &["signed certificate timestamp"],
    ));

    cases.push(f.leaf_case(
        "leaf_without_sct",
        |spec| spec.sct = None,
        1,
        &["signed certificate timestamp"],
    ));

    check(&f, cases);
}

/// sigstore-python's verdicts on the blob bundle `cases`, with the
/// fixture's trust config: it must accept the controls (expected exit 0)
/// and refuse the rest. Fails once, listing every disagreement.
fn check_python<'c>(f: &Fixture, py: &Path, cases: impl IntoIterator<Item = &'c Case>) {
    let mut wrong = Vec::new();
    for c in cases {
        let path = f.path(&format!("{}.py.sigstore.json", c.name));
        std::fs::write(&path, &c.bundle).unwrap();
        let mut sigstore = crate::common::sigstore(py);
        sigstore.arg("--trust-config").arg(&f.trust_config);
        let out = crate::common::sigstore_verify(sigstore, &path, IDENTITY, f.tb.issuer())
            .arg(&f.artifact)
            .output()
            .unwrap();
        let accepted = out.status.success();
        eprintln!(
            "sigstore-python on {}: exit {:?}: {}",
            c.name,
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        if accepted != (c.code == 0) {
            wrong.push(format!(
                "{}: sigstore-python {} it\n  stderr: {}",
                c.name,
                if accepted { "accepts" } else { "refuses" },
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "sigstore-python disagrees:\n{}",
        wrong.join("\n")
    );
}

/// Fulcio's certificate profile (issue #16): every CA certificate on the
/// path, the trust anchor included, must be valid at the signing time, and
/// the leaf's key usage must be digitalSignature. Each CA below is added to
/// the trusted root with a `validFor` that covers the signing time, so only
/// the certificate's own validity is wrong; `sigstore-verify` checked
/// neither (its anchors have no validity, webpki reads no key usage) and
/// toto accepted all six. sigstore-python 4.5.1 refuses the same bundles.
#[test]
fn certificates_outside_the_fulcio_profile_are_refused() {
    let mut f = Fixture::new();
    let now = f.now;
    let day = 86_400;
    let root = f.forge.root.clone();
    let ca = |issuer: Option<&testbed::pki::Authority>, name: &str, from: i64, until: i64| {
        forge::ca(issuer, name, from, until).unwrap()
    };
    let intermediate = ca(Some(&root), "extra intermediate", now - day, now + day);
    let expired = ca(
        Some(&root),
        "expired intermediate",
        now - 2 * day,
        now - day,
    );
    let future = ca(Some(&root), "future intermediate", now + day, now + 2 * day);
    let anchor = ca(None, "extra root", now - day, now + day);
    let expired_anchor = ca(None, "expired root", now - 2 * day, now - day);
    let future_anchor = ca(None, "future root", now + day, now + 2 * day);
    let extra: Vec<Value> = [
        vec![&intermediate, &root],
        vec![&expired, &root],
        vec![&future, &root],
        vec![&anchor],
        vec![&expired_anchor],
        vec![&future_anchor],
    ]
    .iter()
    .map(|chain| forge::certificate_authority(chain, now - day).unwrap())
    .collect();
    f.trust(&extra);

    let from = |issuer: &testbed::pki::Authority| {
        f.forged_blob_bundle(&forge::leaf(issuer, &f.leaf_spec()).unwrap())
    };
    let mut cases = vec![
        case(
            "control_leaf_from_an_added_intermediate_verifies",
            &from(&intermediate),
            0,
            &[],
        ),
        case(
            "control_leaf_from_an_added_root_verifies",
            &from(&anchor),
            0,
            &[],
        ),
        case(
            "leaf_from_an_intermediate_expired_at_signing_time",
            &from(&expired),
            1,
            &[
                "certificate chain",
                "CN=expired intermediate",
                "not valid at",
            ],
        ),
        case(
            "leaf_from_an_intermediate_not_yet_valid_at_signing_time",
            &from(&future),
            1,
            &[
                "certificate chain",
                "CN=future intermediate",
                "not valid at",
            ],
        ),
        case(
            "leaf_from_a_trust_anchor_expired_at_signing_time",
            &from(&expired_anchor),
            1,
            &["certificate chain", "CN=expired root", "not valid at"],
        ),
        case(
            "leaf_from_a_trust_anchor_not_yet_valid_at_signing_time",
            &from(&future_anchor),
            1,
            &["certificate chain", "CN=future root", "not valid at"],
        ),
    ];
    let usages: [(_, _, &'static [&'static str]); 2] = [
        (
            "leaf_whose_key_usage_lacks_digital_signature",
            forge::LeafKeyUsage::KeyEnciphermentOnly,
            &["signing certificate", "key usage lacks digitalSignature"],
        ),
        (
            "leaf_without_a_key_usage_extension",
            forge::LeafKeyUsage::Absent,
            &["signing certificate", "no key usage extension"],
        ),
    ];
    for (name, usage, says) in usages {
        cases.push(f.leaf_case(name, |spec| spec.key_usage = usage, 1, says));
    }
    if let Some(py) = crate::common::python("certificates_outside_the_fulcio_profile_are_refused") {
        check_python(&f, &py, &cases);
    }
    check(&f, cases);
}

/// A checkpoint's signature lines (issue #16) are read as Go's `note`
/// package reads them: at most 100 lines, and the first line with the log's
/// key hint decides. Every bundle here is genuine but for its checkpoint's
/// signature lines. toto verified every line carrying the log's hint until
/// one did, twice (fast and general path): 300 000 lines took 30 s, and a
/// bad first line was rescued by a good second one.
#[test]
fn checkpoint_signature_lines_are_read_as_go_note_reads_them() {
    let f = Fixture::new();
    let good = f.forged_blob_bundle(&f.good_signer());
    let pointer = format!("{ENTRY}/inclusionProof/checkpoint/envelope");
    let (note, lines) = forge::checkpoint_parts(get(&good, &pointer)).unwrap();
    let [log_line] = lines[..] else {
        panic!("one signature line expected: {lines:?}")
    };
    let log_line = log_line.to_owned();
    let hint = &B64
        .decode(log_line.trim_end().rsplit_once(' ').unwrap().1)
        .unwrap()[..4];
    let forged = forge::checkpoint_signature_line(note, hint, &forge::random_key());
    let witness = forge::checkpoint_signature_line(note, b"wit1", &forge::random_key());
    let with_lines = |lines: &[&str]| {
        with(
            &good,
            &pointer,
            json!(format!("{note}\n{}", lines.concat())),
        )
    };
    let limit = keyless::MAX_CHECKPOINT_SIGNATURES;
    let mut cases = vec![
        case(
            "control_unknown_hint_line_before_the_log_line_verifies",
            &with_lines(&[&witness, &log_line]),
            0,
            &[],
        ),
        case(
            "control_log_line_then_99_unknown_hint_lines_verifies",
            &with_lines(&[&[log_line.as_str()][..], &vec![witness.as_str(); limit - 1]].concat()),
            0,
            &[],
        ),
        case(
            "checkpoint_whose_first_log_hint_line_is_bad_and_second_good",
            &with_lines(&[&forged, &log_line]),
            1,
            &[
                "checkpoint's first signature line by the entry's log",
                "does not verify",
            ],
        ),
        case(
            "checkpoint_with_101_signature_lines",
            &with_lines(&[&[log_line.as_str()][..], &vec![witness.as_str(); limit]].concat()),
            1,
            &["checkpoint has more than 100 signature lines"],
        ),
    ];
    if let Some(py) =
        crate::common::python("checkpoint_signature_lines_are_read_as_go_note_reads_them")
    {
        // sigstore-python has no line bound (Go's `note` has): it accepts
        // the 101 lines, a deliberate difference.
        check_python(
            &f,
            &py,
            cases
                .iter()
                .filter(|c| !c.name.contains("101"))
                .collect::<Vec<_>>(),
        );
    }
    // 300 000 lines with the log's hint, the first genuine (13 MiB).
    let many = with_lines(&vec![log_line.as_str(); 300_000]);
    cases.push(case(
        "checkpoint_with_300000_log_hint_signature_lines",
        &many,
        1,
        &["checkpoint has more than 100 signature lines"],
    ));
    check(&f, cases);
}

/// A forged blob bundle and the log it came from (entry at index 3 of 6).
fn forged_with_log(f: &Fixture, signer: &Signer) -> (Value, testbed::tlog::Log) {
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
    let mut b = with(
        &good,
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

    let mut b = with(
        &good,
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
    let b = with(
        &good,
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
        &["checkpoint", "no signature line by the entry's log"],
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
    let b = with(
        &good,
        &format!("{ENTRY}/inclusionProof/checkpoint/envelope"),
        json!(format!("{note}\n\n{prefix} {}\n", B64.encode(forged))),
    );
    cases.push(case(
        "checkpoint_with_the_log_key_hint_signed_by_another_key",
        &b,
        1,
        &["checkpoint"],
    ));

    let b = with(
        &good,
        &format!("{ENTRY}/inclusionProof/checkpoint/envelope"),
        json!(forge::signed_checkpoint(rekor, tree_id, size, &other_root)),
    );
    cases.push(case(
        "checkpoint_root_differs_from_the_proof",
        &b,
        1,
        &["the inclusion proof's root hash is not its checkpoint's"],
    ));

    // SETs.
    let entry = good.pointer(ENTRY).unwrap().clone();
    let body = get(&entry, "/canonicalizedBody");
    let log_id = hex::encode(B64.decode(get(&entry, "/logId/keyId")).unwrap());
    let time: i64 = get(&entry, "/integratedTime").parse().unwrap();
    let index: usize = get(&entry, "/logIndex").parse().unwrap();
    let with_set = |set_b64: String| {
        with(
            &good,
            &format!("{ENTRY}/inclusionPromise/signedEntryTimestamp"),
            json!(set_b64),
        )
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
    let b = with(
        &good,
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

    // Two of something (issue #16): one bundle, one meaning.
    let mut b = good.clone();
    let entry = b.pointer(ENTRY).unwrap().clone();
    set(
        &mut b,
        "/verificationMaterial/tlogEntries",
        json!([entry.clone(), entry]),
    );
    cases.push(case(
        "two_log_entries_the_same_twice",
        &b,
        2,
        &["exactly one transparency log entry", "has 2"],
    ));
    set(&mut b, "/verificationMaterial/tlogEntries", json!([]));
    cases.push(case(
        "no_log_entry",
        &b,
        2,
        &["exactly one transparency log entry", "has 0"],
    ));
    let mut b = good.clone();
    b["verificationMaterial"]["publicKey"] = json!({"hint": "a key hint beside the certificate"});
    cases.push(case(
        "a_public_key_hint_beside_the_certificate",
        &b,
        2,
        &["exactly one of certificate, x509CertificateChain or publicKey"],
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
    let b = with(
        &att,
        "/dsseEnvelope/payload",
        json!(B64.encode(serde_json::to_vec(&statement).unwrap())),
    );
    cases.push(attestation(
        "dsse_payload_swapped_after_signing",
        &b,
        1,
        &["signature"],
    ));
    let b = with(&att, "/dsseEnvelope/payloadType", json!("application/json"));
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
    let b = with(
        &blob,
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
    let b = with(
        &blob,
        "/verificationMaterial/certificate/rawBytes",
        json!("%%% not base64 %%%"),
    );
    cases.push(case(
        "certificate_that_is_not_base64",
        &b,
        2,
        &["malformed bundle"],
    ));
    let b = with(&blob, "/messageSignature/signature", json!("not*base64!"));
    cases.push(case(
        "signature_that_is_not_base64",
        &b,
        2,
        &["malformed bundle"],
    ));
    let b = with(&blob, &format!("{ENTRY}/canonicalizedBody"), json!("@@@@"));
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
    let now = f.now;
    let signer = f.good_signer();
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
        .dsse_bundle(&signer, PAYLOAD_TYPE, &good_payload, None, now)
        .unwrap();
    let mut cases = vec![attestation(
        "control_forged_attestation_verifies",
        bytes(&good),
        0,
        &[],
    )];

    // Logged bodies that disagree with the bundle's envelope.
    let other_envelope = signer.envelope(PAYLOAD_TYPE, &evil_payload);
    let b = f
        .forge
        .dsse_bundle(
            &signer,
            PAYLOAD_TYPE,
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
    let mut resigned = signer.envelope(PAYLOAD_TYPE, &good_payload);
    resigned["signatures"] = other_envelope["signatures"].clone();
    let b = f
        .forge
        .dsse_bundle(&signer, PAYLOAD_TYPE, &good_payload, Some(&resigned), now)
        .unwrap();
    cases.push(attestation(
        "logged_dsse_body_with_another_signature",
        bytes(&b),
        1,
        &["log entry does not match the bundle"],
    ));

    // A bundle whose envelope is signed by the leaf but whose logged entry
    // and envelope carry the evil payload: the signature must fail.
    let evil = with(
        &good,
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

    // Two contents, two signatures (issue #16): a genuine attestation with
    // a message signature added, and an envelope with its one signature
    // twice (a threshold of one signer counted twice).
    let blob = f.signed_blob_bundle();
    for (name, bundle) in [
        (
            "a_message_signature_added_before_the_envelope",
            duplicate_first(&good, "messageSignature", &blob["messageSignature"]),
        ),
        (
            "a_message_signature_added_after_the_envelope",
            duplicate_last(&good, "messageSignature", &blob["messageSignature"]),
        ),
    ] {
        cases.push(attestation(
            name,
            bundle,
            2,
            &["exactly one of messageSignature or dsseEnvelope", "both"],
        ));
    }
    cases.push(attestation(
        "two_envelope_signatures_the_same_twice",
        bytes(&signature_twice(&good)),
        2,
        &["exactly one signature, found 2"],
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

/// A bundle whose Statement has no subject (the link of a step without
/// products) binds no artifact, and `sigstore-verify` cannot verify it:
/// toto verifies it alone ([`keyless::BundleVerifier::verify_attestation`]),
/// so each check gets a validly signed bundle that breaks exactly it, and
/// sigstore-python's `Verifier.verify_dsse` (no artifact either) must give
/// the same verdict on every one.
#[test]
fn hostile_bundles_of_statements_without_subjects_are_refused() {
    let f = Fixture::new();
    let now = f.now;
    let signer = f.good_signer();
    let statement = |step: &str| {
        serde_json::to_vec(&json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [],
            "predicateType": "https://in-toto.io/attestation/link/v0.3",
            "predicate": {"name": step, "command": [], "materials": [], "byproducts": {}, "environment": {}},
        }))
        .unwrap()
    };
    let (good_payload, evil_payload) = (statement("test"), statement("evil"));
    // `envelope` in the bundle, `logged` in the log entry's body.
    let bundle = |envelope: &Value, logged: &Value, kind: &str| {
        let body = forge::dsse_body(&logged.to_string(), &signer.leaf_pem().unwrap()).unwrap();
        let mut log = f.forge.log().unwrap();
        let entry = forge::logged(&mut log, body, now).unwrap();
        forge::bundle(
            signer.leaf_der(),
            &entry,
            kind,
            json!({ "dsseEnvelope": envelope }),
        )
        .unwrap()
    };
    let unbound = |name, bundle: &Value, code, says| Case {
        name,
        command: Command::Unbound,
        bundle: bytes(bundle),
        code,
        says,
    };
    let good_envelope = signer.envelope(PAYLOAD_TYPE, &good_payload);
    let good = bundle(&good_envelope, &good_envelope, "dsse");
    let mut cases = vec![unbound(
        "control_statement_without_subjects_verifies",
        &good,
        0,
        &[],
    )];

    let mut swapped = good_envelope.clone();
    swapped["payload"] = json!(B64.encode(&evil_payload));
    cases.push(unbound(
        "payload_swapped_after_signing_and_logged_so",
        &bundle(&swapped, &swapped, "dsse"),
        1,
        &["no subject", "signature does not verify"],
    ));
    let evil_envelope = signer.envelope(PAYLOAD_TYPE, &evil_payload);
    cases.push(unbound(
        "logged_body_for_another_payload",
        &bundle(&good_envelope, &evil_envelope, "dsse"),
        1,
        &["no subject", "body records another payload"],
    ));
    let mut resigned = good_envelope.clone();
    resigned["signatures"] = evil_envelope["signatures"].clone();
    cases.push(unbound(
        "logged_body_with_another_signature",
        &bundle(&good_envelope, &resigned, "dsse"),
        1,
        &["no subject", "body records another signature"],
    ));
    let mut typed = good_envelope.clone();
    typed["payloadType"] = json!("application/json");
    cases.push(unbound(
        "payload_type_swapped_after_signing_and_logged_so",
        &bundle(&typed, &typed, "dsse"),
        1,
        &[
            "no subject",
            "payload type is not application/vnd.in-toto+json",
        ],
    ));
    cases.push(unbound(
        "envelope_logged_as_a_hashedrekord_entry",
        &bundle(&good_envelope, &good_envelope, "hashedrekord"),
        1,
        &[
            "no subject",
            "not a hashedrekord or dsse 0.0.1 entry for the content",
        ],
    ));
    let mallory = f.leaf(|spec| spec.identity = "mallory@example.com".into());
    cases.push(unbound(
        "signed_by_another_identity",
        &f.forge
            .dsse_bundle(&mallory, PAYLOAD_TYPE, &good_payload, None, now)
            .unwrap(),
        1,
        &["no subject", "identity is not the policy's"],
    ));
    let unlogged = f.leaf(|spec| spec.sct = None);
    cases.push(unbound(
        "leaf_without_sct",
        &f.forge
            .dsse_bundle(&unlogged, PAYLOAD_TYPE, &good_payload, None, now)
            .unwrap(),
        1,
        &["no subject", "no readable embedded SCT"],
    ));
    let pointer = format!("{ENTRY}/inclusionPromise/signedEntryTimestamp");
    let b = with(
        &good,
        &pointer,
        json!(get(&f.forged_blob_bundle(&signer), &pointer)),
    );
    cases.push(unbound(
        "set_of_another_entry",
        &b,
        1,
        &["no subject", "signed entry timestamp (SET) does not verify"],
    ));
    let pointer = format!("{ENTRY}/inclusionProof/checkpoint/envelope");
    let (note, lines) = forge::checkpoint_parts(get(&good, &pointer)).unwrap();
    let hint = &B64
        .decode(lines[0].trim_end().rsplit_once(' ').unwrap().1)
        .unwrap()[..4];
    let forged = forge::checkpoint_signature_line(note, hint, &forge::random_key());
    let b = with(
        &good,
        &pointer,
        json!(format!("{note}\n{forged}{}", lines[0])),
    );
    cases.push(unbound(
        "checkpoint_whose_first_log_line_is_bad",
        &b,
        1,
        &["no subject", "first signature line by the log"],
    ));
    cases.push(unbound(
        "envelope_with_two_signatures",
        &signature_twice(&good),
        2,
        &["malformed bundle"],
    ));
    let text = String::from_utf8(good_payload.clone()).unwrap();
    let subjects = r#""subject":[{"name":"app","digest":{"sha256":"00"}}],"#;
    let twice = text.replacen(r#""subject":[]"#, &format!("{subjects}\"subject\":[]"), 1);
    assert_ne!(twice, text);
    let envelope = signer.envelope(PAYLOAD_TYPE, twice.as_bytes());
    let two_subject_keys = unbound(
        "statement_with_two_subject_keys_the_last_empty",
        &bundle(&envelope, &envelope, "dsse"),
        2,
        &["attestation statement", "duplicate"],
    );

    if let Some(py) =
        crate::common::python("hostile_bundles_of_statements_without_subjects_are_refused")
    {
        let trust = f.trust_config.display().to_string();
        let mut wrong = Vec::new();
        for c in &cases {
            let path = f.path(&format!("{}.py.sigstore.json", c.name));
            std::fs::write(&path, &c.bundle).unwrap();
            let path = path.display().to_string();
            let args = [
                "sigstore-verify-dsse",
                &trust,
                &path,
                IDENTITY,
                f.tb.issuer(),
            ];
            let out = crate::common::peer(&py, &args);
            if out.status.success() != (c.code == 0) {
                wrong.push(format!(
                    "{}: {}",
                    c.name,
                    String::from_utf8_lossy(&out.stdout)
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "sigstore-python disagrees:\n{}",
            wrong.join("\n")
        );
    }
    // sigstore-python's `verify_dsse` does not read the Statement: the
    // duplicate key is toto's to refuse.
    cases.push(two_subject_keys);
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

/// One rule for subject digests (lower-case hex of the algorithm's length,
/// as the attestation framework requires and sigstore-python enforces): a
/// validly signed attestation naming the artifact by upper-case hex is
/// malformed for `toto verify-attestation` and `toto verify-bundle` alike;
/// the same attestation in lower case verifies with both.
#[test]
fn an_upper_case_subject_digest_is_malformed_for_both_commands() {
    let f = Fixture::new();
    let signer = f.good_signer();
    let digest = hex::encode(Sha256::digest(ARTIFACT));
    let statement = |hex: &str| {
        serde_json::to_vec(&json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "app.tar.gz", "digest": {"sha256": hex}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"builder": {"id": "https://example.com/b"}},
        }))
        .unwrap()
    };
    let forged = |hex: &str| {
        bytes(
            &f.forge
                .dsse_bundle(&signer, PAYLOAD_TYPE, &statement(hex), None, testbed::now())
                .unwrap(),
        )
    };
    let mut cases = Vec::new();
    for command in [Command::Bundle, Command::Attestation] {
        cases.push(Case {
            name: "control_lower_case_subject_digest",
            command,
            bundle: forged(&digest),
            code: 0,
            says: &[],
        });
        cases.push(Case {
            name: "upper_case_subject_digest",
            command,
            bundle: forged(&digest.to_ascii_uppercase()),
            code: 2,
            says: &["sha256 digest", "is not lowercase hex"],
        });
    }
    check(&f, cases);
    // sigstore-python agrees.
    let Some(py) = python("an_upper_case_subject_digest_is_malformed_for_both_commands") else {
        return;
    };
    for (hex, verified) in [(digest.clone(), true), (digest.to_ascii_uppercase(), false)] {
        let bundle = f.path("peer.sigstore.json");
        std::fs::write(&bundle, forged(&hex)).unwrap();
        let out = python_verify(&py, &f.tb, &bundle, IDENTITY, &f.artifact);
        if verified {
            expect_code(&out, 0, "sigstore-python: a lower-case subject digest");
        } else {
            expect_refused(&out, "sigstore-python: an upper-case subject digest");
        }
    }
}
