//! Bug: an encrypted PKCS#8 private key names its own KDF cost, and
//! `PrivateKey::from_pem` with a password ran it as given. A 200-byte PEM
//! asking for scrypt with N = 2^40 aborted the process on a petabyte
//! allocation; one asking for 2^32 - 1 PBKDF2 iterations hung for the best
//! part of an hour. Seen while writing the `keys` fuzz target (which calls
//! `from_pem(data, Some(b"pw"), None)`) and reproduced with its binary:
//! AddressSanitizer `allocation-size-too-big`, libFuzzer `timeout`. Both are
//! now refused before deriving (`Error::TooLarge` for scrypt, `Error::TooMany`
//! for PBKDF2 iterations).

use dsse::{Error, KeyKind, PrivateKey};
use pkcs8::der::pem::LineEnding;
use pkcs8::der::{Encode, EncodePem};
use pkcs8::pkcs5::pbes2::{self, Kdf, Pbkdf2Params, Pbkdf2Prf, ScryptParams};
use pkcs8::EncryptedPrivateKeyInfo;

const SALT: [u8; 16] = [7; 16];
const IV: [u8; 16] = [9; 16];
const CIPHERTEXT: [u8; 48] = [0; 48];

fn encrypted_pem(kdf: Kdf<'_>) -> String {
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: pbes2::Parameters {
            kdf,
            encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: &IV },
        }
        .into(),
        encrypted_data: &CIPHERTEXT,
    };
    assert!(info.to_der().is_ok());
    info.to_pem(LineEnding::LF).unwrap()
}

/// A key encrypted under scrypt with cost `n`, block size 8 and
/// `parallelization`.
fn scrypt_pem(n: u64, parallelization: u16) -> String {
    encrypted_pem(Kdf::Scrypt(ScryptParams {
        salt: &SALT,
        cost_parameter: n,
        block_size: 8,
        parallelization,
        key_length: None,
    }))
}

fn read(pem: &str) -> Result<PrivateKey, Error> {
    // Before the fix these calls did not return (abort or hours of PBKDF2).
    PrivateKey::from_pem(pem.as_bytes(), Some(b"pw"), None)
}

#[test]
fn scrypt_cost_of_a_petabyte_is_refused() {
    let pem = scrypt_pem(1 << 40, 1);
    assert!(matches!(read(&pem), Err(Error::TooLarge { .. })));
}

#[test]
fn scrypt_parallelization_of_65535_is_refused() {
    let pem = scrypt_pem(1 << 14, u16::MAX);
    assert!(matches!(read(&pem), Err(Error::TooLarge { .. })));
}

#[test]
fn pbkdf2_with_four_billion_iterations_is_refused() {
    let pem = encrypted_pem(Kdf::Pbkdf2(Pbkdf2Params {
        salt: &SALT,
        iteration_count: u32::MAX,
        key_length: None,
        prf: Pbkdf2Prf::HmacWithSha256,
    }));
    assert!(matches!(read(&pem), Err(Error::TooMany { .. })));
}

#[test]
fn ordinary_costs_still_decrypt() {
    // What toto writes (PBKDF2, 600 000 iterations) reads back.
    let key = PrivateKey::generate(KeyKind::Ed25519).unwrap();
    let pem = key.to_pkcs8_pem(Some(b"pw")).unwrap();
    let again = read(&pem).unwrap();
    assert_eq!(again.keyid(), key.keyid());
    // `openssl pkcs8 -topk8 -scrypt` defaults (N = 2^14, r = 8, p = 1) get as
    // far as decryption: the garbage ciphertext is a wrong password.
    let pem = encrypted_pem(Kdf::Scrypt(ScryptParams {
        salt: &SALT,
        cost_parameter: 1 << 14,
        block_size: 8,
        parallelization: 1,
        key_length: None,
    }));
    assert!(matches!(read(&pem), Err(Error::WrongPassword)));
}
