//! toto under the reference's command names (`toto install-compat`): the
//! same files, byte for byte, as the reference writes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

/// A temporary directory with toto's compat names installed in `bin/`
/// and a `src/main.c` in `ours/` and `theirs/`; and its path.
fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    let root = dir.path().to_owned();
    for side in ["ours", "theirs"] {
        fs::create_dir_all(root.join(side).join("src")).unwrap();
        fs::write(
            root.join(side).join("src/main.c"),
            "int main() { return 0; }\n",
        )
        .unwrap();
    }
    expect_code(&install_compat(&root), 0, "install-compat");
    (dir, root)
}

/// `toto install-compat ROOT/bin`.
fn install_compat(root: &Path) -> Output {
    toto()
        .arg("install-compat")
        .arg(root.join("bin"))
        .output()
        .unwrap()
}

/// toto's compat name `ROOT/bin/COMMAND` run in `ROOT/DIR` with `args`.
fn compat(root: &Path, command: &str, dir: &str, args: &[&str]) -> Output {
    Command::new(root.join("bin").join(command))
        .current_dir(root.join(dir))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn compat_names_write_what_the_reference_writes() {
    let Some(py) = python("compat_names_write_what_the_reference_writes") else {
        return;
    };
    let (_dir, root) = setup();
    let key = vector("keys/ed25519.pem");
    let key = key.to_str().unwrap();
    // Ed25519 signatures are deterministic: the files must be identical.
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "in-toto-run",
            &[
                "-n",
                "build",
                "--signing-key",
                key,
                "-m",
                "src",
                "-p",
                "src",
                "--",
                "true",
            ],
            "build.6f2fb44c.link",
        ),
        (
            "in-toto-run",
            &[
                "-n",
                "dsse",
                "--use-dsse",
                "--signing-key",
                key,
                "-m",
                "src",
                "--",
                "true",
            ],
            "dsse.6f2fb44c.link",
        ),
        (
            "in-toto-run",
            &["-n", "nocmd", "--signing-key", key, "-p", "src", "-x"],
            "nocmd.6f2fb44c.link",
        ),
        (
            "in-toto-record",
            &["start", "-n", "rec", "--signing-key", key, "-m", "src"],
            ".rec.6f2fb44c.link-unfinished",
        ),
        (
            "in-toto-record",
            &["stop", "-n", "rec", "--signing-key", key, "-p", "src"],
            "rec.6f2fb44c.link",
        ),
    ];
    for (command, args, file) in cases {
        let ours = compat(&root, command, "ours", args);
        expect_code(&ours, 0, &format!("toto as {command} {args:?}"));
        let theirs = reference_tool(&py, command, &root.join("theirs"), args);
        expect_code(&theirs, 0, &format!("{command} {args:?}"));
        if !file.ends_with("-unfinished") {
            let a = fs::read(root.join("ours").join(file)).unwrap();
            let b = fs::read(root.join("theirs").join(file)).unwrap();
            assert!(
                a == b,
                "{file} differs from the reference's:\n{}\n---\n{}",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            );
        }
    }
    // The reference's verify and sign flags work through the compat names.
    let public = vector("keys/ed25519.pub");
    let verify = [
        "-f",
        "build.6f2fb44c.link",
        "--verify",
        "-k",
        public.to_str().unwrap(),
    ];
    let out = compat(&root, "in-toto-sign", "ours", &verify);
    expect_code(&out, 0, "in-toto-sign --verify");
    let match_products = ["-l", "build.6f2fb44c.link", "-p", "src"];
    let out = compat(&root, "in-toto-match-products", "ours", &match_products);
    expect_code(&out, 0, "in-toto-match-products");
}

#[test]
fn compat_verify_runs_the_demo_with_reference_flags() {
    let (_dir, root) = setup();
    // The demo's inspection refuses unknown files: verify in a directory of its own.
    fs::create_dir_all(root.join("demo")).unwrap();
    copy_files(&vector("demo_metablock_good"), &root.join("demo"));
    let verify = [
        "--layout",
        "root.layout",
        "--verification-keys",
        "alice.pub",
        "-v",
    ];
    let out = compat(&root, "in-toto-verify", "demo", &verify);
    expect_code(&out, 0, "in-toto-verify on the demo");
    expect_code(
        &install_compat(&root),
        2,
        "existing links are not replaced without --force",
    );
}
