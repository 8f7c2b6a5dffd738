//! RSA signatures: RSASSA-PSS and RSASSA-PKCS1-v1_5 over SHA-256/384/512,
//! verified and made (blinded) as securesystemslib names their schemes.

use rand_core::OsRng;
use sha2::digest::const_oid::AssociatedOid;
use sha2::digest::DynDigest;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::{RsaHash, Scheme};
use crate::error::Error;

/// A SHA-2 digest the RSA schemes are used with (sha256, sha384, sha512).
trait RsaDigest: Digest + DynDigest + AssociatedOid + Send + Sync + 'static {}

impl<D: Digest + DynDigest + AssociatedOid + Send + Sync + 'static> RsaDigest for D {}

/// Calls `f` with the digest `hash` names, as a type.
macro_rules! with_digest {
    ($hash:expr, $f:ident($($arg:expr),*)) => {
        match $hash {
            RsaHash::Sha256 => $f::<Sha256>($($arg),*),
            RsaHash::Sha384 => $f::<Sha384>($($arg),*),
            RsaHash::Sha512 => $f::<Sha512>($($arg),*),
        }
    };
}

/// Checks an RSA signature under `scheme`, RSASSA-PSS or -PKCS1-v1_5 (no
/// other scheme is an RSA one: it does not verify).
pub(super) fn rsa_verify(key: &rsa::RsaPublicKey, scheme: Scheme, msg: &[u8], sig: &[u8]) -> bool {
    match scheme {
        Scheme::RsaPss(hash) => with_digest!(hash, pss_verify(key, msg, sig)),
        Scheme::RsaPkcs1v15(hash) => with_digest!(hash, pkcs1_verify(key, msg, sig)),
        _ => false,
    }
}

fn pss_verify<D: RsaDigest>(key: &rsa::RsaPublicKey, msg: &[u8], sig: &[u8]) -> bool {
    use rsa::traits::PublicKeyParts;
    // PSS salt length is not signalled. securesystemslib (and so in-toto)
    // signs with the digest length; other signers use the maximum. Accept
    // both, nothing else.
    let em_len = (key.n().bits().saturating_sub(1)).div_ceil(8);
    let h_len = <D as Digest>::output_size();
    let digest = D::digest(msg);
    let check = |salt| {
        key.verify(rsa::Pss::new_with_salt::<D>(salt), &digest, sig)
            .is_ok()
    };
    check(h_len)
        || em_len
            .checked_sub(h_len + 2)
            .is_some_and(|max| max != h_len && check(max))
}

fn pkcs1_verify<D: RsaDigest>(key: &rsa::RsaPublicKey, msg: &[u8], sig: &[u8]) -> bool {
    key.verify(rsa::Pkcs1v15Sign::new::<D>(), &D::digest(msg), sig)
        .is_ok()
}

pub(super) fn rsa_sign(
    key: &rsa::RsaPrivateKey,
    scheme: Scheme,
    msg: &[u8],
) -> Result<Vec<u8>, Error> {
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
    let result = match scheme {
        Scheme::RsaPss(hash) | Scheme::RsaPkcs1v15(hash) => {
            with_digest!(hash, sign_digest(rng, key, scheme, msg))
        }
        _ => return Err(Error::Signing),
    };
    result.map_err(|_| Error::Signing)
}

/// Signs `msg` hashed with `D`, padded as the RSA `scheme` says (PSS with
/// a digest-length salt, or PKCS#1 v1.5).
fn sign_digest<D: RsaDigest>(
    rng: &mut impl rand_core::CryptoRngCore,
    key: &rsa::RsaPrivateKey,
    scheme: Scheme,
    msg: &[u8],
) -> rsa::Result<Vec<u8>> {
    let digest = D::digest(msg);
    match scheme {
        Scheme::RsaPss(_) => key.sign_with_rng(rng, rsa::Pss::new::<D>(), &digest),
        _ => key.sign_with_rng(rng, rsa::Pkcs1v15Sign::new::<D>(), &digest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::spki::PublicMaterial;
    use crate::keys::PublicKey;

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
