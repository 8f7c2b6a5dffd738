//! The error type of `attest`. Variants follow verification stages: malformed
//! input, signatures, policy (layout, threshold, rules, expiry).

use std::path::PathBuf;

/// Everything that can go wrong reading or checking in-toto metadata.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Signature layer (envelope, Metablock, keys).
    #[error(transparent)]
    Dsse(#[from] dsse::Error),
    /// A document does not have the expected shape.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A keyless functionary's certificate fails a step's constraint
    /// (e.g. [`GitHubConstraints`](crate::layout::GitHubConstraints)).
    #[error("{field} is {}, expected {expected}", found.as_deref().map_or_else(|| "absent".to_owned(), |f| format!("{f:?}")))]
    Constraint {
        /// The field checked, e.g. `certificate Source Repository URI`.
        field: String,
        /// What the step requires.
        expected: String,
        /// What the certificate has (`None`: nothing).
        found: Option<String>,
    },
    /// A command could not be run.
    #[error(transparent)]
    Exec(crate::exec::ExecError),
    /// A step's materials or products could not be recorded.
    #[error("cannot record {what}")]
    Record {
        /// Which artifacts.
        what: crate::step::Artifacts,
        /// Why.
        #[source]
        source: crate::record::RecordError,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// True for "well-formed but not trusted or not allowed" (exit 1).
    pub fn is_verification_failure(&self) -> bool {
        match self {
            Error::Dsse(e) => e.is_verification_failure(),
            Error::Constraint { .. } => true,
            _ => false,
        }
    }
}
