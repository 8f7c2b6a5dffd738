//! The testbed's Fulcio: `POST /api/v2/signingCert` checks the identity
//! token and the proof of possession, maps the token's claims to the
//! certificate's SAN, issuer and extensions, and answers a leaf certificate
//! (with its SCT) under the testbed's CA, or a faulty one when asked to.

use der::{Decode, Encode};
use p256::ecdsa::SigningKey;
use serde_json::{json, Value};

use crate::pki::{self, Authority, Claim, ClaimValue, Identity, LeafRequest};
use crate::server::{b64_field, json_body, pem_cert, str_field, Answer, Shared};
use crate::{http, now, oidc, Error, Faults};

impl Shared {
    pub(crate) fn signing_cert(&self, request: &http::Request, faults: &Faults) -> Answer {
        let body = json_body(request)?;
        let token = match request.authorization.as_deref() {
            Some(a) if a.len() > 7 && a.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("bearer ")) => {
                a.get(7..).unwrap_or_default().to_owned()
            }
            _ => str_field(&body, "/credentials/oidcIdentityToken")
                .map_err(|_| Error::Unauthorized("no identity token (Authorization: Bearer, or credentials.oidcIdentityToken)".into()))?
                .to_owned(),
        };
        if faults.fulcio_hostile_error {
            let message = format!(
                "refused\n::error::injected by the service\r\n##[error]{token} Bearer {token}\u{2028}{}",
                "padding ".repeat(512)
            );
            return Ok(http::Response::json(500, &json!({ "message": message })));
        }
        let now = now();
        let claims = oidc::verify(&self.oidc_key, &token, now)?;
        let (identity, issuer, extra) = map_claims(&claims)?;
        let spki = if let Some(csr) = body.get("certificateSigningRequest") {
            let pem = b64_field(csr, "certificateSigningRequest")?;
            let pem = String::from_utf8(pem)
                .map_err(|_| Error::BadRequest("certificateSigningRequest is not PEM".into()))?;
            pki::spki_from_csr(&pem)?
        } else {
            let content = str_field(&body, "/publicKeyRequest/publicKey/content")?;
            let spki = pki::spki_from_pem(content.as_bytes())?;
            let proof = b64_field(
                body.pointer("/publicKeyRequest/proofOfPossession")
                    .unwrap_or(&Value::Null),
                "publicKeyRequest.proofOfPossession",
            )?;
            let subject = claims
                .get("email")
                .or_else(|| claims.get("sub"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let key = pki::verifying_key(&spki)?;
            let sig = p256::ecdsa::DerSignature::from_bytes(&proof).map_err(|_| {
                Error::BadRequest("proofOfPossession is not a DER ECDSA signature".into())
            })?;
            p256::ecdsa::signature::Verifier::verify(&key, subject.as_bytes(), &sig).map_err(
                |_| {
                    Error::BadRequest(format!(
                        "proofOfPossession is not a signature over {subject:?}"
                    ))
                },
            )?;
            spki
        };
        let identity = if faults.fulcio_other_identity {
            Identity::Email("mallory@example.com".into())
        } else {
            identity
        };
        let request = LeafRequest {
            spki,
            identity,
            issuer,
            claims: extra,
            without_sct: faults.fulcio_without_sct,
        };
        let chain = if faults.fulcio_untrusted_ca {
            let ca = pki::other_root("untrusted CA", now)?;
            let leaf = ca.issue_leaf(&request, &self.ct, now)?;
            vec![pem_cert(&leaf), pem_cert(ca.cert_der())]
        } else {
            let leaf = if faults.fulcio_unknown_ct_log {
                let ct = pki::other_ct_log()?;
                self.intermediate.issue_leaf(&request, &ct, now)?
            } else if faults.fulcio_without_code_signing {
                let ct = (!request.without_sct).then_some(&self.ct);
                self.intermediate.issue_leaf_with(
                    &request,
                    ct,
                    now,
                    now + 600,
                    &[pki::TIME_STAMPING],
                    pki::LeafKeyUsage::DigitalSignature,
                )?
            } else {
                self.intermediate.issue_leaf(&request, &self.ct, now)?
            };
            vec![
                pem_cert(&leaf),
                pem_cert(self.intermediate.cert_der()),
                pem_cert(self.root.cert_der()),
            ]
        };
        Ok(http::Response::json(
            201,
            &json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}}),
        ))
    }
}

/// Fulcio's mapping from token claims to the certificate's SAN, issuer and
/// further claims.
fn map_claims(claims: &Value) -> Result<(Identity, String, Vec<Claim>), Error> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let issuer = text("iss")
        .ok_or_else(|| Error::Unauthorized("identity token has no iss".into()))?
        .to_owned();
    if issuer == oidc::GITHUB_ISSUER {
        let workflow = text("job_workflow_ref")
            .ok_or_else(|| Error::Unauthorized("GitHub token without job_workflow_ref".into()))?;
        let repository = text("repository").unwrap_or_default();
        let uri = format!("https://github.com/{workflow}");
        let oid = |n: u32| const_oid::ObjectIdentifier::new(&format!("1.3.6.1.4.1.57264.1.{n}"));
        let mut extra = Vec::new();
        let mut add = |n: u32, value: ClaimValue| {
            if let Ok(oid) = oid(n) {
                extra.push(Claim { oid, value });
            }
        };
        let raw = |s: Option<&str>| ClaimValue::Raw(s.unwrap_or_default().to_owned());
        let utf8 = |s: String| ClaimValue::Utf8(s);
        add(2, raw(text("event_name")));
        add(3, raw(text("sha")));
        add(4, raw(text("workflow")));
        add(5, raw(Some(repository)));
        add(6, raw(text("ref")));
        add(9, utf8(uri.clone()));
        add(10, utf8(text("sha").unwrap_or_default().to_owned()));
        add(
            11,
            utf8(text("runner_environment").unwrap_or_default().to_owned()),
        );
        add(12, utf8(format!("https://github.com/{repository}")));
        add(13, utf8(text("sha").unwrap_or_default().to_owned()));
        add(14, utf8(text("ref").unwrap_or_default().to_owned()));
        add(
            16,
            utf8(format!(
                "https://github.com/{}",
                text("repository_owner").unwrap_or_default()
            )),
        );
        add(18, utf8(uri.clone()));
        add(20, utf8(text("event_name").unwrap_or_default().to_owned()));
        add(
            21,
            utf8(format!(
                "https://github.com/{repository}/actions/runs/{}/attempts/{}",
                text("run_id").unwrap_or("1"),
                text("run_attempt").unwrap_or("1")
            )),
        );
        return Ok((Identity::Uri(uri), issuer, extra));
    }
    if let Some(email) = text("email") {
        if claims.get("email_verified").and_then(Value::as_bool) != Some(true) {
            return Err(Error::Unauthorized(
                "email is not verified (email_verified)".into(),
            ));
        }
        return Ok((Identity::Email(email.to_owned()), issuer, Vec::new()));
    }
    let sub = text("sub").ok_or_else(|| Error::Unauthorized("identity token has no sub".into()))?;
    Ok((Identity::Uri(sub.to_owned()), issuer, Vec::new()))
}

impl Authority {
    pub(crate) fn restore(key: SigningKey, cert_der: Vec<u8>) -> Result<Authority, Error> {
        let cert = x509_cert::Certificate::from_der(&cert_der)
            .map_err(|e| Error::Internal(format!("stored CA certificate: {e}")))?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| Error::Internal(e.to_string()))?;
        if spki != pki::spki_der(&key)? {
            return Err(Error::Internal(
                "stored CA certificate does not match its key".into(),
            ));
        }
        Ok(pki::Authority::from_stored(
            key,
            cert_der,
            cert.tbs_certificate.subject,
            spki,
        ))
    }
}
