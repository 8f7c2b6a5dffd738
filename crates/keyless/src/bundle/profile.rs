//! What Sigstore's profile requires of a bundle that `sigstore-verify`
//! 0.15.1 does not check, checked on toto's side on both paths (the fast
//! path calls these functions, the general path runs them around
//! `sigstore-verify` on the bundle it parsed):
//!
//! - **every CA certificate's window.** `sigstore-verify` and webpki treat
//!   each certificate of a trusted root's Fulcio CA as a trust anchor, and a
//!   trust anchor has no validity for them: a leaf issued by an intermediate
//!   (or a root) that had expired, or was not yet valid, at the signing time
//!   verified. Here a CA certificate is an anchor at a time only if both its
//!   CA's `validFor` and the certificate's own validity cover that time, as
//!   sigstore-python's path builder (pyca/cryptography) requires of every
//!   certificate on the path, the anchor included. Intermediates carried in
//!   the bundle are checked by webpki, also at that time.
//! - **the leaf's key usage.** Fulcio's certificate profile has a critical
//!   key usage extension with `digitalSignature`; webpki reads only the
//!   extended key usage. sigstore-python refuses a leaf whose key usage lacks
//!   `digitalSignature`, and one without the extension.
//! - **the checkpoint's signature lines** ([`super::checkpoint`]), before
//!   `sigstore-verify` spends a signature verification on each of them.

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use sigstore_verify::crypto::{Keyring, WEBPKI_VERIFICATION_ALGS};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{Bundle, Sha256Hash, TimeRange};
use x509_cert::der::Decode as _;

use super::{checkpoint, failed, Error};

/// The extended key usage `id-kp-codeSigning` (1.3.6.1.5.5.7.3.3), as the
/// OID's content bytes.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// One certificate of a trusted root's Fulcio CA, as a trust anchor.
#[derive(Debug, Clone)]
struct Anchor {
    anchor: TrustAnchor<'static>,
    /// The CA's `validFor` in the trusted root.
    window: Option<TimeRange>,
    /// The certificate's own validity.
    not_before: jiff::Timestamp,
    not_after: jiff::Timestamp,
    /// Its subject (RFC 4514), for messages.
    subject: String,
}

impl Anchor {
    fn authorized_at(&self, time: jiff::Timestamp) -> bool {
        self.window.is_none_or(|range| range.contains(time))
    }

    fn valid_at(&self, time: jiff::Timestamp) -> bool {
        self.authorized_at(time) && self.not_before <= time && time <= self.not_after
    }
}

/// Why a certificate chain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ChainRefusal {
    /// No Fulcio CA of the trusted root is authorized (`validFor`) then.
    #[error(
        "certificate chain: no Fulcio CA of the trusted root is valid at the signing time {time}"
    )]
    NoAuthority { time: jiff::Timestamp },
    /// The chain ends at a trusted CA certificate that was outside its own
    /// validity at the signing time.
    #[error(
        "certificate chain: it ends at the Fulcio CA certificate {subject:?}, which is \
         not valid at the signing time {time} (valid from {not_before} to {not_after})"
    )]
    AnchorNotValid {
        subject: String,
        time: jiff::Timestamp,
        not_before: jiff::Timestamp,
        not_after: jiff::Timestamp,
    },
    /// webpki found no valid path (untrusted issuer, an intermediate outside
    /// its validity, no codeSigning EKU, a bad signature, …).
    #[error("certificate chain: no valid path at the signing time {time}: {reason}")]
    Path {
        time: jiff::Timestamp,
        reason: String,
    },
}

/// The Fulcio CA certificates of a trusted root, prepared once.
#[derive(Debug, Clone)]
pub(super) struct FulcioAnchors {
    anchors: Vec<Anchor>,
}

impl FulcioAnchors {
    /// Every certificate of every Fulcio CA of `root`, as `sigstore-verify`
    /// takes them, with its validity.
    pub(super) fn new(root: &TrustedRoot) -> Result<FulcioAnchors, Error> {
        let malformed = |reason: String| Error::Malformed {
            what: "trusted root",
            reason,
        };
        let mut anchors = Vec::new();
        for ca in &root.certificate_authorities {
            for cert in &ca.cert_chain.certificates {
                let der = cert.raw_bytes.as_bytes();
                let anchor = webpki::anchor_from_trusted_cert(&CertificateDer::from(der))
                    .map_err(|e| malformed(format!("Fulcio CA certificate: {e}")))?
                    .to_owned();
                let parsed = x509_cert::Certificate::from_der(der)
                    .map_err(|e| malformed(format!("Fulcio CA certificate: {e}")))?;
                let tbs = parsed.tbs_certificate;
                let time = |t: x509_cert::time::Time| {
                    i64::try_from(t.to_unix_duration().as_secs())
                        .ok()
                        .and_then(|s| jiff::Timestamp::from_second(s).ok())
                        .ok_or_else(|| malformed("Fulcio CA certificate: validity".into()))
                };
                anchors.push(Anchor {
                    anchor,
                    window: ca.valid_for,
                    not_before: time(tbs.validity.not_before)?,
                    not_after: time(tbs.validity.not_after)?,
                    subject: tbs.subject.to_string(),
                });
            }
        }
        Ok(FulcioAnchors { anchors })
    }

    /// Verifies `leaf`'s chain, through the `intermediates` the bundle
    /// carries, to a Fulcio CA certificate valid at `time` (its CA's
    /// `validFor` and its own validity), for code signing. Returns the
    /// issuer's SubjectPublicKeyInfo (DER), which the SCT signs.
    pub(super) fn verify_chain(
        &self,
        leaf: &[u8],
        intermediates: &[CertificateDer<'_>],
        time: jiff::Timestamp,
    ) -> Result<Vec<u8>, ChainRefusal> {
        let valid: Vec<TrustAnchor<'static>> = self
            .anchors
            .iter()
            .filter(|a| a.valid_at(time))
            .map(|a| a.anchor.clone())
            .collect();
        let path = |anchors: &[TrustAnchor<'_>]| {
            let der = CertificateDer::from(leaf);
            let cert = webpki::EndEntityCert::try_from(&der).map_err(|e| e.to_string())?;
            let seconds = u64::try_from(time.as_second()).map_err(|e| e.to_string())?;
            cert.verify_for_usage(
                WEBPKI_VERIFICATION_ALGS,
                anchors,
                intermediates,
                UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds)),
                webpki::KeyUsage::required(CODE_SIGNING),
                None,
                None,
            )
            .map(|path| {
                (
                    path.issuer_spki().as_ref().to_vec(),
                    path.anchor().to_owned(),
                )
            })
            .map_err(|e| e.to_string())
        };
        match path(&valid) {
            Ok((issuer, _)) => Ok(issuer),
            Err(reason) => Err(self.why(path, time, reason)),
        }
    }

    /// Why no path was found at `time`: when one is found through the
    /// anchors outside their own validity, that anchor is the reason.
    fn why(
        &self,
        path: impl Fn(&[TrustAnchor<'_>]) -> Result<(Vec<u8>, TrustAnchor<'static>), String>,
        time: jiff::Timestamp,
        reason: String,
    ) -> ChainRefusal {
        let authorized: Vec<&Anchor> = self
            .anchors
            .iter()
            .filter(|a| a.authorized_at(time))
            .collect();
        if authorized.is_empty() {
            return ChainRefusal::NoAuthority { time };
        }
        let expired: Vec<TrustAnchor<'static>> = authorized
            .iter()
            .filter(|a| !a.valid_at(time))
            .map(|a| a.anchor.clone())
            .collect();
        let found = path(&expired).ok().and_then(|(_, anchor)| {
            authorized
                .iter()
                .find(|a| a.anchor == anchor && !a.valid_at(time))
        });
        match found {
            Some(a) => ChainRefusal::AnchorNotValid {
                subject: a.subject.clone(),
                time,
                not_before: a.not_before,
                not_after: a.not_after,
            },
            None => ChainRefusal::Path { time, reason },
        }
    }
}

/// Why the leaf's key usage is not Fulcio's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum KeyUsageRefusal {
    /// The certificate or its extensions cannot be read.
    #[error("signing certificate unreadable: {0}")]
    Unreadable(String),
    /// No key usage extension.
    #[error(
        "signing certificate has no key usage extension (Fulcio's profile requires digitalSignature)"
    )]
    Absent,
    /// A key usage without `digitalSignature`.
    #[error(
        "signing certificate's key usage lacks digitalSignature (Fulcio's profile requires it)"
    )]
    NoDigitalSignature,
}

/// The leaf's key usage extension must be present and include
/// `digitalSignature` (Fulcio's certificate profile).
pub(super) fn check_leaf_key_usage(leaf: &[u8]) -> Result<(), KeyUsageRefusal> {
    let cert = x509_cert::Certificate::from_der(leaf)
        .map_err(|e| KeyUsageRefusal::Unreadable(e.to_string()))?;
    match cert
        .tbs_certificate
        .get::<x509_cert::ext::pkix::KeyUsage>()
        .map_err(|e| KeyUsageRefusal::Unreadable(e.to_string()))?
    {
        None => Err(KeyUsageRefusal::Absent),
        Some((_, usage)) if !usage.digital_signature() => Err(KeyUsageRefusal::NoDigitalSignature),
        Some(_) => Ok(()),
    }
}

/// toto's own checks on the general path, prepared once per trusted root.
pub(super) struct Checks {
    fulcio: FulcioAnchors,
    rekor: Keyring,
}

impl Checks {
    pub(super) fn new(root: &TrustedRoot) -> Result<Checks, Error> {
        Ok(Checks {
            fulcio: FulcioAnchors::new(root)?,
            rekor: root.rekor_keys().map_err(|e| Error::Malformed {
                what: "trusted root",
                reason: e.to_string(),
            })?,
        })
    }

    /// Before `sigstore-verify`: every log entry's checkpoint has at most
    /// [`checkpoint::MAX_SIGNATURE_LINES`] signature lines, and the first
    /// one by the entry's log verifies.
    pub(super) fn before(&self, bundle: &Bundle) -> Result<(), Error> {
        for entry in &bundle.verification_material.tlog_entries {
            let Some(proof) = &entry.inclusion_proof else {
                continue;
            };
            // The log's key as `sigstore-verify` looks it up for the
            // checkpoint (started by now); a malformed log ID or an unknown
            // log is `sigstore-verify`'s to refuse.
            let Ok(log_id) = Sha256Hash::try_from(entry.log_id.key_id.as_bytes()) else {
                continue;
            };
            let Some(key) = self.rekor.key_started_by(&log_id, jiff::Timestamp::now()) else {
                continue;
            };
            checkpoint::verify(proof.checkpoint.envelope(), &log_id, key).map_err(failed)?;
        }
        Ok(())
    }

    /// After `sigstore-verify` accepted, at every time it verified: the
    /// chain of a certificate bundle to a Fulcio CA certificate valid then,
    /// and the leaf's key usage.
    pub(super) fn after(&self, bundle: &Bundle, times: &[jiff::Timestamp]) -> Result<(), Error> {
        let (leaf, intermediates) = match &bundle.verification_material.content {
            VerificationMaterialContent::Certificate(cert) => (&cert.raw_bytes, &[][..]),
            VerificationMaterialContent::X509CertificateChain { certificates } => {
                match certificates.split_first() {
                    Some((leaf, rest)) => (&leaf.raw_bytes, rest),
                    None => return Ok(()),
                }
            }
            _ => return Ok(()),
        };
        check_leaf_key_usage(leaf.as_bytes()).map_err(failed)?;
        let intermediates: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|c| CertificateDer::from(c.raw_bytes.as_bytes()))
            .collect();
        for &time in times {
            self.fulcio
                .verify_chain(leaf.as_bytes(), &intermediates, time)
                .map_err(failed)?;
        }
        Ok(())
    }
}
