//! The one error type of this crate. Variants follow the stages of
//! verification so that callers can branch: malformed input, limits, keys,
//! signatures.

/// Everything that can go wrong in `dsse`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not valid JSON or does not have the expected shape.
    #[error("malformed JSON")]
    Json {
        /// What serde_json reported.
        #[source]
        source: serde_json::Error,
    },
    /// A field that must be base64 is not.
    #[error("field {field:?} is not valid base64")]
    Base64 {
        /// The field name.
        field: &'static str,
    },
    /// A field that must be hex is not.
    #[error("field {field:?} is not valid hex")]
    Hex {
        /// The field name.
        field: &'static str,
    },
    /// A structural rule of the format is broken.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An input is larger than the configured limit.
    #[error("{what} is {actual} bytes or more, over the limit of {limit}")]
    TooLarge {
        /// What was measured.
        what: &'static str,
        /// The limit.
        limit: usize,
        /// The size seen (a lower bound when counting stopped early).
        actual: usize,
    },
    /// An input has more items than the configured limit.
    #[error("{what}: {actual} items, over the limit of {limit}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The limit.
        limit: usize,
        /// The count seen.
        actual: usize,
    },
    /// A value cannot be written as canonical JSON.
    #[error("cannot encode canonical JSON: {reason}")]
    CanonicalJson {
        /// Why.
        reason: &'static str,
    },
    /// The key type or signing scheme is not one toto supports.
    #[error("unsupported key: keytype {keytype:?}, scheme {scheme:?}")]
    UnsupportedKey {
        /// The key type as named in the input.
        keytype: String,
        /// The scheme as named in the input.
        scheme: String,
    },
    /// Key material could not be decoded.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// The private key is encrypted and no password was given.
    #[error("the private key is encrypted; a password is required")]
    PasswordRequired,
    /// The password does not decrypt the private key.
    #[error("wrong password, or the encrypted key is damaged")]
    WrongPassword,
    /// A key id given with a key does not match the key.
    #[error("key id {declared} does not match the key (computed {computed})")]
    KeyIdMismatch {
        /// The key id the input claimed.
        declared: String,
        /// The current-style key id computed from the key.
        computed: String,
    },
    /// A signature did not verify. Deliberately opaque.
    #[error("no valid signature")]
    Signature,
    /// Fewer distinct trusted keys signed than the threshold requires.
    #[error("signature threshold not met: {verified} of {required} required distinct keys signed")]
    Threshold {
        /// Distinct keys required.
        required: usize,
        /// Distinct trusted keys whose signatures verified.
        verified: usize,
    },
    /// An OpenPGP packet names an algorithm, version or type toto does not
    /// read (e.g. public-key algorithm 18, ECDH).
    #[error("unsupported OpenPGP {what} {value}")]
    UnsupportedOpenPgp {
        /// What the number is (`public-key algorithm`, `hash algorithm`, ...).
        what: &'static str,
        /// The number found.
        value: u8,
    },
    /// Signing failed (e.g. the key cannot sign with its scheme).
    #[error("signing failed")]
    Signing,
    /// A file to read is not a regular file ([`crate::file`]).
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegularFile {
        /// The file, as given.
        path: std::path::PathBuf,
        /// What it is instead.
        kind: crate::file::FileKind,
    },
    /// A file to read is larger than its limit ([`crate::file`]).
    #[error(
        "{} is over the limit of {limit} bytes{}",
        path.display(),
        raise_with.map(|s| format!("; raise it with {s}")).unwrap_or_default()
    )]
    FileTooLarge {
        /// The file, as given.
        path: std::path::PathBuf,
        /// The limit, in bytes.
        limit: usize,
        /// The setting that raises the limit, as the caller names it.
        raise_with: Option<&'static str>,
    },
    /// A file could not be opened or read ([`crate::file`]).
    #[error("cannot read {}", path.display())]
    File {
        /// The file, as given.
        path: std::path::PathBuf,
        /// The OS error (`NotFound`, `PermissionDenied`, ...).
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn malformed(what: &'static str, reason: &'static str) -> Self {
        Error::Malformed { what, reason }
    }

    /// True for errors meaning "the input was well-formed but not trusted"
    /// (exit code 1 in the CLI), false for malformed input (exit code 2).
    pub fn is_verification_failure(&self) -> bool {
        matches!(self, Error::Signature | Error::Threshold { .. })
    }
}
