//! The shape of a Sigstore bundle, checked on the strict JSON tree before
//! anything verifies or reads it: one spelling for one bundle.
//!
//! `sigstore-verify` reads bundles leniently: unknown fields at any depth,
//! enum names in any case, base64url, unpadded base64 or hex for bytes,
//! numbers for int64 fields, a `certificate` in a v0.1 bundle. Each leniency
//! is a second way to write the same bundle, and a place where two readers
//! may disagree. This module accepts the protobuf-specs JSON form as
//! sigstore-python 4.5.1 and the protobuf JSON writers (cosign, sigstore-go,
//! sigstore-js, sigstore-python, toto) produce it, and nothing else:
//!
//! - the fields of `dev.sigstore.bundle.v1.Bundle` (protobuf-specs
//!   `sigstore_bundle.proto`, `sigstore_common.proto`, `sigstore_rekor.proto`,
//!   DSSE `envelope.proto`) in lowerCamelCase, and no others;
//! - bytes as standard, padded base64; int64 as a decimal string; enums by
//!   their exact names;
//! - a known media type, with the verification material its version uses
//!   (`certificate` from v0.3, `x509CertificateChain` before; `publicKey`
//!   in any);
//! - no RFC 3161 timestamp twice;
//! - an inclusion proof that agrees with its checkpoint (tree size and
//!   root hash), and for Rekor v2 entries, whose index is the proof's, the
//!   same index in both places.
//!
//! The differences from sigstore-python are written down in SECURITY.md.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use dsse::json::Node;

use super::Error;

/// The media types of bundles v0.1, v0.2 and v0.3 (both v0.3 spellings).
const MEDIA_TYPES: [(&str, Version); 4] = [
    (
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        Version::V01,
    ),
    (
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        Version::V02,
    ),
    (
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        Version::V03,
    ),
    (
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        Version::V03,
    ),
];

/// `dev.sigstore.common.v1.HashAlgorithm` names a message digest may use,
/// with their digests' lengths.
const HASH_ALGORITHMS: [(&str, usize); 5] = [
    ("SHA2_256", 32),
    ("SHA2_384", 48),
    ("SHA2_512", 64),
    ("SHA3_256", 32),
    ("SHA3_384", 48),
];

/// The fields of a `TransparencyLogEntry`.
pub(super) const TLOG_ENTRY_FIELDS: [&str; 7] = [
    "logIndex",
    "logId",
    "kindVersion",
    "integratedTime",
    "inclusionPromise",
    "inclusionProof",
    "canonicalizedBody",
];

/// Length of a log's SHA-256 hashes (Merkle nodes, roots, log ids).
const HASH_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V01,
    V02,
    V03,
}

fn malformed(reason: String) -> Error {
    Error::Malformed {
        what: "bundle",
        reason,
    }
}

/// Well-formed, but the parts that must agree do not (exit 1, as the
/// verifier's own consistency checks).
fn inconsistent(reason: String) -> Error {
    Error::Verification { reason }
}

/// Checks the bundle at `root` (see the module documentation).
pub(super) fn check(root: Node<'_, '_>) -> Result<(), Error> {
    let bundle = Object::read(
        root,
        "bundle",
        &[
            "mediaType",
            "verificationMaterial",
            "messageSignature",
            "dsseEnvelope",
        ],
    )?;
    let media_type = bundle.string("mediaType")?;
    let version = known(&MEDIA_TYPES, media_type).ok_or_else(|| {
        malformed(format!(
            "mediaType {media_type:?} is not a Sigstore bundle v0.1, v0.2 or v0.3"
        ))
    })?;
    verification_material(bundle.required("verificationMaterial")?, version)?;
    if let Some(signature) = bundle.optional("messageSignature") {
        let signature = Object::read(
            signature,
            "messageSignature",
            &["messageDigest", "signature"],
        )?;
        if let Some(digest) = signature.optional("messageDigest") {
            let digest = Object::read(digest, "messageDigest", &["algorithm", "digest"])?;
            let algorithm = digest.string("algorithm")?;
            let len = known(&HASH_ALGORITHMS, algorithm).ok_or_else(|| {
                let names: Vec<&str> = HASH_ALGORITHMS.iter().map(|(n, _)| *n).collect();
                malformed(format!(
                    "messageDigest.algorithm {algorithm:?} is not one of {names:?}"
                ))
            })?;
            digest.hash("digest", len)?;
        }
        signature.bytes("signature")?;
    }
    if let Some(envelope) = bundle.optional("dsseEnvelope") {
        let envelope = Object::read(
            envelope,
            "dsseEnvelope",
            &["payload", "payloadType", "signatures"],
        )?;
        envelope.bytes("payload")?;
        envelope.string("payloadType")?;
        for signature in envelope.array("signatures")? {
            let signature =
                Object::read(signature, "dsseEnvelope.signatures[]", &["sig", "keyid"])?;
            signature.bytes("sig")?;
            if signature.optional("keyid").is_some() {
                signature.string("keyid")?;
            }
        }
    }
    Ok(())
}

fn verification_material(node: Node<'_, '_>, version: Version) -> Result<(), Error> {
    let material = Object::read(
        node,
        "verificationMaterial",
        &[
            "publicKey",
            "x509CertificateChain",
            "certificate",
            "tlogEntries",
            "timestampVerificationData",
        ],
    )?;
    if let Some(key) = material.optional("publicKey") {
        let key = Object::read(key, "publicKey", &["hint"])?;
        if key.optional("hint").is_some() {
            key.string("hint")?;
        }
    }
    if let Some(chain) = material.optional("x509CertificateChain") {
        if version == Version::V03 {
            return Err(malformed(
                "a v0.3 bundle carries its signing certificate in `certificate`, \
                 not `x509CertificateChain`"
                    .into(),
            ));
        }
        let chain = Object::read(chain, "x509CertificateChain", &["certificates"])?;
        for certificate in chain.array("certificates")? {
            Object::read(
                certificate,
                "x509CertificateChain.certificates[]",
                &["rawBytes"],
            )?
            .bytes("rawBytes")?;
        }
    }
    if let Some(certificate) = material.optional("certificate") {
        if version != Version::V03 {
            return Err(malformed(
                "`certificate` is a v0.3 field; a v0.1 or v0.2 bundle carries \
                 `x509CertificateChain`"
                    .into(),
            ));
        }
        Object::read(certificate, "certificate", &["rawBytes"])?.bytes("rawBytes")?;
    }
    for entry in material.array("tlogEntries")? {
        tlog_entry(entry)?;
    }
    if let Some(data) = material.optional("timestampVerificationData") {
        {
            let data = Object::read(data, "timestampVerificationData", &["rfc3161Timestamps"])?;
            let mut seen: Vec<Vec<u8>> = Vec::new();
            if data.optional("rfc3161Timestamps").is_some() {
                for timestamp in data.array("rfc3161Timestamps")? {
                    let signed =
                        Object::read(timestamp, "rfc3161Timestamps[]", &["signedTimestamp"])?
                            .bytes("signedTimestamp")?;
                    if seen.contains(&signed) {
                        return Err(malformed(
                            "the same RFC 3161 timestamp is there twice".into(),
                        ));
                    }
                    seen.push(signed);
                }
            }
        }
    }
    Ok(())
}

fn tlog_entry(node: Node<'_, '_>) -> Result<(), Error> {
    let entry = Object::read(node, "tlogEntries[]", &TLOG_ENTRY_FIELDS)?;
    let log_index = entry.int64("logIndex")?;
    Object::read(entry.required("logId")?, "logId", &["keyId"])?.hash("keyId", HASH_LEN)?;
    let kind = Object::read(
        entry.required("kindVersion")?,
        "kindVersion",
        &["kind", "version"],
    )?;
    let version = kind.string("version")?;
    if entry.optional("integratedTime").is_some() {
        entry.int64("integratedTime")?;
    }
    if let Some(promise) = entry.optional("inclusionPromise") {
        Object::read(promise, "inclusionPromise", &["signedEntryTimestamp"])?
            .bytes("signedEntryTimestamp")?;
    }
    entry.bytes("canonicalizedBody")?;
    let Some(proof) = entry.optional("inclusionProof") else {
        return Ok(());
    };
    let proof = Object::read(
        proof,
        "inclusionProof",
        &["logIndex", "rootHash", "treeSize", "hashes", "checkpoint"],
    )?;
    let proof_index = proof.int64("logIndex")?;
    let root_hash = proof.hash("rootHash", HASH_LEN)?;
    let tree_size = proof.int64("treeSize")?;
    for hash in proof.array("hashes")? {
        let len = bytes_of(hash, "inclusionProof.hashes[]")?.len();
        if len != HASH_LEN {
            return Err(malformed(format!(
                "inclusionProof.hashes[] holds a {len}-byte hash, not {HASH_LEN} bytes"
            )));
        }
    }
    // Rekor v2 (hashedrekord 0.0.2) has one index, written in both places;
    // Rekor v1 writes the global index in the entry and the shard's in the
    // proof.
    let kind = kind.string("kind")?;
    let rekor_v2 = version == "0.0.2" && matches!(kind, "hashedrekord" | "dsse");
    if rekor_v2 && proof_index != log_index {
        return Err(inconsistent(format!(
            "the log entry's index {log_index} is not its inclusion proof's {proof_index}"
        )));
    }
    let Some(checkpoint) = proof.optional("checkpoint") else {
        return Ok(());
    };
    let note = Object::read(checkpoint, "checkpoint", &["envelope"])?.string("envelope")?;
    // A signed note (transparency-dev formats, log/README.md): the body's
    // lines are the origin, the tree size and the base64 root hash; the
    // body ends with a newline before the blank line and the signatures.
    let (body, _signatures) = note
        .split_once("\n\n")
        .ok_or_else(|| malformed("the checkpoint is not a signed note".into()))?;
    if !note.ends_with('\n') {
        return Err(malformed(
            "the checkpoint's signature lines do not end with a newline".into(),
        ));
    }
    let mut lines = body.split('\n');
    let (_origin, size, root) = (lines.next(), lines.next(), lines.next());
    let size = size.and_then(|s| s.parse::<u64>().ok().filter(|_| is_decimal(s)));
    let root = root.and_then(|r| STANDARD.decode(r).ok());
    if size != u64::try_from(tree_size).ok() {
        return Err(inconsistent(format!(
            "the inclusion proof's tree size {tree_size} is not its checkpoint's"
        )));
    }
    if root.as_deref() != Some(root_hash.as_slice()) {
        return Err(inconsistent(
            "the inclusion proof's root hash is not its checkpoint's".into(),
        ));
    }
    Ok(())
}

fn is_null(node: &Node<'_, '_>) -> bool {
    !node.is_object() && !node.is_array() && node.as_str().is_none() && node.to_value().is_null()
}

fn is_decimal(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'))
}

fn bytes_of(node: Node<'_, '_>, what: &str) -> Result<Vec<u8>, Error> {
    let text = node
        .as_str()
        .ok_or_else(|| malformed(format!("{what} is not a string")))?;
    STANDARD
        .decode(text)
        .map_err(|_| malformed(format!("{what} is not standard, padded base64")))
}

/// A JSON object of the schema: its members, all known.
struct Object<'t, 'a> {
    node: Node<'t, 'a>,
    what: &'static str,
}

impl<'t, 'a> Object<'t, 'a> {
    fn read(node: Node<'t, 'a>, what: &'static str, known: &[&str]) -> Result<Self, Error> {
        if !node.is_object() {
            return Err(malformed(format!("{what} is not a JSON object")));
        }
        for (key, _) in node.members() {
            if !known.contains(&key) {
                return Err(malformed(format!(
                    "unknown field {key:?} in {what} (expected one of {known:?})"
                )));
            }
        }
        Ok(Object { node, what })
    }

    /// The member `key`; `null` is absent, as in protobuf JSON (npm's v0.1
    /// bundles write `"inclusionProof": null`).
    fn optional(&self, key: &str) -> Option<Node<'t, 'a>> {
        self.node.get(key).filter(|n| !is_null(n))
    }

    fn required(&self, key: &str) -> Result<Node<'t, 'a>, Error> {
        self.node
            .get(key)
            .ok_or_else(|| malformed(format!("{} has no {key}", self.what)))
    }

    fn string(&self, key: &str) -> Result<&'t str, Error> {
        self.required(key)?
            .as_str()
            .ok_or_else(|| malformed(format!("{}.{key} is not a string", self.what)))
    }

    fn bytes(&self, key: &str) -> Result<Vec<u8>, Error> {
        bytes_of(self.required(key)?, &format!("{}.{key}", self.what))
    }

    /// Bytes that are a hash of `len` bytes (so 64 hex digits, which
    /// `sigstore-types` also reads, are not a second spelling).
    fn hash(&self, key: &str, len: usize) -> Result<Vec<u8>, Error> {
        let bytes = self.bytes(key)?;
        if bytes.len() != len {
            return Err(malformed(format!(
                "{}.{key} holds {} bytes, not a {len}-byte hash in base64",
                self.what,
                bytes.len()
            )));
        }
        Ok(bytes)
    }

    /// An int64, written as protobuf JSON writers do: a decimal string.
    fn int64(&self, key: &str) -> Result<i64, Error> {
        let text = self.string(key).map_err(|_| {
            malformed(format!(
                "{}.{key} is not an int64 written as a decimal string",
                self.what
            ))
        })?;
        text.parse::<i64>()
            .ok()
            .filter(|_| is_decimal(text))
            .ok_or_else(|| {
                malformed(format!(
                    "{}.{key} {text:?} is not a non-negative decimal int64",
                    self.what
                ))
            })
    }

    fn array(&self, key: &str) -> Result<impl Iterator<Item = Node<'t, 'a>> + 't, Error> {
        let node = self.required(key)?;
        if !node.is_array() {
            return Err(malformed(format!("{}.{key} is not an array", self.what)));
        }
        Ok(node.elements())
    }
}

/// What `table` gives `name`, when it names it.
fn known<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, v)| *v)
}
