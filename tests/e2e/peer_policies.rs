//! The policies consumers already write with other verifiers (#20): gh's
//! signer checks on the certificate's GitHub claims, slsa-verifier's source
//! and builder checks on the provenance (and the certificate where the
//! predicate says nothing), and cosign's and sigstore-python's flag names
//! and habits. On the real bundles of `testdata/real-world/` (npm
//! provenance, a GitHub artifact attestation, PyPI), each flag with a right
//! and a wrong value, and on testbed signatures made with GitHub-shaped
//! tokens where a claim needs another value than the real ones have.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::json;

use crate::common::{
    attest_predicate, expect_code, expect_error, github_actions_token, python_tempdir, repo_text,
    shell_words, start_testbed, tempdir, toto, write, VerifyFlags as _,
};
use crate::real_world::{
    data, refused, refused_each, sigstore_python, toto_in_data, verified, verify, with, without,
    GITHUB, PYPI_ATTESTATIONS, PYPI_PUBLISH, REUSABLE, SIGSTORE_1_3_0_SHA512, SIGSTORE_JS, SLSA_V1,
};

/// `toto verify-attestation --bundle BUNDLE ARGS… ARTIFACT` against the
/// testbed's trusted root.
fn verify_on(tb: &testbed::Testbed, bundle: &Path, args: &[&str], artifact: &Path) -> Output {
    toto()
        .arg("verify-attestation")
        .arg("--bundle")
        .arg(bundle)
        .trusted_root(tb.trusted_root_path())
        .args(args)
        .arg(artifact)
        .output()
        .unwrap()
}

/// A testbed, an artifact and a provenance predicate in a temporary
/// directory: what the GitHub-shaped signatures below are made of.
struct Provenance {
    tmp: tempfile::TempDir,
    tb: testbed::Testbed,
    artifact: PathBuf,
    predicate: PathBuf,
}

impl Provenance {
    /// The artifact `name` holding `bytes`, and `predicate`.
    fn new(name: &str, bytes: &str, predicate: &serde_json::Value) -> Provenance {
        let tmp = tempdir();
        let tb = start_testbed(&tmp.path().join("testbed"));
        let artifact = write(&tmp.path().join(name), bytes);
        let predicate = write(&tmp.path().join("predicate.json"), &predicate.to_string());
        Provenance {
            tmp,
            tb,
            artifact,
            predicate,
        }
    }

    /// The predicate, of `predicate_type`, over the artifact: `toto attest
    /// --keyless` with a GitHub Actions token of `workflow` run on
    /// `runner`, into `bundle` in the directory.
    fn attest(&self, predicate_type: &str, workflow: &str, runner: &str, bundle: &str) -> PathBuf {
        let token = github_actions_token(&self.tb, workflow, runner);
        let bundle = self.tmp.path().join(bundle);
        let keyless = crate::common::keyless(&self.tb, &token);
        attest_predicate(
            &keyless,
            predicate_type,
            &self.predicate,
            &self.artifact,
            &bundle,
        );
        bundle
    }

    /// `toto verify-attestation --bundle BUNDLE ARGS… ARTIFACT` against the
    /// testbed's trusted root.
    fn verify(&self, bundle: &Path, args: &[&str]) -> Output {
        verify_on(&self.tb, bundle, args, &self.artifact)
    }
}

const SIGNER_DIGEST: &str = "09b495c3f12c7881b3cc17209a327792065c1a1d";
const SOURCE_DIGEST: &str = "95baf27389e83e6a5c48f42e190d48d7abcea19e";

/// gh's checks, each from its own certificate claim: owner, repository,
/// signer repository and workflow, signer and source digests, source ref,
/// runner; gh's default predicate type; the artifact as a positional
/// argument and its bundle found beside it.
#[test]
fn gh_signer_checks_on_a_github_artifact_attestation() {
    let bundle = data("reusable-workflow-artifact.sigstore.json");
    let args = [
        "--owner",
        "malancas",
        "--repo",
        "malancas/attest-demo",
        "--signer-repo",
        "github/artifact-attestations-workflows",
        "--signer-digest",
        SIGNER_DIGEST,
        "--source-ref",
        "refs/heads/main",
        "--source-digest",
        SOURCE_DIGEST,
        "--deny-self-hosted-runners",
        "reusable-workflow-artifact",
    ];
    let shown = verified(&bundle, &args);
    assert_eq!(shown["identity"], REUSABLE);
    // gh's default predicate type was required (and is this one's).
    assert_eq!(shown["statement"]["predicateType"], SLSA_V1);
    assert_eq!(
        shown["certificate"]["sourceRepositoryURI"],
        "https://github.com/malancas/attest-demo"
    );
    refused_each(&bundle,
        &args,
        &[
            (
                "--repo",
                "malancas/other",
                "certificate Source Repository URI is \"https://github.com/malancas/attest-demo\", \
                 expected https://github.com/malancas/other",
            ),
            (
                "--signer-repo",
                "malancas/attest-demo",
                "certificate identity (signing workflow) is \"https://github.com/github/",
            ),
            (
                "--signer-digest",
                SOURCE_DIGEST,
                "certificate Build Signer Digest is \"09b495c3",
            ),
            (
                "--source-ref",
                "refs/heads/dev",
                "certificate Source Repository Ref is \"refs/heads/main\", expected refs/heads/dev",
            ),
            (
                "--source-digest",
                SIGNER_DIGEST,
                "certificate Source Repository Digest is \"95baf273",
            ),
        ],
    );
    // The positional artifact must be a subject.
    let mut other = args.to_vec();
    other.pop();
    other.push("sigstore-2.1.0.tgz");
    refused(&bundle, &other, "is not a subject of the attestation");
    // --repo names the owner: a different --owner is beside the point, but
    // the owner claim is checked against the repository's owner.
    refused(&bundle,
        &["--owner", "github", "--signer-repo", "github/artifact-attestations-workflows", "reusable-workflow-artifact"],
        "certificate Source Repository Owner URI is \"https://github.com/malancas\", expected https://github.com/github",
    );
    // The workflow that signed, by gh's --signer-workflow (a regular
    // expression after the host), with and without the host.
    for workflow in [
        "github/artifact-attestations-workflows/.github/workflows/attest.yml",
        "github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@",
    ] {
        verified(
            &bundle,
            &[
                "--owner",
                "malancas",
                "--signer-workflow",
                workflow,
                "reusable-workflow-artifact",
            ],
        );
    }
    refused(
        &bundle,
        &[
            "--owner",
            "malancas",
            "--signer-workflow",
            "malancas/attest-demo/.github/workflows/shared.yml",
            "reusable-workflow-artifact",
        ],
        "certificate identity (signing workflow)",
    );
}

/// gh's rule: with only --owner (or --repo), the workflow that signed must
/// live in the owner's repositories; a reusable workflow elsewhere needs
/// --signer-repo, --signer-workflow or --cert-identity.
#[test]
fn gh_owner_alone_requires_the_signing_workflow_under_the_owner() {
    let bundle = data("reusable-workflow-artifact.sigstore.json");
    refused(
        &bundle,
        &["--owner", "malancas", "reusable-workflow-artifact"],
        "expected a workflow under https://github.com/malancas/",
    );
    refused(
        &bundle,
        &[
            "--repo",
            "malancas/attest-demo",
            "reusable-workflow-artifact",
        ],
        "expected a workflow under https://github.com/malancas/attest-demo/",
    );
    // Naming the signer lifts it; the owner is still checked.
    verified(
        &bundle,
        &[
            "--owner",
            "malancas",
            "--cert-identity",
            REUSABLE,
            "reusable-workflow-artifact",
        ],
    );
    // The npm provenance was signed in the owner's own repository.
    let npm = data("sigstore-2.1.0.tgz.provenance.sigstore.json");
    verified(
        &npm,
        &[
            "--owner",
            "sigstore",
            "--repo",
            "sigstore/sigstore-js",
            "sigstore-2.1.0.tgz",
        ],
    );
    // Owner and repository compare without case, as gh.
    verified(&npm, &["--owner", "SigStore", "sigstore-2.1.0.tgz"]);
    refused(
        &npm,
        &["--owner", "sigstore-evil", "sigstore-2.1.0.tgz"],
        "certificate Source Repository Owner URI is \"https://github.com/sigstore\"",
    );
    // gh's repositories are OWNER/REPO: anything else is an input error.
    let out = verify(&npm, &["--repo", "sigstore", "sigstore-2.1.0.tgz"]);
    expect_error(&out, 2, "is not OWNER/REPO", "--repo without an owner");
}

/// With gh's flags and no predicate type, gh's default (SLSA provenance v1)
/// is required: a PyPI publish attestation is refused until its type is
/// named.
#[test]
fn gh_default_predicate_type_is_slsa_provenance_v1() {
    let provenance = data("pypi_attestations-0.0.19.tar.gz.provenance");
    let args = ["--owner", "trailofbits", "pypi_attestations-0.0.19.tar.gz"];
    refused(
        &provenance,
        &args,
        "expected \"https://slsa.dev/provenance/v1\"",
    );
    let mut named = args.to_vec();
    named.extend(["--predicate-type", PYPI_PUBLISH]);
    verified(&provenance, &named);
    // The SLSA attestation of the same release has the default type.
    let slsa = data("pypi_attestations-0.0.19.tar.gz.slsa.attestation");
    verified(&slsa, &args);
}

/// slsa-verifier's checks on npm provenance: SLSA v0.2 (invocation's
/// configSource, materials, builder.id) and SLSA v1 (externalParameters'
/// workflow, resolvedDependencies, runDetails.builder.id).
#[test]
fn slsa_source_and_builder_on_npm_provenance_v02_and_v1() {
    // slsa-verifier's flags for sigstore-js's provenance: the signer, the
    // SLSA `--type`, the source on main, the `--builder-id`, the artifact.
    let npm_args = |slsa_type, builder, artifact| {
        [
            "--cert-identity",
            SIGSTORE_JS,
            "--cert-oidc-issuer",
            GITHUB,
            "--type",
            slsa_type,
            "--source-uri",
            "github.com/sigstore/sigstore-js",
            "--source-branch",
            "main",
            "--builder-id",
            builder,
            artifact,
        ]
    };
    let v02 = data("sigstore-1.3.0.tgz.provenance.sigstore.json");
    let args = npm_args(
        "slsaprovenance",
        "https://github.com/actions/runner",
        SIGSTORE_1_3_0_SHA512,
    );
    verified(&v02, &args);
    refused_each(
        &v02,
        &args,
        &[
            (
                "--source-uri",
                "github.com/sigstore/sigstore-python",
                "provenance trigger (invocation.configSource.uri) is \
                 \"git+https://github.com/sigstore/sigstore-js@refs/heads/main\", \
                 expected github.com/sigstore/sigstore-python",
            ),
            (
                "--source-branch",
                "dev",
                "provenance trigger (invocation.configSource.uri) ref is \"refs/heads/main\", \
                 expected refs/heads/dev",
            ),
            (
                "--builder-id",
                "https://github.com/actions/runner/github-hosted",
                "provenance builder.id is \"https://github.com/actions/runner\"",
            ),
            (
                "--type",
                "slsaprovenance1",
                "expected \"https://slsa.dev/provenance/v1\"",
            ),
        ],
    );
    // Built from a branch: no tag to match.
    let mut tagged = args.to_vec();
    tagged.extend(["--source-tag", "v1.3.0"]);
    refused(
        &v02,
        &tagged,
        "ref is \"refs/heads/main\", expected refs/tags/v1.3.0",
    );

    let v1 = data("sigstore-2.1.0.tgz.provenance.sigstore.json");
    let args = npm_args(
        "slsaprovenance1",
        "https://github.com/actions/runner/github-hosted",
        "sigstore-2.1.0.tgz",
    );
    verified(&v1, &args);
    refused_each(
        &v1,
        &args,
        &[
            (
                "--source-uri",
                "https://github.com/sigstore/sigstore-go",
                "provenance trigger (buildDefinition.externalParameters.workflow) is \
                 \"https://github.com/sigstore/sigstore-js@refs/heads/main\"",
            ),
            (
                "--builder-id",
                "https://github.com/actions/runner/self-hosted",
                "provenance runDetails.builder.id is \
                 \"https://github.com/actions/runner/github-hosted\", \
                 expected https://github.com/actions/runner/self-hosted",
            ),
        ],
    );
    // A source elsewhere than github.com is an input error, as slsa-verifier.
    let out = verify(&v1, &with(&args, "--source-uri", "gitlab.com/o/r"));
    expect_error(
        &out,
        2,
        "not a github.com repository",
        "--source-uri on gitlab.com",
    );
}

/// PyPI: the SLSA v1 attestation (build type
/// https://actions.github.io/buildtypes/workflow/v1, built from a tag)
/// and the provenance object whose publish attestation has a null
/// predicate, checked by the certificate's claims.
#[test]
fn slsa_source_and_builder_on_pypi_attestations() {
    let slsa = data("pypi_attestations-0.0.19.tar.gz.slsa.attestation");
    let workflow = "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml";
    let builder = format!("{workflow}@v0.0.19");
    let args = [
        "--cert-identity",
        PYPI_ATTESTATIONS,
        "--cert-oidc-issuer",
        GITHUB,
        "--source-uri",
        "github.com/trailofbits/pypi-attestations",
        "--source-tag",
        "v0.0.19",
        "--source-versioned-tag",
        "v0.0",
        "--builder-id",
        builder.as_str(),
        "pypi_attestations-0.0.19.tar.gz",
    ];
    verified(&slsa, &args);
    // The builder without a version, with the full ref, and at the tag.
    for id in [workflow.to_owned(), format!("{workflow}@refs/tags/v0.0.19")] {
        verified(&slsa, &with(&args, "--builder-id", &id));
    }
    for tag in ["v0", "v0.0.19"] {
        verified(&slsa, &with(&args, "--source-versioned-tag", tag));
    }
    let older = format!("{workflow}@v0.0.18");
    refused_each(
        &slsa,
        &args,
        &[
            (
                "--source-tag",
                "v0.0.18",
                "ref is \"refs/tags/v0.0.19\", expected refs/tags/v0.0.18",
            ),
            (
                "--source-versioned-tag",
                "v0.1",
                "ref is \"refs/tags/v0.0.19\", expected a tag of version v0.1",
            ),
            (
                "--source-versioned-tag",
                "v1",
                "expected a tag of version v1",
            ),
            (
                "--builder-id",
                &older,
                "provenance runDetails.builder.id is",
            ),
            (
                "--source-uri",
                "github.com/trailofbits/other",
                "expected github.com/trailofbits/other",
            ),
        ],
    );
    let out = verify(&slsa, &with(&args, "--source-versioned-tag", "0.0.19"));
    expect_error(
        &out,
        2,
        "is not a semantic version",
        "a versioned tag without v",
    );

    // The publish attestation says nothing of its source: the
    // certificate's claims answer (repository, ref, signing workflow).
    let provenance = data("pypi_attestations-0.0.19.tar.gz.provenance");
    let args = without(&args, "--source-versioned-tag");
    verified(&provenance, &args);
    refused_each(
        &provenance,
        &args,
        &[
            (
                "--source-uri",
                "github.com/trailofbits/other",
                "certificate Source Repository URI is \
                 \"https://github.com/trailofbits/pypi-attestations\"",
            ),
            (
                "--source-tag",
                "v0.0.20",
                "certificate Source Repository URI ref is \"refs/tags/v0.0.19\"",
            ),
            (
                "--builder-id",
                &older,
                "certificate Build Signer URI (the provenance names no builder) is",
            ),
        ],
    );
}

/// The GitHub artifact attestation's source, in its provenance and its
/// certificate (which agree).
#[test]
fn slsa_source_on_a_github_artifact_attestation() {
    let bundle = data("reusable-workflow-artifact.sigstore.json");
    let args = [
        "--cert-identity",
        REUSABLE,
        "--cert-oidc-issuer",
        GITHUB,
        "--source-uri",
        "github.com/malancas/attest-demo",
        "--source-branch",
        "main",
        "reusable-workflow-artifact",
    ];
    verified(&bundle, &args);
    refused_each(
        &bundle,
        &args,
        &[
            (
                "--source-uri",
                "github.com/github/artifact-attestations-workflows",
                "expected github.com/github/artifact-attestations-workflows",
            ),
            ("--source-branch", "release", "expected refs/heads/release"),
        ],
    );
}

/// cosign's names: verify-blob and verify-blob-attestation, --type
/// shorthands, --certificate-oidc-issuer-regexp; sigstore-python's
/// --cert-identity/--cert-oidc-issuer and --offline.
#[test]
fn cosign_and_sigstore_python_flag_names() {
    let blob = [
        "verify-blob",
        "--bundle",
        "cosign-v3-blob.sigstore.json",
        "--certificate-identity",
        "w.vollprecht@gmail.com",
        "--certificate-oidc-issuer-regexp",
        r"https://github\.com/login/.*",
        "--offline",
        "cosign-v3-blob.txt",
    ];
    expect_code(&toto_in_data(&blob), 0, "cosign verify-blob");
    let google = r"https://accounts\.google\.com";
    expect_error(
        &toto_in_data(&with(&blob, "--certificate-oidc-issuer-regexp", google)),
        1,
        "certificate OIDC issuer \"https://github.com/login/oauth\" does not match",
        "an issuer regexp that does not match",
    );
    let attestation = [
        "verify-blob-attestation",
        "--bundle",
        "sigstore-2.1.0.tgz.provenance.sigstore.json",
        "--certificate-identity-regexp",
        r"https://github\.com/sigstore/.*",
        "--certificate-oidc-issuer",
        GITHUB,
        "--type",
        "slsaprovenance1",
        "sigstore-2.1.0.tgz",
    ];
    expect_code(
        &toto_in_data(&attestation),
        0,
        "cosign verify-blob-attestation",
    );
    let mut spdx = attestation.to_vec();
    spdx[8] = "spdx";
    expect_error(
        &toto_in_data(&spdx),
        1,
        "expected \"https://spdx.dev/Document\"",
        "--type spdx on provenance",
    );
    spdx[8] = "nonsense";
    expect_error(
        &toto_in_data(&spdx),
        2,
        "one of cosign's names",
        "an unknown --type",
    );
    // sigstore-python's spelling, and its --offline.
    let out = toto_in_data(&[
        "verify-bundle",
        "--bundle",
        "reusable-workflow-artifact.sigstore.json",
        "--cert-identity",
        REUSABLE,
        "--cert-oidc-issuer",
        GITHUB,
        "--offline",
        "reusable-workflow-artifact",
    ]);
    expect_code(&out, 0, "sigstore verify identity");
}

/// The bundle defaults to ARTIFACT.sigstore.json when it exists (as
/// sigstore-python), for verify-bundle and verify-attestation alike.
#[test]
fn bundle_beside_the_artifact_is_the_default() {
    let tmp = tempdir();
    let dir = tmp.path();
    for name in [
        "reusable-workflow-artifact",
        "reusable-workflow-artifact.sigstore.json",
    ] {
        std::fs::copy(data(name), dir.join(name)).unwrap();
    }
    std::fs::copy(data("cosign-v3-blob.txt"), dir.join("other.txt")).unwrap();
    let run = |command: &str, artifact: &str| {
        toto()
            .current_dir(dir)
            .env("XDG_CACHE_HOME", dir)
            .args([
                command,
                "--cert-identity",
                REUSABLE,
                "--cert-oidc-issuer",
                GITHUB,
            ])
            .arg(artifact)
            .output()
            .unwrap()
    };
    for command in ["verify-bundle", "verify-attestation"] {
        expect_code(&run(command, "reusable-workflow-artifact"), 0, command);
        expect_error(
            &run(command, "other.txt"),
            2,
            "other.txt.sigstore.json does not exist",
            "no bundle beside the artifact",
        );
    }
}

/// verify-attestation with nothing binding the attestation to an artifact
/// warns, unless --no-subject says it is intended.
#[test]
fn no_subject_warns_unless_said() {
    let bundle = data("reusable-workflow-artifact.sigstore.json");
    let args = ["--cert-identity", REUSABLE, "--cert-oidc-issuer", GITHUB];
    let warning = "nothing binds the attestation to an artifact";
    let out = verify(&bundle, &args);
    expect_code(&out, 0, "no subject");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(warning), "{stderr}");
    let mut intended = args.to_vec();
    intended.push("--no-subject");
    let out = verify(&bundle, &intended);
    expect_code(&out, 0, "--no-subject");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(warning), "{stderr}");
    let mut with_subject = args.to_vec();
    with_subject.push("reusable-workflow-artifact");
    let out = verify(&bundle, &with_subject);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(warning));
    // --no-subject with a subject is a contradiction.
    with_subject.push("--no-subject");
    expect_code(
        &verify(&bundle, &with_subject),
        2,
        "--no-subject with a subject",
    );
}

/// Fresh signatures from GitHub-shaped tokens on the testbed: a self-hosted
/// runner is refused by --deny-self-hosted-runners, and gh's workflow and
/// digest checks read the testbed certificate's claims.
#[test]
fn testbed_github_tokens_runner_and_signer_checks() {
    let p = Provenance::new("app.tar", "the app\n", &json!({"buildDefinition": {}}));
    let workflow = "org/app/.github/workflows/release.yml@refs/tags/v1.0.0";
    let sign = |runner: &str| {
        p.attest(
            SLSA_V1,
            workflow,
            runner,
            &format!("{runner}.sigstore.json"),
        )
    };
    let verify = |bundle: &Path, extra: &[&str]| p.verify(bundle, extra);
    let hosted = sign("github-hosted");
    let self_hosted = sign("self-hosted");
    expect_code(
        &verify(&self_hosted, &["--owner", "org"]),
        0,
        "self-hosted, allowed",
    );
    expect_code(
        &verify(&hosted, &["--owner", "org", "--deny-self-hosted-runners"]),
        0,
        "github-hosted, self-hosted denied",
    );
    expect_error(
        &verify(
            &self_hosted,
            &["--owner", "org", "--deny-self-hosted-runners"],
        ),
        1,
        "certificate Runner Environment is \"self-hosted\", expected github-hosted",
        "self-hosted, denied",
    );
    let signer = [
        "--signer-workflow",
        "org/app/.github/workflows/release.yml",
        "--source-ref",
        "refs/tags/v1.0.0",
        "--repo",
        "org/app",
    ];
    expect_code(
        &verify(&hosted, &signer),
        0,
        "gh's signer checks on the testbed",
    );
    let mut other = signer.to_vec();
    other[1] = "org/app/.github/workflows/nightly.yml";
    expect_error(
        &verify(&hosted, &other),
        1,
        "certificate identity (signing workflow) is \"https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1.0.0\"",
        "another workflow",
    );
    expect_error(
        &verify(&hosted, &["--owner", "evil"]),
        1,
        "certificate Source Repository Owner URI is \"https://github.com/org\", expected https://github.com/evil",
        "another owner",
    );
}

/// The `toto` lines of the code block after `marker` in `text`.
fn block_commands(text: &str, marker: &str) -> Vec<String> {
    let after = text
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("no {marker}"));
    let block = after.split("```").nth(1).unwrap();
    block
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("toto "))
        .map(str::to_owned)
        .collect()
}

/// Each "coming from …" page's commands: those under "passes" exit 0,
/// those under "fails" exit 1, run from testdata/real-world; and the
/// README's example of the peers' flags.
#[test]
fn coming_from_pages_commands_give_their_verdicts() {
    let pages = ["gh", "slsa-verifier", "cosign", "sigstore-python"]
        .map(|page| (page, repo_text(&format!("docs/coming-from-{page}.md"))));
    let readme = [("README", repo_text("README.md"))];
    let blocks = pages
        .iter()
        .flat_map(|(page, text)| {
            [("<!-- passes -->", 0), ("<!-- fails -->", 1)].map(|(m, c)| (*page, text, m, c))
        })
        .chain(
            readme
                .iter()
                .map(|(page, text)| (*page, text, "<!-- peer-flags -->", 0)),
        );
    let mut run = 0;
    for (page, text, marker, code) in blocks {
        let commands = block_commands(text, marker);
        assert!(!commands.is_empty(), "{page} {marker}");
        for command in commands {
            let words = shell_words(&command);
            let out = toto_in_data(&words[1..]);
            expect_code(&out, code, &format!("{page}: {command}"));
            run += 1;
        }
    }
    assert!(run >= 25, "{run} commands");
}

/// A workflow writes the predicate it likes: one in org/app claiming to
/// have built victim/lib passes no --source-uri, as the certificate (whose
/// claims Fulcio took from GitHub's token) names org/app.
#[test]
fn a_predicate_naming_another_source_than_the_certificate_passes_no_source_uri() {
    let p = Provenance::new(
        "lib.tar",
        "not victim's lib\n",
        &json!({"buildDefinition": {
            "buildType": "https://actions.github.io/buildtypes/workflow/v1",
            "externalParameters": {"workflow": {
                "repository": "https://github.com/victim/lib",
                "ref": "refs/tags/v1.0.0",
                "path": ".github/workflows/release.yml"}},
            "resolvedDependencies": [{"uri": "git+https://github.com/victim/lib@refs/tags/v1.0.0"}]},
          "runDetails": {"builder": {"id": "https://github.com/victim/lib/.github/workflows/release.yml@refs/tags/v1.0.0"}}}),
    );
    let workflow = "org/app/.github/workflows/release.yml@refs/tags/v1.0.0";
    let bundle = p.attest(SLSA_V1, workflow, "github-hosted", "forged.sigstore.json");
    let verify = |extra: &[&str]| {
        let mut args = vec!["--owner", "org"];
        args.extend(extra);
        p.verify(&bundle, &args)
    };
    expect_code(&verify(&["--source-tag", "v1.0.0"]), 0, "the tag both name");
    expect_error(
        &verify(&["--source-uri", "github.com/victim/lib"]),
        1,
        "certificate Source Repository URI is \"https://github.com/org/app\", expected github.com/victim/lib",
        "the predicate's claim alone",
    );
    expect_error(
        &verify(&["--source-uri", "github.com/org/app"]),
        1,
        "provenance trigger (buildDefinition.externalParameters.workflow) is \"https://github.com/victim/lib@refs/tags/v1.0.0\"",
        "the certificate's repository against the predicate's",
    );
}

/// The same checks on verify-bundle (blob signatures included), and what
/// a signature without the claims gets: "absent".
#[test]
fn checks_on_verify_bundle_and_absent_claims() {
    let reusable = [
        "verify-bundle",
        "reusable-workflow-artifact",
        "--repo",
        "malancas/attest-demo",
        "--signer-repo",
        "github/artifact-attestations-workflows",
    ];
    expect_code(&toto_in_data(&reusable), 0, "gh's flags on verify-bundle");
    let mut wrong = reusable.to_vec();
    wrong.extend(["--source-ref", "refs/tags/v1"]);
    expect_error(
        &toto_in_data(&wrong),
        1,
        "certificate Source Repository Ref is \"refs/heads/main\", expected refs/tags/v1",
        "a wrong --source-ref on verify-bundle",
    );
    // A person's certificate (cosign's blob) has no GitHub claims.
    let blob = [
        "verify-blob",
        "cosign-v3-blob.txt",
        "--bundle",
        "cosign-v3-blob.sigstore.json",
        "--cert-identity",
        "w.vollprecht@gmail.com",
        "--cert-oidc-issuer",
        "https://github.com/login/oauth",
        "--owner",
        "wolfv",
    ];
    expect_error(
        &toto_in_data(&blob),
        1,
        "certificate Source Repository Owner URI is absent, expected https://github.com/wolfv",
        "gh's --owner on a person's signature",
    );
    // A key-signed attestation names no source anywhere.
    let out = toto_in_data(&[
        "verify-attestation",
        "--bundle",
        "sigstore-1.3.0.tgz.publish.sigstore.json",
        "--key",
        "npm-publish-key.pub",
        "--source-uri",
        "github.com/sigstore/sigstore-js",
        SIGSTORE_1_3_0_SHA512,
    ]);
    expect_error(
        &out,
        1,
        "source repository is absent, expected github.com/sigstore/sigstore-js",
        "--source-uri on a key-signed publish attestation",
    );
}

/// sigstore-python's `verify github` and toto's flags for it
/// (docs/coming-from-sigstore-python.md) give the same verdict, claim by
/// claim, on the GitHub artifact attestation.
#[test]
fn sigstore_python_verify_github_and_toto_agree() {
    let Some((py, tmp)) = python_tempdir("sigstore_python_verify_github_and_toto_agree") else {
        return;
    };
    let right = [
        (
            "--repository",
            "--certificate-github-workflow-repository",
            "malancas/attest-demo",
        ),
        (
            "--ref",
            "--certificate-github-workflow-ref",
            "refs/heads/main",
        ),
        (
            "--trigger",
            "--certificate-github-workflow-trigger",
            "workflow_dispatch",
        ),
        ("--sha", "--certificate-github-workflow-sha", SOURCE_DIGEST),
    ];
    let wrong = ["malancas/other", "refs/heads/dev", "push", SIGNER_DIGEST];
    for changed in [None, Some(0), Some(1), Some(2), Some(3)] {
        let value = |i: usize| match changed {
            Some(c) if c == i => wrong[i],
            _ => right[i].2,
        };
        let mut theirs = sigstore_python(&py, tmp.path());
        theirs.current_dir(data("")).args([
            "verify",
            "github",
            "--offline",
            "--bundle",
            "reusable-workflow-artifact.sigstore.json",
            "--cert-identity",
            REUSABLE,
        ]);
        let mut ours = vec![
            "verify-bundle",
            "--cert-identity",
            REUSABLE,
            "--cert-oidc-issuer",
            GITHUB,
        ];
        for (i, (their_flag, our_flag, _)) in right.iter().enumerate() {
            theirs.args([*their_flag, value(i)]);
            ours.extend([*our_flag, value(i)]);
        }
        theirs.arg("reusable-workflow-artifact");
        ours.push("reusable-workflow-artifact");
        let code = i32::from(changed.is_some());
        expect_code(
            &theirs.output().unwrap(),
            code,
            &format!("sigstore verify github, wrong {changed:?}"),
        );
        expect_code(
            &toto_in_data(&ours),
            code,
            &format!("toto, wrong {changed:?}"),
        );
    }
}

/// slsa-github-generator's SLSA v0.2 shape (its generic generator as the
/// builder, the caller's repository in configSource and materials), signed
/// afresh on the testbed by a GitHub-shaped token of a tag build.
#[test]
fn slsa_github_generator_v02_shape_on_the_testbed() {
    let generator = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml";
    let source = "git+https://github.com/org/app@refs/tags/v1.2.3";
    let p = Provenance::new(
        "app.tar",
        "the app\n",
        &json!({
            "builder": {"id": format!("{generator}@refs/tags/v1.9.0")},
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
            "invocation": {"configSource": {"uri": source, "entryPoint": ".github/workflows/release.yml"}},
            "materials": [{"uri": source}]}),
    );
    let bundle = p.attest(
        "https://slsa.dev/provenance/v0.2",
        "org/app/.github/workflows/release.yml@refs/tags/v1.2.3",
        "github-hosted",
        "provenance.sigstore.json",
    );
    let builder = format!("{generator}@v1.9.0");
    let args = [
        "--repo",
        "org/app",
        "--type",
        "slsaprovenance02",
        "--source-uri",
        "github.com/org/app",
        "--source-tag",
        "v1.2.3",
        "--source-versioned-tag",
        "v1.2",
        "--builder-id",
        builder.as_str(),
    ];
    let verify = |args: &[&str]| p.verify(&bundle, args);
    expect_code(&verify(&args), 0, "slsa-github-generator v0.2");
    let older = format!("{generator}@v1.8.0");
    for (flag, value, why) in [
        ("--builder-id", older.as_str(), "provenance builder.id is"),
        (
            "--source-versioned-tag",
            "v1.3",
            "expected a tag of version v1.3",
        ),
        ("--source-tag", "v1.2.4", "expected refs/tags/v1.2.4"),
        (
            "--source-uri",
            "github.com/org/lib",
            "expected github.com/org/lib",
        ),
    ] {
        expect_error(&verify(&with(&args, flag, value)), 1, why, flag);
    }
}

/// A policy file holds the same checks as the flags, in `[github]` and
/// `[slsa]` tables with the flags' names as keys.
#[test]
fn policy_file_github_and_slsa_tables() {
    let tmp = tempdir();
    let bundle = data("pypi_attestations-0.0.19.tar.gz.slsa.attestation");
    let write = |name: &str, toml: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, toml).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let good = write(
        "good.toml",
        "[github]\nowner = \"trailofbits\"\nrepo = \"trailofbits/pypi-attestations\"\n\
         source_ref = \"refs/tags/v0.0.19\"\ndeny_self_hosted_runners = true\n\
         [slsa]\nsource_uri = \"github.com/trailofbits/pypi-attestations\"\n\
         source_versioned_tag = \"v0.0\"\n",
    );
    let args = [
        "--cert-identity",
        PYPI_ATTESTATIONS,
        "--cert-oidc-issuer",
        GITHUB,
        "--policy",
        good.as_str(),
        "pypi_attestations-0.0.19.tar.gz",
    ];
    let shown = verified(&bundle, &args);
    // The file's [github] brings gh's default predicate type.
    assert_eq!(shown["statement"]["predicateType"], SLSA_V1);
    let other_repo = write("repo.toml", "[github]\nrepo = \"trailofbits/other\"\n");
    let other_tag = write("tag.toml", "[slsa]\nsource_tag = \"v0.0.18\"\n");
    refused_each(&bundle,
        &args,
        &[
            (
                "--policy",
                &other_repo,
                "policy [github]: certificate Source Repository URI is",
            ),
            (
                "--policy",
                &other_tag,
                "policy [slsa]: provenance trigger (buildDefinition.externalParameters.workflow) ref is \"refs/tags/v0.0.19\"",
            ),
        ],
    );
    // gh's rule holds in the file too: unless the command line names the
    // signer, the signing workflow must be under the file's owner.
    let owner = write("owner.toml", "[github]\nowner = \"malancas\"\n");
    let reusable = data("reusable-workflow-artifact.sigstore.json");
    refused(
        &reusable,
        &[
            "--source-ref",
            "refs/heads/main",
            "--policy",
            &owner,
            "reusable-workflow-artifact",
        ],
        "policy [github]: certificate identity (signing workflow) is",
    );
    verified(
        &reusable,
        &[
            "--signer-repo",
            "github/artifact-attestations-workflows",
            "--policy",
            &owner,
            "reusable-workflow-artifact",
        ],
    );
    let npm = data("sigstore-2.1.0.tgz.provenance.sigstore.json");
    let typo = write("typo.toml", "[github]\nowners = \"sigstore\"\n");
    let out = verify(
        &npm,
        &[
            "--owner",
            "sigstore",
            "--policy",
            &typo,
            "sigstore-2.1.0.tgz",
        ],
    );
    expect_error(&out, 2, "unknown field", "a misspelt key");
}
