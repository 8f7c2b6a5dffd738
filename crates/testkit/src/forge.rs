//! **Test tooling; never use it to sign anything real.** Forges hostile
//! Sigstore material for adversarial tests of bundle verifiers: leaf
//! certificates with the wrong extended key usage, validity or issuer, CA
//! certificates that are not CAs, SCTs from unknown logs, Rekor v1 entries,
//! inclusion proofs, checkpoints and SETs signed with the testbed's own keys
//! (read from its directory) or with keys of nobody's, and v0.3 bundles
//! assembled from them.
//!
//! Everything here is built from the same blocks the testbed serves with
//! ([`testbed::pki`], [`testbed::tlog`]), so a bundle forged with the default
//! knobs verifies exactly like one the running testbed signs; a test then
//! turns one knob and expects the verifier to refuse.
//!
//! ```no_run
//! use testkit::forge::{self, Forge, LeafSpec};
//! let forge = Forge::open(std::path::Path::new("sigstore-testbed"))?;
//! let now = testbed::now();
//! let mut spec = LeafSpec::fulcio("alice@example.com", "http://127.0.0.1:1", Some(&forge.ct), now);
//! spec.eku = vec![]; // no codeSigning: a verifier must refuse the signature
//! let signer = forge::leaf(&forge.intermediate, &spec)?;
//! let bundle = forge.blob_bundle(&signer, b"artifact", now)?;
//! # let _ = bundle;
//! # Ok::<(), testbed::Error>(())
//! ```

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use const_oid::ObjectIdentifier;
use der::Decode;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use testbed::pki::{self, Authority, CtLog, Identity, LeafRequest};
use testbed::tlog::Log;
use testbed::Error;

pub use testbed::pae;
pub use testbed::pki::{other_ct_log, other_root, LeafKeyUsage, CODE_SIGNING};
pub use testbed::tlog::{signed_checkpoint, signed_entry_timestamp};

/// The media type of the bundles [`bundle`] assembles.
pub const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The keys and CA certificates of a testbed directory.
#[derive(Debug, Clone)]
pub struct Forge {
    /// The testbed's root CA.
    pub root: Authority,
    /// The testbed's intermediate CA (Fulcio's issuer).
    pub intermediate: Authority,
    /// The testbed's CT log.
    pub ct: CtLog,
    rekor_key: SigningKey,
    tree_id: u64,
}

fn internal(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("forge: {what}: {e}"))
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

fn read_key(dir: &Path, name: &str) -> Result<SigningKey, Error> {
    let path = dir.join("keys").join(name);
    let pem = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| internal(name, e))
}

fn stored_authority(key: SigningKey, state: &Value, name: &str) -> Result<Authority, Error> {
    let der = state
        .get(name)
        .and_then(Value::as_str)
        .and_then(|b| B64.decode(b).ok())
        .ok_or_else(|| internal("state.json", format!("no {name}")))?;
    let cert = x509_cert::Certificate::from_der(&der).map_err(|e| internal(name, e))?;
    let spki = pki::spki_der(&key)?;
    Ok(Authority::from_stored(
        key,
        der,
        cert.tbs_certificate.subject,
        spki,
    ))
}

impl Forge {
    /// Reads the keys and CA certificates of the testbed whose state is in
    /// `dir` (started at least once; it need not be running).
    pub fn open(dir: &Path) -> Result<Forge, Error> {
        let state_path = dir.join("state.json");
        let state: Value = std::fs::read(&state_path)
            .map_err(|e| io_error(&state_path, e))
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| internal("state.json", e)))?;
        let tree_id = state
            .get("treeId")
            .and_then(Value::as_u64)
            .ok_or_else(|| internal("state.json", "no treeId"))?;
        Ok(Forge {
            root: stored_authority(read_key(dir, "fulcio-root.pem")?, &state, "root")?,
            intermediate: stored_authority(
                read_key(dir, "fulcio-intermediate.pem")?,
                &state,
                "intermediate",
            )?,
            ct: CtLog::new(read_key(dir, "ctlog.pem")?)?,
            rekor_key: read_key(dir, "rekor.pem")?,
            tree_id,
        })
    }

    /// The testbed's Rekor key (signs checkpoints and SETs).
    pub fn rekor_key(&self) -> &SigningKey {
        &self.rekor_key
    }

    /// The testbed's tree id (named in checkpoints).
    pub fn tree_id(&self) -> u64 {
        self.tree_id
    }

    /// A fresh, in-memory log signed with the testbed's Rekor key.
    pub fn log(&self) -> Result<Log, Error> {
        Log::open(self.rekor_key.clone(), self.tree_id, None)
    }

    /// A fresh, in-memory log with the testbed's tree id, signed with `key`.
    pub fn log_signed_by(&self, key: SigningKey) -> Result<Log, Error> {
        Log::open(key, self.tree_id, None)
    }

    /// A blob bundle: `signer` signs `blob`, the `hashedrekord` entry is the
    /// fourth of six in a fresh log signed with the testbed's Rekor key,
    /// integrated at `integrated_time`.
    pub fn blob_bundle(
        &self,
        signer: &Signer,
        blob: &[u8],
        integrated_time: i64,
    ) -> Result<Value, Error> {
        let signature = signer.sign(blob);
        let body = hashedrekord_body(
            &Sha256::digest(blob).into(),
            &signature,
            &signer.leaf_pem()?,
        );
        self.logged_bundle(
            signer,
            body,
            "hashedrekord",
            message_signature(blob, &signature),
            integrated_time,
        )
    }

    /// A bundle for `signer` around `content`, whose entry (`body`, of
    /// `kind`) is the fourth of six in a fresh log signed with the
    /// testbed's Rekor key.
    fn logged_bundle(
        &self,
        signer: &Signer,
        body: Vec<u8>,
        kind: &str,
        content: Value,
        integrated_time: i64,
    ) -> Result<Value, Error> {
        let mut log = self.log()?;
        let entry = logged(&mut log, body, integrated_time)?;
        bundle(signer.leaf_der(), &entry, kind, content)
    }
}

impl Forge {
    /// An attestation bundle: `signer` signs a DSSE envelope around
    /// `payload`, the `dsse` entry logged as in [`Forge::blob_bundle`] has
    /// the body [`dsse_body`] makes for `logged_envelope` (the envelope
    /// itself when `None`).
    pub fn dsse_bundle(
        &self,
        signer: &Signer,
        payload_type: &str,
        payload: &[u8],
        logged_envelope: Option<&Value>,
        integrated_time: i64,
    ) -> Result<Value, Error> {
        let envelope = signer.envelope(payload_type, payload);
        let logged_text = logged_envelope.unwrap_or(&envelope).to_string();
        let body = dsse_body(&logged_text, &signer.leaf_pem()?)?;
        self.logged_bundle(
            signer,
            body,
            "dsse",
            json!({ "dsseEnvelope": envelope }),
            integrated_time,
        )
    }
}

/// Appends `body` to `log` between filler entries (three before, two
/// after, so its inclusion proof has several hashes) and returns its Rekor
/// v1 entry JSON.
pub fn logged(log: &mut Log, body: Vec<u8>, integrated_time: i64) -> Result<Value, Error> {
    let filler = |n: usize| json!({"filler": n}).to_string().into_bytes();
    for n in 0..3 {
        log.append(filler(n), integrated_time)?;
    }
    let index = log.append(body, integrated_time)?;
    for n in 3..5 {
        log.append(filler(n), integrated_time)?;
    }
    log.entry_json(index)
        .map(|(_, entry)| entry)
        .ok_or_else(|| internal("log", "entry vanished"))
}

/// A checkpoint's note (its text up to the blank line, with the final
/// newline) and its signature lines (each with its newline).
pub fn checkpoint_parts(checkpoint: &str) -> Option<(&str, Vec<&str>)> {
    let (note, lines) = checkpoint.split_once("\n\n")?;
    let note = checkpoint.get(..=note.len())?;
    Some((note, lines.split_inclusive('\n').collect()))
}

/// A checkpoint signature line over `note`: `— rekor.sigstore.dev
/// base64(hint ‖ key's signature)`, whatever key the hint names.
pub fn checkpoint_signature_line(note: &str, hint: &[u8], key: &SigningKey) -> String {
    let blob = [hint, &sign(key, note.as_bytes())].concat();
    format!(
        "\u{2014} {} {}\n",
        testbed::tlog::ORIGIN_NAME,
        B64.encode(blob)
    )
}

/// A fresh P-256 key.
pub fn random_key() -> SigningKey {
    SigningKey::random(&mut rand_core::OsRng)
}

/// A DER ECDSA P-256 / SHA-256 signature by `key` over `message`.
pub fn sign(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let signature: DerSignature = key.sign(message);
    signature.as_bytes().to_vec()
}

/// A certificate issued by `issuer` for a fresh key, valid for a day
/// around `now`, whose basic constraints say `cA: ca`, with the codeSigning
/// extended key usage (as Sigstore's public-good intermediate).
pub fn intermediate(
    issuer: &Authority,
    common_name: &str,
    now: i64,
    ca: bool,
) -> Result<Authority, Error> {
    Authority::with_profile(
        random_key(),
        common_name,
        Some(issuer),
        now - 3600,
        now + 86400,
        ca,
        &[CODE_SIGNING],
    )
}

/// A CA certificate for a fresh key, issued by `issuer` (self-signed when
/// `None`), valid from `not_before` to `not_after` (Unix seconds), with
/// the codeSigning extended key usage: with a window that misses the
/// signing time it is the CA a verifier must not accept then.
pub fn ca(
    issuer: Option<&Authority>,
    common_name: &str,
    not_before: i64,
    not_after: i64,
) -> Result<Authority, Error> {
    Authority::with_profile(
        random_key(),
        common_name,
        issuer,
        not_before,
        not_after,
        true,
        &[CODE_SIGNING],
    )
}

/// A trusted root's `certificateAuthorities` entry for `chain` (issuing CA
/// first), whose `validFor` starts at `valid_from` (Unix seconds) and has
/// no end: add it to a testbed's trusted root to trust another Fulcio CA.
pub fn certificate_authority(chain: &[&Authority], valid_from: i64) -> Result<Value, Error> {
    let start = testbed::rfc3339(valid_from);
    let certificates: Vec<Value> = chain
        .iter()
        .map(|ca| json!({"rawBytes": B64.encode(ca.cert_der())}))
        .collect();
    Ok(json!({
        "subject": {"organization": "toto testbed", "commonName": "forged CA"},
        "uri": "http://127.0.0.1:1",
        "certChain": {"certificates": certificates},
        "validFor": {"start": start},
    }))
}

/// Writes `trusted_root.json` and `trust_config.json` into `out`: those of
/// the testbed whose state is in `dir`, with the `extra` certificate
/// authorities ([`certificate_authority`]) appended. Returns their paths.
pub fn trust_files_with(
    dir: &Path,
    extra: &[Value],
    out: &Path,
) -> Result<(PathBuf, PathBuf), Error> {
    let mut written = Vec::new();
    for (name, pointer) in [
        ("trusted_root.json", "/certificateAuthorities"),
        ("trust_config.json", "/trustedRoot/certificateAuthorities"),
    ] {
        let path = dir.join(name);
        let mut value: Value = std::fs::read(&path)
            .map_err(|e| io_error(&path, e))
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| internal(name, e)))?;
        value
            .pointer_mut(pointer)
            .and_then(Value::as_array_mut)
            .ok_or_else(|| internal(name, "no certificateAuthorities"))?
            .extend(extra.iter().cloned());
        let target = out.join(name);
        std::fs::write(&target, format!("{value:#}\n")).map_err(|e| io_error(&target, e))?;
        written.push(target);
    }
    match <[PathBuf; 2]>::try_from(written) {
        Ok([root, config]) => Ok((root, config)),
        Err(_) => Err(internal("trust files", "not written")),
    }
}

/// What a forged leaf certificate says.
#[derive(Debug, Clone)]
pub struct LeafSpec<'a> {
    /// The email SAN.
    pub identity: String,
    /// The OIDC issuer extension.
    pub oidc_issuer: String,
    /// Start of validity (Unix seconds).
    pub not_before: i64,
    /// End of validity (Unix seconds).
    pub not_after: i64,
    /// Extended key usages (Fulcio: only codeSigning).
    pub eku: Vec<ObjectIdentifier>,
    /// The CT log whose SCT is embedded; none when `None`.
    pub sct: Option<&'a CtLog>,
    /// The key usage extension (Fulcio: digitalSignature).
    pub key_usage: LeafKeyUsage,
    /// The SAN in another form (a URI, a username `otherName`) instead of
    /// the email `identity`.
    pub san: Option<Identity>,
}

impl<'a> LeafSpec<'a> {
    /// What Fulcio issues at `now`: 10 minutes, codeSigning, an SCT from `ct`.
    pub fn fulcio(identity: &str, oidc_issuer: &str, ct: Option<&'a CtLog>, now: i64) -> Self {
        LeafSpec {
            identity: identity.to_owned(),
            oidc_issuer: oidc_issuer.to_owned(),
            not_before: now,
            not_after: now + 600,
            eku: vec![CODE_SIGNING],
            sct: ct,
            key_usage: LeafKeyUsage::DigitalSignature,
            san: None,
        }
    }
}

/// A forged signer: a fresh key and its leaf certificate.
#[derive(Debug, Clone)]
pub struct Signer {
    key: SigningKey,
    leaf_der: Vec<u8>,
}

impl Signer {
    /// The leaf certificate, DER.
    pub fn leaf_der(&self) -> &[u8] {
        &self.leaf_der
    }

    /// The leaf certificate, PEM.
    pub fn leaf_pem(&self) -> Result<String, Error> {
        der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &self.leaf_der)
            .map_err(|e| internal("PEM", e))
    }

    /// A DER ECDSA P-256 / SHA-256 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        sign(&self.key, message)
    }

    /// A DSSE envelope (JSON) around `payload`, signed over its PAE.
    pub fn envelope(&self, payload_type: &str, payload: &[u8]) -> Value {
        json!({
            "payload": B64.encode(payload),
            "payloadType": payload_type,
            "signatures": [{"sig": B64.encode(self.sign(&pae(payload_type, payload))), "keyid": ""}],
        })
    }

    /// The key's DER SPKI.
    pub fn spki_der(&self) -> Result<Vec<u8>, Error> {
        self.key
            .verifying_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| internal("SPKI", e))
    }
}

/// Issues a leaf certificate from `ca` for a fresh key.
pub fn leaf(ca: &Authority, spec: &LeafSpec<'_>) -> Result<Signer, Error> {
    let key = random_key();
    let spki_der = pki::spki_der(&key)?;
    let spki =
        spki::SubjectPublicKeyInfoOwned::from_der(&spki_der).map_err(|e| internal("SPKI", e))?;
    let request = LeafRequest {
        spki,
        identity: spec
            .san
            .clone()
            .unwrap_or_else(|| Identity::Email(spec.identity.clone())),
        issuer: spec.oidc_issuer.clone(),
        claims: Vec::new(),
        without_sct: spec.sct.is_none(),
    };
    let leaf_der = ca.issue_leaf_with(
        &request,
        spec.sct,
        spec.not_before,
        spec.not_after,
        &spec.eku,
        spec.key_usage,
    )?;
    Ok(Signer { key, leaf_der })
}

/// The canonical body of a `hashedrekord` 0.0.1 entry, as Rekor stores it
/// (no check that the signature verifies: bodies may be forged to disagree).
pub fn hashedrekord_body(digest: &[u8; 32], signature: &[u8], cert_pem: &str) -> Vec<u8> {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
            "signature": {
                "content": B64.encode(signature),
                "publicKey": {"content": B64.encode(cert_pem)},
            },
        },
    })
    .to_string()
    .into_bytes()
}

/// The canonical body of a `dsse` 0.0.1 entry for `envelope` (its JSON text),
/// as Rekor stores it (signatures not checked).
pub fn dsse_body(envelope: &str, cert_pem: &str) -> Result<Vec<u8>, Error> {
    let value: Value = serde_json::from_str(envelope).map_err(|e| internal("envelope", e))?;
    let payload = value
        .get("payload")
        .and_then(Value::as_str)
        .and_then(|p| B64.decode(p).ok())
        .ok_or_else(|| internal("envelope", "payload is not base64"))?;
    let signatures: Vec<Value> = value
        .get("signatures")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| json!({"signature": s.get("sig"), "verifier": B64.encode(cert_pem)}))
        .collect();
    Ok(testbed::dsse_body_v001(envelope, &payload, signatures))
}

/// A bundle's `messageSignature` content for `blob`.
pub fn message_signature(blob: &[u8], signature: &[u8]) -> Value {
    json!({"messageSignature": {
        "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(Sha256::digest(blob))},
        "signature": B64.encode(signature),
    }})
}

/// A v0.3 bundle from a leaf certificate, a Rekor v1 entry (the JSON
/// `POST /api/v1/log/entries` answers, one entry) and the content
/// (`messageSignature` or `dsseEnvelope` object): what toto's keyless
/// signer writes.
pub fn bundle(leaf_der: &[u8], entry: &Value, kind: &str, content: Value) -> Result<Value, Error> {
    let missing = |what: &str| internal("entry", format!("no {what}"));
    let hex_to_b64 = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|h| hex::decode(h).ok())
            .map(|b| B64.encode(b))
    };
    let number = |v: Option<&Value>, what: &str| {
        v.and_then(Value::as_u64)
            .map(|n| n.to_string())
            .ok_or_else(|| missing(what))
    };
    let proof = entry
        .pointer("/verification/inclusionProof")
        .ok_or_else(|| missing("inclusion proof"))?;
    let hashes = proof
        .get("hashes")
        .and_then(Value::as_array)
        .ok_or_else(|| missing("hashes"))?
        .iter()
        .map(|h| hex_to_b64(Some(h)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| missing("hashes"))?;
    let mut bundle = json!({
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {
            "certificate": {"rawBytes": B64.encode(leaf_der)},
            "tlogEntries": [{
                "logIndex": number(entry.get("logIndex"), "logIndex")?,
                "logId": {"keyId": hex_to_b64(entry.get("logID")).ok_or_else(|| missing("logID"))?},
                "kindVersion": {"kind": kind, "version": "0.0.1"},
                "integratedTime": number(entry.get("integratedTime"), "integratedTime")?,
                "inclusionPromise": {"signedEntryTimestamp": entry.pointer("/verification/signedEntryTimestamp")},
                "inclusionProof": {
                    "logIndex": number(proof.get("logIndex"), "proof logIndex")?,
                    "rootHash": hex_to_b64(proof.get("rootHash")).ok_or_else(|| missing("rootHash"))?,
                    "treeSize": number(proof.get("treeSize"), "treeSize")?,
                    "hashes": hashes,
                    "checkpoint": {"envelope": proof.get("checkpoint")},
                },
                "canonicalizedBody": entry.get("body"),
            }],
        },
    });
    if let (Some(b), Some(c)) = (bundle.as_object_mut(), content.as_object()) {
        b.extend(c.clone());
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_ca_intermediate_says_so() {
        let now = testbed::now();
        let root = other_root("r", now).unwrap();
        let not_ca = intermediate(&root, "i", now, false).unwrap();
        let cert = x509_cert::Certificate::from_der(not_ca.cert_der()).unwrap();
        let bc = cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS)
            .map(|e| e.extn_value.as_bytes().to_vec())
            .unwrap_or_default();
        let bc = x509_cert::ext::pkix::BasicConstraints::from_der(&bc).unwrap();
        assert!(!bc.ca);
    }
}
