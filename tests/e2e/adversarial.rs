//! `testdata/adversarial/`: every hostile input (made by
//! `scripts/gen-adversarial`) gives its declared outcome — the exit code of
//! its category and a message naming it — in bounded time, without a panic.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;

fn corpus() -> PathBuf {
    repo_path("testdata/adversarial")
}

fn field<'a>(sidecar: &'a str, name: &str) -> &'a str {
    sidecar
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("sidecar lacks {name}: {sidecar}"))
}

fn run(kind: &str, input: &Path, keys: &Path, empty: &Path) -> std::process::Output {
    let signer = keys.join("signer.pub");
    let mut cmd = toto();
    match kind {
        "envelope" => cmd
            .args(["envelope", "verify", "--key"])
            .arg(&signer)
            .arg(input),
        "metablock" => cmd
            .args(["sign", "--verify", "-f"])
            .arg(input)
            .arg("-k")
            .arg(&signer),
        "link" => cmd
            .args(["match-products", "--link"])
            .arg(input)
            .arg("--paths")
            .arg(empty),
        "key" => cmd.args(["key", "id"]).arg(input),
        "layout" => cmd
            .current_dir(empty)
            .args(["verify", "--layout"])
            .arg(input)
            .arg("--layout-key")
            .arg(&signer)
            .arg("--link-dir")
            .arg(empty),
        "chain" => cmd
            .current_dir(input)
            .args(["verify", "--layout", "root.layout", "--layout-key"])
            .arg(&signer),
        other => panic!("unknown kind {other}"),
    };
    cmd.output().unwrap()
}

#[test]
fn every_hostile_input_gives_its_declared_outcome() {
    let dir = corpus();
    let keys = dir.join("keys");
    let empty = tempdir();
    let mut sidecars: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "expect"))
        .collect();
    sidecars.sort();
    assert!(
        sidecars.len() >= 200,
        "at least 200 hostile inputs, found {}",
        sidecars.len()
    );
    let mut wrong = Vec::new();
    for sidecar in &sidecars {
        let text = fs::read_to_string(sidecar).unwrap();
        let (kind, expect) = (field(&text, "kind"), field(&text, "expect"));
        let input = sidecar.with_extension("");
        let started = Instant::now();
        let out = run(kind, &input, &keys, empty.path());
        let elapsed = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        let (want_code, want_text) = match expect {
            "malformed" => (2, "error"),
            "signature" => (1, "signature"),
            "policy" => (1, "verification failed"),
            "verified" => (0, ""),
            other => panic!("unknown expectation {other}"),
        };
        let name = input.file_name().unwrap().to_string_lossy();
        if code != Some(want_code) || !stderr.contains(want_text) || stderr.contains("panicked") {
            wrong.push(format!(
                "{name} ({kind}, expect {expect}): exit {code:?}: {stderr}"
            ));
        }
        if elapsed > Duration::from_secs(20) {
            wrong.push(format!("{name}: took {elapsed:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        sidecars.len(),
        wrong.join("\n")
    );
}
