//! Keyless signing against the loopback testbed: toto's bundles verified by
//! sigstore-python 4.5.1 (and by toto), sigstore-python's bundles verified
//! by toto, a `toto run --keyless` chain verified against a layout, and the
//! client's behaviour when Fulcio or Rekor misbehave.

use std::path::{Path, PathBuf};

use crate::common::{
    attest_provenance, expect_code, expect_error, expect_refused, expect_said, faults, file_ending,
    generate_key, js_verifies_toto_bundles, keyless, keyless_build, keyless_step, layout_signed_in,
    owner_signed_layout, python, python_attest, python_sign, sign_blob, start_testbed, tempdir,
    tempdir_testbed, testbed_verify_attestation, testbed_verify_bundle, token, tokenless, toto,
    toto_in, verify_attestation, verify_bundle, verify_chain, write, Signing, VerifyFlags,
    BUILD_STEP, PROVENANCE,
};

use crate::evidence::FULCIO;
const REKOR: &str = "/api/v1/log/entries";
const WORKFLOW: &str = "org/repo/.github/workflows/release.yml@refs/heads/main";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

#[test]
fn toto_blob_and_attestation_bundles_verify_with_sigstore_python() {
    let Some(py) = python("toto_blob_and_attestation_bundles_verify_with_sigstore_python") else {
        return;
    };
    let k = Signing::new(start_testbed, "alice@example.com", "app.tar.gz");

    let out = sign_blob(&k.tb, &k.token, &k.artifact);
    expect_code(&out, 0, "toto sign-blob --keyless");
    let bundle = k.path("app.tar.gz.sigstore.json");
    // An attestation (DSSE, Rekor dsse 0.0.1 entry) over the same artifact.
    let predicate = write(&k.path("provenance.json"), PROVENANCE);
    let attestation = k.path("app.attestation.sigstore.json");
    let keyless_args = keyless(&k.tb, &k.token);
    attest_provenance(&keyless_args, &predicate, &k.artifact, &attestation);

    // sigstore-python verifies each as alice's over the artifact, and
    // refuses it for another artifact or under another identity.
    for (signed, what) in [(&bundle, "blob bundle"), (&attestation, "attestation")] {
        let verdict = |identity: &str, file: &Path| k.python_verify(&py, signed, identity, file);
        expect_code(
            &verdict(k.signer, &k.artifact),
            0,
            &format!("sigstore-python verifies toto's {what}"),
        );
        expect_refused(
            &verdict(k.signer, &k.other),
            &format!("sigstore-python accepted the {what} for another artifact"),
        );
        expect_refused(
            &verdict("mallory@example.com", &k.artifact),
            &format!("sigstore-python accepted the {what} under another identity"),
        );
    }

    // toto verifies both, too.
    let out = testbed_verify_bundle(&k.tb, &bundle, "alice@example.com", &k.artifact);
    expect_code(&out, 0, "toto verify-bundle");
    let out = verify_attestation(&attestation)
        .testbed_signer(&k.tb, "alice@example.com")
        .subject(&k.artifact)
        .args(["--predicate-type", "https://slsa.dev/provenance/v1"])
        .output()
        .unwrap();
    expect_code(&out, 0, "toto verify-attestation");
}

#[test]
fn sigstore_python_bundles_from_the_testbed_verify_with_toto() {
    let Some(py) = python("sigstore_python_bundles_from_the_testbed_verify_with_toto") else {
        return;
    };
    let k = Signing::new(start_testbed, "bob@example.com", "wheel.whl");
    let bundle = k.path("wheel.sigstore.json");
    let out = python_sign(&py, &k.tb, &k.token, &[], &bundle, &k.artifact);
    expect_code(&out, 0, "sigstore sign against the testbed");
    k.expect_bound(
        testbed_verify_bundle,
        &bundle,
        "eve@example.com",
        "toto verifies sigstore-python's bundle",
    );

    let predicate = write(&k.path("p.json"), PROVENANCE);
    let attestation = k.path("wheel.att.sigstore.json");
    let out = python_attest(&py, &k.tb, &k.token, &predicate, &attestation, &k.artifact);
    expect_code(&out, 0, "sigstore attest against the testbed");
    let out = verify_attestation(&attestation)
        .testbed_signer(&k.tb, "bob@example.com")
        .subject(&k.artifact)
        .args([
            "--predicate-type",
            "https://slsa.dev/provenance/v1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    expect_code(&out, 0, "toto verifies sigstore-python's attestation");
    let out = testbed_verify_attestation(&k.tb, &attestation, "bob@example.com", &k.other);
    expect_code(&out, 1, "an attestation for another subject");
}

/// `DIR/work`, where a step finds `src/main.c`.
fn work_dir(dir: &Path) -> PathBuf {
    let work = dir.join("work");
    std::fs::create_dir_all(work.join("src")).unwrap();
    write(&work.join("src/main.c"), "int main(void) { return 0; }\n");
    work
}

/// A GitHub Actions-shaped run: the token comes from the ambient endpoint
/// (`ACTIONS_ID_TOKEN_REQUEST_URL`), two steps are recorded with
/// `toto run --keyless` and `toto record --keyless`, and the chain verifies
/// against a layout naming the workflow identity; a tampered link does not.
#[test]
fn a_keyless_chain_from_ambient_github_tokens_verifies_against_its_layout() {
    let (dir, tb) = tempdir_testbed();
    let work = work_dir(dir.path());
    let tc = tb.trust_config_path().display().to_string();
    // `toto COMMAND… --keyless --trust-config TESTBED ARGS…` in `work`, the
    // token from the ambient endpoint.
    let ambient = |command: &[&str], args: &[&str]| {
        toto()
            .current_dir(&work)
            .env_remove("SIGSTORE_ID_TOKEN")
            .env_remove("SIGSTORE_IDENTITY_TOKEN")
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                format!("{}/github-actions/token?workflow={WORKFLOW}", tb.url()),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", tb.client_secret())
            .args(command)
            .args(["--keyless", "--trust-config", &tc])
            .args(args)
            .output()
            .unwrap()
    };
    let out = ambient(&["run", "-n", "build"], &BUILD_STEP);
    expect_code(&out, 0, "toto run --keyless with an ambient GitHub token");
    let out = ambient(&["record", "start", "-n", "package"], &["-m", "app"]);
    expect_code(&out, 0, "record start --keyless");
    std::fs::write(work.join("app.tar"), "packed app\n").unwrap();
    let out = ambient(&["record", "stop", "-n", "package"], &["-p", "app.tar"]);
    expect_code(&out, 0, "record stop --keyless");
    let bundles: Vec<String> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".link.sigstore.json"))
        .collect();
    assert_eq!(bundles.len(), 2, "{bundles:?}");

    let identity = format!("https://github.com/{WORKFLOW}");
    let (owner, layout) = layout_signed_in(
        dir.path(),
        &[
            "expires = \"30d\"\n".to_owned(),
            keyless_step(
                "build",
                &identity,
                GITHUB_ISSUER,
                "materials = [\"ALLOW src/*\", \"DISALLOW *\"]\n\
                 products = [\"CREATE app\", \"DISALLOW *\"]\n\n",
            ),
            keyless_step(
                "package",
                &identity,
                GITHUB_ISSUER,
                "materials = [\"MATCH app WITH PRODUCTS FROM build\", \"DISALLOW *\"]\n\
                 products = [\"CREATE app.tar\", \"DISALLOW *\"]\n",
            ),
        ]
        .concat(),
    );
    let verify = || verify_chain(&layout, &owner, &work, &tb);
    expect_code(&verify(), 0, "the keyless chain verifies");

    // Swap the build step's bundle for one signed by someone else.
    let build = bundles.iter().find(|n| n.starts_with("build.")).unwrap();
    let t = token(&tb, "mallory@example.com");
    let other = work.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::create_dir_all(other.join("src")).unwrap();
    write(&other.join("src/main.c"), "evil\n");
    let out = keyless_build(&tb, &t, &other);
    expect_code(&out, 0, "mallory's run");
    let mallory = file_ending(&other, ".link.sigstore.json");
    let honest = std::fs::read(work.join(build)).unwrap();
    std::fs::copy(&mallory, work.join(build)).unwrap();
    // The report names the step.
    let what = "a bundle by another identity fails the chain";
    expect_said(&verify(), 1, "build", what);
    std::fs::write(work.join(build), &honest).unwrap();
    expect_code(&verify(), 0, "the honest chain again");

    // The build's product is modified before packaging: package's
    // materials no longer match build's products.
    std::fs::write(work.join("app"), "int main(void) { return 1; }\n").unwrap();
    let out = ambient(
        &["run", "-n", "package"],
        &[
            "-m",
            "app",
            "-p",
            "app.tar",
            "--",
            "sh",
            "-c",
            "cp app app.tar",
        ],
    );
    expect_code(&out, 0, "package after the modification");
    let out = verify();
    expect_code(&out, 1, "a modified artifact fails the chain");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("package"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A missing step fails too.
    let package = bundles.iter().find(|n| n.starts_with("package.")).unwrap();
    std::fs::remove_file(work.join(package)).unwrap();
    let out = verify();
    expect_code(&out, 1, "a missing step fails the chain");
}

#[test]
fn misbehaving_services_and_bad_tokens_give_clear_errors_and_no_bundle() {
    let (dir, tb) = tempdir_testbed();
    let artifact = write(&dir.path().join("a.bin"), "bytes\n");
    let bundle = dir.path().join("a.bin.sigstore.json");
    let t = token(&tb, "alice@example.com");
    let sign = |token: &str| sign_blob(&tb, token, &artifact);
    // The requests each fault draws from (Fulcio, Rekor): retried only
    // where the service cannot have acted, on 503s.
    #[rustfmt::skip]
    let cases = [
        ("Fulcio down", faults(|f| f.fulcio_down = true), (3, 0), 2, "Fulcio"),
        ("Fulcio garbage", faults(|f| f.fulcio_garbage = true), (1, 0), 2, "not JSON"),
        ("certificate for another identity", faults(|f| f.fulcio_other_identity = true), (1, 0), 2, "mallory@example.com"),
        ("certificate without SCT", faults(|f| f.fulcio_without_sct = true), (1, 0), 2, "SCT"),
        ("Rekor down", faults(|f| f.rekor_down = true), (1, 3), 2, "Rekor"),
        ("Rekor garbage", faults(|f| f.rekor_garbage = true), (1, 1), 2, "not JSON"),
        ("inclusion proof for another root", faults(|f| f.rekor_bad_proof = true), (1, 1), 1, "verification failed"),
        ("Rekor body differs", faults(|f| f.rekor_other_body = true), (1, 1), 1, "not the entry sent"),
    ];
    for (what, faults, expected, code, needle) in cases {
        tb.set_faults(faults);
        let before = (tb.requests(FULCIO), tb.requests(REKOR));
        let out = sign(&t);
        let sent = (
            tb.requests(FULCIO) - before.0,
            tb.requests(REKOR) - before.1,
        );
        assert_eq!(sent, expected, "{what}: requests to (Fulcio, Rekor)");
        expect_error(&out, code, needle, what);
        assert!(!bundle.exists(), "{what}: a bundle was written");
    }
    tb.set_faults(testbed::Faults::default());
    for (what, bad, needle) in [
        ("not a JWT", "not-a-token".to_owned(), "not a JWT"),
        (
            "expired token",
            tb.token(&testbed::TokenRequest {
                identity: "alice@example.com".into(),
                lifetime: Some(-60),
                ..Default::default()
            })
            .unwrap(),
            "expired",
        ),
        (
            "wrong audience",
            tb.token(&testbed::TokenRequest {
                identity: "alice@example.com".into(),
                audience: Some("other".into()),
                ..Default::default()
            })
            .unwrap(),
            "audience",
        ),
    ] {
        let out = sign(&bad);
        expect_code(&out, 2, what);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!bundle.exists(), "{what}: a bundle was written");
    }
    // And with nothing wrong, it signs.
    expect_code(&sign(&t), 0, "healthy testbed");
    assert!(bundle.exists());
}

/// Fulcio answers with a certificate toto would refuse in a bundle: from a
/// CA outside the trusted root, with an SCT by a CT log outside it, or not
/// for code signing. The signer checks the certificate before it asks
/// Rekor (v1 or v2) or the timestamp authority anything, so nothing is
/// logged for it and no bundle is written.
#[test]
fn fulcio_certificates_toto_would_refuse_are_never_logged() {
    let dir = tempdir();
    let tb = testbed::Testbed::start_with(
        &testbed::Config {
            dir: dir.path().join("testbed"),
            port: 0,
        },
        &testbed::Options { rekor_v2: true },
    )
    .unwrap();
    let artifact = write(&dir.path().join("a.bin"), "bytes\n");
    let bundle = dir.path().join("a.bin.sigstore.json");
    let t = token(&tb, "alice@example.com");
    #[rustfmt::skip]
    let cases: [(&str, testbed::Faults, &str); 3] = [
        ("certificate from an untrusted CA", faults(|f| f.fulcio_untrusted_ca = true),
            "does not chain to a Fulcio CA of the trusted root"),
        ("SCT by an unknown CT log", faults(|f| f.fulcio_unknown_ct_log = true),
            "SCT is not signed by a CT log of the trusted root"),
        ("certificate not for code signing", faults(|f| f.fulcio_without_code_signing = true),
            "not for code signing"),
    ];
    for (what, faults, needle) in cases {
        tb.set_faults(faults);
        for version in ["1", "2"] {
            let out = toto()
                .arg("sign-blob")
                .args(keyless(&tb, &t))
                .args(["--rekor-version", version])
                .arg(&artifact)
                .output()
                .unwrap();
            let what = format!("{what} (Rekor v{version})");
            expect_error(&out, 2, needle, &what);
            assert_eq!(
                (tb.log_size(), tb.log_v2_size()),
                (0, 0),
                "{what}: entries were logged"
            );
            for path in [REKOR, "/api/v2/log/entries", "/api/v1/timestamp"] {
                assert_eq!(tb.requests(path), 0, "{what}: a request to {path}");
            }
            assert!(!bundle.exists(), "{what}: a bundle was written");
        }
    }
    tb.set_faults(testbed::Faults::default());
    expect_code(&sign_blob(&tb, &t, &artifact), 0, "healthy testbed");
    assert_eq!((tb.log_size(), tb.log_v2_size()), (0, 1));
}

/// Fulcio answers 500 with a message holding `\n::error::…` and
/// `##[error]…` lines (commands to GitHub Actions and Azure Pipelines), the
/// caller's identity token echoed bare and after `Bearer`, a Unicode line
/// separator and 4 KiB of padding. toto reports it on one line, escaped,
/// with the token redacted, cut at 512 characters.
#[test]
fn a_service_error_cannot_inject_ci_commands_or_leak_the_token() {
    let (dir, tb) = tempdir_testbed();
    let artifact = write(&dir.path().join("a.bin"), "bytes\n");
    let t = token(&tb, "alice@example.com");
    tb.set_faults(faults(|f| f.fulcio_hostile_error = true));
    let out = sign_blob(&tb, &t, &artifact);
    expect_code(&out, 2, "a hostile Fulcio error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let fulcio: Vec<&&str> = lines.iter().filter(|l| l.contains("Fulcio")).collect();
    assert_eq!(fulcio.len(), 1, "{stderr}");
    let line = fulcio[0];
    for l in &lines {
        let l = l.trim_start();
        assert!(
            !l.starts_with("::") && !l.starts_with("##["),
            "a CI command line: {stderr}"
        );
    }
    assert!(
        line.contains("HTTP 500")
            && line.contains("refused\\n::error::injected by the service\\r\\n##[error]"),
        "{line}"
    );
    assert!(line.contains("\\u{2028}"), "{line}");
    for part in t.split('.') {
        assert!(
            !stderr.contains(part),
            "a part of the token is shown: {stderr}"
        );
    }
    assert!(line.contains("[redacted] Bearer [redacted]"), "{line}");
    assert!(line.contains(" more bytes)"), "{line}");
    assert!(
        line.chars().count() < 700,
        "{} characters",
        line.chars().count()
    );
}

/// sigstore-js (`@sigstore/verify`), given the testbed's trusted root, is a
/// second verifier of toto's blob and attestation bundles.
#[test]
fn toto_bundles_verify_with_sigstore_js() {
    js_verifies_toto_bundles("toto_bundles_verify_with_sigstore_js", start_testbed);
}

/// A layout signed keylessly by its owner: `toto layout sign --keyless`
/// writes a bundle over the layout's exact bytes, and `toto verify
/// --layout-identity/--layout-issuer` requires it (alone or with keys).
#[test]
fn a_keylessly_signed_layout_verifies_and_edits_or_other_owners_fail() {
    let (dir, tb) = tempdir_testbed();
    let root = dir.path();
    generate_key(&root.join("bob"), &[]);
    write(
        &root.join("chain.toml"),
        "expires = \"30d\"\n[[steps]]\nname = \"build\"\nfunctionaries = [\"bob.pub\"]\n\
         products = [\"CREATE out\", \"DISALLOW *\"]\n",
    );
    let layout = root.join("root.layout");
    let out = toto_in(root, &["layout", "new", "chain.toml", "-o", "root.layout"]);
    expect_code(&out, 0, "layout new");
    let owner = token(&tb, "owner@example.com");
    let out = toto()
        .current_dir(root)
        .args(["layout", "sign"])
        .args(keyless(&tb, &owner))
        .arg("root.layout")
        .output()
        .unwrap();
    expect_code(&out, 0, "layout sign --keyless");
    assert!(root.join("root.layout.sigstore.json").exists());
    let out = toto_in(
        root,
        &[
            "run",
            "-n",
            "build",
            "--key",
            "bob",
            "-p",
            "out",
            "--",
            "sh",
            "-c",
            "echo x > out",
        ],
    );
    expect_code(&out, 0, "run");
    let verify = |identity: &str| {
        toto()
            .current_dir(root)
            .args([
                "verify",
                "--layout",
                "root.layout",
                "--layout-identity",
                identity,
            ])
            .args(["--layout-issuer", tb.issuer(), "--trusted-root"])
            .arg(tb.trusted_root_path())
            .output()
            .unwrap()
    };
    expect_code(&verify("owner@example.com"), 0, "keylessly signed layout");
    let out = verify("mallory@example.com");
    expect_code(&out, 1, "another owner");
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("layout is not signed by mallory@example.com"));

    // An edit after signing (here: a longer expiry) breaks the bundle.
    let text = std::fs::read_to_string(&layout).unwrap();
    std::fs::write(&layout, text.replacen("\"expires\":", "\"expires\" :", 1)).unwrap();
    expect_code(&verify("owner@example.com"), 1, "an edited layout");
    std::fs::write(&layout, &text).unwrap();
    expect_code(&verify("owner@example.com"), 0, "restored");
    std::fs::remove_file(root.join("root.layout.sigstore.json")).unwrap();
    expect_code(&verify("owner@example.com"), 1, "no bundle");
}

/// A step that makes nothing (tests, a review) has a link without products,
/// so a Statement without subjects: `toto run --keyless` signs it, logs it
/// once and writes its bundle, and `toto verify` accepts it for the step's
/// keyless functionary and refuses it for another. It failed after logging
/// ("no subject with a sha256 or sha512 digest"): `sigstore-verify` cannot
/// verify a DSSE bundle that binds no artifact. sigstore-python's
/// `Verifier.verify_dsse`, which needs no artifact, accepts the bundle.
#[test]
fn a_keyless_step_without_products_is_recorded_and_verifies() {
    let (dir, tb) = tempdir_testbed();
    let work = work_dir(dir.path());
    let out = toto()
        .current_dir(&work)
        .args(["run", "-n", "test"])
        .args(keyless(&tb, &token(&tb, "alice@example.com")))
        .args(["-m", "src", "--", "sh", "-c", "test -s src/main.c"])
        .output()
        .unwrap();
    expect_code(&out, 0, "toto run --keyless of a step without products");
    assert_eq!(tb.log_size(), 1, "logged once");
    let bundle = file_ending(&work, ".link.sigstore.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let payload = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        json["dsseEnvelope"]["payload"].as_str().unwrap(),
    )
    .unwrap();
    let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(statement["subject"], serde_json::json!([]), "{statement}");

    let layout_for = |identity: &str| {
        let rules = "materials = [\"ALLOW src/*\", \"DISALLOW *\"]\nproducts = [\"DISALLOW *\"]\n";
        format!(
            "expires = \"30d\"\n{}",
            keyless_step("test", identity, tb.issuer(), rules)
        )
    };
    for (n, identity, code) in [(0, "alice@example.com", 0), (1, "mallory@example.com", 1)] {
        let toml = write(&dir.path().join(format!("{n}.toml")), &layout_for(identity));
        let (owner, layout) = (
            dir.path().join(format!("owner{n}")),
            dir.path().join(format!("{n}.layout")),
        );
        owner_signed_layout(&toml, &owner, &layout);
        let out = verify_chain(&layout, &owner, &work, &tb);
        expect_code(
            &out,
            code,
            &format!("the chain with {identity} as the functionary"),
        );
    }

    if let Some(py) = python("a_keyless_step_without_products_is_recorded_and_verifies") {
        let bundle = bundle.display().to_string();
        let trust = tb.trust_config_path().display().to_string();
        let peer = |identity: &str| {
            crate::common::peer(
                &py,
                &[
                    "sigstore-verify-dsse",
                    &trust,
                    &bundle,
                    identity,
                    tb.issuer(),
                ],
            )
        };
        let out = peer("alice@example.com");
        expect_code(&out, 0, "sigstore-python verify_dsse");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("attestation/link/v0.3"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        expect_code(
            &peer("mallory@example.com"),
            1,
            "sigstore-python, another identity",
        );
    }
}

/// A person at a terminal without a token logs in by the device flow: toto
/// shows a code, the person approves it at the issuer (here a call to the
/// testbed standing in for the browser), and signing goes on as them.
#[test]
fn the_device_flow_logs_a_person_in_and_signs_as_them() {
    use std::io::{BufRead as _, Read as _, Write as _};
    let (dir, tb) = tempdir_testbed();
    let artifact = write(&dir.path().join("notes.txt"), "release notes\n");
    let mut child = tokenless()
        .args([
            "sign-blob",
            "--keyless",
            "--oidc-device-flow",
            "--trust-config",
        ])
        .arg(tb.trust_config_path())
        .arg(&artifact)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let code = line
        .split("enter the code ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no code in {line:?}"))
        .to_owned();
    assert!(
        line.contains(&format!("{}/oauth/device", tb.url())),
        "{line}"
    );
    // The person logs in at the issuer and approves the code.
    let body = format!(r#"{{"user_code":"{code}","identity":"erin@example.com"}}"#);
    let host = tb.url().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&host).unwrap();
    write!(
        stream,
        "POST /oauth/device/approve HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        tb.client_secret(),
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "{line}{rest}");
    assert!(rest.contains("signed by erin@example.com"), "{rest}");
    let out = testbed_verify_bundle(
        &tb,
        &dir.path().join("notes.txt.sigstore.json"),
        "erin@example.com",
        &artifact,
    );
    expect_code(&out, 0, "the device-flow bundle verifies as erin");

    // No token, not at a terminal, no --oidc-device-flow: a clear usage error.
    let out = tokenless()
        .args(["sign-blob", "--keyless", "--trust-config"])
        .arg(tb.trust_config_path())
        .arg(&artifact)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    expect_code(&out, 2, "no token");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--oidc-device-flow"));
    // An issuer that is not there.
    let out = tokenless()
        .args([
            "sign-blob",
            "--keyless",
            "--oidc-device-flow",
            "--oidc-issuer",
            "http://127.0.0.1:1",
            "--trust-config",
        ])
        .arg(tb.trust_config_path())
        .arg(&artifact)
        .output()
        .unwrap();
    expect_code(&out, 2, "an unreachable issuer");
    assert!(String::from_utf8_lossy(&out.stderr).contains("OIDC"));
}

/// `toto trust update` writes the public-good trusted root where it becomes
/// every command's default. A file planted there instead (the testbed's
/// root, in a private XDG_CACHE_HOME), which the TUF metadata cached beside
/// it does not vouch for, is refused with how to fix it, by the commands
/// that verify and by `toto trust show`; `--trusted-root` still works.
#[test]
fn a_trusted_root_planted_in_the_cache_is_refused() {
    let (dir, tb) = tempdir_testbed();
    let artifact = write(&dir.path().join("a.txt"), "a\n");
    let t = token(&tb, "frank@example.com");
    let out = sign_blob(&tb, &t, &artifact);
    expect_code(&out, 0, "sign-blob");
    let cache = dir.path().join("cache");
    let with_cache = |args: &[&str]| {
        toto()
            .env("XDG_CACHE_HOME", &cache)
            .args(args)
            .output()
            .unwrap()
    };
    let show = with_cache(&["trust", "show"]);
    expect_code(&show, 0, "trust show");
    let shown = String::from_utf8_lossy(&show.stdout).into_owned();
    assert!(shown.contains("embedded"), "{shown}");
    let path = PathBuf::from(
        shown
            .trim()
            .rsplit(" into ")
            .next()
            .unwrap()
            .trim_end_matches(')'),
    );
    assert!(path.starts_with(&cache), "{}", path.display());
    let bundle = dir.path().join("a.txt.sigstore.json");
    let verify = || {
        verify_bundle(&bundle)
            .env("XDG_CACHE_HOME", &cache)
            .signer("frank@example.com", tb.issuer())
            .arg(&artifact)
            .output()
            .unwrap()
    };
    expect_code(
        &verify(),
        1,
        "the embedded public-good root does not know the testbed",
    );
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(tb.trusted_root_path(), &path).unwrap();
    let refused = |out: &std::process::Output, what: &str| {
        expect_error(
            out,
            2,
            "is not what the cached TUF metadata vouches for",
            what,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&path.display().to_string())
                && stderr.contains("run `toto trust update`")
                && stderr.contains("--trusted-root FILE"),
            "{what}: {stderr}"
        );
    };
    refused(&verify(), "verify-bundle with a planted root");
    refused(
        &with_cache(&["trust", "show"]),
        "trust show with a planted root",
    );
    let out = verify_bundle(&bundle)
        .env("XDG_CACHE_HOME", &cache)
        .signer("frank@example.com", tb.issuer())
        .trusted_root(tb.trusted_root_path())
        .arg(&artifact)
        .output()
        .unwrap();
    expect_code(&out, 0, "--trusted-root still works");
}
