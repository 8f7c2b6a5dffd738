//! `record stop` signs only what `record start` recorded (issue #17): the
//! start is kept in a private state that names the step, the signer and the
//! unfinished link's digest, and the link directory is not trusted.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;
use crate::evidence::{is_root, signed_part, Bench, ED25519, FULCIO};

/// The key id prefix of `keys/p256.pem`.
const P256: &str = "a39bd120";

/// The one state file `record start` left on the bench.
fn state_file(b: &Bench) -> PathBuf {
    let dir = b.state().join("toto/record");
    let files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no record state in {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

/// `payload` as a Metablock signed by `keys/ed25519.pem`: what the holder of
/// the key (or anyone who kept a document it signed) can put in the link
/// directory.
fn signed_by_the_key(payload: Value) -> Vec<u8> {
    let pem = fs::read(vector("keys/ed25519.pem")).unwrap();
    let key = dsse::PrivateKey::from_pem(&pem, None, None).unwrap();
    let mut document = attest::SignedDocument::new(payload, attest::Encoding::Metablock).unwrap();
    document.add_signature(&key).unwrap();
    document.to_json()
}

/// Starts step `build` (materials `src`) with the Ed25519 key; returns the
/// unfinished link's path and its `signed` part.
fn started(b: &Bench) -> (PathBuf, Value) {
    expect_code(
        &b.record("start", "build", "ed25519", &["-m", "src"]),
        0,
        "record start",
    );
    let unfinished = b.path(&format!(".build.{ED25519}.link-unfinished"));
    let signed = signed_part(&unfinished);
    (unfinished, signed)
}

/// `record stop` of `build` refuses (exit `code`, saying `needle`) and
/// writes no link.
#[track_caller]
fn stop_refused(b: &Bench, code: i32, needle: &str, what: &str) {
    let out = b.record("stop", "build", "ed25519", &["-p", "src"]);
    expect_error(&out, code, needle, what);
    let links: Vec<String> = b
        .files()
        .into_iter()
        .filter(|n| n.ends_with(".link"))
        .collect();
    assert!(links.is_empty(), "{what}: wrote {links:?}");
}

#[test]
fn record_stop_refuses_an_unfinished_link_re_signed_for_another_step() {
    let b = Bench::new();
    let (unfinished, mut signed) = started(&b);
    signed["name"] = "deploy".into();
    fs::write(&unfinished, signed_by_the_key(signed)).unwrap();
    stop_refused(
        &b,
        1,
        "step name \"deploy\" instead of \"build\"",
        "an unfinished link re-signed under another step name",
    );
}

#[test]
fn record_stop_refuses_forged_materials() {
    let b = Bench::new();
    let (unfinished, mut signed) = started(&b);
    signed["materials"]["src/backdoor.c"] = serde_json::json!({"sha256": "ab".repeat(32)});
    fs::write(&unfinished, signed_by_the_key(signed)).unwrap();
    stop_refused(
        &b,
        1,
        "materials differ",
        "an unfinished link re-signed with forged materials",
    );
}

#[test]
fn record_stop_refuses_an_old_signed_link_of_another_step() {
    let b = Bench::new();
    // An old link the key signed for another step, with a command and streams.
    let out = b.run(
        "deploy",
        &["--format", "metablock", "-m", "src", "--", "true"],
    );
    expect_code(&out, 0, "an old link of the step deploy");
    let old = b.path(&format!("deploy.{ED25519}.link"));
    let old_bytes = fs::read(&old).unwrap();
    fs::remove_file(&old).unwrap();
    let (unfinished, _) = started(&b);
    fs::write(&unfinished, &old_bytes).unwrap();
    stop_refused(
        &b,
        1,
        "step name \"deploy\" instead of \"build\"",
        "an old link of another step swapped in",
    );
    // Without a start, a planted link is not a recording in progress.
    let b = Bench::new();
    fs::write(
        b.path(&format!(".build.{ED25519}.link-unfinished")),
        &old_bytes,
    )
    .unwrap();
    stop_refused(
        &b,
        2,
        "no recording of step build was started",
        "a planted unfinished link without a start",
    );
}

#[test]
fn record_stop_with_another_signer_than_start_is_refused() {
    let b = Bench::new();
    started(&b);
    let out = b.record("stop", "build", "p256", &["-p", "src"]);
    expect_error(
        &out,
        2,
        &format!("started with key {ED25519}"),
        "stop with another key",
    );
    assert!(!b.path(&format!("build.{P256}.link")).exists());
    // The honest stop still works, and the state is gone afterwards.
    let out = b.record("stop", "build", "ed25519", &["-p", "src"]);
    expect_code(&out, 0, "the honest stop");
    let bytes = fs::read(b.path(&format!("build.{ED25519}.link"))).unwrap();
    let doc = attest::SignedDocument::from_json(&bytes, &dsse::Limits::default()).unwrap();
    let link = attest::Link::from_payload(doc.payload().clone()).unwrap();
    assert_eq!(link.name, "build");
    assert!(link.materials.contains_key("src/main.c"));
    assert!(link.products.contains_key("src/main.c"));
    assert_eq!(
        fs::read_dir(b.state().join("toto/record")).unwrap().count(),
        0,
        "the state is removed by stop"
    );
}

#[cfg(unix)]
#[test]
fn record_state_writable_by_others_symlinked_or_foreign_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    // Writable by group and others.
    let b = Bench::new();
    started(&b);
    let state = state_file(&b);
    assert_eq!(
        fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600,
        "the state file is private"
    );
    assert_eq!(
        fs::metadata(b.state().join("toto"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700,
        "the state directory is private"
    );
    let writable = |b: &Bench, path: &Path, mode: u32, what: &str| {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
        stop_refused(b, 2, "writable by group or others", what);
    };
    writable(&b, &state, 0o666, "a state file mode 0666");
    // The state directory writable by others.
    let b = Bench::new();
    started(&b);
    let dir = b.state().join("toto/record");
    writable(&b, &dir, 0o777, "a state directory mode 0777");
    // A symbolic link in place of the state file.
    let b = Bench::new();
    started(&b);
    let state = state_file(&b);
    let elsewhere = b.dir.path().join("planted-state");
    fs::copy(&state, &elsewhere).unwrap();
    fs::remove_file(&state).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &state).unwrap();
    stop_refused(&b, 2, "is a symbolic link", "a symlinked state file");
    // A state file of another user (only root can make one here).
    if is_root() {
        let b = Bench::new();
        started(&b);
        let state = state_file(&b);
        std::os::unix::fs::chown(&state, Some(54321), None).unwrap();
        stop_refused(
            &b,
            2,
            "belongs to uid 54321",
            "a state file of another user",
        );
    }
}

#[test]
fn record_stop_keyless_refuses_an_edited_unsigned_link_before_fulcio_and_rekor() {
    let b = Bench::new();
    let tb = start_testbed(b.dir.path());
    let alice = token(&tb, "alice@example.com");
    let record = |phase: &str, token: &str, extra: &[&str]| {
        b.toto()
            .args(["record", phase, "-n", "build"])
            .args(keyless(&tb, token))
            .args(extra)
            .output()
            .unwrap()
    };
    expect_code(
        &record("start", &alice, &["-m", "src"]),
        0,
        "record start --keyless",
    );
    let unfinished = b.path(".build.keyless.link-unfinished");
    let original = fs::read(&unfinished).unwrap();
    let mut doc: Value = serde_json::from_slice(&original).unwrap();
    doc["signed"]["name"] = "deploy".into();
    doc["signed"]["command"] = serde_json::json!(["make", "release"]);
    fs::write(&unfinished, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = record("stop", &alice, &["-p", "src"]);
    expect_error(
        &out,
        1,
        "step name \"deploy\" instead of \"build\", command differs",
        "an edited unsigned unfinished link",
    );
    // Another identity than the one that started.
    fs::write(&unfinished, &original).unwrap();
    let mallory = token(&tb, "mallory@example.com");
    let out = record("stop", &mallory, &["-p", "src"]);
    expect_error(
        &out,
        2,
        "started as alice@example.com",
        "stop by another identity",
    );
    assert_eq!(tb.requests(FULCIO), 0, "nothing was sent to Fulcio");
    assert_eq!(tb.log_size(), 0, "nothing was logged in Rekor");
    assert!(
        !b.files().iter().any(|n| n.ends_with(".sigstore.json")),
        "{:?}",
        b.files()
    );
    // The honest stop signs.
    let out = record("stop", &alice, &["-p", "src"]);
    expect_code(&out, 0, "the honest keyless stop");
    assert_eq!(tb.log_size(), 1);
}
