//! The testbed's RFC 3161 timestamp authority: `POST /api/v1/timestamp`
//! takes a DER `TimeStampReq` and answers a DER `TimeStampResp` whose token
//! is a CMS SignedData over a `TSTInfo`, signed by a leaf certificate with
//! the (critical) timeStamping extended key usage under the TSA's own root.
//!
//! Every structure is a derived DER type: `TimeStampReq`, `TSTInfo` and
//! `TimeStampResp` from `x509-tsp`, the SignedData from `cms`, and the two
//! ESS attribute types below with `der`'s `#[derive(Sequence)]`. The request
//! is read by `der`, which refuses truncation, non-minimal lengths and
//! trailing data; what this TSA does not support is refused after.

use cms::cert::x509::attr::Attribute;
use cms::cert::x509::spki::{AlgorithmIdentifier, AlgorithmIdentifierOwned};
use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, Int, ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::server::{Answer, Shared};
use crate::{http, now, Error, Faults};

/// The OIDs used here.
mod oid {
    use der::asn1::ObjectIdentifier as Oid;

    /// id-signedData.
    pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    /// id-ct-TSTInfo.
    pub const TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
    /// id-contentType.
    pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    /// id-messageDigest.
    pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    /// id-aa-signingCertificateV2.
    pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
    /// id-sha256.
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// id-sha384.
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// id-sha512.
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
    /// ecdsa-with-SHA256.
    pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    /// The testbed's TSA policy (Sigstore's arc).
    pub const POLICY: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.2");
}

/// Largest `TimeStampReq` read.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// Longest nonce accepted, in bytes.
const MAX_NONCE_BYTES: usize = 64;

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, .. }`
/// (RFC 5035), with no policies.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, .. }`:
/// the SHA-256 of the signing certificate, algorithm left at its default.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

fn bad(why: impl std::fmt::Display) -> Error {
    Error::BadRequest(format!("TimeStampReq: {why}"))
}

fn internal(what: &'static str) -> impl Fn(der::Error) -> Error {
    move |e| Error::Internal(format!("{what}: {e}"))
}

fn any<T: der::Tagged + der::EncodeValue>(value: &T) -> Result<Any, Error> {
    Any::encode_from(value).map_err(internal("attribute"))
}

/// The digest length of a supported imprint algorithm.
fn digest_len(algorithm: &ObjectIdentifier) -> Option<usize> {
    match *algorithm {
        oid::SHA256 => Some(32),
        oid::SHA384 => Some(48),
        oid::SHA512 => Some(64),
        _ => None,
    }
}

/// Parses a DER `TimeStampReq` (RFC 3161 §2.4.1) and refuses what this TSA
/// does not do: version 1, a SHA-256/384/512 imprint of the right length
/// (parameters absent or NULL), no policy, an optional nonce of at most 64
/// bytes, an optional certReq, no extensions.
pub fn parse_request(der: &[u8]) -> Result<TimeStampReq, Error> {
    if der.len() > MAX_REQUEST_BYTES {
        return Err(bad("too large"));
    }
    let request = TimeStampReq::from_der(der).map_err(bad)?;
    let algorithm = &request.message_imprint.hash_algorithm;
    if algorithm.parameters.is_some() && algorithm.parameters != Some(Any::null()) {
        return Err(bad("unexpected hash algorithm parameters"));
    }
    let size = digest_len(&algorithm.oid)
        .ok_or_else(|| bad("hash algorithm is not SHA-256, SHA-384 or SHA-512"))?;
    if request.message_imprint.hashed_message.as_bytes().len() != size {
        return Err(bad("hashedMessage has the wrong length for its algorithm"));
    }
    if request.req_policy.is_some() {
        return Err(bad("reqPolicy is not supported"));
    }
    if request
        .nonce
        .as_ref()
        .is_some_and(|n| n.as_bytes().len() > MAX_NONCE_BYTES)
    {
        return Err(bad("nonce is too long"));
    }
    if request.extensions.is_some() {
        return Err(bad("extensions are not supported"));
    }
    Ok(request)
}

/// The timestamp authority: a signing key and its certificate chain.
#[derive(Debug, Clone)]
pub struct Tsa {
    key: SigningKey,
    leaf: Vec<u8>,
    leaf_cert: x509_cert::Certificate,
    root: Vec<u8>,
}

impl Tsa {
    /// A TSA signing with `key`, certified by `leaf` (DER) under `root`.
    pub fn new(key: SigningKey, leaf: Vec<u8>, root: Vec<u8>) -> Result<Tsa, Error> {
        let leaf_cert =
            x509_cert::Certificate::from_der(&leaf).map_err(internal("TSA certificate"))?;
        Ok(Tsa {
            key,
            leaf,
            leaf_cert,
            root,
        })
    }

    /// The leaf certificate, DER.
    pub fn leaf_der(&self) -> &[u8] {
        &self.leaf
    }

    /// The root certificate, DER.
    pub fn root_der(&self) -> &[u8] {
        &self.root
    }

    /// Answers a DER `TimeStampReq` with a granted DER `TimeStampResp`
    /// stamped `now`.
    pub fn respond(&self, request_der: &[u8], now: i64) -> Result<Vec<u8>, Error> {
        let request = parse_request(request_der)?;
        let mut serial = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut serial);
        // Positive, and no leading zero byte (a minimal DER INTEGER).
        serial[0] = (serial[0] & 0x7f) | 0x01;
        let secs = u64::try_from(now).map_err(|_| Error::Internal("time before 1970".into()))?;
        let tst_info = TstInfo {
            version: TspVersion::V1,
            policy: oid::POLICY,
            message_imprint: request.message_imprint,
            serial_number: Int::new(&serial).map_err(internal("serial"))?,
            gen_time: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
                .map_err(internal("time"))?,
            accuracy: None,
            ordering: false,
            nonce: request.nonce,
            tsa: None,
            extensions: None,
        };
        let tst_info = tst_info.to_der().map_err(internal("TSTInfo"))?;
        self.response_for(&tst_info, request.cert_req)
    }

    /// A granted `TimeStampResp` whose token signs `tst_info` (DER).
    pub fn response_for(&self, tst_info: &[u8], with_certificate: bool) -> Result<Vec<u8>, Error> {
        let sha256 = AlgorithmIdentifierOwned {
            oid: oid::SHA256,
            parameters: None,
        };
        let signing_certificate = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(Sha256::digest(&self.leaf).to_vec())
                    .map_err(internal("certificate hash"))?,
            }],
        };
        let attribute = |oid: ObjectIdentifier, value: Any| -> Result<Attribute, Error> {
            Ok(Attribute {
                oid,
                values: SetOfVec::try_from(vec![value]).map_err(internal("attribute"))?,
            })
        };
        let digest = OctetString::new(Sha256::digest(tst_info).to_vec())
            .map_err(internal("message digest"))?;
        let attributes = SetOfVec::try_from(vec![
            attribute(oid::CONTENT_TYPE, any(&oid::TST_INFO)?)?,
            attribute(oid::MESSAGE_DIGEST, any(&digest)?)?,
            attribute(oid::SIGNING_CERTIFICATE_V2, any(&signing_certificate)?)?,
        ])
        .map_err(internal("signed attributes"))?;
        // The signature covers the attributes' DER as a SET (RFC 5652 §5.4).
        let signed_over = attributes.to_der().map_err(internal("signed attributes"))?;
        let signature: DerSignature = self.key.sign(&signed_over);
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: self.leaf_cert.tbs_certificate.issuer.clone(),
                serial_number: self.leaf_cert.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sha256.clone(),
            signed_attrs: Some(attributes),
            signature_algorithm: AlgorithmIdentifier {
                oid: oid::ECDSA_SHA256,
                parameters: None,
            },
            signature: OctetString::new(signature.as_bytes()).map_err(internal("signature"))?,
            unsigned_attrs: None,
        };
        let certificates = if with_certificate {
            let leaf = cms::cert::CertificateChoices::Certificate(self.leaf_cert.clone());
            Some(CertificateSet::try_from(vec![leaf]).map_err(internal("certificates"))?)
        } else {
            None
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha256])
                .map_err(internal("digest algorithms"))?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: oid::TST_INFO,
                econtent: Some(
                    Any::encode_from(&OctetString::new(tst_info).map_err(internal("TSTInfo"))?)
                        .map_err(internal("TSTInfo"))?,
                ),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer_info])
                .map_err(internal("signer infos"))?,
        };
        let response = TimeStampResp {
            status: cmpv2::status::PkiStatusInfo {
                status: cmpv2::status::PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(ContentInfo {
                content_type: oid::SIGNED_DATA,
                content: Any::encode_from(&signed_data).map_err(internal("SignedData"))?,
            }),
        };
        response.to_der().map_err(internal("TimeStampResp"))
    }
}

/// The digest of `data` under the imprint algorithm `algorithm` (test use).
pub fn digest_for(algorithm: &ObjectIdentifier, data: &[u8]) -> Option<Vec<u8>> {
    match *algorithm {
        oid::SHA256 => Some(Sha256::digest(data).to_vec()),
        oid::SHA384 => Some(Sha384::digest(data).to_vec()),
        oid::SHA512 => Some(Sha512::digest(data).to_vec()),
        _ => None,
    }
}

/// A DER `TimeStampReq` for the SHA-256 of `data`, with `nonce` (a minimal
/// big-endian two's complement integer) and certReq: what clients send
/// (tests, and a reference for the signer).
pub fn request_for(data: &[u8], nonce: &[u8]) -> Result<Vec<u8>, Error> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                oid: oid::SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(Sha256::digest(data).to_vec())
                .map_err(internal("imprint"))?,
        },
        req_policy: None,
        nonce: Some(Int::new(nonce).map_err(internal("nonce"))?),
        cert_req: true,
        extensions: None,
    }
    .to_der()
    .map_err(internal("TimeStampReq"))
}

impl Shared {
    /// `POST /api/v1/timestamp`: an RFC 3161 answer for a DER request.
    pub(crate) fn timestamp(&self, request: &http::Request, faults: &Faults) -> Answer {
        let tsa = self
            .tsa
            .as_ref()
            .ok_or_else(|| Error::Internal("no TSA".into()))?;
        let body = if faults.tsa_other_imprint {
            // The request is still checked; the answer stamps another message.
            parse_request(&request.body)?;
            tsa.respond(&request_for(b"something else", &[1])?, now())?
        } else {
            tsa.respond(&request.body, now())?
        };
        let body = if faults.tsa_tampered {
            tamper_timestamp(body)
        } else {
            body
        };
        Ok(http::Response {
            status: 200,
            content_type: "application/timestamp-reply",
            body,
        })
    }
}

/// Flips a bit in the ECDSA signature at the end of a `TimeStampResp`
/// token, keeping the DER well-formed: the token parses, its signature
/// does not verify.
fn tamper_timestamp(mut der: Vec<u8>) -> Vec<u8> {
    // The token ends with the SignerInfo's signature OCTET STRING, whose
    // last byte is the low byte of ECDSA's `s`.
    if let Some(last) = der.last_mut() {
        *last ^= 0x01;
    }
    der
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_parsed_strictly() {
        let good = request_for(b"sig", &[7, 7]).unwrap();
        let parsed = parse_request(&good).unwrap();
        assert!(parsed.cert_req);
        assert_eq!(
            parsed.message_imprint.hashed_message.as_bytes(),
            Sha256::digest(b"sig").as_slice()
        );
        assert_eq!(parsed.nonce.unwrap().as_bytes(), &[7, 7]);
        // Trailing bytes, truncation at every length, a wrong digest length.
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(parse_request(&trailing).is_err());
        for n in 0..good.len() {
            assert!(parse_request(&good[..n]).is_err(), "truncated at {n}");
        }
        let mut short = TimeStampReq::from_der(&good).unwrap();
        short.message_imprint.hashed_message = OctetString::new(vec![1; 20]).unwrap();
        let err = parse_request(&short.to_der().unwrap()).unwrap_err();
        assert!(err.to_string().contains("wrong length"), "{err}");
        let mut policy = TimeStampReq::from_der(&good).unwrap();
        policy.req_policy = Some(oid::POLICY);
        let err = parse_request(&policy.to_der().unwrap()).unwrap_err();
        assert!(err.to_string().contains("reqPolicy"), "{err}");
        // Long-form lengths that are not minimal are not DER.
        assert!(parse_request(&[0x30, 0x81, 0x03, 0x02, 0x01, 0x01]).is_err());
        assert!(parse_request(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn answers_carry_the_imprint_and_nonce_in_a_signed_token() {
        use p256::ecdsa::signature::Verifier as _;
        let root_key = SigningKey::random(&mut rand_core::OsRng);
        let key = SigningKey::random(&mut rand_core::OsRng);
        let now = crate::now();
        let root = crate::pki::Authority::new(root_key, "tsa test root", None, now - 60, now + 60)
            .unwrap();
        let leaf = root
            .issue_tsa(&key, "tsa test", now - 60, now + 60)
            .unwrap();
        let tsa = Tsa::new(key.clone(), leaf.clone(), root.cert_der().to_vec()).unwrap();
        let answer = tsa
            .respond(&request_for(b"sig", &[7, 7]).unwrap(), now)
            .unwrap();
        let response = TimeStampResp::from_der(&answer).unwrap();
        assert_eq!(response.status.status, cmpv2::status::PkiStatus::Accepted);
        let token = response.time_stamp_token.unwrap();
        assert_eq!(token.content_type, oid::SIGNED_DATA);
        let signed_data = token.content.decode_as::<SignedData>().unwrap();
        let econtent = signed_data.encap_content_info.econtent.unwrap();
        let tst_der = econtent.decode_as::<OctetString>().unwrap();
        let tst = TstInfo::from_der(tst_der.as_bytes()).unwrap();
        assert_eq!(
            tst.message_imprint.hashed_message.as_bytes(),
            Sha256::digest(b"sig").as_slice()
        );
        assert_eq!(tst.nonce.unwrap().as_bytes(), &[7, 7]);
        assert_eq!(tst.gen_time.to_unix_duration().as_secs(), now as u64);
        let certificates = signed_data.certificates.unwrap();
        assert_eq!(certificates.0.len(), 1);
        let signer = signed_data.signer_infos.0.get(0).unwrap();
        let attributes = signer.signed_attrs.as_ref().unwrap();
        let signature = p256::ecdsa::DerSignature::try_from(signer.signature.as_bytes()).unwrap();
        key.verifying_key()
            .verify(&attributes.to_der().unwrap(), &signature)
            .unwrap();
    }
}
