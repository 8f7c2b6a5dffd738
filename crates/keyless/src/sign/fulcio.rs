//! Fulcio: a short-lived certificate for an ephemeral key, requested with
//! an identity token and checked before anything is signed or logged with
//! it (key, identity, issuer, SCT, code signing, validity, chain).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePublicKey as _;
use serde_json::{json, Value};
use x509_cert::der::{Decode as _, DecodePem as _, Encode as _};

use super::oidc::IdentityToken;
use crate::bundle::BundleVerifier;
use crate::error::{malformed, service_error, Error};
use crate::http::Http;
use crate::text::is_plain_line;

/// What a Fulcio certificate says, as the signer checks it before use.
struct CertificateFacts {
    /// The SAN: email or URI.
    san: Option<String>,
    /// The Fulcio OIDC issuer extension (v2, else v1).
    issuer: Option<String>,
    /// An embedded SCT list is present.
    has_sct: bool,
    /// The extended key usages include codeSigning.
    code_signing: bool,
}

/// The OID of the codeSigning extended key usage.
const CODE_SIGNING_EKU: &str = "1.3.6.1.5.5.7.3.3";

fn certificate_facts(cert: &x509_cert::Certificate) -> CertificateFacts {
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
    let mut san = None;
    let mut issuer_v1 = None;
    let mut issuer_v2 = None;
    let mut has_sct = false;
    let mut code_signing = false;
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let value = ext.extn_value.as_bytes();
        match ext.extn_id.to_string().as_str() {
            "2.5.29.17" => {
                if let Ok(names) = SubjectAltName::from_der(value) {
                    san = names.0.iter().find_map(|n| match n {
                        GeneralName::Rfc822Name(s) | GeneralName::UniformResourceIdentifier(s) => {
                            Some(s.to_string())
                        }
                        _ => None,
                    });
                }
            }
            "2.5.29.37" => {
                code_signing = ExtendedKeyUsage::from_der(value)
                    .is_ok_and(|eku| eku.0.iter().any(|oid| oid.to_string() == CODE_SIGNING_EKU));
            }
            "1.3.6.1.4.1.57264.1.1" => issuer_v1 = String::from_utf8(value.to_vec()).ok(),
            "1.3.6.1.4.1.57264.1.8" => {
                issuer_v2 = x509_cert::der::asn1::Utf8StringRef::from_der(value)
                    .ok()
                    .map(|s| s.as_str().to_owned());
            }
            "1.3.6.1.4.1.11129.2.4.2" => has_sct = true,
            _ => {}
        }
    }
    CertificateFacts {
        san,
        issuer: issuer_v2.or(issuer_v1),
        has_sct,
        code_signing,
    }
}

/// A certificate's validity window, in Unix seconds.
fn validity(cert: &x509_cert::Certificate) -> (u64, u64) {
    let window = &cert.tbs_certificate.validity;
    (
        window.not_before.to_unix_duration().as_secs(),
        window.not_after.to_unix_duration().as_secs(),
    )
}

/// Refuses a certificate that is not valid now, naming its window.
pub(super) fn check_window(
    service: &'static str,
    url: &str,
    from: u64,
    until: u64,
) -> Result<(), Error> {
    let now = u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or(0);
    let shown = |t: u64| {
        i64::try_from(t)
            .ok()
            .and_then(|t| jiff::Timestamp::from_second(t).ok())
            .map_or_else(|| t.to_string(), |t| t.to_string())
    };
    if now < from {
        return Err(service_error(
            service,
            url,
            format!(
                "the certificate is not valid before {} (is this machine's clock behind?)",
                shown(from)
            ),
        ));
    }
    if now > until {
        return Err(service_error(
            service,
            url,
            format!(
                "the certificate expired at {}; sign again (it is valid for minutes only)",
                shown(until)
            ),
        ));
    }
    Ok(())
}

/// A certificate Fulcio issued for an ephemeral key, checked.
pub(super) struct Issued {
    /// The ephemeral key it certifies.
    pub(super) key: SigningKey,
    /// The leaf certificate, DER.
    pub(super) leaf_der: Vec<u8>,
    /// The same, PEM.
    pub(super) leaf_pem: String,
    /// The certified identity (SAN: email or URI).
    pub(super) identity: String,
    /// The certified OIDC issuer.
    pub(super) issuer: String,
    /// The certificate's validity, Unix seconds.
    pub(super) valid_from: u64,
    pub(super) valid_until: u64,
}

/// The Fulcio endpoint that issues certificates.
pub(super) fn signing_cert_url(fulcio: &str) -> String {
    format!("{fulcio}/api/v2/signingCert")
}

/// Gets a certificate from `fulcio` for a fresh key and `token`, and checks
/// it before anything is logged for it: it certifies that key, for the
/// token's identity and issuer, is valid now, chains to a Fulcio CA of
/// `verifier`'s trusted root (valid now) for code signing, and carries an
/// SCT by a CT log of that root.
pub(super) fn certificate(
    http: &Http,
    fulcio: &str,
    token: &IdentityToken,
    verifier: &BundleVerifier,
) -> Result<Issued, Error> {
    let key = SigningKey::random(&mut rand_core::OsRng);
    let spki = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| malformed("ephemeral key", e.to_string()))?;
    let spki_pem = x509_cert::der::pem::encode_string(
        "PUBLIC KEY",
        x509_cert::der::pem::LineEnding::LF,
        spki.as_bytes(),
    )
    .map_err(|e| malformed("ephemeral key", e.to_string()))?;
    let proof: DerSignature = key.sign(token.challenge().as_bytes());
    let url = signing_cert_url(fulcio);
    let request = json!({
        "credentials": {"oidcIdentityToken": token.raw},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": spki_pem},
            "proofOfPossession": B64.encode(proof.as_bytes()),
        },
    });
    let response = http.post("Fulcio", &url, Some(&token.raw), &request)?;
    let chain = response
        .pointer("/signedCertificateEmbeddedSct/chain/certificates")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            service_error(
                "Fulcio",
                &url,
                "no signedCertificateEmbeddedSct.chain.certificates in the response",
            )
        })?;
    let leaf_pem = chain
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| service_error("Fulcio", &url, "the certificate chain is empty"))?
        .to_owned();
    let leaf = x509_cert::Certificate::from_pem(leaf_pem.as_bytes())
        .map_err(|e| service_error("Fulcio", &url, format!("unreadable leaf certificate: {e}")))?;
    let leaf_der = leaf
        .to_der()
        .map_err(|e| service_error("Fulcio", &url, e.to_string()))?;
    let cert_key = leaf
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| service_error("Fulcio", &url, e.to_string()))?;
    if cert_key != spki.as_bytes() {
        return Err(service_error(
            "Fulcio",
            &url,
            "the certificate is for another key",
        ));
    }
    let facts = certificate_facts(&leaf);
    let identity = facts
        .san
        .ok_or_else(|| service_error("Fulcio", &url, "the certificate has no email or URI SAN"))?;
    if !token.acceptable_identities().contains(&identity) {
        return Err(service_error(
            "Fulcio",
            &url,
            format!(
                "the certificate is for {identity}, but the token is for {}",
                token.challenge()
            ),
        ));
    }
    let issuer = facts.issuer.ok_or_else(|| {
        service_error(
            "Fulcio",
            &url,
            "the certificate has no OIDC issuer extension",
        )
    })?;
    // Both are printed and written into evidence: one plain line each.
    if !is_plain_line(&identity) || !is_plain_line(&issuer) {
        return Err(service_error(
            "Fulcio",
            &url,
            format!(
                "the certificate's identity {identity:?} or issuer {issuer:?} holds control \
                     or line-breaking characters"
            ),
        ));
    }
    if issuer != token.issuer && !token.federated {
        return Err(service_error(
            "Fulcio",
            &url,
            format!(
                "the certificate names issuer {issuer}, the token {}",
                token.issuer
            ),
        ));
    }
    if !facts.has_sct {
        return Err(service_error(
            "Fulcio",
            &url,
            "the certificate has no embedded SCT (not logged in certificate transparency)",
        ));
    }
    if !facts.code_signing {
        return Err(service_error(
            "Fulcio",
            &url,
            "the certificate is not for code signing (no codeSigning extended key usage)",
        ));
    }
    // Before anything is logged for it, the certificate is checked as
    // the bundle's verifier will check it (sigstore-python does the
    // same): chain, validity now, code signing, SCT.
    let (valid_from, valid_until) = validity(&leaf);
    check_window("Fulcio", &url, valid_from, valid_until)?;
    verifier
        .check_signing_certificate(&leaf_der, jiff::Timestamp::now())
        .map_err(|reason| service_error("Fulcio", &url, reason))?;
    let leaf_pem = x509_cert::der::pem::encode_string(
        "CERTIFICATE",
        x509_cert::der::pem::LineEnding::LF,
        &leaf_der,
    )
    .map_err(|e| malformed("certificate", e.to_string()))?;
    Ok(Issued {
        key,
        leaf_der,
        leaf_pem,
        identity,
        issuer,
        valid_from,
        valid_until,
    })
}
