//! Bundle verification, behind toto's own types: callers never see
//! `sigstore-verify`'s, so its API churn stays in this file.

use std::borrow::Cow;

use base64::Engine as _;
use sigstore_verify::trust_root::{TrustedRoot, SIGSTORE_PRODUCTION_TRUSTED_ROOT};
use sigstore_verify::types::{
    Artifact as SigArtifact, ArtifactDigest, Bundle, DerPublicKey, HashAlgorithm, SignatureContent,
    VerificationMaterialContent,
};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

pub use crate::error::Error;
use crate::policy::{CertificateClaims, GitHubSigner};

/// Largest bundle accepted, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;

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

/// A verified attestation: the DSSE payload the signature covered, taken
/// from the one typed bundle that was verified. Only
/// [`BundleVerifier::verify_attestation`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAttestation {
    verified: Verified,
    payload_type: String,
    payload: Vec<u8>,
    /// The payload read as a Statement, when its type is in-toto's.
    statement: Option<attest::Statement>,
}

impl VerifiedAttestation {
    /// Who signed, and what the verification established.
    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    /// The DSSE payload type (`application/vnd.in-toto+json`).
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The payload bytes (an in-toto Statement), as signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The Statement the payload is, read once, strictly, by
    /// [`attest::Statement`]'s rules (`None` when the payload type is not
    /// in-toto's: only a bundle verified against a given artifact can have
    /// another).
    pub fn statement(&self) -> Option<&attest::Statement> {
        self.statement.as_ref()
    }
}

/// Who must have signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// A Fulcio certificate for exactly this identity (SAN) and OIDC issuer.
    Identity {
        /// Certificate identity (an email, URI or username `otherName` SAN),
        /// matched exactly.
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
    /// The OIDC issuer, exactly; empty when [`Self::issuer_regexp`] says
    /// which issuers are accepted (one of the two is required: a policy
    /// with neither is malformed).
    pub issuer: String,
    /// A regular expression the whole OIDC issuer must match (cosign's
    /// `--certificate-oidc-issuer-regexp`), checked as well as a non-empty
    /// [`Self::issuer`].
    pub issuer_regexp: Option<String>,
    /// GitHub repository `owner/name` (Fulcio's source repository URI claim).
    pub github_workflow_repository: Option<String>,
    /// Git ref, e.g. `refs/tags/v1.0` (source repository ref claim).
    pub github_workflow_ref: Option<String>,
    /// Event that triggered the workflow, e.g. `push` (build trigger claim).
    pub github_workflow_trigger: Option<String>,
    /// Commit SHA (source repository digest claim).
    pub github_workflow_sha: Option<String>,
    /// `gh attestation verify`'s signer checks ([`GitHubSigner`]; boxed,
    /// as most policies have none).
    pub github: Box<GitHubSigner>,
}

/// A regular expression that must match the whole of `text`.
fn whole_match(what: &'static str, pattern: &str, text: &str) -> Result<bool, Error> {
    let anchored = format!("^(?:{pattern})$");
    let re = regex_lite::Regex::new(&anchored).map_err(|e| Error::Malformed {
        what,
        reason: e.to_string(),
    })?;
    Ok(re.is_match(text))
}

impl CertificatePolicy {
    /// The identity this policy accepts among `sans`, every identity the
    /// certificate names ([`san::identities`]): the one equal to the
    /// policy's identity, else the first the regular expression matches
    /// whole, else (no identity constraint) the first. `Err` names what was
    /// expected and what the certificate has.
    pub(crate) fn select_identity(&self, sans: &[String]) -> Result<Option<String>, Error> {
        if let Some(wanted) = &self.identity {
            return match sans.iter().find(|s| *s == wanted) {
                Some(found) => Ok(Some(found.clone())),
                None => Err(Error::Verification {
                    reason: format!(
                        "identity mismatch: the certificate identity (SAN) is {}, expected {wanted:?}",
                        san::shown(sans)
                    ),
                }),
            };
        }
        if let Some(pattern) = &self.identity_regexp {
            for found in sans {
                if whole_match("identity regular expression", pattern, found)? {
                    return Ok(Some(found.clone()));
                }
            }
            return Err(Error::Verification {
                reason: format!(
                    "identity mismatch: the certificate identity (SAN) is {}, which does not match \
                     {pattern:?}",
                    san::shown(sans)
                ),
            });
        }
        Ok(sans.first().cloned())
    }

    /// Checks what the verifier could not express: the issuer regexp, the
    /// GitHub claims and gh's signer checks (the identity is
    /// [`Self::select_identity`]'s).
    fn check_claims(
        &self,
        identity: Option<&str>,
        issuer: Option<&str>,
        claims: &CertificateClaims,
    ) -> Result<(), Error> {
        if let Some(pattern) = &self.issuer_regexp {
            let issuer = issuer.unwrap_or_default();
            if !whole_match("issuer regular expression", pattern, issuer)? {
                return Err(Error::Verification {
                    reason: format!(
                        "certificate OIDC issuer {issuer:?} does not match {pattern:?}"
                    ),
                });
            }
        }
        let checks = [
            (
                "repository",
                &self.github_workflow_repository,
                claims
                    .source_repository_uri
                    .as_deref()
                    .map(|u| u.trim_start_matches("https://github.com/")),
            ),
            (
                "ref",
                &self.github_workflow_ref,
                claims.source_repository_ref.as_deref(),
            ),
            (
                "trigger",
                &self.github_workflow_trigger,
                claims.build_trigger.as_deref(),
            ),
            (
                "sha",
                &self.github_workflow_sha,
                claims.source_repository_digest.as_deref(),
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
        let identity_given = self.identity.is_some() || self.identity_regexp.is_some();
        self.github.check(identity, claims, identity_given)
    }

    /// The policy can be checked: an issuer (exact or by regexp) is named,
    /// the regular expressions compile, gh's repositories are OWNER/REPO.
    fn validate(&self) -> Result<(), Error> {
        if self.issuer.is_empty() && self.issuer_regexp.is_none() {
            return Err(Error::Malformed {
                what: "certificate policy",
                reason: "no OIDC issuer: give the issuer or a regular expression for it".into(),
            });
        }
        for (what, pattern) in [
            ("identity regular expression", &self.identity_regexp),
            ("issuer regular expression", &self.issuer_regexp),
        ] {
            if let Some(pattern) = pattern {
                whole_match(what, pattern, "")?;
            }
        }
        self.github.validate()
    }
}

/// The claims of a certificate, as toto's type.
pub(crate) fn claims_of(ci: &sigstore_verify::crypto::x509::FulcioCiClaims) -> CertificateClaims {
    CertificateClaims {
        build_signer_uri: ci.build_signer_uri.clone(),
        build_signer_digest: ci.build_signer_digest.clone(),
        runner_environment: ci.runner_environment.clone(),
        source_repository_uri: ci.source_repository_uri.clone(),
        source_repository_digest: ci.source_repository_digest.clone(),
        source_repository_ref: ci.source_repository_ref.clone(),
        source_repository_owner_uri: ci.source_repository_owner_uri.clone(),
        build_config_uri: ci.build_config_uri.clone(),
        build_trigger: ci.build_trigger.clone(),
        run_invocation_uri: ci.run_invocation_uri.clone(),
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
    /// The certificate's claims about the workload it was issued to
    /// (empty for a managed key).
    pub claims: CertificateClaims,
}

mod checkpoint;
mod fast;
mod file;
mod parsed;
mod profile;
mod san;
mod schema;
mod sct;
mod timestamps;
pub use timestamps::MAX_TIMESTAMPS;

use file::Input;
pub use file::MAX_RAW_ARTIFACT_BYTES;
pub(crate) use parsed::binds_no_artifact;
use parsed::{first_subject_digest, read_statement, Content, Parsed};

/// The most signature lines a log entry's checkpoint may have (Go's `note`
/// package's limit). Of those lines, the first whose key hint is the entry's
/// log's is verified, once, and decides.
pub use checkpoint::MAX_SIGNATURE_LINES as MAX_CHECKPOINT_SIGNATURES;

/// Verifies bundles against one trusted root; build once, verify many.
pub struct BundleVerifier {
    verifier: Verifier,
    /// The key ids of the trusted root's transparency logs.
    log_ids: Vec<Vec<u8>>,
    /// What toto checks around `sigstore-verify` ([`profile`]).
    checks: profile::Checks,
    /// The common shape, verified directly ([`fast`]); `None` when the
    /// trusted root's material cannot be prepared for it.
    fast: Option<fast::FastPath>,
    /// The trusted root's timestamp authorities ([`timestamps`]).
    tsa: Vec<sigstore_verify::trust_root::TsaAuthority>,
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
    fn read<'a>(&self, bundle_json: &'a [u8]) -> Result<Parsed<'a>, Error> {
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
    fn general(
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

impl BundleVerifier {
    /// Verifies an attestation bundle (a DSSE envelope around an in-toto
    /// Statement) under `policy`, and returns the payload it signs.
    ///
    /// With `subject`, the artifact must be one of the Statement's subjects.
    /// Without, the bundle is verified bound to the Statement's own first
    /// subject: the signature, certificate and log checks are complete, and
    /// which subjects matter is then the caller's policy. A Statement with
    /// no subject at all (an in-toto link of a step without products) binds
    /// nothing: `sigstore-verify` cannot verify its bundle, toto verifies it
    /// itself, only in the shape toto's signer writes (a v0.3 bundle, a P-256
    /// Fulcio certificate, one Rekor v1 `dsse` 0.0.1 entry with SET and
    /// inclusion proof, no RFC 3161 timestamp).
    pub fn verify_attestation(
        &self,
        bundle_json: &[u8],
        subject: Option<Artifact<'_>>,
        policy: &Policy,
    ) -> Result<VerifiedAttestation, Error> {
        let parsed = self.read(bundle_json)?;
        if parsed.content != Content::DsseEnvelope {
            return Err(Error::Malformed {
                what: "attestation bundle",
                reason: "no dsseEnvelope: this bundle signs a blob, not an attestation".into(),
            });
        }
        // One typed value: the envelope whose signature is verified below is
        // the one whose payload is returned.
        let bundle = parsed.typed()?;
        let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
            return Err(Error::Malformed {
                what: "attestation bundle",
                reason: "no dsseEnvelope: this bundle signs a blob, not an attestation".into(),
            });
        };
        let payload = envelope.payload.as_bytes();
        // The Statement is read once, here; its subjects bind the bundle
        // when no artifact is given, and callers get it with the payload.
        let statement = match (&subject, envelope.payload_type == attest::PAYLOAD_TYPE) {
            (Some(_), false) => None,
            _ => Some(read_statement(payload)?),
        };
        let binding = match (subject, &statement) {
            (Some(artifact), _) => Some(artifact),
            (None, Some(statement)) => first_subject_digest(statement)?,
            (None, None) => None,
        };
        let verified = match binding {
            Some(binding) => self.general(&bundle, binding, policy)?,
            None => self.verify_unbound(&parsed, policy)?,
        };
        Ok(VerifiedAttestation {
            verified,
            payload_type: envelope.payload_type.clone(),
            payload: payload.to_vec(),
            statement,
        })
    }
}

/// `keyless` is `attest`'s verifier of keyless functionaries: a Sigstore
/// bundle around a DSSE envelope, signed by the functionary's identity.
impl attest::FunctionaryVerifier for BundleVerifier {
    fn verify_evidence(
        &self,
        evidence: &[u8],
        identity: &str,
        issuer: &str,
        constraints: attest::StepConstraints<'_>,
    ) -> Result<attest::VerifiedPayload, attest::Error> {
        let policy = Policy::Identity {
            identity: identity.to_owned(),
            issuer: issuer.to_owned(),
        };
        let attestation = self
            .verify_attestation(evidence, None, &policy)
            .map_err(|e| attest::Error::Malformed {
                what: "bundle",
                reason: e.to_string(),
            })?;
        if let Some(slsa) = constraints.slsa {
            // The same check as `verify-attestation --source-uri …`, on the
            // Statement this verifier read and the certificate it verified.
            slsa.check(
                attestation.statement(),
                &crate::provenance::certificate_source(&attestation.verified().claims),
            )?;
        }
        let VerifiedAttestation {
            verified,
            payload_type,
            payload,
            ..
        } = attestation;
        if let Some(github) = constraints.github {
            // The functionary names the identity exactly: as with
            // `--cert-identity`, `repo`/`owner` add no identity requirement.
            GitHubSigner::from(github)
                .check_verified(&verified, true)
                .map_err(|e| match e {
                    Error::Mismatch {
                        field,
                        expected,
                        found,
                    } => attest::Error::Constraint {
                        field,
                        expected,
                        found,
                    },
                    other => attest::Error::Malformed {
                        what: "step github constraints",
                        reason: other.to_string(),
                    },
                })?;
        }
        let (Some(identity), Some(issuer)) = (verified.identity, verified.issuer) else {
            return Err(attest::Error::Malformed {
                what: "bundle",
                reason: "verified without a certificate identity".into(),
            });
        };
        Ok(attest::VerifiedPayload::new(
            payload_type,
            payload,
            attest::SignerIdentity::Sigstore { identity, issuer },
        ))
    }
}

impl BundleVerifier {
    /// Verifies a DSSE bundle whose Statement has no subject, so binds no
    /// artifact. `sigstore-verify` 0.15.1 cannot (it refuses "in-toto
    /// statement has no subjects"); sigstore-python can (`verify_dsse`
    /// needs no artifact). toto verifies it itself, with every check of its
    /// fast path, in the shape its signer writes: a v0.3 bundle, a P-256
    /// Fulcio certificate, one Rekor v1 `dsse` 0.0.1 entry with SET and
    /// inclusion proof, no RFC 3161 timestamp. Any other shape is refused.
    fn verify_unbound(&self, parsed: &Parsed<'_>, policy: &Policy) -> Result<Verified, Error> {
        let refused = |why: &str| Error::Verification {
            reason: format!(
                "the Statement has no subject, so the bundle binds no artifact; toto verifies \
                 such a bundle only as its signer writes it (a P-256 Fulcio certificate, one \
                 Rekor v1 dsse entry with SET and inclusion proof): {why}"
            ),
        };
        let Signer::Certificate(wanted) = signer(policy) else {
            return Err(refused("signed by a managed key"));
        };
        let fast = self
            .fast
            .as_ref()
            .ok_or_else(|| refused("the trusted root's keys are not all ECDSA"))?;
        fast.verify_unbound_dsse(parsed.tree.root(), &wanted, jiff::Timestamp::now())
            .map_err(refused)
    }
}

/// Entry points for the fuzz targets (`fuzz/`); not an API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// Reads `json` as [`super::BundleVerifier`] does before verifying:
    /// strictly, with the schema; when it has one meaning, `sigstore-types`
    /// must read the same content from it. `Ok(true)` for a DSSE bundle.
    pub fn read_bundle(json: &[u8]) -> Result<bool, super::Error> {
        let parsed = super::Parsed::read(json)?;
        // `typed` checks that both readers agree on the content.
        parsed.typed()?;
        Ok(parsed.content == super::Content::DsseEnvelope)
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
        refused(Parsed::read(bundle.as_bytes()).map(|_| (String::new(), Vec::new())));
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

    /// Issue #16: the content and the verification material are protobuf
    /// `oneof`s; `sigstore-verify` reads the first member of each and
    /// ignores a second, so a bundle with two has two meanings.
    #[test]
    fn two_contents_or_two_kinds_of_material_are_malformed() {
        let material = r#""verificationMaterial":{"publicKey":{"hint":"x"},"tlogEntries":[{}]}"#;
        let message = r#""messageSignature":{"signature":"AA=="}"#;
        let envelope =
            r#""dsseEnvelope":{"payloadType":"t","payload":"","signatures":[{"sig":"AA=="}]}"#;
        let bundle = |members: &[&str]| format!("{{{}}}", members.join(","));
        let why = |json: String| match Parsed::read(json.as_bytes()) {
            Err(Error::Malformed { what, reason }) => {
                assert_eq!(what, "bundle");
                reason
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("accepted: {json}"),
        };
        for members in [
            [material, message, envelope],
            [material, envelope, message],
            [envelope, material, message],
        ] {
            let reason = why(bundle(&members));
            assert!(
                reason.contains("exactly one of messageSignature or dsseEnvelope"),
                "{reason}"
            );
            assert!(reason.contains("both"), "{reason}");
        }
        assert!(why(bundle(&[material])).contains("neither"));
        let two_materials = r#""verificationMaterial":{"publicKey":{"hint":"x"},"certificate":{"rawBytes":"AA=="}}"#;
        assert!(why(bundle(&[two_materials, message])).contains("this bundle has 2"));
        let no_material = r#""verificationMaterial":{"tlogEntries":[{}]}"#;
        assert!(why(bundle(&[no_material, message])).contains("this bundle has 0"));
        let two_entries =
            r#""verificationMaterial":{"publicKey":{"hint":"x"},"tlogEntries":[{},{}]}"#;
        assert!(why(bundle(&[two_entries, message])).contains("exactly one transparency log entry"));
        let media = r#""mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json""#;
        let entry = r#"{"logIndex":"1","logId":{"keyId":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},"kindVersion":{"kind":"k","version":"v"},"canonicalizedBody":"AA=="}"#;
        let material = format!(
            r#""verificationMaterial":{{"publicKey":{{"hint":"x"}},"tlogEntries":[{entry}]}}"#
        );
        let material = material.as_str();
        let content = |json: String| Parsed::read(json.as_bytes()).map(|p| p.content);
        let envelope =
            r#""dsseEnvelope":{"payloadType":"t","payload":"","signatures":[{"sig":"AA=="}]}"#;
        assert_eq!(
            content(bundle(&[media, material, envelope])).unwrap(),
            Content::DsseEnvelope
        );
        assert_eq!(
            content(bundle(&[message, media, material])).unwrap(),
            Content::MessageSignature
        );
    }
}
