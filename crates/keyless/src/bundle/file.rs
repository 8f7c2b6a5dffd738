//! Verifying a bundle for an artifact on disk ([`Artifact::File`]) without
//! holding the artifact in memory.
//!
//! What a bundle needs of its artifact depends on the bundle: a
//! `hashedrekord` with a P-256 signature over SHA-256 needs the SHA-256 only;
//! a P-384 certificate signs SHA-384; a Statement may name its subjects by
//! SHA-512 only; Ed25519 signs the raw bytes. `sigstore-verify` knows which,
//! so this module asks it in order of cost:
//!
//! 1. the SHA-256 the caller computed once (no I/O): whatever verifies with
//!    it verifies with the bytes, whose SHA-256 it is, and only a missing
//!    digest or a subject named by another digest can fail here where the
//!    bytes would pass; any other refusal stands;
//! 2. else the file, streamed again through `Verifier::verify_reader`,
//!    which hashes exactly the digests the bundle needs in constant memory;
//!    its verdict stands;
//! 3. else, when the signature scheme cannot verify a digest (Ed25519, ML-DSA
//!    message signatures), the bytes, read with [`dsse::file::read_bounded`]
//!    up to [`MAX_RAW_ARTIFACT_BYTES`].
//!
//! Steps 2 and 3 hash what they read with SHA-256 and refuse the result
//! unless it is `sha256`: the artifact verified is the one the caller
//! hashed and reports, even if the file changes meanwhile.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};
use sigstore_verify::types::{Artifact as SigArtifact, ArtifactDigest, Bundle, Sha256Hash};
use sigstore_verify::{VerificationResult, Verifier};

#[cfg(doc)]
use super::Artifact;
use super::{failed, Error};

/// Largest artifact read into memory, for the signature schemes that sign
/// raw bytes (Ed25519): 1 GiB.
pub const MAX_RAW_ARTIFACT_BYTES: usize = 1 << 30;

/// The artifact as `sigstore-verify` takes it.
pub(super) enum Input<'a> {
    /// Bytes or one digest.
    Artifact(SigArtifact<'a>),
    /// A file and its SHA-256 ([`Artifact::File`]).
    File { path: &'a Path, sha256: [u8; 32] },
}

/// The SHA-256 digest as `sigstore-verify` takes it.
pub(super) fn sha256_artifact(digest: [u8; 32]) -> SigArtifact<'static> {
    SigArtifact::from_digest(ArtifactDigest::from(Sha256Hash::new(digest)))
}

impl Input<'_> {
    /// Verifies `bundle` for this artifact under `policy`.
    pub(super) fn verify<P: sigstore_verify::Policy + ?Sized>(
        self,
        verifier: &Verifier,
        bundle: &Bundle,
        policy: &P,
    ) -> Result<VerificationResult, Error> {
        match self {
            Input::Artifact(artifact) => verifier.verify(artifact, bundle, policy).map_err(failed),
            Input::File { path, sha256 } => {
                // With the artifact's own SHA-256, only these two can fail
                // where the bytes would pass: a digest the bundle needs is
                // missing, or a Statement names the artifact by SHA-512.
                match verifier.verify(sha256_artifact(sha256), bundle, policy) {
                    Ok(result) => return Ok(result),
                    Err(
                        sigstore_verify::Error::UnsupportedArtifact(_)
                        | sigstore_verify::Error::ArtifactMismatch(_),
                    ) => {}
                    Err(e) => return Err(failed(e)),
                }
                let unreadable = |source| Error::ArtifactRead {
                    path: path.to_path_buf(),
                    source,
                };
                let file = dsse::file::open_regular(path).map_err(unreadable)?;
                let mut reader = HashingReader {
                    inner: file,
                    sha256: Sha256::new(),
                    eof: false,
                };
                match verifier.verify_reader(&mut reader, bundle, policy) {
                    Ok(result) => {
                        let read: [u8; 32] = reader.sha256.finalize().into();
                        unchanged(path, reader.eof && read == sha256)?;
                        Ok(result)
                    }
                    // Refused before reading: the scheme signs raw bytes.
                    Err(sigstore_verify::Error::UnsupportedArtifact(_)) => {
                        let bytes = dsse::file::read_bounded(path, MAX_RAW_ARTIFACT_BYTES, None)
                            .map_err(unreadable)?;
                        let read: [u8; 32] = Sha256::digest(&bytes).into();
                        unchanged(path, read == sha256)?;
                        verifier
                            .verify(SigArtifact::from(bytes.as_slice()), bundle, policy)
                            .map_err(failed)
                    }
                    Err(e) => Err(failed(e)),
                }
            }
        }
    }
}

/// Refuses an artifact whose content changed between its hashing and its
/// verification.
fn unchanged(path: &Path, same: bool) -> Result<(), Error> {
    if same {
        return Ok(());
    }
    Err(Error::Verification {
        reason: format!(
            "artifact {} changed while it was verified; verify it again",
            path.display()
        ),
    })
}

/// Hashes what passes through it with SHA-256, and notes the end of file.
struct HashingReader<R> {
    inner: R,
    sha256: Sha256,
    eof: bool,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.eof = !buf.is_empty();
        }
        self.sha256.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}
