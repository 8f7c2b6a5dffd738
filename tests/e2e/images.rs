//! Images in a real registry: Debian's `docker-registry` (the CNCF
//! distribution registry 2.8, which has no referrers API, so the referrers
//! tag schema is what it exercises) started on 127.0.0.1 twice: with basic
//! auth (htpasswd, bcrypt) over TLS under a throw-away CA, and over plain
//! HTTP. Images are pushed by the distribution API; toto attests, attaches,
//! discovers and verifies.

use std::path::Path;

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
    toto()
        .args(["verify-attestation", &registry.image(reference), "--key"])
        .arg(registry.path().join("k.pem.pub"))
        .args(flags)
        .output()
        .unwrap()
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
    let out = toto()
        .args([
            "verify-attestation",
            "oci://ghcr.io/Org/App",
            "--key",
            "k.pub",
        ])
        .output()
        .unwrap();
    expect_error(&out, 2, "oci://ghcr.io/Org/App", "a bad reference");
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
