//! What a consumer requires of a verified attestation's Statement, beyond
//! its signer: the artifacts it must name as subjects, its predicate type,
//! and requirements on predicate fields. `toto verify-attestation` checks
//! every bundle it reads with [`check_statement`], on the Statement the
//! verifier returned ([`crate::VerifiedAttestation::statement`]).

use attest::predicate::PredicateRequirement;
use attest::record::HashAlgorithm;
use attest::Statement;
use sha2::{Digest as _, Sha256, Sha512};

use crate::{Artifact, Error};

/// Whether a subject of `statement` has `artifact`'s digest. A file is
/// known by its SHA-256; it is hashed again (streaming, SHA-512) only when
/// the Statement names subjects by SHA-512.
pub fn names_subject(statement: &Statement, artifact: &Artifact<'_>) -> Result<bool, Error> {
    let names = |algorithm: &str, hex_digest: &str| {
        statement.subject.iter().any(|s| {
            s.digest
                .as_ref()
                .and_then(|d| d.get(algorithm))
                .is_some_and(|h| h == hex_digest)
        })
    };
    Ok(match artifact {
        Artifact::Sha256(d) => names("sha256", &hex::encode(d)),
        Artifact::Sha512(d) => names("sha512", &hex::encode(d)),
        Artifact::Bytes(b) => {
            names("sha256", &hex::encode(Sha256::digest(b)))
                || names("sha512", &hex::encode(Sha512::digest(b)))
        }
        Artifact::File { path, sha256 } => {
            if names("sha256", &hex::encode(sha256)) {
                true
            } else if statement
                .subject
                .iter()
                .any(|s| s.digest.as_ref().is_some_and(|d| d.get("sha512").is_some()))
            {
                let digests =
                    attest::record::hash_file(path, &[HashAlgorithm::Sha512]).map_err(|e| {
                        Error::Malformed {
                            what: "subject file",
                            reason: format!("cannot hash {}: {e}", path.display()),
                        }
                    })?;
                digests.get("sha512").is_some_and(|h| names("sha512", h))
            } else {
                false
            }
        }
    })
}

/// Checks a verified `statement`: each `(name, candidates)` of `subjects`
/// is a subject (by any of its candidate digests), the predicate type is
/// `predicate_type` when given, and every requirement holds. A failure is
/// [`Error::Policy`] (a verification failure), naming what differs.
pub fn check_statement(
    statement: &Statement,
    subjects: &[(String, Vec<Artifact<'_>>)],
    predicate_type: Option<&str>,
    requirements: &[PredicateRequirement],
) -> Result<(), Error> {
    for (name, candidates) in subjects {
        let mut named = false;
        for candidate in candidates {
            named = named || names_subject(statement, candidate)?;
        }
        if !named {
            return Err(Error::Policy(format!(
                "{name} is not a subject of the attestation"
            )));
        }
    }
    if let Some(want) = predicate_type.filter(|want| statement.predicate_type != *want) {
        return Err(Error::Policy(format!(
            "predicate type is {:?}, expected {want:?}",
            statement.predicate_type
        )));
    }
    for requirement in requirements {
        requirement
            .check(&statement.predicate)
            .map_err(|why| Error::Policy(format!("policy: {why}")))?;
    }
    Ok(())
}
