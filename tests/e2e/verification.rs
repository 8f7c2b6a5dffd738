//! `toto verify` on the reference's demo supply chains.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::common::*;

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn verify_copy(name: &str, layout: &str, args: &[&str]) -> Output {
    let dir = tempdir();
    copy_dir(&vector(name), dir.path());
    let mut cmd = toto();
    cmd.current_dir(dir.path())
        .args(["verify", "--layout", layout, "--layout-key", "alice.pub"])
        .args(args);
    if let Some(py) = std::env::var_os("TOTO_PYTHON") {
        // The upstream demo's inspection runs `python`.
        let bin = python_bin_dir(Path::new(&py));
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin];
        paths.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(paths).unwrap());
    }
    cmd.output().unwrap()
}

#[test]
fn demo_supply_chains_verify() {
    for name in ["demo_metablock_good", "demo_dsse_good"] {
        expect_code(&verify_copy(name, "root.layout", &[]), 0, name);
    }
    for name in ["upstream_demo_files", "upstream_demo_dsse_files"] {
        expect_code(&verify_copy(name, "demo.layout", &[]), 0, name);
    }
}

#[test]
fn tampered_demo_fails_naming_rule_artifact_and_link() {
    for name in ["demo_metablock_tampered", "demo_dsse_tampered"] {
        let out = verify_copy(name, "root.layout", &[]);
        expect_code(&out, 1, name);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("DISALLOW *"), "{stderr}");
        assert!(stderr.contains("demo-project/foo.py"), "{stderr}");
        assert!(stderr.contains("package.be06db20.link"), "{stderr}");
        let json = verify_copy(name, "root.layout", &["--format", "json"]);
        expect_code(&json, 1, name);
        let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(report["verified"], false);
        assert_eq!(report["failure"]["kind"], "rule");
        assert_eq!(report["failure"]["rule"], "DISALLOW *");
        assert_eq!(report["failure"]["artifact"], "demo-project/foo.py");
        assert_eq!(report["failure"]["item"], "package");
    }
}

#[test]
fn wrong_layout_key_and_missing_links_fail() {
    let dir = tempdir();
    copy_dir(&vector("demo_metablock_good"), dir.path());
    let out = toto()
        .current_dir(dir.path())
        .args(["verify", "-l", "root.layout", "-k", "bob.pub"])
        .output()
        .unwrap();
    expect_code(&out, 1, "layout signed by alice, checked with bob");
    fs::remove_file(dir.path().join("package.be06db20.link")).unwrap();
    let out = toto()
        .current_dir(dir.path())
        .args(["verify", "-l", "root.layout", "-k", "alice.pub"])
        .output()
        .unwrap();
    expect_code(&out, 1, "missing link");
    assert!(String::from_utf8_lossy(&out.stderr).contains("package"));
    let out = toto()
        .current_dir(dir.path())
        .args(["verify", "-l", "no-such.layout", "-k", "alice.pub"])
        .output()
        .unwrap();
    expect_code(&out, 2, "missing layout file");
}
