//! Peers of toto's image attestations, both ways, against Debian's
//! `docker-registry` (distribution 2.8: no referrers API, so every peer
//! lists and appends through the referrers tag schema) on 127.0.0.1:
//!
//! - `@sigstore/oci` (npm, pinned in tests/peer/js): what GitHub's
//!   `actions/attest` called to attach bundles to images.
//!   `tests/peer/js/oci-attach.js` attaches as that action does;
//!   `oci-referrers.js` lists and fetches through its `RegistryClient`.
//! - `oras` (PyPI, the ORAS Python SDK, pinned in
//!   scripts/requirements-peers.txt): `tests/peer/oras_peer.py`.
//!
//! Plain HTTP: `@sigstore/oci` speaks HTTP to 127.0.0.1 and HTTPS to every
//! other host, with no way to name a CA. The TLS-with-auth path is toto's
//! own, tested in images.rs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;
use crate::registry::*;

const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// A registry with the image `repo:v1` (same bytes in every repo: same
/// digest), a key, and toto's attestation attached to `app:v1`; the digest
/// and the bundle's bytes as toto's client reads them back.
struct Attested {
    registry: TestRegistry,
    digest: String,
    bundle: Vec<u8>,
}

fn attested(test: &str, repos: &[&str]) -> Option<Attested> {
    let registry = TestRegistry::start(test, false)?;
    let digest = registry.push_image("app:v1", b"layer");
    for repo in repos {
        assert_eq!(registry.push_image(&format!("{repo}:v1"), b"layer"), digest);
    }
    let key = registry.generate_key("k.pem");
    let out = attest_with_key(&registry, &key, &registry.image("app:v1"));
    expect_code(&out, 0, "toto attest --push");
    let bundle = toto_reads(&registry, "app", &digest)
        .into_iter()
        .next()
        .unwrap();
    Some(Attested {
        registry,
        digest,
        bundle,
    })
}

/// The bundles attached to `repo@digest`, read by toto's client.
fn toto_reads(registry: &TestRegistry, repo: &str, digest: &str) -> Vec<Vec<u8>> {
    let digest: oci::Digest = digest.parse().unwrap();
    let image = oci::Reference::parse(&format!("{}@{digest}", registry.image(repo))).unwrap();
    let client = registry.client();
    let (_, listed) = oci::referrers::list(&client, &image, digest).unwrap();
    oci::referrers::bundles(&client, &image, digest, &listed)
        .into_iter()
        .map(|found| found.bundle.unwrap())
        .collect()
}

fn ok_json(output: &Output, what: &str) -> serde_json::Value {
    expect_code(output, 0, what);
    json_of(output)
}

/// A peer's side of the registry: `@sigstore/oci` through the node scripts
/// beside `TOTO_NODE_PEER`, or the ORAS Python SDK through
/// `tests/peer/oras_peer.py` with the peers' Python.
enum Peer {
    SigstoreOci(PathBuf),
    Oras(PathBuf),
}

impl Peer {
    /// `@sigstore/oci`, or `None` (said) where the node peer is missing.
    fn sigstore_oci(test: &str) -> Option<Peer> {
        node_peer(test).map(Peer::SigstoreOci)
    }

    /// oras-py, or `None` (said) where the Python peers are missing.
    fn oras(test: &str) -> Option<Peer> {
        python(test).map(Peer::Oras)
    }

    /// Lists `repo@digest`'s referrers and fetches their bundles into `out`.
    fn read(&self, registry: &TestRegistry, repo: &str, digest: &str, out: &Path) -> Output {
        self.command(registry, "oci-referrers.js", "discover", repo)
            .args([digest, out.to_str().unwrap()])
            .output()
            .unwrap()
    }

    /// Attaches the bundle in `file` to `repo@digest` as a referrer.
    fn attach(&self, registry: &TestRegistry, repo: &str, digest: &str, file: &Path) -> Output {
        self.command(registry, "oci-attach.js", "attach", repo)
            .args([digest, file.to_str().unwrap(), PREDICATE_TYPE])
            .output()
            .unwrap()
    }

    /// The peer's command for `repo` in `registry`: the node `script`
    /// (which takes `HOST/REPO`) or `oras_peer.py VERB HOST REPO`.
    fn command(&self, registry: &TestRegistry, script: &str, verb: &str, repo: &str) -> Command {
        match self {
            Peer::SigstoreOci(verify_js) => {
                let mut command = Command::new("node");
                command
                    .arg(verify_js.parent().unwrap().join(script))
                    .arg(format!("{}/{repo}", registry.host));
                command
            }
            Peer::Oras(python) => {
                let mut command = Command::new(python);
                command.arg(repo_path("tests/peer/oras_peer.py")).args([
                    verb,
                    &registry.host,
                    repo,
                ]);
                command
            }
        }
    }
}

/// What a peer listed: one referrer, a Sigstore bundle v0.3 with gh's
/// annotations; its bytes (the file the peer wrote).
fn one_bundle_listed(listing: &serde_json::Value) -> (String, Vec<u8>) {
    assert_eq!(listing["source"], "tag", "{listing}");
    let referrers = listing["referrers"].as_array().unwrap();
    assert_eq!(referrers.len(), 1, "{listing}");
    let r = &referrers[0];
    assert_eq!(r["artifactType"], BUNDLE_V03, "{listing}");
    assert_eq!(r["layerMediaType"], BUNDLE_V03, "{listing}");
    assert_eq!(
        r["annotations"]["dev.sigstore.bundle.predicateType"],
        PREDICATE_TYPE
    );
    assert_eq!(
        r["annotations"]["dev.sigstore.bundle.content"],
        "dsse-envelope"
    );
    let file = PathBuf::from(r["file"].as_str().unwrap());
    (
        r["digest"].as_str().unwrap().to_owned(),
        std::fs::read(file).unwrap(),
    )
}

/// toto verifies `repo:v1` with the key; the report.
fn toto_verifies(registry: &TestRegistry, repo: &str, key: &str) -> Output {
    verify_with_key(
        registry,
        &registry.path().join(key),
        &registry.image(&format!("{repo}:v1")),
    )
}

/// toto's report lists exactly `manifests` (by digest), each verified.
fn verified_manifests(report: &serde_json::Value) -> Vec<String> {
    assert_eq!(report["verified"], true, "{report}");
    let attestations = report["attestations"].as_array().unwrap();
    assert!(
        attestations.iter().all(|a| a["verified"] == true),
        "{report}"
    );
    let mut digests: Vec<String> = attestations
        .iter()
        .map(|a| a["manifest"].as_str().unwrap().to_owned())
        .collect();
    digests.sort();
    digests
}

/// toto attaches to `app`; the peer lists and fetches: one bundle, toto's
/// bytes.
fn peer_reads(test: &str, what: &str, peer: fn(&str) -> Option<Peer>) -> Option<()> {
    let peer = peer(test)?;
    let a = attested(test, &[])?;
    let out_dir = a.registry.path().join("peer-out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let listed = peer.read(&a.registry, "app", &a.digest, &out_dir);
    let (_, bytes) = one_bundle_listed(&ok_json(&listed, what));
    assert_eq!(
        bytes, a.bundle,
        "{what} fetched other bytes than toto attached"
    );
    Some(())
}

/// toto signs for `app`; the peer alone attaches it to the same image in
/// `mirror`;
/// toto lists exactly that referrer there and verifies it, and refuses it
/// under another key. The registry and the peer's manifest digest.
fn peer_attaches(
    test: &str,
    what: &str,
    peer: fn(&str) -> Option<Peer>,
) -> Option<(Attested, String)> {
    let peer = peer(test)?;
    let a = attested(test, &["mirror"])?;
    let bundle = write(
        &a.registry.path().join("bundle.json"),
        std::str::from_utf8(&a.bundle).unwrap(),
    );
    let descriptor = ok_json(
        &peer.attach(&a.registry, "mirror", &a.digest, &bundle),
        what,
    );
    let theirs = descriptor["digest"].as_str().unwrap().to_owned();
    assert_eq!(
        toto_reads(&a.registry, "mirror", &a.digest),
        vec![a.bundle.clone()]
    );

    let verified = toto_verifies(&a.registry, "mirror", "k.pem.pub");
    let report = ok_json(&verified, &format!("verify-attestation after {what}"));
    assert_eq!(report["listed_by"], "referrers tag schema");
    assert_eq!(verified_manifests(&report), vec![theirs.clone()]);

    a.registry.generate_key("other.pem");
    let refused = toto_verifies(&a.registry, "mirror", "other.pem.pub");
    expect_code(&refused, 1, &format!("{what}'s referrer under another key"));
    Some((a, theirs))
}

#[test]
fn sigstore_oci_finds_and_fetches_the_bundle_toto_attached_byte_for_byte() {
    peer_reads(
        "oci peers: toto → @sigstore/oci",
        "oci-referrers.js",
        Peer::sigstore_oci,
    );
}

#[test]
fn a_bundle_attached_by_sigstore_oci_is_found_and_verified_by_toto() {
    let test = "oci peers: @sigstore/oci → toto";
    let Some((a, theirs)) = peer_attaches(test, "oci-attach.js", Peer::sigstore_oci) else {
        return;
    };
    // toto appends to the index @sigstore/oci wrote (its entry kept).
    let out = attest_with_key(
        &a.registry,
        &a.registry.path().join("k.pem"),
        &a.registry.image("mirror:v1"),
    );
    expect_code(&out, 0, "toto attest --push after @sigstore/oci");
    let both = ok_json(
        &toto_verifies(&a.registry, "mirror", "k.pem.pub"),
        "verify both",
    );
    let manifests = verified_manifests(&both);
    assert_eq!(manifests.len(), 2, "{both}");
    assert!(manifests.contains(&theirs), "{both}");
}

#[test]
fn oras_discovers_and_pulls_the_bundle_toto_attached() {
    peer_reads(
        "oci peers: toto → oras",
        "oras_peer.py discover",
        Peer::oras,
    );
}

#[test]
fn a_bundle_pushed_by_oras_is_found_and_verified_by_toto() {
    peer_attaches("oci peers: oras → toto", "oras_peer.py attach", Peer::oras);
}

#[test]
fn a_keyless_bundle_attached_by_sigstore_oci_as_gh_does_verifies_by_identity() {
    let test = "oci peers: keyless, @sigstore/oci → toto";
    let Some(peer) = Peer::sigstore_oci(test) else {
        return;
    };
    let Some(registry) = TestRegistry::start(test, false) else {
        return;
    };
    let (_dir, tb) = tempdir_testbed();
    let identity = "alice@example.com";
    let digest = registry.push_image("app:v1", b"layer");
    assert_eq!(registry.push_image("mirror:v1", b"layer"), digest);
    let attested = attest_pushed(
        &registry,
        keyless(&tb, &token(&tb, identity)),
        (PREDICATE_TYPE, &predicate(registry.path())),
        &registry.image("app:v1"),
    );
    expect_code(&attested, 0, "attest --keyless --push");
    let [bundle] = toto_reads(&registry, "app", &digest).try_into().unwrap();
    let file = write(
        &registry.path().join("bundle.json"),
        std::str::from_utf8(&bundle).unwrap(),
    );
    let attached = peer.attach(&registry, "mirror", &digest, &file);
    let theirs = ok_json(&attached, "oci-attach.js")["digest"]
        .as_str()
        .unwrap()
        .to_owned();

    let verify = |who: &str| {
        toto()
            .args(["verify-attestation", &registry.image("mirror:v1")])
            .args(["--predicate-type", PREDICATE_TYPE, "--format", "json"])
            .testbed_signer(&tb, who)
            .args(registry.flags())
            .output()
            .unwrap()
    };
    let report = ok_json(
        &verify(identity),
        "verify-attestation --certificate-identity",
    );
    assert_eq!(verified_manifests(&report), vec![theirs]);
    assert_eq!(report["attestations"][0]["signer"]["identity"], identity);
    expect_code(&verify("mallory@example.com"), 1, "another identity");
}
