//! PEM and DER SubjectPublicKeyInfo: which algorithm a key is, its public
//! material, and the one DER encoding of it that signers are counted by.

use pkcs8::der::pem::LineEnding;
use pkcs8::der::Decode;
use pkcs8::{EncodePublicKey, ObjectIdentifier};
use spki::DecodePublicKey;
use zeroize::Zeroizing;

use super::{RsaHash, Scheme};
use crate::error::Error;

pub(super) const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
pub(super) const OID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(super) const OID_P224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.33");
pub(super) const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub(super) const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
pub(super) const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
pub(super) const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

#[derive(Clone)]
pub(super) enum PublicMaterial {
    Ed25519(ed25519_dalek::VerifyingKey),
    P224(p224::ecdsa::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(Box<p521::ecdsa::VerifyingKey>),
    Rsa(Box<rsa::RsaPublicKey>),
}

/// Whether `scheme` names a key of this material: ECDSA schemes name their
/// own curve. What toto signs and names always fits this way.
pub(super) fn scheme_fits(scheme: Scheme, material: &PublicMaterial) -> bool {
    matches!(
        (scheme, material),
        (Scheme::Ed25519, PublicMaterial::Ed25519(_))
            | (Scheme::EcdsaP224, PublicMaterial::P224(_))
            | (Scheme::EcdsaP256, PublicMaterial::P256(_))
            | (Scheme::EcdsaP384, PublicMaterial::P384(_))
            | (Scheme::EcdsaP521, PublicMaterial::P521(_))
            | (Scheme::RsaPss(_), PublicMaterial::Rsa(_))
            | (Scheme::RsaPkcs1v15(_), PublicMaterial::Rsa(_))
    )
}

/// Whether a key dict (as a layout carries it) may name this material with
/// `scheme`: as [`scheme_fits`], and also any ECDSA scheme for any ECDSA key.
/// in-toto-golang writes `ecdsa-sha2-nistp256` for every curve
/// (`LoadKeyDefaults`) and, like go-securesystemslib, verifies with the hash
/// that belongs to the curve (SHA-256 up to 256 bits, SHA-384, SHA-512), which
/// is what [`PublicKey::verify_bytes`](super::PublicKey::verify_bytes) does.
pub(super) fn key_dict_scheme_fits(scheme: Scheme, material: &PublicMaterial) -> bool {
    let ecdsa_scheme = matches!(
        scheme,
        Scheme::EcdsaP224 | Scheme::EcdsaP256 | Scheme::EcdsaP384 | Scheme::EcdsaP521
    );
    let ecdsa_key = matches!(
        material,
        PublicMaterial::P224(_)
            | PublicMaterial::P256(_)
            | PublicMaterial::P384(_)
            | PublicMaterial::P521(_)
    );
    scheme_fits(scheme, material) || (ecdsa_scheme && ecdsa_key)
}

pub(super) fn pem_decode(text: &[u8]) -> Result<(String, Zeroizing<Vec<u8>>), Error> {
    let (label, der) = pkcs8::der::pem::decode_vec(text).map_err(|_| Error::InvalidKey {
        reason: "not a PEM document",
    })?;
    Ok((label.to_owned(), Zeroizing::new(der)))
}

/// The key algorithms toto reads, from an `AlgorithmIdentifier`.
#[derive(Clone, Copy)]
pub(super) enum Algorithm {
    Ed25519,
    P224,
    P256,
    P384,
    P521,
    Rsa,
}

pub(super) fn classify(algorithm: &spki::AlgorithmIdentifierRef<'_>) -> Result<Algorithm, Error> {
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
        c if c == OID_P224 => Ok(Algorithm::P224),
        c if c == OID_P256 => Ok(Algorithm::P256),
        c if c == OID_P384 => Ok(Algorithm::P384),
        c if c == OID_P521 => Ok(Algorithm::P521),
        c => Err(Error::UnsupportedKey {
            keytype: "ecdsa".into(),
            scheme: format!("curve {c}"),
        }),
    }
}

pub(super) fn public_material_from_spki(der: &[u8]) -> Result<PublicMaterial, Error> {
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
        Algorithm::P224 => p224::PublicKey::from_public_key_der(der)
            .map(|k| PublicMaterial::P224(k.into()))
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
pub(super) fn spki_der(material: &PublicMaterial) -> Result<Vec<u8>, Error> {
    let enc = |_| Error::InvalidKey {
        reason: "public key does not encode",
    };
    let document = match material {
        PublicMaterial::Ed25519(k) => k.to_public_key_der(),
        PublicMaterial::P224(k) => k.to_public_key_der(),
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

pub(super) fn spki_pem(material: &PublicMaterial) -> Result<String, Error> {
    pkcs8::der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &spki_der(material)?).map_err(
        |_| Error::InvalidKey {
            reason: "public key does not encode",
        },
    )
}

pub(super) fn default_scheme(material: &PublicMaterial) -> Scheme {
    match material {
        PublicMaterial::Ed25519(_) => Scheme::Ed25519,
        PublicMaterial::P224(_) => Scheme::EcdsaP224,
        PublicMaterial::P256(_) => Scheme::EcdsaP256,
        PublicMaterial::P384(_) => Scheme::EcdsaP384,
        PublicMaterial::P521(_) => Scheme::EcdsaP521,
        PublicMaterial::Rsa(_) => Scheme::RsaPss(RsaHash::Sha256),
    }
}
