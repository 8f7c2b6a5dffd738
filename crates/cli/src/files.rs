//! Files the CLI reads and writes: documents under the document limit
//! (`--max-document-mib`), every read through the one bounded reader
//! (`dsse::file`), artifacts hashed streaming, and writes through the one
//! atomic writer (`attest::output`).

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// `--max-document-mib`, once set in `main`.
static MAX_DOCUMENT_BYTES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Raises (or lowers) the size limit of documents read (`--max-document-mib`).
pub fn set_max_document_bytes(bytes: usize) {
    let _ = MAX_DOCUMENT_BYTES.set(bytes);
}

/// The dsse limits every command reads with: the defaults, with the
/// document size from `--max-document-mib`.
pub fn limits() -> dsse::Limits {
    let mut limits = dsse::Limits::default();
    if let Some(&bytes) = MAX_DOCUMENT_BYTES.get() {
        limits.max_envelope_bytes = bytes;
        limits.max_payload_bytes = bytes / 4 * 3;
    }
    limits
}

/// The flag that raises the document limit, named in "over the limit"
/// messages.
pub const MAX_DOCUMENT_FLAG: &str = "--max-document-mib";

/// Reads a file of at most `limit` bytes through the one bounded reader
/// ([`dsse::file`]: regular files only, type checked on the open handle,
/// never more than `limit + 1` bytes), naming `what` and the path in errors.
pub fn read_limited(path: &Path, limit: usize, what: &str) -> Result<Vec<u8>> {
    dsse::file::read_bounded(path, limit, None).map_err(|e| read_error(e, what))
}

/// Reads a document (link, layout, envelope) under the document limit,
/// which `--max-document-mib` raises.
pub fn read_document(path: &Path, what: &str) -> Result<Vec<u8>> {
    dsse::file::read_bounded(path, limits().max_envelope_bytes, Some(MAX_DOCUMENT_FLAG))
        .map_err(|e| read_error(e, what))
}

/// One message for a failed read: "link x.link is a FIFO, not a regular
/// file", or "cannot read key k.pem" caused by the OS error.
pub fn read_error(error: dsse::Error, what: &str) -> anyhow::Error {
    match error {
        dsse::Error::File { path, source } => {
            anyhow::Error::new(source).context(format!("cannot read {what} {}", path.display()))
        }
        other => anyhow::anyhow!("{what} {other}"),
    }
}

/// Hashes the artifact at `path` streaming, with constant memory; it is
/// opened as the bounded reader opens files (a FIFO or a device is
/// refused, not read). Errors name `what` and the path.
pub fn hash_artifact(
    path: &Path,
    algorithms: &[attest::record::HashAlgorithm],
    what: &str,
) -> Result<attest::DigestSet> {
    use attest::record::RecordError;
    attest::record::hash_file(path, algorithms).map_err(|e| match e {
        RecordError::Read(e) => read_error(e, what),
        RecordError::Io { path, source } => read_error(dsse::Error::File { path, source }, what),
        other => anyhow::Error::new(other).context(format!("cannot hash {what}")),
    })
}

/// The SHA-256 of the artifact at `path`, hashed streaming
/// ([`hash_artifact`]).
pub fn sha256_file(path: &Path, what: &str) -> Result<[u8; 32]> {
    let digests = hash_artifact(path, &[attest::record::HashAlgorithm::Sha256], what)?;
    digests
        .get("sha256")
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .with_context(|| format!("cannot hash {what} {}", path.display()))
}

/// The directory of `path` and the temporary file [`write_atomic`] writes
/// there before renaming it to `path`.
fn atomic_temp(path: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    attest::output::temporary(path)
        .with_context(|| format!("{} is not a file path", path.display()))
}

/// Longest file name most file systems take (`NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// Checks now that [`write_atomic`] will be able to write `names` into
/// `dir` later: the directory exists and takes new files of these names
/// (and of their temporary names). For what must not start unless its
/// result can be written (a step, a Rekor entry).
pub fn check_writable(dir: &Path, names: &[String]) -> Result<()> {
    let meta = fs::metadata(dir)
        .with_context(|| format!("cannot use the link directory {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("the link directory {} is not a directory", dir.display());
    }
    for name in names {
        let (_, tmp) = atomic_temp(&dir.join(name))?;
        let longest = tmp.file_name().map_or(0, |n| n.len());
        if longest > NAME_MAX {
            bail!(
                "the link file name {name:?} is too long ({} bytes, {longest} while it is \
                 written; file systems take {NAME_MAX}): use a shorter step name",
                name.len()
            );
        }
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot write {name} in {}", dir.display()))?;
        fs::remove_file(&tmp)
            .with_context(|| format!("cannot remove {} after a test", tmp.display()))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically, through the one writer
/// ([`attest::output::write_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    attest::output::write_atomic(path, bytes, mode)
        .with_context(|| format!("cannot write {}", path.display()))
}
