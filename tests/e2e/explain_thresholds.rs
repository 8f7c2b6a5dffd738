//! A step whose threshold is not met says what was found: each candidate
//! link file with why it did not count, or the names looked for and where
//! (#19). A link whose command failed is a warning, or with
//! `--require-success` a failure. Every hostile link is validly signed and
//! breaks one thing.

use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::{json, Value};

use crate::common::{
    expect_code, expect_error, generate_key, python, reference_tool, tempdir, toto_in,
};

/// A new key pair `name`(.pub) in `dir`; returns its full key id.
fn key(dir: &Path, name: &str) -> String {
    generate_key(&dir.join(name), &[]);
    let id = toto_in(dir, &["key", "id", &format!("{name}.pub")]);
    expect_code(&id, 0, "key id");
    String::from_utf8(id.stdout).unwrap().trim().to_owned()
}

/// A fresh directory holding `links/`, the layout owner's key `alice` and
/// the keys `names`; returns it and the keys' ids.
fn project<const N: usize>(names: [&str; N]) -> (tempfile::TempDir, [String; N]) {
    let dir = tempdir();
    fs::create_dir(dir.path().join("links")).unwrap();
    key(dir.path(), "alice");
    let ids = names.map(|name| key(dir.path(), name));
    (dir, ids)
}

/// `toto ARGS` in `dir`, which must exit with `code`.
#[track_caller]
fn sh(dir: &Path, code: i32, args: &[&str]) {
    expect_code(&toto_in(dir, args), code, &args.join(" "));
}

/// `root.layout`, signed by `alice`, with the one step `build` performed
/// by `functionaries` (key names), `threshold` of them.
fn layout(root: &Path, functionaries: &[&str], threshold: usize) {
    let list: Vec<String> = functionaries
        .iter()
        .map(|f| format!("\"{f}.pub\""))
        .collect();
    fs::write(
        root.join("chain.toml"),
        format!(
            "expires = \"30d\"\n[[steps]]\nname = \"build\"\nfunctionaries = [{}]\nthreshold = {threshold}\n",
            list.join(", ")
        ),
    )
    .unwrap();
    sh(
        root,
        0,
        &["layout", "new", "chain.toml", "-o", "root.layout"],
    );
    sh(root, 0, &["layout", "sign", "-k", "alice", "root.layout"]);
}

/// `toto verify` of `root.layout` against the links in `root/links`.
fn verify(root: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify",
        "-l",
        "root.layout",
        "-k",
        "alice.pub",
        "--link-dir",
        "links",
    ];
    args.extend(extra);
    toto_in(root, &args)
}

/// The JSON report of a verification.
fn json_report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Records step `step` in `root` signed by `key` (id `id`; product
/// `foo.txt`, no command) and moves its link into `root/links` under the
/// name of `build`'s link by `as_id`; returns that name.
fn record(root: &Path, step: &str, key: &str, id: &str, as_id: &str) -> String {
    sh(
        root,
        0,
        &["run", "-n", step, "-k", key, "-p", "foo.txt", "-x"],
    );
    let file = format!("build.{}.link", &as_id[..8]);
    fs::rename(
        root.join(format!("{step}.{}.link", &id[..8])),
        root.join("links").join(&file),
    )
    .unwrap();
    file
}

/// Threshold 2 of bob, carol, dave, erin and frank, and a stranger's link:
/// bob's is the only one that counts. carol's is a link of step `test`
/// under her name for `build`, dave's signature is broken, erin's product
/// differs from bob's, frank's file holds the stranger's link, and the
/// stranger's own link names no functionary. The message and the JSON
/// report name each file and why.
#[test]
fn a_threshold_not_met_lists_each_candidate_link_and_why_it_did_not_count() {
    let (dir, [bob, carol, dave, erin, frank, stranger]) =
        project(["bob", "carol", "dave", "erin", "frank", "stranger"]);
    let root = dir.path();
    layout(root, &["bob", "carol", "dave", "erin", "frank"], 2);
    fs::write(root.join("foo.txt"), "v1").unwrap();
    let good = record(root, "build", "bob", &bob, &bob);
    let other_step = record(root, "test", "carol", &carol, &carol);
    let bad_signature = record(root, "build", "dave", &dave, &dave);
    let wrong_key = record(root, "build", "stranger", &stranger, &frank);
    let by_stranger = record(root, "build", "stranger", &stranger, &stranger);
    fs::write(root.join("foo.txt"), "v2").unwrap();
    let disagreeing = record(root, "build", "erin", &erin, &erin);
    // dave's signature (base64), another first character.
    let path = root.join("links").join(&bad_signature);
    let mut envelope: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let sig = envelope["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = if sig.starts_with('A') { "B" } else { "A" };
    envelope["signatures"][0]["sig"] = format!("{first}{}", &sig[1..]).into();
    fs::write(&path, serde_json::to_vec(&envelope).unwrap()).unwrap();
    let digest = |text: &str| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text));
    let refusals = [
        format!("links/{other_step}: link is for step \"test\""),
        format!(
            "links/{bad_signature}: not signed by functionary {}: bad signature (the signature under its key id does not verify)",
            &dave[..8]
        ),
        format!(
            "links/{disagreeing}: disagrees with links/{good}: product \"foo.txt\" has digest sha256:{}…, not sha256:{}…",
            &digest("v2")[..16],
            &digest("v1")[..16]
        ),
        format!(
            "links/{wrong_key}: not signed by functionary {}: wrong key (the signature names key \"{stranger}\")",
            &frank[..8]
        ),
        format!(
            "links/{by_stranger}: wrong key: the signature names key \"{stranger}\", no functionary of step \"build\""
        ),
    ];

    let out = verify(root, &[]);
    expect_code(&out, 1, "threshold 2 with one good link");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "step \"build\" requires links from 2 distinct functionaries, found 1 valid (links/{good})\n"
        )),
        "{stderr}"
    );
    for refusal in &refusals {
        let line = format!("\n  refused {refusal}\n");
        assert!(stderr.contains(&line), "{line}\n{stderr}");
    }

    let out = verify(root, &["--format", "json"]);
    expect_code(&out, 1, "threshold 2 with one good link (json)");
    let failure = &json_report(&out)["failure"];
    assert_eq!(failure["kind"], "threshold");
    assert_eq!(failure["step"], "build");
    assert_eq!(failure["required"], 2);
    assert_eq!(failure["found"], json!([format!("links/{good}")]));
    let mut refused: Vec<&str> = failure["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    refused.sort_unstable();
    let mut expected: Vec<&str> = refusals.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(refused, expected);
    assert_eq!(failure["missing"], json!([]));
    assert_eq!(failure["directory"], "links");
}

/// No link at all: the message says which file names were looked for, and
/// in which directory; with one link of two, the other is named absent.
#[test]
fn no_link_found_names_the_files_looked_for_and_the_directory() {
    let (dir, [bob, carol]) = project(["bob", "carol"]);
    let root = dir.path();
    layout(root, &["bob", "carol"], 2);
    let names = [
        format!("build.{}.link", &bob[..8]),
        format!("build.{}.link", &carol[..8]),
    ];

    let needle = format!(
        "step \"build\" requires links from 2 distinct functionaries, found 0 valid\n  no link found: looked for {}, {} in directory links\n",
        names[0], names[1]
    );
    expect_error(&verify(root, &[]), 1, &needle, "an empty link directory");

    let out = verify(root, &["--format", "json"]);
    expect_code(&out, 1, "an empty link directory (json)");
    let failure = &json_report(&out)["failure"];
    assert_eq!(failure["kind"], "threshold");
    assert_eq!(failure["missing"], json!(names));
    assert_eq!(failure["directory"], "links");
    assert_eq!(failure["refused"], json!([]));

    fs::write(root.join("foo.txt"), "v1").unwrap();
    record(root, "build", "bob", &bob, &bob);
    let needle = format!(
        "found 1 valid (links/{})\n  not found in directory links: {}\n",
        names[0], names[1]
    );
    expect_error(&verify(root, &[]), 1, &needle, "carol's link absent");
}

/// A link recording a command that exited with 3, as a Statement (link
/// v0.3) and as a classic Metablock: verified with a warning naming the
/// step, the link and the return value, as in-toto-verify verifies it
/// (it does not look at return values); with `--require-success`, refused.
#[test]
fn a_failed_command_warns_and_fails_with_require_success() {
    let py = python("a_failed_command_warns_and_fails_with_require_success");
    for encoding in ["statement", "metablock"] {
        let (dir, [bob]) = project(["bob"]);
        let root = dir.path();
        layout(root, &["bob"], 1);
        let run = [
            "run",
            "-n",
            "build",
            "-k",
            "bob",
            "--encoding",
            encoding,
            "-d",
            "links",
            "--",
            "sh",
            "-c",
            "exit 3",
        ];
        sh(root, 3, &run);
        let file = format!("links/build.{}.link", &bob[..8]);
        let warning =
            format!("step \"build\": the command recorded in {file} failed (return value 3)");

        expect_error(&verify(root, &[]), 0, &warning, encoding);

        let out = verify(root, &["--format", "json"]);
        expect_code(&out, 0, encoding);
        let report = json_report(&out);
        assert_eq!(report["verified"], true);
        let warnings = report["warnings"].as_array().unwrap();
        assert!(
            warnings
                .iter()
                .any(|w| w.as_str().unwrap().starts_with(&warning)),
            "{encoding}: {warnings:?}"
        );

        let needle = format!("{warning}; --require-success refuses failed commands");
        expect_error(&verify(root, &["--require-success"]), 1, &needle, encoding);

        let out = verify(root, &["--require-success", "--format", "json"]);
        expect_code(&out, 1, encoding);
        let report = json_report(&out);
        assert_eq!(report["verified"], false);
        assert_eq!(
            report["failure"],
            json!({
                "kind": "command_failed",
                "step": "build",
                "link": file,
                "return_value": 3
            })
        );

        if let (Some(py), "metablock") = (&py, encoding) {
            let theirs = reference_tool(
                py,
                "in-toto-verify",
                root,
                &[
                    "-l",
                    "root.layout",
                    "--verification-keys",
                    "alice.pub",
                    "--link-dir",
                    "links",
                ],
            );
            expect_code(&theirs, 0, "in-toto-verify of a failed command");
        }
    }
}

/// A FIFO named like a link of `build` (for no functionary) is examined
/// through the bounded reader: reported unreadable, never waited on.
#[test]
fn a_fifo_named_like_a_link_is_reported_not_waited_on() {
    let (dir, [bob]) = project(["bob"]);
    let root = dir.path();
    layout(root, &["bob"], 1);
    crate::reading::mkfifo(&root.join("links/build.0000f1f0.link"));
    let out = verify(root, &[]);
    let needle = "\n  refused links/build.0000f1f0.link: unreadable: ";
    expect_error(&out, 1, needle, "a FIFO named like a link");
    let needle = format!("\n  not found in directory links: build.{}.link", &bob[..8]);
    expect_error(&out, 1, &needle, "a FIFO named like a link");
}

/// A failed command inside a sublayout (bob's link of `build` is a layout
/// whose step `compile` carl performs): one warning, naming the inner step
/// and link (the summary link standing for the sublayout is not warned
/// about again); with `--require-success` the sublayout fails with it.
#[test]
fn a_failed_command_inside_a_sublayout_warns_once() {
    let (dir, [bob, carl]) = project(["bob", "carl"]);
    let root = dir.path();
    layout(root, &["bob"], 1);
    fs::write(
        root.join("inner.toml"),
        "expires = \"30d\"\n[[steps]]\nname = \"compile\"\nfunctionaries = [\"carl.pub\"]\n",
    )
    .unwrap();
    let sublayout = format!("links/build.{}.link", &bob[..8]);
    sh(root, 0, &["layout", "new", "inner.toml", "-o", &sublayout]);
    sh(root, 0, &["layout", "sign", "-k", "bob", &sublayout]);
    let subdir = format!("links/build.{}", &bob[..8]);
    fs::create_dir(root.join(&subdir)).unwrap();
    let run = [
        "run", "-n", "compile", "-k", "carl", "-d", &subdir, "--", "sh", "-c", "exit 3",
    ];
    sh(root, 3, &run);
    let link = format!("{subdir}/compile.{}.link", &carl[..8]);

    let out = verify(root, &["--format", "json"]);
    expect_code(&out, 0, "a failed command in a sublayout");
    let report = json_report(&out);
    let failed: Vec<&Value> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w.as_str().unwrap().contains("failed (return value"))
        .collect();
    let warning =
        format!("step \"compile\": the command recorded in {link} failed (return value 3)");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].as_str().unwrap().starts_with(&warning),
        "{failed:?}"
    );

    let out = verify(root, &["--require-success", "--format", "json"]);
    expect_code(
        &out,
        1,
        "a failed command in a sublayout, --require-success",
    );
    assert_eq!(
        json_report(&out)["failure"],
        json!({
            "kind": "sublayout",
            "step": "build",
            "inner": {
                "kind": "command_failed",
                "step": "compile",
                "link": link,
                "return_value": 3
            }
        })
    );
}
