//! gh's signer checks and slsa-verifier's source and builder checks in a
//! layout step (#20): a keyless step's `github` and `slsa` tables, written
//! by `toto layout new`, shown by `toto layout show`, and applied by `toto
//! verify` to each bundle's Fulcio certificate (and, for `slsa`, its
//! provenance), on evidence signed with the testbed's GitHub-shaped tokens.

use std::path::{Path, PathBuf};

use crate::common::{
    expect_code, expect_said, file_ending, github_actions_token, keyless_build, layout_signed_in,
    tempdir_testbed, toto, verify_chain, write,
};

const WORKFLOW: &str = "org/app/.github/workflows/release.yml@refs/tags/v1.0.0";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// A layout of one keyless step `build` by the release workflow, with
/// `github` as its checks (a TOML inline table, or nothing).
fn layout_toml(github: &str) -> String {
    let github = if github.is_empty() {
        String::new()
    } else {
        format!("github = {{ {github} }}\n")
    };
    format!(
        "expires = \"30d\"\n[[steps]]\nname = \"build\"\n\
         identities = [{{ identity = \"https://github.com/{WORKFLOW}\", issuer = \"{GITHUB_ISSUER}\" }}]\n\
         {github}materials = [\"ALLOW src/*\", \"DISALLOW *\"]\n\
         products = [\"CREATE app\", \"DISALLOW *\"]\n"
    )
}

/// `toto layout show LAYOUT` succeeds and prints `needle`.
#[track_caller]
fn expect_layout_show_says(layout: &Path, needle: &str) {
    let out = toto()
        .args(["layout", "show"])
        .arg(layout)
        .output()
        .unwrap();
    expect_said(&out, 0, needle, "layout show");
}

/// The layout `toml`, signed in a new directory `case{n}` of `root`,
/// verified against the links in `work`.
fn verify_case(
    tb: &testbed::Testbed,
    root: &Path,
    n: usize,
    toml: &str,
    work: &Path,
) -> std::process::Output {
    let case = root.join(format!("case{n}"));
    std::fs::create_dir_all(&case).unwrap();
    let (owner, layout) = layout_signed_in(&case, toml);
    verify_chain(&layout, &owner, work, tb)
}

/// `toml` with the owner's key as a functionary of `build` too.
fn with_key_functionary(toml: &str) -> String {
    toml.replace(
        "[[steps]]\nname = \"build\"\n",
        "[[steps]]\nname = \"build\"\nfunctionaries = [\"owner.pub\"]\nthreshold = 1\n",
    )
}

/// `toto run -n build --keyless` in a new directory `name`, with a token of
/// the release workflow on a `runner` runner; returns the directory.
fn record_build(tb: &testbed::Testbed, root: &Path, name: &str, runner: &str) -> PathBuf {
    let work = root.join(name);
    std::fs::create_dir_all(work.join("src")).unwrap();
    write(&work.join("src/main.c"), "int main(void) { return 0; }\n");
    let token = github_actions_token(tb, WORKFLOW, runner);
    let out = keyless_build(tb, &token, &work);
    expect_code(&out, 0, &format!("toto run --keyless on a {runner} runner"));
    file_ending(&work, ".link.sigstore.json");
    work
}

/// Every check of a step's `github` table passes on the link of a
/// github-hosted run; each one set to another value refuses that link for
/// the threshold, naming the field, the expected and the found value; the
/// self-hosted run's link is refused only when self-hosted runners are
/// denied.
#[test]
fn a_keyless_step_checks_each_github_claim_of_its_links() {
    let (dir, tb) = tempdir_testbed();
    let verify = |n: usize, github: &str, work: &Path| {
        verify_case(&tb, dir.path(), n, &layout_toml(github), work)
    };
    let hosted = record_build(&tb, dir.path(), "hosted", "github-hosted");
    let self_hosted = record_build(&tb, dir.path(), "self-hosted", "self-hosted");
    let all = "owner = \"org\", repo = \"org/app\", signer_repo = \"org/app\", \
               signer_workflow = \"org/app/.github/workflows/release.yml\", \
               source_ref = \"refs/tags/v1.0.0\", deny_self_hosted_runners = true";
    expect_code(&verify(0, "", &self_hosted), 0, "no checks");
    expect_code(&verify(1, all, &hosted), 0, "every check passes");
    let without_runner_check = all.replace(", deny_self_hosted_runners = true", "");
    expect_code(
        &verify(2, &without_runner_check, &self_hosted),
        0,
        "self-hosted, allowed",
    );
    let wrong = [
        (
            "owner = \"evil\"",
            "certificate Source Repository Owner URI is \"https://github.com/org\", expected https://github.com/evil",
        ),
        (
            "repo = \"org/other\"",
            "certificate Source Repository URI is \"https://github.com/org/app\", expected https://github.com/org/other",
        ),
        (
            "signer_repo = \"org/other\"",
            "certificate identity (signing workflow) is \"https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.0.0\", expected a workflow under https://github.com/org/other/",
        ),
        (
            "signer_workflow = \"org/app/.github/workflows/nightly.yml\"",
            "certificate identity (signing workflow) is \"https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.0.0\", expected a match of ^https://github.com/org/app/.github/workflows/nightly.yml",
        ),
        (
            "source_ref = \"refs/tags/v2.0.0\"",
            "certificate Source Repository Ref is \"refs/tags/v1.0.0\", expected refs/tags/v2.0.0",
        ),
        (
            "signer_digest = \"0000000000000000000000000000000000000000\"",
            "certificate Build Signer Digest is ",
        ),
        (
            "source_digest = \"0000000000000000000000000000000000000000\"",
            "certificate Source Repository Digest is ",
        ),
    ];
    for (n, (github, said)) in wrong.into_iter().enumerate() {
        expect_said(&verify(10 + n, github, &hosted), 1, said, github);
    }
    expect_said(
        &verify(20, all, &self_hosted),
        1,
        "certificate Runner Environment is \"self-hosted\", expected github-hosted",
        "self-hosted, denied",
    );
}

/// `layout new` writes the table into the step (as `x-toto-github`),
/// `layout show` prints it (text and JSON); a step whose functionaries are
/// not all keyless cannot carry it, nor can any step a check that could
/// never pass (a repository that is not OWNER/REPO, a bad pattern).
#[test]
fn layout_new_writes_a_steps_github_checks_and_show_prints_them() {
    let (dir, _tb) = tempdir_testbed();
    let toml = layout_toml("repo = \"org/app\", deny_self_hosted_runners = true");
    let (_owner, layout) = layout_signed_in(dir.path(), &toml);
    expect_layout_show_says(
        &layout,
        "certificate checks (github): deny_self_hosted_runners = true, repo = \"org/app\"",
    );
    let out = toto()
        .args(["layout", "show", "--format", "json"])
        .arg(&layout)
        .output()
        .unwrap();
    expect_code(&out, 0, "layout show --format json");
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        shown["steps"][0]["github"],
        serde_json::json!({"repo": "org/app", "deny_self_hosted_runners": true}),
        "{shown}"
    );

    let unsigned = dir.path().join("unsigned.layout");
    let out = toto()
        .args(["layout", "new"])
        .arg(dir.path().join("layout.toml"))
        .arg("-o")
        .arg(&unsigned)
        .output()
        .unwrap();
    expect_code(&out, 0, "layout new");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&unsigned).unwrap()).unwrap();
    let signed = written.get("signed").unwrap_or(&written);
    assert_eq!(
        signed["steps"][0]["x-toto-github"],
        serde_json::json!({"repo": "org/app", "deny_self_hosted_runners": true}),
        "{written}"
    );

    let mixed = with_key_functionary(&toml);
    let out = toto()
        .args(["layout", "new"])
        .arg(write(&dir.path().join("mixed.toml"), &mixed))
        .arg("-o")
        .arg(dir.path().join("mixed.layout"))
        .output()
        .unwrap();
    expect_said(
        &out,
        2,
        "x-toto-github checks certificates, but functionary",
        "github checks on a step with a key functionary",
    );

    for (github, said) in [
        ("repo = \"app\"", "--repo \"app\" is not OWNER/REPO"),
        (
            "signer_repo = \"org/\"",
            "--signer-repo \"org/\" is not OWNER/REPO",
        ),
        (
            "signer_workflow = \"org/app/(\"",
            "--signer-workflow regular expression",
        ),
    ] {
        let out = toto()
            .args(["layout", "new"])
            .arg(write(&dir.path().join("bad.toml"), &layout_toml(github)))
            .arg("-o")
            .arg(dir.path().join("bad.layout"))
            .output()
            .unwrap();
        expect_said(&out, 2, said, github);
        expect_said(&out, 2, "step build: github", github);
    }
}

/// What in-toto 3.1 makes of a layout whose keyless step carries `github`
/// and `slsa` checks. As pinned (securesystemslib 1.6) it refuses every keyless
/// functionary ("Unsupported public key sigstore-oidc/Fulcio"), with or
/// without checks. With securesystemslib's `SigstoreKey` registered, it
/// reads a DSSE-signed layout and ignores the fields (it stops at the
/// missing link, as for a layout without them); a Metablock-signed
/// one fails its signature check, because the reference re-serializes the
/// step fields it knows before checking.
#[test]
fn the_reference_reads_a_dsse_layout_with_github_checks() {
    let Some(py) = crate::common::python("the_reference_reads_a_dsse_layout_with_github_checks")
    else {
        return;
    };
    let (dir, _tb) = tempdir_testbed();
    let signed_in = |name: &str, toml: &str| {
        let sub = dir.path().join(name);
        std::fs::create_dir_all(&sub).unwrap();
        layout_signed_in(&sub, toml)
    };
    let both = slsa_layout_toml("source_uri = \"github.com/org/app\"")
        .replace("slsa = ", "github = { repo = \"org/app\" }\nslsa = ");
    let (owner, metablock) = signed_in("with", &both);
    let (plain_owner, plain_metablock) = signed_in("without", &layout_toml(""));
    let dsse = dir.path().join("dsse.layout");
    let out = toto()
        .args(["layout", "sign", "--encoding", "dsse", "--key"])
        .arg(&owner)
        .arg(&metablock)
        .arg("-o")
        .arg(&dsse)
        .output()
        .unwrap();
    expect_code(&out, 0, "layout sign --encoding dsse");
    let reference = |layout: &Path, owner: &Path, sigstore_keys: bool| {
        let register = if sigstore_keys {
            "import securesystemslib.signer as s\n\
             s.KEY_FOR_TYPE_AND_SCHEME[('sigstore-oidc', 'Fulcio')] = s.SigstoreKey\n"
        } else {
            ""
        };
        let script = format!(
            "import sys\n{register}from in_toto.in_toto_verify import main\n\
             sys.argv = ['in-toto-verify'] + sys.argv[1:]\nmain()\n"
        );
        let out = std::process::Command::new(&py)
            .current_dir(dir.path())
            .args(["-c", &script, "--layout"])
            .arg(layout)
            .arg("--verification-keys")
            .arg(owner.with_extension("pub"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
    };
    let said = reference(&dsse, &owner, false);
    assert!(
        said.contains("Unsupported public key sigstore-oidc/Fulcio"),
        "as pinned: {said}"
    );
    let read = "LinkNotFoundError: Step 'build' requires '1' link metadata file(s), found '0'";
    let said = reference(&dsse, &owner, true);
    assert!(said.contains(read), "DSSE: {said}");
    let said = reference(&plain_metablock, &plain_owner, true);
    assert!(said.contains(read), "Metablock without the field: {said}");
    let said = reference(&metablock, &owner, true);
    assert!(
        said.contains("SignatureVerificationError: Invalid signature for keyid"),
        "Metablock: {said}"
    );
}

/// A layout of one keyless step `build` by the release workflow, with
/// `slsa` as its provenance checks (a TOML inline table).
fn slsa_layout_toml(slsa: &str) -> String {
    layout_toml("").replace(
        "materials = ",
        &format!("slsa = {{ {slsa} }}\nmaterials = "),
    )
}

/// In a new directory `name`: the product `app`, and as the step's
/// evidence (the file name a keyless `build` link has) a SLSA v1
/// provenance of `app` by the release workflow, naming `repository` at
/// the tag v1.0.0 and built by the release workflow.
fn record_provenance(tb: &testbed::Testbed, root: &Path, name: &str, repository: &str) -> PathBuf {
    let work = record_build(tb, root, name, "github-hosted");
    let evidence = file_ending(&work, ".link.sigstore.json");
    let predicate = write(
        &root.join(format!("{name}.predicate.json")),
        &serde_json::json!({
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {"workflow": {
                    "repository": repository,
                    "ref": "refs/tags/v1.0.0",
                    "path": ".github/workflows/release.yml"}},
                "resolvedDependencies": [{"uri": format!("git+{repository}@refs/tags/v1.0.0")}]},
            "runDetails": {"builder": {
                "id": "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.0.0"}}
        })
        .to_string(),
    );
    let token = tb
        .token(&testbed::TokenRequest {
            github_workflow: Some(WORKFLOW.into()),
            ..Default::default()
        })
        .unwrap();
    let out = toto()
        .current_dir(&work)
        .arg("attest")
        .args(crate::common::keyless(tb, &token))
        .args(["--predicate-type", "https://slsa.dev/provenance/v1"])
        .arg("--predicate")
        .arg(&predicate)
        .args(["--subject", "app", "-o"])
        .arg(&evidence)
        .output()
        .unwrap();
    expect_code(&out, 0, "toto attest --keyless (the step's provenance)");
    work
}

/// slsa-verifier's checks in a layout step: on the provenance a keyless
/// functionary signed (and its certificate), every check passes; each
/// set to another value refuses the evidence for the threshold, naming
/// the field, the expected and the found value. A provenance claiming
/// another repository than the certificate's passes no `source_uri`.
#[test]
fn a_keyless_step_checks_the_source_and_builder_of_its_provenance() {
    let (dir, tb) = tempdir_testbed();
    let good = record_provenance(&tb, dir.path(), "good", "https://github.com/org/app");
    let all = "source_uri = \"github.com/org/app\", source_tag = \"v1.0.0\", \
               source_versioned_tag = \"v1\", \
               builder_id = \"https://github.com/org/app/.github/workflows/release.yml@v1.0.0\"";
    let verify = |n: usize, slsa: &str, work: &Path| {
        verify_case(&tb, dir.path(), n, &slsa_layout_toml(slsa), work)
    };
    expect_code(&verify(0, all, &good), 0, "every check passes");
    let trigger = "provenance trigger (buildDefinition.externalParameters.workflow)";
    let wrong = [
        (
            "source_uri = \"github.com/org/other\"".to_owned(),
            format!(
                "{trigger} is \"https://github.com/org/app@refs/tags/v1.0.0\", expected github.com/org/other"
            ),
        ),
        (
            "source_tag = \"v2.0.0\"".to_owned(),
            format!("{trigger} ref is \"refs/tags/v1.0.0\", expected refs/tags/v2.0.0"),
        ),
        (
            "source_branch = \"main\"".to_owned(),
            format!("{trigger} ref is \"refs/tags/v1.0.0\", expected refs/heads/main"),
        ),
        (
            "source_versioned_tag = \"v2\"".to_owned(),
            format!(
                "{trigger} ref is \"refs/tags/v1.0.0\", expected a tag of version v2 (semver, as slsa-verifier)"
            ),
        ),
        (
            "builder_id = \"https://github.com/org/app/.github/workflows/release.yml@v0.9.0\"".to_owned(),
            "provenance runDetails.builder.id is \"https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.0.0\", expected https://github.com/org/app/.github/workflows/release.yml@v0.9.0".to_owned(),
        ),
    ];
    for (n, (slsa, said)) in wrong.iter().enumerate() {
        expect_said(&verify(10 + n, slsa, &good), 1, said, slsa);
    }
    // The workflow of org/app wrote that it built victim/lib: the
    // certificate (Fulcio's, from GitHub's token) says org/app.
    let forged = record_provenance(&tb, dir.path(), "forged", "https://github.com/victim/lib");
    expect_said(
        &verify(20, "source_uri = \"github.com/victim/lib\"", &forged),
        1,
        "certificate Source Repository URI is \"https://github.com/org/app\", expected github.com/victim/lib",
        "a predicate naming another source than the certificate",
    );
}

/// `layout new` writes a step's `slsa` table as `x-toto-slsa`, `layout
/// show` prints it; a malformed value, or a step with a key functionary,
/// is refused when the layout is written.
#[test]
fn layout_new_writes_a_steps_slsa_checks_and_refuses_malformed_ones() {
    let (dir, _tb) = tempdir_testbed();
    let toml =
        slsa_layout_toml("source_uri = \"github.com/org/app\", source_versioned_tag = \"v1\"");
    let (_owner, layout) = layout_signed_in(dir.path(), &toml);
    expect_layout_show_says(
        &layout,
        "provenance checks (slsa): source_uri = \"github.com/org/app\", source_versioned_tag = \"v1\"",
    );
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&layout).unwrap()).unwrap();
    let signed = written.get("signed").unwrap_or(&written);
    assert_eq!(
        signed["steps"][0]["x-toto-slsa"],
        serde_json::json!({"source_uri": "github.com/org/app", "source_versioned_tag": "v1"}),
        "{written}"
    );
    let new = |name: &str, toml: &str| {
        toto()
            .args(["layout", "new"])
            .arg(write(&dir.path().join(format!("{name}.toml")), toml))
            .arg("-o")
            .arg(dir.path().join(format!("{name}.layout")))
            .output()
            .unwrap()
    };
    for (slsa, said) in [
        (
            "source_versioned_tag = \"1.x\"",
            "\"1.x\" is not a semantic version",
        ),
        (
            "source_uri = \"gitlab.com/org/app\"",
            "is not a github.com repository",
        ),
        ("builder_id = \"a@b@c\"", "is not NAME or NAME@VERSION"),
        (
            "source_url = \"github.com/org/app\"",
            "unknown field `source_url`",
        ),
    ] {
        let out = new("bad", &slsa_layout_toml(slsa));
        expect_said(&out, 2, said, slsa);
    }
    let mixed = with_key_functionary(&toml);
    expect_said(
        &new("mixed", &mixed),
        2,
        "x-toto-slsa checks certificates, but functionary",
        "slsa checks on a step with a key functionary",
    );
}
