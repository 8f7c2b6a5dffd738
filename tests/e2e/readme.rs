//! The README's commands, run as written, so the README cannot rot.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn readme_block_after(marker: &str) -> Vec<String> {
    readme_block(marker)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn readme_main_job_is_the_demo_and_it_passes() {
    let lines = readme_block_after("<!-- main-job -->");
    assert_eq!(lines.len(), 1, "one command: {lines:?}");
    let (cargo, toto_args) = lines[0].split_once(" -- ").expect("cargo run … -- ARGS");
    assert!(cargo.starts_with("cargo run"), "{cargo}");
    let dir = tempdir();
    let out = toto()
        .args(shell_words(toto_args))
        .args(["--dir"])
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    expect_stdout(
        &out,
        0,
        &[
            "Verified: the supply chain of root.layout holds.",
            "materials artifact \"demo-project/foo.py\" was not consumed by \
             \"MATCH demo-project/* WITH PRODUCTS FROM update-version\": its digest sha256:",
            "toto caught the tampering",
        ],
        "toto demo",
    );
    assert!(dir.path().join("demo/client/root.layout").exists());
    // Run again in the same place: refused, not clobbered.
    let again = toto()
        .arg("demo")
        .arg("--dir")
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    expect_code(&again, 2, "demo into a used directory");
}

#[test]
fn readme_test_command_is_the_ci_command() {
    let ci = repo_text(".ci/run");
    let readme = repo_text("README.md");
    assert!(readme.contains("```sh\nscripts/test\n```"));
    assert!(ci.contains("exec scripts/test"));
}

/// docs/layout-format.md's TOML and YAML examples are valid and describe the
/// same layout.
#[test]
fn layout_format_examples_build_the_same_layout() {
    let doc = repo_text("docs/layout-format.md");
    let block = |lang: &str| {
        let start = doc.find(&format!("```{lang}\n")).unwrap() + lang.len() + 4;
        let len = doc[start..].find("```").unwrap();
        doc[start..start + len].to_owned()
    };
    let dir = tempdir();
    fs::create_dir_all(dir.path().join("keys")).unwrap();
    let out = toto_in(
        &dir.path().join("keys"),
        &["key", "generate", "-o", "carol"],
    );
    expect_code(&out, 0, "key generate");
    fs::write(dir.path().join("chain.toml"), block("toml")).unwrap();
    fs::write(dir.path().join("chain.yaml"), block("yaml")).unwrap();
    for (input, output) in [("chain.toml", "t.layout"), ("chain.yaml", "y.layout")] {
        let out = toto_in(dir.path(), &["layout", "new", input, "-o", output]);
        expect_code(&out, 0, input);
    }
    let read = |name: &str| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join(name)).unwrap()).unwrap();
        // Relative expiry: computed at each run.
        v["signed"]["expires"] = serde_json::Value::Null;
        v
    };
    assert_eq!(read("t.layout"), read("y.layout"));
}

/// docs/layout-format.md's X.509 functionaries example builds, with
/// in-toto-golang's test CA as its `ca/` files, into a layout with its
/// root, intermediate and constraint.
#[test]
fn layout_format_x509_example_builds() {
    let doc = repo_text("docs/layout-format.md");
    let section = &doc[doc.find("## X.509 functionaries").unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let toml = &section[start..start + section[start..].find("```").unwrap()];
    let dir = tempdir();
    let golang = crate::common::repo_path("testdata/peers/in-toto-golang");
    fs::create_dir_all(dir.path().join("ca")).unwrap();
    for (from, to) in [
        ("root.cert.pem", "ca/root.pem"),
        ("example.com.intermediate.cert.pem", "ca/intermediate.pem"),
    ] {
        fs::copy(golang.join(from), dir.path().join(to)).unwrap();
    }
    fs::write(dir.path().join("x509.toml"), toml).unwrap();
    let out = toto_in(
        dir.path(),
        &["layout", "new", "x509.toml", "-o", "x.layout"],
    );
    expect_code(&out, 0, "layout new x509.toml");
    let layout: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("x.layout")).unwrap()).unwrap();
    let signed = &layout["signed"];
    assert_eq!(signed["rootcas"].as_object().unwrap().len(), 1);
    assert_eq!(signed["intermediatecas"].as_object().unwrap().len(), 1);
    assert_eq!(
        signed["steps"][0]["cert_constraints"][0]["uris"],
        serde_json::json!(["spiffe://example.com/write-code"])
    );
}

/// The README's `<!-- tour -->` blocks, in order.
fn tour_blocks() -> Vec<String> {
    let readme = repo_text("README.md");
    readme
        .split("<!-- tour -->\n")
        .skip(1)
        .map(|part| {
            let body = part
                .strip_prefix("```sh\n")
                .expect("a sh block after the marker");
            body[..body.find("```").unwrap()].to_owned()
        })
        .collect()
}

/// Every regular file under `dir`, with its content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = fs::read(&path).unwrap();
                files.insert(path.strip_prefix(dir).unwrap().to_owned(), bytes);
            }
        }
    }
    files
}

/// A shell whose `toto` is the binary under test.
fn sh(dir: &Path, script: &str) -> std::process::Output {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_toto")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("TOTO_KEY_PASSWORD")
        .output()
        .unwrap()
}

/// The tour, pasted block by block into an empty directory: every block
/// succeeds, none overwrites what an earlier one wrote, the chain verifies,
/// and the artifact the layout protects cannot be changed unnoticed.
#[test]
fn readme_tour_runs_as_written_in_an_empty_directory_and_catches_a_changed_app() {
    let blocks = tour_blocks();
    assert_eq!(blocks.len(), 3, "{blocks:?}");
    let dir = tempdir();
    let mut written_by: BTreeMap<PathBuf, (usize, Vec<u8>)> = BTreeMap::new();
    for (n, block) in blocks.iter().enumerate() {
        let out = sh(dir.path(), block);
        expect_code(&out, 0, &format!("tour block {}:\n{block}", n + 1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("warning"), "block {}: {stderr}", n + 1);
        for (path, bytes) in snapshot(dir.path()) {
            match written_by.get(&path) {
                Some((earlier, old)) if *earlier != n && *old != bytes => panic!(
                    "tour block {} overwrites {} written by block {}",
                    n + 1,
                    path.display(),
                    earlier + 1
                ),
                Some(_) => {}
                None => {
                    written_by.insert(path, (n, bytes));
                }
            }
        }
    }
    let verify = blocks.last().unwrap().lines().last().unwrap();
    assert!(verify.starts_with("toto verify "), "{verify}");

    // An attacker changes the delivered dist/app.
    let mut app = fs::read(dir.path().join("dist/app")).unwrap();
    app.extend_from_slice(b"import evil\n");
    fs::write(dir.path().join("dist/app"), app).unwrap();
    let out = sh(dir.path(), verify);
    // The message names the cause, as the README says.
    expect_error(
        &out,
        1,
        "inspection \"check-app\": materials artifact \"dist/app\" was not consumed by \
         \"MATCH dist/app WITH PRODUCTS FROM build\": its digest sha256:",
        "a changed dist/app",
    );
    expect_error(
        &out,
        1,
        "\"DISALLOW dist/app\" then refused it",
        "a changed dist/app",
    );
}

/// docs/layout-format.md's example, played: CI builds `app` keylessly (as
/// the GitHub workflow it names, from the testbed), Carol packages it, the
/// verifier's inspection unpacks it. Verified; a replaced `app.tar` is not.
#[test]
fn layout_format_example_verifies_and_catches_a_replaced_tarball() {
    let doc = repo_text("docs/layout-format.md");
    let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
    let toml = &doc[start..start + doc[start..].find("```").unwrap()];
    let scratch = tempdir();
    let tb = start_testbed(scratch.path());
    let dir = tempdir();
    let d = dir.path();
    fs::create_dir_all(d.join("keys")).unwrap();
    let out = toto()
        .current_dir(d.join("keys"))
        .args(["key", "generate", "-o", "carol"])
        .output()
        .unwrap();
    expect_code(&out, 0, "key generate");
    let layout = d.join("root.layout");
    let out = toto()
        .current_dir(d)
        .args(["layout", "new"])
        .arg(write(&d.join("chain.toml"), toml))
        .arg("-o")
        .arg(&layout)
        .output()
        .unwrap();
    expect_code(&out, 0, "layout new");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
    let owner = scratch.path().join("owner");
    generate_key(&owner, &[]);
    let out = toto()
        .args(["layout", "sign", "--key"])
        .arg(&owner)
        .arg(&layout)
        .output()
        .unwrap();
    expect_code(&out, 0, "layout sign");

    let work = d.join("work");
    fs::create_dir_all(work.join("src")).unwrap();
    fs::write(work.join("src/main.c"), "int main(void) { return 0; }\n").unwrap();
    let ci = tb
        .token(&testbed::TokenRequest {
            github_workflow: Some("org/app/.github/workflows/release.yml@refs/heads/main".into()),
            ..Default::default()
        })
        .unwrap();
    let out = toto()
        .current_dir(&work)
        .args(["run", "-n", "build"])
        .args(keyless(&tb, &ci))
        .args(["-m", "src", "-p", "app", "--", "cp", "src/main.c", "app"])
        .output()
        .unwrap();
    expect_code(&out, 0, "build, keyless as the release workflow");
    let out = toto()
        .current_dir(&work)
        .args(["run", "-n", "package", "--key", "../keys/carol"])
        .args([
            "-m", "app", "-p", "app.tar", "--", "tar", "cf", "app.tar", "app",
        ])
        .output()
        .unwrap();
    expect_code(&out, 0, "package");
    let verify = || {
        toto()
            .current_dir(&work)
            .args(["verify", "--layout"])
            .arg(&layout)
            .arg("--layout-key")
            .arg(owner.with_extension("pub"))
            .arg("--trusted-root")
            .arg(tb.trusted_root_path())
            .output()
            .unwrap()
    };
    expect_code(&verify(), 0, "the example's chain verifies");

    // The attacker replaces the delivered app.tar with one holding another app.
    let evil = scratch.path().join("evil");
    fs::create_dir_all(&evil).unwrap();
    fs::write(evil.join("app"), "int main(void) { return 1; }\n").unwrap();
    let out = Command::new("tar")
        .current_dir(&evil)
        .args(["cf", "app.tar", "app"])
        .output()
        .unwrap();
    expect_code(&out, 0, "tar");
    fs::copy(evil.join("app.tar"), work.join("app.tar")).unwrap();
    expect_error(&verify(), 1, "DISALLOW app.tar", "a replaced app.tar");
}
