//! The certificate authorities toto's HTTPS client trusts when it talks to
//! Fulcio, Rekor, the OIDC issuer and the TUF repository: Mozilla's roots,
//! bundled with toto (`webpki-root-certs`), and the system's certificate
//! store, so keyless signing also works behind a TLS-inspecting company proxy
//! whose CA the system trusts.
//!
//! `SSL_CERT_FILE` (a PEM file) and `SSL_CERT_DIR` (directories of PEM
//! files), OpenSSL's variables, name the store to use instead of the system's
//! default (`rustls-native-certs` reads them). A store named that way must be
//! readable and hold certificates: a typo should not quietly fall back to
//! other roots. The system's default store may be missing (a minimal
//! container); the bundled roots are then used alone.
//!
//! TLS only protects the transport: everything the services answer is still
//! checked against the Sigstore trusted root.

use rustls_native_certs::CertificateResult;
use rustls_pki_types::CertificateDer;

use crate::bundle::Error;

/// The variables that name the certificate store instead of the system's.
const STORE_VARIABLES: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// The roots: the bundled ones, then the certificate store's (the system's,
/// or the one `SSL_CERT_FILE` / `SSL_CERT_DIR` name).
pub(crate) fn root_certificates() -> Result<Vec<ureq::tls::Certificate<'static>>, Error> {
    let named = named_store();
    roots(
        webpki_root_certs::TLS_SERVER_ROOT_CERTS,
        rustls_native_certs::load_native_certs(),
        named.as_deref(),
    )
}

/// `SSL_CERT_FILE=…` and `SSL_CERT_DIR=…` as set, for messages; `None` when
/// neither is, and the system's default store is read.
fn named_store() -> Option<String> {
    let set: Vec<String> = STORE_VARIABLES
        .iter()
        .filter_map(|name| {
            let value = std::env::var_os(name).filter(|v| !v.is_empty())?;
            Some(format!("{name}={}", value.to_string_lossy()))
        })
        .collect();
    (!set.is_empty()).then(|| set.join(", "))
}

/// `bundled` and the certificates of `store`. When the store was named
/// (`named`: the variables as set), an error reading it, or a store without
/// certificates, is an error; the system's own store may fail or be empty.
fn roots(
    bundled: &[CertificateDer<'static>],
    store: CertificateResult,
    named: Option<&str>,
) -> Result<Vec<ureq::tls::Certificate<'static>>, Error> {
    if let Some(named) = named {
        let unusable = |reason: String| Error::Malformed {
            what: "TLS certificate store",
            reason: format!("{named}: {reason}"),
        };
        if let Some(error) = store.errors.first() {
            return Err(unusable(error.to_string()));
        }
        if store.certs.is_empty() {
            return Err(unusable("no PEM certificate in it".into()));
        }
    }
    Ok(bundled
        .iter()
        .chain(store.certs.iter())
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(certs: usize, failed: bool) -> CertificateResult {
        // A missing file is how rustls-native-certs reports an unreadable one.
        let mut result = if failed {
            rustls_native_certs::load_certs_from_paths(
                Some(std::path::Path::new("/nonexistent/toto-ca.pem")),
                None,
            )
        } else {
            CertificateResult::default()
        };
        assert_eq!(result.errors.is_empty(), !failed);
        result.certs = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .take(certs)
            .cloned()
            .collect();
        result
    }

    #[test]
    fn the_store_adds_to_the_bundled_roots() {
        let bundled = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        assert!(bundled.len() > 100, "Mozilla's roots are bundled");
        let all = roots(bundled, store(2, false), None).unwrap();
        assert_eq!(all.len(), bundled.len() + 2);
        let named = roots(bundled, store(1, false), Some("SSL_CERT_FILE=/etc/ca.pem")).unwrap();
        assert_eq!(named.len(), bundled.len() + 1);
        assert_eq!(named.last().unwrap().der(), bundled[0].as_ref());
    }

    #[test]
    fn a_missing_system_store_leaves_the_bundled_roots() {
        let bundled = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        let all = roots(bundled, store(0, true), None).unwrap();
        assert_eq!(all.len(), bundled.len());
    }

    #[test]
    fn an_unreadable_ssl_cert_file_is_an_error_naming_it() {
        let named = "SSL_CERT_FILE=/nonexistent/toto-ca.pem";
        let err = roots(&[], store(0, true), Some(named)).unwrap_err();
        assert!(matches!(
            err,
            Error::Malformed {
                what: "TLS certificate store",
                ..
            }
        ));
        let message = err.to_string();
        assert!(message.contains(named), "{message}");
        assert!(message.contains("/nonexistent/toto-ca.pem"), "{message}");
    }

    #[test]
    fn an_ssl_cert_file_without_certificates_is_an_error() {
        let named = "SSL_CERT_FILE=/tmp/empty.pem";
        let err = roots(&[], store(0, false), Some(named)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed TLS certificate store: SSL_CERT_FILE=/tmp/empty.pem: no PEM certificate in it"
        );
    }
}
