//! [`GpgKey`]: an OpenPGP functionary's key dict read and checked, and
//! signatures verified over the RFC 4880 v4 digest.

use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::{HASH_SHA1, HASH_SHA256, HASH_SHA512};
use crate::error::Error;

#[derive(Clone)]
pub(super) enum Material {
    Rsa(Box<rsa::RsaPublicKey>),
    Dsa(Box<dsa::VerifyingKey>),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// An OpenPGP public key (with its subkeys) from a securesystemslib dict.
#[derive(Clone)]
pub struct GpgKey {
    pub(super) keyid: String,
    pub(super) material: Material,
    pub(super) creation_time: Option<i64>,
    pub(super) validity_period: Option<i64>,
    pub(super) subkeys: Vec<GpgKey>,
}

impl std::fmt::Debug for GpgKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpgKey")
            .field("keyid", &self.keyid)
            .field("subkeys", &self.subkeys.len())
            .finish_non_exhaustive()
    }
}

pub(super) fn hex_field(public: &Value, name: &'static str) -> Result<Vec<u8>, Error> {
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
pub(super) const DSA_P_BITS: [usize; 4] = [1024, 2048, 3072, 4096];
pub(super) const DSA_Q_BITS: [usize; 3] = [160, 224, 256];

pub(super) fn dsa_key(public: &Value) -> Result<dsa::VerifyingKey, Error> {
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

    pub(super) fn from_dict_at(dict: &Value, depth: usize) -> Result<GpgKey, Error> {
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

    pub(super) fn key_for(&self, keyid: &str) -> Option<&GpgKey> {
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
pub(super) fn openpgp_digest(hash: u8, parts: &[&[u8]], headers: &[u8]) -> Result<Vec<u8>, Error> {
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

pub(super) fn verify_digest(
    material: &Material,
    hash: u8,
    digest: &[u8],
    signature: &[u8],
) -> bool {
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
