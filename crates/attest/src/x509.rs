//! ITE-7 X.509 functionaries, as in-toto-golang verifies them
//! (`in_toto/certconstraint.go`, `verifylib.go`
//! `VerifyLinkSignatureThesholds`, `keylib.go` `VerifyCertificateTrust`).
//!
//! A layout lists certificate authorities (`rootcas`, `intermediatecas`:
//! key dicts whose `keyval.certificate` is PEM) and a step lists
//! `cert_constraints`. A Metablock link then counts for the step when the
//! signature its file name points to carries a certificate (`cert`, PEM)
//! that
//!
//! 1. chains to a layout root through the layout's intermediates, every
//!    certificate valid at the verification time (links carry no signing
//!    time; in-toto-golang checks at `time.Now()`), the extended key usage
//!    of each being absent, `anyExtendedKeyUsage` or server authentication
//!    (Go's `x509.Verify` default);
//! 2. meets at least one constraint: for each attribute (`common_name`,
//!    `dns_names`, `emails`, `organizations`, `uris`, and `roots`, which is
//!    compared with the ids of *all* the layout's `rootcas`, not with the
//!    root the chain ends at) the certificate's values are exactly the
//!    constraint's, as sets; `["*"]` allows anything, `[]` and `[""]` allow
//!    nothing (a field left out is `[]`);
//! 3. holds the key whose signature verifies (the signature under the id of
//!    the certificate's key).
//!
//! DSSE links carry no certificate (in-toto-golang drops it too), so only
//! Metablock links can be signed by a certificate. A file named for a key
//! functionary of the step is that functionary's link only (in-toto-golang
//! would also try its certificate when the key's signature fails).
//!
//! Stricter than in-toto-golang, and documented: an unknown field in a
//! constraint (a misspelt `roots`, say) makes the layout malformed rather
//! than being ignored; every PEM block of a CA entry must be a certificate
//! that parses; a link's `cert` must be exactly one certificate; a URI is
//! compared as the certificate spells it (Go re-serializes it first); a CA
//! certificate cannot be the leaf (webpki). As in Go, the root's own
//! validity period and extended key usage are checked too; name constraints
//! and path lengths are webpki's reading of RFC 5280.

use std::collections::BTreeMap;
use std::fmt;

use rustls_pki_types::{
    alg_id, AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm,
    TrustAnchor,
};
use serde_json::{Map, Value};
use x509_cert::der::{Decode as _, Tag, Tagged as _};

use crate::error::Error;
use crate::time::UnixTime;

/// The value that allows anything for an attribute (`["*"]`, or `"*"` for
/// `common_name`).
pub const ALLOW_ALL: &str = "*";

/// The fields of a constraint, as in-toto-golang names them.
pub const CONSTRAINT_FIELDS: [&str; 6] = [
    "common_name",
    "dns_names",
    "emails",
    "organizations",
    "roots",
    "uris",
];

/// One entry of a step's `cert_constraints` (in-toto-golang's
/// `CertificateConstraint`): what a certificate must have to act as the
/// step's functionary. See the module docs for the matching rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertConstraint {
    /// The subject's common name (`"*"`: any; `""`: none).
    pub common_name: String,
    /// DNS name SANs.
    pub dns_names: Vec<String>,
    /// Email SANs.
    pub emails: Vec<String>,
    /// The subject's organizations.
    pub organizations: Vec<String>,
    /// Ids of the layout's `rootcas` (compared with all of them).
    pub roots: Vec<String>,
    /// URI SANs.
    pub uris: Vec<String>,
    /// The constraint as signed, written back unchanged.
    raw: Map<String, Value>,
}

impl CertConstraint {
    /// Reads one constraint (`where_` names it in errors).
    pub fn from_map(raw: Map<String, Value>, where_: &str) -> Result<CertConstraint, Error> {
        let bad = |reason: String| Error::Malformed {
            what: "layout",
            reason: format!("{where_}: {reason}"),
        };
        if let Some(unknown) = raw
            .keys()
            .find(|k| !CONSTRAINT_FIELDS.contains(&k.as_str()))
        {
            return Err(bad(format!(
                "unknown field {unknown:?} (a constraint has {}); \
                 in-toto-golang would ignore it, toto refuses to guess",
                CONSTRAINT_FIELDS.join(", ")
            )));
        }
        let list = |field: &str| -> Result<Vec<String>, Error> {
            match raw.get(field) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| bad(format!("{field}: {v} is not a string")))
                    })
                    .collect(),
                Some(other) => Err(bad(format!("{field}: {other} is not a list of strings"))),
            }
        };
        let common_name = match raw.get("common_name") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(bad(format!("common_name: {other} is not a string"))),
        };
        Ok(CertConstraint {
            common_name,
            dns_names: list("dns_names")?,
            emails: list("emails")?,
            organizations: list("organizations")?,
            roots: list("roots")?,
            uris: list("uris")?,
            raw,
        })
    }

    /// A constraint from its values (all six fields written).
    pub fn new(
        common_name: String,
        dns_names: Vec<String>,
        emails: Vec<String>,
        organizations: Vec<String>,
        roots: Vec<String>,
        uris: Vec<String>,
    ) -> CertConstraint {
        let mut raw = Map::new();
        raw.insert("common_name".into(), Value::String(common_name.clone()));
        for (field, values) in [
            ("dns_names", &dns_names),
            ("emails", &emails),
            ("organizations", &organizations),
            ("roots", &roots),
            ("uris", &uris),
        ] {
            raw.insert(field.into(), serde_json::json!(values));
        }
        CertConstraint {
            common_name,
            dns_names,
            emails,
            organizations,
            roots,
            uris,
            raw,
        }
    }

    /// The constraint as signed.
    pub fn to_value(&self) -> Value {
        Value::Object(self.raw.clone())
    }

    /// Every attribute this constraint does not allow `cert` to have, with
    /// the layout's root ids `root_ids` (the chain is checked apart).
    fn mismatches(&self, cert: &LeafCert, root_ids: &[String]) -> Vec<Mismatch> {
        let cn: Vec<String> = vec![cert.common_name.clone()];
        [
            (
                "common name",
                std::slice::from_ref(&self.common_name),
                cn.as_slice(),
            ),
            ("dns name", &self.dns_names[..], &cert.dns_names[..]),
            ("email", &self.emails[..], &cert.emails[..]),
            (
                "organization",
                &self.organizations[..],
                &cert.organizations[..],
            ),
            ("root", &self.roots[..], root_ids),
            ("uri", &self.uris[..], &cert.uris[..]),
        ]
        .into_iter()
        .filter(|(_, expected, found)| !values_match(expected, found))
        .map(|(attribute, expected, found)| Mismatch {
            attribute,
            expected: expected.to_vec(),
            found: found.to_vec(),
        })
        .collect()
    }
}

/// in-toto-golang's `checkCertConstraint`: `["*"]` allows anything; `[""]`
/// is `[]`; otherwise the values must be exactly the constraints, one to
/// one (a value twice is one too many).
pub fn values_match(constraints: &[String], values: &[String]) -> bool {
    if let [only] = constraints {
        if only == ALLOW_ALL {
            return true;
        }
    }
    let empty = |list: &[String]| list.is_empty() || matches!(list, [only] if only.is_empty());
    let constraints: &[String] = if empty(constraints) { &[] } else { constraints };
    let values: &[String] = if empty(values) { &[] } else { values };
    let mut unmet: std::collections::BTreeSet<&str> =
        constraints.iter().map(String::as_str).collect();
    values.iter().all(|v| unmet.remove(v.as_str())) && unmet.is_empty()
}

/// One attribute a certificate fails: what the constraint allows and what
/// the certificate has (or, for `root`, the layout's root ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `common name`, `dns name`, `email`, `organization`, `root`, `uri`.
    pub attribute: &'static str,
    /// The constraint's values.
    pub expected: Vec<String>,
    /// The certificate's values.
    pub found: Vec<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {:?}, found {:?}",
            self.attribute, self.expected, self.found
        )
    }
}

/// Why a certificate-signed link does not count for a step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertRefusal {
    /// No path to a layout root (the reason is webpki's, or a root not
    /// valid at the time).
    Chain {
        /// The certificate's subject.
        subject: String,
        /// Why.
        reason: String,
    },
    /// The chain holds, but no constraint of the step is met: each
    /// constraint's failed attributes, by index.
    Constraints {
        /// The step.
        step: String,
        /// The certificate's subject.
        subject: String,
        /// `(index in cert_constraints, what failed)`.
        failures: Vec<(usize, Vec<Mismatch>)>,
    },
}

impl fmt::Display for CertRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertRefusal::Chain { subject, reason } => write!(
                f,
                "certificate {subject:?} does not chain to a root of the layout (rootcas, \
                 through intermediatecas): {reason}"
            ),
            CertRefusal::Constraints {
                step,
                subject,
                failures,
            } => {
                write!(
                    f,
                    "certificate {subject:?} meets no cert_constraints entry of step {step:?}:"
                )?;
                for (index, mismatches) in failures {
                    write!(f, " [{index}]")?;
                    for (n, m) in mismatches.iter().enumerate() {
                        write!(f, "{} {m}", if n == 0 { "" } else { ";" })?;
                    }
                    write!(f, ".")?;
                }
                Ok(())
            }
        }
    }
}

/// A CA entry of a layout's `rootcas` or `intermediatecas`: a key dict
/// whose `keyval.certificate` holds one or more PEM certificates.
#[derive(Debug, Clone, PartialEq)]
pub struct CaCertificate {
    dict: Value,
    certs: Vec<Vec<u8>>,
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
fn pem_certificates(text: &str) -> Result<Vec<x509_cert::Certificate>, String> {
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
    der: Vec<u8>,
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
    root_ids: Vec<String>,
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

/// The signature algorithms of certificate chains, checked with the
/// RustCrypto crates `dsse` builds (no other crypto provider in `attest`).
#[rustfmt::skip]
static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PKCS1_SHA256, rsa_pkcs1::<sha2::Sha256>),
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PKCS1_SHA384, rsa_pkcs1::<sha2::Sha384>),
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PKCS1_SHA512, rsa_pkcs1::<sha2::Sha512>),
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PSS_SHA256, rsa_pss::<sha2::Sha256>),
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PSS_SHA384, rsa_pss::<sha2::Sha384>),
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PSS_SHA512, rsa_pss::<sha2::Sha512>),
    &Alg(alg_id::ECDSA_P256, alg_id::ECDSA_SHA256, p256_verify::<sha2::Sha256>),
    &Alg(alg_id::ECDSA_P256, alg_id::ECDSA_SHA384, p256_verify::<sha2::Sha384>),
    &Alg(alg_id::ECDSA_P384, alg_id::ECDSA_SHA256, p384_verify::<sha2::Sha256>),
    &Alg(alg_id::ECDSA_P384, alg_id::ECDSA_SHA384, p384_verify::<sha2::Sha384>),
    &Alg(alg_id::ECDSA_P521, alg_id::ECDSA_SHA512, p521_verify),
    &Alg(alg_id::ED25519, alg_id::ED25519, ed25519_verify),
];

type VerifyFn = fn(&[u8], &[u8], &[u8]) -> bool;

/// One algorithm: the key's and the signature's identifiers, and the check
/// (public key bits, message, signature).
struct Alg(AlgorithmIdentifier, AlgorithmIdentifier, VerifyFn);

impl fmt::Debug for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Alg").finish_non_exhaustive()
    }
}

impl SignatureVerificationAlgorithm for Alg {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if (self.2)(public_key, message, signature) {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.0
    }
    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.1
    }
}

fn rsa_pkcs1<D>(key: &[u8], msg: &[u8], sig: &[u8]) -> bool
where
    D: sha2::Digest + x509_cert::der::oid::AssociatedOid,
{
    rsa_check::<rsa::pkcs1v15::Signature, _>(key, msg, sig, rsa::pkcs1v15::VerifyingKey::<D>::new)
}

fn rsa_pss<D>(key: &[u8], msg: &[u8], sig: &[u8]) -> bool
where
    D: sha2::Digest + sha2::digest::FixedOutputReset,
{
    rsa_check::<rsa::pss::Signature, _>(key, msg, sig, rsa::pss::VerifyingKey::<D>::new)
}

/// An RSA signature `S` over `msg` by the PKCS#1 `key`, checked by the
/// verifier `make` builds from it (the padding and hash are its type's).
fn rsa_check<S, V>(key: &[u8], msg: &[u8], sig: &[u8], make: fn(rsa::RsaPublicKey) -> V) -> bool
where
    S: for<'a> TryFrom<&'a [u8]>,
    V: signature::Verifier<S>,
{
    use rsa::pkcs1::DecodeRsaPublicKey as _;
    let (Ok(key), Ok(sig)) = (rsa::RsaPublicKey::from_pkcs1_der(key), S::try_from(sig)) else {
        return false;
    };
    make(key).verify(msg, &sig).is_ok()
}

/// `$name::<D>`: a DER ECDSA signature by the SEC1 point `key` of the
/// curve crate `$curve`, over `msg` hashed with `D` (X.509 pairs a curve
/// with any SHA-2, so the digest is not the curve's own).
macro_rules! ecdsa_prehash_verify {
    ($name:ident, $curve:ident) => {
        fn $name<D: sha2::Digest>(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
            use signature::hazmat::PrehashVerifier as _;
            let (Ok(key), Ok(sig)) = (
                $curve::ecdsa::VerifyingKey::from_sec1_bytes(key),
                $curve::ecdsa::Signature::from_der(sig),
            ) else {
                return false;
            };
            key.verify_prehash(&D::digest(msg), &sig).is_ok()
        }
    };
}

ecdsa_prehash_verify!(p256_verify, p256);
ecdsa_prehash_verify!(p384_verify, p384);

fn p521_verify(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    use signature::Verifier as _;
    let (Ok(key), Ok(sig)) = (
        p521::ecdsa::VerifyingKey::from_sec1_bytes(key),
        p521::ecdsa::Signature::from_der(sig),
    ) else {
        return false;
    };
    key.verify(msg, &sig).is_ok()
}

fn ed25519_verify(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    use signature::Verifier as _;
    let (Ok(key), Ok(sig)) = (
        <[u8; 32]>::try_from(key),
        ed25519_dalek::Signature::from_slice(sig),
    ) else {
        return false;
    };
    ed25519_dalek::VerifyingKey::from_bytes(&key).is_ok_and(|k| k.verify(msg, &sig).is_ok())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// 2028-01-01T00:00:00Z: every fixture valid but `expired.cert.pem`.
    pub(crate) const NOW: UnixTime = 1_830_297_600;

    pub(crate) fn golang(name: &str) -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/peers/in-toto-golang");
        std::fs::read_to_string(dir.join(name)).unwrap()
    }

    pub(crate) fn fixture(name: &str) -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/x509");
        std::fs::read_to_string(dir.join(name)).unwrap()
    }

    fn cas(pems: &[String]) -> BTreeMap<String, CaCertificate> {
        pems.iter()
            .map(|pem| CaCertificate::from_pem(pem).unwrap())
            .collect()
    }

    /// in-toto-golang's test root and intermediate (`test/data`).
    fn golang_trust() -> CertTrust {
        CertTrust::new(
            &cas(&[golang("root.cert.pem")]),
            &cas(&[golang("example.com.intermediate.cert.pem")]),
        )
        .unwrap()
    }

    /// A constraint any certificate meets: only its chain is checked.
    fn any() -> [CertConstraint; 1] {
        [constraint("*", &["*"], &["*"], &["*"], &["*"], &["*"])]
    }

    /// Why in-toto-golang's test CAs refuse the fixture `leaf` (under
    /// [`any`] constraint).
    fn golang_refusal(leaf: &str) -> CertRefusal {
        let leaf = LeafCert::from_pem(&fixture(leaf)).unwrap();
        golang_trust().check("s", &any(), &leaf, NOW).unwrap_err()
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| (*s).to_owned()).collect()
    }

    /// in-toto-golang `certconstraint_test.go` `TestCheckCertConstraint`,
    /// case for case.
    #[test]
    fn values_match_as_in_toto_golang_checks_a_constraint() {
        let cases: [(&[&str], &[&str], bool); 8] = [
            (&["test1", "test2"], &["test2", "test1"], true),
            (&["test1", "test2"], &["test2"], false),
            (&[ALLOW_ALL], &["any", "thing", "goes"], true),
            (&[], &[], true),
            (&[], &["test1"], false),
            (&[""], &[""], true),
            (&[""], &["test1"], false),
            (&["test1", "test2"], &["test1", "test2", "test3"], false),
        ];
        for (constraints, values, expected) in cases {
            assert_eq!(
                values_match(&strings(constraints), &strings(values)),
                expected,
                "constraints {constraints:?}, values {values:?}"
            );
        }
    }

    /// `*` is a wildcard only alone: beside another value it is literal;
    /// a value twice is one too many.
    #[test]
    fn a_wildcard_is_a_wildcard_only_alone() {
        assert!(!values_match(&strings(&["*", "a"]), &strings(&["b"])));
        assert!(values_match(&strings(&["*", "a"]), &strings(&["a", "*"])));
        assert!(!values_match(&strings(&["a"]), &strings(&["a", "a"])));
        assert!(values_match(&strings(&["*"]), &[]));
    }

    fn constraint(
        cn: &str,
        dns: &[&str],
        emails: &[&str],
        orgs: &[&str],
        roots: &[&str],
        uris: &[&str],
    ) -> CertConstraint {
        CertConstraint::new(
            cn.into(),
            strings(dns),
            strings(emails),
            strings(orgs),
            strings(roots),
            strings(uris),
        )
    }

    /// in-toto-golang `TestConstraintCheck`, case for case, on a
    /// certificate with the same names (`testdata/x509/step1.cert.pem`,
    /// issued under in-toto-golang's test intermediate), the roots given as
    /// `["example"]` as there.
    #[test]
    fn constraints_check_as_in_toto_golang_checks_them() {
        let mut trust = golang_trust();
        trust.root_ids = strings(&["example"]);
        let cert = LeafCert::from_pem(&fixture("step1.cert.pem")).unwrap();
        let full = || {
            constraint(
                "step1.example.com",
                &["example.com"],
                &["example@example.com"],
                &["example"],
                &["example"],
                &["spiffe://example.com/step1"],
            )
        };
        let all =
            |roots: &[&str], uris: &[&str]| constraint("*", &["*"], &["*"], &["*"], roots, uris);
        let with = |edit: &dyn Fn(&mut CertConstraint)| {
            let mut c = full();
            edit(&mut c);
            c
        };
        let cases: Vec<(&str, CertConstraint, bool)> = vec![
            ("exact", full(), true),
            ("all wildcards", all(&["*"], &["*"]), true),
            ("all empty", constraint("", &[], &[], &[], &[], &[]), false),
            (
                "all [\"\"]",
                constraint("", &[""], &[""], &[""], &[""], &[""]),
                false,
            ),
            (
                "no common name",
                with(&|c| c.common_name = String::new()),
                false,
            ),
            ("no dns names", with(&|c| c.dns_names.clear()), false),
            ("no emails", with(&|c| c.emails.clear()), false),
            (
                "no organizations",
                with(&|c| c.organizations.clear()),
                false,
            ),
            ("no roots", with(&|c| c.roots.clear()), false),
            ("another root", all(&["example2"], &["*"]), false),
            ("no uris", with(&|c| c.uris.clear()), false),
            (
                "an extra uri",
                all(&["*"], &["spiffe://example.com/step1", "step1.example.com"]),
                false,
            ),
            (
                "another uri",
                all(&["*"], &["spiffe://example.com/step2"]),
                false,
            ),
        ];
        for (name, constraint, expected) in cases {
            let verdict = trust.check("step1", &[constraint], &cert, NOW);
            assert_eq!(verdict.is_ok(), expected, "{name}: {verdict:?}");
        }
    }

    /// The refusal names the step, the constraint, the attribute, and the
    /// expected and found values.
    #[test]
    fn a_refusal_names_step_constraint_expected_and_found() {
        let trust = golang_trust();
        let cert = LeafCert::from_pem(&fixture("other-org.cert.pem")).unwrap();
        let c = constraint(
            "write-code.example.com",
            &[],
            &[],
            &["example"],
            &["*"],
            &["spiffe://example.com/write-code"],
        );
        let refusal = trust
            .check("write-code", &[c.clone(), c], &cert, NOW)
            .unwrap_err();
        let shown = refusal.to_string();
        assert!(
            shown.contains(r#"step "write-code""#)
                && shown.contains(r#"[0] organization: expected ["example"], found ["other"]"#)
                && shown.contains("[1] organization"),
            "{shown}"
        );
    }

    /// in-toto-golang `keylib_test.go` `TestVerifyCertificateTrust`: its
    /// write-code leaf chains through its intermediate to its root; not
    /// without the intermediate, not without the root.
    #[test]
    fn chains_as_in_toto_golang_verifies_them() {
        let leaf = LeafCert::from_pem(&golang("example.com.write-code.cert.pem")).unwrap();
        let roots = cas(&[golang("root.cert.pem")]);
        let intermediates = cas(&[golang("example.com.intermediate.cert.pem")]);
        let any = any();
        let check = |roots, intermediates| {
            CertTrust::new(roots, intermediates)
                .unwrap()
                .check("write-code", &any, &leaf, NOW)
        };
        let empty = BTreeMap::new();
        check(&roots, &intermediates).unwrap();
        let no_intermediate = check(&roots, &empty).unwrap_err();
        assert!(
            no_intermediate.to_string().contains("issuer unknown"),
            "{no_intermediate}"
        );
        assert!(matches!(
            check(&empty, &intermediates),
            Err(CertRefusal::Chain { .. })
        ));
    }

    #[test]
    fn an_expired_certificate_does_not_chain() {
        let refusal = golang_refusal("expired.cert.pem");
        assert!(refusal.to_string().contains("expired"), "{refusal}");
        // The same certificate the day it was issued.
        let issued = LeafCert::from_pem(&fixture("step1.cert.pem")).unwrap();
        golang_trust().check("s", &any(), &issued, NOW).unwrap();
    }

    /// A root expired while the certificates under it are still valid
    /// (`short-root.cert.pem`, one day): no chain, and the message says it
    /// is the root.
    #[test]
    fn a_root_outside_its_validity_is_no_root() {
        let leaf = LeafCert::from_pem(&fixture("under-short-root.cert.pem")).unwrap();
        let any = any();
        let trust =
            CertTrust::new(&cas(&[fixture("short-root.cert.pem")]), &BTreeMap::new()).unwrap();
        let refusal = trust.check("s", &any, &leaf, NOW).unwrap_err();
        assert!(refusal.to_string().contains("not valid at"), "{refusal}");
    }

    /// A root with the layout root's name but another key: what it issued
    /// does not chain.
    #[test]
    fn a_certificate_of_a_look_alike_root_does_not_chain() {
        let refusal = golang_refusal("untrusted.cert.pem");
        assert!(
            matches!(refusal, CertRefusal::Chain { .. })
                && refusal.to_string().contains("does not verify"),
            "{refusal}"
        );
        // Trusting the look-alike instead, it does.
        let trust = CertTrust::new(
            &cas(&[fixture("untrusted-root.cert.pem")]),
            &BTreeMap::new(),
        )
        .unwrap();
        let leaf = LeafCert::from_pem(&fixture("untrusted.cert.pem")).unwrap();
        trust.check("s", &any(), &leaf, NOW).unwrap();
    }

    /// Go's `x509.Verify` asks for server authentication by default: a
    /// code-signing-only certificate does not chain there, nor here.
    #[test]
    fn extended_key_usage_is_go_default() {
        let refusal = golang_refusal("codesign.cert.pem");
        assert!(
            refusal.to_string().contains("extended key usage"),
            "{refusal}"
        );
    }

    /// in-toto-golang `TestLoadLayoutCertificates`: a root or intermediate
    /// whose certificate is not one is refused.
    #[test]
    fn a_ca_entry_without_a_certificate_is_refused() {
        let (id, ca) = CaCertificate::from_pem(&golang("root.cert.pem")).unwrap();
        let mut dict = ca.to_value();
        dict["keyval"]["certificate"] = "123123123".into();
        for field in ["rootcas", "intermediatecas"] {
            assert!(CaCertificate::from_key_dict(field, &id, dict.clone()).is_err());
        }
        // listed under another id
        assert!(CaCertificate::from_key_dict("rootcas", "ab", ca.to_value()).is_err());
    }

    /// A certificate's key is named as in-toto-golang names it
    /// (`keylib_test.go`: "rsa public key from certificate").
    #[test]
    fn a_certificate_key_has_in_toto_golangs_key_id() {
        let leaf = LeafCert::from_pem(&golang("example.com.write-code.cert.pem")).unwrap();
        let key = leaf.public_key().unwrap();
        assert!(
            key.matches_keyid("4979dea7a8467cbe0299693703b81d490854143b859a469ec0f6349e7bdf582a")
        );
        assert_eq!(leaf.common_name, "write-code.example.com");
        assert_eq!(leaf.organizations, ["example"]);
        assert_eq!(leaf.uris, ["spiffe://example.com/write-code"]);
    }

    /// A layout without CAs lets no certificate through, whatever the
    /// constraints (what the `x509` fuzz target asserts on any input).
    #[test]
    fn no_certificate_chains_without_cas() {
        let trust = CertTrust::new(&BTreeMap::new(), &BTreeMap::new()).unwrap();
        let any = any();
        for pem in [
            golang("example.com.write-code.cert.pem"),
            golang("root.cert.pem"),
        ] {
            let cert = LeafCert::from_pem(&pem).unwrap();
            assert!(trust.check("s", &any, &cert, NOW).is_err());
        }
    }

    /// Text of line breaks only, or nothing, is no certificate (and no
    /// panic).
    #[test]
    fn an_empty_certificate_is_refused() {
        for text in ["", "\n", "\r\n\n", " "] {
            assert!(LeafCert::from_pem(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_constraint_with_an_unknown_field_is_refused() {
        let raw = serde_json::json!({"common_name": "*", "roles": ["admin"]});
        let Value::Object(raw) = raw else {
            unreachable!()
        };
        let err = CertConstraint::from_map(raw, "step s: cert_constraints[0]").unwrap_err();
        assert!(err.to_string().contains("\"roles\""), "{err}");
    }
}
