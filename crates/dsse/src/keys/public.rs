//! [`PublicKey`]: reading SPKI PEM and securesystemslib key dicts, naming
//! the key (both key id styles, SPKI digest) and verifying signatures.

use std::fmt;

use serde_json::{json, Value};
use sha2::Digest as _;
use signature::hazmat::PrehashVerifier as _;
use signature::Verifier as _;

use super::keyid::{current_keyid, default_hash_algorithms, legacy_keyid, sha256_hex};
use super::rsassa::rsa_verify;
use super::spki::{
    default_scheme, key_dict_scheme_fits, pem_decode, public_material_from_spki, scheme_fits,
    spki_der, spki_pem, PublicMaterial,
};
use super::{KeyId, KeyedVerifier, Scheme, SigBytes};
use crate::error::Error;

/// A public key with its scheme, as named in in-toto metadata.
#[derive(Clone)]
pub struct PublicKey {
    material: PublicMaterial,
    pub(super) scheme: Scheme,
    keytype: String,
    public: String,
    pub(super) keyid: KeyId,
    legacy_keyid: KeyId,
    /// Further legacy ids other implementations compute for this key (see
    /// `from_material`); `keyid` and `legacy_keyid` are not repeated here.
    aliases: Vec<KeyId>,
    spki_sha256: String,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("keyid", &self.keyid)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    fn build(
        material: PublicMaterial,
        scheme: Scheme,
        keytype: String,
        public: String,
        legacy_public: &str,
        hash_algorithms: &Value,
        fits: fn(Scheme, &PublicMaterial) -> bool,
    ) -> Result<PublicKey, Error> {
        if !fits(scheme, &material) {
            return Err(Error::UnsupportedKey {
                keytype,
                scheme: scheme.name(),
            });
        }
        let keyid = current_keyid(&keytype, &scheme.name(), &public)?;
        let legacy_keyid = legacy_keyid(&keytype, &scheme.name(), legacy_public, hash_algorithms)?;
        let spki_sha256 = sha256_hex(&spki_der(&material)?);
        Ok(PublicKey {
            material,
            scheme,
            keytype,
            public,
            keyid,
            legacy_keyid,
            aliases: Vec::new(),
            spki_sha256,
        })
    }

    fn add_alias(&mut self, id: KeyId) {
        if id != self.keyid && id != self.legacy_keyid && !self.aliases.contains(&id) {
            self.aliases.push(id);
        }
    }

    /// A key read from PEM (or from a private key): `keyval.public` is the
    /// SPKI PEM with its final newline, as securesystemslib's
    /// `SSlibKey.from_crypto` writes it; the legacy id hashes the same PEM
    /// without the final newline, as in-toto-golang's `LoadKey` and
    /// securesystemslib's legacy PEM import do. An ECDSA key also answers to
    /// the legacy id in-toto-golang's `LoadKeyDefaults` gives every ECDSA
    /// key, whatever its curve: scheme `ecdsa-sha2-nistp256`.
    pub(super) fn from_material(
        material: PublicMaterial,
        scheme: Option<Scheme>,
    ) -> Result<Self, Error> {
        let scheme = scheme.unwrap_or_else(|| default_scheme(&material));
        let public = match &material {
            PublicMaterial::Ed25519(k) => hex::encode(k.as_bytes()),
            other => spki_pem(other)?,
        };
        let legacy_public = public.trim_end().to_owned();
        let keytype = scheme.keytype().to_owned();
        let mut key = Self::build(
            material,
            scheme,
            keytype,
            public,
            &legacy_public,
            &default_hash_algorithms(),
            scheme_fits,
        )?;
        if key.keytype == "ecdsa" {
            key.add_alias(legacy_keyid(
                "ecdsa",
                &Scheme::EcdsaP256.name(),
                &legacy_public,
                &default_hash_algorithms(),
            )?);
        }
        Ok(key)
    }

    /// Reads an SPKI public key PEM (`-----BEGIN PUBLIC KEY-----`), as
    /// `openssl` and securesystemslib write them. `scheme` overrides the
    /// default (RSA keys default to `rsassa-pss-sha256`).
    ///
    /// securesystemslib's legacy import (in-toto 2.x `--layout-keys`) hashes
    /// the file's own text from `-----BEGIN` to `-----END PUBLIC KEY-----`
    /// with `\r\n` made `\n`; for the 64-column PEM this reader accepts,
    /// that is the legacy id above.
    pub fn from_pem(pem: &[u8], scheme: Option<Scheme>) -> Result<PublicKey, Error> {
        let (label, der) = pem_decode(pem)?;
        if label != "PUBLIC KEY" {
            return Err(Error::InvalidKey {
                reason: "expected a PEM \"PUBLIC KEY\" (SubjectPublicKeyInfo)",
            });
        }
        Self::from_material(public_material_from_spki(&der)?, scheme)
    }

    /// Reads a DER SubjectPublicKeyInfo (the key of an X.509 certificate),
    /// named as [`PublicKey::from_pem`] names the same key in PEM.
    pub fn from_spki_der(der: &[u8], scheme: Option<Scheme>) -> Result<PublicKey, Error> {
        Self::from_material(public_material_from_spki(der)?, scheme)
    }

    /// Reads a securesystemslib key dict:
    /// `{"keytype", "scheme", "keyval": {"public"}, ["keyid_hash_algorithms"], ["keyid"]}`.
    /// A `keyid` in the dict must match the key in either style.
    pub fn from_key_dict(dict: &Value) -> Result<PublicKey, Error> {
        let field = |name: &'static str| {
            dict.get(name)
                .and_then(Value::as_str)
                .ok_or(Error::malformed(
                    "key dict",
                    "missing string field keytype/scheme",
                ))
        };
        let keytype = field("keytype")?;
        let scheme_name = field("scheme")?;
        let public = dict
            .get("keyval")
            .and_then(|v| v.get("public"))
            .and_then(Value::as_str)
            .ok_or(Error::malformed("key dict", "missing keyval.public"))?;
        let unsupported = || Error::UnsupportedKey {
            keytype: keytype.chars().take(64).collect(),
            scheme: scheme_name.chars().take(64).collect(),
        };
        let scheme = Scheme::from_name(scheme_name).ok_or_else(unsupported)?;
        let keytype_ok = match keytype {
            "ed25519" => scheme == Scheme::Ed25519,
            "rsa" => matches!(scheme, Scheme::RsaPss(_) | Scheme::RsaPkcs1v15(_)),
            "ecdsa" | "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521" => {
                matches!(
                    scheme,
                    Scheme::EcdsaP224 | Scheme::EcdsaP256 | Scheme::EcdsaP384 | Scheme::EcdsaP521
                )
            }
            _ => false,
        };
        if !keytype_ok {
            return Err(unsupported());
        }
        let material = if scheme == Scheme::Ed25519 {
            let raw = hex::decode(public).map_err(|_| Error::Hex {
                field: "keyval.public",
            })?;
            let raw: [u8; 32] = raw.try_into().map_err(|_| Error::InvalidKey {
                reason: "ed25519 public key is not 32 bytes",
            })?;
            ed25519_dalek::VerifyingKey::from_bytes(&raw)
                .map(PublicMaterial::Ed25519)
                .map_err(|_| Error::InvalidKey {
                    reason: "ed25519 public key does not decode",
                })?
        } else {
            let (label, der) = pem_decode(public.as_bytes())?;
            if label != "PUBLIC KEY" {
                return Err(Error::InvalidKey {
                    reason: "keyval.public is not a PUBLIC KEY PEM",
                });
            }
            public_material_from_spki(&der)?
        };
        let hash_algorithms = dict
            .get("keyid_hash_algorithms")
            .cloned()
            .unwrap_or_else(default_hash_algorithms);
        let key = Self::build(
            material,
            scheme,
            keytype.to_owned(),
            public.to_owned(),
            public,
            &hash_algorithms,
            key_dict_scheme_fits,
        )?;
        if let Some(declared) = dict.get("keyid") {
            let declared = declared
                .as_str()
                .ok_or(Error::malformed("key dict", "keyid is not a string"))?;
            if !key.matches_keyid(declared) {
                return Err(Error::KeyIdMismatch {
                    declared: declared.chars().take(128).collect(),
                    computed: key.keyid.0.clone(),
                });
            }
        }
        Ok(key)
    }

    /// The current-style key id.
    pub fn keyid(&self) -> &KeyId {
        &self.keyid
    }

    /// The legacy key id (with `keyid_hash_algorithms`), as in-toto-golang
    /// and in-toto 2.x compute it for this key.
    pub fn legacy_keyid(&self) -> &KeyId {
        &self.legacy_keyid
    }

    /// The legacy ids besides [`legacy_keyid`](Self::legacy_keyid): for
    /// an ECDSA key of another curve, the one in-toto-golang gives it under
    /// its default scheme `ecdsa-sha2-nistp256`.
    pub fn other_legacy_keyids(&self) -> &[KeyId] {
        &self.aliases
    }

    /// Every id this key answers to: current, legacy, then the
    /// [other legacy ids](Self::other_legacy_keyids).
    pub fn keyids(&self) -> impl Iterator<Item = &KeyId> {
        [&self.keyid, &self.legacy_keyid]
            .into_iter()
            .chain(self.aliases.iter())
    }

    /// SHA-256 (hex) of the key's DER SubjectPublicKeyInfo: who holds the
    /// private key, whatever key id style, PEM spelling, keytype alias or
    /// scheme the key was named with. Thresholds count signers by it.
    pub fn spki_sha256(&self) -> &str {
        &self.spki_sha256
    }

    /// True when `keyid` names this key in either style (or one of the
    /// legacy spellings listed by [`keyids`](Self::keyids)).
    pub fn matches_keyid(&self, keyid: &str) -> bool {
        self.keyids().any(|id| id.0 == keyid)
    }

    /// The signing scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The keytype as named (e.g. `ecdsa`).
    pub fn keytype(&self) -> &str {
        &self.keytype
    }

    /// `keyval.public` exactly as the key dict carries it.
    pub fn public(&self) -> &str {
        &self.public
    }

    /// The securesystemslib key dict `{keytype, scheme, keyval: {public}}`,
    /// as in-toto layouts carry it under `keys`.
    pub fn to_key_dict(&self) -> Value {
        json!({
            "keytype": self.keytype,
            "scheme": self.scheme.name(),
            "keyval": {"public": self.public},
        })
    }

    /// The key as SPKI PEM.
    pub fn to_pem(&self) -> Result<String, Error> {
        spki_pem(&self.material)
    }

    /// Checks `sig` over `msg` with this key's scheme. ECDSA signatures may
    /// be DER or raw `r‖s`.
    pub fn verify_bytes(&self, msg: &[u8], sig: &[u8]) -> Result<(), Error> {
        let ok = match (&self.material, self.scheme) {
            (PublicMaterial::Ed25519(k), _) => ed25519_dalek::Signature::from_slice(sig)
                .ok()
                .is_some_and(|s| k.verify_strict(msg, &s).is_ok()),
            // P-224 over SHA-256, as go-securesystemslib hashes curves up
            // to 256 bits (`getECDSAHashedData`); the digest is truncated
            // to the curve's 224 bits by ECDSA itself.
            (PublicMaterial::P224(k), _) => p224::ecdsa::Signature::from_der(sig)
                .or_else(|_| p224::ecdsa::Signature::from_slice(sig))
                .ok()
                .is_some_and(|s| k.verify_prehash(&sha2::Sha256::digest(msg), &s).is_ok()),
            (PublicMaterial::P256(k), _) => p256::ecdsa::Signature::from_der(sig)
                .or_else(|_| p256::ecdsa::Signature::from_slice(sig))
                .ok()
                .is_some_and(|s| k.verify(msg, &s).is_ok()),
            (PublicMaterial::P384(k), _) => p384::ecdsa::Signature::from_der(sig)
                .or_else(|_| p384::ecdsa::Signature::from_slice(sig))
                .ok()
                .is_some_and(|s| k.verify(msg, &s).is_ok()),
            (PublicMaterial::P521(k), _) => p521::ecdsa::Signature::from_der(sig)
                .or_else(|_| p521::ecdsa::Signature::from_slice(sig))
                .ok()
                .is_some_and(|s| k.verify(msg, &s).is_ok()),
            (PublicMaterial::Rsa(k), scheme) => rsa_verify(k, scheme, msg, sig),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Signature)
        }
    }
}

impl signature::Verifier<SigBytes> for PublicKey {
    fn verify(&self, msg: &[u8], sig: &SigBytes) -> Result<(), signature::Error> {
        self.verify_bytes(msg, &sig.0)
            .map_err(|_| signature::Error::new())
    }
}

impl KeyedVerifier for PublicKey {
    fn identity(&self) -> String {
        self.keyid.0.clone()
    }
    /// The key's SubjectPublicKeyInfo: one key given twice (two PEM
    /// spellings, two schemes or keytype aliases) counts once.
    fn signer(&self) -> String {
        self.spki_sha256.clone()
    }
    fn matches_keyid(&self, keyid: &str) -> bool {
        PublicKey::matches_keyid(self, keyid)
    }
}
