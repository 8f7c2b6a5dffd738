//! The fast path of bundle verification: one pass over the shape nearly every
//! public bundle has, with each check done once.
//!
//! `sigstore-verify` is general: it reads a bundle into its own types (PEM
//! and base64 round trips, the certificate parsed four times), verifies the
//! SET twice, and re-reads the log entry's body. For a batch of bundles that
//! costs about half again as much as the signatures themselves. This module
//! verifies the common shape directly, with the same primitives
//! `sigstore-verify` uses (its key rings, certificate reader, checkpoint and
//! Merkle code, and `webpki` for the certificate chain):
//!
//! - a v0.3 bundle whose `messageSignature` has a SHA2_256 `messageDigest`,
//!   signed by a Fulcio certificate with a P-256 key;
//! - exactly one `hashedrekord` 0.0.1 log entry carrying both an inclusion
//!   promise (SET) and an inclusion proof with its checkpoint;
//! - no RFC 3161 timestamps, and an identity policy (not a managed key).
//!
//! It only ever *accepts*. Anything outside that shape, anything unexpected
//! inside it, and every failed check makes it decline, and the caller then
//! asks `sigstore-verify`, whose verdict and error message stand. So a
//! bundle is accepted here only if every check below passes; the
//! `bundle_fast` fuzz target and the conformance tests check that nothing
//! it accepts is refused by `sigstore-verify`.
//!
//! The checks, in order: the artifact's digest against `messageDigest`; the
//! log entry's body against the bundle (digest, signature, certificate);
//! the certificate's identity, issuer and claims against the policy; the
//! integrated time (not in the future, inside the certificate's validity);
//! the SET with the log key valid at that time; the inclusion proof to the
//! checkpoint's root and the checkpoint's signature by that same key; the
//! chain to a Fulcio CA valid at that time, with the code-signing EKU; the
//! one embedded SCT by a trusted CT log; and the signature over the digest.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use dsse::json::{Node, Tree};
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use sha2::{Digest as _, Sha256};
use sigstore_verify::crypto::{
    parse_certificate_info, Checkpoint, KeyAlgorithm, Keyring, SigningScheme, VerificationKey,
    WEBPKI_VERIFICATION_ALGS,
};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::{DerCertificate, Sha256Hash, SignatureBytes, TimeRange};

use super::{Artifact, CertificatePolicy, Verified};

/// Why the fast path declined: shown by tests, never to users (the general
/// verifier then decides and explains).
pub(super) type Decline = &'static str;

const MEDIA_TYPES: [&str; 2] = [
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
];

/// DER of the OID 1.3.6.1.4.1.11129.2.4.2 (RFC 6962 embedded SCT list).
const SCT_LIST_OID: &[u8] = &[
    0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02,
];

/// The extended key usage `id-kp-codeSigning` (1.3.6.1.5.5.7.3.3), as the
/// OID's content bytes.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// Trust material prepared once per trusted root.
pub(super) struct FastPath {
    rekor: Keyring,
    /// CT log keys by the SCT's signature scheme (ECDSA only).
    ct: [(SigningScheme, Keyring); 2],
    /// Every certificate of every Fulcio CA is an anchor, as in
    /// `sigstore-verify`, each with its CA's validity window.
    anchors: Vec<TrustAnchor<'static>>,
    windows: Vec<Option<TimeRange>>,
}

impl FastPath {
    /// The fast path for `root`, or `None` when its material cannot be read
    /// this way (then every bundle takes the general path).
    pub(super) fn new(root: &TrustedRoot) -> Option<FastPath> {
        let ct = [
            SigningScheme::EcdsaP256Sha256,
            SigningScheme::EcdsaP384Sha384,
        ]
        .map(|scheme| root.ctfe_keys(scheme).map(|keys| (scheme, keys)));
        let [Ok(p256), Ok(p384)] = ct else {
            return None;
        };
        let mut anchors = Vec::new();
        let mut windows = Vec::new();
        for ca in &root.certificate_authorities {
            for cert in &ca.cert_chain.certificates {
                let der = CertificateDer::from(cert.raw_bytes.as_bytes());
                let anchor = webpki::anchor_from_trusted_cert(&der).ok()?.to_owned();
                anchors.push(anchor);
                windows.push(ca.valid_for);
            }
        }
        Some(FastPath {
            rekor: root.rekor_keys().ok()?,
            ct: [p256, p384],
            anchors,
            windows,
        })
    }

    /// Verifies `bundle` when it has the common shape; see the module
    /// documentation. `now` is the current time.
    pub(super) fn verify(
        &self,
        bundle: Node<'_, '_>,
        artifact: Artifact<'_>,
        policy: &CertificatePolicy,
        now: jiff::Timestamp,
    ) -> Result<Verified, Decline> {
        let digest: [u8; 32] = match artifact {
            Artifact::Bytes(bytes) => Sha256::digest(bytes).into(),
            Artifact::Sha256(digest) | Artifact::File { sha256: digest, .. } => digest,
            Artifact::Sha512(_) => return Err("artifact given by SHA-512"),
        };
        let b = Shape::read(bundle)?;
        if b.message_digest != digest {
            return Err("messageDigest is not the artifact's");
        }
        b.check_body(&digest)?;

        // The signer, against the policy.
        let info = parse_certificate_info(&b.certificate).map_err(|_| "certificate unreadable")?;
        if info.key_algorithm != KeyAlgorithm::EcdsaP256 {
            return Err("signing key is not P-256");
        }
        let identity = info.identity.as_ref().map(|san| san.to_string());
        if let Some(wanted) = &policy.identity {
            if identity.as_deref() != Some(wanted.as_str()) {
                return Err("identity");
            }
        }
        if info.issuer.as_deref() != Some(policy.issuer.as_str()) {
            return Err("issuer");
        }
        policy
            .check_claims(identity.as_deref(), Some(&info.ci_claims))
            .map_err(|_| "certificate claims")?;

        // The integrated time, which the SET authenticates.
        let time = jiff::Timestamp::from_second(b.integrated_time).map_err(|_| "time")?;
        if time > now || time < info.not_before || time > info.not_after {
            return Err("integrated time outside the certificate's validity or in the future");
        }
        let log_key = self
            .rekor
            .key_at(&b.log_id, time)
            .ok_or("no log key valid at the integrated time")?;
        log_key.verify(b.set_payload(), &b.set).map_err(|_| "SET")?;

        // The entry's inclusion in the log, under a checkpoint the log signed.
        let leaf = sigstore_merkle::hash_leaf(&b.body);
        sigstore_merkle::verify_inclusion_proof(
            &leaf,
            b.proof_index,
            b.tree_size,
            &b.proof,
            &b.root_hash,
        )
        .map_err(|_| "inclusion proof")?;
        let checkpoint = Checkpoint::from_text(b.checkpoint).map_err(|_| "checkpoint")?;
        if checkpoint.root_hash() != &b.root_hash || checkpoint.tree_size() != b.tree_size {
            return Err("checkpoint is not the proof's");
        }
        // Signed by the same log, with the key that signed the SET
        // (`sigstore-verify` takes any log of the root here).
        let hint = b.log_id.as_bytes().get(..4).ok_or("log ID")?;
        let signed = checkpoint.signatures().iter().any(|line| {
            line.key_id.as_bytes() == hint
                && log_key
                    .verify(checkpoint.signed_data(), &line.signature)
                    .is_ok()
        });
        if !signed {
            return Err("checkpoint signature");
        }

        // The certificate: chain, EKU, SCT; then the signature it vouches for.
        let issuer_spki = self.verify_chain(b.certificate.as_bytes(), time)?;
        self.verify_sct(b.certificate.as_bytes(), &issuer_spki)?;
        let key = VerificationKey::from_spki(&info.public_key).map_err(|_| "signing key")?;
        if key.scheme() != SigningScheme::EcdsaP256Sha256 {
            return Err("signing key is not P-256");
        }
        key.verify_prehashed(&digest, &b.signature)
            .map_err(|_| "signature")?;

        Ok(Verified {
            identity,
            issuer: info.issuer,
            times: vec![time.to_string()],
            tlog_verified: true,
        })
    }

    /// Verifies the leaf's chain to a Fulcio CA valid at `time`, for code
    /// signing, and returns the issuer's SubjectPublicKeyInfo (DER).
    fn verify_chain(&self, leaf: &[u8], time: jiff::Timestamp) -> Result<Vec<u8>, Decline> {
        let valid = |w: &Option<TimeRange>| w.is_none_or(|range| range.contains(time));
        let filtered: Vec<TrustAnchor<'static>>;
        let anchors = if self.windows.iter().all(valid) {
            &self.anchors[..]
        } else {
            filtered = self
                .anchors
                .iter()
                .zip(&self.windows)
                .filter(|(_, w)| valid(w))
                .map(|(a, _)| a.clone())
                .collect();
            &filtered[..]
        };
        if anchors.is_empty() {
            return Err("no Fulcio CA valid at the integrated time");
        }
        let der = CertificateDer::from(leaf);
        let cert = webpki::EndEntityCert::try_from(&der).map_err(|_| "certificate")?;
        let seconds = u64::try_from(time.as_second()).map_err(|_| "time")?;
        let path = cert
            .verify_for_usage(
                WEBPKI_VERIFICATION_ALGS,
                anchors,
                &[],
                UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds)),
                webpki::KeyUsage::required(CODE_SIGNING),
                None,
                None,
            )
            .map_err(|_| "certificate chain")?;
        // No intermediates were offered, so the anchor signed the leaf.
        // webpki keeps an anchor's SPKI without its SEQUENCE header.
        Ok(crate::der::tlv(
            0x30,
            path.anchor().subject_public_key_info.as_ref(),
        ))
    }

    /// Verifies the certificate's one embedded SCT (RFC 6962 §3.2) by a
    /// trusted CT log valid when it was issued.
    fn verify_sct(&self, cert: &[u8], issuer_spki: &[u8]) -> Result<(), Decline> {
        let (precert_tbs, list) = precert::tbs(cert).ok_or("certificate extensions")?;
        let sct = Sct::read_list(list).ok_or("SCT list")?;
        let (_, keys) = self
            .ct
            .iter()
            .find(|(scheme, _)| *scheme == sct.scheme)
            .ok_or("SCT signature algorithm")?;
        let tbs_len = u32::try_from(precert_tbs.len())
            .ok()
            .filter(|&n| n < 1 << 24)
            .ok_or("precertificate too large")?;
        let ext_len = u16::try_from(sct.extensions.len()).map_err(|_| "SCT extensions")?;
        let mut signed = Vec::with_capacity(precert_tbs.len() + sct.extensions.len() + 48);
        signed.extend_from_slice(&[0, 0]); // v1, certificate_timestamp
        signed.extend_from_slice(&sct.timestamp.to_be_bytes());
        signed.extend_from_slice(&[0, 1]); // precert_entry
        signed.extend_from_slice(&Sha256::digest(issuer_spki));
        signed.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
        signed.extend_from_slice(&precert_tbs);
        signed.extend_from_slice(&ext_len.to_be_bytes());
        signed.extend_from_slice(sct.extensions);
        let issued = i64::try_from(sct.timestamp)
            .ok()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .ok_or("SCT timestamp")?;
        keys.verify_with_key_id_at(
            &Sha256Hash::new(sct.log_id),
            issued,
            &signed,
            &SignatureBytes::new(sct.signature.to_vec()),
        )
        .map_err(|_| "SCT signature")
    }
}

/// The parts of a bundle of the common shape, decoded.
struct Shape<'a> {
    certificate: DerCertificate,
    message_digest: [u8; 32],
    signature: SignatureBytes,
    /// The entry's index in the log (what the SET signs).
    log_index: u64,
    /// Its index in the log shard the proof is for (Rekor v1 numbers
    /// entries across shards).
    proof_index: u64,
    log_id: Sha256Hash,
    integrated_time: i64,
    set: SignatureBytes,
    body: Vec<u8>,
    root_hash: Sha256Hash,
    tree_size: u64,
    proof: Vec<Sha256Hash>,
    checkpoint: &'a str,
}

/// `node`, an object with no member but `keys`.
fn only<'t, 'a>(node: Option<Node<'t, 'a>>, keys: &[&str]) -> Result<Node<'t, 'a>, Decline> {
    let node = node.filter(Node::is_object).ok_or("expected an object")?;
    if node.members().any(|(k, _)| !keys.contains(&k)) {
        return Err("unexpected member");
    }
    Ok(node)
}

fn text<'t>(node: Option<Node<'t, '_>>) -> Result<&'t str, Decline> {
    node.and_then(|n| n.as_str()).ok_or("expected a string")
}

fn bytes(node: Option<Node<'_, '_>>) -> Result<Vec<u8>, Decline> {
    STANDARD.decode(text(node)?).map_err(|_| "not base64")
}

fn hash(node: Option<Node<'_, '_>>) -> Result<Sha256Hash, Decline> {
    let raw: [u8; 32] = bytes(node)?.try_into().map_err(|_| "not 32 bytes")?;
    Ok(Sha256Hash::new(raw))
}

/// A non-negative protobuf-JSON int64 written as a decimal string, without
/// sign or leading zeros.
fn int(node: Option<Node<'_, '_>>) -> Result<u64, Decline> {
    let s = text(node)?;
    let digits = !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits || (s.len() > 1 && s.starts_with('0')) {
        return Err("not a decimal integer");
    }
    let n: i64 = s.parse().map_err(|_| "not an int64")?;
    u64::try_from(n).map_err(|_| "negative")
}

impl<'a> Shape<'a> {
    fn read(root: Node<'a, '_>) -> Result<Shape<'a>, Decline> {
        let root = only(
            Some(root),
            &["mediaType", "verificationMaterial", "messageSignature"],
        )?;
        if !MEDIA_TYPES.contains(&text(root.get("mediaType"))?) {
            return Err("not a v0.3 bundle");
        }
        let material = only(
            root.get("verificationMaterial"),
            &["certificate", "tlogEntries", "timestampVerificationData"],
        )?;
        if let Some(data) = material.get("timestampVerificationData") {
            for (_, timestamps) in only(Some(data), &["rfc3161Timestamps"])?.members() {
                if !timestamps.is_array() || !timestamps.is_empty() {
                    return Err("RFC 3161 timestamps");
                }
            }
        }
        let certificate = only(material.get("certificate"), &["rawBytes"])?;

        let entries = material.get("tlogEntries").ok_or("no tlogEntries")?;
        let mut entries = entries.elements();
        let (Some(entry), None) = (entries.next(), entries.next()) else {
            return Err("not exactly one log entry");
        };
        let entry = only(
            Some(entry),
            &[
                "logIndex",
                "logId",
                "kindVersion",
                "integratedTime",
                "inclusionPromise",
                "inclusionProof",
                "canonicalizedBody",
            ],
        )?;
        let kind = only(entry.get("kindVersion"), &["kind", "version"])?;
        if text(kind.get("kind"))? != "hashedrekord" || text(kind.get("version"))? != "0.0.1" {
            return Err("not a hashedrekord 0.0.1 entry");
        }
        let log_index = int(entry.get("logIndex"))?;
        let integrated_time = i64::try_from(int(entry.get("integratedTime"))?)
            .ok()
            .filter(|&t| t > 0)
            .ok_or("integratedTime")?;
        let promise = only(entry.get("inclusionPromise"), &["signedEntryTimestamp"])?;
        let proof = only(
            entry.get("inclusionProof"),
            &["logIndex", "rootHash", "treeSize", "hashes", "checkpoint"],
        )?;
        let hashes = proof.get("hashes").filter(Node::is_array).ok_or("hashes")?;
        let checkpoint = only(proof.get("checkpoint"), &["envelope"])?;

        let signature = only(
            root.get("messageSignature"),
            &["messageDigest", "signature"],
        )?;
        let md = only(signature.get("messageDigest"), &["algorithm", "digest"])?;
        if text(md.get("algorithm"))? != "SHA2_256" {
            return Err("messageDigest is not SHA2_256");
        }

        Ok(Shape {
            certificate: DerCertificate::new(bytes(certificate.get("rawBytes"))?),
            message_digest: bytes(md.get("digest"))?
                .try_into()
                .map_err(|_| "messageDigest length")?,
            signature: SignatureBytes::new(bytes(signature.get("signature"))?),
            log_index,
            proof_index: int(proof.get("logIndex"))?,
            log_id: hash(only(entry.get("logId"), &["keyId"])?.get("keyId"))?,
            integrated_time,
            set: SignatureBytes::new(bytes(promise.get("signedEntryTimestamp"))?),
            body: bytes(entry.get("canonicalizedBody"))?,
            root_hash: hash(proof.get("rootHash"))?,
            tree_size: int(proof.get("treeSize"))?,
            proof: hashes
                .elements()
                .map(|h| hash(Some(h)))
                .collect::<Result<_, _>>()?,
            checkpoint: text(checkpoint.get("envelope"))?,
        })
    }

    /// The log entry's body must record this artifact's digest, this
    /// signature and this certificate (the CVE-2022-36056 class).
    fn check_body(&self, digest: &[u8; 32]) -> Result<(), Decline> {
        let tree = Tree::parse(&self.body).map_err(|_| "body is not JSON")?;
        let body = only(Some(tree.root()), &["apiVersion", "kind", "spec"])?;
        if text(body.get("apiVersion"))? != "0.0.1" || text(body.get("kind"))? != "hashedrekord" {
            return Err("body is not hashedrekord 0.0.1");
        }
        let spec = only(body.get("spec"), &["data", "signature"])?;
        let logged = only(
            only(spec.get("data"), &["hash"])?.get("hash"),
            &["algorithm", "value"],
        )?;
        if text(logged.get("algorithm"))? != "sha256"
            || text(logged.get("value"))? != hex::encode(digest)
        {
            return Err("body records another digest");
        }
        let signature = only(spec.get("signature"), &["content", "publicKey"])?;
        if bytes(signature.get("content"))? != self.signature.as_bytes() {
            return Err("body records another signature");
        }
        let key = only(signature.get("publicKey"), &["content"])?;
        // As Rekor stores it: PEM, 64-character lines, a final newline.
        let pem = x509_cert::der::pem::encode_string(
            "CERTIFICATE",
            x509_cert::der::pem::LineEnding::LF,
            self.certificate.as_bytes(),
        )
        .map_err(|_| "certificate PEM")?;
        if bytes(key.get("content"))? != pem.as_bytes() {
            return Err("body records another certificate");
        }
        Ok(())
    }

    /// What the SET signs: the canonical JSON of body, integrated time,
    /// log ID (hex) and index. Keys are in canonical order and no value
    /// needs escaping (base64, hex, decimal).
    fn set_payload(&self) -> Vec<u8> {
        format!(
            r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
            STANDARD.encode(&self.body),
            self.integrated_time,
            self.log_id.to_hex(),
            self.log_index
        )
        .into_bytes()
    }
}

/// One SCT (RFC 6962 §3.2), borrowed from the certificate.
struct Sct<'a> {
    log_id: [u8; 32],
    timestamp: u64,
    extensions: &'a [u8],
    scheme: SigningScheme,
    signature: &'a [u8],
}

impl<'a> Sct<'a> {
    /// Reads a `SignedCertificateTimestampList` holding exactly one SCT.
    fn read_list(list: &'a [u8]) -> Option<Sct<'a>> {
        let (list, rest) = tls_vec16(list)?;
        let (one, more) = tls_vec16(list)?;
        if !rest.is_empty() || !more.is_empty() {
            return None;
        }
        let (&version, one) = one.split_first()?;
        let (log_id, one) = one.split_at_checked(32)?;
        let (timestamp, one) = one.split_at_checked(8)?;
        let (extensions, one) = tls_vec16(one)?;
        let (algorithm, one) = one.split_at_checked(2)?;
        let (signature, one) = tls_vec16(one)?;
        let scheme = match algorithm {
            [4, 3] => SigningScheme::EcdsaP256Sha256,
            [5, 3] => SigningScheme::EcdsaP384Sha384,
            _ => return None,
        };
        (version == 0 && one.is_empty()).then_some(Sct {
            log_id: log_id.try_into().ok()?,
            timestamp: u64::from_be_bytes(timestamp.try_into().ok()?),
            extensions,
            scheme,
            signature,
        })
    }
}

/// A TLS `opaque<0..2^16-1>`: its content and what follows.
fn tls_vec16(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&[high, low], rest) = input.split_first_chunk::<2>()?;
    rest.split_at_checked(usize::from(u16::from_be_bytes([high, low])))
}

/// The precertificate a CT log signed, rebuilt from the certificate. The
/// certificate was already read strictly by `parse_certificate_info` and
/// `webpki`; anything unexpected here declines.
mod precert {
    use super::SCT_LIST_OID;
    use crate::der::{element, tlv};

    /// The TBSCertificate without its SCT list extension (what the CT log
    /// signed), and that extension's value: the TLS-encoded SCT list.
    pub(super) fn tbs(cert: &[u8]) -> Option<(Vec<u8>, &[u8])> {
        let (0x30, _, cert, []) = element(cert)? else {
            return None;
        };
        let (0x30, _, tbs, _) = element(cert)? else {
            return None;
        };
        // The extensions, [3], come last.
        let mut rest = tbs;
        let mut before_extensions = 0;
        let extensions = loop {
            let (tag, whole, content, after) = element(rest)?;
            if after.is_empty() {
                break (tag == 0xa3).then_some(content)?;
            }
            before_extensions += whole.len();
            rest = after;
        };
        let (0x30, _, mut list, []) = element(extensions)? else {
            return None;
        };
        let mut kept = Vec::with_capacity(list.len());
        let mut scts = None;
        while !list.is_empty() {
            let (0x30, whole, extension, after) = element(list)? else {
                return None;
            };
            list = after;
            let (0x06, oid, _, value) = element(extension)? else {
                return None;
            };
            if oid != SCT_LIST_OID {
                kept.extend_from_slice(whole);
                continue;
            }
            // Not critical (a critical SCT extension would need handling
            // this code does not do); then the OCTET STRING holding an
            // OCTET STRING holding the TLS list.
            let (0x04, _, value, []) = element(value)? else {
                return None;
            };
            let (0x04, _, list, []) = element(value)? else {
                return None;
            };
            if scts.replace(list).is_some() {
                return None;
            }
        }
        let scts = scts?;
        if kept.is_empty() {
            return None;
        }
        let mut content = tbs.get(..before_extensions)?.to_vec();
        content.extend_from_slice(&tlv(0xa3, &tlv(0x30, &kept)));
        Some((tlv(0x30, &content), scts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_cert::der::{Decode as _, Encode as _};

    /// The signing certificates of the real-world bundles in testdata.
    fn certificates() -> Vec<(String, Vec<u8>)> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real-world");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("testdata/real-world") {
            let path = entry.expect("entry").path();
            if !path.to_string_lossy().ends_with(".sigstore.json") {
                continue;
            }
            let json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).expect("bundle")).expect("JSON");
            let material = &json["verificationMaterial"];
            let raw = material["certificate"]["rawBytes"].as_str().or_else(|| {
                material["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str()
            });
            if let Some(raw) = raw {
                let der = STANDARD.decode(raw).expect("base64");
                out.push((path.display().to_string(), der));
            }
        }
        out
    }

    /// The TBSCertificate rebuilt by slicing is byte for byte what
    /// `sigstore-verify` signs over: x509-cert's re-encoding without the SCT
    /// extension.
    #[test]
    fn precertificate_is_the_reencoded_tbs_without_the_sct_list() {
        let mut checked = 0;
        for (name, der) in certificates() {
            let cert = x509_cert::Certificate::from_der(&der).expect("certificate");
            let sct_oid =
                x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
            let Some(extension) = cert
                .tbs_certificate
                .extensions
                .iter()
                .flatten()
                .find(|e| e.extn_id == sct_oid)
            else {
                assert!(
                    precert::tbs(&der).is_none(),
                    "{name}: no SCT, yet one found"
                );
                continue;
            };
            let mut tbs = cert.tbs_certificate.clone();
            tbs.extensions = tbs
                .extensions
                .map(|all| all.into_iter().filter(|e| e.extn_id != sct_oid).collect());
            let (precert, list) = precert::tbs(&der).expect(&name);
            assert_eq!(precert, tbs.to_der().expect("encode"), "{name}");
            let inner =
                x509_cert::der::asn1::OctetString::from_der(extension.extn_value.as_bytes())
                    .expect("octet string");
            assert_eq!(list, inner.as_bytes(), "{name}");
            assert!(Sct::read_list(list).is_some(), "{name}: SCT unreadable");
            checked += 1;
        }
        assert!(checked >= 3, "only {checked} certificates with SCTs");
    }

    #[test]
    fn malformed_certificates_decline() {
        for bad in [
            &[0x30, 0x05, 0x30][..],
            &[0x30, 0x81, 0x05, 0, 0, 0, 0, 0],
            &[0x30, 0x82, 0x00, 0x05, 0, 0, 0, 0, 0],
            &[0x30, 0x80, 0, 0],
            &[0x3f, 0x01, 0x00],
        ] {
            assert!(precert::tbs(bad).is_none(), "{bad:02x?}");
        }
    }
}
