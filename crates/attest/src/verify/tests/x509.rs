//! ITE-7 X.509 functionaries end to end: a layout with in-toto-golang's
//! test root and intermediate, links signed by certificates under them,
//! each breaking exactly one check.

use super::*;
use crate::x509::tests::{fixture, golang, NOW};
use crate::x509::CaCertificate;

fn ca(pem: &str) -> (String, Value) {
    let (id, ca) = CaCertificate::from_pem(pem).unwrap();
    (id, ca.to_value())
}

fn root_id() -> String {
    ca(&golang("root.cert.pem")).0
}

/// The constraint of in-toto-golang's `certs/layout.tmpl` (its integration
/// test), for `uri`.
fn template_constraint(uri: &str) -> Value {
    json!({
        "common_name": "*",
        "dns_names": [""],
        "emails": [""],
        "organizations": ["*"],
        "roots": ["*"],
        "uris": [uri],
    })
}

/// A layout whose step `build` is performed by certificates meeting
/// `constraints`, under in-toto-golang's root (and its intermediate, when
/// `intermediate`), with threshold `threshold`.
fn cert_layout(constraints: Value, intermediate: bool, threshold: usize) -> Value {
    let mut layout = layout(&[], &[], threshold);
    layout["steps"][0]["cert_constraints"] = constraints;
    let (id, root) = ca(&golang("root.cert.pem"));
    layout["rootcas"] = json!({ id: root });
    if intermediate {
        let (id, dict) = ca(&golang("example.com.intermediate.cert.pem"));
        layout["intermediatecas"] = json!({ id: dict });
    }
    layout
}

/// A Metablock link for `build` signed by `key_pem`, the signature under
/// `keyid` (the key's own, in-toto-golang's style, when `None`) carrying
/// `cert_pem`; and its file name.
fn cert_link(key_pem: &str, cert_pem: Option<&str>, keyid: Option<&str>) -> (String, Vec<u8>) {
    let key = PrivateKey::from_pem(key_pem.as_bytes(), None, None).unwrap();
    let payload = build_link().to_classic();
    let canonical = dsse::cjson::to_canonical(&payload).unwrap();
    let keyid = keyid.map_or_else(
        || key.public_key().legacy_keyid().to_string(),
        str::to_owned,
    );
    let mut signature =
        json!({"keyid": keyid, "sig": hex::encode(key.sign_bytes(&canonical).unwrap())});
    if let Some(pem) = cert_pem {
        signature["cert"] = pem.into();
    }
    let file = format!("build.{}.link", &keyid[..8]);
    let bytes = serde_json::to_vec(&json!({"signed": payload, "signatures": [signature]})).unwrap();
    (file, bytes)
}

/// A [`cert_link`] signed with `NAME.key.pem` and carrying `NAME.cert.pem`,
/// both read with `read` ([`fixture`], [`golang`]).
fn signed_by(read: fn(&str) -> String, name: &str) -> (String, Vec<u8>) {
    cert_link(
        &read(&format!("{name}.key.pem")),
        Some(&read(&format!("{name}.cert.pem"))),
        None,
    )
}

fn files(links: Vec<(String, Vec<u8>)>) -> Files {
    let mut files = Files::default();
    files.0.extend(links);
    files
}

fn at_now() -> Options {
    Options {
        now: NOW,
        ..options()
    }
}

/// The report verified.
#[track_caller]
fn verified(report: &Report) {
    let failure = report.failure.as_ref().map(ToString::to_string);
    assert!(report.verified, "{failure:?}");
}

/// The report did not verify, and its failure says each of `says`.
#[track_caller]
fn refused(report: &Report, says: &[&str]) {
    assert!(!report.verified, "verified");
    let shown = report.failure.as_ref().unwrap().to_string();
    for s in says {
        assert!(shown.contains(s), "{shown}\n does not say {s}");
    }
}

fn golang_write_code() -> (String, Vec<u8>) {
    signed_by(golang, "example.com.write-code")
}

/// in-toto-golang's integration test (`Makefile` `test-verify`): its
/// write-code certificate performs the step of `certs/layout.tmpl`.
#[test]
fn in_toto_golangs_write_code_certificate_performs_the_step() {
    let layout = cert_layout(
        json!([template_constraint("spiffe://example.com/write-code")]),
        true,
        1,
    );
    let report = verify_with(layout, &files(vec![golang_write_code()]), &at_now());
    verified(&report);
    assert_eq!(
        report
            .warnings
            .iter()
            .filter(|w| w.contains("X.509"))
            .count(),
        0
    );
}

#[test]
fn a_certificate_of_another_uri_does_not_count() {
    let layout = cert_layout(
        json!([template_constraint("spiffe://example.com/write-code")]),
        true,
        1,
    );
    let link = signed_by(fixture, "package");
    let report = verify_with(layout, &files(vec![link]), &at_now());
    refused(
        &report,
        &[
            r#"step "build""#,
            r#"[0] uri: expected ["spiffe://example.com/write-code"], found ["spiffe://example.com/package"]"#,
        ],
    );
}

/// One constraint of each attribute, met by `step1.cert.pem` but for the
/// one changed.
fn step1_constraint() -> Value {
    json!({
        "common_name": "step1.example.com",
        "dns_names": ["example.com"],
        "emails": ["example@example.com"],
        "organizations": ["example"],
        "roots": ["*"],
        "uris": ["spiffe://example.com/step1"],
    })
}

/// Verifies a layout of [`step1_constraint`] against `links`.
fn verify_step1(links: Vec<(String, Vec<u8>)>) -> Report {
    verify_with(
        cert_layout(json!([step1_constraint()]), true, 1),
        &files(links),
        &at_now(),
    )
}

fn step1_link() -> (String, Vec<u8>) {
    signed_by(fixture, "step1")
}

/// Verifies [`step1_link`] against a layout of `constraint` alone.
fn verify_step1_under(constraint: Value) -> Report {
    verify_with(
        cert_layout(json!([constraint]), true, 1),
        &files(vec![step1_link()]),
        &at_now(),
    )
}

#[test]
fn each_attribute_of_a_constraint_is_checked() {
    let report = verify_step1(vec![step1_link()]);
    verified(&report);
    for (field, value, says) in [
        (
            "common_name",
            json!("step2.example.com"),
            "common name: expected",
        ),
        ("dns_names", json!(["example.org"]), "dns name: expected"),
        (
            "emails",
            json!(["other@example.com"]),
            r#"email: expected ["other@example.com"], found ["example@example.com"]"#,
        ),
        ("organizations", json!(["other"]), "organization: expected"),
        ("roots", json!(["00ff"]), "root: expected [\"00ff\"]"),
        (
            "uris",
            json!(["spiffe://example.com/step2"]),
            "uri: expected",
        ),
    ] {
        let mut constraint = step1_constraint();
        constraint[field] = value;
        refused(&verify_step1_under(constraint), &[says]);
    }
}

/// `roots` is compared with the ids of all the layout's roots.
#[test]
fn roots_names_the_layouts_root_ids() {
    let mut constraint = step1_constraint();
    constraint["roots"] = json!([root_id()]);
    verified(&verify_step1_under(constraint));
}

/// One constraint met is enough; a wildcard allows any common name.
#[test]
fn one_constraint_met_is_enough() {
    let mut wildcard = step1_constraint();
    wildcard["common_name"] = json!("*");
    let layout = cert_layout(
        json!([
            template_constraint("spiffe://example.com/write-code"),
            wildcard
        ]),
        true,
        1,
    );
    let report = verify_with(layout, &files(vec![step1_link()]), &at_now());
    verified(&report);
}

#[test]
fn a_certificate_of_another_organization_does_not_count() {
    let constraint = json!({
        "common_name": "write-code.example.com",
        "organizations": ["example"],
        "roots": ["*"],
        "uris": ["spiffe://example.com/write-code"],
    });
    let layout = cert_layout(json!([constraint]), true, 1);
    verified(&verify_with(
        layout.clone(),
        &files(vec![golang_write_code()]),
        &at_now(),
    ));
    let link = signed_by(fixture, "other-org");
    let report = verify_with(layout, &files(vec![link]), &at_now());
    refused(
        &report,
        &[r#"organization: expected ["example"], found ["other"]"#],
    );
}

#[test]
fn a_certificate_of_an_untrusted_root_does_not_count() {
    let link = signed_by(fixture, "untrusted");
    let report = verify_step1(vec![link]);
    refused(&report, &["does not chain to a root of the layout"]);
}

#[test]
fn an_expired_certificate_does_not_count() {
    let link = signed_by(fixture, "expired");
    let report = verify_step1(vec![link]);
    refused(&report, &["does not chain", "expired at"]);
}

#[test]
fn without_the_intermediate_a_certificate_does_not_chain() {
    let report = verify_with(
        cert_layout(json!([step1_constraint()]), false, 1),
        &files(vec![step1_link()]),
        &at_now(),
    );
    refused(&report, &["does not chain", "issuer unknown"]);
}

/// An intermediate given beside the layout (in-toto-golang's `verify
/// --intermediate-certs`) completes the chain; an unreadable one is an
/// input error.
#[test]
fn an_intermediate_may_be_given_beside_the_layout() {
    let layout = cert_layout(json!([step1_constraint()]), false, 1);
    let options = Options {
        intermediate_certs: vec![golang("example.com.intermediate.cert.pem")],
        ..at_now()
    };
    let report = verify_with(layout.clone(), &files(vec![step1_link()]), &options);
    verified(&report);
    let owner = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let mut document = SignedDocument::new(layout, Encoding::Metablock).unwrap();
    document.add_signature(&owner).unwrap();
    let options = Options {
        intermediate_certs: vec!["not PEM".into()],
        ..at_now()
    };
    let files = files(vec![step1_link()]);
    let e = verify_layout(&document, &[owner.public_key().clone()], &files, &options).unwrap_err();
    assert!(e.to_string().contains("intermediate certificate"), "{e}");
}

/// The certificate is step1's, the signature another key's: under the
/// signer's key id, or under the certificate key's id.
#[test]
fn a_signature_by_another_key_than_the_certificates_does_not_count() {
    let layout = cert_layout(json!([step1_constraint()]), true, 1);
    let step1 = PrivateKey::from_pem(fixture("step1.key.pem").as_bytes(), None, None).unwrap();
    let step1_id = step1.public_key().legacy_keyid().to_string();
    for keyid in [None, Some(step1_id.as_str())] {
        let link = cert_link(
            &fixture("package.key.pem"),
            Some(&fixture("step1.cert.pem")),
            keyid,
        );
        let report = verify_with(layout.clone(), &files(vec![link]), &at_now());
        refused(
            &report,
            &["certificate \"O=example,CN=step1.example.com\": not signed by"],
        );
    }
}

#[test]
fn a_signature_without_a_certificate_does_not_count() {
    let link = cert_link(&fixture("step1.key.pem"), None, None);
    let report = verify_step1(vec![link]);
    refused(&report, &["carries no certificate"]);
    // in-toto-golang's key signatures carry `"cert": ""`.
    let link = cert_link(&fixture("step1.key.pem"), Some(""), None);
    let report = verify_step1(vec![link]);
    refused(&report, &["carries no certificate"]);
    let link = cert_link(&fixture("step1.key.pem"), Some("\n"), None);
    let report = verify_step1(vec![link]);
    refused(&report, &["no PEM certificate"]);
}

/// in-toto-golang reads no certificate beside a DSSE signature.
#[test]
fn a_dsse_link_cannot_be_signed_by_a_certificate() {
    let step1 = PrivateKey::from_pem(fixture("step1.key.pem").as_bytes(), None, None).unwrap();
    let id = step1.public_key().legacy_keyid().to_string();
    let link = (
        format!("build.{}.link", &id[..8]),
        signed_link(Encoding::Dsse, &[&step1]),
    );
    let report = verify_step1(vec![link]);
    refused(&report, &["a DSSE envelope carries no certificate"]);
}

/// Two files by one certificate are one functionary.
#[test]
fn a_certificate_counts_once() {
    let (file, bytes) = step1_link();
    let step1 = PrivateKey::from_pem(fixture("step1.key.pem").as_bytes(), None, None).unwrap();
    let id = step1.public_key().legacy_keyid().to_string();
    let copy = (format!("build.{}.link", &id[..12]), bytes.clone());
    let report = verify_with(
        cert_layout(json!([step1_constraint()]), true, 2),
        &files(vec![(file, bytes), copy]),
        &at_now(),
    );
    refused(&report, &["already counted"]);
}
