//! The signature algorithms webpki may use on certificate chains, checked
//! with the RustCrypto crates `dsse` builds (no crypto provider of `attest`'s
//! own).

use std::fmt;

use rustls_pki_types::{
    alg_id, AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm,
};

/// The signature algorithms of certificate chains, checked with the
/// RustCrypto crates `dsse` builds (no other crypto provider in `attest`).
#[rustfmt::skip]
pub(super) static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PKCS1_SHA256, rsa_pkcs1::<sha2::Sha256>),
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PKCS1_SHA384, rsa_pkcs1::<sha2::Sha384>),
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PKCS1_SHA512, rsa_pkcs1::<sha2::Sha512>),
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PSS_SHA256, rsa_pss::<sha2::Sha256>),
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PSS_SHA384, rsa_pss::<sha2::Sha384>),
    &Alg(alg_id::RSA_ENCRYPTION, alg_id::RSA_PSS_SHA512, rsa_pss::<sha2::Sha512>),
    &Alg(alg_id::ECDSA_P256, alg_id::ECDSA_SHA256, p256_verify::<sha2::Sha256>),
    &Alg(alg_id::ECDSA_P256, alg_id::ECDSA_SHA384, p256_verify::<sha2::Sha384>),
    &Alg(alg_id::ECDSA_P384, alg_id::ECDSA_SHA256, p384_verify::<sha2::Sha256>),
    &Alg(alg_id::ECDSA_P384, alg_id::ECDSA_SHA384, p384_verify::<sha2::Sha384>),
    &Alg(alg_id::ECDSA_P521, alg_id::ECDSA_SHA512, p521_verify),
    &Alg(alg_id::ED25519, alg_id::ED25519, ed25519_verify),
];

type VerifyFn = fn(&[u8], &[u8], &[u8]) -> bool;

/// One algorithm: the key's and the signature's identifiers, and the check
/// (public key bits, message, signature).
struct Alg(AlgorithmIdentifier, AlgorithmIdentifier, VerifyFn);

impl fmt::Debug for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Alg").finish_non_exhaustive()
    }
}

impl SignatureVerificationAlgorithm for Alg {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if (self.2)(public_key, message, signature) {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.0
    }
    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.1
    }
}

fn rsa_pkcs1<D>(key: &[u8], msg: &[u8], sig: &[u8]) -> bool
where
    D: sha2::Digest + x509_cert::der::oid::AssociatedOid,
{
    rsa_check::<rsa::pkcs1v15::Signature, _>(key, msg, sig, rsa::pkcs1v15::VerifyingKey::<D>::new)
}

fn rsa_pss<D>(key: &[u8], msg: &[u8], sig: &[u8]) -> bool
where
    D: sha2::Digest + sha2::digest::FixedOutputReset,
{
    rsa_check::<rsa::pss::Signature, _>(key, msg, sig, rsa::pss::VerifyingKey::<D>::new)
}

/// An RSA signature `S` over `msg` by the PKCS#1 `key`, checked by the
/// verifier `make` builds from it (the padding and hash are its type's).
fn rsa_check<S, V>(key: &[u8], msg: &[u8], sig: &[u8], make: fn(rsa::RsaPublicKey) -> V) -> bool
where
    S: for<'a> TryFrom<&'a [u8]>,
    V: signature::Verifier<S>,
{
    use rsa::pkcs1::DecodeRsaPublicKey as _;
    let (Ok(key), Ok(sig)) = (rsa::RsaPublicKey::from_pkcs1_der(key), S::try_from(sig)) else {
        return false;
    };
    make(key).verify(msg, &sig).is_ok()
}

/// `$name::<D>`: a DER ECDSA signature by the SEC1 point `key` of the
/// curve crate `$curve`, over `msg` hashed with `D` (X.509 pairs a curve
/// with any SHA-2, so the digest is not the curve's own).
macro_rules! ecdsa_prehash_verify {
    ($name:ident, $curve:ident) => {
        fn $name<D: sha2::Digest>(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
            use signature::hazmat::PrehashVerifier as _;
            let (Ok(key), Ok(sig)) = (
                $curve::ecdsa::VerifyingKey::from_sec1_bytes(key),
                $curve::ecdsa::Signature::from_der(sig),
            ) else {
                return false;
            };
            key.verify_prehash(&D::digest(msg), &sig).is_ok()
        }
    };
}

ecdsa_prehash_verify!(p256_verify, p256);
ecdsa_prehash_verify!(p384_verify, p384);

fn p521_verify(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    use signature::Verifier as _;
    let (Ok(key), Ok(sig)) = (
        p521::ecdsa::VerifyingKey::from_sec1_bytes(key),
        p521::ecdsa::Signature::from_der(sig),
    ) else {
        return false;
    };
    key.verify(msg, &sig).is_ok()
}

fn ed25519_verify(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    use signature::Verifier as _;
    let (Ok(key), Ok(sig)) = (
        <[u8; 32]>::try_from(key),
        ed25519_dalek::Signature::from_slice(sig),
    ) else {
        return false;
    };
    ed25519_dalek::VerifyingKey::from_bytes(&key).is_ok_and(|k| k.verify(msg, &sig).is_ok())
}
