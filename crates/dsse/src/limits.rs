//! Limits on attacker-controlled sizes. Every parser of this crate takes a
//! [`Limits`]; the defaults suit in-toto evidence and can be raised by a user
//! who legitimately needs more.

use crate::error::Error;

/// Size limits for envelopes and keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest envelope JSON accepted, in bytes (default 64 MiB).
    pub max_envelope_bytes: usize,
    /// Largest decoded payload, in bytes (default 48 MiB).
    pub max_payload_bytes: usize,
    /// Most signatures on one envelope or Metablock (default 64).
    pub max_signatures: usize,
    /// Largest key file or PEM, in bytes (default 64 KiB).
    pub max_key_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_envelope_bytes: 64 << 20,
            max_payload_bytes: 48 << 20,
            max_signatures: 64,
            max_key_bytes: 64 << 10,
        }
    }
}

/// [`Error::TooLarge`] when `actual` (the size of `what`) is over `limit`.
pub(crate) fn at_most(what: &'static str, actual: usize, limit: usize) -> Result<(), Error> {
    if actual > limit {
        return Err(Error::TooLarge {
            what,
            limit,
            actual,
        });
    }
    Ok(())
}

/// What every one-pass reader (`read_sorted`) is held to: each of `left` is
/// left to the tree (`None`), and `read` is read under the default limits but
/// left to the tree under a `max_envelope_bytes` it exceeds.
#[cfg(test)]
pub(crate) fn assert_read_sorted<T, S: AsRef<str>>(
    read_sorted: fn(&[u8], &Limits) -> Option<T>,
    left: impl IntoIterator<Item = S>,
    read: &str,
) {
    let limits = Limits::default();
    for text in left {
        let text = text.as_ref();
        assert!(read_sorted(text.as_bytes(), &limits).is_none(), "{text}");
    }
    let small = Limits {
        max_envelope_bytes: 10,
        ..Limits::default()
    };
    assert!(read_sorted(read.as_bytes(), &limits).is_some(), "{read}");
    assert!(read_sorted(read.as_bytes(), &small).is_none(), "{read}");
}
