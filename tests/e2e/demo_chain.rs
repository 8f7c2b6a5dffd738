//! The reference's demo supply chain (clone → update-version → package, three
//! keys, an inspection that untars and MATCHes), run end to end with toto,
//! each verdict cross-checked with `in-toto-verify` on the same files.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use crate::recording::keyfile;

struct Chain {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Chain {
    fn final_dir(&self) -> PathBuf {
        self.root.join("final")
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Tamper {
    None,
    ModifiedBeforePackage,
    MissingLink,
    WrongLayoutKey,
    Expired,
    ThresholdNotMet,
    ReplacedTarball,
}

fn layout_toml(expires: &str, package_threshold: usize) -> String {
    let package_functionaries = if package_threshold > 1 {
        "[\"carl.pub\", \"bob.pub\"]"
    } else {
        "[\"carl.pub\"]"
    };
    format!(
        r#"expires = "{expires}"
readme = "in-toto demo, ported"

[[steps]]
name = "clone"
functionaries = ["bob.pub"]
expected_command = ["git", "clone", "https://github.com/in-toto/demo-project.git"]
products = ["CREATE demo-project/foo.py", "DISALLOW *"]

[[steps]]
name = "update-version"
functionaries = ["bob.pub"]
materials = ["MATCH demo-project/* WITH PRODUCTS FROM clone", "DISALLOW *"]
products = ["MODIFY demo-project/foo.py", "DISALLOW *"]

[[steps]]
name = "package"
functionaries = {package_functionaries}
threshold = {package_threshold}
expected_command = ["tar", "--exclude", ".git", "-zcvf", "demo-project.tar.gz", "demo-project"]
materials = ["MATCH demo-project/* WITH PRODUCTS FROM update-version", "DISALLOW *"]
products = ["CREATE demo-project.tar.gz", "DISALLOW *"]

[[inspections]]
name = "untar"
run = ["tar", "xzf", "demo-project.tar.gz"]
materials = ["MATCH demo-project.tar.gz WITH PRODUCTS FROM package", "ALLOW .keep", "ALLOW *.pub", "ALLOW root.layout", "ALLOW *.link", "DISALLOW *"]
products = ["MATCH demo-project/foo.py WITH PRODUCTS FROM update-version", "ALLOW demo-project/.git/*", "ALLOW demo-project.tar.gz", "ALLOW .keep", "ALLOW *.pub", "ALLOW root.layout", "ALLOW *.link", "DISALLOW *"]
"#
    )
}

fn ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap();
    expect_code(&out, 0, what);
}

fn build(tamper: Tamper) -> Chain {
    let dir = tempdir();
    let root = dir.path().to_path_buf();
    let owner = root.join("owner");
    let work = root.join("work");
    fs::create_dir_all(&owner).unwrap();
    fs::create_dir_all(&work).unwrap();
    keyfile(&owner, "alice", "rsa");
    let bob = keyfile(&owner, "bob", "ed25519");
    let carl = keyfile(&owner, "carl", "ecdsa-p256");
    let expires = if tamper == Tamper::Expired {
        "2020-01-01T00:00:00Z"
    } else {
        "30d"
    };
    let threshold = if tamper == Tamper::ThresholdNotMet {
        2
    } else {
        1
    };
    fs::write(owner.join("layout.toml"), layout_toml(expires, threshold)).unwrap();
    ok(
        toto()
            .current_dir(&owner)
            .args(["layout", "new", "layout.toml", "-o", "root.layout"]),
        "layout new",
    );
    ok(
        toto()
            .current_dir(&owner)
            .args(["layout", "sign", "-k", "alice", "root.layout"]),
        "layout sign",
    );

    let run = |step: &str, key: &Path, args: &[&str]| {
        ok(
            toto()
                .current_dir(&work)
                .args(["run", "-n", step, "--format", "metablock", "--signing-key"])
                .arg(key)
                .args(args),
            step,
        )
    };
    run(
        "clone",
        &bob,
        &[
            "-p",
            "demo-project",
            "--",
            "sh",
            "-c",
            "mkdir -p demo-project && printf 'VERSION = \"foo-v0\"\\n' > demo-project/foo.py",
        ],
    );
    run(
        "update-version",
        &bob,
        &[
            "-m",
            "demo-project",
            "-p",
            "demo-project",
            "--",
            "sh",
            "-c",
            "printf 'VERSION = \"foo-v1\"\\n' > demo-project/foo.py",
        ],
    );
    if tamper == Tamper::ModifiedBeforePackage {
        fs::write(work.join("demo-project/foo.py"), "something evil\n").unwrap();
    }
    run(
        "package",
        &carl,
        &[
            "-m",
            "demo-project",
            "-p",
            "demo-project.tar.gz",
            "--",
            "tar",
            "--exclude",
            ".git",
            "-zcvf",
            "demo-project.tar.gz",
            "demo-project",
        ],
    );

    let fin = root.join("final");
    fs::create_dir_all(&fin).unwrap();
    for name in ["root.layout", "alice.pub", "bob.pub", "carl.pub"] {
        fs::copy(owner.join(name), fin.join(name)).unwrap();
    }
    for entry in fs::read_dir(&work).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".link") || name == "demo-project.tar.gz" {
            fs::copy(&path, fin.join(&name)).unwrap();
        }
    }
    match tamper {
        Tamper::MissingLink => {
            let link = fs::read_dir(&fin)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with("package.")
                })
                .unwrap();
            fs::remove_file(link).unwrap();
        }
        Tamper::ReplacedTarball => {
            let evil = root.join("evil");
            fs::create_dir_all(evil.join("demo-project")).unwrap();
            fs::write(evil.join("demo-project/foo.py"), "evil\n").unwrap();
            let status = Command::new("tar")
                .current_dir(&evil)
                .args(["-zcf"])
                .arg(fin.join("demo-project.tar.gz"))
                .arg("demo-project")
                .status()
                .unwrap();
            assert!(status.success());
        }
        _ => {}
    }
    Chain { _dir: dir, root }
}

/// Verifies a copy of the final directory with toto and, when available,
/// with the reference; returns (toto's code, the reference's code, toto's stderr).
fn verdicts(chain: &Chain, layout_key: &str, py: Option<&Path>) -> (i32, Option<i32>, String) {
    let copy = |name: &str| {
        let to = chain.root.join(name);
        fs::create_dir_all(&to).unwrap();
        copy_files(&chain.final_dir(), &to);
        to
    };
    let ours_dir = copy("verify-toto");
    let out = toto_in(
        &ours_dir,
        &[
            "verify",
            "--layout",
            "root.layout",
            "--layout-key",
            layout_key,
        ],
    );
    let ours = out.status.code().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let theirs = py.map(|py| {
        let ref_dir = copy("verify-ref");
        reference_tool(
            py,
            "in-toto-verify",
            &ref_dir,
            &["--layout", "root.layout", "--verification-keys", layout_key],
        )
        .status
        .code()
        .unwrap()
    });
    (ours, theirs, stderr)
}

#[test]
fn demo_chain_verdicts_match_the_reference() {
    let py = python("demo_chain_verdicts_match_the_reference");
    let cases = [
        (Tamper::None, "alice.pub", 0, ""),
        (
            Tamper::ModifiedBeforePackage,
            "alice.pub",
            1,
            "demo-project/foo.py",
        ),
        (Tamper::MissingLink, "alice.pub", 1, "package"),
        (Tamper::WrongLayoutKey, "bob.pub", 1, "not signed by key"),
        (Tamper::Expired, "alice.pub", 1, "expired"),
        (
            Tamper::ThresholdNotMet,
            "alice.pub",
            1,
            "requires links from 2",
        ),
        (Tamper::ReplacedTarball, "alice.pub", 1, "untar"),
    ];
    for (tamper, key, expected, message) in cases {
        let chain = build(tamper);
        let (ours, theirs, stderr) = verdicts(&chain, key, py.as_deref());
        assert_eq!(ours, expected, "toto on {message:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "toto's report should name {message:?}: {stderr}"
        );
        if let Some(theirs) = theirs {
            assert_eq!(
                theirs, expected,
                "in-toto-verify disagrees on case {message:?}"
            );
        }
    }
}
