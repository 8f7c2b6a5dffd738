//! Signed verification summaries (SLSA VSA, #20): `--vsa` after a
//! successful `verify-attestation` or `verify`, signed with a key or
//! keylessly on the testbed; none after a failure unless
//! `--vsa-on-failure`; and the consumer's checks (`--verified-level`,
//! `--resource-uri`, …) on what was written, by toto and sigstore-python.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{
    attest_provenance, expect_code, expect_error, generate_key, keyless, python, python_verify,
    start_testbed, tempdir, tokenless, toto, verify_attestation, write, VerifyFlags,
};

const VSA: &str = "https://slsa.dev/verification_summary/v1";
const WORKFLOW: &str = "org/app/.github/workflows/release.yml@refs/tags/v1.0.0";

/// A testbed, an artifact `app.tar.gz`, its SLSA provenance signed from a
/// GitHub-hosted runner (GitHub-shaped token), and a P-256 verifier key.
struct World {
    dir: tempfile::TempDir,
    tb: testbed::Testbed,
    artifact: PathBuf,
    provenance: PathBuf,
    key: PathBuf,
    /// Where the tests have `--vsa` write (`app.vsa.sigstore.json`).
    vsa: PathBuf,
}

impl World {
    fn new() -> World {
        let dir = tempdir();
        let tb = start_testbed(&dir.path().join("tb"));
        let artifact = write(&dir.path().join("app.tar.gz"), "the app\n");
        let predicate = write(
            &dir.path().join("predicate.json"),
            "{\"buildDefinition\":{}}",
        );
        let token = tb
            .token(&testbed::TokenRequest {
                github_workflow: Some(WORKFLOW.into()),
                ..Default::default()
            })
            .unwrap();
        let provenance = dir.path().join("app.tar.gz.sigstore.json");
        attest_provenance(&keyless(&tb, &token), &predicate, &artifact, &provenance);
        let key = dir.path().join("verifier");
        generate_key(&key, &["--type", "ecdsa-p256"]);
        let vsa = dir.path().join("app.vsa.sigstore.json");
        World {
            vsa,
            dir,
            tb,
            artifact,
            provenance,
            key,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn trust_config(&self) -> String {
        self.tb.trust_config_path().display().to_string()
    }

    /// `verify-attestation` of the provenance for the artifact, signed by
    /// the workflow's repository `owner`, with `extra` flags.
    fn verify(&self, owner: &str, extra: &[impl AsRef<std::ffi::OsStr>]) -> Output {
        verify_attestation(&self.provenance)
            .current_dir(self.dir.path())
            .trusted_root(self.tb.trusted_root_path())
            .args(["--owner", owner])
            .args(extra)
            .arg("app.tar.gz")
            .output()
            .unwrap()
    }

    /// `--vsa FILE --vsa-key KEY --vsa-trust-config TESTBED`.
    fn key_signed(&self, vsa: &Path) -> Vec<String> {
        vec![
            "--vsa".into(),
            vsa.display().to_string(),
            "--vsa-key".into(),
            self.key.display().to_string(),
            "--vsa-trust-config".into(),
            self.trust_config(),
        ]
    }

    /// The flags that sign the VSA `vsa` keylessly, as verifier@example.com
    /// on the testbed.
    fn keyless_signed(&self, vsa: &Path) -> Vec<String> {
        vec![
            "--vsa".into(),
            vsa.display().to_string(),
            "--vsa-keyless".into(),
            "--vsa-identity-token".into(),
            crate::common::token(&self.tb, "verifier@example.com"),
            "--vsa-trust-config".into(),
            self.trust_config(),
        ]
    }

    /// The consumer: `verify-attestation` of the VSA `vsa` for the
    /// artifact, signed with `key` (a public key), with `extra` flags.
    fn consume(&self, vsa: &Path, key: &Path, extra: &[&str]) -> Output {
        verify_attestation(vsa)
            .current_dir(self.dir.path())
            .arg("--key")
            .arg(key)
            .trusted_root(self.tb.trusted_root_path())
            .args(extra)
            .arg("app.tar.gz")
            .output()
            .unwrap()
    }
}

/// The Statement a bundle's DSSE envelope carries.
fn statement_of(bundle: &Path) -> Value {
    let bundle: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let payload = bundle["dsseEnvelope"]["payload"].as_str().unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// A key-signed VSA after `verify-attestation`: the spec's fields, from
/// what was verified (the artifact's digest, the provenance bundle's
/// digest, Build level 2 for provenance signed on a GitHub-hosted runner);
/// a public-key hint; and the consumer's verify-vsa checks, each refusing
/// its mismatch with field, expected and found.
#[test]
fn key_signed_vsa_after_verify_attestation_and_its_consumer() {
    let w = World::new();
    let flags = w.key_signed(&w.vsa);
    expect_code(
        &w.verify("org", &flags),
        0,
        "verify-attestation --vsa --vsa-key",
    );
    let mut json_flags = flags.clone();
    json_flags.extend(["--format", "json"].map(String::from));
    let out = w.verify("org", &json_flags);
    expect_code(&out, 0, "verify-attestation --vsa --format json");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["vsa"]["file"], w.vsa.display().to_string());
    assert_eq!(report["vsa"]["verification_result"], "PASSED");
    assert_eq!(report["vsa"]["signer"]["kind"], "key");
    let bundle: Value = serde_json::from_slice(&std::fs::read(&w.vsa).unwrap()).unwrap();
    let keyid = toto()
        .args(["key", "id"])
        .arg(w.key.with_extension("pub"))
        .output()
        .unwrap();
    let hint = bundle["verificationMaterial"]["publicKey"]["hint"]
        .as_str()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&keyid.stdout).contains(hint) && !hint.is_empty(),
        "the hint {hint:?} is the key id"
    );
    let statement = statement_of(&w.vsa);
    assert_eq!(statement["predicateType"], VSA);
    assert_eq!(
        statement["subject"],
        serde_json::json!([{"name": "app.tar.gz", "digest": {"sha256": sha256_hex(&w.artifact)}}])
    );
    let predicate = &statement["predicate"];
    assert_eq!(predicate["verificationResult"], "PASSED");
    assert_eq!(predicate["resourceUri"], "app.tar.gz");
    assert_eq!(
        predicate["verifiedLevels"],
        serde_json::json!(["SLSA_BUILD_LEVEL_2"])
    );
    assert_eq!(
        predicate["inputAttestations"][0]["digest"]["sha256"],
        sha256_hex(&w.provenance)
    );
    assert_eq!(predicate["policy"]["uri"], "urn:toto:verify-attestation");
    let verifier = predicate["verifier"]["id"].as_str().unwrap();
    assert!(
        verifier.starts_with("https://"),
        "the default verifier.id is toto's repository URI: {verifier:?}"
    );
    assert!(predicate["verifier"]["version"]["toto"].as_str().is_some());
    assert!(predicate["timeVerified"].as_str().is_some());
    assert_eq!(predicate["slsaVersion"], "1.0");

    let public = w.key.with_extension("pub");
    let good = [
        "--verified-level",
        "SLSA_BUILD_LEVEL_2",
        "--resource-uri",
        "app.tar.gz",
    ];
    expect_code(
        &w.consume(&w.vsa, &public, &good),
        0,
        "the consumer accepts",
    );
    expect_code(
        &w.consume(&w.vsa, &public, &["--verified-level", "SLSA_BUILD_LEVEL_1"]),
        0,
        "level 2 meets level 1",
    );
    expect_error(
        &w.consume(&w.vsa, &public, &["--verified-level", "SLSA_BUILD_LEVEL_3"]),
        1,
        "VSA verifiedLevels is \"[SLSA_BUILD_LEVEL_2]\", expected SLSA_BUILD_LEVEL_3 or higher",
        "a level above the VSA's",
    );
    expect_error(
        &w.consume(
            &w.vsa,
            &public,
            &["--resource-uri", "https://example.com/app.tar.gz"],
        ),
        1,
        "VSA resourceUri is \"app.tar.gz\", expected \"https://example.com/app.tar.gz\"",
        "another resource",
    );
    expect_error(
        &w.consume(
            &w.vsa,
            &public,
            &["--verifier-id", "https://example.com/other"],
        ),
        1,
        "VSA verifier.id is",
        "another verifier",
    );
    expect_error(
        &w.consume(&w.vsa, &public, &["--policy-uri", "policy.toml"]),
        1,
        "VSA policy.uri is \"urn:toto:verify-attestation\", expected \"policy.toml\"",
        "another policy",
    );
    // slsa-verifier's verify-vsa spellings.
    let out = verify_attestation(&w.vsa)
        .current_dir(w.dir.path())
        .arg("--public-key-path")
        .arg(&public)
        .trusted_root(w.tb.trusted_root_path())
        .args(["--verified-levels", "SLSA_BUILD_LEVEL_1,SLSA_BUILD_LEVEL_2"])
        .args(["--resource-uri", "app.tar.gz", "--subject-digest"])
        .arg(format!("sha256:{}", sha256_hex(&w.artifact)))
        .output()
        .unwrap();
    expect_code(&out, 0, "verify-vsa's flag names");
    let stranger = w.path("stranger");
    generate_key(&stranger, &["--type", "ecdsa-p256"]);
    expect_code(
        &w.consume(&w.vsa, &stranger.with_extension("pub"), &good),
        1,
        "a VSA signed by another key",
    );
    let other = write(&w.path("other.tar.gz"), "another app\n");
    let out = verify_attestation(&w.vsa)
        .arg("--key")
        .arg(&public)
        .trusted_root(w.tb.trusted_root_path())
        .args(good)
        .arg(&other)
        .output()
        .unwrap();
    expect_code(&out, 1, "a VSA about another artifact");
    // The VSA flags check a VSA: with another predicate type, a usage error.
    expect_error(
        &w.verify(
            "org",
            &[
                "--verified-level",
                "SLSA_BUILD_LEVEL_1",
                "--predicate-type",
                "https://slsa.dev/provenance/v1",
            ],
        ),
        2,
        "check a verification summary",
        "--verified-level on provenance",
    );
}

/// A failed verification writes no VSA; with --vsa-on-failure it writes a
/// FAILED one, which its consumer refuses.
#[test]
fn a_failed_verification_writes_no_vsa_unless_asked() {
    let w = World::new();
    let flags = w.key_signed(&w.vsa);
    expect_code(&w.verify("evil", &flags), 1, "another owner");
    assert!(!w.vsa.exists(), "a failed verification wrote a VSA");
    let mut on_failure = flags.clone();
    on_failure.push("--vsa-on-failure".into());
    expect_code(
        &w.verify("evil", &on_failure),
        1,
        "another owner, FAILED VSA",
    );
    let predicate = statement_of(&w.vsa)["predicate"].clone();
    assert_eq!(predicate["verificationResult"], "FAILED");
    assert_eq!(predicate["verifiedLevels"], serde_json::json!(["FAILED"]));
    expect_error(
        &w.consume(
            &w.vsa,
            &w.key.with_extension("pub"),
            &["--predicate-type", VSA],
        ),
        1,
        "VSA verificationResult is \"FAILED\", expected PASSED",
        "a FAILED VSA",
    );
    // A keyless signer without a token fails before anything is verified.
    let out = tokenless()
        .current_dir(w.dir.path())
        .args(["verify-attestation", "--bundle"])
        .arg(&w.provenance)
        .trusted_root(w.tb.trusted_root_path())
        .args([
            "--owner",
            "org",
            "--vsa",
            "x.json",
            "--vsa-keyless",
            "app.tar.gz",
        ])
        .output()
        .unwrap();
    expect_error(
        &out,
        2,
        "cannot sign the VSA keylessly",
        "--vsa-keyless, no token",
    );
    assert!(
        out.stdout.is_empty(),
        "verified before the signer was ready"
    );
    // An output that cannot be written fails before anything is verified
    // or logged.
    let mut unwritable = flags.clone();
    unwritable[1] = "no/such/dir/x.json".into();
    let out = w.verify("org", &unwritable);
    expect_error(
        &out,
        2,
        "cannot write the VSA no/such/dir/x.json",
        "--vsa in no directory",
    );
    assert!(
        out.stdout.is_empty(),
        "verified before the output was checked"
    );
    // Without a signer, --vsa is a usage error before anything is verified.
    expect_error(
        &w.verify("org", &["--vsa", "x.json"]),
        2,
        "--vsa needs a signer",
        "--vsa alone",
    );
}

/// A keyless VSA (the signer `toto attest --keyless` uses) on the
/// testbed: toto's consumer accepts it as the verifier's identity and
/// refuses it as another's; sigstore-python 4.5.1 verifies it over the
/// artifact (`sigstore verify identity`).
#[test]
fn keyless_vsa_verified_by_toto_and_sigstore_python() {
    let w = World::new();
    let mut flags = w.keyless_signed(&w.vsa);
    flags.extend(
        [
            "--vsa-verifier-id",
            "https://verifier.example.com",
            "--vsa-resource-uri",
            "https://example.com/app.tar.gz",
        ]
        .map(String::from),
    );
    let out = w.verify("org", &flags);
    expect_code(&out, 0, "verify-attestation --vsa --vsa-keyless");
    let consume = |identity: &str| {
        verify_attestation(&w.vsa)
            .current_dir(w.dir.path())
            .testbed_signer(&w.tb, identity)
            .args([
                "--verified-level",
                "SLSA_BUILD_LEVEL_2",
                "--resource-uri",
                "https://example.com/app.tar.gz",
                "--verifier-id",
                "https://verifier.example.com",
            ])
            .arg("app.tar.gz")
            .output()
            .unwrap()
    };
    let out = consume("verifier@example.com");
    expect_code(&out, 0, "the verifier's VSA");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("summary:        PASSED by https://verifier.example.com for https://example.com/app.tar.gz (SLSA_BUILD_LEVEL_2)"),
        "{shown}"
    );
    expect_code(&consume("eve@example.com"), 1, "as another's");
    let Some(py) = python("keyless_vsa_verified_by_toto_and_sigstore_python") else {
        return;
    };
    let out = python_verify(&py, &w.tb, &w.vsa, "verifier@example.com", &w.artifact);
    expect_code(&out, 0, "sigstore-python verifies the keyless VSA");
    let other = write(&w.path("other.tar.gz"), "another app\n");
    let out = python_verify(&py, &w.tb, &w.vsa, "verifier@example.com", &other);
    assert_ne!(
        out.status.code(),
        Some(0),
        "sigstore-python: another artifact"
    );
}

/// `toto verify` of the reference demo in a fresh copy, with `extra`
/// flags.
fn verify_demo(dir: &Path, layout_key: &str, extra: &[String]) -> Output {
    toto()
        .current_dir(dir)
        .args(["verify", "-l", "root.layout", "-k", layout_key])
        .args(extra)
        .output()
        .unwrap()
}

/// After `toto verify` of a layout: a key-signed and a keyless VSA whose
/// subject is the last step's product as its verified link records it,
/// whose policy is the layout (its digest) and whose inputs are the link
/// files verified (their digests), with no Build level claimed; the
/// consumer accepts it for that resource and policy and refuses a level.
/// A failed verification writes none, or a FAILED one when asked.
#[test]
fn vsa_after_verify_of_a_layout() {
    let w = World::new();
    let demo = crate::common::demo_copy();
    // VSAs are written outside the demo: its inspection records the
    // directory it runs in.
    let vsa = w.path("release.vsa.sigstore.json");
    expect_code(
        &verify_demo(demo.path(), "alice.pub", &w.key_signed(&vsa)),
        0,
        "verify --vsa --vsa-key",
    );
    let statement = statement_of(&vsa);
    let tarball = demo.path().join("demo-project.tar.gz");
    assert_eq!(
        statement["subject"],
        serde_json::json!([{"name": "demo-project.tar.gz", "digest": {"sha256": sha256_hex(&tarball)}}])
    );
    let predicate = &statement["predicate"];
    let layout_digest = sha256_hex(&demo.path().join("root.layout"));
    assert_eq!(
        predicate["policy"],
        serde_json::json!({"uri": "root.layout", "digest": {"sha256": layout_digest}})
    );
    let inputs = predicate["inputAttestations"].as_array().unwrap();
    assert_eq!(inputs.len(), 3, "{inputs:?}");
    for input in inputs {
        let file = input["uri"].as_str().unwrap();
        assert_eq!(
            input["digest"]["sha256"],
            sha256_hex(&demo.path().join(file)),
            "{file}"
        );
    }
    assert_eq!(
        predicate["verifiedLevels"],
        serde_json::json!(["SLSA_BUILD_LEVEL_UNEVALUATED"])
    );
    assert_eq!(predicate["resourceUri"], "demo-project.tar.gz");
    let consume = |extra: &[&str]| {
        verify_attestation(&vsa)
            .current_dir(demo.path())
            .arg("--key")
            .arg(w.key.with_extension("pub"))
            .trusted_root(w.tb.trusted_root_path())
            .args(extra)
            .arg("demo-project.tar.gz")
            .output()
            .unwrap()
    };
    let policy_digest = format!("sha256:{layout_digest}");
    expect_code(
        &consume(&[
            "--resource-uri",
            "demo-project.tar.gz",
            "--policy-uri",
            "root.layout",
            "--policy-digest",
            &policy_digest,
            "--verified-level",
            "SLSA_BUILD_LEVEL_UNEVALUATED",
        ]),
        0,
        "the consumer of a layout's VSA",
    );
    expect_error(
        &consume(&["--verified-level", "SLSA_BUILD_LEVEL_1"]),
        1,
        "expected SLSA_BUILD_LEVEL_1 or higher",
        "no Build level from a layout",
    );
    expect_error(
        &consume(&["--policy-digest", &format!("sha256:{}", "0".repeat(64))]),
        1,
        "VSA policy.digest is",
        "another layout",
    );

    // Keyless, through the signer `toto attest --keyless` uses.
    let keyless_vsa = w.path("keyless.vsa.sigstore.json");
    let flags = w.keyless_signed(&keyless_vsa);
    let fresh = crate::common::demo_copy();
    expect_code(
        &verify_demo(fresh.path(), "alice.pub", &flags),
        0,
        "verify --vsa --vsa-keyless",
    );
    let out = verify_attestation(&keyless_vsa)
        .current_dir(demo.path())
        .testbed_signer(&w.tb, "verifier@example.com")
        .args(["--resource-uri", "demo-project.tar.gz"])
        .arg("demo-project.tar.gz")
        .output()
        .unwrap();
    expect_code(&out, 0, "the keyless layout VSA");

    // A subject the verified chain does not produce: no VSA.
    let nowhere = w.path("nowhere.vsa.sigstore.json");
    let mut flags = w.key_signed(&nowhere);
    flags.extend(["--vsa-subject", "demo-project/foo.py"].map(String::from));
    let fresh = crate::common::demo_copy();
    expect_error(
        &verify_demo(fresh.path(), "alice.pub", &flags),
        2,
        "--vsa-subject \"demo-project/foo.py\" is not a product of the layout's last step",
        "a subject that is no product",
    );
    assert!(!nowhere.exists(), "a VSA about what was not verified");

    // The layout is not signed by bob: no VSA, or a FAILED one when asked.
    let failed = w.path("failed.vsa.sigstore.json");
    let flags = w.key_signed(&failed);
    expect_code(&verify_demo(demo.path(), "bob.pub", &flags), 1, "bob's key");
    assert!(!failed.exists(), "a failed verification wrote a VSA");
    let mut on_failure = flags.clone();
    on_failure
        .extend(["--vsa-on-failure", "--vsa-subject", "demo-project.tar.gz"].map(String::from));
    expect_code(
        &verify_demo(demo.path(), "bob.pub", &on_failure),
        1,
        "bob's key, FAILED VSA",
    );
    let predicate = statement_of(&failed)["predicate"].clone();
    assert_eq!(predicate["verificationResult"], "FAILED");
    assert_eq!(predicate["verifiedLevels"], serde_json::json!(["FAILED"]));
}

/// gh's JSON Lines of two bundles, one by another repository: the VSA's
/// inputs are only the line that passed, with the digest of its bytes.
#[test]
fn vsa_inputs_are_only_the_bundles_that_passed() {
    let w = World::new();
    let token =
        w.tb.token(&testbed::TokenRequest {
            github_workflow: Some("evil/app/.github/workflows/release.yml@refs/tags/v1".into()),
            ..Default::default()
        })
        .unwrap();
    let predicate = write(&w.path("evil.json"), "{\"buildDefinition\":{}}");
    let evil = w.path("evil.sigstore.json");
    attest_provenance(&keyless(&w.tb, &token), &predicate, &w.artifact, &evil);
    let good = std::fs::read_to_string(&w.provenance).unwrap();
    let lines = format!("{}{}", std::fs::read_to_string(&evil).unwrap(), good);
    let jsonl = write(&w.path("app.tar.gz.jsonl"), &lines);
    let out = verify_attestation(&jsonl)
        .current_dir(w.dir.path())
        .trusted_root(w.tb.trusted_root_path())
        .args(["--owner", "org"])
        .args(w.key_signed(&w.vsa))
        .arg("app.tar.gz")
        .output()
        .unwrap();
    expect_code(&out, 0, "JSON Lines, one bundle passes");
    let inputs = statement_of(&w.vsa)["predicate"]["inputAttestations"].clone();
    use sha2::Digest as _;
    let line_digest = hex::encode(sha2::Sha256::digest(good.trim_end().as_bytes()));
    assert_eq!(
        inputs,
        serde_json::json!([{
            "uri": format!("{}#line 2", jsonl.display()),
            "digest": {"sha256": line_digest},
        }])
    );
}
