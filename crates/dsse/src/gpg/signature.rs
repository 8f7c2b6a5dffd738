//! Signature packets: the v4 body as securesystemslib reads it, and
//! [`parse_signature_packet`] for `gpg --detach-sign` output.

use super::packet::{read_packet, read_subpackets, Reader};
use super::{
    ALG_DSA, ALG_EDDSA, ALG_RSA, HASH_SHA256, MAX_SIGNATURE_PACKET_BYTES, SIG_BINARY,
    SUB_CREATION_TIME, SUB_ISSUER, SUB_ISSUER_FINGERPRINT, SUB_KEY_EXPIRATION, SUB_PRIMARY_USER_ID,
    TAG_SIGNATURE,
};
use crate::error::Error;

/// A v4 signature packet body, read as securesystemslib's
/// `parse_signature_packet` reads it.
pub(super) struct SignaturePacket<'a> {
    pub(super) sig_type: u8,
    pub(super) hash: u8,
    /// Version to the end of the hashed subpackets: `other_headers`.
    pub(super) hashed_part: &'a [u8],
    /// Issuer fingerprint (lowercase hex) or, without one, the issuer key id.
    pub(super) issuer: String,
    pub(super) has_fingerprint: bool,
    pub(super) key_expiration: Option<u32>,
    pub(super) primary_user_id: bool,
    pub(super) creation_time: u32,
    /// In the reference's encoding (RSA MPI, DSA DER, Ed25519 `r || s`).
    pub(super) signature: Vec<u8>,
}

pub(super) fn signature_numbers(r: &mut Reader<'_>, algorithm: u8) -> Result<Vec<u8>, Error> {
    match algorithm {
        ALG_RSA => Ok(r.mpi()?.to_vec()),
        ALG_DSA => {
            use dsa::pkcs8::der::Encode as _;
            let big = |b: &[u8]| dsa::BigUint::from_bytes_be(b);
            let (sr, ss) = (big(r.mpi()?), big(r.mpi()?));
            let malformed = |_| Error::malformed(r.what, "DSA signature numbers are zero");
            dsa::Signature::from_components(sr, ss)
                .map_err(malformed)?
                .to_der()
                .map_err(|_| Error::malformed(r.what, "DSA signature numbers"))
        }
        ALG_EDDSA => {
            let mut out = Vec::with_capacity(64);
            for _ in 0..2 {
                let half = r.mpi()?;
                let pad = 32usize.checked_sub(half.len()).ok_or(Error::malformed(
                    r.what,
                    "Ed25519 signature half over 32 bytes",
                ))?;
                out.resize(out.len() + pad, 0);
                out.extend_from_slice(half);
            }
            Ok(out)
        }
        value => Err(Error::UnsupportedOpenPgp {
            what: "public-key algorithm",
            value,
        }),
    }
}

pub(super) fn read_signature_body(body: &[u8]) -> Result<SignaturePacket<'_>, Error> {
    let what = "OpenPGP signature packet";
    let mut r = Reader::new(body, what);
    r.version_4("signature packet version")?;
    let [sig_type, algorithm, hash] = r.array()?;
    let hashed_len = usize::from(r.u16()?);
    let hashed = read_subpackets(r.take(hashed_len)?)?;
    let hashed_part = body
        .get(..6 + hashed_len)
        .ok_or(Error::malformed(what, "truncated"))?;
    let unhashed_len = usize::from(r.u16()?);
    let unhashed = read_subpackets(r.take(unhashed_len)?)?;
    let _hash_prefix = r.u16()?;
    let signature = signature_numbers(&mut r, algorithm)?;
    r.finish()?;
    let (mut fingerprint, mut short, mut creation) = (None, None, None);
    let (mut key_expiration, mut primary_user_id) = (None, false);
    // Unhashed first, hashed last: a hashed subpacket wins, as in the reference.
    let all = unhashed
        .iter()
        .map(|s| (false, s))
        .chain(hashed.iter().map(|s| (true, s)));
    for (is_hashed, &(kind, data)) in all {
        match kind {
            SUB_ISSUER_FINGERPRINT => match data.split_first() {
                Some((4, fpr)) if fpr.len() == 20 => fingerprint = Some(hex::encode(fpr)),
                _ => {
                    return Err(Error::malformed(
                        what,
                        "issuer fingerprint is not a v4 fingerprint",
                    ))
                }
            },
            SUB_ISSUER => {
                let id: [u8; 8] = data
                    .try_into()
                    .map_err(|_| Error::malformed(what, "issuer key id is not 8 bytes"))?;
                short = Some(hex::encode(id));
            }
            SUB_CREATION_TIME => {
                let time: [u8; 4] = data
                    .try_into()
                    .map_err(|_| Error::malformed(what, "creation time is not 4 bytes"))?;
                creation = Some(u32::from_be_bytes(time));
            }
            // Only hashed (signed) expiry and primary flags count.
            SUB_KEY_EXPIRATION if is_hashed => {
                let time: [u8; 4] = data
                    .try_into()
                    .map_err(|_| Error::malformed(what, "key expiration is not 4 bytes"))?;
                key_expiration = Some(u32::from_be_bytes(time));
            }
            SUB_PRIMARY_USER_ID if is_hashed => {
                primary_user_id = data.first().is_some_and(|&b| b != 0);
            }
            _ => {}
        }
    }
    if let (Some(fpr), Some(short)) = (&fingerprint, &short) {
        if !fpr.ends_with(short.as_str()) {
            return Err(Error::malformed(
                what,
                "issuer key id is not the end of the issuer fingerprint",
            ));
        }
    }
    let has_fingerprint = fingerprint.is_some();
    let issuer = fingerprint.or(short).ok_or(Error::malformed(
        what,
        "no issuer or issuer fingerprint subpacket",
    ))?;
    let creation_time = creation
        .filter(|&t| t != 0)
        .ok_or(Error::malformed(what, "no signature creation time"))?;
    Ok(SignaturePacket {
        sig_type,
        hash,
        hashed_part,
        issuer,
        has_fingerprint,
        key_expiration,
        primary_user_id,
        creation_time,
        signature,
    })
}

/// The reference's OpenPGP signature object, as written into a Metablock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpgSignature {
    /// Fingerprint of the signing key or subkey (lowercase hex).
    pub keyid: String,
    /// The signature packet's hashed part (`other_headers`, hex on the wire).
    pub other_headers: Vec<u8>,
    /// The signature numbers in the reference's encoding (hex on the wire).
    pub signature: Vec<u8>,
}

/// Reads the output of `gpg --detach-sign` (one binary v4 signature packet
/// of type 0x00, SHA-256, by an RSA, DSA or EdDSA key, with an issuer
/// fingerprint subpacket) into a signature object, like securesystemslib's
/// `parse_signature_packet`. Anything after the packet is refused.
pub fn parse_signature_packet(data: &[u8]) -> Result<GpgSignature, Error> {
    let what = "OpenPGP signature packet";
    crate::limits::at_most(what, data.len(), MAX_SIGNATURE_PACKET_BYTES)?;
    let mut r = Reader::new(data, what);
    let (tag, body) = read_packet(&mut r)?;
    if tag != TAG_SIGNATURE {
        return Err(Error::malformed(what, "the packet is not a signature"));
    }
    r.finish()?;
    let packet = read_signature_body(body)?;
    if packet.sig_type != SIG_BINARY {
        return Err(Error::UnsupportedOpenPgp {
            what: "signature type",
            value: packet.sig_type,
        });
    }
    if packet.hash != HASH_SHA256 {
        return Err(Error::UnsupportedOpenPgp {
            what: "signature hash algorithm (toto asks gpg for SHA-256, 8)",
            value: packet.hash,
        });
    }
    if !packet.has_fingerprint {
        return Err(Error::malformed(
            what,
            "no issuer fingerprint subpacket (GnuPG 2.1 or newer writes one)",
        ));
    }
    Ok(GpgSignature {
        keyid: packet.issuer,
        other_headers: packet.hashed_part.to_vec(),
        signature: packet.signature,
    })
}
