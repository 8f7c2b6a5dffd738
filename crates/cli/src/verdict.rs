//! Verdicts: exit codes (0 verified, 1 verification failed, 2 usage or
//! input error), the CLI's own verification failures, and the output format
//! of commands that report one.

/// Exit code for verification or policy failure.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for usage or input errors.
pub const EXIT_USAGE: u8 = 2;

/// A verification failure that is not a library error (e.g. a policy check
/// done in the CLI). Maps to exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct VerificationFailed(pub String);

/// Maps an error chain to an exit code: 1 when any cause is a verification
/// failure, 2 otherwise.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<VerificationFailed>().is_some() {
            return EXIT_FAILED;
        }
        if let Some(e) = cause.downcast_ref::<keyless::Error>() {
            if e.is_verification_failure() {
                return EXIT_FAILED;
            }
        }
        if let Some(e) = cause.downcast_ref::<dsse::Error>() {
            if e.is_verification_failure() {
                return EXIT_FAILED;
            }
        }
        // A registry that serves content not matching its digest, too
        // large or malformed fails verification; an unreachable or refusing
        // one is an input error.
        if let Some(e) = cause.downcast_ref::<oci::Error>() {
            if !e.is_input_error() {
                return EXIT_FAILED;
            }
        }
    }
    EXIT_USAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_content_that_does_not_hold_up_fails_and_an_unreachable_registry_is_input() {
        let served = anyhow::Error::new(oci::Error::DigestMismatch {
            what: "manifest",
            reference: "oci://r/app:v1".into(),
            expected: "sha256:aa".into(),
            found: "sha256:bb".into(),
        })
        .context("cannot resolve oci://r/app:v1");
        assert_eq!(exit_code_for(&served), EXIT_FAILED);
        let refused = anyhow::Error::new(oci::Error::Unauthorized {
            registry: "r".into(),
            repository: "app".into(),
            status: 401,
        });
        assert_eq!(exit_code_for(&refused), EXIT_USAGE);
    }
}

/// Output format of commands that report a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON object on stdout.
    Json,
}

/// Prints `--format json`'s one object, on one line of stdout.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}").context("cannot write to stdout")
}
