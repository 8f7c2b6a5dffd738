//! `toto verify` on the reference's demo supply chains.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::common::*;

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn verify_copy(name: &str, layout: &str, args: &[&str]) -> Output {
    let dir = tempdir();
    copy_dir(&vector(name), dir.path());
    let mut cmd = toto();
    cmd.current_dir(dir.path())
        .args(["verify", "--layout", layout, "--layout-key", "alice.pub"])
        .args(args);
    if let Some(py) = std::env::var_os("TOTO_PYTHON") {
        // The upstream demo's inspection runs `python`.
        let bin = python_bin_dir(Path::new(&py));
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin];
        paths.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(paths).unwrap());
    }
    cmd.output().unwrap()
}

#[test]
fn demo_supply_chains_verify() {
    for name in ["demo_metablock_good", "demo_dsse_good"] {
        expect_code(&verify_copy(name, "root.layout", &[]), 0, name);
    }
    for name in ["upstream_demo_files", "upstream_demo_dsse_files"] {
        expect_code(&verify_copy(name, "demo.layout", &[]), 0, name);
    }
}

#[test]
fn tampered_demo_fails_naming_rule_artifact_and_link() {
    for name in ["demo_metablock_tampered", "demo_dsse_tampered"] {
        let out = verify_copy(name, "root.layout", &[]);
        expect_code(&out, 1, name);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("DISALLOW *"), "{stderr}");
        assert!(stderr.contains("demo-project/foo.py"), "{stderr}");
        assert!(stderr.contains("package.be06db20.link"), "{stderr}");
        let json = verify_copy(name, "root.layout", &["--format", "json"]);
        expect_code(&json, 1, name);
        let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(report["verified"], false);
        assert_eq!(report["failure"]["kind"], "rule");
        assert_eq!(report["failure"]["rule"], "DISALLOW *");
        assert_eq!(report["failure"]["artifact"], "demo-project/foo.py");
        assert_eq!(report["failure"]["item"], "package");
    }
}

#[test]
fn wrong_layout_key_and_missing_links_fail() {
    let dir = tempdir();
    copy_dir(&vector("demo_metablock_good"), dir.path());
    let out = toto_in(
        dir.path(),
        &["verify", "-l", "root.layout", "-k", "bob.pub"],
    );
    expect_code(&out, 1, "layout signed by alice, checked with bob");
    fs::remove_file(dir.path().join("package.be06db20.link")).unwrap();
    let out = toto_in(
        dir.path(),
        &["verify", "-l", "root.layout", "-k", "alice.pub"],
    );
    expect_code(&out, 1, "missing link");
    assert!(String::from_utf8_lossy(&out.stderr).contains("package"));
    let out = toto_in(
        dir.path(),
        &["verify", "-l", "no-such.layout", "-k", "alice.pub"],
    );
    expect_code(&out, 2, "missing layout file");
}

fn gen_key(dir: &Path, name: &str) -> String {
    generate_key(&dir.join(name), &[]);
    let id = toto_in(dir, &["key", "id", &format!("{name}.pub")]);
    String::from_utf8(id.stdout).unwrap().trim()[..8].to_owned()
}

fn sh(dir: &Path, args: &[&str]) {
    let out = toto().current_dir(dir).args(args).output().unwrap();
    expect_code(&out, 0, &args.join(" "));
}

/// `toto run -n build --format FORMAT --key bob -x` in `root`.
fn bob_runs_build(root: &Path, format: &str) {
    sh(
        root,
        &[
            "run", "-n", "build", "--format", format, "--key", "bob", "-x",
        ],
    );
}

/// `in-toto-verify -l root.layout --verification-keys alice.pub` in `root`.
fn in_toto_verify(py: &Path, root: &Path) -> Output {
    reference_tool(
        py,
        "in-toto-verify",
        root,
        &["-l", "root.layout", "--verification-keys", "alice.pub"],
    )
}

/// A step performed under a sublayout: the functionary's link is itself a
/// layout, its links in `<step>.<keyid8>/`. toto and in-toto-verify agree,
/// before and after tampering inside the sublayout.
#[test]
fn sublayouts_verify_recursively_like_the_reference() {
    let py = python("sublayouts_verify_recursively_like_the_reference");
    for tamper in [false, true] {
        let dir = tempdir();
        let root = dir.path();
        gen_key(root, "alice");
        let bob = gen_key(root, "bob");
        gen_key(root, "carl");
        fs::write(
            root.join("outer.toml"),
            "expires = \"30d\"\n[[steps]]\nname = \"build\"\nfunctionaries = [\"bob.pub\"]\n\
             products = [\"CREATE out.txt\", \"DISALLOW *\"]\n",
        )
        .unwrap();
        fs::write(
            root.join("inner.toml"),
            "expires = \"30d\"\n[[steps]]\nname = \"compile\"\nfunctionaries = [\"carl.pub\"]\n\
             products = [\"CREATE out.txt\", \"DISALLOW *\"]\n",
        )
        .unwrap();
        sh(root, &["layout", "new", "outer.toml", "-o", "root.layout"]);
        sh(root, &["layout", "sign", "-k", "alice", "root.layout"]);
        // Bob delegates his step to a sublayout that Carl performs.
        sh(
            root,
            &[
                "layout",
                "new",
                "inner.toml",
                "-o",
                &format!("build.{bob}.link"),
            ],
        );
        sh(
            root,
            &["layout", "sign", "-k", "bob", &format!("build.{bob}.link")],
        );
        let subdir = root.join(format!("build.{bob}"));
        fs::create_dir_all(&subdir).unwrap();
        let content = if tamper { "evil" } else { "good" };
        // `toto run -n compile` into the sublayout's directory.
        let compile = |key: &str, args: &[&str]| {
            let run = ["run", "-n", "compile", "--format", "metablock"];
            toto()
                .current_dir(root)
                .args(run)
                .args(["--signing-key", key, "-d"])
                .arg(&subdir)
                .args(args)
                .output()
                .unwrap()
        };
        let echo = format!("echo {content} > out.txt");
        let out = compile("carl", &["-p", "out.txt", "--", "sh", "-c", &echo]);
        expect_code(&out, 0, "run compile");
        if tamper {
            // The sublayout's only functionary is Carl: a link by someone else is refused.
            let link = fs::read_dir(&subdir)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path();
            fs::remove_file(&link).unwrap();
            let out = compile("alice", &["-p", "out.txt", "-x"]);
            expect_code(&out, 0, "run compile as alice");
        }
        for f in ["outer.toml", "inner.toml", "alice", "bob", "carl"] {
            fs::remove_file(root.join(f)).unwrap();
        }
        let ours = toto_in(root, &["verify", "-l", "root.layout", "-k", "alice.pub"]);
        let expected = if tamper { 1 } else { 0 };
        expect_code(&ours, expected, "toto verify with a sublayout");
        if tamper {
            assert!(String::from_utf8_lossy(&ours.stderr).contains("sublayout \"build\""));
        }
        if let Some(py) = &py {
            let theirs = in_toto_verify(py, root);
            expect_code(&theirs, expected, "in-toto-verify with a sublayout");
        }
    }
}

#[test]
fn malformed_layouts_are_input_errors() {
    let dir = tempdir();
    let root = dir.path();
    gen_key(root, "alice");
    let cases: &[(&str, &str)] = &[
        ("not json", "{\"signed\": "),
        ("wrong type", r#"{"_type": "link", "name": "x"}"#),
        (
            "bad rule",
            r#"{"_type": "layout", "keys": {}, "steps": [{"_type": "step", "name": "s", "expected_materials": [["FROB", "x"]], "expected_products": [], "pubkeys": [], "expected_command": [], "threshold": 1}], "inspect": []}"#,
        ),
        (
            "step name escapes",
            r#"{"_type": "layout", "keys": {}, "steps": [{"_type": "step", "name": "../../etc", "expected_materials": [], "expected_products": [], "pubkeys": [], "expected_command": [], "threshold": 1}], "inspect": []}"#,
        ),
        (
            "bad expiry",
            r#"{"_type": "layout", "expires": "tomorrow", "keys": {}, "steps": [], "inspect": []}"#,
        ),
    ];
    for (name, payload) in cases {
        let layout = root.join("bad.layout");
        if *name == "not json" {
            fs::write(&layout, payload).unwrap();
        } else {
            fs::write(
                &layout,
                format!("{{\"signed\": {payload}, \"signatures\": []}}"),
            )
            .unwrap();
            let out = toto_in(
                root,
                &[
                    "sign",
                    "-f",
                    "bad.layout",
                    "-k",
                    "alice",
                    "-o",
                    "bad.layout",
                ],
            );
            let _ = out;
        }
        let out = toto_in(root, &["verify", "-l", "bad.layout", "-k", "alice.pub"]);
        expect_code(&out, 2, name);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("bad.layout"),
            "{name}"
        );
    }
}

/// A layout whose first step is performed keylessly: its evidence is a real
/// Sigstore bundle (SLSA provenance from the sigstore-conformance suite),
/// and a keyed step then packages exactly what the provenance names.
#[test]
fn keyless_functionaries_and_attestations_in_a_layout() {
    let conformance = shared().join("vectors/sigstore-conformance");
    let identity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    for (case, expected) in [("honest", 0), ("tampered", 1), ("wrong-identity", 1)] {
        let dir = tempdir();
        let root = dir.path();
        gen_key(root, "owner");
        gen_key(root, "packager");
        let who = if case == "wrong-identity" {
            "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main"
        } else {
            identity
        };
        fs::write(
            root.join("chain.toml"),
            format!(
                "expires = \"30d\"\n\
                 [[steps]]\nname = \"provenance\"\nidentities = [{{ identity = \"{who}\", issuer = \"{issuer}\" }}]\n\
                 products = [\"ALLOW a.txt\", \"DISALLOW *\"]\n\
                 [[steps]]\nname = \"package\"\nfunctionaries = [\"packager.pub\"]\n\
                 materials = [\"MATCH a.txt WITH PRODUCTS FROM provenance\", \"DISALLOW *\"]\n\
                 products = [\"ALLOW a.txt\", \"DISALLOW *\"]\n"
            ),
        )
        .unwrap();
        sh(root, &["layout", "new", "chain.toml", "-o", "root.layout"]);
        sh(root, &["layout", "sign", "-k", "owner", "root.layout"]);
        let layout: serde_json::Value =
            serde_json::from_slice(&fs::read(root.join("root.layout")).unwrap()).unwrap();
        let keyless_id = layout["signed"]["keys"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(_, k)| k["keytype"] == "sigstore-oidc")
            .map(|(id, _)| id.clone())
            .unwrap();
        fs::copy(
            conformance.join("bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json"),
            root.join(format!("provenance.{}.link", &keyless_id[..8])),
        )
        .unwrap();
        fs::copy(conformance.join("bundle-verify/a.txt"), root.join("a.txt")).unwrap();
        if case == "tampered" {
            fs::write(root.join("a.txt"), "not what the provenance names\n").unwrap();
        }
        sh(
            root,
            &[
                "run", "-n", "package", "--key", "packager", "-m", "a.txt", "-p", "a.txt", "-x",
            ],
        );
        let out = toto_in(
            root,
            &[
                "verify",
                "-l",
                "root.layout",
                "-k",
                "owner.pub",
                "--format",
                "json",
            ],
        );
        expect_code(&out, expected, case);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        match case {
            "honest" => assert_eq!(report["steps"][1]["materials"][0]["consumed"][0], "a.txt"),
            "tampered" => {
                assert_eq!(report["failure"]["rule"], "DISALLOW *");
                assert_eq!(report["failure"]["artifact"], "a.txt");
                assert_eq!(report["failure"]["item"], "package");
            }
            _ => {
                assert_eq!(report["failure"]["kind"], "threshold");
                assert!(report["failure"]["refused"][0]
                    .as_str()
                    .unwrap()
                    .contains("not a valid bundle by"));
            }
        }
    }
}

/// `toto layout new` reads YAML as well as TOML: the same description in
/// both gives the same layout (but for the expiry, computed at each run).
#[test]
fn yaml_and_toml_descriptions_give_the_same_layout() {
    let dir = tempdir();
    let root = dir.path();
    generate_key(&root.join("bob"), &[]);
    fs::write(
        root.join("chain.toml"),
        "expires = \"2030-01-01T00:00:00Z\"\nreadme = \"both\"\n[[steps]]\nname = \"build\"\n\
         functionaries = [\"bob.pub\"]\nthreshold = 1\nexpected_command = [\"make\"]\n\
         materials = [\"ALLOW src/*\", \"DISALLOW *\"]\nproducts = [\"CREATE app\"]\n\
         [[inspections]]\nname = \"check\"\nrun = [\"true\"]\nmaterials = [\"MATCH app WITH PRODUCTS FROM build\"]\n",
    )
    .unwrap();
    fs::write(
        root.join("chain.yaml"),
        "expires: \"2030-01-01T00:00:00Z\"\nreadme: both\nsteps:\n  - name: build\n    \
         functionaries: [bob.pub]\n    threshold: 1\n    expected_command: [make]\n    \
         materials: [\"ALLOW src/*\", \"DISALLOW *\"]\n    products: [\"CREATE app\"]\n\
         inspections:\n  - name: check\n    run: [\"true\"]\n    materials: [\"MATCH app WITH PRODUCTS FROM build\"]\n",
    )
    .unwrap();
    for (input, output) in [("chain.toml", "t.layout"), ("chain.yaml", "y.layout")] {
        let out = toto_in(root, &["layout", "new", input, "-o", output]);
        expect_code(&out, 0, input);
    }
    assert_eq!(
        fs::read(root.join("t.layout")).unwrap(),
        fs::read(root.join("y.layout")).unwrap()
    );
    // A YAML mistake names the file.
    fs::write(
        root.join("bad.yml"),
        "steps:\n  - name: build\n    colour: red\n",
    )
    .unwrap();
    let out = toto_in(root, &["layout", "new", "bad.yml"]);
    expect_code(&out, 2, "unknown field");
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yml"));
}

/// In `root`: keys `alice` and `bob`, and the unsigned `root.layout`
/// whose step `build` bob performs; returns bob's key id prefix.
fn bob_builds(root: &Path) -> String {
    gen_key(root, "alice");
    let bob = gen_key(root, "bob");
    fs::write(
        root.join("chain.toml"),
        "expires = \"30d\"\n[[steps]]\nname = \"build\"\nfunctionaries = [\"bob.pub\"]\n",
    )
    .unwrap();
    sh(root, &["layout", "new", "chain.toml", "-o", "root.layout"]);
    bob
}

/// `toto verify -l root.layout -k alice.pub` in `root`.
fn toto_verify(root: &Path) -> Output {
    toto_in(root, &["verify", "-l", "root.layout", "-k", "alice.pub"])
}

/// A layout whose step lists one functionary twice with threshold 2: one
/// link does not meet it, for toto and for in-toto-verify (the reference
/// keeps links in a dict by key id).
#[test]
fn a_functionary_listed_twice_counts_once_like_the_reference() {
    let py = python("a_functionary_listed_twice_counts_once_like_the_reference");
    let dir = tempdir();
    let root = dir.path();
    let bob = bob_builds(root);
    let mut layout: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join("root.layout")).unwrap()).unwrap();
    let step = &mut layout["signed"]["steps"][0];
    let id = step["pubkeys"][0].clone();
    step["pubkeys"] = serde_json::json!([id, id]);
    step["threshold"] = serde_json::json!(2);
    fs::write(
        root.join("root.layout"),
        serde_json::to_vec(&layout).unwrap(),
    )
    .unwrap();
    sh(root, &["layout", "sign", "-k", "alice", "root.layout"]);
    bob_runs_build(root, "metablock");
    assert!(root.join(format!("build.{bob}.link")).exists());
    let ours = toto_verify(root);
    expect_error(
        &ours,
        1,
        "requires links from 2 distinct functionaries, found 1 valid",
        "one link for a functionary listed twice",
    );
    let stderr = String::from_utf8_lossy(&ours.stderr);
    assert!(
        stderr.contains(&format!("key {}", id.as_str().unwrap()))
            && stderr.contains("already counted")
            && stderr.contains("lists this signer twice"),
        "{stderr}"
    );
    if let Some(py) = &py {
        let theirs = in_toto_verify(py, root);
        expect_code(&theirs, 1, "in-toto-verify: a functionary listed twice");
    }
}

/// `toto layout new` refuses a step naming one signer twice: the same key
/// file twice, one key under two paths, one keyless identity twice.
#[test]
fn layout_new_refuses_a_functionary_listed_twice() {
    let dir = tempdir();
    let root = dir.path();
    gen_key(root, "bob");
    fs::copy(root.join("bob.pub"), root.join("bob-again.pub")).unwrap();
    let identity = "{ identity = \"bob@example.com\", issuer = \"https://issuer.example\" }";
    for (functionaries, first, second) in [
        (
            "functionaries = [\"bob.pub\", \"bob.pub\"]".to_owned(),
            "functionary bob.pub",
            "functionary bob.pub",
        ),
        (
            "functionaries = [\"bob.pub\", \"bob-again.pub\"]".to_owned(),
            "functionary bob.pub",
            "functionary bob-again.pub",
        ),
        (
            format!("identities = [{identity}, {identity}]"),
            "identity bob@example.com (https://issuer.example)",
            "identity bob@example.com (https://issuer.example)",
        ),
    ] {
        fs::write(
            root.join("chain.toml"),
            format!("[[steps]]\nname = \"build\"\n{functionaries}\nthreshold = 2\n"),
        )
        .unwrap();
        let out = toto_in(root, &["layout", "new", "chain.toml", "-o", "root.layout"]);
        expect_error(
            &out,
            2,
            &format!("step build: {second} is the same signer as {first}"),
            &functionaries,
        );
        assert!(!root.join("root.layout").exists(), "{functionaries}");
    }
}

/// `path` (a Metablock or DSSE envelope) with a bad copy of its first
/// signature, under the same key id, before it (`bad_first`) or after it.
fn add_bad_signature(path: &Path, bad_first: bool) {
    let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    let good = doc["signatures"][0].clone();
    let mut bad = good.clone();
    let sig = good["sig"].as_str().unwrap();
    // Hex or base64 alike: another first digit.
    let first = if sig.starts_with('0') { "1" } else { "0" };
    bad["sig"] = format!("{first}{}", &sig[1..]).into();
    doc["signatures"] = match bad_first {
        true => serde_json::json!([bad, good]),
        false => serde_json::json!([good, bad]),
    };
    fs::write(path, serde_json::to_vec(&doc).unwrap()).unwrap();
}

/// A layout or a link carrying two signatures under its signer's key id,
/// one bad and one good, is refused by toto, as a Metablock and as a DSSE
/// envelope. in-toto-verify refuses the same, but for a Metablock whose
/// good signature comes first: it checks only the first signature under a
/// key id (toto checks all of them, deliberately). It refuses a DSSE
/// envelope with two signatures under one key id outright.
#[test]
fn a_bad_signature_beside_a_good_one_under_one_key_id_is_refused() {
    let py = python("a_bad_signature_beside_a_good_one_under_one_key_id_is_refused");
    for (format, link_format) in [("metablock", "metablock"), ("dsse", "dsse-link")] {
        for (tampered, bad_first) in [
            ("", true),
            ("root.layout", true),
            ("link", true),
            ("root.layout", false),
            ("link", false),
        ] {
            let dir = tempdir();
            let root = dir.path();
            let bob = bob_builds(root);
            sh(
                root,
                &[
                    "layout",
                    "sign",
                    "-k",
                    "alice",
                    "--format",
                    format,
                    "root.layout",
                ],
            );
            bob_runs_build(root, link_format);
            let link = format!("build.{bob}.link");
            match tampered {
                "" => {}
                "link" => add_bad_signature(&root.join(&link), bad_first),
                file => add_bad_signature(&root.join(file), bad_first),
            }
            let what = format!("{format}: a bad signature in {tampered:?}, first: {bad_first}");
            let ours = toto_verify(root);
            let expected = match tampered {
                "" => 0,
                _ => 1,
            };
            expect_code(&ours, expected, &what);
            let stderr = String::from_utf8_lossy(&ours.stderr);
            match tampered {
                "root.layout" => {
                    assert!(stderr.contains("layout is not signed by key"), "{stderr}")
                }
                "link" => assert!(
                    stderr.contains(&format!("refused {link}: not signed by functionary {bob}")),
                    "{what}: {stderr}"
                ),
                _ => {}
            }
            if let Some(py) = &py {
                let theirs = match (format, bad_first) {
                    ("metablock", false) => 0,
                    _ => expected,
                };
                expect_code(
                    &in_toto_verify(py, root),
                    theirs,
                    &format!("in-toto-verify, {what}"),
                );
            }
        }
    }
}

/// Unknown fields of links against in-toto-verify: signed into a DSSE link,
/// both ignore it; signed into a Metablock link, both refuse it (in-toto's
/// Metablock links have a fixed schema); added to a Metablock link after
/// signing, toto refuses it (the signature covers `signed` as received)
/// while the reference accepts it (it verifies the canonical JSON of the
/// fields it knows) — a deliberate difference.
#[test]
fn unknown_link_fields_signed_or_added_against_the_reference() {
    let py = python("unknown_link_fields_signed_or_added_against_the_reference");
    for (format, signed, ours, theirs) in [
        ("dsse-link", true, 0, 0),
        ("metablock", true, 1, 1),
        ("metablock", false, 1, 0),
    ] {
        let dir = tempdir();
        let root = dir.path();
        let bob = bob_builds(root);
        sh(root, &["layout", "sign", "-k", "alice", "root.layout"]);
        bob_runs_build(root, format);
        let link = root.join(format!("build.{bob}.link"));
        let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&link).unwrap()).unwrap();
        if format == "metablock" {
            doc["signed"]["extension"] = "unknown".into();
        } else {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD;
            let payload = b64.decode(doc["payload"].as_str().unwrap()).unwrap();
            let mut payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
            payload["extension"] = "unknown".into();
            doc["payload"] = b64.encode(serde_json::to_vec(&payload).unwrap()).into();
        }
        fs::write(&link, serde_json::to_vec(&doc).unwrap()).unwrap();
        if signed {
            sh(root, &["sign", "-f", link.to_str().unwrap(), "-k", "bob"]);
        }
        let what = format!("{format}: an unknown field, signed: {signed}");
        let out = toto_verify(root);
        expect_code(&out, ours, &what);
        if ours == 1 {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = if signed {
                "unknown field \"extension\": a Metablock link has in-toto's fixed schema"
            } else {
                "not signed by functionary"
            };
            assert!(stderr.contains(why), "{what}: {stderr}");
        }
        if let Some(py) = &py {
            expect_code(
                &in_toto_verify(py, root),
                theirs,
                &format!("in-toto-verify, {what}"),
            );
        }
    }
}
