//! Tests of the OpenPGP readers and verifier.

use super::export::*;
use super::key::*;
use super::packet::*;
use super::signature::*;
use super::*;
use crate::error::Error;
use serde_json::json;
use sha1::Sha1;
use sha2::{Digest, Sha256};

#[test]
fn refuses_unsupported_and_malformed_dicts() {
    let fpr = "ab".repeat(20);
    for dict in [
        json!({"type": "dsa", "method": "pgp+dsa-fips-180-2", "keyid": fpr, "keyval": {"public": {"p": "01", "q": "01", "g": "01", "y": "01"}}}),
        json!({"type": "rsa", "method": "pgp+rsa-pkcsv1.5", "keyid": "abc", "keyval": {"public": {"n": "01", "e": "03"}}}),
        json!({"type": "rsa", "method": "pgp+rsa-pkcsv1.5", "keyid": fpr, "keyval": {"public": {"n": "zz", "e": "03"}}}),
        json!({"type": "eddsa", "method": "pgp+eddsa-ed25519", "keyid": fpr, "keyval": {"public": {"q": "00"}}}),
        json!({"type": "eddsa", "method": "pgp+eddsa-ed25519", "keyid": fpr}),
    ] {
        assert!(GpgKey::from_key_dict(&dict).is_err(), "{dict}");
    }
    assert!(is_gpg_key_dict(&json!({"method": "pgp+rsa-pkcsv1.5"})));
    assert!(!is_gpg_key_dict(
        &json!({"keytype": "rsa", "scheme": "rsassa-pss-sha256"})
    ));
}

#[test]
fn ed25519_signature_over_the_openpgp_digest() {
    use ::signature::Signer as _;
    let secret = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let fpr = "cd".repeat(20);
    let dict = json!({
        "type": "eddsa", "method": "pgp+eddsa-ed25519", "keyid": fpr,
        "creation_time": 100, "validity_period": 50,
        "keyval": {"public": {"q": hex::encode(secret.verifying_key().as_bytes())}},
    });
    let key = GpgKey::from_key_dict(&dict).unwrap();
    let headers = [4u8, 0, 22, 8, 0, 0];
    let mut h = Sha256::new();
    h.update(b"content");
    h.update(headers);
    h.update([4, 0xff]);
    h.update(6u32.to_be_bytes());
    let sig = secret.sign(&h.finalize()).to_bytes();
    assert!(key.verify(b"content", &fpr, &headers, &sig, 120).is_ok());
    assert!(key.verify(b"other", &fpr, &headers, &sig, 120).is_err());
    // Expired at 150.
    assert!(key.verify(b"content", &fpr, &headers, &sig, 151).is_err());
    assert!(key
        .verify(b"content", &"ef".repeat(20), &headers, &sig, 120)
        .is_err());
}

// Packet builders (RFC 4880), for hand-made vectors.
fn packet(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xc0 | tag];
    match body.len() {
        n @ 0..=191 => out.push(n as u8),
        n @ 192..=8383 => {
            let n = n - 192;
            out.extend([(n >> 8) as u8 + 192, n as u8]);
        }
        n => {
            out.push(255);
            out.extend((n as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(body);
    out
}

fn mpi(bytes: &[u8]) -> Vec<u8> {
    let bytes = &bytes[bytes.iter().take_while(|&&b| b == 0).count()..];
    let bits = bytes.len() * 8 - bytes[0].leading_zeros() as usize;
    let mut out = (bits as u16).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

fn sub(kind: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![data.len() as u8 + 1, kind];
    out.extend_from_slice(data);
    out
}

fn ed25519_key_body(secret: &ed25519_dalek::SigningKey, created: u32) -> Vec<u8> {
    let mut body = vec![4];
    body.extend(created.to_be_bytes());
    body.push(ALG_EDDSA);
    body.push(ED25519_OID.len() as u8);
    body.extend(ED25519_OID);
    let mut point = vec![0x40];
    point.extend(secret.verifying_key().as_bytes());
    body.extend(mpi(&point));
    body
}

fn fingerprint(key_body: &[u8]) -> [u8; 20] {
    Sha1::digest(key_hash_prefix(key_body)).into()
}

/// A v4 signature body by an Ed25519 key over `parts`, with `hashed`
/// subpackets and the issuer in the unhashed area.
fn ed25519_sig_body(
    secret: &ed25519_dalek::SigningKey,
    issuer: &[u8; 20],
    sig_type: u8,
    extra_hashed: &[u8],
    parts: &[&[u8]],
) -> Vec<u8> {
    use ::signature::Signer as _;
    let mut hashed = sub(SUB_CREATION_TIME, &1000u32.to_be_bytes());
    let mut fpr = vec![4];
    fpr.extend(issuer);
    hashed.extend(sub(SUB_ISSUER_FINGERPRINT, &fpr));
    hashed.extend_from_slice(extra_hashed);
    let mut body = vec![4, sig_type, ALG_EDDSA, HASH_SHA256];
    body.extend((hashed.len() as u16).to_be_bytes());
    body.extend(&hashed);
    let digest = openpgp_digest(HASH_SHA256, parts, &body).unwrap();
    let unhashed = sub(SUB_ISSUER, &issuer[12..]);
    body.extend((unhashed.len() as u16).to_be_bytes());
    body.extend(&unhashed);
    body.extend(&digest[..2]);
    let sig = secret.sign(&digest).to_bytes();
    body.extend(mpi(&sig[..32]));
    body.extend(mpi(&sig[32..]));
    body
}

struct Fixture {
    primary: ed25519_dalek::SigningKey,
    primary_fpr: [u8; 20],
    subkey: ed25519_dalek::SigningKey,
    subkey_fpr: [u8; 20],
    export: Vec<u8>,
    binding_at: std::ops::Range<usize>,
}

fn fixture() -> Fixture {
    let primary = ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]);
    let subkey = ed25519_dalek::SigningKey::from_bytes(&[2u8; 32]);
    let pbody = ed25519_key_body(&primary, 500);
    let sbody = ed25519_key_body(&subkey, 600);
    let (primary_fpr, subkey_fpr) = (fingerprint(&pbody), fingerprint(&sbody));
    let uid = b"Test <t@example.com>";
    let mut uid_prefix = vec![0xb4];
    uid_prefix.extend((uid.len() as u32).to_be_bytes());
    uid_prefix.extend(uid);
    let mut expiry = sub(SUB_KEY_EXPIRATION, &86_400u32.to_be_bytes());
    expiry.extend(sub(SUB_PRIMARY_USER_ID, &[1]));
    let cert = ed25519_sig_body(
        &primary,
        &primary_fpr,
        0x13,
        &expiry,
        &[&key_hash_prefix(&pbody), &uid_prefix],
    );
    let binding = ed25519_sig_body(
        &primary,
        &primary_fpr,
        SIG_SUBKEY_BINDING,
        &sub(SUB_KEY_EXPIRATION, &3_600u32.to_be_bytes()),
        &[&key_hash_prefix(&pbody), &key_hash_prefix(&sbody)],
    );
    let mut export = packet(TAG_PUBLIC_KEY, &pbody);
    export.extend(packet(TAG_USER_ID, uid));
    export.extend(packet(TAG_SIGNATURE, &cert));
    export.extend(packet(TAG_PUBLIC_SUBKEY, &sbody));
    let start = export.len();
    export.extend(packet(TAG_SIGNATURE, &binding));
    Fixture {
        primary,
        primary_fpr,
        subkey,
        subkey_fpr,
        binding_at: start..export.len(),
        export,
    }
}

/// What `gpg --detach-sign` prints: one signature packet over `content`.
fn detached(secret: &ed25519_dalek::SigningKey, fpr: &[u8; 20], content: &[u8]) -> Vec<u8> {
    packet(
        TAG_SIGNATURE,
        &ed25519_sig_body(secret, fpr, SIG_BINARY, &[], &[content]),
    )
}

#[test]
fn detached_signature_packet_becomes_a_verifiable_signature_object() {
    let f = fixture();
    let dict = key_dict_from_export(&f.export, &hex::encode(f.primary_fpr)).unwrap();
    let key = GpgKey::from_key_dict(&dict).unwrap();
    for (secret, fpr) in [(&f.primary, f.primary_fpr), (&f.subkey, f.subkey_fpr)] {
        let sig = parse_signature_packet(&detached(secret, &fpr, b"content")).unwrap();
        assert_eq!(sig.keyid, hex::encode(fpr));
        assert_eq!(sig.signature.len(), 64);
        assert_eq!(&sig.other_headers[..4], &[4, 0, ALG_EDDSA, HASH_SHA256]);
        let verify = |content: &[u8]| {
            key.verify(
                content,
                &sig.keyid,
                &sig.other_headers,
                &sig.signature,
                1000,
            )
        };
        assert!(verify(b"content").is_ok());
        assert!(matches!(verify(b"tampered"), Err(Error::Signature)));
    }
}

/// A Metablock with two OpenPGP signatures under one (sub)key id, one
/// bad: the key does not verify, whichever comes first.
#[test]
fn a_bad_openpgp_signature_under_the_key_id_is_not_skipped() {
    let f = fixture();
    let dict = key_dict_from_export(&f.export, &hex::encode(f.primary_fpr)).unwrap();
    let key = GpgKey::from_key_dict(&dict).unwrap();
    let limits = crate::Limits::default();
    for (secret, fpr) in [(&f.primary, f.primary_fpr), (&f.subkey, f.subkey_fpr)] {
        let mut metablock = crate::Metablock::new(json!({"_type": "link"})).unwrap();
        let content = metablock.canonical_bytes().to_vec();
        let sig = parse_signature_packet(&detached(secret, &fpr, &content)).unwrap();
        metablock.add_gpg_signature(&sig);
        let good = metablock.to_value()["signatures"][0].clone();
        let mut bad = good.clone();
        let text = good["signature"].as_str().unwrap();
        let first = if text.starts_with('0') { "1" } else { "0" };
        bad["signature"] = json!(format!("{first}{}", &text[1..]));
        for signatures in [json!([good]), json!([bad, good]), json!([good, bad])] {
            let mut value = metablock.to_value();
            value["signatures"] = signatures.clone();
            let read = crate::Metablock::from_json(value.to_string().as_bytes(), &limits).unwrap();
            let verdict = read.verify_gpg(&key, 1000);
            let alone = signatures.as_array().unwrap().len() == 1;
            assert_eq!(verdict.is_ok(), alone, "{signatures}");
        }
    }
}

#[test]
fn key_export_reads_expiry_and_validly_bound_subkeys() {
    let f = fixture();
    let dict = key_dict_from_export(&f.export, &hex::encode(&f.subkey_fpr[12..])).unwrap();
    assert_eq!(dict["keyid"], hex::encode(f.primary_fpr));
    assert_eq!(dict["type"], "eddsa");
    assert_eq!(dict["method"], "pgp+eddsa-ed25519");
    assert_eq!(dict["hashes"], json!(["pgp+SHA2"]));
    assert_eq!(dict["creation_time"], 500);
    assert_eq!(dict["validity_period"], 86_400);
    assert_eq!(
        dict["keyval"]["public"]["q"],
        hex::encode(f.primary.verifying_key().as_bytes())
    );
    let sub = &dict["subkeys"][hex::encode(f.subkey_fpr)];
    assert_eq!(sub["validity_period"], 3_600);
    assert_eq!(sub["creation_time"], 600);
    // Expired subkey: created 600, valid 3600 s.
    let key = GpgKey::from_key_dict(&dict).unwrap();
    let sig = parse_signature_packet(&detached(&f.subkey, &f.subkey_fpr, b"x")).unwrap();
    let at = |now| key.verify(b"x", &sig.keyid, &sig.other_headers, &sig.signature, now);
    assert!(at(4_000).is_ok());
    assert!(at(4_201).is_err());
}

#[test]
fn subkey_with_a_forged_binding_is_left_out() {
    let mut f = fixture();
    // Flip a bit of the binding signature's s value.
    let last = f.binding_at.end - 1;
    f.export[last] ^= 1;
    let dict = key_dict_from_export(&f.export, &hex::encode(f.primary_fpr)).unwrap();
    assert!(dict.get("subkeys").is_none(), "{dict}");
    // A signature by the unlisted subkey does not verify.
    let key = GpgKey::from_key_dict(&dict).unwrap();
    let sig = parse_signature_packet(&detached(&f.subkey, &f.subkey_fpr, b"x")).unwrap();
    assert!(key
        .verify(b"x", &sig.keyid, &sig.other_headers, &sig.signature, 1000)
        .is_err());
    // Asking for the subkey by id now fails.
    assert!(matches!(
        key_dict_from_export(&f.export, &hex::encode(f.subkey_fpr)),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn truncated_packets_are_refused() {
    let f = fixture();
    let sig = detached(&f.primary, &f.primary_fpr, b"x");
    for n in 0..sig.len() {
        assert!(parse_signature_packet(&sig[..n]).is_err(), "prefix {n}");
    }
    // A key export cut inside a packet is refused; cut between packets
    // it is a shorter, valid export.
    let mut boundaries = vec![0];
    let mut r = Reader::new(&f.export, "test");
    while !r.is_empty() {
        read_packet(&mut r).unwrap();
        boundaries.push(f.export.len() - r.rest.len());
    }
    for n in 0..f.export.len() {
        let result = key_dict_from_export(&f.export[..n], "");
        assert_eq!(
            result.is_ok(),
            n != 0 && boundaries.contains(&n),
            "prefix {n}"
        );
    }
    // An MPI longer than its packet.
    let mut body = vec![4, 0, ALG_RSA, HASH_SHA256, 0, 0, 0, 0, 0, 0];
    body.extend([0x08, 0x00, 1, 2, 3]);
    assert!(matches!(
        parse_signature_packet(&packet(TAG_SIGNATURE, &body)),
        Err(Error::Malformed {
            reason: "truncated",
            ..
        })
    ));
}

#[test]
fn trailing_data_is_refused() {
    let f = fixture();
    let sig = detached(&f.primary, &f.primary_fpr, b"x");
    let mut extra_byte = sig.clone();
    extra_byte.push(0);
    let mut two_packets = sig.clone();
    two_packets.extend(&sig);
    for bad in [extra_byte, two_packets] {
        assert!(matches!(
            parse_signature_packet(&bad),
            Err(Error::Malformed {
                reason: "trailing data",
                ..
            })
        ));
    }
    // Bytes after the signature numbers, inside the packet.
    let mut body = ed25519_sig_body(&f.primary, &f.primary_fpr, 0, &[], &[b"x"]);
    body.push(0);
    assert!(parse_signature_packet(&packet(TAG_SIGNATURE, &body)).is_err());
    // Bytes after a key's numbers.
    let mut key = ed25519_key_body(&f.primary, 1);
    key.push(0);
    assert!(key_dict_from_export(&packet(TAG_PUBLIC_KEY, &key), "").is_err());
    // A second primary key.
    let mut two = f.export.clone();
    two.extend(packet(TAG_PUBLIC_KEY, &ed25519_key_body(&f.subkey, 1)));
    assert!(key_dict_from_export(&two, "").is_err());
}

#[test]
fn unknown_algorithms_versions_and_lengths_are_refused() {
    let f = fixture();
    let body = ed25519_sig_body(&f.primary, &f.primary_fpr, 0, &[], &[b"x"]);
    let with = |at: usize, value: u8| {
        let mut b = body.clone();
        b[at] = value;
        parse_signature_packet(&packet(TAG_SIGNATURE, &b))
    };
    assert!(matches!(
        with(2, 19),
        Err(Error::UnsupportedOpenPgp {
            what: "public-key algorithm",
            value: 19
        })
    ));
    assert!(matches!(
        with(3, HASH_SHA1),
        Err(Error::UnsupportedOpenPgp { value: 2, .. })
    ));
    assert!(matches!(
        with(0, 3),
        Err(Error::UnsupportedOpenPgp { value: 3, .. })
    ));
    assert!(matches!(
        with(1, 0x01),
        Err(Error::UnsupportedOpenPgp { value: 1, .. })
    ));
    // ECDSA (19) primary key.
    let mut key = ed25519_key_body(&f.primary, 1);
    key[5] = 19;
    assert!(matches!(
        key_dict_from_export(&packet(TAG_PUBLIC_KEY, &key), ""),
        Err(Error::UnsupportedOpenPgp { value: 19, .. })
    ));
    // Partial (new format) and indeterminate (old format) lengths.
    for bad in [
        &[0xc2, 0xe1, 0, 0][..],
        &[0x8b, 0, 0][..],
        &[0x02, 1, 0][..],
    ] {
        assert!(parse_signature_packet(bad).is_err(), "{bad:?}");
    }
    // Not a signature packet.
    assert!(parse_signature_packet(&packet(TAG_USER_ID, b"x")).is_err());
    // Too large.
    assert!(matches!(
        parse_signature_packet(&vec![0; MAX_SIGNATURE_PACKET_BYTES + 1]),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn dsa_signature_packet_verifies_like_the_reference() {
    use ::signature::hazmat::PrehashSigner as _;
    let components = dsa::Components::generate(&mut rand_core::OsRng, dsa::KeySize::DSA_2048_224);
    let secret = dsa::SigningKey::generate(&mut rand_core::OsRng, components);
    let public = secret.verifying_key();
    let c = public.components();
    let fpr = [9u8; 20];
    let dict = json!({
        "type": "dsa", "method": "pgp+dsa-fips-180-2", "keyid": hex::encode(fpr),
        "keyval": {"public": {
            "p": hex::encode(c.p().to_bytes_be()), "q": hex::encode(c.q().to_bytes_be()),
            "g": hex::encode(c.g().to_bytes_be()), "y": hex::encode(public.y().to_bytes_be()),
        }},
    });
    let key = GpgKey::from_key_dict(&dict).unwrap();
    let mut hashed = sub(SUB_CREATION_TIME, &1000u32.to_be_bytes());
    let mut issuer = vec![4];
    issuer.extend(fpr);
    hashed.extend(sub(SUB_ISSUER_FINGERPRINT, &issuer));
    let mut body = vec![4, 0, ALG_DSA, HASH_SHA256];
    body.extend((hashed.len() as u16).to_be_bytes());
    body.extend(&hashed);
    let digest = openpgp_digest(HASH_SHA256, &[b"content"], &body).unwrap();
    body.extend([0, 0, digest[0], digest[1]]);
    let sig = secret.sign_prehash(&digest).unwrap();
    body.extend(mpi(&sig.r().to_bytes_be()));
    body.extend(mpi(&sig.s().to_bytes_be()));
    let object = parse_signature_packet(&packet(TAG_SIGNATURE, &body)).unwrap();
    // The reference stores DSA signatures as DER (r, s); q has 224 bits,
    // so the SHA-256 digest is truncated, as gpg's dsa2048 keys need.
    assert_eq!(object.signature.first(), Some(&0x30));
    let verify = |content: &[u8]| {
        key.verify(
            content,
            &object.keyid,
            &object.other_headers,
            &object.signature,
            0,
        )
    };
    assert!(verify(b"content").is_ok());
    assert!(verify(b"tampered").is_err());
}
