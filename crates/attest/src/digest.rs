//! Digest sets: algorithm name → lowercase hex digest, as in-toto links and
//! Statement v1 `ResourceDescriptor.digest` carry them.
//!
//! The in-toto attestation spec (`spec/v1/digest_set.md`) requires lowercase
//! hex for the hash algorithms it names; a [`DigestSet`] cannot hold anything
//! else, so a parsed link or Statement never carries a malformed digest.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a digest set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The digest set has no entries.
    #[error("digest set is empty")]
    Empty,
    /// An algorithm is named twice.
    #[error("digest set names {0} twice")]
    Duplicate(String),
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

/// The well-known algorithms and the hex digits their digests have. Their
/// names are kept as `&'static str` in a [`DigestSet`], so the common case
/// costs no allocation for the name.
const KNOWN: [(&str, usize); 14] = [
    ("sha256", 64),
    ("sha512", 128),
    ("sha1", 40),
    ("gitCommit", 40),
    ("sha224", 56),
    ("sha512_224", 56),
    ("sha3_224", 56),
    ("sha512_256", 64),
    ("sha3_256", 64),
    ("dirHash", 64),
    ("sha384", 96),
    ("sha3_384", 96),
    ("sha3_512", 128),
    ("md5", 32),
];

/// Most algorithms one digest set may name.
const MAX_ALGORITHMS: usize = 64;

fn known(algorithm: &str) -> Option<(&'static str, usize)> {
    KNOWN.iter().copied().find(|(name, _)| *name == algorithm)
}

/// A validated, non-empty map of algorithm → lowercase hex digest.
///
/// Ordered by algorithm name, so serialization is deterministic. A link
/// lists up to a million of these, nearly all a single SHA-256: that one is
/// held inline (its 64 hex digits, no allocation); any other set is a
/// sorted boxed slice (a map per artifact would cost far more memory and
/// time). Equality, order and hash are those of [`DigestSet::iter`].
#[derive(Clone, Default)]
pub struct DigestSet(Entries);

#[derive(Clone)]
enum Entries {
    /// `{"sha256": <these 64 hex digits>}`.
    Sha256([u8; 64]),
    /// Any other set, sorted by algorithm.
    Sorted(Box<[(Cow<'static, str>, Box<str>)]>),
}

impl Default for Entries {
    fn default() -> Self {
        Entries::Sorted(Box::default())
    }
}

impl PartialEq for DigestSet {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            // The common case, compared as bytes.
            (Entries::Sha256(mine), Entries::Sha256(theirs)) => mine == theirs,
            _ => self.iter().eq(other.iter()),
        }
    }
}

impl Eq for DigestSet {}

impl PartialOrd for DigestSet {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DigestSet {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
    }
}

impl std::hash::Hash for DigestSet {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for entry in self.iter() {
            entry.hash(state);
        }
    }
}

impl DigestSet {
    /// Builds a digest set, validating every entry.
    pub fn new(entries: BTreeMap<String, String>) -> Result<Self, DigestError> {
        Self::from_entries(
            entries
                .into_iter()
                .map(|(k, v)| (intern(k), v.into_boxed_str()))
                .collect(),
        )
    }

    fn from_entries(mut entries: Vec<(Cow<'static, str>, Box<str>)>) -> Result<Self, DigestError> {
        if entries.is_empty() {
            return Err(DigestError::Empty);
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some([(algorithm, _), _]) = entries
            .windows(2)
            .find(|w| matches!(w, [a, b] if a.0 == b.0))
        {
            return Err(DigestError::Duplicate(algorithm.to_string()));
        }
        for (algorithm, value) in &entries {
            check_digest(algorithm, value)?;
        }
        if let [(algorithm, value)] = entries.as_slice() {
            if algorithm.as_ref() == "sha256" {
                if let Ok(hex) = <[u8; 64]>::try_from(value.as_bytes()) {
                    return Ok(Self(Entries::Sha256(hex)));
                }
            }
        }
        Ok(Self(Entries::Sorted(entries.into_boxed_slice())))
    }

    /// A digest set with a single entry.
    pub fn single(algorithm: &str, hex_value: &str) -> Result<Self, DigestError> {
        Self::from_entries(vec![(intern(algorithm.to_owned()), hex_value.into())])
    }

    /// The digest for `algorithm`, if present.
    pub fn get(&self, algorithm: &str) -> Option<&str> {
        self.iter().find(|(a, _)| *a == algorithm).map(|(_, v)| v)
    }

    /// Iterates `(algorithm, hex)` in algorithm order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let (inline, sorted) = match &self.0 {
            // Checked lowercase hex when built: always UTF-8.
            Entries::Sha256(hex) => (
                Some(("sha256", std::str::from_utf8(hex).unwrap_or_default())),
                &[][..],
            ),
            Entries::Sorted(entries) => (None, &entries[..]),
        };
        inline
            .into_iter()
            .chain(sorted.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    }

    /// True when the two sets share an algorithm and agree on every shared one.
    pub fn agrees_with(&self, other: &DigestSet) -> bool {
        let mut shared = false;
        for (alg, value) in self.iter() {
            if let Some(theirs) = other.get(alg) {
                if theirs != value {
                    return false;
                }
                shared = true;
            }
        }
        shared
    }
}

/// The algorithm name, borrowed from [`KNOWN`] when it is a well-known one.
fn intern(algorithm: String) -> Cow<'static, str> {
    match known(&algorithm) {
        Some((name, _)) => Cow::Borrowed(name),
        None => Cow::Owned(algorithm),
    }
}

/// The one rule for a digest, wherever toto reads one (links, Statement
/// subjects, attestation bundles): a plausible algorithm name, and a value
/// in lower-case hex — of the algorithm's length when it is a known one
/// (`spec/v1/digest_set.md`; sigstore-python refuses upper case too).
pub fn check_digest(algorithm: &str, value: &str) -> Result<(), DigestError> {
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
    if let Some((_, expected)) = known(algorithm) {
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
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for DigestSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// An algorithm name read as a map key, interned when well known.
struct Algorithm(Cow<'static, str>);

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Algorithm;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a digest algorithm name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Algorithm, E> {
                Ok(Algorithm(match known(v) {
                    Some((name, _)) => Cow::Borrowed(name),
                    None => Cow::Owned(v.to_owned()),
                }))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string as read, borrowed from the document when it can be.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for DigestSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DigestSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of digest algorithm to hex digest")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DigestSet, A::Error> {
                let mut entries: Vec<(Cow<'static, str>, Box<str>)> = Vec::new();
                let mut pending = map.next_key::<Algorithm>()?;
                // Nearly every set is one SHA-256, its hex borrowed from the
                // document: checked and held inline, nothing allocated.
                if let Some(Algorithm(name)) = pending.take() {
                    let Text(value) = map.next_value()?;
                    pending = map.next_key()?;
                    if pending.is_none() && name == "sha256" {
                        if let Ok(hex) = <[u8; 64]>::try_from(value.as_bytes()) {
                            check_digest(&name, &value).map_err(de::Error::custom)?;
                            return Ok(DigestSet(Entries::Sha256(hex)));
                        }
                    }
                    entries.push((name, Box::from(value.as_ref())));
                }
                while let Some(Algorithm(name)) = pending.take() {
                    if entries.len() == MAX_ALGORITHMS {
                        return Err(de::Error::custom(format_args!(
                            "digest set names more than {MAX_ALGORITHMS} algorithms"
                        )));
                    }
                    let Text(value) = map.next_value()?;
                    entries.push((name, Box::from(value.as_ref())));
                    pending = map.next_key()?;
                }
                DigestSet::from_entries(entries).map_err(de::Error::custom)
            }
        }
        d.deserialize_map(V)
    }
}

/// Artifacts of a step: path (always `/`-separated) → digests.
pub type ArtifactMap = BTreeMap<String, DigestSet>;

/// Artifacts as read, in input order: at most the limit, not yet checked
/// for a path listed twice ([`ArtifactList::into_map`]). A decoder builds
/// the map once it no longer needs the bytes it read them from.
#[derive(Debug, Default)]
pub(crate) struct ArtifactList(Vec<(String, DigestSet)>);

impl ArtifactList {
    /// The map, built in bulk (linear for sorted input); `which` names the
    /// list in the refusal of a path listed twice.
    pub(crate) fn into_map(self, which: &str) -> Result<ArtifactMap, String> {
        build_artifact_map(self.0).map_err(|path| format!("{which} lists {path:?} twice"))
    }
}

/// Reads an [`ArtifactList`] of at most `limit` entries, collected in input
/// order.
pub(crate) fn artifact_list<'de, D: Deserializer<'de>>(
    d: D,
    limit: usize,
    which: &'static str,
) -> Result<ArtifactList, D::Error> {
    struct V {
        limit: usize,
        which: &'static str,
    }
    impl<'de> Visitor<'de> for V {
        type Value = ArtifactList;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a map of {} paths to digest sets", self.which)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ArtifactList, A::Error> {
            let mut entries: Vec<(String, DigestSet)> =
                Vec::with_capacity(map.size_hint().unwrap_or(0).min(self.limit));
            while let Some(path) = map.next_key::<String>()? {
                if entries.len() == self.limit {
                    return Err(de::Error::custom(format_args!(
                        "more than {} {}, over the limit",
                        self.limit, self.which
                    )));
                }
                entries.push((path, map.next_value()?));
            }
            Ok(ArtifactList(entries))
        }
    }
    d.deserialize_map(V { limit, which })
}

/// Reads an [`ArtifactMap`] of at most `limit` entries: collected in input
/// order and built in bulk (in-toto writes paths sorted, so building is
/// linear), refusing a path listed twice.
pub(crate) fn artifact_map<'de, D: Deserializer<'de>>(
    d: D,
    limit: usize,
    which: &'static str,
) -> Result<ArtifactMap, D::Error> {
    artifact_list(d, limit, which)?
        .into_map(which)
        .map_err(de::Error::custom)
}

/// An [`ArtifactMap`] of `entries`, built in bulk (linear for sorted
/// input); `Err(path)` names a path listed twice.
pub(crate) fn build_artifact_map(
    mut entries: Vec<(String, DigestSet)>,
) -> Result<ArtifactMap, String> {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some([(path, _), _]) = entries
        .windows(2)
        .find(|w| matches!(w, [a, b] if a.0 == b.0))
    {
        return Err(path.clone());
    }
    Ok(entries.into_iter().collect())
}

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

    /// A lone SHA-256 is held inline; equality, order and the entries are
    /// those of the same set held as a list.
    #[test]
    fn an_inline_sha256_is_the_same_set() {
        let hex = "ab".repeat(32);
        let inline = DigestSet::single("sha256", &hex).unwrap();
        assert!(matches!(inline.0, Entries::Sha256(_)));
        assert_eq!(
            inline.iter().collect::<Vec<_>>(),
            [("sha256", hex.as_str())]
        );
        let listed = DigestSet(Entries::Sorted(
            vec![(Cow::Borrowed("sha256"), hex.clone().into_boxed_str())].into_boxed_slice(),
        ));
        assert_eq!(inline, listed);
        assert_eq!(inline.cmp(&listed), std::cmp::Ordering::Equal);
        let two = DigestSet::new(BTreeMap::from([
            ("sha256".to_owned(), hex.clone()),
            ("sha512".to_owned(), "cd".repeat(64)),
        ]))
        .unwrap();
        assert!(matches!(two.0, Entries::Sorted(_)));
        assert!(inline < two);
        assert_eq!(
            serde_json::to_string(&inline).unwrap(),
            format!("{{\"sha256\":\"{hex}\"}}")
        );
    }

    /// Read from JSON (a lone SHA-256 taken without allocating, anything
    /// else as a list) a set is what [`DigestSet::new`] builds from the
    /// same entries, and a refusal is its refusal.
    #[test]
    fn reading_builds_what_new_builds() {
        let (low, up) = ("ab".repeat(32), "AB".repeat(32));
        let many: Vec<(String, String)> = (0..=MAX_ALGORITHMS)
            .map(|i| (format!("alg{i:03}"), "ab".to_owned()))
            .collect();
        let cases: Vec<Vec<(String, String)>> = vec![
            vec![],
            vec![("sha256".into(), low.clone())],
            vec![("sha256".into(), up.clone())],
            vec![("sha256".into(), "abcd".into())],
            vec![
                ("sha256".into(), low.clone()),
                ("sha512".into(), "cd".repeat(64)),
            ],
            vec![
                ("sha512".into(), "cd".repeat(64)),
                ("sha256".into(), low.clone()),
            ],
            vec![
                ("sha256".into(), low.clone()),
                ("sha512".into(), up.clone()),
            ],
            vec![("sha512".into(), "cd".repeat(64))],
            vec![("gitCommit".into(), "ab".repeat(20))],
            many.get(..MAX_ALGORITHMS).unwrap().to_vec(),
            many.clone(),
        ];
        for entries in cases {
            let json = serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect(),
            );
            let read = serde_json::from_value::<DigestSet>(json.clone()).map_err(|e| e.to_string());
            // The borrowing reader too.
            let text = json.to_string();
            let borrowed = dsse::json::decode_sorted::<DigestSet>(text.as_bytes());
            let built =
                DigestSet::new(entries.iter().cloned().collect()).map_err(|e| e.to_string());
            if entries.len() > MAX_ALGORITHMS {
                assert!(read.is_err() && borrowed.is_err(), "{text}");
                continue;
            }
            assert_eq!(read, built, "{text}");
            match (&borrowed, &built) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{text}: {:?} vs {built:?}", borrowed.is_ok()),
            }
            if let Ok(set) = &read {
                let inline = matches!(set.0, Entries::Sha256(_));
                assert_eq!(
                    inline,
                    entries.len() == 1 && entries[0].0 == "sha256",
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn agreement_needs_a_shared_algorithm() {
        let a = DigestSet::single("sha256", &"ab".repeat(32)).unwrap();
        let b = DigestSet::single("sha512", &"ab".repeat(64)).unwrap();
        assert!(!a.agrees_with(&b));
        assert!(a.agrees_with(&a.clone()));
    }
}
