//! The testbed's certificate authority (root + intermediate, the Fulcio
//! profile) and its CT log (one embedded SCT per leaf, RFC 6962).

use std::str::FromStr;
use std::time::Duration;

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, Ia5String, OctetString, UtcTime, Utf8StringRef};
use der::{Decode, Encode};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};
use signature_compat::Signer;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::Error;

/// `p256` re-exports the `signature` traits; a local name keeps imports short.
mod signature_compat {
    pub use p256::ecdsa::signature::Signer;
}

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// The code-signing extended key usage Fulcio leaves carry.
pub const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// The serverAuth extended key usage (RFC 5280 §4.2.1.12).
pub const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
/// The timeStamping extended key usage (RFC 3161 §2.3).
pub const TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Fulcio's `otherName` SAN type for username identities.
pub const FULCIO_USERNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// Fulcio's OIDC issuer extension, raw UTF-8 (deprecated, still read by sigstore-python).
pub const FULCIO_ISSUER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer extension, DER UTF8String.
pub const FULCIO_ISSUER_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// How a certificate's extension value is encoded.
#[derive(Debug, Clone)]
pub enum ClaimValue {
    /// Raw bytes of a UTF-8 string (Fulcio's deprecated extensions).
    Raw(String),
    /// A DER UTF8String (Fulcio's current extensions).
    Utf8(String),
}

/// A Fulcio claim extension (`1.3.6.1.4.1.57264.1.N`).
#[derive(Debug, Clone)]
pub struct Claim {
    /// The extension's OID.
    pub oid: ObjectIdentifier,
    /// Its value.
    pub value: ClaimValue,
}

/// What a leaf certificate says about its holder.
#[derive(Debug, Clone)]
pub struct LeafRequest {
    /// The holder's public key.
    pub spki: SubjectPublicKeyInfoOwned,
    /// The SAN: an email (RFC 822 name) or a URI.
    pub identity: Identity,
    /// The OIDC issuer, written in both issuer extensions.
    pub issuer: String,
    /// Further claims (the GitHub Actions ones).
    pub claims: Vec<Claim>,
    /// Leave out the SCT (a fault for tests).
    pub without_sct: bool,
}

/// The key usage extension of a leaf certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKeyUsage {
    /// `digitalSignature`, critical: what Fulcio issues.
    DigitalSignature,
    /// `keyEncipherment` only: a key not for signatures (a fault for tests).
    KeyEnciphermentOnly,
    /// No key usage extension at all (a fault for tests).
    Absent,
}

/// A certificate's subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// An email address.
    Email(String),
    /// A URI.
    Uri(String),
    /// A username (`user!domain`): Fulcio's `otherName` SAN of type
    /// `1.3.6.1.4.1.57264.1.7` holding a UTF8String.
    Username(String),
}

impl Identity {
    /// The identity as text.
    pub fn as_str(&self) -> &str {
        match self {
            Identity::Email(s) | Identity::Uri(s) | Identity::Username(s) => s,
        }
    }
}

fn der_err(e: der::Error) -> Error {
    Error::Internal(format!("DER: {e}"))
}

fn utc(unix: i64) -> Result<Time, Error> {
    let secs = u64::try_from(unix).map_err(|_| Error::Internal("time before 1970".into()))?;
    let time = UtcTime::from_unix_duration(Duration::from_secs(secs)).map_err(der_err)?;
    Ok(Time::UtcTime(time))
}

fn extension(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Result<Extension, Error> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).map_err(der_err)?,
    })
}

fn der_of(value: &impl Encode) -> Result<Vec<u8>, Error> {
    value.to_der().map_err(der_err)
}

fn key_identifier(spki_der: &[u8]) -> Vec<u8> {
    Sha256::digest(spki_der)
        .get(..20)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

fn spki_of(key: &SigningKey) -> Result<(SubjectPublicKeyInfoOwned, Vec<u8>), Error> {
    let doc = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| Error::Internal(format!("SPKI: {e}")))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(doc.as_bytes()).map_err(der_err)?;
    Ok((spki, doc.as_bytes().to_vec()))
}

/// The DER SPKI of a key.
pub fn spki_der(key: &SigningKey) -> Result<Vec<u8>, Error> {
    Ok(spki_of(key)?.1)
}

fn algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA256,
        parameters: None,
    }
}

fn serial() -> Result<SerialNumber, Error> {
    let mut bytes = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    // Positive and without a leading zero byte: DER INTEGER rules.
    if let Some(first) = bytes.first_mut() {
        *first = (*first & 0x7f) | 0x01;
    }
    SerialNumber::new(&bytes).map_err(der_err)
}

fn sign_tbs(tbs: TbsCertificate, key: &SigningKey) -> Result<Vec<u8>, Error> {
    let tbs_der = der_of(&tbs)?;
    let signature: DerSignature = key.sign(&tbs_der);
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm(),
        signature: BitString::from_bytes(signature.as_bytes()).map_err(der_err)?,
    };
    der_of(&cert)
}

/// `CN={common_name},O=toto testbed`.
fn testbed_name(common_name: &str) -> Result<Name, Error> {
    Name::from_str(&format!("CN={common_name},O=toto testbed")).map_err(der_err)
}

/// The critical key usage extension.
fn key_usage(usage: KeyUsage) -> Result<Extension, Error> {
    extension(
        const_oid::db::rfc5280::ID_CE_KEY_USAGE,
        true,
        der_of(&usage)?,
    )
}

/// The extended key usage extension.
fn extended_key_usage(critical: bool, eku: &[ObjectIdentifier]) -> Result<Extension, Error> {
    extension(
        const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE,
        critical,
        der_of(&ExtendedKeyUsage(eku.to_vec()))?,
    )
}

/// The subject and authority key identifier extensions, in that order.
fn key_identifiers(subject: Vec<u8>, authority: Vec<u8>) -> Result<[Extension; 2], Error> {
    Ok([
        extension(
            const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            der_of(&SubjectKeyIdentifier(
                OctetString::new(subject).map_err(der_err)?,
            ))?,
        )?,
        extension(
            const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            der_of(&AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(authority).map_err(der_err)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            })?,
        )?,
    ])
}

/// A v3 TBS certificate with a fresh random serial, to be signed with
/// ECDSA P-256 SHA-256.
fn tbs_certificate(
    issuer: Name,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    not_before: i64,
    not_after: i64,
    extensions: Vec<Extension>,
) -> Result<TbsCertificate, Error> {
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: serial()?,
        signature: algorithm(),
        issuer,
        validity: Validity {
            not_before: utc(not_before)?,
            not_after: utc(not_after)?,
        },
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    })
}

/// A certificate authority: its key, certificate (DER) and subject.
#[derive(Debug, Clone)]
pub struct Authority {
    key: SigningKey,
    cert: Vec<u8>,
    subject: Name,
    key_id: Vec<u8>,
    spki_der: Vec<u8>,
}

impl Authority {
    /// A CA certificate for `key`, issued by `issuer` (self-signed when `None`).
    pub fn new(
        key: SigningKey,
        common_name: &str,
        issuer: Option<&Authority>,
        not_before: i64,
        not_after: i64,
    ) -> Result<Authority, Error> {
        Authority::with_profile(key, common_name, issuer, not_before, not_after, true, &[])
    }

    /// Like [`Authority::new`], but the certificate's basic constraints say
    /// `cA: ca` (`false` makes a hostile "intermediate" for tests, see
    /// the forge in `toto-testkit`), and it has these extended key usages (none: no
    /// extension; Sigstore's public-good intermediate has codeSigning).
    pub fn with_profile(
        key: SigningKey,
        common_name: &str,
        issuer: Option<&Authority>,
        not_before: i64,
        not_after: i64,
        ca: bool,
        eku: &[ObjectIdentifier],
    ) -> Result<Authority, Error> {
        let subject = testbed_name(common_name)?;
        let (spki, spki_der) = spki_of(&key)?;
        let key_id = key_identifier(&spki_der);
        let (issuer_name, issuer_key_id, signer) = match issuer {
            Some(ca) => (ca.subject.clone(), ca.key_id.clone(), &ca.key),
            None => (subject.clone(), key_id.clone(), &key),
        };
        let mut extensions = vec![
            extension(
                const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS,
                true,
                der_of(&BasicConstraints {
                    ca,
                    path_len_constraint: issuer.filter(|_| ca).map(|_| 0),
                })?,
            )?,
            key_usage(KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
        ];
        extensions.extend(key_identifiers(key_id.clone(), issuer_key_id)?);
        if !eku.is_empty() {
            extensions.push(extended_key_usage(false, eku)?);
        }
        let tbs = tbs_certificate(
            issuer_name,
            subject.clone(),
            spki,
            not_before,
            not_after,
            extensions,
        )?;
        let cert = sign_tbs(tbs, signer)?;
        Ok(Authority {
            key,
            cert,
            subject,
            key_id,
            spki_der,
        })
    }

    /// A CA from its stored parts: its key, its certificate (DER), the
    /// certificate's subject and its key's DER SPKI.
    pub fn from_stored(
        key: SigningKey,
        cert: Vec<u8>,
        subject: Name,
        spki_der: Vec<u8>,
    ) -> Authority {
        Authority {
            key,
            cert,
            subject,
            key_id: key_identifier(&spki_der),
            spki_der,
        }
    }

    /// The CA's certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert
    }

    /// Issues a timestamp authority's certificate for `key`: digitalSignature,
    /// the timeStamping extended key usage marked critical (RFC 3161 §2.3),
    /// not a CA.
    pub fn issue_tsa(
        &self,
        key: &SigningKey,
        common_name: &str,
        not_before: i64,
        not_after: i64,
    ) -> Result<Vec<u8>, Error> {
        self.issue_end_entity(
            key,
            testbed_name(common_name)?,
            vec![extended_key_usage(true, &[TIME_STAMPING])?],
            not_before,
            not_after,
        )
    }

    /// Issues a TLS server certificate for `ip` (an iPAddress SAN):
    /// digitalSignature, serverAuth, not a CA. For tests of toto's HTTPS
    /// client: a loopback server whose CA only the test trusts.
    pub fn issue_tls_server(
        &self,
        key: &SigningKey,
        ip: std::net::IpAddr,
        not_before: i64,
        not_after: i64,
    ) -> Result<Vec<u8>, Error> {
        let octets = match ip {
            std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
            std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        let san = GeneralName::IpAddress(OctetString::new(octets).map_err(der_err)?);
        self.issue_end_entity(
            key,
            testbed_name(&ip.to_string())?,
            vec![
                extended_key_usage(false, &[SERVER_AUTH])?,
                extension(
                    const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
                    false,
                    der_of(&SubjectAltName(vec![san]))?,
                )?,
            ],
            not_before,
            not_after,
        )
    }

    /// An end-entity certificate for `key`: digitalSignature, then `profile`
    /// (extended key usage, names), then the key identifiers; not a CA.
    fn issue_end_entity(
        &self,
        key: &SigningKey,
        subject: Name,
        profile: Vec<Extension>,
        not_before: i64,
        not_after: i64,
    ) -> Result<Vec<u8>, Error> {
        let (spki, spki_der) = spki_of(key)?;
        let mut extensions = vec![key_usage(KeyUsage(KeyUsages::DigitalSignature.into()))?];
        extensions.extend(profile);
        extensions.extend(key_identifiers(
            key_identifier(&spki_der),
            self.key_id.clone(),
        )?);
        let tbs = tbs_certificate(
            self.subject.clone(),
            subject,
            spki,
            not_before,
            not_after,
            extensions,
        )?;
        sign_tbs(tbs, &self.key)
    }

    /// Issues a 10-minute leaf valid from `now` in Fulcio's profile, with an
    /// SCT from `ct` unless the request asks for none.
    pub fn issue_leaf(
        &self,
        request: &LeafRequest,
        ct: &CtLog,
        now: i64,
    ) -> Result<Vec<u8>, Error> {
        let ct = (!request.without_sct).then_some(ct);
        self.issue_leaf_with(
            request,
            ct,
            now,
            now + 600,
            &[CODE_SIGNING],
            LeafKeyUsage::DigitalSignature,
        )
    }

    /// Issues a leaf in Fulcio's profile valid from `not_before` to
    /// `not_after`, with these extended key usages, this key usage and an
    /// SCT from `ct` (none when `None`; `request.without_sct` is not read).
    /// The knobs exist for the forge in `toto-testkit`.
    pub fn issue_leaf_with(
        &self,
        request: &LeafRequest,
        ct: Option<&CtLog>,
        not_before: i64,
        not_after: i64,
        eku: &[ObjectIdentifier],
        usage: LeafKeyUsage,
    ) -> Result<Vec<u8>, Error> {
        let spki_der = der_of(&request.spki)?;
        let san = match &request.identity {
            Identity::Email(e) => GeneralName::Rfc822Name(Ia5String::new(e).map_err(der_err)?),
            Identity::Uri(u) => {
                GeneralName::UniformResourceIdentifier(Ia5String::new(u).map_err(der_err)?)
            }
            Identity::Username(u) => GeneralName::OtherName(OtherName {
                type_id: FULCIO_USERNAME,
                value: der::Any::encode_from(&Utf8StringRef::new(u).map_err(der_err)?)
                    .map_err(der_err)?,
            }),
        };
        let mut extensions = Vec::new();
        match usage {
            LeafKeyUsage::DigitalSignature => {
                extensions.push(key_usage(KeyUsage(KeyUsages::DigitalSignature.into()))?);
            }
            LeafKeyUsage::KeyEnciphermentOnly => {
                extensions.push(key_usage(KeyUsage(KeyUsages::KeyEncipherment.into()))?);
            }
            LeafKeyUsage::Absent => {}
        }
        extensions.push(extended_key_usage(false, eku)?);
        extensions.extend(key_identifiers(
            key_identifier(&spki_der),
            self.key_id.clone(),
        )?);
        extensions.extend([
            extension(
                const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
                true,
                der_of(&SubjectAltName(vec![san]))?,
            )?,
            extension(FULCIO_ISSUER_V1, false, request.issuer.as_bytes().to_vec())?,
            extension(
                FULCIO_ISSUER_V2,
                false,
                der_of(&Utf8StringRef::new(&request.issuer).map_err(der_err)?)?,
            )?,
        ]);
        for claim in &request.claims {
            let value = match &claim.value {
                ClaimValue::Raw(s) => s.as_bytes().to_vec(),
                ClaimValue::Utf8(s) => der_of(&Utf8StringRef::new(s).map_err(der_err)?)?,
            };
            extensions.push(extension(claim.oid, false, value)?);
        }
        let mut tbs = tbs_certificate(
            self.subject.clone(),
            Name::default(),
            request.spki.clone(),
            not_before,
            not_after,
            extensions,
        )?;
        if let Some(ct) = ct {
            // The SCT signs this TBS (no SCT extension); the final
            // certificate is the same TBS with the SCT list appended.
            let precert_tbs = der_of(&tbs)?;
            let sct = ct.sign_precert(&self.spki_der, &precert_tbs, not_before)?;
            let list_len =
                u16::try_from(sct.len() + 2).map_err(|_| Error::Internal("SCT too long".into()))?;
            let sct_len =
                u16::try_from(sct.len()).map_err(|_| Error::Internal("SCT too long".into()))?;
            let mut list = Vec::with_capacity(sct.len() + 4);
            list.extend_from_slice(&list_len.to_be_bytes());
            list.extend_from_slice(&sct_len.to_be_bytes());
            list.extend_from_slice(&sct);
            let inner = der_of(&OctetString::new(list).map_err(der_err)?)?;
            if let Some(exts) = tbs.extensions.as_mut() {
                exts.push(extension(SCT_LIST, false, inner)?);
            }
        }
        sign_tbs(tbs, &self.key)
    }
}

/// The testbed's CT log: a key that signs SCTs.
#[derive(Debug, Clone)]
pub struct CtLog {
    key: SigningKey,
    log_id: [u8; 32],
}

impl CtLog {
    /// A CT log with this key; its id is the SHA-256 of the key's DER SPKI.
    pub fn new(key: SigningKey) -> Result<CtLog, Error> {
        let log_id = Sha256::digest(spki_der(&key)?).into();
        Ok(CtLog { key, log_id })
    }

    /// An SCT (RFC 6962 §3.2, v1, precert entry) over `tbs`.
    fn sign_precert(&self, issuer_spki: &[u8], tbs: &[u8], now: i64) -> Result<Vec<u8>, Error> {
        let ms = u64::try_from(now)
            .map_err(|_| Error::Internal("time before 1970".into()))?
            .saturating_mul(1000);
        let tbs_len =
            u32::try_from(tbs.len()).map_err(|_| Error::Internal("TBS too long".into()))?;
        let mut signed = vec![0u8, 0u8];
        signed.extend_from_slice(&ms.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes());
        signed.extend_from_slice(&Sha256::digest(issuer_spki));
        signed.extend_from_slice(tbs_len.to_be_bytes().get(1..).unwrap_or_default());
        signed.extend_from_slice(tbs);
        signed.extend_from_slice(&0u16.to_be_bytes());
        let signature: DerSignature = self.key.sign(&signed);
        let sig = signature.as_bytes();
        let sig_len = u16::try_from(sig.len()).map_err(|_| Error::Internal("signature".into()))?;
        let mut sct = vec![0u8];
        sct.extend_from_slice(&self.log_id);
        sct.extend_from_slice(&ms.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes());
        sct.extend_from_slice(&[4, 3]);
        sct.extend_from_slice(&sig_len.to_be_bytes());
        sct.extend_from_slice(sig);
        Ok(sct)
    }
}

/// Reads the SPKI out of a PEM CSR after checking its self-signature
/// (ECDSA P-256 with SHA-256, what sigstore-python sends).
pub fn spki_from_csr(pem: &str) -> Result<SubjectPublicKeyInfoOwned, Error> {
    use der::DecodePem;
    use p256::ecdsa::signature::Verifier;
    let csr = x509_cert::request::CertReq::from_pem(pem.as_bytes())
        .map_err(|e| Error::BadRequest(format!("certificateSigningRequest: {e}")))?;
    let key = verifying_key(&csr.info.public_key)?;
    let info = der_of(&csr.info)?;
    let sig = DerSignature::from_bytes(csr.signature.raw_bytes())
        .map_err(|e| Error::BadRequest(format!("CSR signature: {e}")))?;
    key.verify(&info, &sig)
        .map_err(|_| Error::BadRequest("the CSR's signature does not verify".into()))?;
    Ok(csr.info.public_key)
}

/// The P-256 key of an SPKI.
pub fn verifying_key(spki: &SubjectPublicKeyInfoOwned) -> Result<p256::ecdsa::VerifyingKey, Error> {
    let der = der_of(spki)?;
    p256::ecdsa::VerifyingKey::from_public_key_der_compat(&der)
}

/// The SPKI of a certificate or public key PEM (`CERTIFICATE` or `PUBLIC KEY`).
pub fn spki_from_pem(pem: &[u8]) -> Result<SubjectPublicKeyInfoOwned, Error> {
    use der::DecodePem;
    if let Ok(cert) = Certificate::from_pem(pem) {
        return Ok(cert.tbs_certificate.subject_public_key_info);
    }
    SubjectPublicKeyInfoOwned::from_pem(pem)
        .map_err(|e| Error::BadRequest(format!("neither a certificate nor a public key PEM: {e}")))
}

trait FromDerCompat: Sized {
    fn from_public_key_der_compat(der: &[u8]) -> Result<Self, Error>;
}

impl FromDerCompat for p256::ecdsa::VerifyingKey {
    fn from_public_key_der_compat(der: &[u8]) -> Result<Self, Error> {
        use p256::pkcs8::DecodePublicKey;
        p256::ecdsa::VerifyingKey::from_public_key_der(der)
            .map_err(|e| Error::BadRequest(format!("not an ECDSA P-256 public key: {e}")))
    }
}

/// A self-signed root CA with a fresh key, valid for a day around `now`:
/// trusted by nobody (Fulcio's `untrusted CA` fault, and the forge's).
pub fn other_root(common_name: &str, now: i64) -> Result<Authority, Error> {
    let key = SigningKey::random(&mut rand_core::OsRng);
    Authority::new(key, common_name, None, now - 3600, now + 86400)
}

/// A CT log with a fresh key: in nobody's trusted root (Fulcio's `unknown
/// CT log` fault, and the forge's).
pub fn other_ct_log() -> Result<CtLog, Error> {
    CtLog::new(SigningKey::random(&mut rand_core::OsRng))
}
