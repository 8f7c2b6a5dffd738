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

/// Performs `chain` under `layout`, then verifies in text and JSON: both
/// exit 1 on a rule failure; returns stderr's failure line and the JSON
/// report.
fn refused(layout: &str, chain: Chain) -> (String, serde_json::Value) {
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

/// One way to break the chain (one field of [`GOOD`], or one rule list of
/// the layout), and what `toto verify` must then say.
struct Broken {
    /// The case, as a failure names it.
    what: &'static str,
    /// `LAYOUT`, or `LAYOUT` with one rule list replaced (the first
    /// string of the pair, by the second).
    layout: Option<(&'static str, &'static str)>,
    chain: Chain,
    /// In the text verdict's failure line.
    says: String,
    /// Fields of the JSON report's `failure`, `cause` included, as they
    /// must be there; a null stands for a field that must be absent.
    failure: serde_json::Value,
}

/// Each field of `expected` (an object) in `found`, objects compared field
/// by field: a null stands for a field that must be absent.
#[track_caller]
fn expect_fields(what: &str, found: &serde_json::Value, expected: &serde_json::Value) {
    for (key, want) in expected.as_object().unwrap() {
        match (want, found.get(key)) {
            (serde_json::Value::Null, got) => {
                assert!(got.is_none(), "{what}: {key} must be absent in {found}");
            }
            (serde_json::Value::Object(_), Some(got)) => expect_fields(what, got, want),
            (_, got) => assert_eq!(got, Some(want), "{what}: {key} in {found}"),
        }
    }
}

/// Each case breaks the chain in one way (in the order the chain runs:
/// build, package, the inspection): `toto verify` fails (exit 1, text
/// and JSON) on a rule, and names the rule that should have consumed the
/// artifact and why it did not.
#[test]
fn each_broken_chain_names_the_rule_and_its_cause() {
    let (good, evil) = (sha256("int main;\n"), sha256("evil\n"));
    let (old, one, extra) = (sha256("old\n"), sha256("1\n"), sha256("extra\n"));
    let cases = [
        Broken {
            what: "build \"created\" hello/hello, but an older one was already there (and \
                   recorded as a material): CREATE does not consume it",
            layout: None,
            chain: Chain {
                before_build: "mkdir hello && echo old > hello/hello",
                build_materials: &["src", "hello"],
                ..GOOD
            },
            says: format!(
                "step \"build\": products artifact \"hello/hello\" was not consumed by \
                 \"CREATE hello/*\": it was already a material (sha256:{}…); \"DISALLOW *\" \
                 then refused it (link build.",
                &old[..16]
            ),
            failure: serde_json::json!({
                "item": "build", "rule": "DISALLOW *", "source": "products", "artifact": "hello/hello",
                "cause": {"kind": "created-but-was-material", "rule": "CREATE hello/*",
                    "expected": {"sha256": old}, "found": {"sha256": good}}}),
        },
        Broken {
            what: "build was to bump src/version and did not: MODIFY does not consume an \
                   unchanged file",
            layout: None,
            chain: Chain {
                build: "mkdir -p hello; cat src/main.c > hello/hello",
                ..GOOD
            },
            says: format!(
                "step \"build\": products artifact \"src/version\" was not consumed by \
                 \"MODIFY src/version\": it is unchanged (sha256:{}… in materials and \
                 products); \"DISALLOW *\" then refused it",
                &one[..16]
            ),
            failure: serde_json::json!({"cause": {
                "kind": "modify-unchanged", "rule": "MODIFY src/version",
                "expected": {"sha256": one}, "found": {"sha256": one}}}),
        },
        Broken {
            what: "a product changed after build recorded it: package's material has another \
                   digest than build's product, so the MATCH did not consume it",
            layout: None,
            chain: Chain {
                before_package: "echo evil > hello/hello",
                ..GOOD
            },
            says: format!(
                "step \"package\": materials artifact \"hello/hello\" was not consumed by \
                 \"MATCH hello/* WITH PRODUCTS FROM build\": its digest sha256:{}… differs from \
                 build's product sha256:{}…; \"DISALLOW *\" then refused it (link package.",
                &evil[..16],
                &good[..16]
            ),
            failure: serde_json::json!({
                "item": "package", "item_kind": "step", "rule": "DISALLOW *",
                "source": "materials", "artifact": "hello/hello",
                "cause": {"kind": "digest-mismatch", "rule": "MATCH hello/* WITH PRODUCTS FROM build",
                    "source_step": "build", "source_side": "products",
                    "expected": {"sha256": good}, "found": {"sha256": evil}}}),
        },
        Broken {
            what: "package used a file build never produced",
            layout: None,
            chain: Chain {
                before_package: "echo extra > hello/extra",
                ..GOOD
            },
            says: "step \"package\": materials artifact \"hello/extra\" was not consumed by \
                   \"MATCH hello/* WITH PRODUCTS FROM build\": it is absent from build's \
                   products; \"DISALLOW *\" then refused it"
                .into(),
            failure: serde_json::json!({"cause": {
                "kind": "absent-from-source", "rule": "MATCH hello/* WITH PRODUCTS FROM build",
                "source_step": "build", "source_side": "products", "source_path": "hello/extra",
                "expected": null, "found": {"sha256": extra}}}),
        },
        Broken {
            what: "package is to use up build's output (DELETE consumes the materials it no \
                   longer has), but kept (and recorded) hello/hello: DELETE does not consume it",
            layout: Some(DELETE_LAYOUT),
            chain: Chain {
                package_products: &["hello.tar", "hello"],
                ..GOOD
            },
            says: "step \"package\": materials artifact \"hello/hello\" was not consumed by \
                   \"DELETE hello/*\": it is still among the products; \"DISALLOW *\" then \
                   refused it"
                .into(),
            failure: serde_json::json!({"cause": {
                "kind": "deleted-but-still-present", "rule": "DELETE hello/*",
                "found": {"sha256": good}}}),
        },
        Broken {
            what: "package produced hello.tgz, not the required hello.tar",
            layout: None,
            chain: Chain {
                package_products: &["hello.tgz"],
                package: "cat hello/hello > hello.tgz",
                ..GOOD
            },
            says: "step \"package\": rule \"REQUIRE hello.tar\" failed: products artifact \
                   \"hello.tar\" is not among the products"
                .into(),
            failure: serde_json::json!({
                "rule": "REQUIRE hello.tar", "artifact": "hello.tar",
                "cause": {"kind": "required-missing", "rule": null}}),
        },
        Broken {
            what: "a layout lets ALLOW consume what REQUIRE then looks for: the message names \
                   the rule that consumed it",
            layout: Some((
                r#"products = ["REQUIRE hello.tar","#,
                r#"products = ["ALLOW hello.*", "REQUIRE hello.tar","#,
            )),
            chain: GOOD,
            says: "step \"package\": rule \"REQUIRE hello.tar\" failed: products artifact \
                   \"hello.tar\" was consumed by the earlier rule \"ALLOW hello.*\""
                .into(),
            failure: serde_json::json!({
                "rule": "REQUIRE hello.tar",
                "cause": {"kind": "required-consumed", "rule": "ALLOW hello.*"}}),
        },
        Broken {
            what: "the delivered hello.tar was swapped after package recorded it: the \
                   inspection's rules fail, reported as the inspection's",
            layout: None,
            chain: Chain {
                after_package: "echo evil > hello.tar",
                ..GOOD
            },
            says: format!(
                "inspection \"check\": materials artifact \"hello.tar\" was not consumed by \
                 \"MATCH hello.tar WITH PRODUCTS FROM package\": its digest sha256:{}… \
                 differs from package's product sha256:{}…; \"DISALLOW hello.tar\" then \
                 refused it",
                &evil[..16],
                &good[..16]
            ),
            failure: serde_json::json!({
                "item": "check", "item_kind": "inspection", "rule": "DISALLOW hello.tar",
                "cause": {"kind": "digest-mismatch", "source_step": "package",
                    "expected": {"sha256": good}, "found": {"sha256": evil}}}),
        },
    ];
    for case in cases {
        let layout = match case.layout {
            Some((from, to)) => {
                let layout = LAYOUT.replace(from, to);
                assert_ne!(layout, LAYOUT, "{}: {from} is in the layout", case.what);
                layout
            }
            None => LAYOUT.to_owned(),
        };
        let (line, report) = refused(&layout, case.chain);
        assert!(line.contains(&case.says), "{}: {line}", case.what);
        expect_fields(case.what, &report["failure"], &case.failure);
        if report["failure"]["item"] == "package" {
            let link = report["failure"]["link"].as_str().unwrap();
            assert!(
                link.starts_with("package.") && link.ends_with(".link"),
                "{}: {link}",
                case.what
            );
        }
        if report["failure"]["item_kind"] == "inspection" {
            assert!(!line.contains("step \"check\""), "{line}");
            // The report lists the inspection as one, with the rules it
            // applied.
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
        }
    }
}

/// The layout whose package step uses up build's output: DELETE consumes
/// the materials package no longer has.
const DELETE_LAYOUT: (&str, &str) = (
    r#"materials = ["MATCH hello/* WITH PRODUCTS FROM build", "DISALLOW *"]"#,
    r#"materials = ["DELETE hello/*", "DISALLOW *"]"#,
);

/// Under the DELETE layout, the chain as performed verifies (package
/// recorded hello.tar only).
#[test]
fn delete_of_everything_build_made_verifies() {
    let layout = LAYOUT.replace(DELETE_LAYOUT.0, DELETE_LAYOUT.1);
    let dir = perform_under(&layout, GOOD);
    expect_code(
        &verify(dir.path(), &[]),
        0,
        "package recorded hello.tar only",
    );
}

/// `-v` prints every rule's queue before and after it ran, and for the
/// failing item the queue the failing rule saw.
#[test]
fn verbose_prints_each_rules_queue_before_and_after() {
    let changed = Chain {
        before_package: "echo evil > hello/hello",
        ..GOOD
    };
    let good_lines = [
        "step \"build\" materials: \"MATCH src/* WITH PRODUCTS FROM clone\": queue before \
         [\"src/main.c\", \"src/version\"], after []",
        "step \"build\" products: \"CREATE hello/*\": queue before [\"hello/hello\", \
         \"src/version\"], after [\"src/version\"]",
        "step \"build\" products: \"MODIFY src/version\": queue before [\"src/version\"], after []",
        "step \"package\" products: \"REQUIRE hello.tar\": queue before [\"hello.tar\"], after \
         [\"hello.tar\"]",
        "inspection \"check\" materials: \"MATCH hello.tar WITH PRODUCTS FROM package\": queue \
         before [",
    ];
    let changed_lines = [
        "step \"package\" materials: \"MATCH hello/* WITH PRODUCTS FROM build\": queue before \
         [\"hello/hello\"], after [\"hello/hello\"]",
        "step \"package\" materials: \"DISALLOW *\": queue before [\"hello/hello\"], failed",
    ];
    for (chain, code, what, lines) in [
        (GOOD, 0, "good chain, -v", &good_lines[..]),
        (changed, 1, "changed product, -v", &changed_lines),
    ] {
        let dir = perform(chain);
        let out = verify(dir.path(), &["-v"]);
        expect_code(&out, code, what);
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in lines {
            assert!(
                stderr.contains(line),
                "{what}: missing {line:?} in:\n{stderr}"
            );
        }
    }
}
