//! Bundle verification, behind toto's own types: callers never see
//! `sigstore-verify`'s, so its API churn stays in this file.

use std::borrow::Cow;

use base64::Engine as _;
use sigstore_verify::trust_root::{TrustedRoot, SIGSTORE_PRODUCTION_TRUSTED_ROOT};
use sigstore_verify::types::{
    Artifact as SigArtifact, ArtifactDigest, Bundle, DerPublicKey, HashAlgorithm,
};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

/// Largest bundle accepted, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;

/// The crate's error: why a bundle was not verified, a keyless signing
/// failed, or a TUF refresh ([`crate::tuf`]) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bundle, key or trust root is not well-formed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What the parser reported.
        reason: String,
    },
    /// The bundle is well-formed but does not verify.
    #[error("bundle verification failed: {reason}")]
    Verification {
        /// The check that failed, as the verifier reported it.
        reason: String,
    },
    /// A Sigstore service (OIDC, Fulcio, Rekor) failed or answered wrongly.
    #[error("{service} ({url}): {reason}")]
    Service {
        /// `Fulcio`, `Rekor`, `TSA`, `OIDC`, `GitHub Actions OIDC`.
        service: &'static str,
        /// Where it was asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The identity token is unusable (not a JWT, expired, wrong audience, …).
    #[error("identity token: {0}")]
    Token(String),
    /// The TUF repository address is neither an http(s) URL nor a directory.
    #[error("TUF repository {address:?}: expected an http(s):// URL, a file: URL or a directory")]
    TufRepository {
        /// The address given.
        address: String,
    },
    /// The TUF root to start from is not a valid self-signed root.
    #[error("initial TUF root is not usable")]
    TufInitialRoot {
        /// What the TUF client reported.
        #[source]
        source: sigstore_tuf::Error,
    },
    /// The TUF repository's metadata or a target did not verify: a
    /// signature threshold not met, a rollback, expired metadata, a length
    /// or hash mismatch, malformed metadata.
    #[error("TUF verification failed ({stage})")]
    TufVerification {
        /// `metadata refresh` or `target <name>`.
        stage: String,
        /// What the TUF client reported (it names the role or file).
        #[source]
        source: sigstore_tuf::Error,
    },
    /// The TUF repository could not be read (unreachable, HTTP error,
    /// missing file), or does not list the trusted root.
    #[error("cannot fetch from the TUF repository ({stage})")]
    TufFetch {
        /// `metadata refresh` or `target <name>`.
        stage: String,
        /// What failed.
        #[source]
        source: sigstore_tuf::Error,
    },
    /// An artifact file could not be read again to verify a bundle that
    /// needs more than its SHA-256 ([`Artifact::File`]).
    #[error("cannot read artifact {}", path.display())]
    ArtifactRead {
        /// The file.
        path: std::path::PathBuf,
        /// Why ([`dsse::file`]'s error: not a regular file, too large, I/O).
        #[source]
        source: dsse::Error,
    },
    /// Writing a verified file (a TUF target) failed.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// True for a failed verification, of a bundle or of what a TUF
    /// repository served (exit 1); false for usage, input, I/O and network
    /// errors (exit 2).
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Error::Verification { .. } | Error::TufVerification { .. }
        )
    }
}

/// The artifact a bundle is about.
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// Only its SHA-256 digest.
    Sha256([u8; 32]),
    /// Only its SHA-512 digest (attestations only: npm provenance names
    /// subjects by SHA-512).
    Sha512([u8; 64]),
    /// A file, never held in memory when avoidable: `sha256` (which the
    /// caller computed streaming, once for any number of bundles) serves
    /// every bundle whose checks need only that; a bundle that needs another
    /// digest is verified while the file is streamed again; a signature
    /// scheme that signs the raw bytes (Ed25519) reads the file, up to
    /// [`MAX_RAW_ARTIFACT_BYTES`]. What is read again must hash to `sha256`
    /// ([`file`]).
    File {
        /// The file.
        path: &'a std::path::Path,
        /// Its SHA-256.
        sha256: [u8; 32],
    },
}

/// A verified attestation: the DSSE payload the signature covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAttestation {
    /// Who signed.
    pub verified: Verified,
    /// The DSSE payload type (`application/vnd.in-toto+json`).
    pub payload_type: String,
    /// The payload bytes (an in-toto Statement), as signed.
    pub payload: Vec<u8>,
}

/// Who must have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// A Fulcio certificate for exactly this identity (SAN) and OIDC issuer.
    Identity {
        /// Certificate identity (email or URI SAN), matched exactly.
        identity: String,
        /// OIDC issuer URL, matched exactly.
        issuer: String,
    },
    /// A Fulcio certificate matched by claims: the identity exactly or by a
    /// regular expression (whole-identity match), the issuer exactly, and
    /// optionally the GitHub Actions claims cosign users check.
    Certificate(CertificatePolicy),
    /// A managed key (the bundle carries a public-key hint, no certificate).
    Key {
        /// SPKI public key PEM.
        pem: String,
    },
}

/// Certificate claims a bundle's signer must have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertificatePolicy {
    /// The identity (SAN), exactly.
    pub identity: Option<String>,
    /// A regular expression the whole identity must match.
    pub identity_regexp: Option<String>,
    /// The OIDC issuer, exactly.
    pub issuer: String,
    /// GitHub repository `owner/name` (Fulcio's source repository URI claim).
    pub github_workflow_repository: Option<String>,
    /// Git ref, e.g. `refs/tags/v1.0` (source repository ref claim).
    pub github_workflow_ref: Option<String>,
    /// Event that triggered the workflow, e.g. `push` (build trigger claim).
    pub github_workflow_trigger: Option<String>,
    /// Commit SHA (source repository digest claim).
    pub github_workflow_sha: Option<String>,
}

impl CertificatePolicy {
    /// Checks what the verifier could not express: the identity regexp and
    /// the GitHub claims.
    fn check_claims(
        &self,
        identity: Option<&str>,
        claims: Option<&sigstore_verify::crypto::x509::FulcioCiClaims>,
    ) -> Result<(), Error> {
        if let Some(pattern) = &self.identity_regexp {
            let anchored = format!("^(?:{pattern})$");
            let re = regex_lite::Regex::new(&anchored).map_err(|e| Error::Malformed {
                what: "identity regular expression",
                reason: e.to_string(),
            })?;
            let identity = identity.unwrap_or_default();
            if !re.is_match(identity) {
                return Err(Error::Verification {
                    reason: format!("certificate identity {identity:?} does not match {pattern:?}"),
                });
            }
        }
        let checks = [
            (
                "repository",
                &self.github_workflow_repository,
                claims
                    .and_then(|c| c.source_repository_uri.as_deref())
                    .map(|u| u.trim_start_matches("https://github.com/")),
            ),
            (
                "ref",
                &self.github_workflow_ref,
                claims.and_then(|c| c.source_repository_ref.as_deref()),
            ),
            (
                "trigger",
                &self.github_workflow_trigger,
                claims.and_then(|c| c.build_trigger.as_deref()),
            ),
            (
                "sha",
                &self.github_workflow_sha,
                claims.and_then(|c| c.source_repository_digest.as_deref()),
            ),
        ];
        for (name, wanted, actual) in checks {
            if let Some(wanted) = wanted {
                if actual != Some(wanted.as_str()) {
                    let actual = actual.map_or_else(|| "absent".to_owned(), |a| format!("{a:?}"));
                    return Err(Error::Verification {
                        reason: format!(
                            "certificate's GitHub workflow {name} is {actual}, expected {wanted:?}"
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}

/// A Sigstore trusted root (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`).
#[derive(Debug, Clone)]
pub struct TrustRoot(TrustedRoot);

impl TrustRoot {
    /// The public-good Sigstore trusted root, as embedded in this binary.
    pub fn public_good() -> Result<TrustRoot, Error> {
        TrustRoot::from_json(SIGSTORE_PRODUCTION_TRUSTED_ROOT)
    }

    /// Reads a trusted root from its JSON.
    pub fn from_json(json: &str) -> Result<TrustRoot, Error> {
        TrustedRoot::from_json(json)
            .map(TrustRoot)
            .map_err(|e| Error::Malformed {
                what: "trusted root",
                reason: e.to_string(),
            })
    }
}

/// What a verified bundle established.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verified {
    /// The certificate identity (SAN), for certificate bundles.
    pub identity: Option<String>,
    /// The OIDC issuer, for certificate bundles.
    pub issuer: Option<String>,
    /// Authenticated times used (RFC 3339).
    pub times: Vec<String>,
    /// Whether the transparency log inclusion was verified.
    pub tlog_verified: bool,
}

mod fast;
mod file;

use file::Input;
pub use file::MAX_RAW_ARTIFACT_BYTES;

/// Verifies bundles against one trusted root; build once, verify many.
pub struct BundleVerifier {
    verifier: Verifier,
    /// The common shape, verified directly ([`fast`]); `None` when the
    /// trusted root's material cannot be prepared for it.
    fast: Option<fast::FastPath>,
}

impl std::fmt::Debug for BundleVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleVerifier").finish_non_exhaustive()
    }
}

fn failed(e: impl std::fmt::Display) -> Error {
    Error::Verification {
        reason: e.to_string(),
    }
}

impl BundleVerifier {
    /// A verifier for `root`.
    pub fn new(root: &TrustRoot) -> Result<BundleVerifier, Error> {
        Verifier::new(&root.0)
            .map(|verifier| BundleVerifier {
                verifier,
                fast: fast::FastPath::new(&root.0),
            })
            .map_err(|e| Error::Malformed {
                what: "trusted root",
                reason: e.to_string(),
            })
    }

    /// Verifies `bundle_json` for `artifact` under `policy`.
    pub fn verify(
        &self,
        bundle_json: &[u8],
        artifact: Artifact<'_>,
        policy: &Policy,
    ) -> Result<Verified, Error> {
        // `Bundle::from_json` takes the first of duplicate keys (its content
        // is a flattened enum) where `serde_json::Value` takes the last:
        // refuse them, so every reader of these bytes sees the one bundle
        // that was verified. (This also bounds the size.)
        let tree = strict_json(bundle_json)?;
        self.verify_parsed(bundle_json, &tree, artifact, policy)
    }

    /// [`BundleVerifier::verify`] for a bundle already parsed strictly into
    /// `tree`: the fast path, else `sigstore-verify`.
    fn verify_parsed(
        &self,
        bundle_json: &[u8],
        tree: &dsse::json::Tree<'_>,
        artifact: Artifact<'_>,
        policy: &Policy,
    ) -> Result<Verified, Error> {
        if let (Some(fast), Signer::Certificate(wanted)) = (&self.fast, signer(policy)) {
            if let Ok(verified) =
                fast.verify(tree.root(), artifact, &wanted, jiff::Timestamp::now())
            {
                return Ok(verified);
            }
        }
        self.general(bundle_json, artifact, policy)
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
        let tree = strict_json(bundle_json).map_err(|_| "not strict JSON")?;
        let Signer::Certificate(wanted) = signer(policy) else {
            return Err("managed key");
        };
        let fast = self.fast.as_ref().ok_or("no fast path for this root")?;
        fast.verify(tree.root(), artifact, &wanted, jiff::Timestamp::now())
    }

    /// The general path alone (`sigstore-verify`), for the same tests.
    #[doc(hidden)]
    pub fn verify_general(
        &self,
        bundle_json: &[u8],
        artifact: Artifact<'_>,
        policy: &Policy,
    ) -> Result<Verified, Error> {
        strict_json(bundle_json)?;
        self.general(bundle_json, artifact, policy)
    }

    /// `sigstore-verify` on a bundle its caller has parsed strictly.
    fn general(
        &self,
        bundle_json: &[u8],
        artifact: Artifact<'_>,
        policy: &Policy,
    ) -> Result<Verified, Error> {
        let text = std::str::from_utf8(bundle_json).map_err(|_| Error::Malformed {
            what: "bundle",
            reason: "not UTF-8".into(),
        })?;
        let bundle = Bundle::from_json(text).map_err(|e| Error::Malformed {
            what: "bundle",
            reason: e.to_string(),
        })?;
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
        let result = match signer(policy) {
            Signer::Certificate(wanted) => {
                let mut policy =
                    VerificationPolicy::any_identity().require_issuer(wanted.issuer.as_str());
                if let Some(identity) = &wanted.identity {
                    policy = policy.require_identity(identity.as_str());
                }
                let result = artifact.verify(&self.verifier, &bundle, &policy)?;
                let identity = result.identity().map(|san| san.to_string());
                wanted.check_claims(
                    identity.as_deref(),
                    result.certificate().map(|c| &c.ci_claims),
                )?;
                result
            }
            Signer::Key(pem) => {
                let key = DerPublicKey::from_pem(pem).map_err(|e| Error::Malformed {
                    what: "public key",
                    reason: e.to_string(),
                })?;
                artifact.verify(
                    &self.verifier,
                    &bundle,
                    &PublicKeyVerificationPolicy::new(key),
                )?
            }
        };
        Ok(Verified {
            identity: result.identity().map(|san| san.to_string()),
            issuer: result.issuer().map(str::to_owned),
            times: result
                .verified_timestamps()
                .iter()
                .map(|t| t.to_string())
                .collect(),
            tlog_verified: result.tlog_verified(),
        })
    }
}

/// Who a policy accepts: certificate claims (an identity policy is the
/// claims policy of its identity and issuer) or a managed key's PEM.
enum Signer<'a> {
    Certificate(Cow<'a, CertificatePolicy>),
    Key(&'a str),
}

fn signer(policy: &Policy) -> Signer<'_> {
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

/// Parses a bundle strictly: duplicate object keys and trailing data are
/// malformed.
fn strict_json(bundle_json: &[u8]) -> Result<dsse::json::Tree<'_>, Error> {
    if bundle_json.len() > MAX_BUNDLE_BYTES {
        return Err(Error::Malformed {
            what: "bundle",
            reason: format!(
                "{} bytes, over the limit of {MAX_BUNDLE_BYTES}",
                bundle_json.len()
            ),
        });
    }
    dsse::json::Tree::parse(bundle_json).map_err(|e| Error::Malformed {
        what: "bundle",
        reason: match std::error::Error::source(&e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    })
}

/// The DSSE envelope of an attestation bundle: `(payloadType, payload)`.
fn dsse_payload(tree: &dsse::json::Tree<'_>) -> Result<(String, Vec<u8>), Error> {
    let malformed = |reason: &str| Error::Malformed {
        what: "attestation bundle",
        reason: reason.to_owned(),
    };
    let envelope = tree.root().get("dsseEnvelope").ok_or_else(|| {
        malformed("no dsseEnvelope: this bundle signs a blob, not an attestation")
    })?;
    let payload_type = envelope
        .get("payloadType")
        .and_then(|n| n.as_str())
        .ok_or_else(|| malformed("dsseEnvelope has no payloadType"))?;
    let payload = envelope
        .get("payload")
        .and_then(|n| n.as_str())
        .ok_or_else(|| malformed("dsseEnvelope has no payload"))?;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|_| malformed("dsseEnvelope payload is not base64"))?;
    Ok((payload_type.to_owned(), payload))
}

/// The first subject digest of a Statement usable for binding.
fn first_subject_digest(payload: &[u8]) -> Result<Artifact<'static>, Error> {
    let statement: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| Error::Malformed {
            what: "attestation statement",
            reason: e.to_string(),
        })?;
    let subjects = statement
        .get("subject")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten();
    for subject in subjects {
        let digest = subject.get("digest");
        let hex_of = |alg: &str| {
            digest
                .and_then(|d| d.get(alg))
                .and_then(serde_json::Value::as_str)
                .and_then(|h| hex::decode(h).ok())
        };
        if let Some(bytes) = hex_of("sha256").and_then(|b| <[u8; 32]>::try_from(b).ok()) {
            return Ok(Artifact::Sha256(bytes));
        }
        if let Some(bytes) = hex_of("sha512").and_then(|b| <[u8; 64]>::try_from(b).ok()) {
            return Ok(Artifact::Sha512(bytes));
        }
    }
    Err(Error::Malformed {
        what: "attestation statement",
        reason: "no subject with a sha256 or sha512 digest".into(),
    })
}

impl BundleVerifier {
    /// Verifies an attestation bundle (a DSSE envelope around an in-toto
    /// Statement) under `policy`, and returns the payload it signs.
    ///
    /// With `subject`, the artifact must be one of the Statement's subjects.
    /// Without, the bundle is verified bound to the Statement's own first
    /// subject: the signature, certificate and log checks are complete, and
    /// which subjects matter is then the caller's policy.
    pub fn verify_attestation(
        &self,
        bundle_json: &[u8],
        subject: Option<Artifact<'_>>,
        policy: &Policy,
    ) -> Result<VerifiedAttestation, Error> {
        let tree = strict_json(bundle_json)?;
        let (payload_type, payload) = dsse_payload(&tree)?;
        let binding = match subject {
            Some(artifact) => artifact,
            None => first_subject_digest(&payload)?,
        };
        let verified = self.verify_parsed(bundle_json, &tree, binding, policy)?;
        Ok(VerifiedAttestation {
            verified,
            payload_type,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by tests/e2e/hostile_bundles.rs: `Bundle::from_json` verified
    /// the first of two `dsseEnvelope` keys while the payload returned (and
    /// checked against policies, used as link contents) came from the last,
    /// so anyone could append an unsigned Statement to a genuine bundle.
    #[test]
    fn bug_duplicate_dsse_envelope_key_returned_an_unverified_payload() {
        let envelope = |payload: &str| {
            format!(
                r#"{{"payloadType":"application/vnd.in-toto+json","payload":"{}","signatures":[{{"sig":"AA=="}}]}}"#,
                base64::engine::general_purpose::STANDARD.encode(payload)
            )
        };
        let bundle = format!(
            r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{},"dsseEnvelope":{}}}"#,
            envelope("signed"),
            envelope("forged")
        );
        let refused = |result: Result<(String, Vec<u8>), Error>| match result {
            Err(Error::Malformed { what, reason }) => {
                assert_eq!(what, "bundle");
                assert!(reason.contains("duplicate object key"), "{reason}");
            }
            other => panic!("duplicate keys accepted: {other:?}"),
        };
        refused(strict_json(bundle.as_bytes()).and_then(|tree| dsse_payload(&tree)));
        let verifier = BundleVerifier::new(&TrustRoot::public_good().unwrap()).unwrap();
        let policy = Policy::Identity {
            identity: "a@example.com".into(),
            issuer: "https://issuer.example".into(),
        };
        refused(
            verifier
                .verify(bundle.as_bytes(), Artifact::Bytes(b""), &policy)
                .map(|_| (String::new(), Vec::new())),
        );
    }
}
