//! OpenPGP functionaries, both ways against the reference, with RSA, DSA and
//! Ed25519 keys in a temporary GNUPGHOME: links signed by `in-toto-run --gpg`
//! verify with toto; links toto signs with `--gpg` verify with
//! `in-toto-verify`; layouts `toto layout new` makes from a keyring
//! (`gpg_keys`) verify both; and toto fails exactly when the reference does.
//! Bad gpg output and a missing or failing gpg are input errors (exit 2).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

const ALGORITHMS: [(&str, &str); 3] = [
    ("rsa@example.com", "rsa2048"),
    ("dsa@example.com", "dsa2048"),
    ("ed@example.com", "ed25519"),
];

fn gpg(home: &Path, args: &[&str]) -> Output {
    Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--passphrase", ""])
        .args(args)
        .output()
        .expect("gpg is installed by scripts/test")
}

/// A temporary GnuPG home; its agent is stopped on drop.
struct Keyring {
    dir: tempfile::TempDir,
}

impl Keyring {
    fn new() -> Keyring {
        let dir = tempdir();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        }
        Keyring { dir }
    }

    fn home(&self) -> &Path {
        self.dir.path()
    }

    fn home_str(&self) -> &str {
        self.home().to_str().unwrap()
    }

    /// Generates a signing key; returns its fingerprint.
    fn generate(&self, uid: &str, algo: &str) -> String {
        self.generate_for(uid, algo, "sign")
    }

    fn generate_for(&self, uid: &str, algo: &str, usage: &str) -> String {
        let out = gpg(
            self.home(),
            &[
                "--quick-gen-key",
                &format!("Test <{uid}>"),
                algo,
                usage,
                "never",
            ],
        );
        expect_code(&out, 0, &format!("gpg --quick-gen-key {algo}"));
        self.fingerprints(uid).swap_remove(0)
    }

    /// Adds a signing subkey to `fpr`; returns the subkey's fingerprint.
    fn add_signing_subkey(&self, fpr: &str, algo: &str) -> String {
        let before = self.fingerprints(fpr);
        let out = gpg(
            self.home(),
            &["--quick-add-key", fpr, algo, "sign", "never"],
        );
        expect_code(&out, 0, "gpg --quick-add-key");
        let after = self.fingerprints(fpr);
        after.into_iter().find(|f| !before.contains(f)).unwrap()
    }

    /// The fingerprints of a key and its subkeys, primary first.
    fn fingerprints(&self, who: &str) -> Vec<String> {
        let out = gpg(self.home(), &["--list-keys", "--with-colons", who]);
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| {
                l.strip_prefix("fpr:")
                    .map(|r| r.trim_matches(':').to_owned())
            })
            .collect()
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--homedir", self.home_str(), "--kill", "gpg-agent"])
            .output();
    }
}

fn verdicts(py: &Path, dir: &Path) -> (i32, i32) {
    let ours = toto()
        .current_dir(dir)
        .args(["verify", "-l", "root.layout", "-k", "owner.pub"])
        .output()
        .unwrap();
    let theirs = reference_tool(
        py,
        "in-toto-verify",
        dir,
        &["-l", "root.layout", "--verification-keys", "owner.pub"],
    );
    (ours.status.code().unwrap(), theirs.status.code().unwrap())
}

/// A directory with an owner key and a reference-made layout whose step
/// `build` is performed by the OpenPGP key `fpr`.
fn reference_layout(py: &Path, keyring: &Keyring, fpr: &str) -> tempfile::TempDir {
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
        py,
        &[
            "gpg-layout",
            "--owner",
            root.join("owner").to_str().unwrap(),
            "--fingerprint",
            fpr,
            "--gpg-home",
            keyring.home_str(),
            "--step",
            "build",
            root.join("root.layout").to_str().unwrap(),
        ],
    );
    expect_code(&out, 0, "reference layout with an OpenPGP functionary");
    dir
}

/// For each of [`ALGORITHMS`], a new signing key in one keyring and a
/// directory with a reference layout whose `build` step that key performs:
/// `check(keyring, fingerprint, algorithm, directory)`.
fn for_each_reference_layout(py: &Path, check: impl Fn(&Keyring, &str, &str, &Path)) {
    let keyring = Keyring::new();
    for (uid, algo) in ALGORITHMS {
        let fpr = keyring.generate(uid, algo);
        let dir = reference_layout(py, &keyring, &fpr);
        check(&keyring, &fpr, algo, dir.path());
    }
}

fn link_path(root: &Path, fpr: &str) -> PathBuf {
    root.join(format!("build.{}.link", &fpr[..8].to_ascii_lowercase()))
}

/// Changes the signed command of a link; both verifiers must refuse it.
fn tamper(link: &Path) {
    let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(link).unwrap()).unwrap();
    doc["signed"]["command"] = serde_json::json!(["false"]);
    fs::write(link, serde_json::to_vec(&doc).unwrap()).unwrap();
}

/// `in-toto-run -n build --gpg FPR --gpg-home HOME EXTRA… -- true` in `root`.
fn reference_gpg_run(
    py: &Path,
    root: &Path,
    keyring: &Keyring,
    fpr: &str,
    extra: &[&str],
) -> Output {
    Command::new(python_bin_dir(py).join("in-toto-run"))
        .current_dir(root)
        .args([
            "-n",
            "build",
            "--gpg",
            fpr,
            "--gpg-home",
            keyring.home_str(),
        ])
        .args(extra)
        .args(["--", "true"])
        .output()
        .unwrap()
}

/// Both verifiers accept the link by `fpr` in `root`, and both refuse it
/// once tampered with.
#[track_caller]
fn expect_both_then_tamper(py: &Path, root: &Path, fpr: &str, what: &str) {
    assert_eq!(verdicts(py, root), (0, 0), "{what}: both verify");
    tamper(&link_path(root, fpr));
    assert_eq!(
        verdicts(py, root),
        (1, 1),
        "{what}: both refuse it tampered"
    );
}

/// `toto run -n build --format metablock --gpg FPR --gpg-home HOME EXTRA… --
/// true` in `root`.
fn toto_gpg(root: &Path, keyring: &Keyring, fpr: &str, extra: &[&str]) -> Command {
    let mut c = toto();
    c.current_dir(root)
        .args(["run", "-n", "build", "--format", "metablock", "--gpg", fpr])
        .args(["--gpg-home", keyring.home_str()])
        .args(extra)
        .args(["--", "true"]);
    c
}

/// toto's link for the step `build` in `root`, recording `owner.pub`.
fn toto_gpg_run(root: &Path, keyring: &Keyring, fpr: &str) -> Output {
    toto_gpg(root, keyring, fpr, &["-p", "owner.pub"])
        .output()
        .unwrap()
}

/// In `root`: an owner key, and `toto layout new` of a layout (`output`)
/// whose step `build` the OpenPGP key `fpr` performs, with `rules`.
fn toto_gpg_layout(root: &Path, keyring: &Keyring, fpr: &str, rules: &str, output: &str) {
    let toto_in = |args: &[&str]| toto().current_dir(root).args(args).output().unwrap();
    expect_code(
        &toto_in(&["key", "generate", "-o", "owner"]),
        0,
        "owner key",
    );
    fs::write(
        root.join("chain.toml"),
        format!("expires = \"30d\"\n[[steps]]\nname = \"build\"\ngpg_keys = [\"{fpr}\"]\n{rules}"),
    )
    .unwrap();
    let out = toto_in(&[
        "layout",
        "new",
        "chain.toml",
        "-o",
        output,
        "--gpg-home",
        keyring.home_str(),
    ]);
    expect_code(&out, 0, "toto layout new with gpg_keys");
}

#[test]
fn reference_gpg_links_verify_with_toto() {
    let Some(py) = python("reference_gpg_links_verify_with_toto") else {
        return;
    };
    for_each_reference_layout(&py, |keyring, fpr, algo, root| {
        let out = reference_gpg_run(&py, root, keyring, fpr, &["-p", "owner.pub"]);
        expect_code(&out, 0, "in-toto-run --gpg");
        expect_both_then_tamper(&py, root, fpr, &format!("{algo}: the reference's link"));
    });
}

#[test]
fn toto_gpg_links_verify_with_the_reference() {
    let Some(py) = python("toto_gpg_links_verify_with_the_reference") else {
        return;
    };
    for_each_reference_layout(&py, |keyring, fpr, algo, root| {
        expect_code(&toto_gpg_run(root, keyring, fpr), 0, "toto run --gpg");
        let link: serde_json::Value =
            serde_json::from_slice(&fs::read(link_path(root, fpr)).unwrap()).unwrap();
        let sig = &link["signatures"][0];
        assert_eq!(sig["keyid"], fpr.to_ascii_lowercase(), "{algo}");
        assert!(sig["other_headers"].is_string() && sig["signature"].is_string());
        expect_both_then_tamper(&py, root, fpr, &format!("{algo}: toto's link"));
    });
}

#[test]
fn toto_record_and_sign_with_gpg() {
    let Some(py) = python("toto_record_and_sign_with_gpg") else {
        return;
    };
    let keyring = Keyring::new();
    let fpr = keyring.generate("ed@example.com", "ed25519");
    let dir = reference_layout(&py, &keyring, &fpr);
    let root = dir.path();
    let home = keyring.home_str();
    // record start|stop with gpg's default key (the only one).
    for (args, what) in [
        (
            vec!["record", "start", "-n", "build", "--format", "metablock"],
            "record start",
        ),
        (
            vec![
                "record",
                "stop",
                "-n",
                "build",
                "--format",
                "metablock",
                "-p",
                "owner.pub",
            ],
            "record stop",
        ),
    ] {
        let out = toto()
            .current_dir(root)
            .args(&args)
            .args(["--gpg", "--gpg-home", home])
            .output()
            .unwrap();
        expect_code(&out, 0, what);
    }
    assert_eq!(verdicts(&py, root), (0, 0), "recorded with gpg");
    // toto sign --gpg re-signs a tampered link: valid again for both.
    let link = link_path(root, &fpr);
    tamper(&link);
    assert_eq!(verdicts(&py, root), (1, 1));
    let sign = |extra: &[&str]| {
        toto()
            .current_dir(root)
            .args(["sign", "-f", link.to_str().unwrap()])
            .args(extra)
            .args(["--gpg", &fpr, "--gpg-home", home])
            .output()
            .unwrap()
    };
    expect_code(&sign(&[]), 0, "toto sign --gpg");
    assert_eq!(verdicts(&py, root), (0, 0), "re-signed with gpg");
    let out = sign(&["--verify"]);
    expect_code(&out, 0, "toto sign --verify --gpg");
}

#[test]
fn layout_new_exports_gpg_functionaries() {
    let Some(py) = python("layout_new_exports_gpg_functionaries") else {
        return;
    };
    let keyring = Keyring::new();
    for (uid, algo) in ALGORITHMS {
        let fpr = keyring.generate(uid, algo);
        let dir = tempdir();
        let root = dir.path();
        let toto_in = |args: &[&str]| toto().current_dir(root).args(args).output().unwrap();
        toto_gpg_layout(
            root,
            &keyring,
            &fpr,
            "products = [\"ALLOW *\"]\n",
            "root.layout",
        );
        expect_code(
            &toto_in(&["layout", "sign", "--key", "owner", "root.layout"]),
            0,
            "sign",
        );
        // The key dict is the one the reference exports.
        let ours: serde_json::Value =
            serde_json::from_slice(&fs::read(root.join("root.layout")).unwrap()).unwrap();
        let theirs_dir = reference_layout(&py, &keyring, &fpr);
        let theirs: serde_json::Value =
            serde_json::from_slice(&fs::read(theirs_dir.path().join("root.layout")).unwrap())
                .unwrap();
        let id = fpr.to_ascii_lowercase();
        assert_eq!(
            ours["signed"]["keys"][&id], theirs["signed"]["keys"][&id],
            "{algo}"
        );
        // A link by the reference and one by toto both verify against it.
        let out = reference_gpg_run(&py, root, &keyring, &fpr, &[]);
        expect_code(&out, 0, "in-toto-run --gpg");
        assert_eq!(
            verdicts(&py, root),
            (0, 0),
            "{algo}: reference link, toto layout"
        );
        fs::remove_file(link_path(root, &fpr)).unwrap();
        expect_code(&toto_gpg_run(root, &keyring, &fpr), 0, "toto run --gpg");
        assert_eq!(
            verdicts(&py, root),
            (0, 0),
            "{algo}: toto link, toto layout"
        );
    }
}

#[test]
fn links_by_listed_subkeys_verify_and_by_unlisted_subkeys_fail() {
    let Some(py) = python("links_by_listed_subkeys_verify_and_by_unlisted_subkeys_fail") else {
        return;
    };
    let keyring = Keyring::new();
    // RSA and DSA packets only: the reference hashes a key packet for its
    // self-signatures as exported, header included, which is right only for
    // two-byte packet lengths; it drops subkeys of Ed25519 keys (and Ed25519
    // subkeys) because their bindings never verify for it. toto hashes
    // `0x99 || be16(len) || body` (RFC 4880 section 5.2.4) and keeps them.
    let fpr = keyring.generate_for("sub@example.com", "rsa2048", "cert");
    let first = keyring.add_signing_subkey(&fpr, "rsa2048");
    // A layout exported now lists only the first subkey.
    let older = reference_layout(&py, &keyring, &fpr);
    // Same algorithm as the primary key: the reference verifies a subkey's
    // signature with the primary key's algorithm (a DSA subkey of an RSA key
    // fails with KeyError 'e' there; toto verifies it).
    let second = keyring.add_signing_subkey(&fpr, "rsa3072");
    let newer = reference_layout(&py, &keyring, &fpr);
    // The reference signs with the key; gpg picks a signing subkey.
    let out = reference_gpg_run(&py, newer.path(), &keyring, &fpr, &["-p", "owner.pub"]);
    expect_code(&out, 0, "in-toto-run --gpg with a signing subkey");
    let by_subkey = [&first, &second]
        .into_iter()
        .map(|sub| link_path(newer.path(), sub))
        .find(|p| p.exists())
        .expect("the reference names the link after the subkey");
    assert_eq!(
        verdicts(&py, newer.path()),
        (0, 0),
        "reference link by a subkey"
    );
    fs::remove_file(by_subkey).unwrap();
    // toto signs with exactly the subkey named (`FPR!`, as gpg spells it).
    for (dir, sub, listed) in [
        (newer.path(), &first, true),
        (newer.path(), &second, true),
        (older.path(), &second, false),
    ] {
        let out = toto_gpg_run(dir, &keyring, &format!("{sub}!"));
        expect_code(&out, 0, "toto run --gpg SUBKEY!");
        let link = link_path(dir, sub);
        assert!(link.exists(), "the link is named after the subkey");
        let expected = if listed { (0, 0) } else { (1, 1) };
        assert_eq!(
            verdicts(&py, dir),
            expected,
            "subkey {sub} listed: {listed}; first {first}, second {second}"
        );
        fs::remove_file(link).unwrap();
    }
}

/// A stand-in for gpg that runs the real one and edits its output with `sed`
/// style shell; exercises toto's reading of what "gpg" printed.
fn fake_gpg(dir: &Path, name: &str, filter: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(
        &path,
        format!("#!/bin/sh\nset -e\ngpg \"$@\" > \"$0.sig\"\n{filter}\n"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

fn expect_input_error(out: &Output, needle: &str, what: &str) {
    expect_error(out, 2, needle, what);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
}

#[test]
fn bad_gpg_output_and_missing_or_failing_gpg_are_input_errors() {
    if Command::new("gpg").arg("--version").output().is_err() {
        eprintln!("SKIP: gpg not installed; run scripts/test");
        return;
    }
    let keyring = Keyring::new();
    let fpr = keyring.generate("rsa@example.com", "rsa2048");
    let dir = tempdir();
    let root = dir.path();
    fs::write(root.join("owner.pub"), "x").unwrap();
    let run_with = |gnupg: &Path| {
        toto_gpg(root, &keyring, &fpr, &[])
            .env("GNUPG", gnupg)
            .output()
            .unwrap()
    };
    // gpg missing.
    expect_input_error(
        &run_with(&root.join("no-such-gpg")),
        "not found; install GnuPG",
        "gpg missing",
    );
    // A key that is not in the keyring: found out before the step runs.
    let out = toto()
        .current_dir(root)
        .args(["run", "-n", "build", "--format", "metablock", "--gpg"])
        .arg("AB".repeat(20))
        .args(["--gpg-home", keyring.home_str()])
        .args(["--", "sh", "-c", "touch ran"])
        .output()
        .unwrap();
    expect_input_error(&out, "no secret key for key ABAB", "unknown key");
    assert!(
        !root.join("ran").exists(),
        "the step ran for a key gpg lacks"
    );
    // gpg printing a truncated packet, trailing data, an unknown algorithm.
    for (name, filter, needle) in [
        ("truncated", "head -c 20 \"$0.sig\"", "truncated"),
        ("trailing", "cat \"$0.sig\"; printf x", "trailing data"),
        (
            "ecdsa",
            "head -c 5 \"$0.sig\"; printf '\\023'; tail -c +7 \"$0.sig\"",
            "unsupported OpenPGP public-key algorithm 19",
        ),
        ("empty", "true", "truncated"),
    ] {
        let gnupg = fake_gpg(root, name, filter);
        expect_input_error(&run_with(&gnupg), needle, name);
    }
    assert!(
        !root
            .join(format!("build.{}.link", &fpr[..8].to_ascii_lowercase()))
            .exists(),
        "no link is written when signing fails"
    );
    // --gpg needs a Metablock.
    let out = toto()
        .current_dir(root)
        .args(["run", "-n", "build", "--gpg", &fpr, "--", "true"])
        .output()
        .unwrap();
    expect_input_error(&out, "--encoding metablock", "--gpg with a DSSE format");
    // Exporting a key that is not there.
    fs::write(
        root.join("chain.toml"),
        "[[steps]]\nname = \"build\"\ngpg_keys = [\"0123456789ABCDEF\"]\n",
    )
    .unwrap();
    let out = toto()
        .current_dir(root)
        .args([
            "layout",
            "new",
            "chain.toml",
            "--gpg-home",
            keyring.home_str(),
        ])
        .output()
        .unwrap();
    expect_input_error(
        &out,
        "no OpenPGP key 0123456789ABCDEF",
        "export of an absent key",
    );
}

/// One OpenPGP signer under two entries of a step with threshold 2 — its
/// key and its signing subkey as a key of its own, or its key twice — is
/// one signer: its one link does not meet the threshold.
#[test]
fn an_openpgp_key_and_its_subkey_count_as_one_signer() {
    let keyring = Keyring::new();
    let fpr = keyring.generate_for("twice@example.com", "ed25519", "cert");
    let sub = keyring.add_signing_subkey(&fpr, "ed25519");
    let (fpr, sub) = (fpr.to_ascii_lowercase(), sub.to_ascii_lowercase());
    let dir = tempdir();
    let root = dir.path();
    let toto_in = |args: &[&str]| toto().current_dir(root).args(args).output().unwrap();
    toto_gpg_layout(root, &keyring, &fpr, "", "made.layout");
    let made: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join("made.layout")).unwrap()).unwrap();
    let subkey = made["signed"]["keys"][&fpr]["subkeys"][&sub].clone();
    assert!(subkey.is_object(), "the layout lists the subkey: {made}");
    expect_code(
        &toto_gpg(root, &keyring, &format!("{sub}!"), &[])
            .output()
            .unwrap(),
        0,
        "toto run --gpg SUBKEY!",
    );
    assert!(link_path(root, &sub).exists());
    for pubkeys in [[&fpr, &sub], [&fpr, &fpr]] {
        let mut layout = made.clone();
        layout["signed"]["keys"][&sub] = subkey.clone();
        layout["signed"]["steps"][0]["pubkeys"] = serde_json::json!(pubkeys);
        layout["signed"]["steps"][0]["threshold"] = serde_json::json!(2);
        fs::write(
            root.join("root.layout"),
            serde_json::to_vec(&layout).unwrap(),
        )
        .unwrap();
        expect_code(
            &toto_in(&["layout", "sign", "--key", "owner", "root.layout"]),
            0,
            "sign",
        );
        let out = toto_in(&["verify", "-l", "root.layout", "-k", "owner.pub"]);
        let what = format!("one OpenPGP signer as {pubkeys:?}");
        expect_error(&out, 1, "lists this signer twice", &what);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let counted = format!("already counted for build.{}.link", &sub[..8]);
        assert!(stderr.contains(&counted), "{what}: {stderr}");
    }
}
