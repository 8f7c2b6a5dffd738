//! A log entry's checkpoint (a signed note: the log's state, a blank line,
//! then signature lines `— <name> <base64(key hint ‖ signature)>`), checked
//! the way Go's `note` package and sigstore-python check it:
//!
//! - at most [`MAX_SIGNATURE_LINES`] signature lines (Go's `note.Open`
//!   refuses a note with more than 100 signatures, "to avoid spending
//!   forever parsing a note with many signatures");
//! - the **first** line whose key hint is the entry's log's is decisive:
//!   it is verified once, with the log's key, and a failure is final even if
//!   a later line by the same hint would verify (Go verifies the first
//!   signature of each known key and refuses the note when it fails;
//!   sigstore-python returns or raises on the first matching line). Lines
//!   with other hints (witnesses, other logs) are not verified.
//!
//! `sigstore-verify` 0.15.1 instead tries every line against every key with
//! a matching hint until one verifies: a checkpoint with 300 000 lines
//! carrying the log's hint cost an ECDSA verification each, on each path.

use sigstore_verify::crypto::{Checkpoint, VerificationKey};
use sigstore_verify::types::Sha256Hash;

/// The most signature lines a checkpoint may have (Go's `note` package).
pub const MAX_SIGNATURE_LINES: usize = 100;

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum CheckpointRefusal {
    /// Not a signed note.
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    /// More than [`MAX_SIGNATURE_LINES`] signature lines.
    #[error("checkpoint has more than {MAX_SIGNATURE_LINES} signature lines")]
    TooManySignatures,
    /// No signature line carries the log's key hint.
    #[error("checkpoint has no signature line by the entry's log (key hint {})", hex::encode(.hint))]
    NotSignedByLog { hint: [u8; 4] },
    /// The first line with the log's key hint does not verify.
    #[error(
        "checkpoint's first signature line by the entry's log (key hint {}) does not verify",
        hex::encode(.hint)
    )]
    BadSignature { hint: [u8; 4] },
}

/// Verifies that the log `log_id` signed the checkpoint `text` with `key`,
/// and returns the checkpoint (its tree size and root hash are then
/// authenticated). See the module documentation for the rules.
pub(super) fn verify(
    text: &str,
    log_id: &Sha256Hash,
    key: &VerificationKey,
) -> Result<Checkpoint, CheckpointRefusal> {
    let malformed = |reason: &str| CheckpointRefusal::Malformed(reason.to_owned());
    // One blank line, as sigstore-python requires; `sigstore-verify`'s
    // reader would take the lines between the first two.
    let mut parts = text.split("\n\n");
    let (Some(_), Some(signatures), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed(
            "expected one blank line between the note and its signatures",
        ));
    };
    // Counted before anything is decoded.
    let lines = signatures.lines().filter(|l| !l.trim().is_empty());
    if lines.take(MAX_SIGNATURE_LINES + 1).count() > MAX_SIGNATURE_LINES {
        return Err(CheckpointRefusal::TooManySignatures);
    }
    // The reader `sigstore-verify` uses, so both see the same lines.
    let checkpoint = Checkpoint::from_text(text).map_err(|e| malformed(&e.to_string()))?;
    let hint: [u8; 4] = log_id
        .as_bytes()
        .first_chunk::<4>()
        .copied()
        .ok_or_else(|| malformed("log ID"))?;
    let first = checkpoint
        .signatures()
        .iter()
        .find(|line| *line.key_id.as_bytes() == hint)
        .ok_or(CheckpointRefusal::NotSignedByLog { hint })?;
    key.verify(checkpoint.signed_data(), &first.signature)
        .map_err(|_| CheckpointRefusal::BadSignature { hint })?;
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::{DerSignature, SigningKey};
    use p256::pkcs8::EncodePublicKey as _;
    use sha2::{Digest as _, Sha256};
    use sigstore_verify::types::DerPublicKey;

    const NOTE: &str = "127.0.0.1 - 42\n6\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    struct Log {
        key: SigningKey,
        id: Sha256Hash,
    }

    impl Log {
        fn new() -> Log {
            let key = SigningKey::random(&mut rand_core::OsRng);
            let spki = key.verifying_key().to_public_key_der().unwrap();
            let id = Sha256Hash::new(Sha256::digest(spki.as_bytes()).into());
            Log { key, id }
        }

        fn verification_key(&self) -> VerificationKey {
            let spki = self.key.verifying_key().to_public_key_der().unwrap();
            VerificationKey::from_spki(&DerPublicKey::new(spki.as_bytes().to_vec())).unwrap()
        }

        fn hint(&self) -> [u8; 4] {
            *self.id.as_bytes().first_chunk::<4>().unwrap()
        }

        /// A line with this log's hint, signed by `signer`.
        fn line(&self, signer: &SigningKey) -> String {
            let signature: DerSignature = signer.sign(NOTE.as_bytes());
            let blob = [&self.hint()[..], signature.as_bytes()].concat();
            format!("\u{2014} 127.0.0.1 {}\n", STANDARD.encode(blob))
        }

        fn good(&self) -> String {
            self.line(&self.key)
        }

        fn verify(&self, lines: &[String]) -> Result<Checkpoint, CheckpointRefusal> {
            let text = format!("{NOTE}\n{}", lines.concat());
            verify(&text, &self.id, &self.verification_key())
        }
    }

    fn stranger() -> SigningKey {
        SigningKey::random(&mut rand_core::OsRng)
    }

    #[test]
    fn the_log_signature_line_verifies() {
        let log = Log::new();
        let checkpoint = log.verify(&[log.good()]).unwrap();
        assert_eq!(checkpoint.tree_size(), 6);
    }

    /// As Go's `note` and sigstore-python: the first line with the log's
    /// hint decides; a good line after a bad one does not rescue it.
    #[test]
    fn a_bad_first_line_by_the_log_hint_is_final_though_a_later_one_verifies() {
        let log = Log::new();
        let bad = log.line(&stranger());
        assert_eq!(
            log.verify(&[bad, log.good()]).unwrap_err(),
            CheckpointRefusal::BadSignature { hint: log.hint() }
        );
    }

    #[test]
    fn lines_with_other_hints_before_the_log_line_are_skipped_unverified() {
        let log = Log::new();
        let witness = Log::new();
        let checkpoint = log.verify(&[witness.good(), witness.line(&stranger()), log.good()]);
        assert!(checkpoint.is_ok(), "{checkpoint:?}");
    }

    #[test]
    fn a_checkpoint_signed_only_by_another_log_is_refused() {
        let log = Log::new();
        let other = Log::new();
        assert_eq!(
            log.verify(&[other.good()]).unwrap_err(),
            CheckpointRefusal::NotSignedByLog { hint: log.hint() }
        );
    }

    /// 300 000 lines carrying the log's hint (13 MiB): refused by counting,
    /// before anything is decoded or verified, though the first verifies.
    #[test]
    fn a_checkpoint_with_300000_signature_lines_is_refused_by_the_line_bound() {
        let log = Log::new();
        let mut lines = vec![log.good(); 300_000];
        assert_eq!(
            log.verify(&lines).unwrap_err(),
            CheckpointRefusal::TooManySignatures
        );
        lines.truncate(MAX_SIGNATURE_LINES + 1);
        assert_eq!(
            log.verify(&lines).unwrap_err(),
            CheckpointRefusal::TooManySignatures
        );
        lines.truncate(MAX_SIGNATURE_LINES);
        assert!(log.verify(&lines).is_ok());
    }

    #[test]
    fn a_second_blank_line_is_malformed() {
        let log = Log::new();
        let text = format!("{NOTE}\n{}\n{}", log.good(), log.good());
        assert!(matches!(
            verify(&text, &log.id, &log.verification_key()),
            Err(CheckpointRefusal::Malformed(_))
        ));
    }
}
