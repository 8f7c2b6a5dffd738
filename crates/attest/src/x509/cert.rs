//! The certificates a layout and a link carry, read with x509-cert: the
//! layout's CA entries (`rootcas`, `intermediatecas`) and a link's leaf with
//! the attributes constraints look at.

use rustls_pki_types::CertificateDer;
use serde_json::Value;
use x509_cert::der::{Tag, Tagged as _};

use crate::error::Error;

/// A CA entry of a layout's `rootcas` or `intermediatecas`: a key dict
/// whose `keyval.certificate` holds one or more PEM certificates.
#[derive(Debug, Clone, PartialEq)]
pub struct CaCertificate {
    dict: Value,
    pub(super) certs: Vec<Vec<u8>>,
    subjects: Vec<String>,
}

impl CaCertificate {
    /// Reads the entry `keyid` of `field` (`rootcas`/`intermediatecas`), as
    /// in-toto-golang's `validateLayoutKeys` and `LoadLayoutCertificates`
    /// accept it: the dict's `keyid` is the map key, no private key, a
    /// `keytype` and `scheme`, and certificates that parse.
    pub fn from_key_dict(field: &str, keyid: &str, dict: Value) -> Result<CaCertificate, Error> {
        let bad = |reason: String| Error::Malformed {
            what: "layout",
            reason: format!("{field} {keyid}: {reason}"),
        };
        if keyid.is_empty() || !keyid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the id is not hex".into()));
        }
        if dict.get("keyid").and_then(Value::as_str) != Some(keyid) {
            return Err(bad(
                "its keyid field differs from the id it is listed under".into(),
            ));
        }
        for field in ["keytype", "scheme"] {
            if dict
                .get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(bad(format!("{field} missing")));
            }
        }
        let keyval = dict.get("keyval");
        if keyval
            .and_then(|k| k.get("private"))
            .and_then(Value::as_str)
            .is_some_and(|p| !p.is_empty())
        {
            return Err(bad("it holds a private key".into()));
        }
        let pem = keyval
            .and_then(|k| k.get("certificate"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("keyval.certificate missing".into()))?;
        let certs = pem_certificates(pem).map_err(|e| bad(format!("keyval.certificate: {e}")))?;
        let subjects = certs
            .iter()
            .map(|c| c.tbs_certificate.subject.to_string())
            .collect();
        let certs = certs
            .iter()
            .map(|c| {
                x509_cert::der::Encode::to_der(c)
                    .map_err(|e| bad(format!("keyval.certificate: {e}")))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        for der in &certs {
            webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
                .map_err(|e| bad(format!("keyval.certificate: {e}")))?;
        }
        Ok(CaCertificate {
            dict,
            certs,
            subjects,
        })
    }

    /// A CA entry for a certificate PEM file (authoring): the dict
    /// in-toto-golang's `in-toto key layout CERT` writes, `keyval.public`
    /// the certificate's key, under that key's (legacy) id.
    pub fn from_pem(pem: &str) -> Result<(String, CaCertificate), Error> {
        let leaf = LeafCert::from_pem(pem)?;
        let key = leaf.public_key()?;
        let keyid = key.legacy_keyid().to_string();
        let dict = serde_json::json!({
            "keyid": keyid,
            "keyid_hash_algorithms": ["sha256", "sha512"],
            "keytype": key.keytype(),
            "scheme": key.scheme().name(),
            "keyval": {"public": key.public().trim_end(), "certificate": pem},
        });
        Ok((
            keyid.clone(),
            CaCertificate::from_key_dict("CA", &keyid, dict)?,
        ))
    }

    /// The key dict as signed.
    pub fn to_value(&self) -> Value {
        self.dict.clone()
    }

    /// The subjects of its certificates (RFC 4514), for display.
    pub fn subjects(&self) -> &[String] {
        &self.subjects
    }
}

/// The PEM certificates of `text`, at least one. (x509-cert's
/// `load_pem_chain` overflows on text of line breaks only: refused first.)
pub(super) fn pem_certificates(text: &str) -> Result<Vec<x509_cert::Certificate>, String> {
    if text.trim_end_matches(['\r', '\n']).is_empty() {
        return Err("no PEM certificate".into());
    }
    let certs =
        x509_cert::Certificate::load_pem_chain(text.as_bytes()).map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate".into());
    }
    Ok(certs)
}

/// A certificate a link's signature carries, with the attributes
/// constraints look at (as Go's `x509.Certificate` has them).
#[derive(Debug, Clone)]
pub struct LeafCert {
    pub(super) der: Vec<u8>,
    spki: Vec<u8>,
    /// The subject (RFC 4514), for messages.
    pub subject: String,
    /// The subject's common name (the last one, as Go reads it; `""`: none).
    pub common_name: String,
    /// The subject's organizations.
    pub organizations: Vec<String>,
    /// DNS name SANs.
    pub dns_names: Vec<String>,
    /// Email SANs.
    pub emails: Vec<String>,
    /// URI SANs.
    pub uris: Vec<String>,
}

const OID_CN: x509_cert::der::asn1::ObjectIdentifier =
    x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_O: x509_cert::der::asn1::ObjectIdentifier =
    x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.4.10");

/// A directory string as Go's `parseASN1String` reads it.
fn directory_string(value: &x509_cert::der::Any) -> Option<String> {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            std::str::from_utf8(bytes).ok().map(str::to_owned)
        }
        Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .filter_map(|c| <[u8; 2]>::try_from(c).ok().map(u16::from_be_bytes))
                .collect();
            (bytes.len() % 2 == 0)
                .then(|| String::from_utf16(&units).ok())
                .flatten()
        }
        _ => None,
    }
}

impl LeafCert {
    /// Reads exactly one PEM certificate (a link signature's `cert`).
    pub fn from_pem(pem: &str) -> Result<LeafCert, Error> {
        let bad = |reason: String| Error::Malformed {
            what: "certificate",
            reason,
        };
        let certs = pem_certificates(pem).map_err(bad)?;
        let [cert] = certs.as_slice() else {
            return Err(bad(format!(
                "expected one PEM certificate, found {}",
                certs.len()
            )));
        };
        let der = x509_cert::der::Encode::to_der(cert).map_err(|e| bad(e.to_string()))?;
        let tbs = &cert.tbs_certificate;
        let spki = x509_cert::der::Encode::to_der(&tbs.subject_public_key_info)
            .map_err(|e| bad(e.to_string()))?;
        let (mut common_name, mut organizations) = (String::new(), Vec::new());
        for rdn in tbs.subject.0.iter() {
            for atv in rdn.0.iter() {
                let Some(text) = directory_string(&atv.value) else {
                    continue;
                };
                if atv.oid == OID_CN {
                    common_name = text;
                } else if atv.oid == OID_O {
                    organizations.push(text);
                }
            }
        }
        let (mut dns_names, mut emails, mut uris) = (Vec::new(), Vec::new(), Vec::new());
        let san = tbs
            .get::<x509_cert::ext::pkix::SubjectAltName>()
            .map_err(|e| bad(format!("subjectAltName: {e}")))?;
        for name in san.map(|(_, san)| san.0).unwrap_or_default() {
            use x509_cert::ext::pkix::name::GeneralName;
            match name {
                GeneralName::DnsName(s) => dns_names.push(s.to_string()),
                GeneralName::Rfc822Name(s) => emails.push(s.to_string()),
                GeneralName::UniformResourceIdentifier(s) => uris.push(s.to_string()),
                _ => {}
            }
        }
        Ok(LeafCert {
            der,
            spki,
            subject: tbs.subject.to_string(),
            common_name,
            organizations,
            dns_names,
            emails,
            uris,
        })
    }

    /// The certificate's key, named as in-toto-golang names it (RSA keys
    /// under `rsassa-pss-sha256`, the legacy key id among its ids).
    pub fn public_key(&self) -> Result<dsse::PublicKey, Error> {
        Ok(dsse::PublicKey::from_spki_der(&self.spki, None)?)
    }
}
