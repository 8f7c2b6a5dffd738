//! The one way toto reads a file an attacker may have placed: links,
//! layouts, envelopes, bundles, keys, policies, trusted roots, TUF metadata,
//! and the artifacts it hashes.
//!
//! - The file is opened non-blocking (`O_NONBLOCK`, and `O_NOCTTY`), so a
//!   FIFO without a writer cannot hang the open and a terminal does not
//!   become the controlling one. Symbolic links are followed, except in the
//!   last component by [`open_regular_no_follow`].
//! - Its type is checked on the open handle (`fstat`), not on the path, so
//!   it cannot change between the check and the read: anything but a
//!   regular file (a FIFO, a device such as `/dev/zero`, a directory, a
//!   socket) is refused with [`Error::NotRegularFile`] before one byte is
//!   read.
//! - [`read_bounded`] reads at most `limit + 1` bytes and refuses a file
//!   over the limit with [`Error::FileTooLarge`], however large the file
//!   claims to be or grows while it is read.
//!
//! This is the only module of the crate that touches the file system; it
//! parses nothing.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::Error;

/// What a path turned out to be, when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A character device (`/dev/zero`, a terminal).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A Unix domain socket.
    Socket,
    /// A symbolic link, where links are not to be followed
    /// ([`open_regular_no_follow`]).
    Symlink,
    /// Something else that is not a regular file.
    Other,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "a directory",
            FileKind::Fifo => "a FIFO",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Socket => "a socket",
            FileKind::Symlink => "a symbolic link",
            FileKind::Other => "a special file",
        })
    }
}

impl FileKind {
    /// The kind of a file that is not regular; `None` for a regular file.
    fn of(file_type: std::fs::FileType) -> Option<FileKind> {
        if file_type.is_file() {
            return None;
        }
        if file_type.is_dir() {
            return Some(FileKind::Directory);
        }
        if file_type.is_symlink() {
            return Some(FileKind::Symlink);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if file_type.is_fifo() {
                return Some(FileKind::Fifo);
            }
            if file_type.is_char_device() {
                return Some(FileKind::CharDevice);
            }
            if file_type.is_block_device() {
                return Some(FileKind::BlockDevice);
            }
            if file_type.is_socket() {
                return Some(FileKind::Socket);
            }
        }
        Some(FileKind::Other)
    }
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::File {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens `path` for reading if it is a regular file (see the module docs).
///
/// # Errors
/// [`Error::NotRegularFile`] for anything else, [`Error::File`] when it
/// cannot be opened (its `source` keeps the OS error, e.g. `NotFound`).
pub fn open_regular(path: &Path) -> Result<File, Error> {
    open(path, true)
}

/// [`open_regular`], without following a symbolic link in the last
/// component of `path` (`O_NOFOLLOW`): a symbolic link there is
/// [`Error::NotRegularFile`] of kind [`FileKind::Symlink`].
///
/// # Errors
/// As [`open_regular`].
pub fn open_regular_no_follow(path: &Path) -> Result<File, Error> {
    open(path, false)
}

fn open(path: &Path, follow: bool) -> Result<File, Error> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let no_follow = if follow { 0 } else { libc::O_NOFOLLOW };
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | no_follow);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(source) => {
            // Say what the path is rather than echo the OS: a socket cannot
            // be opened (ENXIO), a symbolic link not followed is ELOOP.
            let meta = if follow {
                std::fs::metadata(path)
            } else {
                std::fs::symlink_metadata(path)
            };
            if let Some(kind) = meta.ok().and_then(|m| FileKind::of(m.file_type())) {
                return Err(not_regular(path, kind));
            }
            return Err(io_error(path, source));
        }
    };
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    match FileKind::of(meta.file_type()) {
        None => Ok(file),
        Some(kind) => Err(not_regular(path, kind)),
    }
}

fn not_regular(path: &Path, kind: FileKind) -> Error {
    Error::NotRegularFile {
        path: path.to_path_buf(),
        kind,
    }
}

/// Reads the regular file at `path`, of at most `limit` bytes.
///
/// `raise_with` names the setting that raises the limit (e.g. a
/// command-line flag) for the message of [`Error::FileTooLarge`].
///
/// # Errors
/// Those of [`open_regular`]; [`Error::FileTooLarge`] past the limit;
/// [`Error::File`] when reading fails.
pub fn read_bounded(
    path: &Path,
    limit: usize,
    raise_with: Option<&'static str>,
) -> Result<Vec<u8>, Error> {
    let file = open_regular(path)?;
    // Sized from the handle's length, a hint only: the file may change.
    let hint = file
        .metadata()
        .map_or(0, |m| m.len())
        .min(limit as u64)
        .saturating_add(1);
    let mut bytes = Vec::with_capacity(usize::try_from(hint).unwrap_or(limit));
    file.take((limit as u64).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    if bytes.len() > limit {
        return Err(Error::FileTooLarge {
            path: PathBuf::from(path),
            limit,
            raise_with,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dsse-file-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Asserts that `outcome` refused `path` as a `kind` ("a directory", …)
    /// and said so.
    fn refused_as<T: std::fmt::Debug>(
        outcome: Result<T, Error>,
        kind: FileKind,
        path: &Path,
        named: &str,
    ) {
        match outcome {
            Err(e @ Error::NotRegularFile { kind: k, .. }) if k == kind => assert_eq!(
                e.to_string(),
                format!("{} is {named}, not a regular file", path.display())
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_a_regular_file_up_to_its_limit() {
        let path = temp("ten", b"0123456789");
        assert_eq!(read_bounded(&path, 10, None).unwrap(), b"0123456789");
        match read_bounded(&path, 9, Some("--max")) {
            Err(e @ Error::FileTooLarge { limit: 9, .. }) => {
                assert_eq!(
                    e.to_string(),
                    format!(
                        "{} is over the limit of 9 bytes; raise it with --max",
                        path.display()
                    )
                );
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_directory_is_refused_as_a_directory() {
        let dir = std::env::temp_dir();
        let outcome = read_bounded(&dir, 10, None);
        refused_as(outcome, FileKind::Directory, &dir, "a directory");
    }

    #[cfg(unix)]
    #[test]
    fn dev_zero_is_refused_before_it_is_read() {
        match read_bounded(Path::new("/dev/zero"), 10, None) {
            Err(Error::NotRegularFile {
                kind: FileKind::CharDevice,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let path = temp("fifo", b"");
        std::fs::remove_file(&path).unwrap();
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        assert!(made.unwrap().success());
        let (done, outcome) = std::sync::mpsc::channel();
        let read = path.clone();
        std::thread::spawn(move || done.send(read_bounded(&read, 10, None).map(|_| ())));
        let outcome = outcome
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("read_bounded waited for a writer");
        refused_as(outcome, FileKind::Fifo, &path, "a FIFO");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_not_followed_when_asked_not_to() {
        let path = temp("target", b"x");
        let link = path.with_file_name("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(open_regular(&link).is_ok());
        assert!(open_regular_no_follow(&path).is_ok());
        let outcome = open_regular_no_follow(&link);
        refused_as(outcome, FileKind::Symlink, &link, "a symbolic link");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_missing_file_keeps_its_os_error() {
        match open_regular(Path::new("/nonexistent/dsse-file-test")) {
            Err(Error::File { source, .. }) => {
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("{other:?}"),
        }
    }
}
