//! A CLI that never surprises (issue #19): no hidden timeout on `toto run`
//! (the reference's 10 s only under its name, `in-toto-run`), one trust
//! config for signing and verifying, one meaning per flag (`--format` is
//! the output format, `--encoding` the link or layout encoding), and
//! `--format json` on every command that prints a result.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{
    expect_code, expect_error, generate_key, help_of, python, start_testbed, tempdir, token, toto,
    verify_attestation, verify_bundle, write, VerifyFlags,
};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The one JSON object a `--format json` run printed on stdout.
#[track_caller]
fn json_of(out: &Output, what: &str) -> Value {
    expect_code(out, 0, what);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{what}: one line of JSON: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}

/// A key pair `dir/NAME`(.pub).
fn key(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    generate_key(&path, &[]);
    path
}

/// A new directory with a key pair `k`(.pub) in it.
fn tempdir_with_key() -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    let key = key(dir.path(), "k");
    (dir, key)
}

/// `toto run -n STEP -k KEY ARGS` in `dir`.
fn run_in(dir: &Path, step: &str, key: &Path, args: &[&str]) -> Output {
    toto()
        .current_dir(dir)
        .args(["run", "-n", step, "-k"])
        .arg(key)
        .args(args)
        .output()
        .unwrap()
}

/// A link file the step wrote in `dir` (`<step>.<id8>.link`).
fn link_of(dir: &Path, step: &str) -> Value {
    let path = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(&format!("{step}.")) && name.ends_with(".link")
        })
        .unwrap_or_else(|| panic!("no link of {step} in {}", dir.display()));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

// 1. No default timeout for `toto run`.

/// A build longer than 10 s was killed by a default nobody asked for.
#[test]
fn a_step_longer_than_ten_seconds_is_not_killed_by_a_default_timeout() {
    let (dir, key) = tempdir_with_key();
    let out = run_in(dir.path(), "slow", &key, &["--", "sleep", "11"]);
    expect_code(&out, 0, "an 11-second step under `toto run`");
    assert_eq!(
        link_of(dir.path(), "slow")["payloadType"],
        "application/vnd.in-toto+json"
    );
}

/// `--timeout N` kills the step, and the message names the flag.
#[test]
fn an_explicit_timeout_kills_the_step_and_names_the_flag() {
    let (dir, key) = tempdir_with_key();
    let out = run_in(
        dir.path(),
        "slow",
        &key,
        &["--timeout", "1", "--", "sleep", "5"],
    );
    expect_error(
        &out,
        1,
        "command sleep timed out after 1 s (--timeout 1) and was killed; raise or remove --timeout",
        "--timeout 1 on a 5-second step",
    );
}

/// `toto install-compat`'s `in-toto-run` keeps the reference's 10-second
/// limit (said with -v, so the test need not wait 10 s), and its
/// `--run-timeout` replaces it; `toto run` says nothing of a limit.
#[test]
fn in_toto_run_keeps_the_reference_ten_second_default() {
    let (dir, key) = tempdir_with_key();
    let bin = dir.path().join("bin");
    let out = toto().arg("install-compat").arg(&bin).output().unwrap();
    expect_code(&out, 0, "install-compat");
    let in_toto_run = |args: &[&str]| {
        std::process::Command::new(bin.join("in-toto-run"))
            .current_dir(dir.path())
            .args(["-v", "--step-name", "s", "--signing-key"])
            .arg(&key)
            .args(args)
            .output()
            .unwrap()
    };
    let out = in_toto_run(&["--", "true"]);
    expect_error(
        &out,
        0,
        "the command is killed after 10 s (--timeout 10)",
        "in-toto-run's default",
    );
    for given in [&["--run-timeout", "1"][..], &["--timeout=1"], &["-st", "1"]] {
        let out = in_toto_run(&[given, &["--", "sleep", "5"][..]].concat());
        expect_error(
            &out,
            1,
            "timed out after 1 s (--timeout 1)",
            &format!("in-toto-run {given:?}"),
        );
    }
    let out = run_in(dir.path(), "t", &key, &["-v", "--", "true"]);
    expect_code(&out, 0, "toto run -v");
    assert!(!stderr(&out).contains("killed after"), "{}", stderr(&out));
    let help = help_of(&["run"]);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("Default: no limit"), "{help}");
}

// 2. One trust config for signing and verifying.

/// A bundle signed in an environment (TOTO_TRUST_CONFIG naming the
/// testbed) verifies in that environment with no --trusted-root; under
/// another instance's trust config it is refused; --trusted-root wins over
/// the environment.
/// `check` under the trust config `ours` passes, under `theirs` (another
/// testbed's) fails.
#[track_caller]
fn passes_only_under(ours: &Path, theirs: &Path, what: &str, check: impl Fn(&Path) -> Output) {
    expect_code(&check(ours), 0, &format!("{what}, same environment"));
    expect_code(
        &check(theirs),
        1,
        &format!("{what} under another instance's trust config"),
    );
}

#[test]
fn a_bundle_verifies_in_the_trust_config_environment_that_signed_it() {
    let dir = tempdir();
    let tb = start_testbed(dir.path());
    let other_dir = dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = start_testbed(&other_dir);
    let artifact = write(&dir.path().join("app.bin"), "release\n");
    let env = tb.trust_config_path();
    let t = token(&tb, "alice@example.com");

    let out = toto()
        .env("TOTO_TRUST_CONFIG", &env)
        .args(["sign-blob", "--keyless", "--identity-token", &t])
        .arg(&artifact)
        .output()
        .unwrap();
    expect_code(&out, 0, "sign-blob with TOTO_TRUST_CONFIG only");
    let bundle = dir.path().join("app.bin.sigstore.json");
    let check = |config: &Path, extra: &[&Path]| {
        let mut c = verify_bundle(&bundle);
        c.env("TOTO_TRUST_CONFIG", config)
            .signer("alice@example.com", tb.issuer());
        for root in extra {
            c.trusted_root(root);
        }
        c.arg(&artifact).output().unwrap()
    };
    // Where the trusted root comes from is said, unless -q.
    expect_error(
        &check(&env, &[]),
        0,
        &format!(
            "verifying against the trusted root of trust config {}",
            env.display()
        ),
        "verify-bundle, same environment",
    );
    let out = check(&other.trust_config_path(), &[]);
    expect_code(
        &out,
        1,
        "verify-bundle under another instance's trust config",
    );
    let out = check(&other.trust_config_path(), &[&tb.trusted_root_path()]);
    expect_code(&out, 0, "--trusted-root wins over TOTO_TRUST_CONFIG");
    assert!(!stderr(&out).contains("trust config"), "{}", stderr(&out));
    let out = verify_bundle(&bundle)
        .env("TOTO_TRUST_CONFIG", other.trust_config_path())
        .arg("--trust-config")
        .arg(&env)
        .signer("alice@example.com", tb.issuer())
        .arg(&artifact)
        .output()
        .unwrap();
    expect_code(&out, 0, "--trust-config wins over TOTO_TRUST_CONFIG");
    let out = verify_bundle(&bundle)
        .env_remove("TOTO_TRUST_CONFIG")
        .env("XDG_CACHE_HOME", dir.path().join("empty-cache"))
        .signer("alice@example.com", tb.issuer())
        .arg(&artifact)
        .output()
        .unwrap();
    expect_code(&out, 1, "no trust config: the public-good root");

    // An attestation.
    let attestation = dir.path().join("app.intoto.sigstore.json");
    let out = toto()
        .env("TOTO_TRUST_CONFIG", &env)
        .args(["attest", "--keyless", "--identity-token", &t])
        .args(["--predicate-type", "https://example.com/p/v1", "--subject"])
        .arg(&artifact)
        .arg("-o")
        .arg(&attestation)
        .output()
        .unwrap();
    expect_code(&out, 0, "attest with TOTO_TRUST_CONFIG only");
    let check = |config: &Path| {
        verify_attestation(&attestation)
            .env("TOTO_TRUST_CONFIG", config)
            .signer("alice@example.com", tb.issuer())
            .subject(&artifact)
            .output()
            .unwrap()
    };
    passes_only_under(
        &env,
        &other.trust_config_path(),
        "verify-attestation",
        check,
    );

    // A keyless functionary's link, checked by `toto verify`.
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    write(&work.join("out.txt"), "built\n");
    let out = toto()
        .current_dir(&work)
        .env("TOTO_TRUST_CONFIG", &env)
        .args(["run", "-n", "build", "--keyless", "--identity-token", &t])
        .args(["-p", "out.txt", "-x"])
        .output()
        .unwrap();
    expect_code(&out, 0, "run --keyless with TOTO_TRUST_CONFIG only");
    let toml = write(
        &dir.path().join("layout.toml"),
        &format!(
            "expires = \"30d\"\n[[steps]]\nname = \"build\"\n\
             identities = [{{ identity = \"alice@example.com\", issuer = \"{}\" }}]\n\
             products = [\"CREATE out.txt\", \"DISALLOW *\"]\n",
            tb.issuer()
        ),
    );
    let (owner, layout) = (dir.path().join("owner"), dir.path().join("root.layout"));
    crate::common::owner_signed_layout(&toml, &owner, &layout);
    let check = |config: &Path| {
        toto()
            .env("TOTO_TRUST_CONFIG", config)
            .args(["verify", "--layout"])
            .arg(&layout)
            .arg("--layout-key")
            .arg(owner.with_extension("pub"))
            .arg("--link-dir")
            .arg(&work)
            .output()
            .unwrap()
    };
    passes_only_under(&env, &other.trust_config_path(), "verify", check);
    // Said in --help, with the precedence.
    for command in ["verify", "verify-bundle", "verify-attestation"] {
        let help = help_of(&[command]);
        assert!(
            help.contains("--trust-config") && help.contains("TOTO_TRUST_CONFIG"),
            "{command} --help: {help}"
        );
    }
}

// 3. One meaning per flag name.

/// `--format metablock` still chooses the encoding, with a note;
/// `--encoding` is the name, and `--format` the output format.
#[test]
fn format_for_the_encoding_is_deprecated_in_favour_of_encoding() {
    let (dir, key) = tempdir_with_key();
    let old = dir.path().join("old");
    std::fs::create_dir_all(&old).unwrap();
    let out = run_in(&old, "a", &key, &["--format", "metablock", "-x"]);
    expect_error(
        &out,
        0,
        "--format for the encoding is deprecated; use --encoding metablock",
        "run --format metablock",
    );
    assert!(link_of(&old, "a").get("signed").is_some(), "a Metablock");

    let new = dir.path().join("new");
    std::fs::create_dir_all(&new).unwrap();
    let out = run_in(&new, "a", &key, &["--encoding", "metablock", "-x"]);
    expect_code(&out, 0, "run --encoding metablock");
    assert!(!stderr(&out).contains("deprecated"), "{}", stderr(&out));
    assert!(link_of(&new, "a").get("signed").is_some(), "a Metablock");

    let out = run_in(
        &new,
        "b",
        &key,
        &["--format", "json", "--encoding", "dsse-link", "-x"],
    );
    assert_eq!(json_of(&out, "run --format json")["encoding"], "dsse-link");

    let out = run_in(
        &new,
        "c",
        &key,
        &["--format", "metablock", "--encoding", "dsse-link", "-x"],
    );
    expect_error(&out, 2, "give only --encoding", "two encodings");

    // layout sign.
    let toml = write(
        &dir.path().join("l.toml"),
        "expires = \"30d\"\n[[steps]]\nname = \"a\"\nfunctionaries = [\"k.pub\"]\n",
    );
    let layout = dir.path().join("root.layout");
    let out = toto()
        .args(["layout", "new"])
        .arg(&toml)
        .arg("-o")
        .arg(&layout)
        .output()
        .unwrap();
    expect_code(&out, 0, "layout new");
    let sign = |args: &[&str], output: &str| {
        toto()
            .args(["layout", "sign", "-k"])
            .arg(&key)
            .args(args)
            .arg("-o")
            .arg(dir.path().join(output))
            .arg(&layout)
            .output()
            .unwrap()
    };
    let out = sign(&["--format", "dsse"], "old.layout");
    expect_error(
        &out,
        0,
        "--format for the encoding is deprecated; use --encoding dsse",
        "layout sign --format dsse",
    );
    let out = sign(&["--encoding", "dsse"], "new.layout");
    expect_code(&out, 0, "layout sign --encoding dsse");
    assert!(!stderr(&out).contains("deprecated"), "{}", stderr(&out));
    for name in ["old.layout", "new.layout"] {
        let signed: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(name)).unwrap()).unwrap();
        assert!(signed.get("payloadType").is_some(), "{name} is DSSE");
    }
}

// 4. `--format json` everywhere a result is printed.

#[test]
fn key_run_record_and_layout_report_in_json() {
    let dir = tempdir();
    let out = toto()
        .args(["key", "generate", "--format", "json", "-o"])
        .arg(dir.path().join("k"))
        .output()
        .unwrap();
    let generated = json_of(&out, "key generate --format json");
    let keyid = generated["keyid"].as_str().unwrap().to_owned();
    assert_eq!(keyid.len(), 64, "{generated}");
    assert_eq!(generated["type"], "ed25519");
    assert_eq!(generated["scheme"], "ed25519");
    assert_eq!(generated["encrypted"], false);
    assert!(generated["private_key"].as_str().unwrap().ends_with("/k"));
    assert!(generated["public_key"]
        .as_str()
        .unwrap()
        .ends_with("/k.pub"));
    let key = dir.path().join("k");

    // run: the command's stdout goes to stderr, stdout is the report.
    write(&dir.path().join("in.txt"), "in\n");
    let out = run_in(
        dir.path(),
        "build",
        &key,
        &[
            "--format",
            "json",
            "-m",
            "in.txt",
            "-p",
            "in.txt",
            "--",
            "sh",
            "-c",
            "echo from-the-step; exit 3",
        ],
    );
    expect_code(&out, 3, "run --format json: the step's exit code");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stderr(&out).contains("from-the-step"), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["step"], "build");
    assert_eq!(report["encoding"], "statement");
    assert_eq!(
        report["signer"],
        serde_json::json!({"kind": "key", "keyid": keyid})
    );
    assert_eq!(report["materials"], 1);
    assert_eq!(report["products"], 1);
    assert_eq!(report["exit_code"], 3);
    assert!(
        report["link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("build.{}.link", &keyid[..8])),
        "{report}"
    );
    // With --record-streams too.
    let out = run_in(
        dir.path(),
        "echo",
        &key,
        &["--format", "json", "-s", "--", "echo", "hello"],
    );
    assert_eq!(json_of(&out, "run -s --format json")["step"], "echo");
    assert!(stderr(&out).contains("hello"));

    // record start / stop.
    let record = |phase: &str, args: &[&str]| {
        toto()
            .current_dir(dir.path())
            .args(["record", phase, "-n", "review", "-k"])
            .arg(&key)
            .args(["--format", "json"])
            .args(args)
            .output()
            .unwrap()
    };
    let started = json_of(&record("start", &["-m", "in.txt"]), "record start");
    assert_eq!(started["step"], "review");
    assert_eq!(started["materials"], 1);
    assert_eq!(started["signer"]["keyid"], keyid.as_str());
    assert!(started["started"].as_str().unwrap().contains("review."));
    let stopped = json_of(&record("stop", &["-p", "in.txt"]), "record stop");
    assert_eq!(stopped["step"], "review");
    assert_eq!(
        (stopped["materials"].clone(), stopped["products"].clone()),
        (1.into(), 1.into())
    );
    assert_eq!(stopped["exit_code"], Value::Null);
    assert!(dir.path().join(stopped["link"].as_str().unwrap()).is_file());

    // layout new / sign / show.
    let toml = write(
        &dir.path().join("l.toml"),
        "expires = \"30d\"\n[[steps]]\nname = \"build\"\nfunctionaries = [\"k.pub\"]\n\
         expected_command = [\"make\"]\nproducts = [\"CREATE out\", \"DISALLOW *\"]\n\
         [[inspections]]\nname = \"look\"\nrun = [\"true\"]\n",
    );
    let layout = dir.path().join("root.layout");
    let out = toto()
        .args(["layout", "new", "--format", "json"])
        .arg(&toml)
        .arg("-o")
        .arg(&layout)
        .output()
        .unwrap();
    let new = json_of(&out, "layout new --format json");
    assert_eq!(
        (new["steps"].clone(), new["inspections"].clone()),
        (1.into(), 1.into())
    );
    let out = toto()
        .args(["layout", "sign", "--format", "json", "-k"])
        .arg(&key)
        .arg(&layout)
        .output()
        .unwrap();
    let signed = json_of(&out, "layout sign --format json");
    assert_eq!(signed["encoding"], "metablock");
    assert_eq!(signed["signatures"], 1);
    assert_eq!(signed["keyids"], serde_json::json!([keyid]));
    assert_eq!(signed["bundle"], Value::Null);
    let out = toto()
        .args(["layout", "show", "--format", "json"])
        .arg(&layout)
        .output()
        .unwrap();
    let shown = json_of(&out, "layout show --format json");
    assert_eq!(shown["signatures"], serde_json::json!([keyid]));
    assert!(shown["expires"].as_str().unwrap().ends_with('Z'));
    assert_eq!(shown["keys"][0]["keyid"], keyid.as_str());
    assert_eq!(shown["keys"][0]["kind"], "key");
    let step = &shown["steps"][0];
    assert_eq!(step["name"], "build");
    assert_eq!(step["threshold"], 1);
    assert_eq!(step["functionaries"], serde_json::json!([keyid]));
    assert_eq!(step["expected_command"], serde_json::json!(["make"]));
    assert_eq!(
        step["products"],
        serde_json::json!(["CREATE out", "DISALLOW *"])
    );
    assert_eq!(shown["inspections"][0]["run"], serde_json::json!(["true"]));

    // attest with a key: the report needs -o (stdout would hold the envelope).
    let attest = |args: &[&str]| {
        toto()
            .current_dir(dir.path())
            .args(["attest", "--predicate-type", "https://example.com/p/v1"])
            .args(["--subject", "in.txt", "-k"])
            .arg(&key)
            .args(["--format", "json"])
            .args(args)
            .output()
            .unwrap()
    };
    expect_error(&attest(&[]), 2, "-o FILE", "attest --format json to stdout");
    let report = json_of(&attest(&["-o", "a.intoto.jsonl"]), "attest --format json");
    assert_eq!(report["attestation"], "a.intoto.jsonl");
    assert_eq!(report["predicate_type"], "https://example.com/p/v1");
    assert_eq!(report["subjects"][0]["name"], "in.txt");
    assert_eq!(
        report["subjects"][0]["digest"]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert_eq!(report["signer"]["keyids"], serde_json::json!([keyid]));
}

#[test]
fn keyless_signing_and_trust_show_report_in_json() {
    let dir = tempdir();
    let tb = start_testbed(dir.path());
    let t = token(&tb, "alice@example.com");
    let a = write(&dir.path().join("a.bin"), "a\n");
    let b = write(&dir.path().join("b.bin"), "b\n");
    let out = toto()
        .args(["sign-blob", "--format", "json"])
        .args(crate::common::keyless(&tb, &t))
        .args([&a, &b])
        .output()
        .unwrap();
    let report = json_of(&out, "sign-blob --format json");
    assert_eq!(report["identity"], "alice@example.com");
    assert_eq!(report["issuer"], tb.issuer());
    let bundles = report["bundles"].as_array().unwrap();
    assert_eq!(bundles.len(), 2);
    for (entry, file) in bundles.iter().zip([&a, &b]) {
        assert_eq!(entry["file"], file.display().to_string());
        assert!(Path::new(entry["bundle"].as_str().unwrap()).is_file());
        assert!(entry["log_index"].is_u64(), "{entry}");
    }
    let out = toto()
        .args(["attest", "--format", "json"])
        .args(crate::common::keyless(&tb, &t))
        .args(["--predicate-type", "https://example.com/p/v1", "--subject"])
        .arg(&a)
        .output()
        .unwrap();
    let report = json_of(&out, "attest --keyless --format json");
    assert_eq!(report["signer"]["kind"], "keyless");
    assert_eq!(report["signer"]["identity"], "alice@example.com");
    assert!(Path::new(report["attestation"].as_str().unwrap()).is_file());

    let out = toto()
        .args(["trust", "show", "--format", "json"])
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("TOTO_TRUST_CONFIG", tb.trust_config_path())
        .output()
        .unwrap();
    let report = json_of(&out, "trust show --format json");
    assert_eq!(report["public_good_root"]["source"], "embedded");
    assert_eq!(
        report["trust_config"],
        tb.trust_config_path().display().to_string()
    );
}

/// `toto trust update --format json` (a local TUF repository made by the
/// Python peer's tuf_repo.py; skipped without it outside CI).
#[test]
fn trust_update_reports_in_json() {
    let Some(py) = python("trust_update_reports_in_json") else {
        return;
    };
    let dir = tempdir();
    let work = dir.path().join("work");
    let root = dir.path().join("trusted_root.json");
    std::fs::copy(
        crate::common::shared()
            .join("vectors/sigstore-conformance/trusted_roots/production_trusted_root.json"),
        &root,
    )
    .unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peer/tuf_repo.py");
    let out = std::process::Command::new(&py)
        .arg(script)
        .arg("init")
        .arg(&work)
        .arg(&root)
        .output()
        .unwrap();
    expect_code(&out, 0, "tuf_repo.py init");
    let out = toto()
        .args(["trust", "update", "--format", "json", "--repository"])
        .arg(work.join("repo"))
        .arg("--root")
        .arg(work.join("repo/1.root.json"))
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    let report = json_of(&out, "trust update --format json");
    assert_eq!(report["root_version"], 1);
    assert!(report["timestamp_version"].is_u64());
    let written = report["written"].as_array().unwrap();
    assert!(
        written.iter().any(|t| t["name"] == "trusted_root.json"
            && Path::new(t["path"].as_str().unwrap()).is_file()
            && t["length"].is_u64()),
        "{report}"
    );
    assert!(report["absent"].is_array());
}

/// `toto sign` (and `--verify`) and `toto mock` report in JSON too; `sign
/// --gpg` refuses `--format json` rather than printing text instead.
#[test]
fn sign_and_mock_report_in_json() {
    let (dir, signer) = tempdir_with_key();
    let out = run_in(dir.path(), "a", &signer, &["--encoding", "metablock", "-x"]);
    expect_code(&out, 0, "run");
    let link = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".link"))
        .unwrap();
    let other = key(dir.path(), "other");
    let sign = |args: &[&str]| {
        toto()
            .args(["sign", "--format", "json", "-f"])
            .arg(&link)
            .args(args)
            .output()
            .unwrap()
    };
    let out = sign(&[
        "-k",
        other.to_str().unwrap(),
        "--append",
        "-o",
        link.to_str().unwrap(),
    ]);
    let report = json_of(&out, "sign --format json");
    assert_eq!(report["signatures"], 2);
    assert_eq!(report["keyids"].as_array().unwrap().len(), 2);
    let verified = json_of(
        &sign(&["-k", &format!("{}.pub", other.display()), "--verify"]),
        "sign --verify --format json",
    );
    assert_eq!(verified["verified"], true);
    let out = sign(&["--gpg", "0123456789ABCDEF", "--verify"]);
    // --gpg signs and verifies through the same flow, JSON included: an
    // unknown key is an input error naming the key.
    expect_error(
        &out,
        2,
        "no OpenPGP key 0123456789ABCDEF",
        "sign --gpg --format json",
    );

    let mock_dir = dir.path().join("mock");
    std::fs::create_dir_all(&mock_dir).unwrap();
    write(&mock_dir.join("in.txt"), "in\n");
    let out = toto()
        .current_dir(&mock_dir)
        .args([
            "mock",
            "-n",
            "try",
            "--format",
            "json",
            "--",
            "sh",
            "-c",
            "echo noise; exit 4",
        ])
        .output()
        .unwrap();
    let report = json_of(&out, "mock --format json");
    assert!(stderr(&out).contains("noise"), "{}", stderr(&out));
    assert_eq!(report["link"], "try.link");
    assert_eq!(report["signer"], Value::Null);
    assert_eq!(report["exit_code"], 4);
    assert_eq!(report["materials"], 1);
}

#[test]
fn envelope_sign_reports_in_json_beside_the_file_it_writes() {
    let (dir, key) = tempdir_with_key();
    let payload = write(&dir.path().join("note.txt"), "a note\n");
    let envelope = dir.path().join("note.dsse.json");
    let sign = |extra: &[&str]| {
        toto()
            .args(["envelope", "sign", "--payload-type", "text/plain", "-k"])
            .arg(&key)
            .args(extra)
            .arg(&payload)
            .output()
            .unwrap()
    };
    let out = sign(&["-o", envelope.to_str().unwrap(), "--format", "json"]);
    let report = json_of(&out, "envelope sign --format json");
    assert_eq!(report["envelope"], envelope.display().to_string());
    assert_eq!(report["payload_type"], "text/plain");
    let keyids = report["keyids"].as_array().unwrap();
    assert_eq!(keyids.len(), 1);
    // The key id reported is the one the written envelope's signature names.
    let written: Value = serde_json::from_slice(&std::fs::read(&envelope).unwrap()).unwrap();
    assert_eq!(written["signatures"][0]["keyid"], keyids[0]);
    // Without -o stdout is the envelope: JSON output there would mix the two.
    let out = sign(&["--format", "json"]);
    expect_error(
        &out,
        2,
        "--output",
        "envelope sign --format json without -o",
    );
}
