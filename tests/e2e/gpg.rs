//! OpenPGP functionaries: links signed by `in-toto-run --gpg` (RSA and
//! Ed25519 keys in a temporary GNUPGHOME) in a layout made by the reference
//! verify with toto, and fail with toto exactly when they fail with
//! `in-toto-verify`.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::*;

fn gpg(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--passphrase", ""])
        .args(args)
        .output()
        .expect("gpg is installed by scripts/test")
}

fn fingerprint(home: &Path, uid: &str) -> String {
    let out = gpg(home, &["--list-keys", "--with-colons", uid]);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("fpr:")
                .map(|r| r.trim_matches(':').to_owned())
        })
        .unwrap()
}

fn verdicts(py: &Path, dir: &Path) -> (i32, i32) {
    let ours = toto()
        .current_dir(dir)
        .args(["verify", "-l", "root.layout", "-k", "owner.pub"])
        .output()
        .unwrap();
    let theirs = Command::new(python_bin_dir(py).join("in-toto-verify"))
        .current_dir(dir)
        .args(["-l", "root.layout", "--verification-keys", "owner.pub"])
        .output()
        .unwrap();
    (ours.status.code().unwrap(), theirs.status.code().unwrap())
}

#[test]
fn openpgp_functionaries_like_the_reference() {
    let Some(py) = python("openpgp_functionaries_like_the_reference") else {
        return;
    };
    let home = tempdir();
    let home = home.path();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(home, fs::Permissions::from_mode(0o700)).unwrap();
    }
    for (uid, algo) in [
        ("rsa@example.com", "rsa2048"),
        ("ed@example.com", "ed25519"),
    ] {
        let out = gpg(
            home,
            &[
                "--quick-gen-key",
                &format!("Test <{uid}>"),
                algo,
                "sign",
                "never",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let fpr = fingerprint(home, uid);
        let dir = tempdir();
        let root = dir.path();
        expect_code(
            &toto()
                .current_dir(root)
                .args(["key", "generate", "-o", "owner"])
                .output()
                .unwrap(),
            0,
            "owner key",
        );
        let out = peer(
            &py,
            &[
                "gpg-layout",
                "--owner",
                root.join("owner").to_str().unwrap(),
                "--fingerprint",
                &fpr,
                "--gpg-home",
                home.to_str().unwrap(),
                "--step",
                "build",
                root.join("root.layout").to_str().unwrap(),
            ],
        );
        expect_code(&out, 0, "reference layout with an OpenPGP functionary");
        let out = Command::new(python_bin_dir(&py).join("in-toto-run"))
            .current_dir(root)
            .env("GNUPGHOME", home)
            .args([
                "-n",
                "build",
                "--gpg",
                &fpr,
                "--gpg-home",
                home.to_str().unwrap(),
                "-p",
                "owner.pub",
                "--",
                "true",
            ])
            .output()
            .unwrap();
        expect_code(&out, 0, "in-toto-run --gpg");
        assert_eq!(verdicts(&py, root), (0, 0), "{algo}: both verify");
        // Tamper with the signed link: both refuse it.
        let link = root.join(format!("build.{}.link", &fpr[..8].to_ascii_lowercase()));
        let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&link).unwrap()).unwrap();
        doc["signed"]["command"] = serde_json::json!(["false"]);
        fs::write(&link, serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(
            verdicts(&py, root),
            (1, 1),
            "{algo}: both refuse a tampered link"
        );
    }
}
