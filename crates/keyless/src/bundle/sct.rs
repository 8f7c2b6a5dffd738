//! A certificate's embedded SCT (RFC 6962 §3.2, §3.3): the one
//! `SignedCertificateTimestamp` of its SCT list extension, and the
//! precertificate the CT log signed, rebuilt from the certificate by
//! removing that extension. Anything unexpected declines (`None`).

use sigstore_verify::crypto::SigningScheme;

/// The RFC 6962 embedded SCT list extension, 1.3.6.1.4.1.11129.2.4.2.
const SCT_LIST_OID: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// One SCT (RFC 6962 §3.2), borrowed from the certificate.
pub(super) struct Sct<'a> {
    pub(super) log_id: [u8; 32],
    pub(super) timestamp: u64,
    pub(super) extensions: &'a [u8],
    pub(super) scheme: SigningScheme,
    pub(super) signature: &'a [u8],
}

impl<'a> Sct<'a> {
    /// Reads a `SignedCertificateTimestampList` holding exactly one SCT.
    pub(super) fn read_list(list: &'a [u8]) -> Option<Sct<'a>> {
        let (list, rest) = tls_vec16(list)?;
        let (one, more) = tls_vec16(list)?;
        if !rest.is_empty() || !more.is_empty() {
            return None;
        }
        let (&version, one) = one.split_first()?;
        let (log_id, one) = one.split_at_checked(32)?;
        let (timestamp, one) = one.split_at_checked(8)?;
        let (extensions, one) = tls_vec16(one)?;
        let (algorithm, one) = one.split_at_checked(2)?;
        let (signature, one) = tls_vec16(one)?;
        let scheme = match algorithm {
            [4, 3] => SigningScheme::EcdsaP256Sha256,
            [5, 3] => SigningScheme::EcdsaP384Sha384,
            _ => return None,
        };
        (version == 0 && one.is_empty()).then_some(Sct {
            log_id: log_id.try_into().ok()?,
            timestamp: u64::from_be_bytes(timestamp.try_into().ok()?),
            extensions,
            scheme,
            signature,
        })
    }
}

/// A TLS `opaque<0..2^16-1>`: its content and what follows.
fn tls_vec16(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&[high, low], rest) = input.split_first_chunk::<2>()?;
    rest.split_at_checked(usize::from(u16::from_be_bytes([high, low])))
}

/// The precertificate a CT log signed, rebuilt from the certificate. The
/// certificate was already read strictly by `parse_certificate_info` and
/// `webpki`; anything unexpected here declines.
pub(super) mod precert {
    use x509_cert::der::asn1::OctetString;
    use x509_cert::der::{Decode as _, Encode as _};

    use super::SCT_LIST_OID;

    /// The TBSCertificate without its SCT list extension (what the CT log
    /// signed, as x509-cert re-encodes it, which is what sigstore-verify
    /// checks too), and that extension's value: the TLS-encoded SCT list.
    /// `None` unless there is exactly one SCT list extension, not critical,
    /// and at least one other extension.
    pub(in crate::bundle) fn tbs(cert: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let cert = x509_cert::Certificate::from_der(cert).ok()?;
        let mut tbs = cert.tbs_certificate;
        let (scts, kept): (Vec<_>, Vec<_>) = tbs
            .extensions
            .take()?
            .into_iter()
            .partition(|e| e.extn_id == SCT_LIST_OID);
        // Not critical: a critical SCT extension would need handling this
        // code does not do.
        let [sct] = scts.as_slice() else {
            return None;
        };
        if sct.critical || kept.is_empty() {
            return None;
        }
        // The extension's OCTET STRING holds an OCTET STRING holding the
        // TLS list.
        let list = OctetString::from_der(sct.extn_value.as_bytes()).ok()?;
        tbs.extensions = Some(kept);
        Some((tbs.to_der().ok()?, list.into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use x509_cert::der::{Decode as _, Encode as _};

    /// The signing certificates of the real-world bundles in testdata.
    fn certificates() -> Vec<(String, Vec<u8>)> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real-world");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("testdata/real-world") {
            let path = entry.expect("entry").path();
            if !path.to_string_lossy().ends_with(".sigstore.json") {
                continue;
            }
            let json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).expect("bundle")).expect("JSON");
            let material = &json["verificationMaterial"];
            let raw = material["certificate"]["rawBytes"].as_str().or_else(|| {
                material["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str()
            });
            if let Some(raw) = raw {
                let der = STANDARD.decode(raw).expect("base64");
                out.push((path.display().to_string(), der));
            }
        }
        out
    }

    /// The precertificate is byte for byte what `sigstore-verify` checks:
    /// x509-cert's re-encoding of the TBSCertificate without the SCT
    /// extension; the list is the extension's inner OCTET STRING.
    #[test]
    fn precertificate_is_the_reencoded_tbs_without_the_sct_list() {
        let mut checked = 0;
        for (name, der) in certificates() {
            let cert = x509_cert::Certificate::from_der(&der).expect("certificate");
            let sct_oid =
                x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
            let Some(extension) = cert
                .tbs_certificate
                .extensions
                .iter()
                .flatten()
                .find(|e| e.extn_id == sct_oid)
            else {
                assert!(
                    precert::tbs(&der).is_none(),
                    "{name}: no SCT, yet one found"
                );
                continue;
            };
            let mut tbs = cert.tbs_certificate.clone();
            tbs.extensions = tbs
                .extensions
                .map(|all| all.into_iter().filter(|e| e.extn_id != sct_oid).collect());
            let (precert, list) = precert::tbs(&der).expect(&name);
            let list = list.as_slice();
            assert_eq!(precert, tbs.to_der().expect("encode"), "{name}");
            let inner =
                x509_cert::der::asn1::OctetString::from_der(extension.extn_value.as_bytes())
                    .expect("octet string");
            assert_eq!(list, inner.as_bytes(), "{name}");
            assert!(Sct::read_list(list).is_some(), "{name}: SCT unreadable");
            checked += 1;
        }
        assert!(checked >= 3, "only {checked} certificates with SCTs");
    }

    #[test]
    fn malformed_certificates_decline() {
        for bad in [
            &[0x30, 0x05, 0x30][..],
            &[0x30, 0x81, 0x05, 0, 0, 0, 0, 0],
            &[0x30, 0x82, 0x00, 0x05, 0, 0, 0, 0, 0],
            &[0x30, 0x80, 0, 0],
            &[0x3f, 0x01, 0x00],
        ] {
            assert!(precert::tbs(bad).is_none(), "{bad:02x?}");
        }
    }
}
