//! Keyless signing: an identity token buys a 10-minute Fulcio certificate
//! for an ephemeral P-256 key; each signature is logged in Rekor (v1, or v2
//! when the signing config offers it, with an RFC 3161 timestamp from the
//! configured timestamp authority: see `sign/rekor_v2.rs`); the result is a
//! Sigstore bundle v0.3, verified against the trusted root (chain, SCT,
//! inclusion proof, checkpoint, SET or timestamp, identity) before it is
//! handed back.
//!
//! This module is the signer and the bundle it assembles; each service has
//! its own module: `config` (where to sign), `oidc` (identity tokens),
//! `fulcio`, `tsa`, `rekor_v1`, `rekor_v2`.

mod config;
mod fulcio;
mod key;
mod link;
mod oidc;
mod preflight;
mod rekor_v1;
mod rekor_v2;
mod tsa;

pub(crate) use config::SIGNING_CONFIG;
pub use config::{Services, TrustConfig};
pub use key::sign_dsse_with_key;
pub use link::link_bundle_name;
pub use oidc::{ambient_token, device_flow, DevicePrompt, IdentityToken, TokenSource, AUDIENCE};

/// Entry points for the fuzz targets into the signer's readers of service
/// answers; not a stable API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use serde_json::Value;

    /// `Ok` when `der` is a granted RFC 3161 answer carrying a token.
    pub fn check_timestamp_response(der: &[u8]) -> Result<(), String> {
        super::tsa::check_timestamp_response(der)
    }

    /// A Rekor v2 request, as the signer would send it, for fixed inputs.
    pub fn sample_v2_request() -> Value {
        super::rekor_v2::hashedrekord_request(&[1; 32], &[2; 64], &[3; 16])
    }

    /// Checks a Rekor v2 `answer` to `sent`; its log index when accepted.
    pub fn check_v2_entry(answer: &Value, sent: &Value) -> Result<u64, crate::Error> {
        super::rekor_v2::check_entry(answer, sent, "http://fuzz").map(|e| e.log_index)
    }
}

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::bundle::{Artifact, BundleVerifier, Policy};
use crate::error::{malformed, Error};
use crate::http::Http;

/// The bundle media type written.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// A signed, verified bundle.
#[derive(Debug, Clone)]
pub struct SignedBundle {
    /// The bundle JSON (v0.3), as written.
    pub json: String,
    /// Its Rekor log index.
    pub log_index: u64,
}

/// A keyless signer: an ephemeral key and its Fulcio certificate.
pub struct KeylessSigner {
    key: SigningKey,
    leaf_der: Vec<u8>,
    leaf_pem: String,
    identity: String,
    issuer: String,
    /// The certificate's validity, Unix seconds.
    valid_from: u64,
    valid_until: u64,
    services: Services,
    verifier: BundleVerifier,
    http: Http,
}

impl std::fmt::Debug for KeylessSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeylessSigner")
            .field("identity", &self.identity)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl KeylessSigner {
    /// Gets a certificate from Fulcio for a fresh key and `token`, and checks
    /// it before anything is logged for it: it certifies that key, for the
    /// token's identity and issuer, is valid now, chains to a Fulcio CA of
    /// the trusted root (valid now) for code signing, and carries an SCT by
    /// a CT log of the trusted root.
    pub fn new(config: &TrustConfig, token: &IdentityToken) -> Result<KeylessSigner, Error> {
        let http = Http::new()?;
        let verifier = BundleVerifier::new(&config.root)?;
        let issued = fulcio::certificate(&http, &config.services.fulcio, token, &verifier)?;
        Ok(KeylessSigner {
            key: issued.key,
            leaf_der: issued.leaf_der,
            leaf_pem: issued.leaf_pem,
            identity: issued.identity,
            issuer: issued.issuer,
            valid_from: issued.valid_from,
            valid_until: issued.valid_until,
            services: config.services.clone(),
            verifier,
            http,
        })
    }
    /// The certified identity (email or URI).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The certified OIDC issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Before a signature is timestamped or logged: the certificate is
    /// still valid (a step may run for longer than its few minutes).
    fn check_still_valid(&self) -> Result<(), Error> {
        let url = fulcio::signing_cert_url(&self.services.fulcio);
        fulcio::check_window("Fulcio", &url, self.valid_from, self.valid_until)
    }

    fn policy(&self) -> Policy {
        Policy::Identity {
            identity: self.identity.clone(),
            issuer: self.issuer.clone(),
        }
    }

    /// Signs a DSSE envelope around `payload`, logs it (Rekor `dsse` 0.0.1)
    /// and returns the verified bundle.
    pub fn sign_dsse(&self, payload_type: &str, payload: &[u8]) -> Result<SignedBundle, Error> {
        self.check_still_valid()?;
        // A Statement without subjects binds no artifact, and toto verifies
        // its bundle only from a Rekor v1 entry with no RFC 3161 timestamp
        // (the SET's integrated time is its signing time): with Rekor v2 it
        // is refused before anything is timestamped or logged.
        let unbound = crate::bundle::binds_no_artifact(payload);
        if unbound && self.services.rekor_version == 2 {
            return Err(Error::Malformed {
                what: "Statement",
                reason: "it has no subject, and toto verifies a bundle that binds no artifact \
                         only from a Rekor v1 entry: sign it with --rekor-version 1"
                    .into(),
            });
        }
        let pae = dsse::pae::pae(payload_type, payload);
        let sig: DerSignature = self.key.sign(&pae);
        let sig_b64 = B64.encode(sig.as_bytes());
        let envelope = json!({
            "payload": B64.encode(payload),
            "payloadType": payload_type,
            "signatures": [{"sig": sig_b64, "keyid": ""}],
        });
        if self.services.rekor_version == 2 {
            let bundle = self.sign_v2(
                &Sha256::digest(&pae),
                sig.as_bytes(),
                json!({"dsseEnvelope": envelope}),
            )?;
            self.verifier
                .verify_attestation(bundle.json.as_bytes(), None, &self.policy())?;
            return Ok(bundle);
        }
        let proposed = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {"proposedContent": {
                "envelope": envelope.to_string(),
                "verifiers": [B64.encode(&self.leaf_pem)],
            }},
        });
        let timestamps = match unbound {
            true => Vec::new(),
            false => self.timestamp(sig.as_bytes())?,
        };
        let entry = self.log(&proposed, "dsse", &sig_b64)?;
        let bundle = self.bundle(
            entry,
            "dsse",
            json!({"dsseEnvelope": envelope}),
            &timestamps,
        )?;
        self.verifier
            .verify_attestation(bundle.json.as_bytes(), None, &self.policy())?;
        Ok(bundle)
    }

    /// Signs a blob (its SHA-256), logs it (Rekor `hashedrekord` 0.0.1) and
    /// returns the verified bundle.
    pub fn sign_blob(&self, blob: &[u8]) -> Result<SignedBundle, Error> {
        self.check_still_valid()?;
        let digest = Sha256::digest(blob);
        let sig: DerSignature = self.key.sign(blob);
        let sig_b64 = B64.encode(sig.as_bytes());
        let content = json!({"messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(digest)},
            "signature": sig_b64,
        }});
        if self.services.rekor_version == 2 {
            let bundle = self.sign_v2(&digest, sig.as_bytes(), content)?;
            self.verifier.verify(
                bundle.json.as_bytes(),
                Artifact::Bytes(blob),
                &self.policy(),
            )?;
            return Ok(bundle);
        }
        let proposed = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
                "signature": {"content": sig_b64, "publicKey": {"content": B64.encode(&self.leaf_pem)}},
            },
        });
        let timestamps = self.timestamp(sig.as_bytes())?;
        let entry = self.log(&proposed, "hashedrekord", &sig_b64)?;
        let bundle = self.bundle(entry, "hashedrekord", content, &timestamps)?;
        self.verifier.verify(
            bundle.json.as_bytes(),
            Artifact::Bytes(blob),
            &self.policy(),
        )?;
        Ok(bundle)
    }

    /// RFC 3161 timestamps over `signature` from the configured TSA (none
    /// when there is no TSA).
    fn timestamp(&self, signature: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        tsa::timestamp(&self.http, self.services.tsa.as_deref(), signature)
    }

    /// Rekor v2: timestamps the signature, logs a `hashedrekord` 0.0.2 entry
    /// for it (over `digest`, SHA-256), checks the answer and assembles the
    /// bundle around `content` (not yet verified).
    fn sign_v2(
        &self,
        digest: &[u8],
        signature: &[u8],
        content: Value,
    ) -> Result<SignedBundle, Error> {
        let timestamps = self.timestamp(signature)?;
        if timestamps.is_empty() {
            return Err(malformed(
                "trust config",
                "Rekor v2 needs a timestamp authority (tsaUrls)",
            ));
        }
        let entry = rekor_v2::log(
            &self.http,
            &self.services.rekor,
            digest,
            signature,
            &self.leaf_der,
        )?;
        Ok(self.assemble(entry.json, entry.log_index, content, &timestamps))
    }

    /// Rekor v1: posts an entry; checks the body Rekor logged is ours.
    fn log(&self, proposed: &Value, kind: &str, sig_b64: &str) -> Result<Value, Error> {
        rekor_v1::log(&self.http, &self.services.rekor, proposed, kind, sig_b64)
    }

    /// Assembles a v0.3 bundle from a Rekor v1 entry (and RFC 3161
    /// timestamps, when a TSA is configured).
    fn bundle(
        &self,
        entry: Value,
        kind: &str,
        content: Value,
        timestamps: &[Vec<u8>],
    ) -> Result<SignedBundle, Error> {
        let (tlog, log_index) = rekor_v1::tlog_entry(&self.services.rekor, &entry, kind)?;
        Ok(self.assemble(tlog, log_index, content, timestamps))
    }

    /// A v0.3 bundle: this signer's certificate, the log entry `tlog`, the
    /// RFC 3161 `timestamps` (when there are any) and `content` (the
    /// message signature or DSSE envelope).
    fn assemble(
        &self,
        tlog: Value,
        log_index: u64,
        content: Value,
        timestamps: &[Vec<u8>],
    ) -> SignedBundle {
        let mut material = json!({
            "certificate": {"rawBytes": B64.encode(&self.leaf_der)},
            "tlogEntries": [tlog],
        });
        if !timestamps.is_empty() {
            if let Some(material) = material.as_object_mut() {
                material.insert(
                    "timestampVerificationData".into(),
                    json!({"rfc3161Timestamps": timestamps
                        .iter()
                        .map(|t| json!({"signedTimestamp": B64.encode(t)}))
                        .collect::<Vec<_>>()}),
                );
            }
        }
        let mut bundle = json!({
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": material,
        });
        if let (Some(b), Some(c)) = (bundle.as_object_mut(), content.as_object()) {
            b.extend(c.clone());
        }
        SignedBundle {
            json: bundle.to_string(),
            log_index,
        }
    }
}
