//! Keys and signatures as in-toto and securesystemslib name them.
//!
//! | keytype | scheme | signature bytes |
//! |---|---|---|
//! | `ed25519` | `ed25519` | 64 raw bytes |
//! | `ecdsa` (or legacy `ecdsa-sha2-nistp256` …) | `ecdsa-sha2-nistp256` / `-nistp384` / `-nistp521`, and `-nistp224` as in-toto-golang reads it | DER; raw `r‖s` also accepted |
//! | `rsa` | `rsassa-pss-sha256` (also `-sha384`, `-sha512`), `rsa-pkcs1v15-sha256` (…) | raw |
//!
//! Key ids come in two styles, both accepted wherever a key is named:
//! - current: SHA-256 of the canonical JSON of `{keytype, scheme, keyval: {public}}`;
//! - legacy: the same with `keyid_hash_algorithms` (`["sha256", "sha512"]`
//!   unless the key dict says otherwise), as in-toto-golang and in-toto 2.x
//!   (legacy `--key` / `--layout-keys`) compute it; for a key read from PEM
//!   the PEM is hashed without its final newline, as they do, and an ECDSA
//!   key also answers to the id in-toto-golang gives it under its default
//!   scheme `ecdsa-sha2-nistp256` (see `keyid`).
//!
//! Signing and verifying go through RustCrypto's [`signature::Signer`] and
//! [`signature::Verifier`] over [`SigBytes`], so file keys, keyless keys and
//! KMS keys plug in alike.
//!
//! One file per job: `spki` (PEM and SubjectPublicKeyInfo), `keyid` (both
//! key id styles), `public` ([`PublicKey`]: key dicts, verifying), `private`
//! ([`PrivateKey`]: PEM, generating, signing), `encrypted` (encrypted PKCS#8
//! and its KDF cost bound), `rsassa` (RSA-PSS and PKCS#1 v1.5).

use std::fmt;

use signature::SignatureEncoding;

use crate::error::Error;

mod encrypted;
mod keyid;
mod private;
mod public;
mod rsassa;
mod spki;

pub use private::PrivateKey;
pub use public::PublicKey;

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
    /// `ecdsa-sha2-nistp224` (in-toto-golang; signed over SHA-256, as
    /// go-securesystemslib does for curves up to 256 bits).
    EcdsaP224,
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
            "ecdsa-sha2-nistp224" => Scheme::EcdsaP224,
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
            Scheme::EcdsaP224 => "ecdsa-sha2-nistp224".into(),
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
            Scheme::EcdsaP224 | Scheme::EcdsaP256 | Scheme::EcdsaP384 | Scheme::EcdsaP521 => {
                "ecdsa"
            }
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

/// A signer that also names its key: what envelope and Metablock signing
/// need. File keys implement it here; keyless and KMS keys elsewhere.
pub trait KeyedSigner: signature::Signer<SigBytes> {
    /// The key id written beside the signature (may be empty for keyless).
    fn keyid(&self) -> String;
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
