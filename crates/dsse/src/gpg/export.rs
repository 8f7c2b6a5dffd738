//! [`key_dict_from_export`]: `gpg --export` output into a reference key
//! dict, self-signatures and subkey bindings checked.

use serde_json::{json, Map, Value};
use sha1::Sha1;
use sha2::Digest;

use super::key::{openpgp_digest, verify_digest, GpgKey};
use super::packet::{read_packet, Reader};
use super::signature::{read_signature_body, SignaturePacket};
use super::{
    ALG_DSA, ALG_EDDSA, ALG_RSA, ED25519_OID, HASHES, HASH_SHA1, HASH_SHA256, HASH_SHA512,
    MAX_KEY_EXPORT_BYTES, MAX_PACKETS, SIG_SUBKEY_BINDING, TAG_PUBLIC_KEY, TAG_PUBLIC_SUBKEY,
    TAG_SIGNATURE, TAG_USER_ATTRIBUTE, TAG_USER_ID,
};
use crate::error::Error;

/// A v4 public key or subkey packet body as a reference key dict, with the
/// key it describes.
pub(super) fn read_public_key(body: &[u8]) -> Result<(Map<String, Value>, GpgKey), Error> {
    let what = "OpenPGP public key packet";
    let mut r = Reader::new(body, what);
    r.version_4("public key packet version")?;
    let creation_time = r.u32()?;
    let algorithm = r.u8()?;
    let (kind, method, public) = match algorithm {
        ALG_RSA => {
            let n = hex::encode(r.mpi()?);
            let e = hex::encode(r.mpi()?);
            ("rsa", "pgp+rsa-pkcsv1.5", json!({"n": n, "e": e}))
        }
        ALG_DSA => {
            let mut numbers = Map::new();
            for name in ["p", "q", "g", "y"] {
                numbers.insert(name.into(), Value::String(hex::encode(r.mpi()?)));
            }
            ("dsa", "pgp+dsa-fips-180-2", Value::Object(numbers))
        }
        ALG_EDDSA => {
            let oid_len = usize::from(r.u8()?);
            if r.take(oid_len)? != ED25519_OID {
                return Err(Error::malformed(what, "EdDSA curve is not Ed25519"));
            }
            let point = r.mpi()?;
            let q = match point.split_first() {
                Some((0x40, q)) if q.len() == 32 => q,
                _ => {
                    return Err(Error::malformed(
                        what,
                        "Ed25519 point is not 0x40 || 32 bytes",
                    ))
                }
            };
            ("eddsa", "pgp+eddsa-ed25519", json!({"q": hex::encode(q)}))
        }
        value => {
            return Err(Error::UnsupportedOpenPgp {
                what: "public-key algorithm",
                value,
            })
        }
    };
    r.finish()?;
    let len = u16::try_from(body.len())
        .map_err(|_| Error::malformed(what, "key packet over 65535 bytes"))?;
    let mut hasher = Sha1::new();
    hasher.update([0x99]);
    hasher.update(len.to_be_bytes());
    hasher.update(body);
    let keyid = hex::encode(hasher.finalize());
    let mut dict = Map::new();
    dict.insert("method".into(), json!(method));
    dict.insert("type".into(), json!(kind));
    dict.insert("hashes".into(), json!([HASHES]));
    dict.insert("creation_time".into(), json!(creation_time));
    dict.insert("keyid".into(), json!(keyid));
    dict.insert("keyval".into(), json!({"private": "", "public": public}));
    let key = GpgKey::from_key_dict(&Value::Object(dict.clone()))?;
    Ok((dict, key))
}

/// `0x99 || be16(len) || body`: how a key packet enters a self-signature.
pub(super) fn key_hash_prefix(body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(body.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(body.len() + 3);
    out.push(0x99);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

pub(super) fn self_signature_ok(
    primary: &GpgKey,
    parts: &[&[u8]],
    sig: &SignaturePacket<'_>,
) -> bool {
    matches!(sig.hash, HASH_SHA1 | HASH_SHA256 | HASH_SHA512)
        && openpgp_digest(sig.hash, parts, sig.hashed_part)
            .is_ok_and(|d| verify_digest(&primary.material, sig.hash, &d, &sig.signature))
}

/// Reads the output of `gpg --export KEYID` (one transferable public key,
/// RFC 4880 section 11.1) into the key dict securesystemslib's
/// `export_pubkey` makes: the primary key with the expiry of its newest valid
/// (primary) user ID self-certification, and `subkeys` with exactly one
/// valid binding signature (their expiry from it). Subkeys of algorithms
/// other than RSA, DSA and EdDSA (e.g. ECDH encryption subkeys) are left
/// out. When `keyid` is hex, the primary key or a kept subkey must end with
/// it.
pub fn key_dict_from_export(data: &[u8], keyid: &str) -> Result<Value, Error> {
    let what = "OpenPGP key export";
    if data.is_empty() {
        return Err(Error::malformed(what, "empty: no such key in the keyring"));
    }
    crate::limits::at_most(what, data.len(), MAX_KEY_EXPORT_BYTES)?;
    enum Slot {
        None,
        UserId(usize),
        Subkey(usize),
    }
    let mut r = Reader::new(data, what);
    let mut primary: Option<(&[u8], Map<String, Value>, GpgKey)> = None;
    let mut user_ids: Vec<(&[u8], Vec<&[u8]>)> = Vec::new();
    let mut subkeys: Vec<(&[u8], Vec<&[u8]>)> = Vec::new();
    let mut slot = Slot::None;
    let mut count = 0usize;
    while !r.is_empty() {
        count += 1;
        if count > MAX_PACKETS {
            return Err(Error::TooMany {
                what: "packets in an OpenPGP key export",
                limit: MAX_PACKETS,
                actual: count,
            });
        }
        let (tag, body) = read_packet(&mut r)?;
        match (tag, primary.is_some()) {
            (TAG_PUBLIC_KEY, false) => {
                let (dict, key) = read_public_key(body)?;
                primary = Some((body, dict, key));
            }
            (TAG_PUBLIC_KEY, true) => {
                return Err(Error::malformed(
                    what,
                    "more than one primary key (name exactly one key)",
                ))
            }
            (_, false) => {
                return Err(Error::malformed(
                    what,
                    "the first packet is not a public key",
                ))
            }
            (TAG_USER_ID, true) => {
                user_ids.push((body, Vec::new()));
                slot = Slot::UserId(user_ids.len() - 1);
            }
            (TAG_USER_ATTRIBUTE, true) => slot = Slot::None,
            (TAG_PUBLIC_SUBKEY, true) => {
                subkeys.push((body, Vec::new()));
                slot = Slot::Subkey(subkeys.len() - 1);
            }
            (TAG_SIGNATURE, true) => {
                let list = match slot {
                    Slot::UserId(i) => user_ids.get_mut(i),
                    Slot::Subkey(i) => subkeys.get_mut(i),
                    Slot::None => None,
                };
                if let Some((_, sigs)) = list {
                    sigs.push(body);
                }
            }
            _ => {} // trust, marker and other packets: ignored, as in the reference
        }
    }
    let Some((primary_body, mut dict, primary_key)) = primary else {
        return Err(Error::malformed(what, "no public key"));
    };
    let primary_prefix = key_hash_prefix(primary_body);

    // The primary key's expiry: securesystemslib `_assign_certified_key_info`.
    let (mut validity, mut is_primary, mut newest) = (None, false, None::<u32>);
    for (uid, sigs) in &user_ids {
        let uid_len = u32::try_from(uid.len()).unwrap_or(u32::MAX);
        let mut uid_prefix = vec![0xb4];
        uid_prefix.extend_from_slice(&uid_len.to_be_bytes());
        uid_prefix.extend_from_slice(uid);
        for body in sigs {
            let Ok(sig) = read_signature_body(body) else {
                continue;
            };
            if !(0x10..=0x13).contains(&sig.sig_type)
                || !primary_key.keyid.ends_with(&sig.issuer)
                || !self_signature_ok(&primary_key, &[&primary_prefix, &uid_prefix], &sig)
            {
                continue;
            }
            let Some(expiration) = sig.key_expiration else {
                continue;
            };
            if is_primary && !sig.primary_user_id {
                continue;
            }
            if newest.is_none_or(|t| t < sig.creation_time) {
                validity = Some(expiration);
                is_primary = sig.primary_user_id;
                newest = Some(sig.creation_time);
            }
        }
    }
    if let Some(v) = validity {
        dict.insert("validity_period".into(), json!(v));
    }

    // Subkeys: securesystemslib `_get_verified_subkeys`.
    let mut verified = Map::new();
    for (body, sigs) in &subkeys {
        let Ok((mut sub, _)) = read_public_key(body) else {
            continue;
        };
        let bindings: Vec<SignaturePacket<'_>> = sigs
            .iter()
            .filter_map(|b| read_signature_body(b).ok())
            .filter(|s| {
                s.sig_type == SIG_SUBKEY_BINDING
                    && matches!(s.hash, HASH_SHA1 | HASH_SHA256 | HASH_SHA512)
            })
            .collect();
        let [binding] = bindings.as_slice() else {
            continue;
        };
        let sub_prefix = key_hash_prefix(body);
        if !self_signature_ok(&primary_key, &[&primary_prefix, &sub_prefix], binding) {
            continue;
        }
        if let Some(v) = binding.key_expiration {
            sub.insert("validity_period".into(), json!(v));
        }
        let id = sub
            .get("keyid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        verified.insert(id, Value::Object(sub));
    }

    let wanted = keyid.trim_start_matches("0x").to_ascii_lowercase();
    if !wanted.is_empty() && wanted.bytes().all(|b| b.is_ascii_hexdigit()) {
        let found =
            primary_key.keyid.ends_with(&wanted) || verified.keys().any(|k| k.ends_with(&wanted));
        if !found {
            return Err(Error::malformed(
                what,
                "neither the key nor a valid subkey has the requested key id",
            ));
        }
    }
    if !verified.is_empty() {
        dict.insert("subkeys".into(), Value::Object(verified));
    }
    Ok(Value::Object(dict))
}
