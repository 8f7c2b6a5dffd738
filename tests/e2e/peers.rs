//! Metadata other in-toto implementations wrote (`testdata/peers/`), with
//! the verdicts their own tests state.

use std::path::Path;

use crate::common::{copy_files, expect_code, expect_error, repo_path, tempdir, toto_in};

/// in-toto-golang's `test/data`, copied into a fresh directory (the demo
/// layout's inspection writes there).
fn golang_copy() -> tempfile::TempDir {
    let dir = tempdir();
    copy_files(&repo_path("testdata/peers/in-toto-golang"), dir.path());
    dir
}

fn verify(dir: &Path, layout: &str, key: &str) -> std::process::Output {
    toto_in(dir, &["verify", "-l", layout, "-k", key, "--link-dir", "."])
}

/// `verifylib_test.go` `TestInTotoVerifyPass`: the DSSE layout and the
/// DSSE-only layout, signed under alice's legacy key id `70ca5750…`, verify.
#[test]
fn in_toto_golang_layouts_signed_under_legacy_key_ids_verify() {
    let dir = golang_copy();
    for layout in ["demo.dsse.layout", "dsse-only.root.layout"] {
        let out = verify(dir.path(), layout, "alice.pub");
        expect_code(&out, 0, layout);
    }
}

/// The same layouts with another key, or with one byte of the signed
/// payload changed, fail (exit 1).
#[test]
fn in_toto_golang_layouts_fail_with_the_wrong_key_or_a_changed_payload() {
    let dir = golang_copy();
    let out = verify(dir.path(), "demo.dsse.layout", "dan.pub");
    expect_error(&out, 1, "not signed by key", "dan did not sign the layout");

    let path = dir.path().join("dsse-only.root.layout");
    let mut env: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let payload = env["payload"].as_str().unwrap().to_owned();
    // "eyJfdHlwZSI6ICJsYXlvdXQi" is `{"_type": "layout"`: spell it "Layout".
    let tampered = payload.replacen("ICJsYXlvdXQi", "ICJMYXlvdXQi", 1);
    assert_ne!(tampered, payload);
    env["payload"] = serde_json::Value::String(tampered);
    std::fs::write(&path, serde_json::to_vec(&env).unwrap()).unwrap();
    let out = verify(dir.path(), "dsse-only.root.layout", "alice.pub");
    expect_code(&out, 1, "tampered layout payload");
}

/// `TestInTotoVerifyPass` "metablock layout" verifies in in-toto-golang
/// through an ITE-7 X.509 functionary, which toto does not read yet: it
/// says which field it did not expect (exit 2), never "verified".
#[test]
fn in_toto_golang_ite7_layout_is_named_as_unsupported() {
    let dir = golang_copy();
    let out = verify(dir.path(), "demo.layout", "alice.pub");
    expect_error(&out, 2, "intermediatecas", "ITE-7 layout");
}
