//! The README's workflows, replayed: `examples/github-actions/release.yml`
//! run line by line against the loopback testbed with GitHub-Actions-shaped
//! tokens, then verified the way a consumer would (the example layout, and
//! one `toto verify-attestation` line per release artifact).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{
    expect_code, owner_signed_layout, repo_path, tempdir_testbed, verify_attestation, verify_chain,
    VerifyFlags,
};

const WORKFLOW: &str = "org/repo/.github/workflows/release.yml@refs/heads/main";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn example(name: &str) -> PathBuf {
    repo_path("examples/github-actions").join(name)
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
    let (dir, tb) = tempdir_testbed();
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
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", tb.client_secret())
            .output()
            .unwrap();
        expect_code(&out, 0, line);
    }

    // The consumer: the example layout, signed by the project owner.
    let owner = dir.path().join("owner");
    let layout = dir.path().join("root.layout");
    owner_signed_layout(&example("layout.toml"), &owner, &layout);
    let out = verify_chain(&layout, &owner, &work, &tb);
    expect_code(&out, 0, "the recorded release verifies against the layout");

    // One line per release artifact.
    let release = |claims: &[&str]| {
        verify_attestation("app.tar.sigstore.json")
            .current_dir(&work)
            .subject("app.tar")
            .signer(&format!("https://github.com/{WORKFLOW}"), GITHUB_ISSUER)
            .args(claims)
            .trusted_root(tb.trusted_root_path())
            .output()
            .unwrap()
    };
    let out = release(&[
        "--certificate-github-workflow-repository",
        "org/repo",
        "--certificate-github-workflow-ref",
        "refs/heads/main",
        "--predicate-type",
        "https://slsa.dev/provenance/v1",
    ]);
    expect_code(
        &out,
        0,
        "the release attestation verifies with identity and GitHub claims",
    );
    let out = release(&["--certificate-github-workflow-ref", "refs/tags/v1.0"]);
    expect_code(&out, 1, "a policy for another ref fails");
}
