//! Authoring layouts that catch mistakes (`toto layout new`), reading back a
//! file that is not a layout (`toto layout show`), and `toto demo --dir`
//! whose printed commands run again as printed.

use std::path::Path;

use crate::common::*;

/// A chain of two steps, `build` and `package` (keyless, so no key files),
/// and an inspection `untar`; `rules` replaces package's materials rules.
fn chain_with_package_materials(rules: &str) -> String {
    format!(
        r#"expires = "30d"
[[steps]]
name = "build"
identities = [{{ identity = "ci@example.org", issuer = "https://issuer.example" }}]
products = ["CREATE app", "DISALLOW *"]

[[steps]]
name = "package"
identities = [{{ identity = "rm@example.org", issuer = "https://issuer.example" }}]
materials = {rules}
products = ["CREATE app.tar", "DISALLOW *"]

[[inspections]]
name = "untar"
run = ["tar", "xf", "app.tar"]
materials = ["MATCH app.tar WITH PRODUCTS FROM package", "DISALLOW app.tar", "ALLOW *"]
products = ["MATCH app WITH PRODUCTS FROM build", "DISALLOW app", "ALLOW *"]
"#
    )
}

fn layout_new(dir: &Path, toml: &str) -> std::process::Output {
    write(&dir.join("chain.toml"), toml);
    toto()
        .current_dir(dir)
        .args(["layout", "new", "chain.toml", "-o", "root.layout"])
        .output()
        .unwrap()
}

#[test]
fn layout_new_refuses_match_from_an_unknown_step_and_lists_the_known_ones() {
    let dir = tempdir();
    let out = layout_new(
        dir.path(),
        &chain_with_package_materials(r#"["MATCH app WITH PRODUCTS FROM biuld", "DISALLOW *"]"#),
    );
    expect_error(
        &out,
        2,
        "step package: materials: rule \"MATCH app WITH PRODUCTS FROM biuld\": FROM \"biuld\" \
         names no step or inspection of this layout (known: build, package, untar)",
        "MATCH FROM a misspelt step",
    );
    assert!(!dir.path().join("root.layout").exists());
}

#[test]
fn layout_new_refuses_rules_that_can_never_match() {
    for (rules, problem) in [
        (
            r#"["MATHC app WITH PRODUCTS FROM build", "DISALLOW *"]"#,
            "rule \"MATHC app WITH PRODUCTS FROM build\": unknown rule type \"MATHC\"",
        ),
        (
            r#"["ALLOW", "DISALLOW *"]"#,
            "rule \"ALLOW\": ALLOW takes exactly one pattern",
        ),
        (
            r#"["MATCH app WITH PRODCTS FROM build", "DISALLOW *"]"#,
            "rule \"MATCH app WITH PRODCTS FROM build\": MATCH compares WITH MATERIALS or WITH \
             PRODUCTS, not \"PRODCTS\"",
        ),
        (
            r#"["MATCH app WITH PRODUCTS FROM package", "DISALLOW *"]"#,
            "rule \"MATCH app WITH PRODUCTS FROM package\": FROM names this step itself",
        ),
        (
            r#"["ALLOW *", "MATCH app WITH PRODUCTS FROM build"]"#,
            "rule \"MATCH app WITH PRODUCTS FROM build\": comes after \"ALLOW *\"",
        ),
        (
            r#"["DISALLOW *", "MATCH app WITH PRODUCTS FROM build"]"#,
            "rule \"MATCH app WITH PRODUCTS FROM build\": comes after \"DISALLOW *\"",
        ),
    ] {
        let dir = tempdir();
        let out = layout_new(dir.path(), &chain_with_package_materials(rules));
        expect_error(
            &out,
            2,
            &format!("step package: materials: {problem}"),
            rules,
        );
        assert!(!dir.path().join("root.layout").exists(), "{rules}");
    }
}

#[test]
fn layout_new_warns_about_a_step_whose_products_nothing_consumes() {
    let dir = tempdir();
    // package's materials do not MATCH build's products, and no inspection does.
    let out = layout_new(
        dir.path(),
        &chain_with_package_materials(r#"["ALLOW app", "DISALLOW *"]"#).replace(
            r#"products = ["MATCH app WITH PRODUCTS FROM build", "DISALLOW app", "ALLOW *"]"#,
            "",
        ),
    );
    expect_code(&out, 0, "a warning, not an error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "warning: chain.toml: step build: no later step or inspection consumes its products \
             (no \"MATCH … WITH PRODUCTS FROM build\" anywhere)"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("step package: no later"), "{stderr}");
    assert!(dir.path().join("root.layout").exists());

    // A MATCH that nothing after it guards lets a replaced artifact through.
    let out = layout_new(
        dir.path(),
        &chain_with_package_materials(r#"["MATCH app WITH PRODUCTS FROM build", "ALLOW *"]"#),
    );
    expect_code(&out, 0, "a warning, not an error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "warning: chain.toml: step package: materials: rule \"MATCH app WITH PRODUCTS FROM \
             build\" can never fail"
        ),
        "{stderr}"
    );

    // The chain as it should be: no warning at all.
    let out = layout_new(
        dir.path(),
        &chain_with_package_materials(r#"["MATCH app WITH PRODUCTS FROM build", "DISALLOW *"]"#),
    );
    expect_code(&out, 0, "a sound chain");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn layout_show_of_a_file_that_is_not_a_layout_says_what_it_is() {
    let dir = tempdir();
    let d = dir.path();
    let out = toto()
        .current_dir(d)
        .args(["key", "generate", "-o", "owner"])
        .output()
        .unwrap();
    expect_code(&out, 0, "key generate");
    write(&d.join("artifact.txt"), "hello\n");
    let out = toto()
        .current_dir(d)
        .args([
            "attest",
            "--key",
            "owner",
            "--predicate-type",
            "https://slsa.dev/provenance/v1",
            "--subject",
            "artifact.txt",
            "-o",
            "artifact.intoto.jsonl",
        ])
        .output()
        .unwrap();
    expect_code(&out, 0, "attest");
    write(&d.join("chain.toml"), "expires = \"30d\"\n");
    let intoto = vector("");
    let conformance = shared().join("vectors/sigstore-conformance/bundle-verify");
    let cases = [
        (
            intoto.join("step-ed25519.6f2fb44c.link"),
            "a link of step \"step-ed25519\"",
        ),
        (
            intoto.join("dsse-ed25519.6f2fb44c.link"),
            "a link of step \"dsse-ed25519\"",
        ),
        (
            d.join("artifact.intoto.jsonl"),
            "an in-toto Statement with predicate type https://slsa.dev/provenance/v1",
        ),
        (
            intoto.join("dsse_spec_vector.json"),
            "a DSSE envelope with payload type http://example.com/HelloWorld",
        ),
        (
            conformance.join("happy-path-v0.2/bundle.sigstore.json"),
            "a Sigstore bundle (application/vnd.dev.sigstore.bundle+json;version=0.2)",
        ),
        (d.join("owner.pub"), "a public key"),
        (d.join("chain.toml"), "not JSON at all"),
    ];
    for (file, kind) in cases {
        let out = toto().args(["layout", "show"]).arg(&file).output().unwrap();
        expect_error(
            &out,
            2,
            &format!("{} is not a layout: it is {kind}", file.display()),
            kind,
        );
    }
}

/// `toto layout new --help`'s example, copied from a narrow terminal as
/// printed (OpenPGP key left out: it needs a keyring), builds a layout with
/// nothing to warn about.
#[test]
fn layout_new_help_example_is_safe_to_copy() {
    let out = toto()
        .args(["layout", "new", "--help"])
        .env("COLUMNS", "60")
        .output()
        .unwrap();
    expect_code(&out, 0, "layout new --help");
    let help = String::from_utf8(out.stdout).unwrap();
    let start = help.find("The TOML file:\n").unwrap() + "The TOML file:\n".len();
    let end = help.find("Its first step in YAML").unwrap();
    let toml: String = help[start..end]
        .lines()
        .filter(|l| !l.contains("gpg_keys") && !l.contains("# the keyring"))
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    let dir = tempdir();
    let out = toto()
        .current_dir(dir.path())
        .args(["key", "generate", "-o", "bob"])
        .output()
        .unwrap();
    expect_code(&out, 0, "key generate");
    let out = layout_new(dir.path(), &toml);
    expect_code(&out, 0, &toml);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// The prompt the demo prints before each command: `DIR$ toto ARGS`, DIR
/// relative to the demo's directory.
fn printed_commands<'a>(stdout: &'a str, command: &str) -> Vec<(&'a str, &'a str)> {
    stdout
        .lines()
        .filter_map(|l| l.trim_start().split_once("$ toto "))
        .filter(|(_, args)| args.starts_with(command))
        .collect()
}

#[test]
fn demo_shows_its_layout_explains_the_failure_and_its_commands_rerun_as_printed() {
    let dir = tempdir();
    let demo = dir.path().join("demo");
    let out = toto().arg("demo").arg("--dir").arg(&demo).output().unwrap();
    expect_code(&out, 0, "toto demo");
    let stdout = String::from_utf8_lossy(&out.stdout);

    // The layout description, shown before it is signed.
    let shown = stdout.find("[[inspections]]").expect("the TOML is shown");
    let signed = stdout.find("$ toto layout sign").unwrap();
    assert!(shown < signed, "{stdout}");
    assert!(
        stdout.contains(
            "    materials = [\"MATCH demo-project/* WITH PRODUCTS FROM clone\", \"DISALLOW *\"]"
        ),
        "{stdout}"
    );

    // The failure's cause, in one line.
    let caught = stdout
        .lines()
        .find(|l| l.starts_with("toto caught the tampering: "))
        .expect("the cause is explained");
    assert!(
        caught.contains("DISALLOW *") && caught.contains("demo-project/foo.py"),
        "{caught}"
    );

    // Every verify command, run again as printed from the printed directory:
    // the same verdicts.
    let verifies = printed_commands(&stdout, "verify");
    assert_eq!(
        verifies.iter().map(|(d, _)| *d).collect::<Vec<_>>(),
        ["client", "client-tampered"],
        "{stdout}"
    );
    for (at, args) in verifies {
        let out = toto()
            .current_dir(demo.join(at))
            .args(shell_words(args))
            .output()
            .unwrap();
        let expected = if at == "client" { 0 } else { 1 };
        expect_code(&out, expected, &format!("{at}$ toto {args}, again"));
    }
    // The layout description, built again as printed: no mistakes to report.
    let layout_new = printed_commands(&stdout, "layout new");
    assert_eq!(layout_new.len(), 1, "{stdout}");
    let (at, args) = layout_new[0];
    let args = args.replace("root.layout", "again.layout");
    let out = toto()
        .current_dir(demo.join(at))
        .args(shell_words(&args))
        .output()
        .unwrap();
    expect_code(&out, 0, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
}
