//! The testbed's RFC 3161 timestamp authority: `POST /api/v1/timestamp`
//! takes a DER `TimeStampReq` and answers a DER `TimeStampResp` whose token
//! is a CMS SignedData over a `TSTInfo`, signed by a leaf certificate with
//! the (critical) timeStamping extended key usage under the TSA's own root.
//!
//! DER is written by hand (a few helpers below) and the request is read by
//! a small bounded reader: every length is checked against the bytes that
//! remain, nothing panics, trailing data is refused.

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::server::Shared;
use crate::{http, now, Error, Faults};

/// DER of the OIDs used here (tag and length included).
mod oid {
    /// id-signedData, 1.2.840.113549.1.7.2.
    pub const SIGNED_DATA: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
    ];
    /// id-ct-TSTInfo, 1.2.840.113549.1.9.16.1.4.
    pub const TST_INFO: &[u8] = &[
        0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
    ];
    /// id-contentType, 1.2.840.113549.1.9.3.
    pub const CONTENT_TYPE: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03,
    ];
    /// id-messageDigest, 1.2.840.113549.1.9.4.
    pub const MESSAGE_DIGEST: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04,
    ];
    /// id-aa-signingCertificateV2, 1.2.840.113549.1.9.16.2.47.
    pub const SIGNING_CERTIFICATE_V2: &[u8] = &[
        0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f,
    ];
    /// id-sha256, 2.16.840.1.101.3.4.2.1.
    pub const SHA256: &[u8] = &[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    ];
    /// id-sha384, 2.16.840.1.101.3.4.2.2.
    pub const SHA384: &[u8] = &[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
    ];
    /// id-sha512, 2.16.840.1.101.3.4.2.3.
    pub const SHA512: &[u8] = &[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
    ];
    /// ecdsa-with-SHA256, 1.2.840.10045.4.3.2.
    pub const ECDSA_SHA256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    /// The testbed's TSA policy, 1.3.6.1.4.1.57264.2 (Sigstore's arc).
    pub const POLICY: &[u8] = &[
        0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x02,
    ];
}

/// Largest `TimeStampReq` read.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// A DER TLV with a low tag number.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &cat(parts))
}

/// A DER SET OF: elements sorted by their encodings (X.690 §11.6).
fn set_of(parts: &[&[u8]], tag: u8) -> Vec<u8> {
    let mut sorted: Vec<&[u8]> = parts.to_vec();
    sorted.sort();
    tlv(tag, &sorted.concat())
}

/// A DER INTEGER from unsigned big-endian bytes.
fn uint(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(bytes.len().saturating_sub(1));
    let trimmed = bytes.get(skip..).unwrap_or(&[0]);
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    if content.is_empty() {
        content.push(0);
    }
    tlv(0x02, &content)
}

fn generalized_time(unix: i64) -> Result<Vec<u8>, Error> {
    let secs = u64::try_from(unix).map_err(|_| Error::Internal("time before 1970".into()))?;
    let t = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_err(|e| Error::Internal(format!("time: {e}")))?;
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minutes(),
        t.seconds()
    );
    Ok(tlv(0x18, text.as_bytes()))
}

/// One TLV read from a buffer: its tag, whole encoding and content.
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    whole: &'a [u8],
    content: &'a [u8],
}

fn bad(why: &str) -> Error {
    Error::BadRequest(format!("TimeStampReq: {why}"))
}

/// Reads one TLV off the front of `input`; returns it and the rest.
fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), Error> {
    let (&tag, rest) = input.split_first().ok_or_else(|| bad("truncated"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("high tag numbers are not supported"));
    }
    let (&first, mut rest) = rest.split_first().ok_or_else(|| bad("truncated"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(bad("indefinite or oversized length"));
        }
        let (bytes, after) = rest
            .split_at_checked(n)
            .ok_or_else(|| bad("truncated length"))?;
        rest = after;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        if len < 0x80 || bytes.first() == Some(&0) {
            return Err(bad("non-minimal length (not DER)"));
        }
        len
    };
    let (content, after) = rest
        .split_at_checked(len)
        .ok_or_else(|| bad("length runs past the end"))?;
    let header = input.len() - rest.len();
    let whole = input
        .get(..header + len)
        .ok_or_else(|| bad("length runs past the end"))?;
    Ok((
        Tlv {
            tag,
            whole,
            content,
        },
        after,
    ))
}

/// A parsed `TimeStampReq` (RFC 3161 §2.4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The whole `messageImprint` SEQUENCE, as received.
    pub message_imprint: &'a [u8],
    /// The hashed message.
    pub hashed_message: &'a [u8],
    /// The whole `nonce` INTEGER, as received.
    pub nonce: Option<&'a [u8]>,
    /// Whether the TSA's certificate is wanted in the answer.
    pub cert_req: bool,
}

/// Parses a DER `TimeStampReq`: version 1, a SHA-256/384/512 imprint of
/// the right length, no policy, optional nonce and certReq, no extensions.
pub fn parse_request(der: &[u8]) -> Result<Request<'_>, Error> {
    if der.len() > MAX_REQUEST_BYTES {
        return Err(bad("too large"));
    }
    let (outer, trailing) = read_tlv(der)?;
    if outer.tag != 0x30 || !trailing.is_empty() {
        return Err(bad("not a single DER SEQUENCE"));
    }
    let (version, rest) = read_tlv(outer.content)?;
    if version.tag != 0x02 || version.content != [1] {
        return Err(bad("version is not 1"));
    }
    let (imprint, mut rest) = read_tlv(rest)?;
    if imprint.tag != 0x30 {
        return Err(bad("messageImprint is not a SEQUENCE"));
    }
    let (algorithm, after) = read_tlv(imprint.content)?;
    let (hashed, after) = read_tlv(after)?;
    if algorithm.tag != 0x30 || hashed.tag != 0x04 || !after.is_empty() {
        return Err(bad("messageImprint is malformed"));
    }
    let (alg_oid, params) = read_tlv(algorithm.content)?;
    if !(params.is_empty() || params == [0x05, 0x00]) {
        return Err(bad("unexpected hash algorithm parameters"));
    }
    let size = match alg_oid.whole {
        o if o == oid::SHA256 => 32,
        o if o == oid::SHA384 => 48,
        o if o == oid::SHA512 => 64,
        _ => return Err(bad("hash algorithm is not SHA-256, SHA-384 or SHA-512")),
    };
    if hashed.content.len() != size {
        return Err(bad("hashedMessage has the wrong length for its algorithm"));
    }
    let mut request = Request {
        message_imprint: imprint.whole,
        hashed_message: hashed.content,
        nonce: None,
        cert_req: false,
    };
    // Optional fields, in their order.
    let mut stage = 0;
    while !rest.is_empty() {
        let (field, after) = read_tlv(rest)?;
        rest = after;
        match (field.tag, stage) {
            (0x06, 0) => return Err(bad("reqPolicy is not supported")),
            (0x02, s) if s < 1 => {
                if field.content.is_empty() || field.content.len() > 64 {
                    return Err(bad("nonce is empty or too long"));
                }
                request.nonce = Some(field.whole);
                stage = 1;
            }
            (0x01, s) if s < 2 => {
                request.cert_req = match field.content {
                    [0xff] => true,
                    [0x00] => false,
                    _ => return Err(bad("certReq is not a DER BOOLEAN")),
                };
                stage = 2;
            }
            (0xa0, _) => return Err(bad("extensions are not supported")),
            _ => return Err(bad("unexpected or misordered field")),
        }
    }
    Ok(request)
}

/// The timestamp authority: a signing key and its certificate chain.
#[derive(Debug, Clone)]
pub struct Tsa {
    key: SigningKey,
    leaf: Vec<u8>,
    root: Vec<u8>,
    issuer_and_serial: Vec<u8>,
}

impl Tsa {
    /// A TSA signing with `key`, certified by `leaf` (DER) under `root`.
    pub fn new(key: SigningKey, leaf: Vec<u8>, root: Vec<u8>) -> Result<Tsa, Error> {
        use der::{Decode, Encode};
        let cert = x509_cert::Certificate::from_der(&leaf)
            .map_err(|e| Error::Internal(format!("TSA certificate: {e}")))?;
        let issuer = cert
            .tbs_certificate
            .issuer
            .to_der()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let serial = cert
            .tbs_certificate
            .serial_number
            .to_der()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Tsa {
            key,
            leaf,
            root,
            issuer_and_serial: seq(&[&issuer, &serial]),
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
        let mut fields: Vec<Vec<u8>> = vec![
            uint(&[1]),
            oid::POLICY.to_vec(),
            request.message_imprint.to_vec(),
            uint(&serial),
            generalized_time(now)?,
        ];
        if let Some(nonce) = request.nonce {
            fields.push(nonce.to_vec());
        }
        let refs: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
        let tst_info = seq(&refs);
        Ok(self.response_for(&tst_info, request.cert_req))
    }

    /// A granted `TimeStampResp` whose token signs `tst_info` (DER).
    pub fn response_for(&self, tst_info: &[u8], with_certificate: bool) -> Vec<u8> {
        let sha256_alg = seq(&[oid::SHA256]);
        let content_type = seq(&[oid::CONTENT_TYPE, &tlv(0x31, oid::TST_INFO)]);
        let digest = tlv(0x04, &Sha256::digest(tst_info));
        let message_digest = seq(&[oid::MESSAGE_DIGEST, &tlv(0x31, &digest)]);
        let ess_cert_id = seq(&[&tlv(0x04, &Sha256::digest(&self.leaf))]);
        let signing_cert = seq(&[
            oid::SIGNING_CERTIFICATE_V2,
            &tlv(0x31, &seq(&[&seq(&[&ess_cert_id])])),
        ]);
        let attrs: [&[u8]; 3] = [&content_type, &message_digest, &signing_cert];
        let signed_over = set_of(&attrs, 0x31);
        let signature: DerSignature = self.key.sign(&signed_over);
        let signer_info = seq(&[
            &uint(&[1]),
            &self.issuer_and_serial,
            &sha256_alg,
            &set_of(&attrs, 0xa0),
            &seq(&[oid::ECDSA_SHA256]),
            &tlv(0x04, signature.as_bytes()),
        ]);
        let encap = seq(&[oid::TST_INFO, &tlv(0xa0, &tlv(0x04, tst_info))]);
        let certificates = if with_certificate {
            tlv(0xa0, &self.leaf)
        } else {
            Vec::new()
        };
        let signed_data = seq(&[
            &uint(&[3]),
            &tlv(0x31, &sha256_alg),
            &encap,
            &certificates,
            &tlv(0x31, &signer_info),
        ]);
        let content_info = seq(&[oid::SIGNED_DATA, &tlv(0xa0, &signed_data)]);
        seq(&[&seq(&[&uint(&[0])]), &content_info])
    }
}

/// The digest of `data` under the imprint algorithm of `oid_der` (test use).
pub fn digest_for(oid_der: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    match oid_der {
        o if o == oid::SHA256 => Some(Sha256::digest(data).to_vec()),
        o if o == oid::SHA384 => Some(Sha384::digest(data).to_vec()),
        o if o == oid::SHA512 => Some(Sha512::digest(data).to_vec()),
        _ => None,
    }
}

/// A DER `TimeStampReq` for the SHA-256 of `data`, with a nonce and
/// certReq: what clients send (tests, and a reference for the signer).
pub fn request_for(data: &[u8], nonce: &[u8]) -> Vec<u8> {
    let imprint = seq(&[&seq(&[oid::SHA256]), &tlv(0x04, &Sha256::digest(data))]);
    seq(&[&uint(&[1]), &imprint, &uint(nonce), &tlv(0x01, &[0xff])])
}

impl Shared {
    /// `POST /api/v1/timestamp`: an RFC 3161 answer for a DER request.
    pub(crate) fn timestamp(
        &self,
        request: &http::Request,
        faults: &Faults,
    ) -> Result<http::Response, Error> {
        let tsa = self
            .tsa
            .as_ref()
            .ok_or_else(|| Error::Internal("no TSA".into()))?;
        let body = if faults.tsa_other_imprint {
            // The request is still checked; the answer stamps another message.
            parse_request(&request.body)?;
            tsa.respond(&request_for(b"something else", &[1]), now())?
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
        let good = request_for(b"sig", &[7, 7]);
        let parsed = parse_request(&good).unwrap();
        assert!(parsed.cert_req);
        assert_eq!(parsed.hashed_message, Sha256::digest(b"sig").as_slice());
        assert_eq!(parsed.nonce, Some(&[0x02, 0x02, 7, 7][..]));
        // Trailing bytes, truncation at every length, a wrong digest length.
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(parse_request(&trailing).is_err());
        for n in 0..good.len() {
            assert!(parse_request(&good[..n]).is_err(), "truncated at {n}");
        }
        let short = seq(&[
            &uint(&[1]),
            &seq(&[&seq(&[oid::SHA256]), &tlv(0x04, &[1; 20])]),
        ]);
        assert!(parse_request(&short).is_err());
        // Long-form lengths that are not minimal are not DER.
        assert!(parse_request(&[0x30, 0x81, 0x03, 0x02, 0x01, 0x01]).is_err());
        assert!(parse_request(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn lengths_are_minimal() {
        assert_eq!(tlv(4, &[0; 5]).get(..2), Some(&[4, 5][..]));
        assert_eq!(tlv(4, &[0; 200]).get(..3), Some(&[4, 0x81, 200][..]));
        assert_eq!(tlv(4, &[0; 300]).get(..4), Some(&[4, 0x82, 1, 44][..]));
        assert_eq!(uint(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(uint(&[0, 0, 5]), vec![2, 1, 5]);
    }
}
