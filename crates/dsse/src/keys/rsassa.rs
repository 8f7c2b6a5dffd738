//! RSA signatures: RSASSA-PSS and RSASSA-PKCS1-v1_5 over SHA-256/384/512,
//! verified and made (blinded) as securesystemslib names their schemes.

use rand_core::OsRng;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::{RsaHash, Scheme};
use crate::error::Error;

pub(super) fn rsa_pss_verify(
    key: &rsa::RsaPublicKey,
    hash: RsaHash,
    msg: &[u8],
    sig: &[u8],
) -> bool {
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

pub(super) fn rsa_pkcs1_verify(
    key: &rsa::RsaPublicKey,
    hash: RsaHash,
    msg: &[u8],
    sig: &[u8],
) -> bool {
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
