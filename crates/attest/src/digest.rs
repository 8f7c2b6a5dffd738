//! Digest sets: algorithm name → lowercase hex digest, as in-toto links and
//! Statement v1 `ResourceDescriptor.digest` carry them.
//!
//! The in-toto attestation spec (`spec/v1/digest_set.md`) requires lowercase
//! hex for the hash algorithms it names; a [`DigestSet`] cannot hold anything
//! else, so a parsed link or Statement never carries a malformed digest.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a digest set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The digest set has no entries.
    #[error("digest set is empty")]
    Empty,
    /// The algorithm name is not a plausible identifier.
    #[error("digest algorithm name {0:?} is not valid")]
    BadAlgorithm(String),
    /// The value is not lowercase hex.
    #[error("{algorithm} digest {value:?} is not lowercase hex")]
    NotLowerHex {
        /// Algorithm name.
        algorithm: String,
        /// Offending value.
        value: String,
    },
    /// The value has the wrong length for a known algorithm.
    #[error("{algorithm} digest has {actual} hex digits, expected {expected}")]
    WrongLength {
        /// Algorithm name.
        algorithm: String,
        /// Expected hex digits.
        expected: usize,
        /// Actual hex digits.
        actual: usize,
    },
}

/// Hex digits expected for the well-known algorithms; `None` for others
/// (which pass through when their value is lowercase hex).
fn expected_hex_len(algorithm: &str) -> Option<usize> {
    Some(match algorithm {
        "sha1" | "gitCommit" => 40,
        "sha224" | "sha512_224" | "sha3_224" => 56,
        "sha256" | "sha512_256" | "sha3_256" | "dirHash" => 64,
        "sha384" | "sha3_384" => 96,
        "sha512" | "sha3_512" => 128,
        "md5" => 32,
        _ => return None,
    })
}

/// A validated, non-empty map of algorithm → lowercase hex digest.
///
/// Ordered by algorithm name, so serialization is deterministic.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DigestSet(BTreeMap<String, String>);

impl DigestSet {
    /// Builds a digest set, validating every entry.
    pub fn new(entries: BTreeMap<String, String>) -> Result<Self, DigestError> {
        if entries.is_empty() {
            return Err(DigestError::Empty);
        }
        for (algorithm, value) in &entries {
            validate(algorithm, value)?;
        }
        Ok(Self(entries))
    }

    /// A digest set with a single entry.
    pub fn single(algorithm: &str, hex_value: &str) -> Result<Self, DigestError> {
        let mut map = BTreeMap::new();
        map.insert(algorithm.to_owned(), hex_value.to_owned());
        Self::new(map)
    }

    /// The digest for `algorithm`, if present.
    pub fn get(&self, algorithm: &str) -> Option<&str> {
        self.0.get(algorithm).map(String::as_str)
    }

    /// Iterates `(algorithm, hex)` in algorithm order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The underlying map.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// True when the two sets share an algorithm and agree on every shared one.
    pub fn agrees_with(&self, other: &DigestSet) -> bool {
        let mut shared = false;
        for (alg, value) in &self.0 {
            if let Some(theirs) = other.0.get(alg) {
                if theirs != value {
                    return false;
                }
                shared = true;
            }
        }
        shared
    }
}

fn validate(algorithm: &str, value: &str) -> Result<(), DigestError> {
    let alg_ok = !algorithm.is_empty()
        && algorithm.len() <= 64
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !alg_ok {
        return Err(DigestError::BadAlgorithm(algorithm.to_owned()));
    }
    let hex_ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex_ok {
        return Err(DigestError::NotLowerHex {
            algorithm: algorithm.to_owned(),
            value: value.chars().take(200).collect(),
        });
    }
    if let Some(expected) = expected_hex_len(algorithm) {
        if value.len() != expected {
            return Err(DigestError::WrongLength {
                algorithm: algorithm.to_owned(),
                expected,
                actual: value.len(),
            });
        }
    }
    Ok(())
}

impl fmt::Debug for DigestSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl Serialize for DigestSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for DigestSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        DigestSet::new(map).map_err(serde::de::Error::custom)
    }
}

/// Artifacts of a step: path (always `/`-separated) → digests.
pub type ArtifactMap = BTreeMap<String, DigestSet>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_uppercase_and_wrong_length() {
        assert!(matches!(
            DigestSet::single("sha256", &"AB".repeat(32)),
            Err(DigestError::NotLowerHex { .. })
        ));
        assert!(matches!(
            DigestSet::single("sha256", "abcd"),
            Err(DigestError::WrongLength { expected: 64, .. })
        ));
        assert!(DigestSet::single("sha256", &"ab".repeat(32)).is_ok());
        assert!(matches!(
            DigestSet::new(BTreeMap::new()),
            Err(DigestError::Empty)
        ));
    }

    #[test]
    fn agreement_needs_a_shared_algorithm() {
        let a = DigestSet::single("sha256", &"ab".repeat(32)).unwrap();
        let b = DigestSet::single("sha512", &"ab".repeat(64)).unwrap();
        assert!(!a.agrees_with(&b));
        assert!(a.agrees_with(&a.clone()));
    }
}
