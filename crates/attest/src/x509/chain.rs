//! Chains: a link's certificate built to a layout root through its
//! intermediates by rustls-webpki, at the verification time, with Go's
//! default extended-key-usage rule; webpki's reasons put in words.

use std::collections::BTreeMap;

use rustls_pki_types::{CertificateDer, TrustAnchor};
use x509_cert::der::Decode as _;

use crate::error::Error;
use crate::time::UnixTime;

use super::algorithms::ALGORITHMS;
use super::cert::pem_certificates;
use super::*;

/// A root of the layout, prepared for webpki.
#[derive(Debug)]
struct Anchor {
    anchor: TrustAnchor<'static>,
    not_before: u64,
    not_after: u64,
    subject: String,
    eku_ok: bool,
}

/// The layout's roots and intermediates, prepared once per layout.
#[derive(Debug)]
pub struct CertTrust {
    anchors: Vec<Anchor>,
    intermediates: Vec<CertificateDer<'static>>,
    pub(super) root_ids: Vec<String>,
}

impl CertTrust {
    /// The trust of a layout's `rootcas` and `intermediatecas`.
    pub fn new(
        rootcas: &BTreeMap<String, CaCertificate>,
        intermediatecas: &BTreeMap<String, CaCertificate>,
    ) -> Result<CertTrust, Error> {
        let mut anchors = Vec::new();
        for (id, ca) in rootcas {
            for der in &ca.certs {
                let bad = |reason: String| Error::Malformed {
                    what: "layout",
                    reason: format!("rootcas {id}: {reason}"),
                };
                let anchor =
                    webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
                        .map_err(|e| bad(e.to_string()))?
                        .to_owned();
                let cert = x509_cert::Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
                let tbs = cert.tbs_certificate;
                let eku_ok = match tbs.get::<x509_cert::ext::pkix::ExtendedKeyUsage>() {
                    Ok(Some((_, eku))) => {
                        eku.0.is_empty()
                            || eku.0.iter().any(|oid| {
                                *oid == x509_cert::der::asn1::ObjectIdentifier::new_unwrap(
                                    "1.3.6.1.5.5.7.3.1",
                                ) || *oid
                                    == x509_cert::der::asn1::ObjectIdentifier::new_unwrap(
                                        "2.5.29.37.0",
                                    )
                            })
                    }
                    Ok(None) => true,
                    Err(e) => return Err(bad(format!("extendedKeyUsage: {e}"))),
                };
                anchors.push(Anchor {
                    anchor,
                    not_before: tbs.validity.not_before.to_unix_duration().as_secs(),
                    not_after: tbs.validity.not_after.to_unix_duration().as_secs(),
                    subject: tbs.subject.to_string(),
                    eku_ok,
                });
            }
        }
        let intermediates = intermediatecas
            .values()
            .flat_map(|ca| ca.certs.iter())
            .map(|der| CertificateDer::from(der.clone()))
            .collect();
        Ok(CertTrust {
            anchors,
            intermediates,
            root_ids: rootcas.keys().cloned().collect(),
        })
    }

    /// The same trust with more intermediates: PEM texts given beside the
    /// layout (in-toto-golang's `verify --intermediate-certs`).
    pub fn with_intermediates(mut self, pems: &[String]) -> Result<CertTrust, Error> {
        let bad = |reason: String| Error::Malformed {
            what: "intermediate certificate",
            reason,
        };
        for pem in pems {
            for cert in pem_certificates(pem).map_err(bad)? {
                let der = x509_cert::der::Encode::to_der(&cert).map_err(|e| bad(e.to_string()))?;
                self.intermediates.push(CertificateDer::from(der));
            }
        }
        Ok(self)
    }

    /// Checks `cert` against a step's constraints at `now`: its chain, then
    /// the constraints (one must hold).
    pub fn check(
        &self,
        step: &str,
        constraints: &[CertConstraint],
        cert: &LeafCert,
        now: UnixTime,
    ) -> Result<(), CertRefusal> {
        self.chain(cert, now).map_err(|reason| CertRefusal::Chain {
            subject: cert.subject.clone(),
            reason,
        })?;
        let mut failures = Vec::new();
        for (index, constraint) in constraints.iter().enumerate() {
            let mismatches = constraint.mismatches(cert, &self.root_ids);
            if mismatches.is_empty() {
                return Ok(());
            }
            failures.push((index, mismatches));
        }
        Err(CertRefusal::Constraints {
            step: step.to_owned(),
            subject: cert.subject.clone(),
            failures,
        })
    }

    /// A path from `cert` to a root valid at `now`, or why there is none.
    fn chain(&self, cert: &LeafCert, now: UnixTime) -> Result<(), String> {
        let now = u64::try_from(now).map_err(|_| "time before 1970".to_owned())?;
        let usable = |a: &&Anchor| a.eku_ok && a.not_before <= now && now <= a.not_after;
        let path = |anchors: &[TrustAnchor<'_>]| -> Result<usize, String> {
            let der = CertificateDer::from(cert.der.as_slice());
            let leaf = webpki::EndEntityCert::try_from(&der).map_err(|e| e.to_string())?;
            let path = leaf
                .verify_for_usage(
                    ALGORITHMS,
                    anchors,
                    &self.intermediates,
                    rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                        now,
                    )),
                    GoDefaultUsage,
                    None,
                    None,
                )
                .map_err(|e| describe(&e))?;
            let anchor = path.anchor();
            anchors
                .iter()
                .position(|a| a == anchor)
                .ok_or_else(|| "the path ends at no root given".to_owned())
        };
        let valid: Vec<TrustAnchor<'_>> = self
            .anchors
            .iter()
            .filter(usable)
            .map(|a| a.anchor.clone())
            .collect();
        match path(&valid) {
            Ok(_) => Ok(()),
            Err(reason) => {
                // Through a root that is not usable now: say which.
                let others: Vec<&Anchor> = self.anchors.iter().filter(|a| !usable(a)).collect();
                let trust: Vec<TrustAnchor<'_>> = others.iter().map(|a| a.anchor.clone()).collect();
                match path(&trust).ok().and_then(|i| others.get(i)) {
                    Some(a) if !a.eku_ok => Err(format!(
                        "its root {:?} does not allow server authentication (extendedKeyUsage)",
                        a.subject
                    )),
                    Some(a) => Err(format!(
                        "its root {:?} is not valid at {} (valid {} to {})",
                        a.subject,
                        crate::time::format_rfc3339_utc(now as i64),
                        crate::time::format_rfc3339_utc(a.not_before as i64),
                        crate::time::format_rfc3339_utc(a.not_after as i64),
                    )),
                    None => Err(reason),
                }
            }
        }
    }
}

/// webpki's reasons, in words.
#[allow(deprecated)] // webpki's deprecated unit variant is what GoDefaultUsage returns
fn describe(e: &webpki::Error) -> String {
    match e {
        webpki::Error::UnknownIssuer => {
            "no path to a layout root: issuer unknown (a root or intermediate missing)".into()
        }
        webpki::Error::CertExpired { time, not_after } => format!(
            "a certificate of the chain expired at {} (checked at {})",
            crate::time::format_rfc3339_utc(not_after.as_secs() as i64),
            crate::time::format_rfc3339_utc(time.as_secs() as i64)
        ),
        webpki::Error::CertNotValidYet { time, not_before } => format!(
            "a certificate of the chain is not valid before {} (checked at {})",
            crate::time::format_rfc3339_utc(not_before.as_secs() as i64),
            crate::time::format_rfc3339_utc(time.as_secs() as i64)
        ),
        webpki::Error::RequiredEkuNotFound | webpki::Error::RequiredEkuNotFoundContext(_) => {
            "extended key usage does not allow server authentication (Go's default)".into()
        }
        webpki::Error::CaUsedAsEndEntity => "the certificate is a CA".into(),
        webpki::Error::InvalidSignatureForPublicKey
        | webpki::Error::UnsupportedSignatureAlgorithmForPublicKey
        | webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate's signature does not verify with the key of the layout CA its \
             issuer names"
                .into()
        }
        webpki::Error::UnsupportedSignatureAlgorithm
        | webpki::Error::UnsupportedSignatureAlgorithmContext(_) => {
            "a certificate of the chain is signed with an unsupported algorithm".into()
        }
        webpki::Error::EndEntityUsedAsCa => "an issuer is not a CA".into(),
        other => format!("{other:?}"),
    }
}

/// Go's `x509.VerifyOptions` default: server authentication, where a
/// certificate lists extended key usages at all (`anyExtendedKeyUsage`
/// also passes).
struct GoDefaultUsage;

const SERVER_AUTH: webpki::KeyPurposeId<'static> =
    webpki::KeyPurposeId::new(&[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01]);
const ANY_EKU: webpki::KeyPurposeId<'static> = webpki::KeyPurposeId::new(&[0x55, 0x1d, 0x25, 0x00]);

impl webpki::ExtendedKeyUsageValidator for GoDefaultUsage {
    fn validate(&self, iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let mut empty = true;
        for id in iter {
            let id = id?;
            empty = false;
            if id == SERVER_AUTH || id == ANY_EKU {
                return Ok(());
            }
        }
        if empty {
            Ok(())
        } else {
            #[allow(deprecated)]
            Err(webpki::Error::RequiredEkuNotFound)
        }
    }
}
