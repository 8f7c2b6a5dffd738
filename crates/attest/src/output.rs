//! The one writer of files toto produces (links, layouts, bundles,
//! inspections' links): a temporary beside the destination, created new
//! (`O_CREAT|O_EXCL`: never a file or link planted at its name), written,
//! synced, then renamed over the destination, so no partial file is left.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The directory of `path` and the temporary [`write_atomic`] writes there
/// before renaming it to `path` (`None` when `path` names no file).
pub fn temporary(path: &Path) -> Option<(PathBuf, PathBuf)> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name()?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    Some((dir, tmp))
}

/// Writes `bytes` to `path` atomically with permissions `mode` (Unix;
/// default 0644); the temporary is removed when anything fails.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let (_, tmp) = temporary(path).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a file path", path.display()),
        )
    })?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode.unwrap_or(0o644));
    #[cfg(not(unix))]
    let _ = mode;
    let written = options
        .open(&tmp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_temporary_is_not_written_through() {
        let dir = std::env::temp_dir().join(format!("toto-output-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.link");
        write_atomic(&path, b"one", None).unwrap();
        write_atomic(&path, b"two", None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let (_, tmp) = temporary(&path).unwrap();
        std::fs::write(&tmp, b"planted").unwrap();
        assert!(write_atomic(&path, b"three", None).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
