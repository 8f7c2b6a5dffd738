//! The README's commands, run as written, so the README cannot rot.

use std::fs;

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
            "rule \"DISALLOW *\" matched materials artifact \"demo-project/foo.py\"",
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
