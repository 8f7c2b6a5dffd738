//! Hostile files where toto reads a document, a key or an artifact: a FIFO
//! (which would hang a plain open), `/dev/zero` behind a symbolic link
//! (which would be read without end), a directory. Every read goes through
//! the one bounded reader (`dsse::file`), which checks the type on the open
//! handle and refuses quickly with exit 2, naming the file and what it is.
//! Each command runs under a deadline: a regression fails, it does not hang.

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Longest a refusal may take before the command is killed.
const BOUND: Duration = Duration::from_secs(20);

/// Runs `cmd` (stdin closed), killing it after [`BOUND`]: a hang fails
/// the test instead of stalling the suite.
pub fn output_within(cmd: &mut Command, what: &str) -> Output {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Output {
                status,
                stdout: stdout.join().unwrap(),
                stderr: stderr.join().unwrap(),
            };
        }
        if start.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {BOUND:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Makes `path` a FIFO (nobody ever writes to it).
pub fn mkfifo(path: &Path) -> PathBuf {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
    path.to_owned()
}

/// Makes `path` a symbolic link to `/dev/zero`.
fn dev_zero(path: &Path) -> PathBuf {
    std::os::unix::fs::symlink("/dev/zero", path).unwrap();
    path.to_owned()
}

/// Runs `cmd` under the deadline and expects exit 2 with `needle` on stderr.
#[track_caller]
fn refused(cmd: &mut Command, needle: &str, what: &str) {
    let out = output_within(cmd, what);
    expect_error(&out, 2, needle, what);
}

/// The reference's demo chain copied into a fresh directory.
fn demo() -> tempfile::TempDir {
    demo_copy()
}

/// `toto verify` of the demo chain in `dir`.
fn verify_demo(dir: &Path) -> Command {
    let mut cmd = toto();
    cmd.current_dir(dir).args([
        "verify",
        "--layout",
        "root.layout",
        "--layout-key",
        "alice.pub",
    ]);
    cmd
}

/// The demo chain with its file `name` replaced by what `make` puts there.
fn demo_with(name: &str, make: Make) -> tempfile::TempDir {
    let dir = demo();
    let path = dir.path().join(name);
    std::fs::remove_file(&path).unwrap();
    make(&path);
    dir
}

#[test]
fn demo_chain_verifies_as_copied() {
    let dir = demo();
    let out = output_within(&mut verify_demo(dir.path()), "the demo chain");
    expect_code(&out, 0, "the demo chain");
}

/// `toto verify` of the demo chain with its file `name` replaced by what
/// `make` puts there: refused, exit 2, with `needle`.
fn verify_refuses(name: &str, make: Make, needle: &str) {
    let dir = demo_with(name, make);
    refused(&mut verify_demo(dir.path()), needle, name);
}

fn directory(path: &Path) -> PathBuf {
    std::fs::create_dir(path).unwrap();
    path.to_owned()
}

#[test]
fn verify_refuses_a_link_that_is_a_symlink_to_dev_zero() {
    verify_refuses(
        "clone.210dcc50.link",
        dev_zero,
        "clone.210dcc50.link is a character device, not a regular file",
    );
}

#[test]
fn verify_refuses_a_link_that_is_a_fifo() {
    verify_refuses(
        "clone.210dcc50.link",
        mkfifo,
        "clone.210dcc50.link is a FIFO, not a regular file",
    );
}

#[test]
fn verify_refuses_a_link_that_is_a_directory() {
    verify_refuses(
        "clone.210dcc50.link",
        directory,
        "clone.210dcc50.link is a directory, not a regular file",
    );
}

#[test]
fn verify_refuses_a_layout_that_is_a_fifo() {
    verify_refuses(
        "root.layout",
        mkfifo,
        "layout root.layout is a FIFO, not a regular file",
    );
}

#[test]
fn verify_refuses_a_layout_key_that_is_a_fifo() {
    verify_refuses(
        "alice.pub",
        mkfifo,
        "key file alice.pub is a FIFO, not a regular file",
    );
}

#[test]
fn a_layout_over_the_document_limit_names_the_flag_that_raises_it() {
    let dir = demo();
    let layout = dir.path().join("root.layout");
    let mut bytes = std::fs::read(&layout).unwrap();
    bytes.resize((1 << 20) + 1, b' ');
    std::fs::write(&layout, bytes).unwrap();
    refused(
        verify_demo(dir.path()).args(["--max-document-mib", "1"]),
        "layout root.layout is over the limit of 1048576 bytes; raise it with --max-document-mib",
        "a layout over 1 MiB",
    );
}

/// `toto verify-bundle --bundle BUNDLE` with an identity policy and the
/// conformance suite's trusted root, for `artifact`.
fn verify_bundle_cmd(bundle: &Path, artifact: &Path) -> Command {
    let mut cmd = verify_bundle(bundle);
    cmd.signer("a@example.com", "https://issuer.example")
        .trusted_root(
            shared()
                .join("vectors/sigstore-conformance/trusted_roots/production_trusted_root.json"),
        )
        .arg(artifact);
    cmd
}

/// Puts a hostile file at a path.
type Make = fn(&Path) -> PathBuf;

/// What the tests put where a file should be, and what toto calls it.
const HOSTILE: [(Make, &str); 2] = [(dev_zero, "a character device"), (mkfifo, "a FIFO")];

/// Runs `test` once per hostile kind, in a new directory holding that
/// hostile file at `name`: `test(dir, file, kind)`.
fn each_hostile(name: &str, test: impl Fn(&Path, PathBuf, &str)) {
    for (make, kind) in HOSTILE {
        let dir = tempdir();
        let file = make(&dir.path().join(name));
        test(dir.path(), file, kind);
    }
}

#[test]
fn verify_bundle_refuses_a_bundle_that_is_dev_zero_or_a_fifo() {
    each_hostile("a.txt.sigstore.json", |dir, bundle, kind| {
        let artifact = write(&dir.join("a.txt"), "a\n");
        let needle = format!("a.txt.sigstore.json is {kind}, not a regular file");
        both_refused(&bundle, &artifact, [&needle, &needle], "");
    });
}

/// `verify-bundle` and `verify-attestation` of `bundle` for `artifact`
/// are both refused, saying `needles[0]` and `needles[1]`; `what` names
/// the file that is not regular.
#[track_caller]
fn both_refused(bundle: &Path, artifact: &Path, needles: [&str; 2], what: &str) {
    refused(
        &mut verify_bundle_cmd(bundle, artifact),
        needles[0],
        "verify-bundle",
    );
    refused(
        verify_attestation(bundle)
            .signer("a@example.com", "https://issuer.example")
            .subject(artifact),
        needles[1],
        &format!("verify-attestation{what}"),
    );
}

#[test]
fn verify_bundle_refuses_a_key_that_is_a_fifo() {
    let dir = tempdir();
    let artifact = write(&dir.path().join("a.txt"), "a\n");
    let bundle = write(&dir.path().join("a.txt.sigstore.json"), "{}");
    let key = mkfifo(&dir.path().join("cosign.pub"));
    refused(
        verify_bundle(&bundle).arg("--key").arg(&key).arg(&artifact),
        "cosign.pub is a FIFO, not a regular file",
        "a managed key that is a FIFO",
    );
}

#[test]
fn verify_bundle_and_attestation_refuse_an_artifact_that_is_a_fifo_or_dev_zero() {
    each_hostile("artifact", |dir, artifact, kind| {
        let bundle = write(&dir.join("b.sigstore.json"), "{}");
        let is = format!("{} is {kind}, not a regular file", artifact.display());
        let needles = [&format!("artifact {is}"), &format!("subject {is}")];
        both_refused(
            &bundle,
            &artifact,
            needles.map(String::as_str),
            " --subject",
        );
    });
}

#[test]
fn signing_refuses_a_private_key_that_is_a_fifo() {
    let dir = tempdir();
    let payload = write(&dir.path().join("payload"), "hello");
    let key = mkfifo(&dir.path().join("key.pem"));
    refused(
        toto()
            .args(["envelope", "sign", "--payload-type", "text/plain", "--key"])
            .arg(&key)
            .arg(&payload),
        "key.pem is a FIFO, not a regular file",
        "a private key that is a FIFO",
    );
}

/// A fresh Ed25519 key pair `key`(.pub) in `dir`.
fn key_pair(dir: &Path) -> PathBuf {
    let key = dir.join("key");
    generate_key(&key, &[]);
    key
}

/// `toto attest --key KEY --predicate-type T` over `subject`.
fn attest(key: &Path, subject: &Path) -> Command {
    let mut cmd = toto();
    cmd.args([
        "attest",
        "--predicate-type",
        "https://example.com/t/v1",
        "--key",
    ])
    .arg(key)
    .arg("--subject")
    .arg(subject);
    cmd
}

#[test]
fn attest_refuses_a_subject_that_is_a_fifo_or_a_device() {
    let dir = tempdir();
    let key = key_pair(dir.path());
    let fifo = mkfifo(&dir.path().join("fifo"));
    refused(
        &mut attest(&key, &fifo),
        "fifo is a FIFO, not a regular file",
        "attest --subject FIFO",
    );
    refused(
        &mut attest(&key, Path::new("/dev/zero")),
        "/dev/zero is a character device, not a regular file",
        "attest --subject /dev/zero",
    );
}

#[test]
fn attest_append_refuses_an_output_that_is_a_fifo_or_dev_zero() {
    let dir = tempdir();
    let key = key_pair(dir.path());
    let subject = write(&dir.path().join("app.bin"), "app");
    let fifo = mkfifo(&dir.path().join("out.intoto.jsonl"));
    refused(
        attest(&key, &subject).arg("--append").arg("-o").arg(&fifo),
        "out.intoto.jsonl is a FIFO, not a regular file",
        "attest --append onto a FIFO",
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "the FIFO was replaced"
    );
    let zero = dev_zero(&dir.path().join("zero.intoto.jsonl"));
    refused(
        attest(&key, &subject).arg("--append").arg("-o").arg(&zero),
        "zero.intoto.jsonl is a character device, not a regular file",
        "attest --append onto /dev/zero",
    );
}

#[test]
fn mock_skips_a_fifo_in_the_recorded_tree_without_hanging() {
    let dir = tempdir();
    write(&dir.path().join("source.c"), "int main;\n");
    mkfifo(&dir.path().join("pipe"));
    let out = output_within(
        toto()
            .current_dir(dir.path())
            .args(["mock", "--name", "build", "--", "true"]),
        "toto mock over a tree with a FIFO",
    );
    expect_error(&out, 0, "pipe is not a regular file", "toto mock");
    let link = std::fs::read_to_string(dir.path().join("build.link")).unwrap();
    assert!(link.contains("source.c"), "{link}");
    assert!(!link.contains("\"pipe\""), "{link}");
}

// Artifacts are hashed streaming (SHA-256, once) and handed to the verifier
// as `keyless::Artifact::File`: the digest serves the common bundle; one that
// needs another digest streams the file again; a scheme that signs the raw
// bytes (Ed25519) reads them, bounded. Each path is exercised here with a
// validly signed bundle from the testbed's forge.

const IDENTITY: &str = "alice@example.com";

/// A testbed, its forge, and an artifact and another file in `dir`.
struct Forged {
    dir: tempfile::TempDir,
    tb: testbed::Testbed,
    forge: testkit::forge::Forge,
    artifact: PathBuf,
    other: PathBuf,
}

impl Forged {
    fn new() -> Forged {
        let (dir, tb) = tempdir_testbed();
        let forge = testkit::forge::Forge::open(tb.dir()).unwrap();
        let artifact = write(&dir.path().join("app.tar.gz"), "release bytes\n");
        let other = write(&dir.path().join("other.tar.gz"), "other bytes\n");
        Forged {
            dir,
            tb,
            forge,
            artifact,
            other,
        }
    }

    /// Writes `bundle` as `name` in the directory.
    fn save(&self, name: &str, bundle: &serde_json::Value) -> PathBuf {
        write(&self.dir.path().join(name), &bundle.to_string())
    }

    /// A DSSE attestation bundle by a Fulcio-like leaf whose Statement names
    /// the artifact by SHA-512 only (as npm provenance does).
    fn sha512_attestation(&self) -> PathBuf {
        use sha2::Digest as _;
        let signer = testkit::forge::leaf(
            &self.forge.intermediate,
            &testkit::forge::LeafSpec::fulcio(
                IDENTITY,
                self.tb.issuer(),
                Some(&self.forge.ct),
                testbed::now(),
            ),
        )
        .unwrap();
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "app.tar.gz", "digest": {
                "sha512": hex::encode(sha2::Sha512::digest(std::fs::read(&self.artifact).unwrap())),
            }}],
            "predicateType": "https://example.com/t/v1",
            "predicate": {},
        });
        let bundle = self
            .forge
            .dsse_bundle(
                &signer,
                "application/vnd.in-toto+json",
                statement.to_string().as_bytes(),
                None,
                testbed::now(),
            )
            .unwrap();
        self.save("app.sha512.sigstore.json", &bundle)
    }

    /// A managed-key message-signature bundle over the artifact by a fresh
    /// Ed25519 key (a scheme that signs the raw bytes); returns the bundle
    /// and the key's PEM file.
    fn ed25519_bundle(&self) -> (PathBuf, PathBuf) {
        use sha2::Digest as _;
        let key = dsse::PrivateKey::generate(dsse::KeyKind::Ed25519).unwrap();
        let pem = key.public_key().to_pem().unwrap();
        let blob = std::fs::read(&self.artifact).unwrap();
        let signature = key.sign_bytes(&blob).unwrap();
        let body = testkit::forge::hashedrekord_body(
            &sha2::Sha256::digest(&blob).into(),
            &signature,
            &pem,
        );
        let mut log = self.forge.log().unwrap();
        let entry = testkit::forge::logged(&mut log, body, testbed::now()).unwrap();
        let mut bundle = testkit::forge::bundle(
            b"",
            &entry,
            "hashedrekord",
            testkit::forge::message_signature(&blob, &signature),
        )
        .unwrap();
        let material = bundle["verificationMaterial"].as_object_mut().unwrap();
        material.remove("certificate");
        material.insert("publicKey".into(), serde_json::json!({"hint": "ed25519"}));
        let key_file = write(&self.dir.path().join("ed25519.pub"), &pem);
        (self.save("app.ed25519.sigstore.json", &bundle), key_file)
    }
}

#[test]
fn a_subject_named_only_by_sha512_binds_by_streaming_the_file_again() {
    let f = Forged::new();
    let bundle = f.sha512_attestation();
    let attestation = |subject: &Path| {
        let mut cmd = verify_attestation(&bundle);
        cmd.testbed_signer(&f.tb, IDENTITY).subject(subject);
        output_within(&mut cmd, "verify-attestation")
    };
    expect_code(&attestation(&f.artifact), 0, "the SHA-512 subject");
    expect_error(
        &attestation(&f.other),
        1,
        "other.tar.gz is not a subject of the attestation",
        "another file",
    );
    let blob = |file: &Path| {
        let mut cmd = verify_bundle(&bundle);
        cmd.testbed_signer(&f.tb, IDENTITY).arg(file);
        output_within(&mut cmd, "verify-bundle")
    };
    expect_code(
        &blob(&f.artifact),
        0,
        "verify-bundle of the SHA-512 subject",
    );
    expect_error(
        &blob(&f.other),
        1,
        "does not match any subject",
        "verify-bundle of another file",
    );
}

#[test]
fn an_ed25519_message_signature_is_verified_over_the_bytes() {
    let f = Forged::new();
    let (bundle, key) = f.ed25519_bundle();
    let run = |file: &Path| {
        output_within(
            verify_bundle(&bundle)
                .arg("--key")
                .arg(&key)
                .arg("--trusted-root")
                .arg(f.tb.trusted_root_path())
                .arg(file),
            "verify-bundle --key ED25519",
        )
    };
    expect_code(&run(&f.artifact), 0, "the Ed25519-signed artifact");
    expect_code(&run(&f.other), 1, "another file");
}

#[test]
fn an_artifact_that_changed_after_it_was_hashed_is_refused() {
    let f = Forged::new();
    let bundle = std::fs::read(f.sha512_attestation()).unwrap();
    let root =
        keyless::TrustRoot::from_json(&std::fs::read_to_string(f.tb.trusted_root_path()).unwrap())
            .unwrap();
    let verifier = keyless::BundleVerifier::new(&root).unwrap();
    let policy = keyless::Policy::Identity {
        identity: IDENTITY.into(),
        issuer: f.tb.issuer().into(),
    };
    let file = |sha256| keyless::Artifact::File {
        path: &f.artifact,
        sha256,
    };
    use sha2::Digest as _;
    let hashed: [u8; 32] = sha2::Sha256::digest(std::fs::read(&f.artifact).unwrap()).into();
    verifier.verify(&bundle, file(hashed), &policy).unwrap();
    // The SHA-256 the caller hashed is not what the file holds now.
    match verifier.verify(&bundle, file([0; 32]), &policy) {
        Err(keyless::Error::Verification { reason }) => {
            assert!(reason.contains("changed while it was verified"), "{reason}");
        }
        other => panic!("a changed artifact verified: {other:?}"),
    }
}

#[test]
fn run_no_follow_symlinks_does_not_record_a_link_to_a_file_outside_the_tree() {
    let dir = tempdir();
    let outside = tempdir();
    let secret = write(&outside.path().join("id_ed25519"), "secret key\n");
    let key = key_pair(outside.path());
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    write(&tree.join("source.c"), "int main;\n");
    std::os::unix::fs::symlink(&secret, tree.join("innocent.txt")).unwrap();
    let run = |follow: &[&str]| {
        let out = output_within(
            toto()
                .current_dir(dir.path())
                .args(["run", "--step-name", "build", "-m", "tree", "--key"])
                .arg(&key)
                .args(follow)
                .args(["--", "true"]),
            "toto run",
        );
        expect_code(&out, 0, "toto run");
        let link = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "link"))
            .unwrap();
        let envelope: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&link).unwrap()).unwrap();
        let payload = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            envelope["payload"].as_str().unwrap(),
        )
        .unwrap();
        let text = String::from_utf8(payload).unwrap();
        std::fs::remove_file(link).unwrap();
        (text, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (followed, _) = run(&[]);
    assert!(followed.contains("tree/innocent.txt"), "{followed}");
    let (link, stderr) = run(&["--no-follow-symlinks"]);
    assert!(link.contains("tree/source.c"), "{link}");
    assert!(!link.contains("innocent.txt"), "{link}");
    assert!(
        stderr.contains("innocent.txt is a symbolic link and following links is off"),
        "{stderr}"
    );
}
