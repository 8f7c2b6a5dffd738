//! `toto run` against `in-toto-run`: the same artifacts on a tricky tree,
//! the same exit codes, and links the reference accepts.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::*;

/// Builds the tree of `recording_probes.txt`: unicode names, CRLF, an empty
/// file, symlinks to a file and a directory, a broken symlink, `.git`,
/// `*.pyc`, `*~` and `*.link`.
fn tricky_tree(root: &Path) {
    let tree = root.join("tree");
    fs::create_dir_all(tree.join("src/sub")).unwrap();
    fs::create_dir_all(tree.join("other")).unwrap();
    fs::create_dir_all(tree.join(".git")).unwrap();
    fs::write(tree.join("src/a.txt"), "a\n").unwrap();
    fs::write(tree.join("src/crlf.txt"), "line\r\nline\r\n").unwrap();
    fs::write(tree.join("src/empty"), "").unwrap();
    fs::write(tree.join("src/sub/ünïcödé file.txt"), "unicode\n").unwrap();
    fs::write(tree.join("src/x.pyc"), "pyc").unwrap();
    fs::write(tree.join("src/backup~"), "backup").unwrap();
    fs::write(tree.join("src/foo.link"), "{}").unwrap();
    fs::write(tree.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    fs::write(tree.join("other/o.txt"), "o\n").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("a.txt", tree.join("src/link_to_a")).unwrap();
        std::os::unix::fs::symlink("sub", tree.join("src/link_to_sub")).unwrap();
        std::os::unix::fs::symlink("nowhere", tree.join("src/broken")).unwrap();
    }
    fs::create_dir_all(root.join("sibling")).unwrap();
}

fn link_signed(dir: &Path) -> Value {
    let entry = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "link"))
        .unwrap_or_else(|| panic!("no link written in {}", dir.display()));
    let doc: Value = serde_json::from_slice(&fs::read(entry).unwrap()).unwrap();
    doc["signed"].clone()
}

/// Runs toto and the reference with the same arguments in `cwd`; returns
/// both links' `signed` parts.
fn both(py: &Path, root: &Path, cwd: &str, case: &str, args: &[&str]) -> (Value, Value) {
    let key = vector("keys/ed25519.pem");
    let ours = root.join(format!("out-toto-{case}"));
    let theirs = root.join(format!("out-ref-{case}"));
    fs::create_dir_all(&ours).unwrap();
    fs::create_dir_all(&theirs).unwrap();
    let out = toto()
        .current_dir(root.join(cwd))
        .args([
            "run",
            "--format",
            "metablock",
            "-n",
            "probe",
            "--signing-key",
        ])
        .arg(&key)
        .arg("-d")
        .arg(&ours)
        .args(args)
        .args(["-x"])
        .output()
        .unwrap();
    expect_code(&out, 0, &format!("toto run {case}"));
    let out = Command::new(python_bin_dir(py).join("in-toto-run"))
        .current_dir(root.join(cwd))
        .args(["-n", "probe", "--signing-key"])
        .arg(&key)
        .arg("-d")
        .arg(&theirs)
        .args(args)
        .args(["-x"])
        .output()
        .unwrap();
    expect_code(&out, 0, &format!("in-toto-run {case}"));
    (link_signed(&ours), link_signed(&theirs))
}

#[test]
fn records_the_same_artifacts_as_the_reference() {
    let Some((py, dir)) = python_tempdir("records_the_same_artifacts_as_the_reference") else {
        return;
    };
    let root = dir.path();
    tricky_tree(root);
    let cases: &[(&str, &str, &[&str])] = &[
        ("src-other", "tree", &["-m", "src", "-p", "src", "other"]),
        ("dot", "tree", &["-m", "."]),
        ("exclude-txt", "tree", &["--exclude", "*.txt", "-m", "."]),
        (
            "exclude-dir-slash",
            "tree",
            &["--exclude", "other/", "-m", "."],
        ),
        (
            "exclude-anchored",
            "tree",
            &["--exclude", "/src", "-m", "."],
        ),
        (
            "exclude-nested",
            "tree",
            &["--exclude", "src/sub", "-m", "."],
        ),
        (
            "exclude-two",
            "tree",
            &["--exclude", "*.link*", ".git", "-m", "."],
        ),
        ("base-path", ".", &["--base-path", "tree", "-m", "src"]),
        (
            "lstrip",
            "sibling",
            &[
                "--lstrip-paths",
                "../tree/",
                "-m",
                "../tree/src",
                "../tree/other",
            ],
        ),
        ("dotdot", "sibling", &["-m", "../tree/src"]),
        ("missing", "tree", &["-m", "nonexistent", "src/a.txt"]),
        (
            "unnormalized",
            "tree",
            &["-m", "./src//sub/../a.txt", "src/./empty"],
        ),
        (
            "symlinks",
            "tree",
            &["-m", "src/link_to_a", "src/link_to_sub", "src/broken"],
        ),
    ];
    for (case, cwd, args) in cases {
        let (ours, theirs) = both(&py, root, cwd, case, args);
        assert_eq!(
            ours["materials"], theirs["materials"],
            "materials differ for {case}"
        );
        assert_eq!(
            ours["products"], theirs["products"],
            "products differ for {case}"
        );
    }
}

#[test]
fn lstrip_collision_is_an_error_like_the_reference() {
    let dir = tempdir();
    let root = dir.path();
    fs::create_dir_all(root.join("c1")).unwrap();
    fs::create_dir_all(root.join("c2")).unwrap();
    fs::write(root.join("c1/same"), "1").unwrap();
    fs::write(root.join("c2/same"), "2").unwrap();
    let out = toto()
        .current_dir(root)
        .args(["run", "-n", "x", "--signing-key"])
        .arg(vector("keys/ed25519.pem"))
        .args(["--lstrip-paths", "c1/", "c2/", "-m", "c1", "c2", "-x"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("same"));
    assert!(!root.join("x.6f2fb44c.link").exists(), "no link on failure");
}

#[test]
fn exit_codes_follow_the_reference() {
    let dir = tempdir();
    let key = vector("keys/ed25519.pem");
    let run_as = |step: &str, key: &Path, args: &[&str]| {
        toto()
            .current_dir(dir.path())
            .args(["run", "-n", step, "--signing-key"])
            .arg(key)
            .args(args)
            .output()
            .unwrap()
    };
    let run = |args: &[&str]| run_as("t", &key, args);
    let out = run(&["--", "sh", "-c", "exit 7"]);
    expect_code(&out, 7, "command exit code passes through");
    assert!(dir.path().join("t.6f2fb44c.link").exists());
    expect_code(&run(&["--timeout", "1", "--", "sleep", "5"]), 1, "timeout");
    expect_code(&run(&["--", "toto-no-such-command"]), 1, "missing command");
    expect_code(&run(&[]), 2, "no command and no --no-command");
    expect_code(&run(&["-x"]), 0, "--no-command");
    let out = toto_in(dir.path(), &["run", "-n", "t", "-x"]);
    expect_code(&out, 2, "no key");
    let out = run_as("../escape", &key, &["-x"]);
    expect_code(&out, 2, "step name with a path separator");
    let encrypted = vector("keys/ed25519_enc.pem");
    let out = run_as("t", &encrypted, &["--password", "wrong", "-x"]);
    expect_code(&out, 2, "wrong password");
}

/// The link at `path`, and how it is encoded.
fn read_link(path: &Path) -> (attest::Encoding, attest::Link) {
    let doc = attest::SignedDocument::from_json(&fs::read(path).unwrap(), &dsse::Limits::default())
        .unwrap();
    let link = attest::Link::from_payload(doc.payload().clone()).unwrap();
    (doc.encoding(), link)
}

#[test]
fn record_streams_and_two_phase_recording() {
    let dir = tempdir();
    let key = vector("keys/ed25519.pem");
    fs::write(dir.path().join("in.txt"), "in").unwrap();
    // `toto COMMAND… -n STEP --signing-key KEY ARGS…` in the directory.
    let signed = |command: &[&str], step: &str, args: &[&str]| {
        toto()
            .current_dir(dir.path())
            .args(command)
            .args(["-n", step, "--signing-key"])
            .arg(&key)
            .args(args)
            .output()
            .unwrap()
    };
    let streams = "printf 'h\\303\\251llo\\n'; printf err >&2";
    let out = signed(
        &["run"],
        "s",
        &[
            "--format",
            "dsse-link",
            "--record-streams",
            "-m",
            "in.txt",
            "--",
            "sh",
            "-c",
            streams,
        ],
    );
    expect_code(&out, 0, "run");
    assert_eq!(out.stdout, "héllo\n".as_bytes(), "streams are still shown");
    let (encoding, link) = read_link(&dir.path().join("s.6f2fb44c.link"));
    assert_eq!(encoding, attest::Encoding::Dsse);
    assert_eq!(link.byproducts["stdout"], "héllo\n");
    assert_eq!(link.byproducts["stderr"], "err");
    assert_eq!(link.byproducts["return-value"], 0);

    let start = signed(&["record", "start"], "two", &["-m", "in.txt"]);
    expect_code(&start, 0, "record start");
    assert!(dir.path().join(".two.6f2fb44c.link-unfinished").exists());
    fs::write(dir.path().join("out.txt"), "out").unwrap();
    let stop = signed(&["record", "stop"], "two", &["-p", "out.txt"]);
    expect_code(&stop, 0, "record stop");
    assert!(!dir.path().join(".two.6f2fb44c.link-unfinished").exists());
    let (encoding, link) = read_link(&dir.path().join("two.6f2fb44c.link"));
    assert_eq!(encoding, attest::Encoding::Statement);
    assert!(link.materials.contains_key("in.txt"));
    assert!(link.products.contains_key("out.txt"));
    let again = signed(&["record", "stop"], "two", &[]);
    expect_code(&again, 2, "stop without start");
}

pub fn keyfile(dir: &Path, name: &str, kind: &str) -> PathBuf {
    let path = dir.join(name);
    generate_key(&path, &["--type", kind]);
    path
}

/// A layout authored and signed by toto, links recorded by toto in both
/// classic formats with every key type: `in-toto-verify` accepts them.
#[test]
fn reference_verifies_toto_links_and_layouts() {
    let Some(py) = python("reference_verifies_toto_links_and_layouts") else {
        return;
    };
    for kind in ["ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa"] {
        for format in ["metablock", "dsse-link"] {
            let dir = tempdir();
            let root = dir.path();
            keyfile(root, "owner", "ed25519");
            keyfile(root, kind, kind);
            fs::create_dir_all(root.join("src")).unwrap();
            fs::write(root.join("src/main.c"), "int main(){}\n").unwrap();
            fs::write(
                root.join("chain.toml"),
                format!(
                    "expires = \"30d\"\n[[steps]]\nname = \"build\"\nfunctionaries = [\"{kind}.pub\"]\n\
                     materials = [\"ALLOW src/*\", \"DISALLOW *\"]\n\
                     products = [\"CREATE out.bin\", \"ALLOW src/*\", \"DISALLOW *\"]\n\
                     [[inspections]]\nname = \"check\"\nrun = [\"true\"]\n\
                     materials = [\"MATCH out.bin WITH PRODUCTS FROM build\", \"ALLOW *\"]\n"
                ),
            )
            .unwrap();
            let out = toto_in(root, &["layout", "new", "chain.toml", "-o", "root.layout"]);
            expect_code(&out, 0, "layout new");
            let out = toto_in(root, &["layout", "sign", "-k", "owner", "root.layout"]);
            expect_code(&out, 0, "layout sign");
            let out = toto_in(
                root,
                &[
                    "run",
                    "-n",
                    "build",
                    "--format",
                    format,
                    "--signing-key",
                    kind,
                    "-m",
                    "src",
                    "-p",
                    "src",
                    "out.bin",
                    "--",
                    "sh",
                    "-c",
                    "echo bin > out.bin",
                ],
            );
            expect_code(&out, 0, "toto run");
            let ours = toto_in(root, &["verify", "-l", "root.layout", "-k", "owner.pub"]);
            expect_code(&ours, 0, &format!("toto verify ({kind}, {format})"));
            let theirs = reference_tool(
                &py,
                "in-toto-verify",
                root,
                &["-l", "root.layout", "--verification-keys", "owner.pub"],
            );
            expect_code(&theirs, 0, &format!("in-toto-verify ({kind}, {format})"));
        }
    }
}

#[cfg(unix)]
#[test]
fn hostile_trees_give_clear_errors_and_no_partial_links() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir();
    let root = dir.path();
    let key = vector("keys/ed25519.pem");
    // A FIFO is skipped with a warning; recording does not block on it.
    fs::create_dir_all(root.join("fifo")).unwrap();
    fs::write(root.join("fifo/regular"), "r").unwrap();
    let status = Command::new("mkfifo")
        .arg(root.join("fifo/pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    let run = |name: &str, args: &[&str]| {
        toto()
            .current_dir(root)
            .args(["run", "-n", name, "--signing-key"])
            .arg(&key)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run("f", &["--format", "metablock", "-m", "fifo", "-x"]);
    expect_error(&out, 0, "fifo/pipe", "fifo");
    let signed = link_signed_file(&root.join("f.6f2fb44c.link"));
    assert!(signed["materials"].get("fifo/regular").is_some());
    assert!(signed["materials"].get("fifo/pipe").is_none());
    // A file name that is not UTF-8 cannot be named in a link: error naming it.
    fs::create_dir_all(root.join("bad")).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"bad/caf\xe9");
    fs::write(root.join(name), "x").unwrap();
    let out = run("b", &["-m", "bad", "-x"]);
    expect_error(&out, 2, "caf", "non-UTF-8 name");
    assert!(!root.join("b.6f2fb44c.link").exists());
    // An output directory that does not exist: error, nothing written.
    let out = run("o", &["-d", "no/such/dir", "-x"]);
    expect_error(&out, 2, "no/such/dir", "missing output dir");
}

fn link_signed_file(path: &Path) -> Value {
    let doc: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    doc["signed"].clone()
}

#[test]
fn match_products_agrees_with_the_reference() {
    let py = python("match_products_agrees_with_the_reference");
    let dir = tempdir();
    let root = dir.path();
    fs::create_dir_all(root.join("dist")).unwrap();
    fs::write(root.join("dist/app"), "app").unwrap();
    let out = toto()
        .current_dir(root)
        .args(["run", "-n", "pkg", "--format", "metablock", "--signing-key"])
        .arg(vector("keys/ed25519.pem"))
        .args(["-p", "dist", "-x"])
        .output()
        .unwrap();
    expect_code(&out, 0, "run");
    let check = |expected: i32, what: &str| {
        let ours = toto_in(
            root,
            &[
                "match-products",
                "--link",
                "pkg.6f2fb44c.link",
                "--paths",
                "dist",
            ],
        );
        expect_code(&ours, expected, what);
        if let Some(py) = &py {
            let theirs = reference_tool(
                py,
                "in-toto-match-products",
                root,
                &["--link", "pkg.6f2fb44c.link", "--paths", "dist"],
            );
            expect_code(&theirs, expected, &format!("reference: {what}"));
        }
        String::from_utf8(ours.stdout).unwrap()
    };
    check(0, "unchanged");
    fs::write(root.join("dist/app"), "changed").unwrap();
    assert!(check(1, "modified").contains("Hashes differ: dist/app"));
    fs::write(root.join("dist/app"), "app").unwrap();
    fs::write(root.join("dist/extra"), "x").unwrap();
    assert!(check(1, "extra file").contains("Not in products: dist/extra"));
    fs::remove_file(root.join("dist/extra")).unwrap();
    fs::remove_file(root.join("dist/app")).unwrap();
    assert!(check(1, "missing file").contains("Only in products: dist/app"));
}

#[test]
fn secrets_are_redacted_from_recorded_streams_before_signing() {
    let dir = tempdir();
    let key = vector("keys/ed25519.pem");
    let token = format!("ghp_{}", "Zz09".repeat(9));
    let script = format!("echo deploying with $NPM_TOKEN and {token}; echo build-1234 >&2");
    let run = |name: &str, extra: &[&str]| {
        let out = toto()
            .current_dir(dir.path())
            .env("NPM_TOKEN", "npm-secret-value-42")
            .args([
                "run",
                "-n",
                name,
                "--format",
                "metablock",
                "--record-streams",
                "--signing-key",
            ])
            .arg(&key)
            .args(extra)
            .args(["--", "sh", "-c", &script])
            .output()
            .unwrap();
        expect_code(&out, 0, name);
        link_signed_file(&dir.path().join(format!("{name}.6f2fb44c.link")))["byproducts"].clone()
    };
    let redacted = run("default", &[]);
    let stdout = redacted["stdout"].as_str().unwrap();
    assert_eq!(stdout, "deploying with [REDACTED] and [REDACTED]\n");
    assert_eq!(redacted["stderr"], "build-1234\n");
    assert_eq!(redacted["toto-redacted"]["stdout"], 2);
    let custom = run("custom", &["--redact", "build-[0-9]+"]);
    assert_eq!(custom["stderr"], "[REDACTED]\n");
    let raw = run("raw", &["--no-default-redactions"]);
    assert!(raw["stdout"]
        .as_str()
        .unwrap()
        .contains("npm-secret-value-42"));
    assert!(raw.get("toto-redacted").is_none());
    // The redacted link is signed as written.
    let out = toto()
        .current_dir(dir.path())
        .args(["sign", "--verify", "-f", "default.6f2fb44c.link", "-k"])
        .arg(vector("keys/ed25519.pub"))
        .output()
        .unwrap();
    expect_code(&out, 0, "signature over the redacted link");
}
