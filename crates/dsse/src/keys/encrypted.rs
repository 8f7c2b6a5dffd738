//! Encrypted PKCS#8 (PBES2): decrypting a key file with its KDF cost bounded
//! first, and encrypting as OpenSSL and pyca/cryptography read it.

use pkcs8::der::pem::LineEnding;
use pkcs8::der::Decode;
use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::error::Error;

/// Decrypts an `ENCRYPTED PRIVATE KEY` document (DER) with `password`, after
/// refusing a KDF cost above the bounds below.
pub(super) fn decrypt(der: &[u8], password: &[u8]) -> Result<pkcs8::SecretDocument, Error> {
    let encrypted =
        pkcs8::EncryptedPrivateKeyInfo::from_der(der).map_err(|_| Error::InvalidKey {
            reason: "not an encrypted PKCS#8 private key",
        })?;
    check_kdf_cost(&encrypted.encryption_algorithm)?;
    encrypted
        .decrypt(password)
        .map_err(|_| Error::WrongPassword)
}

/// Encrypts a PKCS#8 document as `ENCRYPTED PRIVATE KEY` PEM (PBES2:
/// PBKDF2-HMAC-SHA256, 600 000 iterations, AES-256-CBC, fresh salt and IV).
pub(super) fn encrypt(
    doc: &pkcs8::SecretDocument,
    password: &[u8],
) -> Result<Zeroizing<String>, pkcs8::Error> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut salt);
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut iv);
    let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(600_000, &salt, &iv)?;
    let info = pkcs8::PrivateKeyInfo::from_der(doc.as_bytes())?;
    let encrypted = info.encrypt_with_params(params, password)?;
    Ok(encrypted.to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)?)
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
