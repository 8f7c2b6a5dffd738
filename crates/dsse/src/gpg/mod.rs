//! OpenPGP functionaries as the reference (securesystemslib `_gpg`) stores
//! them: key dicts with the key's numbers (`type` `rsa` / `dsa` / `eddsa`,
//! `method` `pgp+rsa-pkcsv1.5` / `pgp+dsa-fips-180-2` / `pgp+eddsa-ed25519`,
//! `keyval.public` `{n, e}` / `{p, q, g, y}` / `{q}`, `subkeys`,
//! `creation_time`, `validity_period`) and signature objects
//! `{keyid, other_headers, signature}` in Metablocks.
//!
//! A signature covers, as RFC 4880 section 5.2.4 says for v4 signatures,
//! `SHA-256(content || other_headers || 0x04 0xff || be32(len(other_headers)))`;
//! the reference always verifies with SHA-256 (and so does toto), whatever
//! hash the signature packet names. `signature` is the RSA MPI, the DER
//! `(r, s)` sequence for DSA, and `r || s` (32 bytes each) for Ed25519.
//!
//! Two small RFC 4880 readers serve the signing side and layout authoring,
//! as securesystemslib's do: [`parse_signature_packet`] turns the output of
//! `gpg --detach-sign` into a signature object, and [`key_dict_from_export`]
//! turns the output of `gpg --export KEYID` into a key dict (self-signatures
//! checked, subkeys kept only with exactly one valid binding signature). Both
//! are bounded ([`MAX_SIGNATURE_PACKET_BYTES`], [`MAX_KEY_EXPORT_BYTES`]) and
//! reject truncated packets, trailing data, partial or indeterminate
//! lengths, and versions other than 4. Revocation signatures are ignored,
//! as in the reference. The process that runs `gpg` lives in the CLI.
//!
//! One file per job: `packet` (the RFC 4880 packet reader), `key` (key
//! dicts and verifying), `signature` (signature packets), `export` (key
//! exports into key dicts).

mod export;
mod key;
mod packet;
mod signature;

pub use export::key_dict_from_export;
pub use key::{is_gpg_key_dict, GpgKey};
pub use signature::{parse_signature_packet, GpgSignature};

/// Largest signature packet [`parse_signature_packet`] reads (an RSA-4096
/// signature packet from gpg is under 600 bytes).
pub const MAX_SIGNATURE_PACKET_BYTES: usize = 16 << 10;
/// Largest `gpg --export` output [`key_dict_from_export`] reads.
pub const MAX_KEY_EXPORT_BYTES: usize = 1 << 20;
/// Most packets in one key export, and most subpackets in one signature.
const MAX_PACKETS: usize = 4096;
const MAX_SUBPACKETS: usize = 256;

const ALG_RSA: u8 = 1;
const ALG_DSA: u8 = 17;
const ALG_EDDSA: u8 = 22;
const HASH_SHA1: u8 = 2;
const HASH_SHA256: u8 = 8;
const HASH_SHA512: u8 = 10;
const TAG_SIGNATURE: u8 = 2;
const TAG_PUBLIC_KEY: u8 = 6;
const TAG_USER_ID: u8 = 13;
const TAG_PUBLIC_SUBKEY: u8 = 14;
const TAG_USER_ATTRIBUTE: u8 = 17;
const SUB_CREATION_TIME: u8 = 2;
const SUB_KEY_EXPIRATION: u8 = 9;
const SUB_ISSUER: u8 = 16;
const SUB_PRIMARY_USER_ID: u8 = 25;
const SUB_ISSUER_FINGERPRINT: u8 = 33;
const SIG_BINARY: u8 = 0x00;
const SIG_SUBKEY_BINDING: u8 = 0x18;
const ED25519_OID: [u8; 9] = [0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01];
/// The reference's `hashes` entry of every OpenPGP key dict.
const HASHES: &str = "pgp+SHA2";

#[cfg(test)]
mod tests;
