//! [`PrivateKey`]: reading private key PEM (PKCS#8, encrypted PKCS#8,
//! PKCS#1, SEC1), generating keys, writing PKCS#8 and signing.

use std::fmt;

use pkcs8::der::pem::LineEnding;
use pkcs8::der::Decode;
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::OsRng;
use sha2::Digest as _;
use signature::hazmat::PrehashSigner as _;
use signature::Signer as _;
use zeroize::Zeroizing;

use super::rsassa::rsa_sign;
use super::spki::{classify, pem_decode, Algorithm, PublicMaterial, OID_ED25519};
use super::{encrypted, KeyId, KeyKind, KeyedSigner, PublicKey, Scheme, SigBytes};
use crate::error::Error;

enum SecretMaterial {
    Ed25519(ed25519_dalek::SigningKey),
    P224(p224::ecdsa::SigningKey),
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
        Algorithm::P224 => p224::SecretKey::from_pkcs8_der(der)
            .map(|k| SecretMaterial::P224(k.into()))
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
    if let Ok(k) = p224::SecretKey::from_sec1_der(der) {
        return Ok(SecretMaterial::P224(k.into()));
    }
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

impl PrivateKey {
    fn from_secret(secret: SecretMaterial, scheme: Option<Scheme>) -> Result<Self, Error> {
        let material = match &secret {
            SecretMaterial::Ed25519(k) => PublicMaterial::Ed25519(k.verifying_key()),
            SecretMaterial::P224(k) => PublicMaterial::P224(*k.verifying_key()),
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
                secret_from_pkcs8(encrypted::decrypt(&der, password)?.as_bytes())?
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
            SecretMaterial::P224(k) => p224::SecretKey::from(k).to_pkcs8_der().map_err(enc)?,
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
        encrypted::encrypt(&doc, password).map_err(enc)
    }

    /// Signs `msg` with this key's scheme: ed25519 raw, ECDSA DER (as
    /// securesystemslib does), RSA raw.
    pub fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>, Error> {
        let scheme = self.public.scheme;
        Ok(match &self.secret {
            SecretMaterial::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            SecretMaterial::P224(k) => {
                // SHA-256, as in-toto-golang signs with P-224 keys.
                let s: p224::ecdsa::Signature = k
                    .sign_prehash(&sha2::Sha256::digest(msg))
                    .map_err(|_| Error::Signing)?;
                s.to_der().to_bytes().to_vec()
            }
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

pub(super) fn enc<E>(_: E) -> Error {
    Error::InvalidKey {
        reason: "private key does not encode",
    }
}

impl signature::Signer<SigBytes> for PrivateKey {
    fn try_sign(&self, msg: &[u8]) -> Result<SigBytes, signature::Error> {
        self.sign_bytes(msg)
            .map(SigBytes)
            .map_err(|_| signature::Error::new())
    }
}

impl KeyedSigner for PrivateKey {
    fn keyid(&self) -> String {
        self.public.keyid.0.clone()
    }
}
