//! Images in a real registry: Debian's `docker-registry` (the CNCF
//! distribution registry 2.8, which has no referrers API, so the referrers
//! tag schema is what it exercises) started on 127.0.0.1 twice: with basic
//! auth (htpasswd, bcrypt) over TLS under a throw-away CA, and over plain
//! HTTP. Images are pushed by the distribution API; toto attests, attaches,
//! discovers and verifies.

use std::path::{Path, PathBuf};

use crate::common::*;
use crate::registry::*;

#[test]
fn a_key_attestation_attached_over_tls_with_auth_verifies_and_attaching_again_adds_nothing() {
    let Some(registry) = TestRegistry::start("oci key tls", true) else {
        return;
    };
    let digest = registry.push_image("team/app:v1", b"layer one");
    let key = registry.generate_key("release.pem");
    let public = registry.path().join("release.pem.pub");
    let image = registry.image("team/app:v1");

    let attested = attest_with_key(&registry, &key, &image);
    expect_said(
        &attested,
        0,
        &digest,
        "attest --push names the resolved digest",
    );
    assert_eq!(registry.tag_schema_entries("team/app", &digest), 1);

    let verified = verify_with_key(&registry, &public, &image);
    expect_code(&verified, 0, "verify-attestation oci:// --key");
    let report = json_of(&verified);
    assert_eq!(report["verified"], true);
    assert_eq!(report["digest"], digest);
    assert_eq!(report["listed_by"], "referrers tag schema");
    assert_eq!(report["attestations"][0]["predicate_type"], PREDICATE_TYPE);

    // Ed25519 signs deterministically: the same bundle, the same manifest.
    let again = attest_with_key(&registry, &key, &image);
    expect_said(
        &again,
        0,
        "attached already",
        "attaching the same bundle twice",
    );
    assert_eq!(registry.tag_schema_entries("team/app", &digest), 1);

    // By digest too.
    let by_digest = verify_with_key(
        &registry,
        &public,
        &format!("{}@{digest}", registry.image("team/app")),
    );
    expect_code(&by_digest, 0, "verify-attestation by digest");

    // Another key: listed, not verified.
    let other = registry.path().join("other.pem");
    generate_key(&other, &[]);
    let refused = verify_with_key(&registry, &registry.path().join("other.pem.pub"), &image);
    expect_code(&refused, 1, "an attestation by another key");
    let report = json_of(&refused);
    assert_eq!(report["verified"], false);
    assert!(
        report["attestations"][0]["error"]
            .as_str()
            .unwrap()
            .contains("--key"),
        "{report}"
    );
}

/// `verify-attestation` of a freshly pushed `reference` with a new key and
/// `flags` (not the registry's own).
fn verify_key_with(
    registry: &TestRegistry,
    reference: &str,
    flags: &[&str],
) -> std::process::Output {
    registry.push_image(reference, b"layer");
    registry.generate_key("k.pem");
    let public = registry.path().join("k.pem.pub");
    verify_key(&registry.image(reference), &public, flags)
}

#[test]
fn a_wrong_registry_password_is_an_input_error_naming_the_registry() {
    let Some(registry) = TestRegistry::start("oci wrong password", true) else {
        return;
    };
    let ca = registry.ca.as_ref().unwrap().display().to_string();
    let flags = [
        "--registry-ca",
        &ca,
        "--registry-username",
        USER,
        "--registry-password",
        "wrong",
    ];
    let out = verify_key_with(&registry, "app:v1", &flags);
    expect_error(&out, 2, &registry.host, "a wrong password");
    expect_error(&out, 2, "refused access", "a wrong password");
}

#[test]
fn a_plain_http_registry_is_refused_without_allow_http_registry() {
    let Some(registry) = TestRegistry::start("oci http refused", false) else {
        return;
    };
    let out = verify_key_with(&registry, "app:v1", &[]);
    expect_error(
        &out,
        2,
        "--allow-http-registry",
        "plain HTTP without the flag",
    );
}

#[test]
fn keyless_over_http_verifies_and_the_failures_fail() {
    let Some(registry) = TestRegistry::start("oci keyless http", false) else {
        return;
    };
    let (_dir, tb) = tempdir_testbed();
    let identity = "alice@example.com";
    let digest = registry.push_image("app:v1", b"layer one");
    let image = registry.image("app:v1");
    let attested = toto()
        .arg("attest")
        .args(keyless(&tb, &token(&tb, identity)))
        .args(["--predicate-type", PREDICATE_TYPE, "--predicate"])
        .arg(predicate(registry.path()))
        .args(["--subject", &image, "--push", "--format", "json"])
        .args(registry.flags())
        .output()
        .unwrap();
    expect_code(&attested, 0, "attest --keyless --push");
    let report = json_of(&attested);
    assert_eq!(
        report["subject"]["digest"]["sha256"],
        digest.trim_start_matches("sha256:")
    );
    assert_eq!(report["subject"]["name"], format!("{}/app", registry.host));

    let verify = |image: &str| {
        toto()
            .args(["verify-attestation", image, "--format", "json"])
            .args(["--predicate-type", PREDICATE_TYPE])
            .testbed_signer(&tb, identity)
            .args(registry.flags())
            .output()
            .unwrap()
    };
    let verified = verify(&image);
    expect_code(&verified, 0, "verify-attestation oci:// keyless");
    assert_eq!(
        json_of(&verified)["attestations"][0]["signer"]["identity"],
        identity
    );

    // Another identity is refused.
    let other = toto()
        .args(["verify-attestation", &image])
        .args(["--predicate-type", PREDICATE_TYPE])
        .testbed_signer(&tb, "mallory@example.com")
        .args(registry.flags())
        .output()
        .unwrap();
    expect_code(&other, 1, "another identity");

    // An image without attestations fails.
    registry.push_image("bare:v1", b"bare layer");
    let bare = verify(&registry.image("bare:v1"));
    expect_code(&bare, 1, "an image without attestations");
    assert_eq!(json_of(&bare)["attestations"], serde_json::json!([]));

    // An attestation for another digest, attached to this image, fails.
    let second = registry.push_image("second:v1", b"second layer");
    let client = registry.client();
    let first = oci::Reference::parse(&format!("{}@{digest}", registry.image("app"))).unwrap();
    let first_digest: oci::Digest = digest.parse().unwrap();
    let (_, referrers) = oci::referrers::list(&client, &first, first_digest).unwrap();
    let found = oci::referrers::bundles(&client, &first, first_digest, &referrers);
    let bundle = found[0].bundle.as_ref().unwrap();
    let target = oci::Reference::parse(&registry.image("second:v1")).unwrap();
    let resolved = client.resolve(&target).unwrap();
    oci::referrers::attach(
        &client,
        &target,
        &resolved.descriptor,
        bundle,
        PREDICATE_TYPE,
    )
    .unwrap();
    let misattached = verify(&registry.image("second:v1"));
    expect_code(&misattached, 1, "an attestation of another digest");
    let report = json_of(&misattached);
    assert_eq!(report["digest"], second);
    let why = report["attestations"][0]["error"].as_str().unwrap();
    assert!(
        why.contains(&format!("{second} is not a subject of the attestation")),
        "{why}"
    );

    // A replaced tag: app:v1 re-pointed at an image nobody attested.
    registry.push_image("app:v1", b"a replaced layer");
    let replaced = verify(&image);
    expect_code(&replaced, 1, "verify by a tag that was re-pointed");
    assert_ne!(json_of(&replaced)["digest"], digest);
}

#[test]
fn bad_image_references_are_input_errors_naming_them() {
    let out = verify_key(
        "oci://ghcr.io/Org/App",
        Path::new("k.pub"),
        std::iter::empty::<&str>(),
    );
    expect_error(&out, 2, "oci://ghcr.io/Org/App", "a bad reference");
}

/// `TOTO_REGISTRY_USERNAME` and `TOTO_REGISTRY_PASSWORD` stand for the
/// flags; a wrong password from the environment is refused as the flag's is.
#[test]
fn credentials_come_from_the_environment() {
    let Some(registry) = TestRegistry::start("oci env credentials", true) else {
        return;
    };
    registry.push_image("app:v1", b"layer");
    let key = registry.generate_key("k.pem");
    let public = registry.path().join("k.pem.pub");
    let image = registry.image("app:v1");
    expect_code(
        &attest_with_key(&registry, &key, &image),
        0,
        "attest --push",
    );
    let ca = registry.ca.as_ref().unwrap().display().to_string();
    let verify = |password: &str| {
        toto()
            .args(["verify-attestation", &image, "--key"])
            .arg(&public)
            .args(["--predicate-type", PREDICATE_TYPE, "--registry-ca", &ca])
            .env("TOTO_REGISTRY_USERNAME", USER)
            .env("TOTO_REGISTRY_PASSWORD", password)
            .output()
            .unwrap()
    };
    expect_code(&verify(PASSWORD), 0, "credentials from the environment");
    let wrong = verify("wrong");
    expect_error(
        &wrong,
        2,
        "refused access",
        "a wrong password from the environment",
    );
}

#[test]
fn tls_is_verified_against_the_system_roots_without_registry_ca() {
    let Some(registry) = TestRegistry::start("oci tls roots", true) else {
        return;
    };
    let flags = ["--registry-username", USER, "--registry-password", PASSWORD];
    let out = verify_key_with(&registry, "app:v1", &flags);
    expect_error(
        &out,
        2,
        &format!("cannot reach registry {}", registry.host),
        "a CA the system does not trust",
    );
}

#[test]
fn credentials_come_from_docker_config_auths() {
    use base64::Engine as _;
    let Some(registry) = TestRegistry::start("oci docker config", true) else {
        return;
    };
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let docker = registry.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    write(
        &docker.join("config.json"),
        &serde_json::json!({"auths": {registry.host.clone(): {"auth": auth}}}).to_string(),
    );
    registry.push_image("app:v1", b"layer");
    registry.generate_key("k.pem");
    let ca = registry.ca.as_ref().unwrap();
    let verify_with_config = |dir: &Path| {
        toto()
            .env("DOCKER_CONFIG", dir)
            .args(["verify-attestation", &registry.image("app:v1"), "--key"])
            .arg(registry.path().join("k.pem.pub"))
            .arg("--registry-ca")
            .arg(ca)
            .output()
            .unwrap()
    };
    // Reached and read: the image has no attestation (exit 1), not refused (exit 2).
    let out = verify_with_config(&docker);
    expect_error(
        &out,
        1,
        "no Sigstore bundle is attached",
        "credentials from config.json",
    );
    let anonymous = verify_with_config(&registry.path().join("nowhere"));
    expect_error(&anonymous, 2, "refused access", "no credentials at all");
}

#[test]
fn twenty_attestations_are_listed_once_and_fetched_together() {
    let Some(registry) = TestRegistry::start("oci twenty", false) else {
        return;
    };
    let digest = registry.push_image("app:v1", b"layer");
    let key = registry.generate_key("k.pem");
    let image = registry.image("app:v1");
    for i in 0..20 {
        let predicate = write(&registry.path().join("p.json"), &format!(r#"{{"n":{i}}}"#));
        let out = attest_predicate_with_key(&registry, &key, &image, &predicate);
        expect_code(&out, 0, "attest --push");
    }
    assert_eq!(registry.tag_schema_entries("app", &digest), 20);
    let out = verify_with_key(&registry, &registry.path().join("k.pem.pub"), &image);
    expect_code(&out, 0, "verify 20 attestations");
    let report = json_of(&out);
    let attestations = report["attestations"].as_array().unwrap();
    assert_eq!(attestations.len(), 20);
    assert!(
        attestations.iter().all(|a| a["verified"] == true),
        "{report}"
    );
    // Round trips: the token check, the tag, the referrers API (404) and
    // the tag-schema index, then one request per manifest and per bundle.
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(
        stderr.contains("read 20 referrer(s) (referrers tag schema) and 20 bundle(s)")
            && stderr.contains(" in 44 HTTP request(s)"),
        "{stderr}"
    );
}

#[test]
fn credentials_come_from_a_docker_credential_helper() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(registry) = TestRegistry::start("oci credential helper", true) else {
        return;
    };
    let bin = registry.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // A helper in docker-credential-helpers' protocol: the server on stdin.
    let helper = write(
        &bin.join("docker-credential-toto-test"),
        &format!(
            "#!/bin/sh\nread server\n[ \"$1\" = get ] && [ \"$server\" = {host} ] || exit 1\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n",
            host = registry.host
        ),
    );
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let docker = registry.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    write(&docker.join("config.json"), r#"{"credsStore":"toto-test"}"#);
    registry.push_image("app:v1", b"layer");
    registry.generate_key("k.pem");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = toto()
        .env("DOCKER_CONFIG", &docker)
        .env("PATH", path)
        .args(["verify-attestation", &registry.image("app:v1"), "--key"])
        .arg(registry.path().join("k.pem.pub"))
        .arg("--registry-ca")
        .arg(registry.ca.as_ref().unwrap())
        .output()
        .unwrap();
    // Reached and read with the helper's credentials: no attestation (1), not refused (2).
    expect_error(
        &out,
        1,
        "no Sigstore bundle is attached",
        "credentials from a helper",
    );
}

/// cosign's layouts built as the oci crate's fixtures build them (through
/// this test's own testbed).
#[path = "../../crates/oci/tests/common/mod.rs"]
mod cosign_layout;

/// A plain-HTTP registry for `test`, a cosign signer (keyless through its
/// testbed) and a random key, its public PEM written as `cosign.pub`.
fn start_with_cosign(
    test: &str,
) -> Option<(
    TestRegistry,
    cosign_layout::Cosign,
    cosign_layout::Key,
    PathBuf,
)> {
    let registry = TestRegistry::start(test, false)?;
    let cosign = cosign_layout::Cosign::start();
    let key = cosign_layout::Key::random();
    let public = write(&registry.path().join("cosign.pub"), &key.pem());
    Some((registry, cosign, key, public))
}

/// Pushes `layers` as cosign lays out a `.att` / `.sig` manifest at `tag`
/// of `repo` (an OCI manifest, one layer per signature or attestation, each
/// with its annotations); the manifest's digest.
fn push_cosign_tag(
    registry: &TestRegistry,
    repo: &str,
    tag: &str,
    layers: &[&cosign_layout::Layer],
) -> String {
    let image = oci::Reference::parse(&registry.image(&format!("{repo}:{tag}"))).unwrap();
    let client = registry.client();
    let config =
        br#"{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#;
    client.push_blob(&image, config).unwrap();
    for layer in layers {
        client.push_blob(&image, &layer.blob).unwrap();
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::model::MANIFEST_MEDIA_TYPE,
        "config": oci::model::Descriptor::of("application/vnd.oci.image.config.v1+json", config),
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": l.descriptor.media_type,
            "size": l.descriptor.size,
            "digest": l.descriptor.digest.to_string(),
            "annotations": l.descriptor.annotations,
        })).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&manifest).unwrap();
    client
        .push_manifest(&image, &bytes, oci::model::MANIFEST_MEDIA_TYPE)
        .unwrap();
    oci::Digest::of(&bytes).to_string()
}

/// Field `field` (text) of the first entry of `list` in the JSON report `out`.
fn first_entry(out: &std::process::Output, list: &str, field: &str) -> String {
    json_of(out)[list][0][field].as_str().unwrap().to_owned()
}

/// Pushes the image `second:v1` and puts `layer` (made for another image)
/// at its cosign tag (`tag_of` its digest); the image's digest.
fn second_image_tagged_with(
    registry: &TestRegistry,
    tag_of: fn(&oci::cosign::Sha256Digest) -> String,
    layer: &cosign_layout::Layer,
) -> String {
    let second = registry.push_image("second:v1", b"second layer");
    let second_digest: oci::cosign::Sha256Digest = second.parse().unwrap();
    push_cosign_tag(registry, "second", &tag_of(&second_digest), &[layer]);
    second
}

/// The entries of a report whose source is `source`.
fn from_source<'a>(report: &'a serde_json::Value, source: &str) -> Vec<&'a serde_json::Value> {
    report["attestations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["source"] == source)
        .collect()
}

#[test]
fn cosign_att_tags_are_discovered_and_verified_keyless_and_with_a_key() {
    let Some((registry, cosign, key, public)) = start_with_cosign("oci cosign att") else {
        return;
    };
    let digest = registry.push_image("app:v1", b"layer one");
    let image_digest: oci::cosign::Sha256Digest = digest.parse().unwrap();
    let keyless_layer = cosign.keyless_attestation("alice@example.com", &image_digest);
    let key_layer = cosign.key_attestation(&key, &image_digest);
    let tag = oci::cosign::attestation_tag(&image_digest);
    let att = push_cosign_tag(&registry, "app", &tag, &[&keyless_layer, &key_layer]);
    let image = registry.image("app:v1");
    let verify = |image: &str, signer: &[&str]| {
        toto()
            .args(["verify-attestation", image, "--format", "json"])
            .args(["--predicate-type", cosign_layout::PREDICATE_TYPE])
            .args(signer)
            .trusted_root(cosign.tb.trusted_root_path())
            .args(registry.flags())
            .output()
            .unwrap()
    };
    let identity = [
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        cosign.tb.issuer(),
    ];

    // Keyless: alice's layer passes; the key-signed layer is listed and
    // refused for what it is.
    let verified = verify(&image, &identity);
    expect_code(&verified, 0, "a keyless cosign .att layer");
    let report = json_of(&verified);
    let att_entries = from_source(&report, "cosign .att");
    assert_eq!(att_entries.len(), 2, "{report}");
    assert_eq!(att_entries[0]["manifest"], att);
    assert_eq!(
        att_entries[0]["layer"],
        keyless_layer.descriptor.digest.to_string()
    );
    assert_eq!(att_entries[0]["verified"], true, "{report}");
    assert_eq!(att_entries[0]["signer"]["identity"], "alice@example.com");
    assert_eq!(
        att_entries[0]["predicate_type"],
        cosign_layout::PREDICATE_TYPE
    );
    assert_eq!(att_entries[1]["verified"], false);
    let why = att_entries[1]["error"].as_str().unwrap();
    assert!(why.contains("signed with a key"), "{why}");

    // With the key: the key-signed layer passes (its log entry too).
    let public = public.display().to_string();
    let by_key = verify(&image, &["--key", &public]);
    expect_code(&by_key, 0, "a key-signed cosign .att layer");
    let report = json_of(&by_key);
    let att_entries = from_source(&report, "cosign .att");
    assert_eq!(att_entries[1]["verified"], true, "{report}");
    assert_eq!(att_entries[1]["signer"]["key"], "--key");

    // Another identity: every layer listed, none passes.
    let mallory = verify(
        &image,
        &[
            "--certificate-identity",
            "mallory@example.com",
            "--certificate-oidc-issuer",
            cosign.tb.issuer(),
        ],
    );
    expect_code(&mallory, 1, "another identity");

    // Another predicate type: the policy flags apply to .att layers too.
    let other_type = toto()
        .args(["verify-attestation", &image, "--format", "json"])
        .args(["--predicate-type", "https://example.com/other/v1"])
        .args(identity)
        .trusted_root(cosign.tb.trusted_root_path())
        .args(registry.flags())
        .output()
        .unwrap();
    expect_code(&other_type, 1, "another predicate type");

    // A .att for another image, put at this image's tag, fails naming the
    // digest it should have named.
    let second = second_image_tagged_with(&registry, oci::cosign::attestation_tag, &keyless_layer);
    let misplaced = verify(&registry.image("second:v1"), &identity);
    expect_code(&misplaced, 1, "a .att layer about another image");
    let report = json_of(&misplaced);
    let why = from_source(&report, "cosign .att")[0]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(why.contains(&second), "{why}");
}

const BUILDKIT_PREDICATE: &str = "https://slsa.dev/provenance/v0.2";

/// Pushes a two-platform index at `repo:tag` as BuildKit writes one: the
/// linux/amd64 and linux/arm64/v8 images, and an attestation manifest
/// (platform unknown/unknown) whose one in-toto layer is an unsigned
/// Statement about the amd64 image. The digests of the index, the amd64
/// and the arm64 image.
fn push_buildkit_index(registry: &TestRegistry, repo: &str, tag: &str) -> [String; 3] {
    use oci::buildkit;
    let client = registry.client();
    let descriptor_of = |reference: &str| {
        let resolved = client
            .resolve(&oci::Reference::parse(&registry.image(reference)).unwrap())
            .unwrap();
        resolved.descriptor
    };
    let amd64 = registry.push_image(&format!("{repo}:amd64"), b"amd64 layer");
    let arm64 = registry.push_image(&format!("{repo}:arm64"), b"arm64 layer");
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": "pkg:docker/app", "digest": {"sha256": amd64.trim_start_matches("sha256:")}}],
        "predicateType": BUILDKIT_PREDICATE,
        "predicate": {"builder": {"id": "https://mobyproject.org/buildkit@v1"}},
    })
    .to_string();
    let at_tag = oci::Reference::parse(&registry.image(&format!("{repo}:attestation"))).unwrap();
    let config = b"{}";
    client.push_blob(&at_tag, config).unwrap();
    client.push_blob(&at_tag, statement.as_bytes()).unwrap();
    let mut layer = oci::model::Descriptor::of(buildkit::IN_TOTO_LAYER, statement.as_bytes());
    layer.annotations.insert(
        buildkit::PREDICATE_TYPE_ANNOTATION.into(),
        BUILDKIT_PREDICATE.into(),
    );
    let attestation = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::model::MANIFEST_MEDIA_TYPE,
        "config": oci::model::Descriptor::of("application/vnd.oci.image.config.v1+json", config),
        "layers": [layer],
    }))
    .unwrap();
    client
        .push_manifest(&at_tag, &attestation, oci::model::MANIFEST_MEDIA_TYPE)
        .unwrap();
    let with = |mut d: oci::model::Descriptor, platform: serde_json::Value| {
        d.annotations.clear();
        let mut v = serde_json::to_value(d).unwrap();
        v["platform"] = platform;
        v
    };
    let mut attestation_entry = with(
        oci::model::Descriptor::of(oci::model::MANIFEST_MEDIA_TYPE, &attestation),
        serde_json::json!({"os": "unknown", "architecture": "unknown"}),
    );
    attestation_entry["annotations"] = serde_json::json!({
        buildkit::REFERENCE_TYPE: buildkit::ATTESTATION_MANIFEST,
        buildkit::REFERENCE_DIGEST: amd64,
    });
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::model::INDEX_MEDIA_TYPE,
        "manifests": [
            with(descriptor_of(&format!("{repo}:amd64")), serde_json::json!({"os": "linux", "architecture": "amd64"})),
            with(descriptor_of(&format!("{repo}:arm64")), serde_json::json!({"os": "linux", "architecture": "arm64", "variant": "v8"})),
            attestation_entry,
        ],
    }))
    .unwrap();
    let at = oci::Reference::parse(&registry.image(&format!("{repo}:{tag}"))).unwrap();
    client
        .push_manifest(&at, &index, oci::model::INDEX_MEDIA_TYPE)
        .unwrap();
    [oci::Digest::of(&index).to_string(), amd64, arm64]
}

#[test]
fn buildkit_attestations_are_unsigned_evidence_never_verified() {
    let Some(registry) = TestRegistry::start("oci buildkit", false) else {
        return;
    };
    let [index, amd64, _] = push_buildkit_index(&registry, "multi", "v1");
    registry.generate_key("k.pem");
    let public = registry.path().join("k.pem.pub");
    let image = registry.image("multi:v1");
    let verify = |predicate_type: &str, extra: &[&str]| {
        toto()
            .args(["verify-attestation", &image, "--key"])
            .arg(&public)
            .args(["--predicate-type", predicate_type])
            .args(extra)
            .args(registry.flags())
            .output()
            .unwrap()
    };

    // Listed, not inspected, never verified: exit 1.
    let listed = verify(BUILDKIT_PREDICATE, &["--format", "json"]);
    expect_code(&listed, 1, "only BuildKit's unsigned attestations");
    let report = json_of(&listed);
    assert_eq!(report["verified"], false);
    assert_eq!(report["digest"], index);
    let unsigned = from_source(&report, "BuildKit attestation manifest");
    assert_eq!(unsigned.len(), 1, "{report}");
    assert_eq!(unsigned[0]["signed"], false);
    assert_eq!(unsigned[0]["verified"], false);
    assert_eq!(unsigned[0]["describes"], amd64);
    assert_eq!(unsigned[0]["platform"], "linux/amd64");
    assert_eq!(unsigned[0]["predicate_type"], BUILDKIT_PREDICATE);
    assert!(
        unsigned[0]["policy"]
            .as_str()
            .unwrap()
            .starts_with("not inspected"),
        "{report}"
    );
    let text = verify(BUILDKIT_PREDICATE, &[]);
    expect_error(
        &text,
        1,
        "1 unsigned BuildKit attestation(s) are evidence only, never verified",
        "the text names the unsigned evidence",
    );

    // --allow-unsigned: the policy inspects it; still exit 1.
    let inspected = verify(
        BUILDKIT_PREDICATE,
        &["--allow-unsigned", "--format", "json"],
    );
    expect_code(&inspected, 1, "inspected unsigned evidence");
    let report = json_of(&inspected);
    assert_eq!(report["verified"], false);
    assert_eq!(
        from_source(&report, "BuildKit attestation manifest")[0]["policy"],
        "holds"
    );
    let other = verify(
        "https://example.com/other/v1",
        &["--allow-unsigned", "--format", "json"],
    );
    expect_code(&other, 1, "unsigned evidence of another predicate type");
    let policy = first_entry(&other, "attestations", "policy");
    assert!(
        policy.starts_with("fails:") && policy.contains("https://example.com/other/v1"),
        "{policy}"
    );

    // A policy that reads the signer has nothing to read in unsigned evidence.
    let (_tb_dir, tb) = tempdir_testbed();
    let policy = write(
        &registry.path().join("gh.toml"),
        "[github]\nrepo = \"org/app\"\n",
    );
    let signer_policy = toto()
        .args([
            "verify-attestation",
            &image,
            "--allow-unsigned",
            "--format",
            "json",
        ])
        .args(["--predicate-type", BUILDKIT_PREDICATE, "--policy"])
        .arg(&policy)
        .testbed_signer(&tb, "alice@example.com")
        .args(registry.flags())
        .output()
        .unwrap();
    expect_code(&signer_policy, 1, "a signer policy on unsigned evidence");
    let said = first_entry(&signer_policy, "attestations", "policy");
    assert!(
        said.contains("checks a signer; this Statement has none"),
        "{said}"
    );

    // Files have no unsigned evidence to allow.
    let file = verify_key("app.tar.gz", &public, ["--allow-unsigned"]);
    expect_error(&file, 2, "apply to images", "--allow-unsigned on a file");
}

#[test]
fn platform_picks_the_index_manifest_attestations_must_name() {
    let Some(registry) = TestRegistry::start("oci platform", false) else {
        return;
    };
    let [index, amd64, arm64] = push_buildkit_index(&registry, "multi", "v1");
    let key = registry.generate_key("k.pem");
    let public = registry.path().join("k.pem.pub");
    let image = registry.image("multi:v1");
    // The amd64 image is attested, by its digest.
    let amd64_image = format!("{}@{amd64}", registry.image("multi"));
    expect_code(
        &attest_with_key(&registry, &key, &amd64_image),
        0,
        "attest the amd64 image",
    );
    let verify = |platform: Option<&str>| {
        let mut command = toto();
        command
            .args(["verify-attestation", &image, "--key"])
            .arg(&public)
            .args(["--predicate-type", PREDICATE_TYPE, "--format", "json"])
            .args(registry.flags());
        if let Some(platform) = platform {
            command.args(["--platform", platform]);
        }
        command.output().unwrap()
    };

    // Without --platform the index's own digest is the subject: not attested.
    let whole = verify(None);
    expect_code(&whole, 1, "the index digest, not attested");
    assert_eq!(json_of(&whole)["digest"], index);

    // With it, that platform's manifest; BuildKit's evidence about it only.
    let picks = |platform: &str, code: i32, digest: &str, unsigned: usize| {
        let out = verify(Some(platform));
        expect_code(&out, code, platform);
        let report = json_of(&out);
        assert_eq!(report["digest"], digest);
        let listed = from_source(&report, "BuildKit attestation manifest").len();
        assert_eq!(listed, unsigned, "{report}");
    };
    picks("linux/amd64", 0, &amd64, 1);
    picks("linux/arm64/v8", 1, &arm64, 0);

    let none = verify(Some("windows/amd64"));
    expect_error(
        &none,
        2,
        "no manifest for platform windows/amd64",
        "a platform the index lacks",
    );
    expect_error(
        &none,
        2,
        "linux/amd64, linux/arm64/v8",
        "the platforms it has",
    );

    let single = toto()
        .args(["verify-attestation", &amd64_image, "--key"])
        .arg(&public)
        .args(["--platform", "linux/amd64"])
        .args(registry.flags())
        .output()
        .unwrap();
    expect_error(&single, 2, "not an index", "--platform on a single image");

    let bad = verify(Some("linux"));
    expect_error(&bad, 2, "is not os/arch", "a malformed --platform");
}

#[test]
fn verify_bundle_verifies_image_signatures_from_sig_tags_and_referrers() {
    let Some((registry, cosign, key, public)) = start_with_cosign("oci verify-bundle") else {
        return;
    };
    let public = public.display().to_string();
    let alice = [
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        cosign.tb.issuer(),
    ];
    let verify = |image: &str, signer: &[&str]| {
        toto()
            .args(["verify-bundle", image, "--format", "json"])
            .args(signer)
            .trusted_root(cosign.tb.trusted_root_path())
            .args(registry.flags())
            .output()
            .unwrap()
    };

    // cosign's .sig tag: a keyless and a key-signed layer.
    let digest = registry.push_image("app:v1", b"layer one");
    let app: oci::cosign::Sha256Digest = digest.parse().unwrap();
    push_cosign_tag(
        &registry,
        "app",
        &oci::cosign::signature_tag(&app),
        &[
            &cosign.keyless_signature("alice@example.com", &app),
            &cosign.key_signature(&key, &app),
        ],
    );
    let image = registry.image("app:v1");
    let keyless_sig = verify(&image, &alice);
    expect_code(&keyless_sig, 0, "a keyless .sig layer");
    let report = json_of(&keyless_sig);
    assert_eq!(report["digest"], digest);
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures[0]["source"], "cosign .sig");
    assert_eq!(signatures[0]["verified"], true, "{report}");
    assert_eq!(signatures[0]["identity"], "alice@example.com");
    assert_eq!(signatures[1]["verified"], false);
    let by_key = verify(&image, &["--key", &public]);
    expect_code(&by_key, 0, "a key-signed .sig layer");
    assert_eq!(json_of(&by_key)["signatures"][1]["verified"], true);

    // A signature of another digest, at this image's tag: both named.
    let second = second_image_tagged_with(
        &registry,
        oci::cosign::signature_tag,
        &cosign.keyless_signature("alice@example.com", &app),
    );
    let other = verify(&registry.image("second:v1"), &alice);
    expect_code(&other, 1, "a signature of another image");
    let why = first_entry(&other, "signatures", "error");
    assert!(why.contains(&second) && why.contains(&digest), "{why}");

    // Referrers: cosign --new-bundle-format's signature Statement, as toto
    // attest writes it.
    let token = token(&cosign.tb, "alice@example.com");
    registry.push_image("third:v1", b"third layer");
    let empty = write(&registry.path().join("empty.json"), "{}");
    let attest = |image: &str, predicate_type: &str, predicate: &Path| {
        let signer = keyless(&cosign.tb, &token);
        attest_pushed(&registry, signer, (predicate_type, predicate), image)
    };
    let third = registry.image("third:v1");
    expect_code(
        &attest(&third, "https://sigstore.dev/cosign/sign/v1", &empty),
        0,
        "attest cosign/sign/v1",
    );
    let signed = verify(&third, &alice);
    expect_code(&signed, 0, "a cosign/sign/v1 referrer");
    assert_eq!(
        json_of(&signed)["signatures"][0]["source"],
        "referrers tag schema"
    );

    // A provenance attestation is not a signature; a message signature over
    // the manifest is.
    registry.push_image("fourth:v1", b"fourth layer");
    let fourth = registry.image("fourth:v1");
    expect_code(
        &attest(&fourth, PREDICATE_TYPE, &predicate(registry.path())),
        0,
        "attest a review",
    );
    let only_review = verify(&fourth, &alice);
    expect_code(&only_review, 1, "only an attestation");
    let why = first_entry(&only_review, "signatures", "error");
    assert!(why.contains("not an image signature"), "{why}");
    // `toto sign-blob` of the manifest `signed` is, attached to `to`.
    let attach_message_signature = |signed: &str, to: &str| {
        let client = registry.client();
        let manifest = client
            .resolve(&oci::Reference::parse(signed).unwrap())
            .unwrap();
        let file = write(
            &registry.path().join("manifest.json"),
            std::str::from_utf8(&manifest.bytes).unwrap(),
        );
        let bundle = registry.path().join("manifest.sigstore.json");
        let out = toto()
            .arg("sign-blob")
            .args(keyless(&cosign.tb, &token))
            .arg(&file)
            .arg("--bundle")
            .arg(&bundle)
            .output()
            .unwrap();
        expect_code(&out, 0, "sign-blob a manifest");
        let target = oci::Reference::parse(to).unwrap();
        let descriptor = client.resolve(&target).unwrap().descriptor;
        let bundle = std::fs::read(&bundle).unwrap();
        oci::referrers::attach(&client, &target, &descriptor, &bundle, "").unwrap();
    };
    attach_message_signature(&fourth, &fourth);
    let both = verify(&fourth, &alice);
    expect_code(&both, 0, "a message signature over the manifest");
    let report = json_of(&both);
    let verified: Vec<_> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["verified"] == true)
        .collect();
    assert_eq!(verified.len(), 1, "{report}");

    // A message signature over another manifest (app's), attached to a
    // fifth image: refused, naming the digest verified and the one signed.
    let fifth = registry.push_image("fifth:v1", b"fifth layer");
    attach_message_signature(&image, &registry.image("fifth:v1"));
    let misattached = verify(&registry.image("fifth:v1"), &alice);
    expect_code(&misattached, 1, "a message signature of another manifest");
    let why = first_entry(&misattached, "signatures", "error");
    assert!(why.contains(&fifth) && why.contains(&digest), "{why}");
}

#[test]
fn verify_bundle_takes_a_platform_for_indexes_only() {
    let Some(registry) = TestRegistry::start("oci verify-bundle platform", false) else {
        return;
    };
    push_buildkit_index(&registry, "multi", "v1");
    registry.generate_key("k.pem");
    let public = registry.path().join("k.pem.pub");
    let verify = |target: &str, platform: &str| {
        toto()
            .args(["verify-bundle", target, "--platform", platform, "--key"])
            .arg(&public)
            .args(registry.flags())
            .output()
            .unwrap()
    };
    // Resolved to the amd64 image, which nobody signed.
    let unsigned = verify(&registry.image("multi:v1"), "linux/amd64");
    expect_error(
        &unsigned,
        1,
        "no signature: no sha256-",
        "an unsigned platform image",
    );
    let absent = verify(&registry.image("multi:v1"), "linux/s390x");
    expect_error(
        &absent,
        2,
        "it has: linux/amd64, linux/arm64/v8",
        "a platform the index lacks",
    );
    let file = verify("app.tar.gz", "linux/amd64");
    expect_error(
        &file,
        2,
        "--platform applies to images",
        "--platform on a file",
    );
}
