//! The crate's one error type: why a bundle was not verified, a keyless
//! signing failed, or a TUF refresh failed, by stage (malformed input,
//! verification, service, token, TUF, I/O).

use crate::text::ServiceText;

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
    /// The bundle verified, but what it says (a certificate claim, a
    /// provenance field) is not what the policy requires.
    #[error("{field} is {}, expected {expected}", found.as_deref().map_or_else(|| "absent".to_owned(), |f| format!("{f:?}")))]
    Mismatch {
        /// The field checked, e.g. `certificate Source Repository URI` or
        /// `provenance source repository`.
        field: String,
        /// What the policy requires.
        expected: String,
        /// What the verified bundle has (`None`: nothing).
        found: Option<String>,
    },
    /// The attestation verified, but its Statement is not what the policy
    /// requires (a subject missing, another predicate type, a predicate
    /// field): [`crate::attestation`].
    #[error("{0}")]
    Policy(String),
    /// A Rego policy ([`crate::rego`]) denied the verified attestation, or
    /// could not be evaluated on it (never a pass).
    #[error("policy {policy} denies: {}", reasons.join("; "))]
    PolicyDenied {
        /// The policy file.
        policy: String,
        /// Its `deny` messages, and why `allow` is not true.
        reasons: Vec<String>,
    },
    /// A Sigstore service (OIDC, Fulcio, Rekor) failed or answered wrongly.
    /// The URL and reason may quote the service: they are [`ServiceText`]
    /// (bounded, escaped, tokens redacted).
    #[error("{service} ({url}): {reason}")]
    Service {
        /// `Fulcio`, `Rekor`, `TSA`, `OIDC`, `GitHub Actions OIDC`.
        service: &'static str,
        /// Where it was asked.
        url: ServiceText,
        /// What went wrong.
        reason: ServiceText,
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
        source: ServiceText,
    },
    /// The TUF repository's metadata or a target did not verify: a
    /// signature threshold not met, a rollback, expired metadata, a length
    /// or hash mismatch, malformed metadata.
    #[error("TUF verification failed ({stage})")]
    TufVerification {
        /// `metadata refresh`, `target <name>` or `cached target <name>`.
        stage: String,
        /// What the TUF client reported (it names the role or file), which
        /// may quote the repository's metadata.
        #[source]
        source: ServiceText,
    },
    /// The TUF repository could not be read (unreachable, HTTP error,
    /// missing file), or does not list the trusted root.
    #[error("cannot fetch from the TUF repository ({stage})")]
    TufFetch {
        /// `metadata refresh`, `target <name>` or `cached target <name>`.
        stage: String,
        /// What failed.
        #[source]
        source: ServiceText,
    },
    /// An artifact file could not be read again to verify a bundle that
    /// needs more than its SHA-256 ([`crate::Artifact::File`]).
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
            Error::Verification { .. }
                | Error::Mismatch { .. }
                | Error::Policy(_)
                | Error::PolicyDenied { .. }
                | Error::TufVerification { .. }
        )
    }
}

/// A service's failure; the URL and the reason may quote the service, so
/// both are shown only as [`ServiceText`] (bounded, escaped, redacted).
pub(crate) fn service_error(service: &'static str, url: &str, reason: impl AsRef<str>) -> Error {
    Error::Service {
        service,
        url: ServiceText::new(url),
        reason: ServiceText::new(reason.as_ref()),
    }
}

/// [`Error::Malformed`]: `what` could not be read, for `reason`.
pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Malformed {
        what,
        reason: reason.into(),
    }
}

/// [`Error::Malformed`] when `what` holds `count` `items` (bytes,
/// timestamps, attestations), more than `limit`.
pub(crate) fn at_most(
    what: &'static str,
    count: usize,
    items: &str,
    limit: usize,
) -> Result<(), Error> {
    if count > limit {
        return Err(malformed(
            what,
            format!("{count} {items}, over the limit of {limit}"),
        ));
    }
    Ok(())
}
