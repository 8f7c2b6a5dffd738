//! Layouts over images, against a real registry (`crate::registry`): a
//! build step records the image it produced (`toto run --subject
//! oci://…`), a following step MATCHes it, and `toto verify --image
//! oci://…` holds the verified links to the image's manifest digest as the
//! registry has it now. `--push` attaches the signed link to the image,
//! where `verify-attestation` finds it. The reference (in-toto 3.1) reads
//! links with `oci://` product names.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;
use crate::registry::{json_of, TestRegistry};

const LINK_PREDICATE: &str = "https://in-toto.io/attestation/link/v0.3";

/// A chain in the registry's directory: keys for the owner, `alice`
/// (build) and `bob` (release), the link directory, and the image name.
struct Chain {
    registry: TestRegistry,
    work: PathBuf,
    links: PathBuf,
    /// `oci://HOST/team/app` (no tag).
    repo: String,
}

impl Chain {
    fn start(test: &str) -> Option<Chain> {
        let registry = TestRegistry::start(test, false)?;
        let work = registry.path().join("work");
        let links = work.join("links");
        std::fs::create_dir_all(&links).unwrap();
        generate_key(&work.join("alice"), &[]);
        generate_key(&work.join("bob"), &[]);
        let repo = registry.image("team/app");
        Some(Chain {
            registry,
            work,
            links,
            repo,
        })
    }

    /// `toto run -n STEP -k KEY -d links --subject IMAGE EXTRA… -- true`,
    /// with the registry's flags.
    fn run(&self, step: &str, key: &str, image: &str, extra: &[&str]) -> Output {
        toto()
            .current_dir(&self.work)
            .args(["run", "-n", step, "-k", key, "-d", "links"])
            .args(["--subject", image])
            .args(self.registry.flags())
            .args(extra)
            .args(["--", "true"])
            .output()
            .unwrap()
    }

    /// The owner-signed layout: `build` (alice) creates the image,
    /// `release` (bob) produces the image `build` produced, nothing else.
    fn layout(&self) -> PathBuf {
        let repo = &self.repo;
        let toml = format!(
            "expires = \"365d\"\n\
             [[steps]]\nname = \"build\"\nfunctionaries = [\"alice.pub\"]\n\
             products = [\"CREATE {repo}\", \"DISALLOW *\"]\n\
             [[steps]]\nname = \"release\"\nfunctionaries = [\"bob.pub\"]\n\
             products = [\"MATCH {repo} WITH PRODUCTS FROM build\", \"DISALLOW *\"]\n"
        );
        layout_signed_in(&self.work, &toml).1
    }

    /// `toto verify` of the links against `layout` with `--image` for each
    /// of `images`.
    fn verify(&self, layout: &Path, images: &[&str], extra: &[&str]) -> Output {
        let mut with_dir = vec!["--link-dir", "links"];
        with_dir.extend_from_slice(extra);
        self.verify_with(layout, images, &with_dir)
    }

    /// `toto verify` against `layout` with `--image` for each of `images`
    /// and `extra` flags (no link directory).
    fn verify_with(&self, layout: &Path, images: &[&str], extra: &[&str]) -> Output {
        let mut verify = toto();
        verify
            .current_dir(&self.work)
            .args(["verify", "--layout"])
            .arg(layout)
            .args(["--layout-key", "owner.pub"])
            .args(self.registry.flags())
            .args(extra);
        for image in images {
            verify.args(["--image", image]);
        }
        verify.output().unwrap()
    }

    /// Records `build` and `release` of the image at `tag`.
    fn record_both(&self, tag: &str) {
        let image = format!("{}:{tag}", self.repo);
        expect_code(&self.run("build", "alice", &image, &[]), 0, "run build");
        expect_code(&self.run("release", "bob", &image, &[]), 0, "run release");
    }
}

#[test]
fn a_built_image_and_its_links_verify_against_the_layout_with_image() {
    let Some(chain) = Chain::start("image layout verifies") else {
        return;
    };
    let digest = chain.registry.push_image("team/app:v1", b"layer one");
    let image = format!("{}:v1", chain.repo);

    let built = chain.run("build", "alice", &image, &["--format", "json"]);
    expect_said(
        &built,
        0,
        &digest,
        "run --subject names the resolved digest",
    );
    let report = json_of(&built);
    assert_eq!(report["products"], 1, "{report}");
    assert_eq!(report["images"][0]["product"], chain.repo, "{report}");
    assert_eq!(report["images"][0]["digest"], digest, "{report}");
    expect_code(&chain.run("release", "bob", &image, &[]), 0, "run release");

    let layout = chain.layout();
    let verified = chain.verify(&layout, &[&image], &[]);
    expect_said(
        &verified,
        0,
        &digest,
        "verify --image resolves the tag once",
    );
    let by_digest = format!("{}@{digest}", chain.repo);
    expect_code(
        &chain.verify(&layout, &[&by_digest], &[]),
        0,
        "verify --image by digest",
    );
    // Without --image the chain verifies as files would.
    expect_code(
        &chain.verify(&layout, &[], &[]),
        0,
        "verify without --image",
    );

    // An image no step produced.
    chain.registry.push_image("team/other:v1", b"other");
    let other = chain.registry.image("team/other:v1");
    let refused = chain.verify(&layout, &[&image, &other], &[]);
    expect_error(
        &refused,
        1,
        &format!(
            "no verified step produced \"{}\"",
            chain.registry.image("team/other")
        ),
        "an image the chain did not produce",
    );
}

#[test]
fn a_retagged_image_fails_naming_step_artifact_and_both_digests() {
    let Some(chain) = Chain::start("image layout retagged") else {
        return;
    };
    let built = chain.registry.push_image("team/app:v1", b"layer one");
    chain.record_both("v1");
    let layout = chain.layout();
    // The tag now points at another image.
    let swapped = chain.registry.push_image("team/app:v1", b"something else");
    assert_ne!(built, swapped);
    let image = format!("{}:v1", chain.repo);
    let refused = chain.verify(&layout, &[&image], &[]);
    for needle in [
        "step \"build\"",
        &format!("product \"{}\"", chain.repo),
        &built,
        &swapped,
    ] {
        expect_error(&refused, 1, needle, "a re-pointed tag");
    }
    let report = json_of(&chain.verify(&layout, &[&image], &["--format", "json"]));
    assert_eq!(report["images"][0]["image"], image, "{report}");
    assert_eq!(
        report["images"][0]["digest"]["sha256"],
        swapped.trim_start_matches("sha256:"),
        "{report}"
    );
    let failure = &report["failure"];
    assert_eq!(failure["kind"], "pinned_digest", "{report}");
    assert_eq!(failure["expected"], swapped, "{report}");
    assert_eq!(failure["found"], built, "{report}");
}

#[test]
fn a_link_recording_another_digest_of_the_image_fails() {
    let Some(chain) = Chain::start("image layout other digest") else {
        return;
    };
    // The steps record v0; the release is v1 of the same repository.
    let recorded = chain.registry.push_image("team/app:v0", b"layer zero");
    let release = chain.registry.push_image("team/app:v1", b"layer one");
    chain.record_both("v0");
    let layout = chain.layout();
    let v1 = format!("{}:v1", chain.repo);
    let refused = chain.verify(&layout, &[&v1], &[]);
    expect_error(&refused, 1, &recorded, "a link of another digest");
    expect_error(&refused, 1, &release, "a link of another digest");
    // The same links verify for the image they name.
    let v0 = format!("{}:v0", chain.repo);
    expect_code(&chain.verify(&layout, &[&v0], &[]), 0, "the image recorded");
}

#[test]
fn push_attaches_the_link_once_and_verify_attestation_finds_it() {
    let Some(chain) = Chain::start("image link push") else {
        return;
    };
    let digest = chain.registry.push_image("team/app:v1", b"layer one");
    let image = format!("{}:v1", chain.repo);
    let pushed = chain.run("build", "alice", &image, &["--push", "--format", "json"]);
    expect_said(&pushed, 0, "attached the link", "run --push");
    let report = json_of(&pushed);
    assert_eq!(report["images"][0]["attached"]["already_attached"], false);
    assert_eq!(chain.registry.tag_schema_entries("team/app", &digest), 1);

    let verify = |key: &str| {
        toto()
            .args([
                "verify-attestation",
                &image,
                "--predicate-type",
                LINK_PREDICATE,
            ])
            .arg("--key")
            .arg(chain.work.join(key))
            .args(["--format", "json"])
            .args(chain.registry.flags())
            .output()
            .unwrap()
    };
    let found = verify("alice.pub");
    expect_code(&found, 0, "verify-attestation finds the pushed link");
    assert_eq!(
        json_of(&found)["attestations"][0]["predicate_type"],
        LINK_PREDICATE
    );
    expect_code(&verify("bob.pub"), 1, "the link is alice's, not bob's");

    // Ed25519 and a command with the same output: the same link, attached once.
    let again = chain.run("build", "alice", &image, &["--push"]);
    expect_said(&again, 0, "attached already", "run --push twice");
    assert_eq!(chain.registry.tag_schema_entries("team/app", &digest), 1);

    // The link pushed is the link written: it verifies against the layout.
    expect_code(&chain.run("release", "bob", &image, &[]), 0, "run release");
    let layout = chain.layout();
    expect_code(&chain.verify(&layout, &[&image], &[]), 0, "verify --image");
}

#[test]
fn push_of_a_link_that_is_not_a_statement_is_refused_before_the_step_runs() {
    let Some(chain) = Chain::start("image link push metablock") else {
        return;
    };
    chain.registry.push_image("team/app:v1", b"layer one");
    let image = format!("{}:v1", chain.repo);
    let out = toto()
        .current_dir(&chain.work)
        .args(["run", "-n", "build", "-k", "alice", "-d", "links"])
        .args(["--subject", &image, "--push", "--encoding", "metablock"])
        .args(chain.registry.flags())
        .args(["--", "touch", "ran"])
        .output()
        .unwrap();
    expect_error(
        &out,
        2,
        "--push attaches the link as a Sigstore bundle",
        "metablock --push",
    );
    assert!(!chain.work.join("ran").exists(), "the step ran");
    // A file path is not an image.
    let out = chain.run("build", "alice", "dist/app", &[]);
    expect_error(&out, 2, "oci://REGISTRY/REPO:TAG", "--subject FILE");
    // One repository twice.
    let out = toto()
        .current_dir(&chain.work)
        .args(["run", "-n", "build", "-k", "alice", "-d", "links"])
        .args([
            "--subject",
            &image,
            "--subject",
            &format!("{}:v2", chain.repo),
        ])
        .args(chain.registry.flags())
        .args(["--", "touch", "ran"])
        .output()
        .unwrap();
    expect_error(&out, 2, "twice", "one repository twice");
    assert!(!chain.work.join("ran").exists(), "the step ran");
}

/// in-toto 3.1 (the venv's `in-toto-verify`) verifies the chain of
/// Metablock links whose products are `oci://` names, as toto does.
#[test]
fn the_reference_verifies_a_layout_over_an_image_product() {
    let Some(python) = python("the_reference_verifies_a_layout_over_an_image_product") else {
        return;
    };
    let Some(chain) = Chain::start("image layout reference") else {
        return;
    };
    chain.registry.push_image("team/app:v1", b"layer one");
    let image = format!("{}:v1", chain.repo);
    for (step, key) in [("build", "alice"), ("release", "bob")] {
        let out = chain.run(step, key, &image, &["--encoding", "metablock"]);
        expect_code(&out, 0, &format!("run {step} --encoding metablock"));
    }
    let layout = chain.layout();
    expect_code(
        &chain.verify(&layout, &[&image], &[]),
        0,
        "toto verify --image",
    );
    std::fs::copy(&layout, chain.links.join("root.layout")).unwrap();
    std::fs::copy(chain.work.join("owner.pub"), chain.links.join("owner.pub")).unwrap();
    let theirs = reference_tool(
        &python,
        "in-toto-verify",
        &chain.links,
        &[
            "--layout",
            "root.layout",
            "--verification-keys",
            "owner.pub",
        ],
    );
    expect_code(
        &theirs,
        0,
        "in-toto-verify of a chain over an oci:// product",
    );
}

/// Keyless: `run --keyless --subject … --push` attaches the link's Sigstore
/// bundle, `verify-attestation` finds it by identity, and a layout whose
/// keyless build step must produce the image verifies with `--image`.
#[test]
fn a_keyless_build_step_pushes_its_link_and_verifies_over_the_image() {
    let Some(chain) = Chain::start("image layout keyless") else {
        return;
    };
    let (_dir, tb) = tempdir_testbed();
    let identity = "builder@example.com";
    let digest = chain.registry.push_image("team/app:v1", b"layer one");
    let image = format!("{}:v1", chain.repo);
    let built = toto()
        .current_dir(&chain.work)
        .args(["run", "-n", "build", "-d", "links"])
        .args(keyless(&tb, &token(&tb, identity)))
        .args(["--subject", &image, "--push", "--format", "json"])
        .args(chain.registry.flags())
        .args(["--", "true"])
        .output()
        .unwrap();
    expect_code(&built, 0, "run --keyless --subject --push");
    let report = json_of(&built);
    assert_eq!(report["encoding"], "sigstore-bundle", "{report}");
    assert_eq!(report["images"][0]["digest"], digest, "{report}");
    assert_eq!(chain.registry.tag_schema_entries("team/app", &digest), 1);

    let found = toto()
        .args([
            "verify-attestation",
            &image,
            "--predicate-type",
            LINK_PREDICATE,
        ])
        .testbed_signer(&tb, identity)
        .args(chain.registry.flags())
        .output()
        .unwrap();
    expect_code(&found, 0, "verify-attestation of the keyless link");

    let repo = &chain.repo;
    let (_, layout) = layout_signed_in(
        &chain.work,
        &format!(
            "expires = \"30d\"\n{}",
            keyless_step(
                "build",
                identity,
                tb.issuer(),
                &format!("products = [\"CREATE {repo}\", \"DISALLOW *\"]\n"),
            )
        ),
    );
    let root = tb.trusted_root_path().display().to_string();
    let trusted = ["--trusted-root", root.as_str()];
    expect_code(
        &chain.verify(&layout, &[&image], &trusted),
        0,
        "verify --image of a keyless chain",
    );
    // The link attached to the image is the evidence: no link directory.
    let mut from_image = vec!["--links-from-image"];
    from_image.extend_from_slice(&trusted);
    expect_said(
        &chain.verify_with(&layout, &[&image], &from_image),
        0,
        "read 1 link(s)",
        "verify --links-from-image, keyless",
    );
    let swapped = chain.registry.push_image("team/app:v1", b"another build");
    expect_error(
        &chain.verify(&layout, &[&image], &trusted),
        1,
        &swapped,
        "a re-pointed tag, keyless",
    );
}

/// `--links-from-image`: the links `run --push` attached are the evidence;
/// a step whose link was not attached fails its threshold, and a re-pointed
/// tag has no links at all.
#[test]
fn links_attached_to_the_image_verify_without_a_link_directory() {
    let Some(chain) = Chain::start("image layout links from image") else {
        return;
    };
    chain.registry.push_image("team/app:v1", b"layer one");
    let image = format!("{}:v1", chain.repo);
    let layout = chain.layout();
    let pushed = chain.run("build", "alice", &image, &["--push"]);
    expect_code(&pushed, 0, "run build --push");
    // release is recorded but not attached: the image holds build's link only.
    expect_code(&chain.run("release", "bob", &image, &[]), 0, "run release");
    let from_image = ["--links-from-image"];
    expect_error(
        &chain.verify_with(&layout, &[&image], &from_image),
        1,
        "step \"release\" requires links from 1 distinct functionaries, found 0",
        "a step whose link is not attached",
    );
    expect_code(
        &chain.run("release", "bob", &image, &["--push"]),
        0,
        "run release --push",
    );
    let verified = chain.verify_with(&layout, &[&image], &from_image);
    expect_said(&verified, 0, "read 2 link(s)", "verify --links-from-image");
    // With a link directory too is a usage error.
    let both = chain.verify(&layout, &[&image], &from_image);
    expect_code(&both, 2, "--link-dir and --links-from-image");
    // The tag re-pointed: the new image has no links.
    chain.registry.push_image("team/app:v1", b"another build");
    expect_error(
        &chain.verify_with(&layout, &[&image], &from_image),
        1,
        "step \"build\"",
        "a re-pointed tag has no links",
    );
}

/// `--links-from-image` writes a key-signed bundle's envelope exactly as
/// received and verifies those bytes: an envelope with a repeated key
/// (a decoy payload before the signed one) is refused, not normalized into
/// the signed one; the same bundle without the decoy verifies.
#[test]
fn an_attached_envelope_with_a_repeated_key_is_refused_not_normalized() {
    let Some(chain) = Chain::start("image layout repeated key") else {
        return;
    };
    chain.registry.push_image("team/app:v1", b"layer one");
    let image = format!("{}:v1", chain.repo);
    let layout = chain.layout();
    expect_code(&chain.run("build", "alice", &image, &[]), 0, "run build");
    let pushed = chain.run("release", "bob", &image, &["--push"]);
    expect_code(&pushed, 0, "run release --push");

    // build's link as a bundle with alice's key hint, attached by hand.
    let link = std::fs::read_dir(&chain.links)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("build.")
        })
        .unwrap();
    let envelope = std::fs::read_to_string(&link).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&envelope).unwrap();
    let hint = parsed["signatures"][0]["keyid"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = chain.registry.client();
    let reference = oci::Reference::parse(&image).unwrap();
    let subject = client.resolve(&reference).unwrap().descriptor;
    let attach = |envelope: &str| {
        let bundle = format!(
            r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{{"publicKey":{{"hint":"{hint}"}},"tlogEntries":[]}},"dsseEnvelope":{envelope}}}"#
        );
        oci::referrers::attach(
            &client,
            &reference,
            &subject,
            bundle.as_bytes(),
            "https://in-toto.io/attestation/link/v0.3",
        )
        .unwrap();
    };
    let decoy = envelope.replacen('{', r#"{"payload":"e30=","#, 1);
    assert_ne!(decoy, envelope);
    attach(&decoy);
    let from_image = ["--links-from-image", "-v"];
    expect_error(
        &chain.verify_with(&layout, &[&image], &from_image),
        1,
        "step \"build\" requires links from 1 distinct functionaries, found 0",
        "an envelope with a repeated payload key",
    );
    attach(&envelope);
    expect_said(
        &chain.verify_with(&layout, &[&image], &from_image),
        0,
        "read 2 link(s)",
        "the same envelope without the decoy",
    );
}
