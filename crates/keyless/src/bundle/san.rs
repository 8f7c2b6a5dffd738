//! The identities a Fulcio certificate asserts, in every Subject Alternative
//! Name form Fulcio issues (Fulcio's `docs/certificate-specification.md`):
//!
//! - `rfc822Name`: an email address (email identities);
//! - `uniformResourceIdentifier`: a URI (CI workloads, SPIFFE, Kubernetes);
//! - `otherName` of type `1.3.6.1.4.1.57264.1.7` whose value is a
//!   UTF8String: a username identity (`user!domain`).
//!
//! `sigstore-verify` 0.15.1 reads only the first two, so a certificate whose
//! identity is an `otherName` has no identity for it; toto reads the SAN
//! itself and matches the policy against every identity it names, as
//! sigstore-python's `Identity` policy does (its set of email, URI and
//! `otherName` values). An `otherName` of another type, or whose value is
//! not a UTF8String, names no identity (sigstore-go refuses the latter).

use x509_cert::der::asn1::Utf8StringRef;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::Decode as _;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;

use crate::bundle::Error;

/// Fulcio's `otherName` type for username identities.
pub(crate) const USERNAME_OTHER_NAME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");

/// The identities (email, URI, username `otherName`) the SAN extension of
/// the DER certificate `leaf` names, in the certificate's order. Empty when
/// it has no SAN extension.
pub(crate) fn identities(leaf: &[u8]) -> Result<Vec<String>, Error> {
    let malformed = |reason: String| Error::Malformed {
        what: "certificate",
        reason,
    };
    let cert = x509_cert::Certificate::from_der(leaf).map_err(|e| malformed(e.to_string()))?;
    let san: Option<(bool, SubjectAltName)> = cert
        .tbs_certificate
        .get()
        .map_err(|e| malformed(format!("its subject alternative name: {e}")))?;
    let Some((_, SubjectAltName(names))) = san else {
        return Ok(Vec::new());
    };
    Ok(names
        .iter()
        .filter_map(|name| match name {
            GeneralName::Rfc822Name(email) => Some(email.to_string()),
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
            GeneralName::OtherName(other) if other.type_id == USERNAME_OTHER_NAME => {
                Utf8StringRef::try_from(&other.value)
                    .ok()
                    .map(|s| s.as_str().to_owned())
            }
            _ => None,
        })
        .collect())
}

/// `sans` for a message: quoted and comma-separated, or "none".
pub(crate) fn shown(sans: &[String]) -> String {
    if sans.is_empty() {
        return "none".to_owned();
    }
    sans.iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
