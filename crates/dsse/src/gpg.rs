//! OpenPGP functionaries as the reference (securesystemslib `_gpg`) stores
//! them: key dicts with the key's numbers (`type` `rsa` / `eddsa`, `method`
//! `pgp+rsa-pkcsv1.5` / `pgp+eddsa-ed25519`, `keyval.public` `{n, e}` /
//! `{q}`, `subkeys`, `creation_time`, `validity_period`) and signature
//! objects `{keyid, other_headers, signature}` in Metablocks.
//!
//! A signature covers, as RFC 4880 section 5.2.4 says for v4 signatures,
//! `SHA-256(content || other_headers || 0x04 0xff || be32(len(other_headers)))`;
//! the reference always verifies with SHA-256. No OpenPGP packet parser is
//! needed to verify. DSA keys are not supported (refused as such).

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::Error;

#[derive(Clone)]
enum Material {
    Rsa(Box<rsa::RsaPublicKey>),
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
        let len = u32::try_from(other_headers.len()).map_err(|_| Error::Signature)?;
        let mut hasher = Sha256::new();
        hasher.update(content);
        hasher.update(other_headers);
        hasher.update([0x04, 0xff]);
        hasher.update(len.to_be_bytes());
        let digest = hasher.finalize();
        let ok = match &key.material {
            Material::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                // OpenPGP MPIs drop leading zeros: pad to the modulus size.
                let size = k.size();
                let mut padded = vec![0u8; size.saturating_sub(signature.len())];
                padded.extend_from_slice(signature);
                k.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, &padded)
                    .is_ok()
            }
            Material::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .ok()
                .is_some_and(|s| {
                    use signature::Verifier as _;
                    k.verify(&digest, &s).is_ok()
                }),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Signature)
        }
    }
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
}
