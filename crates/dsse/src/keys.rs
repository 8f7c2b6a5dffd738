//! Keys and signatures as in-toto and securesystemslib name them.
//!
//! | keytype | scheme | signature bytes |
//! |---|---|---|
//! | `ed25519` | `ed25519` | 64 raw bytes |
//! | `ecdsa` (or legacy `ecdsa-sha2-nistp256` …) | `ecdsa-sha2-nistp256` / `-nistp384` / `-nistp521` | DER; raw `r‖s` also accepted |
//! | `rsa` | `rsassa-pss-sha256` (also `-sha384`, `-sha512`), `rsa-pkcs1v15-sha256` (…) | raw |
//!
//! Key ids come in two styles, both accepted wherever a key is named:
//! - current: SHA-256 of the canonical JSON of `{keytype, scheme, keyval: {public}}`;
//! - legacy: the same with `keyid_hash_algorithms` (`["sha256", "sha512"]`
//!   unless the key dict says otherwise), as older securesystemslib computed it.
//!
//! Signing and verifying go through RustCrypto's [`signature::Signer`] and
//! [`signature::Verifier`] over [`SigBytes`], so file keys, keyless keys and
//! KMS keys plug in alike.

use std::fmt;

use pkcs8::der::pem::LineEnding;
use pkcs8::der::Decode;
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, ObjectIdentifier};
use rand_core::OsRng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::{SignatureEncoding, Signer as _, Verifier as _};
use spki::DecodePublicKey;
use zeroize::Zeroizing;

use crate::cjson;
use crate::error::Error;

const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Hash used by an RSA scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RsaHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl RsaHash {
    fn name(self) -> &'static str {
        match self {
            RsaHash::Sha256 => "sha256",
            RsaHash::Sha384 => "sha384",
            RsaHash::Sha512 => "sha512",
        }
    }
}

/// A signing scheme, by its securesystemslib name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `ed25519`.
    Ed25519,
    /// `ecdsa-sha2-nistp256`.
    EcdsaP256,
    /// `ecdsa-sha2-nistp384`.
    EcdsaP384,
    /// `ecdsa-sha2-nistp521`.
    EcdsaP521,
    /// `rsassa-pss-<hash>`.
    RsaPss(RsaHash),
    /// `rsa-pkcs1v15-<hash>`.
    RsaPkcs1v15(RsaHash),
}

impl Scheme {
    /// Parses a securesystemslib scheme name.
    pub fn from_name(name: &str) -> Option<Scheme> {
        Some(match name {
            "ed25519" => Scheme::Ed25519,
            "ecdsa-sha2-nistp256" => Scheme::EcdsaP256,
            "ecdsa-sha2-nistp384" => Scheme::EcdsaP384,
            "ecdsa-sha2-nistp521" => Scheme::EcdsaP521,
            "rsassa-pss-sha256" => Scheme::RsaPss(RsaHash::Sha256),
            "rsassa-pss-sha384" => Scheme::RsaPss(RsaHash::Sha384),
            "rsassa-pss-sha512" => Scheme::RsaPss(RsaHash::Sha512),
            "rsa-pkcs1v15-sha256" => Scheme::RsaPkcs1v15(RsaHash::Sha256),
            "rsa-pkcs1v15-sha384" => Scheme::RsaPkcs1v15(RsaHash::Sha384),
            "rsa-pkcs1v15-sha512" => Scheme::RsaPkcs1v15(RsaHash::Sha512),
            _ => return None,
        })
    }

    /// The securesystemslib scheme name.
    pub fn name(self) -> String {
        match self {
            Scheme::Ed25519 => "ed25519".into(),
            Scheme::EcdsaP256 => "ecdsa-sha2-nistp256".into(),
            Scheme::EcdsaP384 => "ecdsa-sha2-nistp384".into(),
            Scheme::EcdsaP521 => "ecdsa-sha2-nistp521".into(),
            Scheme::RsaPss(h) => format!("rsassa-pss-{}", h.name()),
            Scheme::RsaPkcs1v15(h) => format!("rsa-pkcs1v15-{}", h.name()),
        }
    }

    /// The keytype securesystemslib writes for this scheme.
    pub fn keytype(self) -> &'static str {
        match self {
            Scheme::Ed25519 => "ed25519",
            Scheme::EcdsaP256 | Scheme::EcdsaP384 | Scheme::EcdsaP521 => "ecdsa",
            Scheme::RsaPss(_) | Scheme::RsaPkcs1v15(_) => "rsa",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The kinds of key `toto key generate` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Ed25519.
    Ed25519,
    /// ECDSA on P-256.
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// ECDSA on P-521.
    EcdsaP521,
    /// RSA, 3072 bits, RSASSA-PSS with SHA-256.
    Rsa,
}

/// A key id: lowercase hex.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// Parses a key id: 1 to 128 lowercase hex digits.
    pub fn parse(text: &str) -> Result<KeyId, Error> {
        let ok = !text.is_empty()
            && text.len() <= 128
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(KeyId(text.to_owned()))
        } else {
            Err(Error::malformed(
                "key id",
                "not 1 to 128 lowercase hex digits",
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 8 hex digits, as in-toto link file names use them.
    pub fn short(&self) -> &str {
        self.0.get(..8).unwrap_or(&self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// Signature bytes as carried in envelopes and Metablocks.
#[derive(Clone, PartialEq, Eq)]
pub struct SigBytes(pub Vec<u8>);

impl fmt::Debug for SigBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigBytes({})", hex::encode(&self.0))
    }
}

impl TryFrom<&[u8]> for SigBytes {
    type Error = signature::Error;
    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Ok(SigBytes(bytes.to_vec()))
    }
}

impl From<SigBytes> for Vec<u8> {
    fn from(sig: SigBytes) -> Vec<u8> {
        sig.0
    }
}

impl SignatureEncoding for SigBytes {
    type Repr = Vec<u8>;
}

#[derive(Clone)]
enum PublicMaterial {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(Box<p521::ecdsa::VerifyingKey>),
    Rsa(Box<rsa::RsaPublicKey>),
}

/// A public key with its scheme, as named in in-toto metadata.
#[derive(Clone)]
pub struct PublicKey {
    material: PublicMaterial,
    scheme: Scheme,
    keytype: String,
    public: String,
    keyid: KeyId,
    legacy_keyid: KeyId,
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

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn compute_keyids(
    keytype: &str,
    scheme: &str,
    public: &str,
    hash_algorithms: &Value,
) -> Result<(KeyId, KeyId), Error> {
    let current = json!({"keytype": keytype, "scheme": scheme, "keyval": {"public": public}});
    let legacy = json!({
        "keytype": keytype,
        "scheme": scheme,
        "keyid_hash_algorithms": hash_algorithms,
        "keyval": {"public": public},
    });
    Ok((
        KeyId(sha256_hex(&cjson::to_canonical(&current)?)),
        KeyId(sha256_hex(&cjson::to_canonical(&legacy)?)),
    ))
}

fn default_hash_algorithms() -> Value {
    json!(["sha256", "sha512"])
}

fn scheme_fits(scheme: Scheme, material: &PublicMaterial) -> bool {
    matches!(
        (scheme, material),
        (Scheme::Ed25519, PublicMaterial::Ed25519(_))
            | (Scheme::EcdsaP256, PublicMaterial::P256(_))
            | (Scheme::EcdsaP384, PublicMaterial::P384(_))
            | (Scheme::EcdsaP521, PublicMaterial::P521(_))
            | (Scheme::RsaPss(_), PublicMaterial::Rsa(_))
            | (Scheme::RsaPkcs1v15(_), PublicMaterial::Rsa(_))
    )
}

fn pem_decode(text: &[u8]) -> Result<(String, Zeroizing<Vec<u8>>), Error> {
    let (label, der) = pkcs8::der::pem::decode_vec(text).map_err(|_| Error::InvalidKey {
        reason: "not a PEM document",
    })?;
    Ok((label.to_owned(), Zeroizing::new(der)))
}

/// The key algorithms toto reads, from an `AlgorithmIdentifier`.
#[derive(Clone, Copy)]
enum Algorithm {
    Ed25519,
    P256,
    P384,
    P521,
    Rsa,
}

fn classify(algorithm: &spki::AlgorithmIdentifierRef<'_>) -> Result<Algorithm, Error> {
    let oid = algorithm.oid;
    if oid == OID_ED25519 {
        return Ok(Algorithm::Ed25519);
    }
    if oid == OID_RSA {
        return Ok(Algorithm::Rsa);
    }
    if oid != OID_EC_PUBLIC_KEY {
        return Err(Error::UnsupportedKey {
            keytype: format!("algorithm {oid}"),
            scheme: String::new(),
        });
    }
    let curve = algorithm.parameters_oid().map_err(|_| Error::InvalidKey {
        reason: "EC key without a named curve",
    })?;
    match curve {
        c if c == OID_P256 => Ok(Algorithm::P256),
        c if c == OID_P384 => Ok(Algorithm::P384),
        c if c == OID_P521 => Ok(Algorithm::P521),
        c => Err(Error::UnsupportedKey {
            keytype: "ecdsa".into(),
            scheme: format!("curve {c}"),
        }),
    }
}

fn public_material_from_spki(der: &[u8]) -> Result<PublicMaterial, Error> {
    let info = spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|_| Error::InvalidKey {
        reason: "not a SubjectPublicKeyInfo",
    })?;
    let bad = |_| Error::InvalidKey {
        reason: "public key does not decode",
    };
    match classify(&info.algorithm)? {
        Algorithm::Ed25519 => ed25519_dalek::VerifyingKey::from_public_key_der(der)
            .map(PublicMaterial::Ed25519)
            .map_err(bad),
        Algorithm::Rsa => rsa::RsaPublicKey::from_public_key_der(der)
            .map(|k| PublicMaterial::Rsa(Box::new(k)))
            .map_err(bad),
        Algorithm::P256 => p256::PublicKey::from_public_key_der(der)
            .map(|k| PublicMaterial::P256(k.into()))
            .map_err(bad),
        Algorithm::P384 => p384::PublicKey::from_public_key_der(der)
            .map(|k| PublicMaterial::P384(k.into()))
            .map_err(bad),
        Algorithm::P521 => {
            let key = p521::PublicKey::from_public_key_der(der).map_err(bad)?;
            p521::ecdsa::VerifyingKey::from_sec1_bytes(&key.to_sec1_bytes())
                .map(|k| PublicMaterial::P521(Box::new(k)))
                .map_err(|_| Error::InvalidKey {
                    reason: "public key does not decode",
                })
        }
    }
}

/// The key's DER SubjectPublicKeyInfo: one encoding of one key, whatever
/// PEM text, keytype alias or scheme named it.
fn spki_der(material: &PublicMaterial) -> Result<Vec<u8>, Error> {
    let enc = |_| Error::InvalidKey {
        reason: "public key does not encode",
    };
    let document = match material {
        PublicMaterial::Ed25519(k) => k.to_public_key_der(),
        PublicMaterial::P256(k) => k.to_public_key_der(),
        PublicMaterial::P384(k) => k.to_public_key_der(),
        PublicMaterial::P521(k) => {
            let point = k.to_encoded_point(false);
            p521::PublicKey::from_sec1_bytes(point.as_bytes())
                .map_err(|_| Error::InvalidKey {
                    reason: "P-521 key does not encode",
                })?
                .to_public_key_der()
        }
        PublicMaterial::Rsa(k) => k.to_public_key_der(),
    };
    Ok(document.map_err(enc)?.into_vec())
}

fn spki_pem(material: &PublicMaterial) -> Result<String, Error> {
    pkcs8::der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &spki_der(material)?).map_err(
        |_| Error::InvalidKey {
            reason: "public key does not encode",
        },
    )
}

fn default_scheme(material: &PublicMaterial) -> Scheme {
    match material {
        PublicMaterial::Ed25519(_) => Scheme::Ed25519,
        PublicMaterial::P256(_) => Scheme::EcdsaP256,
        PublicMaterial::P384(_) => Scheme::EcdsaP384,
        PublicMaterial::P521(_) => Scheme::EcdsaP521,
        PublicMaterial::Rsa(_) => Scheme::RsaPss(RsaHash::Sha256),
    }
}

impl PublicKey {
    fn build(
        material: PublicMaterial,
        scheme: Scheme,
        keytype: String,
        public: String,
        hash_algorithms: &Value,
    ) -> Result<PublicKey, Error> {
        if !scheme_fits(scheme, &material) {
            return Err(Error::UnsupportedKey {
                keytype,
                scheme: scheme.name(),
            });
        }
        let (keyid, legacy_keyid) =
            compute_keyids(&keytype, &scheme.name(), &public, hash_algorithms)?;
        let spki_sha256 = sha256_hex(&spki_der(&material)?);
        Ok(PublicKey {
            material,
            scheme,
            keytype,
            public,
            keyid,
            legacy_keyid,
            spki_sha256,
        })
    }

    fn from_material(material: PublicMaterial, scheme: Option<Scheme>) -> Result<Self, Error> {
        let scheme = scheme.unwrap_or_else(|| default_scheme(&material));
        let public = match &material {
            PublicMaterial::Ed25519(k) => hex::encode(k.as_bytes()),
            other => spki_pem(other)?,
        };
        Self::build(
            material,
            scheme,
            scheme.keytype().to_owned(),
            public,
            &default_hash_algorithms(),
        )
    }

    /// Reads an SPKI public key PEM (`-----BEGIN PUBLIC KEY-----`), as
    /// `openssl` and securesystemslib write them. `scheme` overrides the
    /// default (RSA keys default to `rsassa-pss-sha256`).
    pub fn from_pem(pem: &[u8], scheme: Option<Scheme>) -> Result<PublicKey, Error> {
        let (label, der) = pem_decode(pem)?;
        if label != "PUBLIC KEY" {
            return Err(Error::InvalidKey {
                reason: "expected a PEM \"PUBLIC KEY\" (SubjectPublicKeyInfo)",
            });
        }
        Self::from_material(public_material_from_spki(&der)?, scheme)
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
                    Scheme::EcdsaP256 | Scheme::EcdsaP384 | Scheme::EcdsaP521
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
            &hash_algorithms,
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

    /// The legacy key id (with `keyid_hash_algorithms`).
    pub fn legacy_keyid(&self) -> &KeyId {
        &self.legacy_keyid
    }

    /// SHA-256 (hex) of the key's DER SubjectPublicKeyInfo: who holds the
    /// private key, whatever key id style, PEM spelling, keytype alias or
    /// scheme the key was named with. Thresholds count signers by it.
    pub fn spki_sha256(&self) -> &str {
        &self.spki_sha256
    }

    /// True when `keyid` names this key in either style.
    pub fn matches_keyid(&self, keyid: &str) -> bool {
        self.keyid.0 == keyid || self.legacy_keyid.0 == keyid
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
            (PublicMaterial::Rsa(k), Scheme::RsaPss(h)) => rsa_pss_verify(k, h, msg, sig),
            (PublicMaterial::Rsa(k), Scheme::RsaPkcs1v15(h)) => rsa_pkcs1_verify(k, h, msg, sig),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Signature)
        }
    }
}

fn rsa_pss_verify(key: &rsa::RsaPublicKey, hash: RsaHash, msg: &[u8], sig: &[u8]) -> bool {
    use rsa::traits::PublicKeyParts;
    // PSS salt length is not signalled. securesystemslib (and so in-toto)
    // signs with the digest length; other signers use the maximum. Accept
    // both, nothing else.
    let em_len = (key.n().bits().saturating_sub(1)).div_ceil(8);
    let try_salts = |h_len: usize, check: &dyn Fn(usize) -> bool| {
        check(h_len)
            || em_len
                .checked_sub(h_len + 2)
                .is_some_and(|max| max != h_len && check(max))
    };
    match hash {
        RsaHash::Sha256 => try_salts(32, &|salt| {
            key.verify(
                rsa::Pss::new_with_salt::<Sha256>(salt),
                &Sha256::digest(msg),
                sig,
            )
            .is_ok()
        }),
        RsaHash::Sha384 => try_salts(48, &|salt| {
            key.verify(
                rsa::Pss::new_with_salt::<Sha384>(salt),
                &Sha384::digest(msg),
                sig,
            )
            .is_ok()
        }),
        RsaHash::Sha512 => try_salts(64, &|salt| {
            key.verify(
                rsa::Pss::new_with_salt::<Sha512>(salt),
                &Sha512::digest(msg),
                sig,
            )
            .is_ok()
        }),
    }
}

fn rsa_pkcs1_verify(key: &rsa::RsaPublicKey, hash: RsaHash, msg: &[u8], sig: &[u8]) -> bool {
    match hash {
        RsaHash::Sha256 => key
            .verify(
                rsa::Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(msg),
                sig,
            )
            .is_ok(),
        RsaHash::Sha384 => key
            .verify(
                rsa::Pkcs1v15Sign::new::<Sha384>(),
                &Sha384::digest(msg),
                sig,
            )
            .is_ok(),
        RsaHash::Sha512 => key
            .verify(
                rsa::Pkcs1v15Sign::new::<Sha512>(),
                &Sha512::digest(msg),
                sig,
            )
            .is_ok(),
    }
}

impl signature::Verifier<SigBytes> for PublicKey {
    fn verify(&self, msg: &[u8], sig: &SigBytes) -> Result<(), signature::Error> {
        self.verify_bytes(msg, &sig.0)
            .map_err(|_| signature::Error::new())
    }
}

enum SecretMaterial {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(Box<p521::ecdsa::SigningKey>),
    Rsa(Box<rsa::RsaPrivateKey>),
}

/// A private key with its scheme. Secret material is zeroized on drop by the
/// underlying RustCrypto types; it is never printed.
pub struct PrivateKey {
    secret: SecretMaterial,
    public: PublicKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("keyid", self.public.keyid())
            .finish_non_exhaustive()
    }
}

fn secret_from_pkcs8(der: &[u8]) -> Result<SecretMaterial, Error> {
    let info = pkcs8::PrivateKeyInfo::from_der(der).map_err(|_| Error::InvalidKey {
        reason: "not a PKCS#8 private key",
    })?;
    let bad = |_| Error::InvalidKey {
        reason: "private key does not decode",
    };
    match classify(&info.algorithm)? {
        Algorithm::Ed25519 => ed25519_dalek::SigningKey::from_pkcs8_der(der)
            .map(SecretMaterial::Ed25519)
            .map_err(bad),
        Algorithm::Rsa => rsa::RsaPrivateKey::from_pkcs8_der(der)
            .map(|k| SecretMaterial::Rsa(Box::new(k)))
            .map_err(bad),
        Algorithm::P256 => p256::SecretKey::from_pkcs8_der(der)
            .map(|k| SecretMaterial::P256(k.into()))
            .map_err(bad),
        Algorithm::P384 => p384::SecretKey::from_pkcs8_der(der)
            .map(|k| SecretMaterial::P384(k.into()))
            .map_err(bad),
        Algorithm::P521 => {
            let key = p521::SecretKey::from_pkcs8_der(der).map_err(bad)?;
            p521::ecdsa::SigningKey::from_bytes(&key.to_bytes())
                .map(|k| SecretMaterial::P521(Box::new(k)))
                .map_err(|_| Error::InvalidKey {
                    reason: "private key does not decode",
                })
        }
    }
}

fn secret_from_sec1(der: &[u8]) -> Result<SecretMaterial, Error> {
    if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
        return Ok(SecretMaterial::P256(k.into()));
    }
    if let Ok(k) = p384::SecretKey::from_sec1_der(der) {
        return Ok(SecretMaterial::P384(k.into()));
    }
    if let Ok(k) = p521::SecretKey::from_sec1_der(der) {
        if let Ok(k) = p521::ecdsa::SigningKey::from_bytes(&k.to_bytes()) {
            return Ok(SecretMaterial::P521(Box::new(k)));
        }
    }
    Err(Error::InvalidKey {
        reason: "EC private key does not decode",
    })
}

/// Most PBKDF2 iterations an encrypted private key may ask for. The key file
/// names its own cost; toto writes 600 000, OpenSSL 2 048.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// Most scrypt work an encrypted private key may ask for, as `128·r·N·p`
/// bytes (memory is `128·r·N`). `openssl pkcs8 -scrypt` writes N = 2^14,
/// r = 8, p = 1: 16 MiB.
const MAX_SCRYPT_BYTES: u64 = 256 << 20;

/// Refuses KDF parameters that would exhaust memory or time before the
/// password is even tried (an scrypt N of 2^40 aborts the process on a
/// petabyte allocation).
fn check_kdf_cost(scheme: &pkcs8::pkcs5::EncryptionScheme<'_>) -> Result<(), Error> {
    use pkcs8::pkcs5::pbes2::Kdf;
    let Some(pbes2) = scheme.pbes2() else {
        return Ok(()); // PBES1 is not decrypted at all.
    };
    match &pbes2.kdf {
        Kdf::Pbkdf2(params) if params.iteration_count > MAX_PBKDF2_ITERATIONS => {
            Err(Error::TooMany {
                what: "PBKDF2 iterations of the encrypted key",
                limit: MAX_PBKDF2_ITERATIONS as usize,
                actual: params.iteration_count as usize,
            })
        }
        Kdf::Scrypt(params) => {
            let bytes = 128u128
                * u128::from(params.cost_parameter)
                * u128::from(params.block_size)
                * u128::from(params.parallelization);
            if bytes > u128::from(MAX_SCRYPT_BYTES) {
                return Err(Error::TooLarge {
                    what: "scrypt cost (128·r·N·p) of the encrypted key",
                    limit: MAX_SCRYPT_BYTES as usize,
                    actual: usize::try_from(bytes).unwrap_or(usize::MAX),
                });
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

impl PrivateKey {
    fn from_secret(secret: SecretMaterial, scheme: Option<Scheme>) -> Result<Self, Error> {
        let material = match &secret {
            SecretMaterial::Ed25519(k) => PublicMaterial::Ed25519(k.verifying_key()),
            SecretMaterial::P256(k) => PublicMaterial::P256(*k.verifying_key()),
            SecretMaterial::P384(k) => PublicMaterial::P384(*k.verifying_key()),
            SecretMaterial::P521(k) => {
                PublicMaterial::P521(Box::new(p521::ecdsa::VerifyingKey::from(k.as_ref())))
            }
            SecretMaterial::Rsa(k) => PublicMaterial::Rsa(Box::new(k.to_public_key())),
        };
        let public = PublicKey::from_material(material, scheme)?;
        Ok(PrivateKey { secret, public })
    }

    /// Reads a private key PEM: PKCS#8 (`PRIVATE KEY`), encrypted PKCS#8
    /// (`ENCRYPTED PRIVATE KEY`, needs `password`), PKCS#1 (`RSA PRIVATE KEY`)
    /// or SEC1 (`EC PRIVATE KEY`). `scheme` overrides the default scheme.
    /// An encrypted key asking for more than 10 000 000 PBKDF2 iterations or
    /// 256 MiB of scrypt work is refused before its KDF runs.
    pub fn from_pem(
        pem: &[u8],
        password: Option<&[u8]>,
        scheme: Option<Scheme>,
    ) -> Result<PrivateKey, Error> {
        let (label, der) = pem_decode(pem)?;
        let secret = match label.as_str() {
            "PRIVATE KEY" => secret_from_pkcs8(&der)?,
            "ENCRYPTED PRIVATE KEY" => {
                let password = password.ok_or(Error::PasswordRequired)?;
                let encrypted = pkcs8::EncryptedPrivateKeyInfo::from_der(&der).map_err(|_| {
                    Error::InvalidKey {
                        reason: "not an encrypted PKCS#8 private key",
                    }
                })?;
                check_kdf_cost(&encrypted.encryption_algorithm)?;
                let plain = encrypted
                    .decrypt(password)
                    .map_err(|_| Error::WrongPassword)?;
                secret_from_pkcs8(plain.as_bytes())?
            }
            "RSA PRIVATE KEY" => {
                use rsa::pkcs1::DecodeRsaPrivateKey;
                rsa::RsaPrivateKey::from_pkcs1_der(&der)
                    .map(|k| SecretMaterial::Rsa(Box::new(k)))
                    .map_err(|_| Error::InvalidKey {
                        reason: "RSA private key does not decode",
                    })?
            }
            "EC PRIVATE KEY" => secret_from_sec1(&der)?,
            "PUBLIC KEY" => {
                return Err(Error::InvalidKey {
                    reason: "this is a public key; a private key is needed to sign",
                })
            }
            _ => {
                return Err(Error::InvalidKey {
                    reason: "PEM is not a private key",
                })
            }
        };
        Self::from_secret(secret, scheme)
    }

    /// Generates a fresh key of `kind`.
    pub fn generate(kind: KeyKind) -> Result<PrivateKey, Error> {
        let secret = match kind {
            KeyKind::Ed25519 => {
                SecretMaterial::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng))
            }
            KeyKind::EcdsaP256 => SecretMaterial::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
            KeyKind::EcdsaP384 => SecretMaterial::P384(p384::ecdsa::SigningKey::random(&mut OsRng)),
            KeyKind::EcdsaP521 => {
                SecretMaterial::P521(Box::new(p521::ecdsa::SigningKey::random(&mut OsRng)))
            }
            KeyKind::Rsa => SecretMaterial::Rsa(Box::new(
                rsa::RsaPrivateKey::new(&mut OsRng, 3072).map_err(|_| Error::InvalidKey {
                    reason: "RSA key generation failed",
                })?,
            )),
        };
        Self::from_secret(secret, None)
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The current-style key id.
    pub fn keyid(&self) -> &KeyId {
        self.public.keyid()
    }

    /// Writes the key as PKCS#8 PEM; with a password, as encrypted PKCS#8
    /// (PBES2: PBKDF2-HMAC-SHA256, 600 000 iterations, AES-256-CBC), which
    /// OpenSSL and pyca/cryptography read.
    pub fn to_pkcs8_pem(&self, password: Option<&[u8]>) -> Result<Zeroizing<String>, Error> {
        let doc = match &self.secret {
            SecretMaterial::Ed25519(k) => ed25519_pkcs8_v1(k)?,
            SecretMaterial::P256(k) => p256::SecretKey::from(k).to_pkcs8_der().map_err(enc)?,
            SecretMaterial::P384(k) => p384::SecretKey::from(k).to_pkcs8_der().map_err(enc)?,
            SecretMaterial::P521(k) => p521::SecretKey::from_bytes(&k.to_bytes())
                .map_err(|_| Error::InvalidKey {
                    reason: "P-521 key does not encode",
                })?
                .to_pkcs8_der()
                .map_err(enc)?,
            SecretMaterial::Rsa(k) => k.to_pkcs8_der().map_err(enc)?,
        };
        let Some(password) = password else {
            return doc.to_pem("PRIVATE KEY", LineEnding::LF).map_err(enc);
        };
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut salt);
        rand_core::RngCore::fill_bytes(&mut OsRng, &mut iv);
        let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(600_000, &salt, &iv)
            .map_err(enc)?;
        let info = pkcs8::PrivateKeyInfo::from_der(doc.as_bytes()).map_err(enc)?;
        let encrypted = info.encrypt_with_params(params, password).map_err(enc)?;
        encrypted
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .map_err(enc)
    }

    /// Signs `msg` with this key's scheme: ed25519 raw, ECDSA DER (as
    /// securesystemslib does), RSA raw.
    pub fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>, Error> {
        let scheme = self.public.scheme;
        Ok(match &self.secret {
            SecretMaterial::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            SecretMaterial::P256(k) => {
                let s: p256::ecdsa::Signature = k.try_sign(msg).map_err(|_| Error::Signing)?;
                s.to_der().to_bytes().to_vec()
            }
            SecretMaterial::P384(k) => {
                let s: p384::ecdsa::Signature = k.try_sign(msg).map_err(|_| Error::Signing)?;
                s.to_der().to_bytes().to_vec()
            }
            SecretMaterial::P521(k) => {
                let s: p521::ecdsa::Signature = k.try_sign(msg).map_err(|_| Error::Signing)?;
                s.to_der().to_bytes().to_vec()
            }
            SecretMaterial::Rsa(k) => rsa_sign(k, scheme, msg)?,
        })
    }
}

/// Ed25519 as PKCS#8 v1 (RFC 8410 without the optional public key), the
/// form OpenSSL writes: pyca/cryptography refuses the v2 form with the public
/// key that ed25519-dalek writes.
fn ed25519_pkcs8_v1(key: &ed25519_dalek::SigningKey) -> Result<pkcs8::SecretDocument, Error> {
    use pkcs8::der::asn1::OctetStringRef;
    use pkcs8::der::Encode;
    let seed = zeroize::Zeroizing::new(key.to_bytes());
    let inner = zeroize::Zeroizing::new(
        OctetStringRef::new(seed.as_slice())
            .and_then(|o| o.to_der())
            .map_err(enc)?,
    );
    let info = pkcs8::PrivateKeyInfo::new(
        pkcs8::AlgorithmIdentifierRef {
            oid: OID_ED25519,
            parameters: None,
        },
        &inner,
    );
    pkcs8::SecretDocument::try_from(info).map_err(enc)
}

fn enc<E>(_: E) -> Error {
    Error::InvalidKey {
        reason: "private key does not encode",
    }
}

fn rsa_sign(key: &rsa::RsaPrivateKey, scheme: Scheme, msg: &[u8]) -> Result<Vec<u8>, Error> {
    rsa_sign_with(&mut OsRng, key, scheme, msg)
}

/// RSA signing; `rng` draws PSS salts and, for every scheme, the blinding
/// of the private-key operation (`sign_with_rng`; the unblinded `sign`
/// leaks more timing about the key, RUSTSEC-2023-0071).
fn rsa_sign_with(
    rng: &mut impl rand_core::CryptoRngCore,
    key: &rsa::RsaPrivateKey,
    scheme: Scheme,
    msg: &[u8],
) -> Result<Vec<u8>, Error> {
    let (pss, hash) = match scheme {
        Scheme::RsaPss(h) => (true, h),
        Scheme::RsaPkcs1v15(h) => (false, h),
        _ => return Err(Error::Signing),
    };
    let result = match (pss, hash) {
        (true, RsaHash::Sha256) => {
            key.sign_with_rng(rng, rsa::Pss::new::<Sha256>(), &Sha256::digest(msg))
        }
        (true, RsaHash::Sha384) => {
            key.sign_with_rng(rng, rsa::Pss::new::<Sha384>(), &Sha384::digest(msg))
        }
        (true, RsaHash::Sha512) => {
            key.sign_with_rng(rng, rsa::Pss::new::<Sha512>(), &Sha512::digest(msg))
        }
        (false, RsaHash::Sha256) => key.sign_with_rng(
            rng,
            rsa::Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(msg),
        ),
        (false, RsaHash::Sha384) => key.sign_with_rng(
            rng,
            rsa::Pkcs1v15Sign::new::<Sha384>(),
            &Sha384::digest(msg),
        ),
        (false, RsaHash::Sha512) => key.sign_with_rng(
            rng,
            rsa::Pkcs1v15Sign::new::<Sha512>(),
            &Sha512::digest(msg),
        ),
    };
    result.map_err(|_| Error::Signing)
}

impl signature::Signer<SigBytes> for PrivateKey {
    fn try_sign(&self, msg: &[u8]) -> Result<SigBytes, signature::Error> {
        self.sign_bytes(msg)
            .map(SigBytes)
            .map_err(|_| signature::Error::new())
    }
}

/// A signer that also names its key: what envelope and Metablock signing
/// need. File keys implement it here; keyless and KMS keys elsewhere.
pub trait KeyedSigner: signature::Signer<SigBytes> {
    /// The key id written beside the signature (may be empty for keyless).
    fn keyid(&self) -> String;
}

impl KeyedSigner for PrivateKey {
    fn keyid(&self) -> String {
        self.public.keyid.0.clone()
    }
}

/// A verifier that can say whether a signature's key id names it.
pub trait KeyedVerifier: signature::Verifier<SigBytes> {
    /// The identity reported for this key (the current-style key id).
    fn identity(&self) -> String;
    /// Who holds the key, counted once towards thresholds however the key
    /// is spelled; by default its identity.
    fn signer(&self) -> String {
        self.identity()
    }
    /// True when `keyid` (as carried beside a signature) names this key.
    fn matches_keyid(&self, keyid: &str) -> bool;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws from the OS and counts the bytes drawn.
    struct Counting(usize);

    impl rand_core::RngCore for Counting {
        fn next_u32(&mut self) -> u32 {
            self.0 += 4;
            OsRng.next_u32()
        }
        fn next_u64(&mut self) -> u64 {
            self.0 += 8;
            OsRng.next_u64()
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            self.0 += dest.len();
            OsRng.fill_bytes(dest);
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.0 += dest.len();
            OsRng.try_fill_bytes(dest)
        }
    }

    impl rand_core::CryptoRng for Counting {}

    /// Every RSA scheme signs through a blinded private-key operation (it
    /// draws randomness even for deterministic PKCS#1 v1.5, whose unblinded
    /// operation leaks more timing: RUSTSEC-2023-0071), and the signature
    /// verifies.
    #[test]
    fn rsa_signing_is_blinded_and_verifies() {
        let secret = rsa::RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
        for scheme in [
            Scheme::RsaPkcs1v15(RsaHash::Sha256),
            Scheme::RsaPkcs1v15(RsaHash::Sha384),
            Scheme::RsaPkcs1v15(RsaHash::Sha512),
            Scheme::RsaPss(RsaHash::Sha256),
        ] {
            let mut rng = Counting(0);
            let sig = rsa_sign_with(&mut rng, &secret, scheme, b"message").unwrap();
            assert!(rng.0 > 0, "{scheme}: no randomness drawn, so no blinding");
            let public = PublicKey::from_material(
                PublicMaterial::Rsa(Box::new(secret.to_public_key())),
                Some(scheme),
            )
            .unwrap();
            public.verify_bytes(b"message", &sig).unwrap();
            assert!(public.verify_bytes(b"other", &sig).is_err(), "{scheme}");
            if scheme == Scheme::RsaPkcs1v15(RsaHash::Sha256) {
                // Deterministic: blinding leaves the signature as it was.
                let unblinded = secret
                    .sign(
                        rsa::Pkcs1v15Sign::new::<Sha256>(),
                        &Sha256::digest(b"message"),
                    )
                    .unwrap();
                assert_eq!(sig, unblinded);
            }
        }
    }
}
