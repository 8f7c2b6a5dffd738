//! Hashing files: streamed through the hashers with a fixed buffer, opened
//! through [`dsse::file::open_regular`], on a pool of threads.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256, Sha384, Sha512};

use super::{HashAlgorithm, RecordError, RecordOptions, Warning};
use crate::digest::DigestSet;

/// Hashes one file with every algorithm, streaming it through `buf`;
/// returns the digests and the number of bytes read.
/// The file is opened through [`dsse::file::open_regular`]: non-blocking,
/// its type checked on the open handle, so a file swapped for a FIFO or a
/// device after the walk is refused here instead of hanging or reading
/// forever.
fn hash_with(
    path: &Path,
    algorithms: &[HashAlgorithm],
    buf: &mut [u8],
    follow: bool,
) -> Result<(DigestSet, u64), dsse::Error> {
    let mut file = if follow {
        dsse::file::open_regular(path)?
    } else {
        dsse::file::open_regular_no_follow(path)?
    };
    let failed = |source| dsse::Error::File {
        path: path.to_path_buf(),
        source,
    };
    let mut s256 = algorithms
        .contains(&HashAlgorithm::Sha256)
        .then(Sha256::new);
    let mut s384 = algorithms
        .contains(&HashAlgorithm::Sha384)
        .then(Sha384::new);
    let mut s512 = algorithms
        .contains(&HashAlgorithm::Sha512)
        .then(Sha512::new);
    let mut read: u64 = 0;
    loop {
        let n = file.read(buf).map_err(failed)?;
        if n == 0 {
            break;
        }
        read = read.saturating_add(n as u64);
        let chunk = buf.get(..n).unwrap_or_default();
        if let Some(h) = s256.as_mut() {
            h.update(chunk);
        }
        if let Some(h) = s384.as_mut() {
            h.update(chunk);
        }
        if let Some(h) = s512.as_mut() {
            h.update(chunk);
        }
    }
    let mut map = BTreeMap::new();
    if let Some(h) = s256 {
        map.insert("sha256".to_owned(), hex::encode(h.finalize()));
    }
    if let Some(h) = s384 {
        map.insert("sha384".to_owned(), hex::encode(h.finalize()));
    }
    if let Some(h) = s512 {
        map.insert("sha512".to_owned(), hex::encode(h.finalize()));
    }
    DigestSet::new(map)
        .map(|d| (d, read))
        .map_err(|e| failed(std::io::Error::other(e.to_string())))
}

/// Hashes one file (SHA-256 unless `algorithms` says otherwise).
pub fn hash_file(path: &Path, algorithms: &[HashAlgorithm]) -> Result<DigestSet, RecordError> {
    if algorithms.is_empty() {
        return Err(RecordError::NoAlgorithm);
    }
    let mut buf = vec![0u8; 256 << 10];
    hash_with(path, algorithms, &mut buf, true)
        .map(|(d, _)| d)
        .map_err(RecordError::from)
}

/// What hashing one file gave: its digests, or why it was skipped; or the
/// read error that stops recording.
pub(super) type Hashed = Result<Result<DigestSet, Warning>, RecordError>;

/// Hashes every job on a pool of threads, in job order; a [`Warning`] for a
/// file that vanished, or that is no longer a regular file (it is skipped,
/// as the walk skips FIFOs, sockets and devices). The first read error stops
/// the others. `None` where a hashing thread failed ([`settle`] it).
pub(super) fn hash_all(
    jobs: &[(String, PathBuf, u64)],
    options: &RecordOptions,
) -> Vec<Option<Hashed>> {
    let failed = AtomicBool::new(false);
    crate::parallel::map(
        jobs,
        options.threads,
        || vec![0u8; 256 << 10],
        |buf, (name, path, _)| {
            if failed.load(Ordering::Relaxed) {
                return Ok(Err(Warning::Vanished(path.clone())));
            }
            match hash_with(path, &options.algorithms, buf, options.follow_symlinks) {
                Ok((d, read)) => {
                    if let Some(observer) = &options.observer {
                        observer.hashed(name, read);
                    }
                    Ok(Ok(d))
                }
                Err(dsse::Error::File { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Ok(Err(Warning::Vanished(path.clone())))
                }
                Err(dsse::Error::NotRegularFile {
                    kind: dsse::file::FileKind::Symlink,
                    ..
                }) => Ok(Err(Warning::NotFollowed(path.clone()))),
                Err(dsse::Error::NotRegularFile { .. }) => {
                    Ok(Err(Warning::NotRegular(path.clone())))
                }
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    Err(RecordError::from(e))
                }
            }
        },
    )
}

/// The result of hashing `path`, `None` when its thread failed.
pub(super) fn settle(result: Option<Hashed>, path: &Path) -> Hashed {
    result.unwrap_or_else(|| {
        Err(RecordError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other("the hashing thread failed"),
        })
    })
}
