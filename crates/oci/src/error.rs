//! The crate's one error type, by stage: what the user typed, how the
//! registry was reached, what it answered.

/// Why an OCI operation failed. Every variant names the reference or
/// registry it concerns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An image reference or digest that does not parse.
    #[error("{input:?} is not an image reference: {reason}")]
    Reference {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The client's own configuration (CA file, credentials file).
    #[error("{what}: {reason}")]
    Config {
        /// What was being configured.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// A plain-HTTP registry without `--allow-http-registry`.
    #[error(
        "registry {registry} speaks plain HTTP; refusing without --allow-http-registry \
         (anyone on the path could change what it serves)"
    )]
    InsecureRegistry {
        /// The registry.
        registry: String,
    },
    /// The registry could not be reached (DNS, TCP, TLS).
    #[error("cannot reach registry {registry}: {reason}")]
    Unreachable {
        /// The registry.
        registry: String,
        /// The transport's error chain.
        reason: String,
    },
    /// The registry refused the credentials (or asked for some).
    #[error(
        "registry {registry} refused access to {repository} ({status}): check \
         --registry-username/--registry-password or ~/.docker/config.json"
    )]
    Unauthorized {
        /// The registry.
        registry: String,
        /// The repository.
        repository: String,
        /// The HTTP status.
        status: u16,
    },
    /// Nothing at this reference.
    #[error("{reference}: not found in the registry")]
    NotFound {
        /// What was asked for.
        reference: String,
    },
    /// Any other answer than the one the protocol expects.
    #[error("registry {registry}: {what} failed: HTTP {status}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Status {
        /// The registry.
        registry: String,
        /// The operation.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The registry's error code, when it gave one (bounded, escaped).
        detail: Option<String>,
    },
    /// More bytes than the limit allows.
    #[error("{what} at {reference} is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The manifest, index or blob.
        what: &'static str,
        /// Where.
        reference: String,
        /// The limit.
        limit: u64,
    },
    /// Content whose digest is not the one asked for.
    #[error(
        "{what} at {reference}: the registry sent content with digest {found}, not {expected}"
    )]
    DigestMismatch {
        /// The manifest, index or blob.
        what: &'static str,
        /// Where.
        reference: String,
        /// The digest asked for (or announced).
        expected: String,
        /// The digest of what arrived.
        found: String,
    },
    /// A manifest or index that is not what the OCI image spec allows.
    #[error("{what} at {reference} is malformed: {reason}")]
    Malformed {
        /// The manifest, index or blob.
        what: &'static str,
        /// Where.
        reference: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// True for errors of the input or the environment (exit 2): a bad
    /// reference, an unreachable or refusing registry. False for content
    /// the registry served that does not hold up (too large, wrong digest,
    /// malformed), which is a verification failure.
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            Error::TooLarge { .. } | Error::DigestMismatch { .. } | Error::Malformed { .. }
        )
    }
}
