//! OpenPGP functionaries as the reference (securesystemslib `_gpg`) stores
//! them: key dicts with the key's numbers (`type` `rsa` / `dsa` / `eddsa`,
//! `method` `pgp+rsa-pkcsv1.5` / `pgp+dsa-fips-180-2` / `pgp+eddsa-ed25519`,
//! `keyval.public` `{n, e}` / `{p, q, g, y}` / `{q}`, `subkeys`,
//! `creation_time`, `validity_period`) and signature objects
//! `{keyid, other_headers, signature}` in Metablocks.
//!
//! A signature covers, as RFC 4880 section 5.2.4 says for v4 signatures,
//! `SHA-256(content || other_headers || 0x04 0xff || be32(len(other_headers)))`;
//! the reference always verifies with SHA-256 (and so does toto), whatever
//! hash the signature packet names. `signature` is the RSA MPI, the DER
//! `(r, s)` sequence for DSA, and `r || s` (32 bytes each) for Ed25519.
//!
//! Two small RFC 4880 readers serve the signing side and layout authoring,
//! as securesystemslib's do: [`parse_signature_packet`] turns the output of
//! `gpg --detach-sign` into a signature object, and [`key_dict_from_export`]
//! turns the output of `gpg --export KEYID` into a key dict (self-signatures
//! checked, subkeys kept only with exactly one valid binding signature). Both
//! are bounded ([`MAX_SIGNATURE_PACKET_BYTES`], [`MAX_KEY_EXPORT_BYTES`]) and
//! reject truncated packets, trailing data, partial or indeterminate
//! lengths, and versions other than 4. Revocation signatures are ignored,
//! as in the reference. The process that runs `gpg` lives in the CLI.

use serde_json::{json, Map, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use crate::error::Error;

/// Largest signature packet [`parse_signature_packet`] reads (an RSA-4096
/// signature packet from gpg is under 600 bytes).
pub const MAX_SIGNATURE_PACKET_BYTES: usize = 16 << 10;
/// Largest `gpg --export` output [`key_dict_from_export`] reads.
pub const MAX_KEY_EXPORT_BYTES: usize = 1 << 20;
/// Most packets in one key export, and most subpackets in one signature.
const MAX_PACKETS: usize = 4096;
const MAX_SUBPACKETS: usize = 256;

const ALG_RSA: u8 = 1;
const ALG_DSA: u8 = 17;
const ALG_EDDSA: u8 = 22;
const HASH_SHA1: u8 = 2;
const HASH_SHA256: u8 = 8;
const HASH_SHA512: u8 = 10;
const TAG_SIGNATURE: u8 = 2;
const TAG_PUBLIC_KEY: u8 = 6;
const TAG_USER_ID: u8 = 13;
const TAG_PUBLIC_SUBKEY: u8 = 14;
const TAG_USER_ATTRIBUTE: u8 = 17;
const SUB_CREATION_TIME: u8 = 2;
const SUB_KEY_EXPIRATION: u8 = 9;
const SUB_ISSUER: u8 = 16;
const SUB_PRIMARY_USER_ID: u8 = 25;
const SUB_ISSUER_FINGERPRINT: u8 = 33;
const SIG_BINARY: u8 = 0x00;
const SIG_SUBKEY_BINDING: u8 = 0x18;
const ED25519_OID: [u8; 9] = [0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01];
/// The reference's `hashes` entry of every OpenPGP key dict.
const HASHES: &str = "pgp+SHA2";

#[derive(Clone)]
enum Material {
    Rsa(Box<rsa::RsaPublicKey>),
    Dsa(Box<dsa::VerifyingKey>),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// An OpenPGP public key (with its subkeys) from a securesystemslib dict.
#[derive(Clone)]
pub struct GpgKey {
    keyid: String,
    material: Material,
    creation_time: Option<i64>,
    validity_period: Option<i64>,
    subkeys: Vec<GpgKey>,
}

impl std::fmt::Debug for GpgKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpgKey")
            .field("keyid", &self.keyid)
            .field("subkeys", &self.subkeys.len())
            .finish_non_exhaustive()
    }
}

fn hex_field(public: &Value, name: &'static str) -> Result<Vec<u8>, Error> {
    let text = public
        .get(name)
        .and_then(Value::as_str)
        .ok_or(Error::malformed(
            "OpenPGP key dict",
            "keyval.public is missing a number",
        ))?;
    hex::decode(text).map_err(|_| Error::Hex { field: name })
}

/// Whether a key dict is an OpenPGP one (securesystemslib `_gpg` format).
pub fn is_gpg_key_dict(dict: &Value) -> bool {
    dict.get("method")
        .and_then(Value::as_str)
        .is_some_and(|m| m.starts_with("pgp+"))
}

/// DSA domain sizes pyca/cryptography (and so the reference) accepts.
const DSA_P_BITS: [usize; 4] = [1024, 2048, 3072, 4096];
const DSA_Q_BITS: [usize; 3] = [160, 224, 256];

fn dsa_key(public: &Value) -> Result<dsa::VerifyingKey, Error> {
    let number = |name| hex_field(public, name).map(|b| dsa::BigUint::from_bytes_be(&b));
    let (p, q, g, y) = (number("p")?, number("q")?, number("g")?, number("y")?);
    let bits = |n: &dsa::BigUint| n.bits();
    if !DSA_P_BITS.contains(&bits(&p)) || !DSA_Q_BITS.contains(&bits(&q)) {
        return Err(Error::InvalidKey {
            reason:
                "OpenPGP DSA key: p must have 1024, 2048, 3072 or 4096 bits and q 160, 224 or 256",
        });
    }
    let invalid = |_| Error::InvalidKey {
        reason: "OpenPGP DSA key numbers are not a valid key",
    };
    let components = dsa::Components::from_components(p, q, g).map_err(invalid)?;
    dsa::VerifyingKey::from_components(components, y).map_err(invalid)
}

impl GpgKey {
    /// Reads a key dict; `depth` guards against subkeys of subkeys.
    pub fn from_key_dict(dict: &Value) -> Result<GpgKey, Error> {
        Self::from_dict_at(dict, 0)
    }

    fn from_dict_at(dict: &Value, depth: usize) -> Result<GpgKey, Error> {
        if depth > 1 {
            return Err(Error::malformed("OpenPGP key dict", "subkeys nest"));
        }
        let keyid = dict
            .get("keyid")
            .and_then(Value::as_str)
            .filter(|k| k.len() == 40 && k.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or(Error::malformed(
                "OpenPGP key dict",
                "keyid is not a 40-digit fingerprint",
            ))?
            .to_ascii_lowercase();
        let kind = dict.get("type").and_then(Value::as_str).unwrap_or_default();
        let method = dict
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let public = dict
            .get("keyval")
            .and_then(|k| k.get("public"))
            .ok_or(Error::malformed("OpenPGP key dict", "no keyval.public"))?;
        let material = match (kind, method) {
            ("rsa", "pgp+rsa-pkcsv1.5") => {
                let n = rsa::BigUint::from_bytes_be(&hex_field(public, "n")?);
                let e = rsa::BigUint::from_bytes_be(&hex_field(public, "e")?);
                Material::Rsa(Box::new(rsa::RsaPublicKey::new(n, e).map_err(|_| {
                    Error::InvalidKey {
                        reason: "OpenPGP RSA key numbers are not a valid key",
                    }
                })?))
            }
            ("dsa", "pgp+dsa-fips-180-2") => Material::Dsa(Box::new(dsa_key(public)?)),
            ("eddsa", "pgp+eddsa-ed25519") => {
                let q: [u8; 32] =
                    hex_field(public, "q")?
                        .try_into()
                        .map_err(|_| Error::InvalidKey {
                            reason: "OpenPGP ed25519 key is not 32 bytes",
                        })?;
                Material::Ed25519(ed25519_dalek::VerifyingKey::from_bytes(&q).map_err(|_| {
                    Error::InvalidKey {
                        reason: "OpenPGP ed25519 key is not a curve point",
                    }
                })?)
            }
            _ => {
                return Err(Error::UnsupportedKey {
                    keytype: kind.chars().take(32).collect(),
                    scheme: method.chars().take(64).collect(),
                })
            }
        };
        let mut subkeys = Vec::new();
        if let Some(map) = dict.get("subkeys").and_then(Value::as_object) {
            for sub in map.values() {
                subkeys.push(Self::from_dict_at(sub, depth + 1)?);
            }
        }
        Ok(GpgKey {
            keyid,
            material,
            creation_time: dict.get("creation_time").and_then(Value::as_i64),
            validity_period: dict.get("validity_period").and_then(Value::as_i64),
            subkeys,
        })
    }

    /// The fingerprint (lowercase hex), the key id the layout names it by.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The fingerprints of the subkeys the dict lists (lowercase hex).
    pub fn subkey_ids(&self) -> impl Iterator<Item = &str> {
        self.subkeys.iter().map(|s| s.keyid.as_str())
    }

    /// True when `keyid` is this key's or one of its subkeys'.
    pub fn matches_keyid(&self, keyid: &str) -> bool {
        self.key_for(keyid).is_some()
    }

    fn key_for(&self, keyid: &str) -> Option<&GpgKey> {
        let keyid = keyid.to_ascii_lowercase();
        if self.keyid == keyid {
            return Some(self);
        }
        self.subkeys.iter().find(|s| s.keyid == keyid)
    }

    /// Verifies an OpenPGP signature object by this key (or the subkey its
    /// keyid names) over `content`, at time `now` (expired keys fail).
    pub fn verify(
        &self,
        content: &[u8],
        keyid: &str,
        other_headers: &[u8],
        signature: &[u8],
        now: i64,
    ) -> Result<(), Error> {
        let key = self.key_for(keyid).ok_or(Error::Signature)?;
        if let (Some(created), Some(valid)) = (key.creation_time, key.validity_period) {
            if valid > 0 && created.saturating_add(valid) < now {
                return Err(Error::Signature);
            }
        }
        // The reference verifies with SHA-256 whatever the packet says.
        let digest =
            openpgp_digest(HASH_SHA256, &[content], other_headers).map_err(|_| Error::Signature)?;
        if verify_digest(&key.material, HASH_SHA256, &digest, signature) {
            Ok(())
        } else {
            Err(Error::Signature)
        }
    }
}

/// `H(parts.. || headers || 0x04 0xff || be32(len(headers)))`, RFC 4880
/// section 5.2.4, for the hashes the reference reads.
fn openpgp_digest(hash: u8, parts: &[&[u8]], headers: &[u8]) -> Result<Vec<u8>, Error> {
    fn run<D: Digest>(parts: &[&[u8]], headers: &[u8], len: u32) -> Vec<u8> {
        let mut hasher = D::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.update(headers);
        hasher.update([0x04, 0xff]);
        hasher.update(len.to_be_bytes());
        hasher.finalize().to_vec()
    }
    let len = u32::try_from(headers.len())
        .map_err(|_| Error::malformed("OpenPGP signature", "hashed headers too long"))?;
    match hash {
        HASH_SHA1 => Ok(run::<Sha1>(parts, headers, len)),
        HASH_SHA256 => Ok(run::<Sha256>(parts, headers, len)),
        HASH_SHA512 => Ok(run::<Sha512>(parts, headers, len)),
        value => Err(Error::UnsupportedOpenPgp {
            what: "hash algorithm",
            value,
        }),
    }
}

fn verify_digest(material: &Material, hash: u8, digest: &[u8], signature: &[u8]) -> bool {
    match material {
        Material::Rsa(k) => {
            use rsa::traits::PublicKeyParts;
            let scheme = match hash {
                HASH_SHA1 => rsa::Pkcs1v15Sign::new::<Sha1>(),
                HASH_SHA256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                HASH_SHA512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
                _ => return false,
            };
            // OpenPGP MPIs drop leading zeros: pad to the modulus size.
            let size = k.size();
            let mut padded = vec![0u8; size.saturating_sub(signature.len())];
            padded.extend_from_slice(signature);
            k.verify(scheme, digest, &padded).is_ok()
        }
        Material::Dsa(k) => dsa::Signature::try_from(signature).ok().is_some_and(|s| {
            use signature::hazmat::PrehashVerifier as _;
            k.verify_prehash(digest, &s).is_ok()
        }),
        Material::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
            .ok()
            .is_some_and(|s| {
                use signature::Verifier as _;
                k.verify(digest, &s).is_ok()
            }),
    }
}

/// A bounds-checked cursor over packet bytes: every read is checked, a
/// short read is "truncated".
struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Reader { rest: data, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let (head, rest) = self
            .rest
            .split_at_checked(n)
            .ok_or(Error::malformed(self.what, "truncated"))?;
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let what = self.what;
        self.take(N)?
            .try_into()
            .map_err(|_| Error::malformed(what, "truncated"))
    }

    fn u8(&mut self) -> Result<u8, Error> {
        let [b] = self.array()?;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn len32(&mut self) -> Result<usize, Error> {
        let what = self.what;
        usize::try_from(self.u32()?).map_err(|_| Error::malformed(what, "length too large"))
    }

    /// A multiprecision integer: a 16-bit bit count, then its bytes.
    fn mpi(&mut self) -> Result<&'a [u8], Error> {
        let bits = usize::from(self.u16()?);
        if bits == 0 {
            return Err(Error::malformed(self.what, "empty MPI"));
        }
        self.take(bits.div_ceil(8))
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn finish(&self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::malformed(self.what, "trailing data"))
        }
    }
}

/// One packet (RFC 4880 section 4.2): its tag and body. Partial and
/// indeterminate lengths are refused, as in the reference.
fn read_packet<'a>(r: &mut Reader<'a>) -> Result<(u8, &'a [u8]), Error> {
    let first = r.u8()?;
    if first & 0x80 == 0 {
        return Err(Error::malformed(r.what, "not an OpenPGP packet header"));
    }
    let (tag, len) = if first & 0x40 != 0 {
        let len = match r.u8()? {
            b0 @ 0..=191 => usize::from(b0),
            b0 @ 192..=223 => ((usize::from(b0) - 192) << 8) + usize::from(r.u8()?) + 192,
            255 => r.len32()?,
            _ => {
                return Err(Error::malformed(
                    r.what,
                    "partial body lengths are not supported",
                ))
            }
        };
        (first & 0x3f, len)
    } else {
        let len = match first & 0x03 {
            0 => usize::from(r.u8()?),
            1 => usize::from(r.u16()?),
            2 => r.len32()?,
            _ => {
                return Err(Error::malformed(
                    r.what,
                    "indeterminate lengths are not supported",
                ))
            }
        };
        ((first & 0x3c) >> 2, len)
    };
    Ok((tag, r.take(len)?))
}

/// Signature subpackets (RFC 4880 section 5.2.3.1): type and body. The type
/// byte is kept whole (critical bit included), as the reference does.
fn read_subpackets(data: &[u8]) -> Result<Vec<(u8, &[u8])>, Error> {
    let mut r = Reader::new(data, "OpenPGP signature subpacket");
    let mut out = Vec::new();
    while !r.is_empty() {
        if out.len() >= MAX_SUBPACKETS {
            return Err(Error::TooMany {
                what: "OpenPGP signature subpackets",
                limit: MAX_SUBPACKETS,
                actual: out.len() + 1,
            });
        }
        let len = match r.u8()? {
            b0 @ 0..=191 => usize::from(b0),
            b0 @ 192..=254 => ((usize::from(b0) - 192) << 8) + usize::from(r.u8()?) + 192,
            255 => r.len32()?,
        };
        let body = r.take(len)?;
        let (&kind, payload) = body
            .split_first()
            .ok_or(Error::malformed(r.what, "empty subpacket"))?;
        out.push((kind, payload));
    }
    Ok(out)
}

/// A v4 signature packet body, read as securesystemslib's
/// `parse_signature_packet` reads it.
struct SignaturePacket<'a> {
    sig_type: u8,
    hash: u8,
    /// Version to the end of the hashed subpackets: `other_headers`.
    hashed_part: &'a [u8],
    /// Issuer fingerprint (lowercase hex) or, without one, the issuer key id.
    issuer: String,
    has_fingerprint: bool,
    key_expiration: Option<u32>,
    primary_user_id: bool,
    creation_time: u32,
    /// In the reference's encoding (RSA MPI, DSA DER, Ed25519 `r || s`).
    signature: Vec<u8>,
}

fn signature_numbers(r: &mut Reader<'_>, algorithm: u8) -> Result<Vec<u8>, Error> {
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

fn read_signature_body(body: &[u8]) -> Result<SignaturePacket<'_>, Error> {
    let what = "OpenPGP signature packet";
    let mut r = Reader::new(body, what);
    let version = r.u8()?;
    if version != 4 {
        return Err(Error::UnsupportedOpenPgp {
            what: "signature packet version",
            value: version,
        });
    }
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
    if data.len() > MAX_SIGNATURE_PACKET_BYTES {
        return Err(Error::TooLarge {
            what,
            limit: MAX_SIGNATURE_PACKET_BYTES,
            actual: data.len(),
        });
    }
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

/// A v4 public key or subkey packet body as a reference key dict, with the
/// key it describes.
fn read_public_key(body: &[u8]) -> Result<(Map<String, Value>, GpgKey), Error> {
    let what = "OpenPGP public key packet";
    let mut r = Reader::new(body, what);
    let version = r.u8()?;
    if version != 4 {
        return Err(Error::UnsupportedOpenPgp {
            what: "public key packet version",
            value: version,
        });
    }
    let creation_time = r.u32()?;
    let algorithm = r.u8()?;
    let (kind, method, public) = match algorithm {
        ALG_RSA => {
            let n = hex::encode(r.mpi()?);
            let e = hex::encode(r.mpi()?);
            ("rsa", "pgp+rsa-pkcsv1.5", json!({"n": n, "e": e}))
        }
        ALG_DSA => {
            let mut numbers = Map::new();
            for name in ["p", "q", "g", "y"] {
                numbers.insert(name.into(), Value::String(hex::encode(r.mpi()?)));
            }
            ("dsa", "pgp+dsa-fips-180-2", Value::Object(numbers))
        }
        ALG_EDDSA => {
            let oid_len = usize::from(r.u8()?);
            if r.take(oid_len)? != ED25519_OID {
                return Err(Error::malformed(what, "EdDSA curve is not Ed25519"));
            }
            let point = r.mpi()?;
            let q = match point.split_first() {
                Some((0x40, q)) if q.len() == 32 => q,
                _ => {
                    return Err(Error::malformed(
                        what,
                        "Ed25519 point is not 0x40 || 32 bytes",
                    ))
                }
            };
            ("eddsa", "pgp+eddsa-ed25519", json!({"q": hex::encode(q)}))
        }
        value => {
            return Err(Error::UnsupportedOpenPgp {
                what: "public-key algorithm",
                value,
            })
        }
    };
    r.finish()?;
    let len = u16::try_from(body.len())
        .map_err(|_| Error::malformed(what, "key packet over 65535 bytes"))?;
    let mut hasher = Sha1::new();
    hasher.update([0x99]);
    hasher.update(len.to_be_bytes());
    hasher.update(body);
    let keyid = hex::encode(hasher.finalize());
    let mut dict = Map::new();
    dict.insert("method".into(), json!(method));
    dict.insert("type".into(), json!(kind));
    dict.insert("hashes".into(), json!([HASHES]));
    dict.insert("creation_time".into(), json!(creation_time));
    dict.insert("keyid".into(), json!(keyid));
    dict.insert("keyval".into(), json!({"private": "", "public": public}));
    let key = GpgKey::from_key_dict(&Value::Object(dict.clone()))?;
    Ok((dict, key))
}

/// `0x99 || be16(len) || body`: how a key packet enters a self-signature.
fn key_hash_prefix(body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(body.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(body.len() + 3);
    out.push(0x99);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn self_signature_ok(primary: &GpgKey, parts: &[&[u8]], sig: &SignaturePacket<'_>) -> bool {
    matches!(sig.hash, HASH_SHA1 | HASH_SHA256 | HASH_SHA512)
        && openpgp_digest(sig.hash, parts, sig.hashed_part)
            .is_ok_and(|d| verify_digest(&primary.material, sig.hash, &d, &sig.signature))
}

/// Reads the output of `gpg --export KEYID` (one transferable public key,
/// RFC 4880 section 11.1) into the key dict securesystemslib's
/// `export_pubkey` makes: the primary key with the expiry of its newest valid
/// (primary) user ID self-certification, and `subkeys` with exactly one
/// valid binding signature (their expiry from it). Subkeys of algorithms
/// other than RSA, DSA and EdDSA (e.g. ECDH encryption subkeys) are left
/// out. When `keyid` is hex, the primary key or a kept subkey must end with
/// it.
pub fn key_dict_from_export(data: &[u8], keyid: &str) -> Result<Value, Error> {
    let what = "OpenPGP key export";
    if data.is_empty() {
        return Err(Error::malformed(what, "empty: no such key in the keyring"));
    }
    if data.len() > MAX_KEY_EXPORT_BYTES {
        return Err(Error::TooLarge {
            what,
            limit: MAX_KEY_EXPORT_BYTES,
            actual: data.len(),
        });
    }
    enum Slot {
        None,
        UserId(usize),
        Subkey(usize),
    }
    let mut r = Reader::new(data, what);
    let mut primary: Option<(&[u8], Map<String, Value>, GpgKey)> = None;
    let mut user_ids: Vec<(&[u8], Vec<&[u8]>)> = Vec::new();
    let mut subkeys: Vec<(&[u8], Vec<&[u8]>)> = Vec::new();
    let mut slot = Slot::None;
    let mut count = 0usize;
    while !r.is_empty() {
        count += 1;
        if count > MAX_PACKETS {
            return Err(Error::TooMany {
                what: "packets in an OpenPGP key export",
                limit: MAX_PACKETS,
                actual: count,
            });
        }
        let (tag, body) = read_packet(&mut r)?;
        match (tag, primary.is_some()) {
            (TAG_PUBLIC_KEY, false) => {
                let (dict, key) = read_public_key(body)?;
                primary = Some((body, dict, key));
            }
            (TAG_PUBLIC_KEY, true) => {
                return Err(Error::malformed(
                    what,
                    "more than one primary key (name exactly one key)",
                ))
            }
            (_, false) => {
                return Err(Error::malformed(
                    what,
                    "the first packet is not a public key",
                ))
            }
            (TAG_USER_ID, true) => {
                user_ids.push((body, Vec::new()));
                slot = Slot::UserId(user_ids.len() - 1);
            }
            (TAG_USER_ATTRIBUTE, true) => slot = Slot::None,
            (TAG_PUBLIC_SUBKEY, true) => {
                subkeys.push((body, Vec::new()));
                slot = Slot::Subkey(subkeys.len() - 1);
            }
            (TAG_SIGNATURE, true) => {
                let list = match slot {
                    Slot::UserId(i) => user_ids.get_mut(i),
                    Slot::Subkey(i) => subkeys.get_mut(i),
                    Slot::None => None,
                };
                if let Some((_, sigs)) = list {
                    sigs.push(body);
                }
            }
            _ => {} // trust, marker and other packets: ignored, as in the reference
        }
    }
    let Some((primary_body, mut dict, primary_key)) = primary else {
        return Err(Error::malformed(what, "no public key"));
    };
    let primary_prefix = key_hash_prefix(primary_body);

    // The primary key's expiry: securesystemslib `_assign_certified_key_info`.
    let (mut validity, mut is_primary, mut newest) = (None, false, None::<u32>);
    for (uid, sigs) in &user_ids {
        let uid_len = u32::try_from(uid.len()).unwrap_or(u32::MAX);
        let mut uid_prefix = vec![0xb4];
        uid_prefix.extend_from_slice(&uid_len.to_be_bytes());
        uid_prefix.extend_from_slice(uid);
        for body in sigs {
            let Ok(sig) = read_signature_body(body) else {
                continue;
            };
            if !(0x10..=0x13).contains(&sig.sig_type)
                || !primary_key.keyid.ends_with(&sig.issuer)
                || !self_signature_ok(&primary_key, &[&primary_prefix, &uid_prefix], &sig)
            {
                continue;
            }
            let Some(expiration) = sig.key_expiration else {
                continue;
            };
            if is_primary && !sig.primary_user_id {
                continue;
            }
            if newest.is_none_or(|t| t < sig.creation_time) {
                validity = Some(expiration);
                is_primary = sig.primary_user_id;
                newest = Some(sig.creation_time);
            }
        }
    }
    if let Some(v) = validity {
        dict.insert("validity_period".into(), json!(v));
    }

    // Subkeys: securesystemslib `_get_verified_subkeys`.
    let mut verified = Map::new();
    for (body, sigs) in &subkeys {
        let Ok((mut sub, _)) = read_public_key(body) else {
            continue;
        };
        let bindings: Vec<SignaturePacket<'_>> = sigs
            .iter()
            .filter_map(|b| read_signature_body(b).ok())
            .filter(|s| {
                s.sig_type == SIG_SUBKEY_BINDING
                    && matches!(s.hash, HASH_SHA1 | HASH_SHA256 | HASH_SHA512)
            })
            .collect();
        let [binding] = bindings.as_slice() else {
            continue;
        };
        let sub_prefix = key_hash_prefix(body);
        if !self_signature_ok(&primary_key, &[&primary_prefix, &sub_prefix], binding) {
            continue;
        }
        if let Some(v) = binding.key_expiration {
            sub.insert("validity_period".into(), json!(v));
        }
        let id = sub
            .get("keyid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        verified.insert(id, Value::Object(sub));
    }

    let wanted = keyid.trim_start_matches("0x").to_ascii_lowercase();
    if !wanted.is_empty() && wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
        let found =
            primary_key.keyid.ends_with(&wanted) || verified.keys().any(|k| k.ends_with(&wanted));
        if !found {
            return Err(Error::malformed(
                what,
                "neither the key nor a valid subkey has the requested key id",
            ));
        }
    }
    if !verified.is_empty() {
        dict.insert("subkeys".into(), Value::Object(verified));
    }
    Ok(Value::Object(dict))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refuses_unsupported_and_malformed_dicts() {
        let fpr = "ab".repeat(20);
        for dict in [
            json!({"type": "dsa", "method": "pgp+dsa-fips-180-2", "keyid": fpr, "keyval": {"public": {"p": "01", "q": "01", "g": "01", "y": "01"}}}),
            json!({"type": "rsa", "method": "pgp+rsa-pkcsv1.5", "keyid": "abc", "keyval": {"public": {"n": "01", "e": "03"}}}),
            json!({"type": "rsa", "method": "pgp+rsa-pkcsv1.5", "keyid": fpr, "keyval": {"public": {"n": "zz", "e": "03"}}}),
            json!({"type": "eddsa", "method": "pgp+eddsa-ed25519", "keyid": fpr, "keyval": {"public": {"q": "00"}}}),
            json!({"type": "eddsa", "method": "pgp+eddsa-ed25519", "keyid": fpr}),
        ] {
            assert!(GpgKey::from_key_dict(&dict).is_err(), "{dict}");
        }
        assert!(is_gpg_key_dict(&json!({"method": "pgp+rsa-pkcsv1.5"})));
        assert!(!is_gpg_key_dict(
            &json!({"keytype": "rsa", "scheme": "rsassa-pss-sha256"})
        ));
    }

    #[test]
    fn ed25519_signature_over_the_openpgp_digest() {
        use signature::Signer as _;
        let secret = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let fpr = "cd".repeat(20);
        let dict = json!({
            "type": "eddsa", "method": "pgp+eddsa-ed25519", "keyid": fpr,
            "creation_time": 100, "validity_period": 50,
            "keyval": {"public": {"q": hex::encode(secret.verifying_key().as_bytes())}},
        });
        let key = GpgKey::from_key_dict(&dict).unwrap();
        let headers = [4u8, 0, 22, 8, 0, 0];
        let mut h = Sha256::new();
        h.update(b"content");
        h.update(headers);
        h.update([4, 0xff]);
        h.update(6u32.to_be_bytes());
        let sig = secret.sign(&h.finalize()).to_bytes();
        assert!(key.verify(b"content", &fpr, &headers, &sig, 120).is_ok());
        assert!(key.verify(b"other", &fpr, &headers, &sig, 120).is_err());
        // Expired at 150.
        assert!(key.verify(b"content", &fpr, &headers, &sig, 151).is_err());
        assert!(key
            .verify(b"content", &"ef".repeat(20), &headers, &sig, 120)
            .is_err());
    }

    // Packet builders (RFC 4880), for hand-made vectors.
    fn packet(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0xc0 | tag];
        match body.len() {
            n @ 0..=191 => out.push(n as u8),
            n @ 192..=8383 => {
                let n = n - 192;
                out.extend([(n >> 8) as u8 + 192, n as u8]);
            }
            n => {
                out.push(255);
                out.extend((n as u32).to_be_bytes());
            }
        }
        out.extend_from_slice(body);
        out
    }

    fn mpi(bytes: &[u8]) -> Vec<u8> {
        let bytes = &bytes[bytes.iter().take_while(|&&b| b == 0).count()..];
        let bits = bytes.len() * 8 - bytes[0].leading_zeros() as usize;
        let mut out = (bits as u16).to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }

    fn sub(kind: u8, data: &[u8]) -> Vec<u8> {
        let mut out = vec![data.len() as u8 + 1, kind];
        out.extend_from_slice(data);
        out
    }

    fn ed25519_key_body(secret: &ed25519_dalek::SigningKey, created: u32) -> Vec<u8> {
        let mut body = vec![4];
        body.extend(created.to_be_bytes());
        body.push(ALG_EDDSA);
        body.push(ED25519_OID.len() as u8);
        body.extend(ED25519_OID);
        let mut point = vec![0x40];
        point.extend(secret.verifying_key().as_bytes());
        body.extend(mpi(&point));
        body
    }

    fn fingerprint(key_body: &[u8]) -> [u8; 20] {
        Sha1::digest(key_hash_prefix(key_body)).into()
    }

    /// A v4 signature body by an Ed25519 key over `parts`, with `hashed`
    /// subpackets and the issuer in the unhashed area.
    fn ed25519_sig_body(
        secret: &ed25519_dalek::SigningKey,
        issuer: &[u8; 20],
        sig_type: u8,
        extra_hashed: &[u8],
        parts: &[&[u8]],
    ) -> Vec<u8> {
        use signature::Signer as _;
        let mut hashed = sub(SUB_CREATION_TIME, &1000u32.to_be_bytes());
        let mut fpr = vec![4];
        fpr.extend(issuer);
        hashed.extend(sub(SUB_ISSUER_FINGERPRINT, &fpr));
        hashed.extend_from_slice(extra_hashed);
        let mut body = vec![4, sig_type, ALG_EDDSA, HASH_SHA256];
        body.extend((hashed.len() as u16).to_be_bytes());
        body.extend(&hashed);
        let digest = openpgp_digest(HASH_SHA256, parts, &body).unwrap();
        let unhashed = sub(SUB_ISSUER, &issuer[12..]);
        body.extend((unhashed.len() as u16).to_be_bytes());
        body.extend(&unhashed);
        body.extend(&digest[..2]);
        let sig = secret.sign(&digest).to_bytes();
        body.extend(mpi(&sig[..32]));
        body.extend(mpi(&sig[32..]));
        body
    }

    struct Fixture {
        primary: ed25519_dalek::SigningKey,
        primary_fpr: [u8; 20],
        subkey: ed25519_dalek::SigningKey,
        subkey_fpr: [u8; 20],
        export: Vec<u8>,
        binding_at: std::ops::Range<usize>,
    }

    fn fixture() -> Fixture {
        let primary = ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]);
        let subkey = ed25519_dalek::SigningKey::from_bytes(&[2u8; 32]);
        let pbody = ed25519_key_body(&primary, 500);
        let sbody = ed25519_key_body(&subkey, 600);
        let (primary_fpr, subkey_fpr) = (fingerprint(&pbody), fingerprint(&sbody));
        let uid = b"Test <t@example.com>";
        let mut uid_prefix = vec![0xb4];
        uid_prefix.extend((uid.len() as u32).to_be_bytes());
        uid_prefix.extend(uid);
        let mut expiry = sub(SUB_KEY_EXPIRATION, &86_400u32.to_be_bytes());
        expiry.extend(sub(SUB_PRIMARY_USER_ID, &[1]));
        let cert = ed25519_sig_body(
            &primary,
            &primary_fpr,
            0x13,
            &expiry,
            &[&key_hash_prefix(&pbody), &uid_prefix],
        );
        let binding = ed25519_sig_body(
            &primary,
            &primary_fpr,
            SIG_SUBKEY_BINDING,
            &sub(SUB_KEY_EXPIRATION, &3_600u32.to_be_bytes()),
            &[&key_hash_prefix(&pbody), &key_hash_prefix(&sbody)],
        );
        let mut export = packet(TAG_PUBLIC_KEY, &pbody);
        export.extend(packet(TAG_USER_ID, uid));
        export.extend(packet(TAG_SIGNATURE, &cert));
        export.extend(packet(TAG_PUBLIC_SUBKEY, &sbody));
        let start = export.len();
        export.extend(packet(TAG_SIGNATURE, &binding));
        Fixture {
            primary,
            primary_fpr,
            subkey,
            subkey_fpr,
            binding_at: start..export.len(),
            export,
        }
    }

    /// What `gpg --detach-sign` prints: one signature packet over `content`.
    fn detached(secret: &ed25519_dalek::SigningKey, fpr: &[u8; 20], content: &[u8]) -> Vec<u8> {
        packet(
            TAG_SIGNATURE,
            &ed25519_sig_body(secret, fpr, SIG_BINARY, &[], &[content]),
        )
    }

    #[test]
    fn detached_signature_packet_becomes_a_verifiable_signature_object() {
        let f = fixture();
        let dict = key_dict_from_export(&f.export, &hex::encode(f.primary_fpr)).unwrap();
        let key = GpgKey::from_key_dict(&dict).unwrap();
        for (secret, fpr) in [(&f.primary, f.primary_fpr), (&f.subkey, f.subkey_fpr)] {
            let sig = parse_signature_packet(&detached(secret, &fpr, b"content")).unwrap();
            assert_eq!(sig.keyid, hex::encode(fpr));
            assert_eq!(sig.signature.len(), 64);
            assert_eq!(&sig.other_headers[..4], &[4, 0, ALG_EDDSA, HASH_SHA256]);
            let verify = |content: &[u8]| {
                key.verify(
                    content,
                    &sig.keyid,
                    &sig.other_headers,
                    &sig.signature,
                    1000,
                )
            };
            assert!(verify(b"content").is_ok());
            assert!(matches!(verify(b"tampered"), Err(Error::Signature)));
        }
    }

    /// A Metablock with two OpenPGP signatures under one (sub)key id, one
    /// bad: the key does not verify, whichever comes first.
    #[test]
    fn a_bad_openpgp_signature_under_the_key_id_is_not_skipped() {
        let f = fixture();
        let dict = key_dict_from_export(&f.export, &hex::encode(f.primary_fpr)).unwrap();
        let key = GpgKey::from_key_dict(&dict).unwrap();
        let limits = crate::Limits::default();
        for (secret, fpr) in [(&f.primary, f.primary_fpr), (&f.subkey, f.subkey_fpr)] {
            let mut metablock = crate::Metablock::new(json!({"_type": "link"})).unwrap();
            let content = metablock.canonical_bytes().to_vec();
            let sig = parse_signature_packet(&detached(secret, &fpr, &content)).unwrap();
            metablock.add_gpg_signature(&sig);
            let good = metablock.to_value()["signatures"][0].clone();
            let mut bad = good.clone();
            let text = good["signature"].as_str().unwrap();
            let first = if text.starts_with('0') { "1" } else { "0" };
            bad["signature"] = json!(format!("{first}{}", &text[1..]));
            for signatures in [json!([good]), json!([bad, good]), json!([good, bad])] {
                let mut value = metablock.to_value();
                value["signatures"] = signatures.clone();
                let read =
                    crate::Metablock::from_json(value.to_string().as_bytes(), &limits).unwrap();
                let verdict = read.verify_gpg(&key, 1000);
                let alone = signatures.as_array().unwrap().len() == 1;
                assert_eq!(verdict.is_ok(), alone, "{signatures}");
            }
        }
    }

    #[test]
    fn key_export_reads_expiry_and_validly_bound_subkeys() {
        let f = fixture();
        let dict = key_dict_from_export(&f.export, &hex::encode(&f.subkey_fpr[12..])).unwrap();
        assert_eq!(dict["keyid"], hex::encode(f.primary_fpr));
        assert_eq!(dict["type"], "eddsa");
        assert_eq!(dict["method"], "pgp+eddsa-ed25519");
        assert_eq!(dict["hashes"], json!(["pgp+SHA2"]));
        assert_eq!(dict["creation_time"], 500);
        assert_eq!(dict["validity_period"], 86_400);
        assert_eq!(
            dict["keyval"]["public"]["q"],
            hex::encode(f.primary.verifying_key().as_bytes())
        );
        let sub = &dict["subkeys"][hex::encode(f.subkey_fpr)];
        assert_eq!(sub["validity_period"], 3_600);
        assert_eq!(sub["creation_time"], 600);
        // Expired subkey: created 600, valid 3600 s.
        let key = GpgKey::from_key_dict(&dict).unwrap();
        let sig = parse_signature_packet(&detached(&f.subkey, &f.subkey_fpr, b"x")).unwrap();
        let at = |now| key.verify(b"x", &sig.keyid, &sig.other_headers, &sig.signature, now);
        assert!(at(4_000).is_ok());
        assert!(at(4_201).is_err());
    }

    #[test]
    fn subkey_with_a_forged_binding_is_left_out() {
        let mut f = fixture();
        // Flip a bit of the binding signature's s value.
        let last = f.binding_at.end - 1;
        f.export[last] ^= 1;
        let dict = key_dict_from_export(&f.export, &hex::encode(f.primary_fpr)).unwrap();
        assert!(dict.get("subkeys").is_none(), "{dict}");
        // A signature by the unlisted subkey does not verify.
        let key = GpgKey::from_key_dict(&dict).unwrap();
        let sig = parse_signature_packet(&detached(&f.subkey, &f.subkey_fpr, b"x")).unwrap();
        assert!(key
            .verify(b"x", &sig.keyid, &sig.other_headers, &sig.signature, 1000)
            .is_err());
        // Asking for the subkey by id now fails.
        assert!(matches!(
            key_dict_from_export(&f.export, &hex::encode(f.subkey_fpr)),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn truncated_packets_are_refused() {
        let f = fixture();
        let sig = detached(&f.primary, &f.primary_fpr, b"x");
        for n in 0..sig.len() {
            assert!(parse_signature_packet(&sig[..n]).is_err(), "prefix {n}");
        }
        // A key export cut inside a packet is refused; cut between packets
        // it is a shorter, valid export.
        let mut boundaries = vec![0];
        let mut r = Reader::new(&f.export, "test");
        while !r.is_empty() {
            read_packet(&mut r).unwrap();
            boundaries.push(f.export.len() - r.rest.len());
        }
        for n in 0..f.export.len() {
            let result = key_dict_from_export(&f.export[..n], "");
            assert_eq!(
                result.is_ok(),
                n != 0 && boundaries.contains(&n),
                "prefix {n}"
            );
        }
        // An MPI longer than its packet.
        let mut body = vec![4, 0, ALG_RSA, HASH_SHA256, 0, 0, 0, 0, 0, 0];
        body.extend([0x08, 0x00, 1, 2, 3]);
        assert!(matches!(
            parse_signature_packet(&packet(TAG_SIGNATURE, &body)),
            Err(Error::Malformed {
                reason: "truncated",
                ..
            })
        ));
    }

    #[test]
    fn trailing_data_is_refused() {
        let f = fixture();
        let sig = detached(&f.primary, &f.primary_fpr, b"x");
        let mut extra_byte = sig.clone();
        extra_byte.push(0);
        let mut two_packets = sig.clone();
        two_packets.extend(&sig);
        for bad in [extra_byte, two_packets] {
            assert!(matches!(
                parse_signature_packet(&bad),
                Err(Error::Malformed {
                    reason: "trailing data",
                    ..
                })
            ));
        }
        // Bytes after the signature numbers, inside the packet.
        let mut body = ed25519_sig_body(&f.primary, &f.primary_fpr, 0, &[], &[b"x"]);
        body.push(0);
        assert!(parse_signature_packet(&packet(TAG_SIGNATURE, &body)).is_err());
        // Bytes after a key's numbers.
        let mut key = ed25519_key_body(&f.primary, 1);
        key.push(0);
        assert!(key_dict_from_export(&packet(TAG_PUBLIC_KEY, &key), "").is_err());
        // A second primary key.
        let mut two = f.export.clone();
        two.extend(packet(TAG_PUBLIC_KEY, &ed25519_key_body(&f.subkey, 1)));
        assert!(key_dict_from_export(&two, "").is_err());
    }

    #[test]
    fn unknown_algorithms_versions_and_lengths_are_refused() {
        let f = fixture();
        let body = ed25519_sig_body(&f.primary, &f.primary_fpr, 0, &[], &[b"x"]);
        let with = |at: usize, value: u8| {
            let mut b = body.clone();
            b[at] = value;
            parse_signature_packet(&packet(TAG_SIGNATURE, &b))
        };
        assert!(matches!(
            with(2, 19),
            Err(Error::UnsupportedOpenPgp {
                what: "public-key algorithm",
                value: 19
            })
        ));
        assert!(matches!(
            with(3, HASH_SHA1),
            Err(Error::UnsupportedOpenPgp { value: 2, .. })
        ));
        assert!(matches!(
            with(0, 3),
            Err(Error::UnsupportedOpenPgp { value: 3, .. })
        ));
        assert!(matches!(
            with(1, 0x01),
            Err(Error::UnsupportedOpenPgp { value: 1, .. })
        ));
        // ECDSA (19) primary key.
        let mut key = ed25519_key_body(&f.primary, 1);
        key[5] = 19;
        assert!(matches!(
            key_dict_from_export(&packet(TAG_PUBLIC_KEY, &key), ""),
            Err(Error::UnsupportedOpenPgp { value: 19, .. })
        ));
        // Partial (new format) and indeterminate (old format) lengths.
        for bad in [
            &[0xc2, 0xe1, 0, 0][..],
            &[0x8b, 0, 0][..],
            &[0x02, 1, 0][..],
        ] {
            assert!(parse_signature_packet(bad).is_err(), "{bad:?}");
        }
        // Not a signature packet.
        assert!(parse_signature_packet(&packet(TAG_USER_ID, b"x")).is_err());
        // Too large.
        assert!(matches!(
            parse_signature_packet(&vec![0; MAX_SIGNATURE_PACKET_BYTES + 1]),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn dsa_signature_packet_verifies_like_the_reference() {
        use signature::hazmat::PrehashSigner as _;
        let components =
            dsa::Components::generate(&mut rand_core::OsRng, dsa::KeySize::DSA_2048_224);
        let secret = dsa::SigningKey::generate(&mut rand_core::OsRng, components);
        let public = secret.verifying_key();
        let c = public.components();
        let fpr = [9u8; 20];
        let dict = json!({
            "type": "dsa", "method": "pgp+dsa-fips-180-2", "keyid": hex::encode(fpr),
            "keyval": {"public": {
                "p": hex::encode(c.p().to_bytes_be()), "q": hex::encode(c.q().to_bytes_be()),
                "g": hex::encode(c.g().to_bytes_be()), "y": hex::encode(public.y().to_bytes_be()),
            }},
        });
        let key = GpgKey::from_key_dict(&dict).unwrap();
        let mut hashed = sub(SUB_CREATION_TIME, &1000u32.to_be_bytes());
        let mut issuer = vec![4];
        issuer.extend(fpr);
        hashed.extend(sub(SUB_ISSUER_FINGERPRINT, &issuer));
        let mut body = vec![4, 0, ALG_DSA, HASH_SHA256];
        body.extend((hashed.len() as u16).to_be_bytes());
        body.extend(&hashed);
        let digest = openpgp_digest(HASH_SHA256, &[b"content"], &body).unwrap();
        body.extend([0, 0, digest[0], digest[1]]);
        let sig = secret.sign_prehash(&digest).unwrap();
        body.extend(mpi(&sig.r().to_bytes_be()));
        body.extend(mpi(&sig.s().to_bytes_be()));
        let object = parse_signature_packet(&packet(TAG_SIGNATURE, &body)).unwrap();
        // The reference stores DSA signatures as DER (r, s); q has 224 bits,
        // so the SHA-256 digest is truncated, as gpg's dsa2048 keys need.
        assert_eq!(object.signature.first(), Some(&0x30));
        let verify = |content: &[u8]| {
            key.verify(
                content,
                &object.keyid,
                &object.other_headers,
                &object.signature,
                0,
            )
        };
        assert!(verify(b"content").is_ok());
        assert!(verify(b"tampered").is_err());
    }
}
