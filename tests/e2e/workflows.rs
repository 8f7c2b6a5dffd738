//! The README's workflows, replayed: `examples/github-actions/release.yml`
//! run line by line against the loopback testbed with GitHub-Actions-shaped
//! tokens, then verified the way a consumer would (the example layout, and
//! one `toto verify-attestation` line per release artifact).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{expect_code, tempdir, toto};

const WORKFLOW: &str = "org/repo/.github/workflows/release.yml@refs/heads/main";

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/github-actions")
        .join(name)
}

/// The `run:` commands of the workflow that call toto.
fn toto_lines(workflow: &str) -> Vec<String> {
    workflow
        .lines()
        .filter_map(|l| l.trim().strip_prefix("run: "))
        .filter(|cmd| cmd.starts_with("toto "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_github_actions_example_replays_against_the_testbed_and_verifies() {
    let dir = tempdir();
    let tb = testbed::Testbed::start(&testbed::Config {
        dir: dir.path().join("testbed"),
        port: 0,
    })
    .unwrap();
    let work = dir.path().join("checkout");
    std::fs::create_dir_all(work.join("src")).unwrap();
    std::fs::write(work.join("src/main.c"), "int main(void) { return 0; }\n").unwrap();
    std::fs::write(
        work.join("provenance.json"),
        r#"{"buildDefinition":{"buildType":"https://example.com/gha/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://github.com/actions/runner"}}}"#,
    )
    .unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_toto")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let lines = toto_lines(&std::fs::read_to_string(example("release.yml")).unwrap());
    assert_eq!(lines.len(), 3, "{lines:?}");
    for line in &lines {
        let out = Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(&work)
            .env("PATH", &path)
            .env_remove("SIGSTORE_ID_TOKEN")
            .env_remove("SIGSTORE_IDENTITY_TOKEN")
            .env("TOTO_TRUST_CONFIG", tb.trust_config_path())
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                format!(
                    "{}/github-actions/token?api-version=2.0&workflow={WORKFLOW}",
                    tb.url()
                ),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-request-token")
            .output()
            .unwrap();
        expect_code(&out, 0, line);
    }

    // The consumer: the example layout, signed by the project owner.
    let owner = dir.path().join("owner");
    expect_code(
        &toto()
            .args(["key", "generate", "-o"])
            .arg(&owner)
            .output()
            .unwrap(),
        0,
        "key generate",
    );
    let layout = dir.path().join("root.layout");
    let out = toto()
        .args(["layout", "new"])
        .arg(example("layout.toml"))
        .arg("-o")
        .arg(&layout)
        .output()
        .unwrap();
    expect_code(&out, 0, "layout new");
    let out = toto()
        .args(["layout", "sign", "--key"])
        .arg(&owner)
        .arg(&layout)
        .output()
        .unwrap();
    expect_code(&out, 0, "layout sign");
    let out = toto()
        .args(["verify", "--layout"])
        .arg(&layout)
        .arg("--layout-key")
        .arg(owner.with_extension("pub"))
        .arg("--link-dir")
        .arg(&work)
        .arg("--trusted-root")
        .arg(tb.trusted_root_path())
        .output()
        .unwrap();
    expect_code(&out, 0, "the recorded release verifies against the layout");

    // One line per release artifact.
    let out = toto()
        .current_dir(&work)
        .args([
            "verify-attestation",
            "--bundle",
            "app.tar.sigstore.json",
            "--subject",
            "app.tar",
        ])
        .args([
            "--certificate-identity",
            &format!("https://github.com/{WORKFLOW}"),
        ])
        .args([
            "--certificate-oidc-issuer",
            "https://token.actions.githubusercontent.com",
        ])
        .args(["--certificate-github-workflow-repository", "org/repo"])
        .args(["--certificate-github-workflow-ref", "refs/heads/main"])
        .args([
            "--predicate-type",
            "https://slsa.dev/provenance/v1",
            "--trusted-root",
        ])
        .arg(tb.trusted_root_path())
        .output()
        .unwrap();
    expect_code(
        &out,
        0,
        "the release attestation verifies with identity and GitHub claims",
    );
    let out = toto()
        .current_dir(&work)
        .args([
            "verify-attestation",
            "--bundle",
            "app.tar.sigstore.json",
            "--subject",
            "app.tar",
        ])
        .args([
            "--certificate-identity",
            &format!("https://github.com/{WORKFLOW}"),
        ])
        .args([
            "--certificate-oidc-issuer",
            "https://token.actions.githubusercontent.com",
        ])
        .args([
            "--certificate-github-workflow-ref",
            "refs/tags/v1.0",
            "--trusted-root",
        ])
        .arg(tb.trusted_root_path())
        .output()
        .unwrap();
    expect_code(&out, 1, "a policy for another ref fails");
}
