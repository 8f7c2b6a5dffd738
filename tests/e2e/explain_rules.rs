//! Rule failures name their cause (issue #19). A three-step chain
//! (clone → build → package, then an inspection), every link validly signed
//! by the step's functionary; each case breaks exactly one thing, and
//! `toto verify` must say which rule should have consumed the artifact and
//! why it did not, in text and in `--format json`'s `failure.cause`.

use std::path::Path;
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

use crate::common::*;

const LAYOUT: &str = r#"expires = "30d"

[[steps]]
name = "clone"
functionaries = ["bob.pub"]
products = ["CREATE src/*", "DISALLOW *"]

[[steps]]
name = "build"
functionaries = ["bob.pub"]
materials = ["MATCH src/* WITH PRODUCTS FROM clone", "ALLOW hello/*", "DISALLOW *"]
products = ["CREATE hello/*", "MODIFY src/version", "DISALLOW *"]

[[steps]]
name = "package"
functionaries = ["bob.pub"]
materials = ["MATCH hello/* WITH PRODUCTS FROM build", "DISALLOW *"]
products = ["REQUIRE hello.tar", "CREATE hello.tar", "DISALLOW *"]

[[inspections]]
name = "check"
run = ["true"]
materials = ["MATCH hello.tar WITH PRODUCTS FROM package", "DISALLOW hello.tar", "ALLOW *"]
"#;

/// How the chain is performed; [`GOOD`] verifies, every case changes one
/// field. Shell snippets run in the project directory.
#[derive(Clone, Copy)]
struct Chain {
    before_build: &'static str,
    build_materials: &'static [&'static str],
    build: &'static str,
    before_package: &'static str,
    package_products: &'static [&'static str],
    package: &'static str,
    after_package: &'static str,
}

const GOOD: Chain = Chain {
    before_build: "true",
    build_materials: &["src"],
    build: "echo 2 > src/version; mkdir -p hello; cat src/main.c > hello/hello",
    before_package: "true",
    package_products: &["hello.tar"],
    package: "cat hello/hello > hello.tar",
    after_package: "true",
};

fn sh(root: &Path, script: &str) {
    let out = Command::new("sh")
        .current_dir(root)
        .args(["-c", script])
        .output()
        .unwrap();
    expect_code(&out, 0, script);
}

/// `toto ARGS` in `root`, which must succeed.
fn toto_ok(root: &Path, args: &[&str]) {
    expect_code(&toto_in(root, args), 0, &args.join(" "));
}

/// `toto run` of a step by Bob, recording `-m materials` and `-p products`.
fn step(root: &Path, name: &str, materials: &[&str], products: &[&str], script: &str) {
    let mut args = vec!["run", "-n", name, "--key", "bob"];
    for m in materials {
        args.extend(["-m", m]);
    }
    for p in products {
        args.extend(["-p", p]);
    }
    args.extend(["--", "sh", "-c", script]);
    toto_ok(root, &args);
}

/// Performs `chain` in a fresh directory: keys, the signed layout, the three
/// signed links.
fn perform(chain: Chain) -> tempfile::TempDir {
    perform_under(LAYOUT, chain)
}

/// [`perform`] under another `layout`.
fn perform_under(layout: &str, chain: Chain) -> tempfile::TempDir {
    let dir = tempdir();
    let root = dir.path();
    generate_key(&root.join("bob"), &[]);
    owner_signed_layout(
        &write(&root.join("layout.toml"), layout),
        &root.join("alice"),
        &root.join("root.layout"),
    );
    sh(
        root,
        "mkdir src && echo 'int main;' > src/main.c && echo 1 > src/version",
    );
    step(root, "clone", &[], &["src"], "true");
    sh(root, chain.before_build);
    step(
        root,
        "build",
        chain.build_materials,
        &["src/version", "hello"],
        chain.build,
    );
    sh(root, chain.before_package);
    step(
        root,
        "package",
        &["hello"],
        chain.package_products,
        chain.package,
    );
    sh(root, chain.after_package);
    dir
}

fn verify(root: &Path, extra: &[&str]) -> Output {
    let args = [&["verify", "-l", "root.layout", "-k", "alice.pub"], extra].concat();
    toto_in(root, &args)
}

/// Performs `chain`, then verifies in text and JSON: both exit 1 on a rule
/// failure; returns stderr's failure line and the JSON report.
fn refused(chain: Chain) -> (String, serde_json::Value) {
    refused_under(LAYOUT, chain)
}

/// [`refused`] under another `layout`.
fn refused_under(layout: &str, chain: Chain) -> (String, serde_json::Value) {
    let dir = perform_under(layout, chain);
    let root = dir.path();
    let text = verify(root, &[]);
    expect_code(&text, 1, "text verdict");
    let stderr = String::from_utf8_lossy(&text.stderr).into_owned();
    let line = stderr
        .lines()
        .find(|l| l.contains("verification failed"))
        .unwrap_or_else(|| panic!("no failure line: {stderr}"))
        .to_owned();
    let json = verify(root, &["--format", "json"]);
    expect_code(&json, 1, "json verdict");
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["verified"], false);
    assert_eq!(report["failure"]["kind"], "rule", "{report}");
    (line, report)
}

fn sha256(bytes: &str) -> String {
    hex::encode(Sha256::digest(bytes.as_bytes()))
}

/// Only the chain as performed verifies (the cases below each break it).
#[test]
fn the_unbroken_chain_verifies() {
    let dir = perform(GOOD);
    expect_code(&verify(dir.path(), &[]), 0, "good chain");
}

/// A product changed after build recorded it: package's material has
/// another digest than build's product, so the MATCH did not consume it.
#[test]
fn product_changed_after_recording_names_the_match_and_both_digests() {
    let (line, report) = refused(Chain {
        before_package: "echo evil > hello/hello",
        ..GOOD
    });
    let failure = &report["failure"];
    let (good, evil) = (sha256("int main;\n"), sha256("evil\n"));
    assert!(
        line.contains(&format!(
            "step \"package\": materials artifact \"hello/hello\" was not consumed by \
             \"MATCH hello/* WITH PRODUCTS FROM build\": its digest sha256:{}… differs from \
             build's product sha256:{}…; \"DISALLOW *\" then refused it (link package.",
            &evil[..16],
            &good[..16]
        )),
        "{line}"
    );
    assert_eq!(failure["item"], "package");
    assert_eq!(failure["item_kind"], "step");
    assert_eq!(failure["rule"], "DISALLOW *");
    assert_eq!(failure["source"], "materials");
    assert_eq!(failure["artifact"], "hello/hello");
    let link = failure["link"].as_str().unwrap();
    assert!(
        link.starts_with("package.") && link.ends_with(".link"),
        "{link}"
    );
    let cause = &failure["cause"];
    assert_eq!(cause["kind"], "digest-mismatch", "{failure}");
    assert_eq!(cause["rule"], "MATCH hello/* WITH PRODUCTS FROM build");
    assert_eq!(cause["source_step"], "build");
    assert_eq!(cause["source_side"], "products");
    assert_eq!(cause["expected"]["sha256"], good.as_str());
    assert_eq!(cause["found"]["sha256"], evil.as_str());
}

/// Package used a file build never produced.
#[test]
fn artifact_absent_from_the_source_steps_products() {
    let (line, report) = refused(Chain {
        before_package: "echo extra > hello/extra",
        ..GOOD
    });
    let failure = &report["failure"];
    assert!(
        line.contains(
            "step \"package\": materials artifact \"hello/extra\" was not consumed by \
             \"MATCH hello/* WITH PRODUCTS FROM build\": it is absent from build's products; \
             \"DISALLOW *\" then refused it"
        ),
        "{line}"
    );
    let cause = &failure["cause"];
    assert_eq!(cause["kind"], "absent-from-source", "{failure}");
    assert_eq!(cause["rule"], "MATCH hello/* WITH PRODUCTS FROM build");
    assert_eq!(cause["source_step"], "build");
    assert_eq!(cause["source_side"], "products");
    assert_eq!(cause["source_path"], "hello/extra");
    assert!(cause.get("expected").is_none(), "{cause}");
    assert_eq!(cause["found"]["sha256"], sha256("extra\n").as_str());
}

/// Build "created" hello/hello, but an older one was already there (and
/// recorded as a material): CREATE does not consume it.
#[test]
fn create_of_an_artifact_that_was_a_material() {
    let (line, report) = refused(Chain {
        before_build: "mkdir hello && echo old > hello/hello",
        build_materials: &["src", "hello"],
        ..GOOD
    });
    let failure = &report["failure"];
    let (old, new) = (sha256("old\n"), sha256("int main;\n"));
    assert!(
        line.contains(&format!(
            "step \"build\": products artifact \"hello/hello\" was not consumed by \
             \"CREATE hello/*\": it was already a material (sha256:{}…); \"DISALLOW *\" then \
             refused it (link build.",
            &old[..16]
        )),
        "{line}"
    );
    assert_eq!(failure["item"], "build");
    assert_eq!(failure["rule"], "DISALLOW *");
    assert_eq!(failure["source"], "products");
    assert_eq!(failure["artifact"], "hello/hello");
    let cause = &failure["cause"];
    assert_eq!(cause["kind"], "created-but-was-material", "{failure}");
    assert_eq!(cause["rule"], "CREATE hello/*");
    assert_eq!(cause["expected"]["sha256"], old.as_str());
    assert_eq!(cause["found"]["sha256"], new.as_str());
}

/// Build was to bump src/version and did not: MODIFY does not consume an
/// unchanged file.
#[test]
fn modify_of_an_unchanged_artifact() {
    let (line, report) = refused(Chain {
        build: "mkdir -p hello; cat src/main.c > hello/hello",
        ..GOOD
    });
    let failure = &report["failure"];
    let one = sha256("1\n");
    assert!(
        line.contains(&format!(
            "step \"build\": products artifact \"src/version\" was not consumed by \
             \"MODIFY src/version\": it is unchanged (sha256:{}… in materials and products); \
             \"DISALLOW *\" then refused it",
            &one[..16]
        )),
        "{line}"
    );
    let cause = &failure["cause"];
    assert_eq!(cause["kind"], "modify-unchanged", "{failure}");
    assert_eq!(cause["rule"], "MODIFY src/version");
    assert_eq!(cause["expected"]["sha256"], one.as_str());
    assert_eq!(cause["found"]["sha256"], one.as_str());
}

/// Package produced hello.tgz, not the required hello.tar.
#[test]
fn require_of_a_missing_artifact() {
    let (line, report) = refused(Chain {
        package_products: &["hello.tgz"],
        package: "cat hello/hello > hello.tgz",
        ..GOOD
    });
    let failure = &report["failure"];
    assert!(
        line.contains(
            "step \"package\": rule \"REQUIRE hello.tar\" failed: products artifact \
             \"hello.tar\" is not among the products"
        ),
        "{line}"
    );
    assert_eq!(failure["rule"], "REQUIRE hello.tar");
    assert_eq!(failure["artifact"], "hello.tar");
    let cause = &failure["cause"];
    assert_eq!(cause["kind"], "required-missing", "{failure}");
    assert!(cause.get("rule").is_none(), "{cause}");
}

/// A layout whose package step is to use up build's output: DELETE
/// consumes the materials package no longer has. Package kept (and
/// recorded) hello/hello: DELETE does not consume it.
#[test]
fn delete_of_an_artifact_still_present() {
    let layout = LAYOUT.replace(
        r#"materials = ["MATCH hello/* WITH PRODUCTS FROM build", "DISALLOW *"]"#,
        r#"materials = ["DELETE hello/*", "DISALLOW *"]"#,
    );
    assert_ne!(layout, LAYOUT);
    let dir = perform_under(&layout, GOOD);
    expect_code(
        &verify(dir.path(), &[]),
        0,
        "package recorded hello.tar only",
    );
    let (line, report) = refused_under(
        &layout,
        Chain {
            package_products: &["hello.tar", "hello"],
            ..GOOD
        },
    );
    let failure = &report["failure"];
    assert!(
        line.contains(
            "step \"package\": materials artifact \"hello/hello\" was not consumed by \
             \"DELETE hello/*\": it is still among the products; \"DISALLOW *\" then refused it"
        ),
        "{line}"
    );
    let cause = &failure["cause"];
    assert_eq!(cause["kind"], "deleted-but-still-present", "{failure}");
    assert_eq!(cause["rule"], "DELETE hello/*");
    assert_eq!(cause["found"]["sha256"], sha256("int main;\n").as_str());
}

/// A layout that lets ALLOW consume what REQUIRE then looks for: the
/// message names the rule that consumed it.
#[test]
fn require_of_an_artifact_an_earlier_rule_consumed() {
    let layout = LAYOUT.replace(
        r#"products = ["REQUIRE hello.tar","#,
        r#"products = ["ALLOW hello.*", "REQUIRE hello.tar","#,
    );
    assert_ne!(layout, LAYOUT);
    let (line, report) = refused_under(&layout, GOOD);
    let failure = &report["failure"];
    assert!(
        line.contains(
            "step \"package\": rule \"REQUIRE hello.tar\" failed: products artifact \
             \"hello.tar\" was consumed by the earlier rule \"ALLOW hello.*\""
        ),
        "{line}"
    );
    assert_eq!(failure["rule"], "REQUIRE hello.tar");
    assert_eq!(failure["cause"]["kind"], "required-consumed", "{failure}");
    assert_eq!(failure["cause"]["rule"], "ALLOW hello.*");
}

/// The delivered hello.tar was swapped after package recorded it: the
/// inspection's rules fail, reported as the inspection's.
#[test]
fn inspection_rule_failure_is_the_inspections() {
    let (line, report) = refused(Chain {
        after_package: "echo evil > hello.tar",
        ..GOOD
    });
    let failure = &report["failure"];
    let (good, evil) = (sha256("int main;\n"), sha256("evil\n"));
    assert!(
        line.contains(&format!(
            "inspection \"check\": materials artifact \"hello.tar\" was not consumed by \
             \"MATCH hello.tar WITH PRODUCTS FROM package\": its digest sha256:{}… differs \
             from package's product sha256:{}…; \"DISALLOW hello.tar\" then refused it",
            &evil[..16],
            &good[..16]
        )),
        "{line}"
    );
    assert!(!line.contains("step \"check\""), "{line}");
    assert_eq!(failure["item"], "check");
    assert_eq!(failure["item_kind"], "inspection");
    assert_eq!(failure["rule"], "DISALLOW hello.tar");
    // The report lists the inspection as one, with the rules it applied.
    let steps = report["steps"].as_array().unwrap();
    let check = steps.last().unwrap();
    assert_eq!(
        (&check["name"], &check["kind"]),
        (&"check".into(), &"inspection".into())
    );
    assert_eq!(
        check["materials"],
        serde_json::json!([{"rule": "MATCH hello.tar WITH PRODUCTS FROM package", "consumed": []}])
    );
    assert!(
        steps[..steps.len() - 1].iter().all(|s| s["kind"] == "step"),
        "{report}"
    );
    let cause = &failure["cause"];
    assert_eq!(cause["kind"], "digest-mismatch", "{failure}");
    assert_eq!(cause["source_step"], "package");
    assert_eq!(cause["expected"]["sha256"], good.as_str());
    assert_eq!(cause["found"]["sha256"], evil.as_str());
}

/// `-v` prints every rule's queue before and after it ran, and for the
/// failing item the queue the failing rule saw.
#[test]
fn verbose_prints_each_rules_queue_before_and_after() {
    let dir = perform(GOOD);
    let out = verify(dir.path(), &["-v"]);
    expect_code(&out, 0, "good chain, -v");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in [
        "step \"build\" materials: \"MATCH src/* WITH PRODUCTS FROM clone\": queue before \
         [\"src/main.c\", \"src/version\"], after []",
        "step \"build\" products: \"CREATE hello/*\": queue before [\"hello/hello\", \
         \"src/version\"], after [\"src/version\"]",
        "step \"build\" products: \"MODIFY src/version\": queue before [\"src/version\"], after []",
        "step \"package\" products: \"REQUIRE hello.tar\": queue before [\"hello.tar\"], after \
         [\"hello.tar\"]",
        "inspection \"check\" materials: \"MATCH hello.tar WITH PRODUCTS FROM package\": queue \
         before [",
    ] {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
    let dir = perform(Chain {
        before_package: "echo evil > hello/hello",
        ..GOOD
    });
    let out = verify(dir.path(), &["-v"]);
    expect_code(&out, 1, "changed product, -v");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for line in [
        "step \"package\" materials: \"MATCH hello/* WITH PRODUCTS FROM build\": queue before \
         [\"hello/hello\"], after [\"hello/hello\"]",
        "step \"package\" materials: \"DISALLOW *\": queue before [\"hello/hello\"], failed",
    ] {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
}
