//! [`BundleVerifier`]: a bundle verified against one trusted root, through
//! toto's fast path or `sigstore-verify`, with toto's own log and
//! certificate checks around it.

use std::borrow::Cow;

use base64::Engine as _;
use sigstore_verify::types::{
    Artifact as SigArtifact, ArtifactDigest, Bundle, DerPublicKey, HashAlgorithm,
    VerificationMaterialContent,
};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

use crate::error::Error;

use super::*;

/// Verifies bundles against one trusted root; build once, verify many.
pub struct BundleVerifier {
    verifier: Verifier,
    /// The key ids of the trusted root's transparency logs.
    log_ids: Vec<Vec<u8>>,
    /// What toto checks around `sigstore-verify` ([`profile`]).
    checks: profile::Checks,
    /// The common shape, verified directly ([`fast`]); `None` when the
    /// trusted root's material cannot be prepared for it.
    pub(super) fast: Option<fast::FastPath>,
    /// The trusted root's timestamp authorities ([`timestamps`]).
    tsa: Vec<sigstore_verify::trust_root::TsaAuthority>,
}

impl std::fmt::Debug for BundleVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleVerifier").finish_non_exhaustive()
    }
}

pub(super) fn failed(e: impl std::fmt::Display) -> Error {
    Error::Verification {
        reason: e.to_string(),
    }
}

impl BundleVerifier {
    /// A verifier for `root`.
    pub fn new(root: &TrustRoot) -> Result<BundleVerifier, Error> {
        let verifier = Verifier::new(&root.0).map_err(|e| Error::Malformed {
            what: "trusted root",
            reason: e.to_string(),
        })?;
        Ok(BundleVerifier {
            verifier,
            log_ids: root
                .0
                .tlogs
                .iter()
                .map(|log| log.log_id.key_id.as_bytes().to_vec())
                .collect(),
            checks: profile::Checks::new(&root.0)?,
            fast: fast::FastPath::new(&root.0),
            tsa: root.0.tsa_authorities(),
        })
    }

    /// Verifies `bundle_json` for `artifact` under `policy`.
    pub fn verify(
        &self,
        bundle_json: &[u8],
        artifact: Artifact<'_>,
        policy: &Policy,
    ) -> Result<Verified, Error> {
        let parsed = self.read(bundle_json)?;
        if let Ok(verified) = self.fast_path(&parsed, artifact, policy) {
            return Ok(verified);
        }
        self.general(&parsed.typed()?, artifact, policy)
    }

    /// The fast path ([`fast`]) on a bundle read strictly: it only accepts;
    /// `Err` says why it declined.
    fn fast_path(
        &self,
        parsed: &Parsed<'_>,
        artifact: Artifact<'_>,
        policy: &Policy,
    ) -> Result<Verified, &'static str> {
        if parsed.content != Content::MessageSignature {
            return Err("not a message signature");
        }
        let Signer::Certificate(wanted) = signer(policy) else {
            return Err("managed key");
        };
        let fast = self.fast.as_ref().ok_or("no fast path for this root")?;
        fast.verify(
            parsed.tree.root(),
            artifact,
            &wanted,
            jiff::Timestamp::now(),
        )
    }

    /// Checks a Fulcio certificate (DER) as a signer must before it logs
    /// anything for it: a chain to a Fulcio CA of this trusted root valid at
    /// `now`, with the codeSigning extended key usage, and an embedded SCT
    /// by a CT log of the root (the fast path's checks of a certificate).
    /// `Err` says which check failed.
    pub(crate) fn check_signing_certificate(
        &self,
        leaf_der: &[u8],
        now: jiff::Timestamp,
    ) -> Result<(), String> {
        let fast = self
            .fast
            .as_ref()
            .ok_or("the trusted root's Fulcio CAs and CT log keys cannot be read to check it")?;
        fast.check_certificate(leaf_der, now).map_err(|fault| match fault {
            fast::CertificateFault::Chain(why) => format!(
                "the certificate does not chain to a Fulcio CA of the trusted root valid now, \
                 for code signing ({why})"
            ),
            fast::CertificateFault::Sct(why) => {
                format!("the certificate's SCT is not signed by a CT log of the trusted root ({why})")
            }
        })
    }

    /// The fast path alone ([`fast`]): `Err` says why it declined. For the
    /// differential tests and fuzz target; [`BundleVerifier::verify`] is the
    /// API.
    #[doc(hidden)]
    pub fn verify_fast_path(
        &self,
        bundle_json: &[u8],
        artifact: Artifact<'_>,
        policy: &Policy,
    ) -> Result<Verified, &'static str> {
        let parsed = Parsed::read(bundle_json).map_err(|_| "not a strictly read bundle")?;
        self.fast_path(&parsed, artifact, policy)
    }

    /// The same verifier without its fast path: [`BundleVerifier::verify`]
    /// then always takes the general path (`sigstore-verify`). For the
    /// differential tests and fuzz target.
    #[doc(hidden)]
    pub fn without_fast_path(mut self) -> BundleVerifier {
        self.fast = None;
        self
    }

    /// A bundle read strictly ([`Parsed`]) whose log entries name logs of
    /// this trusted root: what every verifying entry point starts from.
    pub(super) fn read<'a>(&self, bundle_json: &'a [u8]) -> Result<Parsed<'a>, Error> {
        let parsed =
            Parsed::read(bundle_json).map_err(|e| crate::document::explain(bundle_json, e))?;
        self.check_log_ids(&parsed)?;
        Ok(parsed)
    }

    /// Every log entry names a transparency log of the trusted root
    /// (`sigstore-verify` looks Rekor v1 keys up by it, but ignores it for
    /// Rekor v2 entries).
    fn check_log_ids(&self, parsed: &Parsed<'_>) -> Result<(), Error> {
        let entries = parsed
            .tree
            .root()
            .get("verificationMaterial")
            .and_then(|m| m.get("tlogEntries"));
        for entry in entries.iter().flat_map(|e| e.elements()) {
            let key_id = entry
                .get("logId")
                .and_then(|id| id.get("keyId"))
                .and_then(|k| k.as_str())
                .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok());
            if !key_id.is_some_and(|k| self.log_ids.contains(&k)) {
                return Err(Error::Verification {
                    reason: "the log entry's logId names no transparency log of the trusted root"
                        .into(),
                });
            }
        }
        Ok(())
    }

    /// `sigstore-verify` on the typed value of a bundle read by [`Parsed`].
    pub(super) fn general(
        &self,
        bundle: &Bundle,
        artifact: Artifact<'_>,
        policy: &Policy,
    ) -> Result<Verified, Error> {
        let artifact = match artifact {
            Artifact::Bytes(bytes) => Input::Artifact(SigArtifact::from(bytes)),
            Artifact::Sha256(digest) => Input::Artifact(file::sha256_artifact(digest)),
            Artifact::Sha512(digest) => Input::Artifact(SigArtifact::from_digest(
                ArtifactDigest::new(HashAlgorithm::Sha2512, digest.to_vec()).map_err(|e| {
                    Error::Malformed {
                        what: "digest",
                        reason: e.to_string(),
                    }
                })?,
            )),
            Artifact::File { path, sha256 } => Input::File { path, sha256 },
        };
        // Only the RFC 3161 timestamps that verify count, each authority
        // once ([`timestamps`]).
        let filtered = timestamps::verified_only(bundle, &self.tsa)?;
        let bundle = filtered.as_ref().unwrap_or(bundle);
        // toto's checks before sigstore-verify's ([`profile`]).
        self.checks.before(bundle)?;
        let (result, identity) = match signer(policy) {
            Signer::Certificate(wanted) => {
                wanted.validate()?;
                // The identity is matched here, on every SAN form Fulcio
                // issues ([`san`]); `sigstore-verify` reads only two.
                let mut policy = VerificationPolicy::any_identity();
                if !wanted.issuer.is_empty() {
                    policy = policy.require_issuer(wanted.issuer.as_str());
                }
                let result = artifact.verify(&self.verifier, bundle, &policy)?;
                let sans = match leaf_certificate(bundle) {
                    Some(leaf) => san::identities(leaf)?,
                    None => Vec::new(),
                };
                let identity = wanted.select_identity(&sans)?;
                let claims = result
                    .certificate()
                    .map(|c| claims_of(&c.ci_claims))
                    .unwrap_or_default();
                wanted.check_claims(identity.as_deref(), result.issuer(), &claims)?;
                (result, identity)
            }
            Signer::Key(pem) => {
                let key = DerPublicKey::from_pem(pem).map_err(|e| Error::Malformed {
                    what: "public key",
                    reason: e.to_string(),
                })?;
                let result = artifact.verify(
                    &self.verifier,
                    bundle,
                    &PublicKeyVerificationPolicy::new(key),
                )?;
                (result, None)
            }
        };
        // toto's checks after sigstore-verify's ([`profile`]).
        self.checks.after(bundle, result.verified_timestamps())?;
        Ok(Verified {
            identity,
            issuer: result.issuer().map(str::to_owned),
            times: result
                .verified_timestamps()
                .iter()
                .map(|t| t.to_string())
                .collect(),
            tlog_verified: result.tlog_verified(),
            claims: result
                .certificate()
                .map(|c| claims_of(&c.ci_claims))
                .unwrap_or_default(),
        })
    }
}

/// The leaf certificate (DER) of a certificate bundle.
fn leaf_certificate(bundle: &Bundle) -> Option<&[u8]> {
    match &bundle.verification_material.content {
        VerificationMaterialContent::Certificate(cert) => Some(cert.raw_bytes.as_bytes()),
        VerificationMaterialContent::X509CertificateChain { certificates } => {
            certificates.first().map(|c| c.raw_bytes.as_bytes())
        }
        _ => None,
    }
}

/// Who a policy accepts: certificate claims (an identity policy is the
/// claims policy of its identity and issuer) or a managed key's PEM.
pub(super) enum Signer<'a> {
    Certificate(Cow<'a, CertificatePolicy>),
    Key(&'a str),
}

pub(super) fn signer(policy: &Policy) -> Signer<'_> {
    match policy {
        Policy::Identity { identity, issuer } => {
            Signer::Certificate(Cow::Owned(CertificatePolicy {
                identity: Some(identity.clone()),
                issuer: issuer.clone(),
                ..CertificatePolicy::default()
            }))
        }
        Policy::Certificate(wanted) => Signer::Certificate(Cow::Borrowed(wanted)),
        Policy::Key { pem } => Signer::Key(pem),
    }
}
