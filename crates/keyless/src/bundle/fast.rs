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
//! checkpoint's root and the checkpoint's first signature line by that same
//! key ([`super::checkpoint`]); the leaf's key usage and its chain to a
//! Fulcio CA certificate valid at that time, with the code-signing EKU
//! ([`super::profile`]); the one embedded SCT by a trusted CT log; and the
//! signature over the digest.
//!
//! One exception to "only accepts": a DSSE bundle whose Statement has no
//! subject binds no artifact, and `sigstore-verify` refuses every such
//! bundle, so [`FastPath::verify_unbound_dsse`] is its only verifier. It
//! runs the same checks on the same shape with a `dsseEnvelope` (one
//! signature over the PAE, payload type `application/vnd.in-toto+json`)
//! and a `dsse` 0.0.1 entry (payload hash, signature and certificate
//! checked against the envelope), and its refusal is final. Its oracle is
//! sigstore-python's `Verifier.verify_dsse` (tests/e2e/hostile_bundles.rs).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use dsse::json::{Node, Tree};
use sha2::{Digest as _, Sha256};
use sigstore_verify::crypto::{
    parse_certificate_info, KeyAlgorithm, Keyring, SigningScheme, VerificationKey,
};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::{DerCertificate, Sha256Hash, SignatureBytes};

use super::profile::{self, FulcioAnchors};
use super::sct::{precert, Sct};
use super::{checkpoint, Artifact, CertificatePolicy, Verified};

/// Why the fast path declined: shown by tests, and to users only for a
/// bundle no other verifier can verify ([`FastPath::verify_unbound_dsse`]);
/// otherwise the general verifier then decides and explains.
pub(super) type Decline = &'static str;

const SIGNATURE: Decline = "the signature does not verify with the certificate's key";

/// The DSSE payload type of an in-toto Statement.
const IN_TOTO: &str = "application/vnd.in-toto+json";

const MEDIA_TYPES: [&str; 2] = [
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
];

/// Trust material prepared once per trusted root.
pub(super) struct FastPath {
    rekor: Keyring,
    /// CT log keys by the SCT's signature scheme (ECDSA only).
    ct: [(SigningScheme, Keyring); 2],
    /// Every certificate of every Fulcio CA is an anchor, as in
    /// `sigstore-verify`, at the times its CA's window and its own validity
    /// cover ([`profile`]).
    fulcio: FulcioAnchors,
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
        Some(FastPath {
            rekor: root.rekor_keys().ok()?,
            ct: [p256, p384],
            fulcio: FulcioAnchors::new(root).ok()?,
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
        let Content::Message { digest: signed } = b.content else {
            return Err("not a message signature");
        };
        if signed != digest {
            return Err("messageDigest is not the artifact's");
        }
        b.check_hashedrekord_body(&digest)?;
        self.verify_signed(&b, policy, now, |key| {
            key.verify_prehashed(&digest, &b.signature)
                .map_err(|_| SIGNATURE)
        })
    }

    /// Verifies a DSSE bundle that binds no artifact (its Statement has no
    /// subject), in the shape toto's signer writes: as [`FastPath::verify`]
    /// but with a `dsseEnvelope` of one signature over its PAE and a `dsse`
    /// 0.0.1 log entry recording that signature, this certificate and the
    /// payload's SHA-256. `sigstore-verify` cannot verify such a bundle (it
    /// requires a subject to bind), so this verdict is the only one; any
    /// other shape is refused.
    pub(super) fn verify_unbound_dsse(
        &self,
        bundle: Node<'_, '_>,
        policy: &CertificatePolicy,
        now: jiff::Timestamp,
    ) -> Result<Verified, Decline> {
        let b = Shape::read(bundle)?;
        let Content::Dsse {
            payload_type,
            ref payload,
        } = b.content
        else {
            return Err("not a DSSE envelope");
        };
        if payload_type != IN_TOTO {
            return Err("the payload type is not application/vnd.in-toto+json");
        }
        b.check_dsse_body(payload)?;
        let pae = dsse::pae::pae(payload_type, payload);
        self.verify_signed(&b, policy, now, |key| {
            key.verify(&pae, &b.signature).map_err(|_| SIGNATURE)
        })
    }

    /// The checks both shapes share, in the order of the module
    /// documentation; `signature` verifies the content's signature with
    /// the certificate's key, last.
    fn verify_signed(
        &self,
        b: &Shape<'_>,
        policy: &CertificatePolicy,
        now: jiff::Timestamp,
        signature: impl FnOnce(&VerificationKey) -> Result<(), Decline>,
    ) -> Result<Verified, Decline> {
        // The signer, against the policy.
        let info = parse_certificate_info(&b.certificate).map_err(|_| "certificate unreadable")?;
        if info.key_algorithm != KeyAlgorithm::EcdsaP256 {
            return Err("signing key is not P-256");
        }
        let sans = super::san::identities(b.certificate.as_bytes())
            .map_err(|_| "certificate unreadable")?;
        let identity = policy
            .select_identity(&sans)
            .map_err(|_| "the certificate's identity is not the policy's")?;
        if !policy.issuer.is_empty() && info.issuer.as_deref() != Some(policy.issuer.as_str()) {
            return Err("the certificate's OIDC issuer is not the policy's");
        }
        let claims = super::claims_of(&info.ci_claims);
        policy
            .validate()
            .and_then(|()| {
                policy.check_claims(identity.as_deref(), info.issuer.as_deref(), &claims)
            })
            .map_err(|_| "the certificate's claims are not the policy's")?;

        // The integrated time, which the SET authenticates.
        let time = jiff::Timestamp::from_second(b.integrated_time).map_err(|_| "time")?;
        if time > now || time < info.not_before || time > info.not_after {
            return Err("integrated time outside the certificate's validity or in the future");
        }
        let log_key = self
            .rekor
            .key_at(&b.log_id, time)
            .ok_or("no log key valid at the integrated time")?;
        log_key
            .verify(b.set_payload(), &b.set)
            .map_err(|_| "the signed entry timestamp (SET) does not verify")?;

        // The entry's inclusion in the log, under a checkpoint the log signed.
        let leaf = sigstore_merkle::hash_leaf(&b.body);
        sigstore_merkle::verify_inclusion_proof(
            &leaf,
            b.proof_index,
            b.tree_size,
            &b.proof,
            &b.root_hash,
        )
        .map_err(|_| "the inclusion proof does not verify")?;
        // Signed by the same log, with the key that signed the SET
        // (`sigstore-verify` takes any log of the root here); its first
        // signature line by that log decides ([`checkpoint`]).
        let checkpoint = checkpoint::verify(b.checkpoint, &b.log_id, log_key).map_err(|_| {
            "the checkpoint's first signature line by the log (of at most 100) does not verify"
        })?;
        if checkpoint.root_hash() != &b.root_hash || checkpoint.tree_size() != b.tree_size {
            return Err("checkpoint is not the proof's");
        }

        // The certificate: key usage, chain, EKU, SCT; then the signature
        // it vouches for.
        self.check_certificate(b.certificate.as_bytes(), time)
            .map_err(CertificateFault::decline)?;
        let key = VerificationKey::from_spki(&info.public_key).map_err(|_| "signing key")?;
        if key.scheme() != SigningScheme::EcdsaP256Sha256 {
            return Err("signing key is not P-256");
        }
        signature(&key)?;

        Ok(Verified {
            identity,
            issuer: info.issuer,
            times: vec![time.to_string()],
            tlog_verified: true,
            claims,
        })
    }

    /// The checks of a Fulcio certificate alone, as the signer makes them
    /// before anything is logged for it: key usage, the chain to a Fulcio
    /// CA valid at `time` ([`profile`]), for code signing, then the embedded
    /// SCT by a trusted CT log.
    pub(super) fn check_certificate(
        &self,
        leaf: &[u8],
        time: jiff::Timestamp,
    ) -> Result<(), CertificateFault> {
        profile::check_leaf_key_usage(leaf).map_err(|_| {
            CertificateFault::Chain("the certificate's key usage lacks digitalSignature")
        })?;
        let issuer_spki = self.fulcio.verify_chain(leaf, &[], time).map_err(|_| {
            CertificateFault::Chain(
                "the certificate does not chain to a Fulcio CA valid at the signing time",
            )
        })?;
        self.verify_sct(leaf, &issuer_spki)
            .map_err(CertificateFault::Sct)
    }

    /// Verifies the certificate's one embedded SCT (RFC 6962 §3.2) by a
    /// trusted CT log valid when it was issued.
    fn verify_sct(&self, cert: &[u8], issuer_spki: &[u8]) -> Result<(), Decline> {
        let (precert_tbs, list) =
            precert::tbs(cert).ok_or("the certificate has no readable embedded SCT list")?;
        let sct = Sct::read_list(&list).ok_or("SCT list")?;
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
        .map_err(|_| "the SCT does not verify with a trusted CT log's key")
    }
}

/// Which check of [`FastPath::check_certificate`] failed, and why.
pub(super) enum CertificateFault {
    /// The chain to a Fulcio CA, its validity or the code-signing usage.
    Chain(Decline),
    /// The embedded SCT.
    Sct(Decline),
}

impl CertificateFault {
    fn decline(self) -> Decline {
        match self {
            CertificateFault::Chain(why) | CertificateFault::Sct(why) => why,
        }
    }
}

/// What a bundle signs.
enum Content<'a> {
    /// A `messageSignature` over an artifact's SHA-256.
    Message { digest: [u8; 32] },
    /// A `dsseEnvelope` (one signature over the PAE of the payload).
    Dsse {
        payload_type: &'a str,
        payload: Vec<u8>,
    },
}

/// The parts of a bundle of the common shape, decoded.
struct Shape<'a> {
    certificate: DerCertificate,
    content: Content<'a>,
    /// The content's signature.
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
            &[
                "mediaType",
                "verificationMaterial",
                "messageSignature",
                "dsseEnvelope",
            ],
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
        let entry = only(Some(entry), &super::schema::TLOG_ENTRY_FIELDS)?;
        let (content, signature, logged_as) = Shape::content(root)?;
        let kind = only(entry.get("kindVersion"), &["kind", "version"])?;
        if text(kind.get("kind"))? != logged_as || text(kind.get("version"))? != "0.0.1" {
            return Err("not a hashedrekord or dsse 0.0.1 entry for the content");
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

        Ok(Shape {
            certificate: DerCertificate::new(bytes(certificate.get("rawBytes"))?),
            content,
            signature,
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

    /// The bundle's content (exactly one of `messageSignature` and
    /// `dsseEnvelope`), its signature, and the kind of log entry that
    /// records it.
    fn content(root: Node<'a, '_>) -> Result<(Content<'a>, SignatureBytes, &'static str), Decline> {
        match (root.get("messageSignature"), root.get("dsseEnvelope")) {
            (Some(message), None) => {
                let message = only(Some(message), &["messageDigest", "signature"])?;
                let md = only(message.get("messageDigest"), &["algorithm", "digest"])?;
                if text(md.get("algorithm"))? != "SHA2_256" {
                    return Err("messageDigest is not SHA2_256");
                }
                let digest = bytes(md.get("digest"))?
                    .try_into()
                    .map_err(|_| "messageDigest length")?;
                let signature = SignatureBytes::new(bytes(message.get("signature"))?);
                Ok((Content::Message { digest }, signature, "hashedrekord"))
            }
            (None, Some(envelope)) => {
                let envelope = only(Some(envelope), &["payload", "payloadType", "signatures"])?;
                let signatures = envelope.get("signatures").filter(Node::is_array);
                let mut signatures = signatures.ok_or("DSSE signatures")?.elements();
                let (Some(one), None) = (signatures.next(), signatures.next()) else {
                    return Err("not exactly one DSSE signature");
                };
                let one = only(Some(one), &["sig", "keyid"])?;
                if let Some(keyid) = one.get("keyid") {
                    text(Some(keyid))?;
                }
                let content = Content::Dsse {
                    payload_type: text(envelope.get("payloadType"))?,
                    payload: bytes(envelope.get("payload"))?,
                };
                Ok((content, SignatureBytes::new(bytes(one.get("sig"))?), "dsse"))
            }
            _ => Err("not exactly one of messageSignature and dsseEnvelope"),
        }
    }

    /// The log entry's body must record this artifact's digest, this
    /// signature and this certificate (the CVE-2022-36056 class).
    fn check_hashedrekord_body(&self, digest: &[u8; 32]) -> Result<(), Decline> {
        let tree = Tree::parse(&self.body).map_err(|_| "body is not JSON")?;
        let spec = body_spec(&tree, "hashedrekord", &["data", "signature"])?;
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
        if bytes(key.get("content"))? != self.certificate_pem()?.as_bytes() {
            return Err("body records another certificate");
        }
        Ok(())
    }

    /// The `dsse` 0.0.1 entry's body must record the SHA-256 of this
    /// payload and exactly one signature: this one, by this certificate.
    /// Its envelope hash is over the envelope's JSON as the client sent it
    /// and is not checked (neither `sigstore-verify` nor sigstore-python
    /// can reproduce it either).
    fn check_dsse_body(&self, payload: &[u8]) -> Result<(), Decline> {
        let tree = Tree::parse(&self.body).map_err(|_| "body is not JSON")?;
        let spec = body_spec(
            &tree,
            "dsse",
            &["envelopeHash", "payloadHash", "signatures"],
        )?;
        let sha256 = |name| {
            let hash = only(spec.get(name), &["algorithm", "value"])?;
            match text(hash.get("algorithm"))? {
                "sha256" => text(hash.get("value")),
                _ => Err("body hash is not SHA-256"),
            }
        };
        sha256("envelopeHash")?;
        if sha256("payloadHash")? != hex::encode(Sha256::digest(payload)) {
            return Err("body records another payload");
        }
        let signatures = spec.get("signatures").filter(Node::is_array);
        let mut signatures = signatures.ok_or("body signatures")?.elements();
        let (Some(one), None) = (signatures.next(), signatures.next()) else {
            return Err("body records other signatures");
        };
        let one = only(Some(one), &["signature", "verifier"])?;
        if bytes(one.get("signature"))? != self.signature.as_bytes() {
            return Err("body records another signature");
        }
        if bytes(one.get("verifier"))? != self.certificate_pem()?.as_bytes() {
            return Err("body records another certificate");
        }
        Ok(())
    }

    /// The certificate as Rekor stores it: PEM, 64-character lines, a final
    /// newline.
    fn certificate_pem(&self) -> Result<String, Decline> {
        x509_cert::der::pem::encode_string(
            "CERTIFICATE",
            x509_cert::der::pem::LineEnding::LF,
            self.certificate.as_bytes(),
        )
        .map_err(|_| "certificate PEM")
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

/// The `spec` of a log entry body of `kind` 0.0.1, an object with no
/// member but `keys`.
fn body_spec<'t>(tree: &'t Tree<'_>, kind: &str, keys: &[&str]) -> Result<Node<'t, 't>, Decline> {
    let body = only(Some(tree.root()), &["apiVersion", "kind", "spec"])?;
    if text(body.get("apiVersion"))? != "0.0.1" || text(body.get("kind"))? != kind {
        return Err("body is not of the entry's kind, version 0.0.1");
    }
    only(body.get("spec"), keys)
}
