//! Metadata other in-toto implementations wrote (`testdata/peers/`), with
//! the verdicts their own tests state.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{
    copy_files, expect_code, expect_error, expect_refused, file_ending, generate_key,
    reference_tool, repo_path, tempdir, toto, toto_in, write,
};

/// The Python of the in-toto 2.x venv (`TOTO_INTOTO2_PYTHON`, made by
/// scripts/test), or `None` (outside CI only).
fn intoto2(test: &str) -> Option<PathBuf> {
    testkit::peer("TOTO_INTOTO2_PYTHON", "the in-toto 2.x peer", test)
}

/// in-toto 2.x's `in-toto-verify ARGS` in `dir`.
fn intoto2_verify(python: &Path, dir: &Path, args: &[&str]) -> Output {
    reference_tool(python, "in-toto-verify", dir, args)
}

/// in-toto-golang's `test/data`, copied into a fresh directory (the demo
/// layout's inspection writes there).
fn golang_copy() -> tempfile::TempDir {
    let dir = tempdir();
    copy_files(&repo_path("testdata/peers/in-toto-golang"), dir.path());
    dir
}

/// In `root`: `layout.toml` with `toml`, and from it `root.layout` signed
/// by the key pair `owner` already there.
fn owner_signs_layout(root: &Path, toml: &str) {
    write(&root.join("layout.toml"), toml);
    let out = toto_in(root, &["layout", "new", "layout.toml", "-o", "root.layout"]);
    expect_code(&out, 0, "layout new");
    let out = toto_in(root, &["layout", "sign", "--key", "owner", "root.layout"]);
    expect_code(&out, 0, "layout sign");
}

fn verify(dir: &Path, layout: &str, key: &str) -> std::process::Output {
    toto_in(dir, &["verify", "-l", layout, "-k", key, "--link-dir", "."])
}

/// `verifylib_test.go` `TestInTotoVerifyPass`: the DSSE layout and the
/// DSSE-only layout, signed under alice's legacy key id `70ca5750…`, verify.
#[test]
fn in_toto_golang_layouts_signed_under_legacy_key_ids_verify() {
    let dir = golang_copy();
    for layout in ["demo.dsse.layout", "dsse-only.root.layout"] {
        let out = verify(dir.path(), layout, "alice.pub");
        expect_code(&out, 0, layout);
    }
}

/// Links in-toto-golang's tests load (`verifylib_test.go`): each verifies
/// by the key its file name's legacy key id names (`dan`: b7d643de, `alice`:
/// 70ca5750), and not by the other key (exit 1).
#[test]
fn in_toto_golang_links_verify_by_the_keys_their_legacy_ids_name() {
    let dir = golang_copy();
    let check =
        |link: &str, key: &str| toto_in(dir.path(), &["sign", "-f", link, "--verify", "-k", key]);
    for (link, key, other) in [
        ("write-code.b7d643de.link", "dan.pub", "alice.pub"),
        ("foo.b7d643de.link", "dan.pub", "alice.pub"),
        ("sub_layout.70ca5750.link", "alice.pub", "dan.pub"),
    ] {
        expect_code(&check(link, key), 0, &format!("{link} by {key}"));
        expect_code(&check(link, other), 1, &format!("{link} not by {other}"));
    }
}

/// The same layouts with another key, or with one byte of the signed
/// payload changed, fail (exit 1).
#[test]
fn in_toto_golang_layouts_fail_with_the_wrong_key_or_a_changed_payload() {
    let dir = golang_copy();
    let out = verify(dir.path(), "demo.dsse.layout", "dan.pub");
    expect_error(&out, 1, "not signed by key", "dan did not sign the layout");

    let path = dir.path().join("dsse-only.root.layout");
    let mut env: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let payload = env["payload"].as_str().unwrap().to_owned();
    // "eyJfdHlwZSI6ICJsYXlvdXQi" is `{"_type": "layout"`: spell it "Layout".
    let tampered = payload.replacen("ICJsYXlvdXQi", "ICJMYXlvdXQi", 1);
    assert_ne!(tampered, payload);
    env["payload"] = serde_json::Value::String(tampered);
    std::fs::write(&path, serde_json::to_vec(&env).unwrap()).unwrap();
    let out = verify(dir.path(), "dsse-only.root.layout", "alice.pub");
    expect_code(&out, 1, "tampered layout payload");
}

/// `TestInTotoVerifyPass` "metablock layout": in-toto-golang verifies
/// `demo.layout`, whose step `write-code` also names ITE-7 X.509
/// functionaries (`rootcas`, `intermediatecas`, `cert_constraints`). Its
/// link is signed by the step's key, so toto verifies it too; without that
/// link (and no certificate-signed one) it fails.
#[test]
fn in_toto_golang_ite7_layout_verifies_by_its_key_functionaries() {
    let dir = golang_copy();
    let out = verify(dir.path(), "demo.layout", "alice.pub");
    expect_code(&out, 0, "demo.layout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("X.509"), "{stderr}");

    std::fs::remove_file(dir.path().join("write-code.b7d643de.link")).unwrap();
    let out = verify(dir.path(), "demo.layout", "alice.pub");
    expect_code(&out, 1, "no link for write-code");
}

/// Signs link `content` with `key` as the X.509 functionary of `cert`
/// (`toto sign --cert`), into `dir`, named `write-code.<keyid8>.link` as
/// in-toto-golang names it; returns the file name.
fn sign_write_code_as(dir: &Path, content: &Path, key: &Path, cert: &Path) -> String {
    let [content, key, cert] = [content, key, cert].map(|p| p.to_str().unwrap().to_owned());
    let args = [
        "sign",
        "-f",
        &content,
        "-k",
        &key,
        "--cert",
        &cert,
        "-o",
        "signing.tmp",
    ];
    expect_code(&toto_in(dir, &args), 0, &format!("sign --cert {cert}"));
    let signed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("signing.tmp")).unwrap()).unwrap();
    let keyid = signed["signatures"][0]["keyid"].as_str().unwrap();
    let name = format!("write-code.{}.link", &keyid[..8]);
    std::fs::rename(dir.join("signing.tmp"), dir.join(&name)).unwrap();
    name
}

/// Replaces the write-code link `name` in `dir` by `content` signed as
/// the X.509 functionary `who` of `testdata/x509` (`WHO.key.pem`,
/// `WHO.cert.pem`).
fn resign_write_code_as(dir: &Path, name: &str, content: &Path, who: &str) {
    std::fs::remove_file(dir.join(name)).unwrap();
    let x509 = repo_path("testdata/x509");
    sign_write_code_as(
        dir,
        content,
        &x509.join(format!("{who}.key.pem")),
        &x509.join(format!("{who}.cert.pem")),
    );
}

/// in-toto-golang's `demo.layout` performed by its X.509 functionary: the
/// write-code link (the content of `write-code.b7d643de.link`) signed, as
/// in-toto-golang's `in-toto run -c` signs it, by the key of its test
/// certificate `example.com.write-code.cert.pem` (CN write-code.example.com,
/// O example, URI spiffe://example.com/write-code, under its root
/// `da6360ef…` through its intermediate): it meets the step's
/// `cert_constraints`, so the layout verifies without the key functionary's
/// link. A certificate of the same CA for another functionary does not.
#[test]
fn in_toto_golang_ite7_layout_verifies_by_its_certificate_functionary() {
    let dir = golang_copy();
    let d = dir.path();
    let content = d.join("write-code.content");
    std::fs::rename(d.join("write-code.b7d643de.link"), &content).unwrap();
    let name = sign_write_code_as(
        d,
        &content,
        &d.join("example.com.write-code.key.pem"),
        &d.join("example.com.write-code.cert.pem"),
    );
    // in-toto-golang's id of the certificate's key (`keylib_test.go`).
    assert_eq!(name, "write-code.4979dea7.link");
    let out = verify(d, "demo.layout", "alice.pub");
    expect_code(&out, 0, "demo.layout by the write-code certificate");

    // The package functionary's certificate, same CA: CN and URI differ.
    resign_write_code_as(d, &name, &content, "package");
    let out = verify(d, "demo.layout", "alice.pub");
    expect_error(
        &out,
        1,
        r#"meets no cert_constraints entry of step "write-code": [0] common name: expected ["write-code.example.com"], found ["package.example.com"]; uri: expected ["spiffe://example.com/write-code"], found ["spiffe://example.com/package"]."#,
        "the package certificate for write-code",
    );
}

/// `toto layout new` authors X.509 functionaries (`rootcas`,
/// `intermediatecas`, `cert_constraints`) from a description naming
/// in-toto-golang's test CA files; a step recorded with `toto run` and
/// signed with `toto sign --cert` by its write-code certificate verifies;
/// signed by a certificate of another organization, it does not.
#[test]
fn layout_new_authors_x509_functionaries() {
    let dir = golang_copy();
    let d = dir.path();
    generate_key(&d.join("owner"), &[]);
    owner_signs_layout(
        d,
        r#"expires = "30d"
rootcas = ["root.cert.pem"]
intermediatecas = ["example.com.intermediate.cert.pem"]

[[steps]]
name = "write-code"
products = ["CREATE foo.py", "DISALLOW *"]

[[steps.cert_constraints]]
common_name = "write-code.example.com"
organizations = ["example"]
roots = ["root.cert.pem"]
uris = ["spiffe://example.com/write-code"]
"#,
    );
    let layout: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("root.layout")).unwrap()).unwrap();
    let root = "da6360ef818d52b11f891132609f34907bd48521b33fc96927979b7fce876136";
    assert!(layout["signed"]["rootcas"].get(root).is_some());
    assert_eq!(
        layout["signed"]["steps"][0]["cert_constraints"][0]["roots"],
        serde_json::json!([root])
    );
    let work = tempdir();
    let w = work.path();
    let key = d.join("example.com.write-code.key.pem");
    let run = [
        "run",
        "-n",
        "write-code",
        "--encoding",
        "metablock",
        "-k",
        key.to_str().unwrap(),
    ];
    let out = toto_in(
        w,
        &[
            &run[..],
            &[
                "-p",
                "foo.py",
                "-x",
                "--",
                "sh",
                "-c",
                "echo hello > foo.py",
            ],
        ]
        .concat(),
    );
    expect_code(&out, 0, "run write-code");
    let recorded = file_ending(w, ".link");
    let name = sign_write_code_as(
        d,
        &recorded,
        &key,
        &d.join("example.com.write-code.cert.pem"),
    );
    let out = verify(d, "root.layout", "owner.pub");
    expect_code(&out, 0, "authored X.509 layout");

    // Without intermediatecas, the intermediate comes from the command line
    // (in-toto-golang's --intermediate-certs).
    let toml = std::fs::read_to_string(d.join("layout.toml")).unwrap();
    let toml = toml.replace(
        "intermediatecas = [\"example.com.intermediate.cert.pem\"]\n",
        "",
    );
    write(&d.join("bare.toml"), &toml);
    expect_code(
        &toto_in(d, &["layout", "new", "bare.toml", "-o", "bare.layout"]),
        0,
        "new",
    );
    let out = toto_in(d, &["layout", "sign", "--key", "owner", "bare.layout"]);
    expect_code(&out, 0, "sign bare.layout");
    let out = verify(d, "bare.layout", "owner.pub");
    expect_error(&out, 1, "issuer unknown", "no intermediate");
    let with = [
        "verify",
        "-l",
        "bare.layout",
        "-k",
        "owner.pub",
        "--link-dir",
        ".",
    ];
    let out = toto_in(
        d,
        &[
            &with[..],
            &["--intermediate-cert", "example.com.intermediate.cert.pem"],
        ]
        .concat(),
    );
    expect_code(&out, 0, "--intermediate-cert");

    resign_write_code_as(d, &name, &recorded, "other-org");
    let out = verify(d, "root.layout", "owner.pub");
    expect_error(
        &out,
        1,
        r#"organization: expected ["example"], found ["other"]"#,
        "another organization",
    );
}

/// `toto layout show` lists in-toto-golang's `demo.layout` CAs and its
/// step's certificate constraints, in text and JSON.
#[test]
fn layout_show_lists_x509_functionaries() {
    let dir = golang_copy();
    let root = "da6360ef818d52b11f891132609f34907bd48521b33fc96927979b7fce876136";
    let out = toto_in(dir.path(), &["layout", "show", "demo.layout"]);
    expect_code(&out, 0, "layout show");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("  root CAs (X.509 functionaries):\n    {root} ("))
            && text.contains(r#"X.509 functionaries [0]: {"common_name":"write-code.example.com""#),
        "{text}"
    );
    let out = toto_in(
        dir.path(),
        &["layout", "show", "--format", "json", "demo.layout"],
    );
    expect_code(&out, 0, "layout show --format json");
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["rootcas"][0]["id"], root);
    assert_eq!(
        shown["steps"][0]["cert_constraints"][0]["roots"],
        serde_json::json!([root])
    );
}

/// `toto sign --cert` refuses a certificate of another key than the one
/// signing, and a DSSE link (exit 2).
#[test]
fn sign_cert_needs_the_certificates_key_and_a_metablock() {
    let dir = golang_copy();
    let d = dir.path();
    let out = toto_in(
        d,
        &[
            "sign",
            "-f",
            "write-code.b7d643de.link",
            "-k",
            "dan",
            "--cert",
            "example.com.write-code.cert.pem",
            "-o",
            "x.link",
        ],
    );
    expect_error(&out, 2, "not the signing key", "another key's certificate");
    let out = toto_in(
        d,
        &[
            "sign",
            "-f",
            "clone-dsse.776a00e2.link",
            "-k",
            "example.com.write-code.key.pem",
            "--cert",
            "example.com.write-code.cert.pem",
            "-o",
            "x.link",
        ],
    );
    expect_error(
        &out,
        2,
        "DSSE envelope carries no certificate",
        "a DSSE link",
    );
}

/// in-toto 2.3 signs a layout (RSA owner key) and one link per legacy key
/// type (RSA PEM, ed25519 and ECDSA securesystemslib keys), as Metablocks
/// and as classic links inside DSSE (`--use-dsse`): every key id in them is
/// a legacy id. in-toto 2.3 verifies them, and so does toto with the
/// owner's PEM; a link changed after signing fails in both.
#[test]
fn in_toto_2x_legacy_keys_sign_what_toto_verifies() {
    let Some(python) = intoto2("in_toto_2x_legacy_keys_sign_what_toto_verifies") else {
        return;
    };
    for dsse in [false, true] {
        let dir = tempdir();
        let mut make = Command::new(&python);
        make.arg(repo_path("tests/peer/intoto2.py"))
            .arg("make")
            .arg(dir.path());
        if dsse {
            make.arg("dsse");
        }
        expect_code(&make.output().unwrap(), 0, "intoto2.py make");
        let peer_verify = || {
            let args = ["--layout", "root.layout", "--layout-keys", "owner.pub"];
            intoto2_verify(&python, dir.path(), &args)
        };
        let what = if dsse { "DSSE" } else { "Metablock" };
        expect_code(
            &peer_verify(),
            0,
            &format!("in-toto 2.3 verifies its own {what} chain"),
        );
        let ours = verify(dir.path(), "root.layout", "owner.pub");
        expect_code(
            &ours,
            0,
            &format!("toto verifies in-toto 2.3's {what} chain"),
        );

        let link = crate::common::file_ending(dir.path(), ".link");
        tamper(&link);
        expect_refused(
            &peer_verify(),
            &format!("in-toto 2.3 refuses a changed {what} link"),
        );
        let ours = verify(dir.path(), "root.layout", "owner.pub");
        expect_code(&ours, 1, &format!("toto refuses a changed {what} link"));
    }
}

/// Renames the first `"foo.py"` of a signed link (Metablock or DSSE
/// payload) to `"bar.py"`, keeping its signatures.
fn tamper(link: &Path) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let rename = |text: &str| {
        let changed = text.replacen("\"foo.py\"", "\"bar.py\"", 1);
        assert_ne!(changed, text, "no foo.py to rename");
        changed
    };
    let text = std::fs::read_to_string(link).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let changed = match doc.get("payload").and_then(|p| p.as_str()) {
        Some(payload) => {
            let payload = String::from_utf8(b64.decode(payload).unwrap()).unwrap();
            doc["payload"] = serde_json::Value::String(b64.encode(rename(&payload)));
            doc.to_string()
        }
        None => rename(&text),
    };
    std::fs::write(link, changed).unwrap();
}

/// The reverse: a layout and links toto signs with RSA, ed25519 and ECDSA
/// keys verify in in-toto 2.3 given the owner's PEM as `--verification-keys`
/// (current-style key ids). Its deprecated `--layout-keys` computes the
/// legacy id, which toto does not sign under, and finds no signature.
#[test]
fn in_toto_2x_verifies_what_toto_signs() {
    let Some(python) = intoto2("in_toto_2x_verifies_what_toto_signs") else {
        return;
    };
    let dir = tempdir();
    let root = dir.path();
    generate_key(&root.join("owner"), &["-t", "rsa"]);
    let mut toml = String::from("expires = \"30d\"\n");
    for (kind, step) in [
        ("rsa", "rsa"),
        ("ed25519", "ed25519"),
        ("ecdsa-p256", "ecdsa"),
    ] {
        generate_key(&root.join(kind), &["-t", kind]);
        toml.push_str(&format!(
            "[[steps]]\nname = \"build-{step}\"\nfunctionaries = [\"{kind}.pub\"]\n\
             products = [\"ALLOW foo.py\", \"DISALLOW *\"]\n"
        ));
    }
    write(&root.join("foo.py"), "print('hi')\n");
    owner_signs_layout(root, &toml);
    for (kind, step) in [
        ("rsa", "rsa"),
        ("ed25519", "ed25519"),
        ("ecdsa-p256", "ecdsa"),
    ] {
        let name = format!("build-{step}");
        let out = toto()
            .current_dir(root)
            .args([
                "run",
                "--encoding",
                "metablock",
                "-n",
                &name,
                "--signing-key",
                kind,
                "-p",
                "foo.py",
                "-x",
            ])
            .output()
            .unwrap();
        expect_code(&out, 0, &name);
    }
    let peer = intoto2_verify(
        &python,
        root,
        &[
            "--layout",
            "root.layout",
            "--verification-keys",
            "owner.pub",
        ],
    );
    expect_code(&peer, 0, "in-toto 2.3 verifies toto's chain");
    let legacy = intoto2_verify(
        &python,
        root,
        &["--layout", "root.layout", "--layout-keys", "owner.pub"],
    );
    expect_refused(&legacy, "toto signs under the current-style key id");
    let said = String::from_utf8_lossy(&legacy.stderr);
    assert!(said.contains("No signature found for key"), "{said}");
}

/// Links in each older link predicate, as other tools wrote them: v0.2
/// (products in `subject`, materials a classic map), and v0.1 and v1 (the
/// predicate is the whole classic link; cosign's `attest --type link`
/// writes v1 around a Statement v0.1 whose subject is the image), with
/// fields toto does not know. Their materials and products both meet the
/// step's rules: a material or a product outside them fails (exit 1; a v0.2
/// link's materials were once not read at all).
#[test]
fn older_link_predicates_count_with_their_materials_and_products() {
    let dir = tempdir();
    let root = dir.path();
    generate_key(&root.join("owner"), &[]);
    generate_key(&root.join("bob"), &["-t", "ecdsa-p256"]);
    owner_signs_layout(
        root,
        "[[steps]]\nname = \"build\"\nfunctionaries = [\"bob.pub\"]\n\
         materials = [\"ALLOW src.c\", \"DISALLOW *\"]\n\
         products = [\"ALLOW app\", \"DISALLOW *\"]\n",
    );
    let keyid = String::from_utf8(toto_in(root, &["key", "id", "bob.pub"]).stdout).unwrap();
    let link_file = format!("build.{}.link", &keyid.trim()[..8]);
    let sha = |c: char| serde_json::json!({"sha256": c.to_string().repeat(64)});
    let statement = |predicate_type: &str, materials: &[&str], products: &[&str]| {
        let map = |names: &[&str], c| -> serde_json::Map<String, serde_json::Value> {
            names.iter().map(|n| ((*n).to_owned(), sha(c))).collect()
        };
        let (subject, predicate) = if predicate_type.ends_with("v0.2") {
            let subject: Vec<_> = products
                .iter()
                .map(|n| serde_json::json!({"name": n, "digest": sha('b')}))
                .collect();
            let predicate = serde_json::json!({"name": "build", "command": ["cc"],
                "materials": map(materials, 'a'), "byproducts": {}, "environment": {},
                "builder": {"id": "https://example.com/other-tool"}});
            (serde_json::json!(subject), predicate)
        } else {
            let image = serde_json::json!([{"name": "registry.example/app", "digest": sha('f')}]);
            let predicate = serde_json::json!({"_type": "link", "name": "build",
                "command": ["cc"], "materials": map(materials, 'a'),
                "products": map(products, 'b'), "byproducts": {}, "environment": {},
                "x-cosign": true});
            (image, predicate)
        };
        serde_json::json!({"_type": "https://in-toto.io/Statement/v0.1", "subject": subject,
            "predicateType": predicate_type, "predicate": predicate})
    };
    let verify_signed = |value: serde_json::Value| {
        write(&root.join("statement.json"), &value.to_string());
        let sign = [
            "envelope",
            "sign",
            "--key",
            "bob",
            "--payload-type",
            "application/vnd.in-toto+json",
            "statement.json",
            "-o",
            &link_file,
        ];
        expect_code(&toto_in(root, &sign), 0, "envelope sign");
        verify(root, "root.layout", "owner.pub")
    };
    for predicate_type in [
        "https://in-toto.io/Link/v0.2",
        "https://in-toto.io/Link/v0.1",
        "https://in-toto.io/Link/v1",
    ] {
        let out = verify_signed(statement(predicate_type, &["src.c"], &["app"]));
        expect_code(&out, 0, predicate_type);
        let out = verify_signed(statement(predicate_type, &["src.c", "evil.c"], &["app"]));
        expect_error(
            &out,
            1,
            "evil.c",
            &format!("{predicate_type}: a material outside the rules"),
        );
        let out = verify_signed(statement(predicate_type, &["src.c"], &["app", "backdoor"]));
        expect_error(
            &out,
            1,
            "backdoor",
            &format!("{predicate_type}: a product outside the rules"),
        );
    }
}

/// `toto key id --legacy` prints the ids in-toto-golang's `keylib_test.go`
/// states for its P-384 key: `TestLoadKey` (scheme of the curve) and
/// `TestLoadKeyDefaults` (ecdsa-sha2-nistp256).
#[test]
fn key_id_legacy_prints_in_toto_golangs_ids() {
    let dir = golang_copy();
    let out = toto_in(dir.path(), &["key", "id", "--legacy", "grace.pub"]);
    expect_code(&out, 0, "key id --legacy");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[1],
        "a5522ebccd492f64e6ec0bbcb5eb782708f6e26709a3712e64fff108b98e5142 (legacy)"
    );
    assert!(
        lines[2].starts_with(
            "a5fe82bffd11c43cd25b41b427496dea8eb61505bfa11907a6a565ebb00fa323 (legacy, "
        ),
        "{text}"
    );
    let out = toto_in(
        dir.path(),
        &["key", "id", "--legacy", "--format", "json", "grace.pub"],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["other_legacy_keyids"],
        serde_json::json!(["a5fe82bffd11c43cd25b41b427496dea8eb61505bfa11907a6a565ebb00fa323"])
    );
    let out = toto_in(dir.path(), &["key", "id", "--legacy", "alice.pub"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().count(),
        2,
        "an RSA key has no other legacy id: {text}"
    );
    assert!(
        text.contains("70ca5750c2eda80b18f41f4ec5f92146789b5d68dd09577be422a0159bd13680 (legacy)")
    );
}
