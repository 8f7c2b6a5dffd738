//! Recording artifacts: the one module of `attest` that reads the file
//! system. It reproduces in-toto 3.1's `record_artifacts_as_dict`:
//!
//! - every given path is normalized like `os.path.normpath` (so `./a` is
//!   `a` and `../tree/x` stays as it is) and recorded with `/` separators;
//! - directories are walked recursively, following symbolic links to files
//!   and directories (unless [`RecordOptions::follow_symlinks`] is off); broken links, FIFOs, sockets and devices are skipped,
//!   with a [`Warning`] — also when a file is swapped for one between the
//!   walk and the hash: files are opened non-blocking and their type is
//!   checked on the open handle ([`dsse::file::open_regular`]), so recording
//!   neither hangs on a FIFO nor reads a device without end;
//! - exclude patterns have gitignore (`gitwildmatch`) semantics and apply to
//!   the given paths, the directories walked (pruning them) and the files;
//!   the defaults are `*.link*`, `.git`, `*.pyc`, `*~`;
//! - `lstrip_paths` removes the first matching prefix from each name; two
//!   artifacts ending up with one name is an error;
//! - paths that do not exist are skipped, with a [`Warning`] (the reference
//!   is silent).
//!
//! Files are streamed through the hashers with a fixed buffer (memory does
//! not grow with file size) and hashed on all cores. An [`Observer`] in the
//! options is told what happens as it happens (for progress bars and
//! verbose logs); `attest` itself never prints.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use crate::digest::ArtifactMap;
use crate::pattern::Excludes;

mod hash;
mod walk;

use hash::hash_all;
pub use hash::hash_file;
use walk::{utf8_name, Walker};

/// The reference's default exclude patterns.
pub const DEFAULT_EXCLUDES: [&str; 4] = ["*.link*", ".git", "*.pyc", "*~"];

/// Digest algorithms toto can record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256 (the default).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The name used in digest sets.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        }
    }
}

impl FromStr for HashAlgorithm {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim() {
            "sha256" => Ok(HashAlgorithm::Sha256),
            "sha384" => Ok(HashAlgorithm::Sha384),
            "sha512" => Ok(HashAlgorithm::Sha512),
            _ => Err(()),
        }
    }
}

/// Told what recording does while it does it: progress bars and verbose
/// logs in the caller, no terminal code here. Every method has an empty
/// default. [`Observer::hashed`] is called from the hashing threads, in no
/// particular order.
pub trait Observer: Send + Sync + fmt::Debug {
    /// Walking the given paths is about to start.
    fn walking(&self) {}
    /// Walking has found `files` files so far.
    fn found(&self, files: usize) {
        let _ = files;
    }
    /// `name` (a directory or file) matched an exclude pattern: not recorded
    /// and, for a directory, not descended.
    fn excluded(&self, name: &str) {
        let _ = name;
    }
    /// Walking is done: `files` files of `bytes` bytes in total (as their
    /// metadata said) will now be hashed.
    fn walked(&self, files: usize, bytes: u64) {
        let _ = (files, bytes);
    }
    /// `name` was hashed; `bytes` were read from it.
    fn hashed(&self, name: &str, bytes: u64) {
        let _ = (name, bytes);
    }
}

/// How to record.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Resolve paths relative to this directory (names stay relative).
    pub base_path: Option<PathBuf>,
    /// Prefixes to strip from names; the first that matches is removed.
    pub lstrip_paths: Vec<String>,
    /// Exclude patterns; `None` means [`DEFAULT_EXCLUDES`].
    pub exclude: Option<Vec<String>>,
    /// Follow symbolic links met while walking, to files and directories
    /// (the default, as the reference's `in-toto-run` does). When off, they
    /// are skipped with [`Warning::NotFollowed`] and files are opened
    /// without following a link (one swapped in after the walk is skipped
    /// too); the paths given are still followed.
    pub follow_symlinks: bool,
    /// Digest algorithms (at least one).
    pub algorithms: Vec<HashAlgorithm>,
    /// Most artifacts recorded before giving up.
    pub max_artifacts: usize,
    /// Hashing threads (0: one per core).
    pub threads: usize,
    /// Told about progress (none by default).
    pub observer: Option<Arc<dyn Observer>>,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            base_path: None,
            lstrip_paths: Vec::new(),
            exclude: None,
            follow_symlinks: true,
            algorithms: vec![HashAlgorithm::Sha256],
            max_artifacts: crate::link::MAX_ARTIFACTS,
            threads: 0,
            observer: None,
        }
    }
}

/// Something skipped while recording.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// The path does not exist.
    Missing(PathBuf),
    /// A symbolic link whose target does not exist.
    BrokenSymlink(PathBuf),
    /// A FIFO, socket or device.
    NotRegular(PathBuf),
    /// A directory reached again through a symbolic link.
    SymlinkLoop(PathBuf),
    /// A file that disappeared before it could be hashed.
    Vanished(PathBuf),
    /// A symbolic link met while following links is off.
    NotFollowed(PathBuf),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, what) = match self {
            Warning::Missing(p) => (p, "does not exist; not recorded"),
            Warning::BrokenSymlink(p) => (p, "is a broken symbolic link; not recorded"),
            Warning::NotRegular(p) => (
                p,
                "is not a regular file (FIFO, socket or device); not recorded",
            ),
            Warning::SymlinkLoop(p) => (p, "loops back to a parent directory; not descended"),
            Warning::Vanished(p) => (p, "disappeared while recording; not recorded"),
            Warning::NotFollowed(p) => (
                p,
                "is a symbolic link and following links is off; not recorded",
            ),
        };
        write!(f, "{} {what}", path.display())
    }
}

/// Why recording failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file name is not UTF-8, so it cannot be named in a link.
    #[error("file name is not UTF-8: {path}")]
    NonUtf8 {
        /// The path, lossily shown.
        path: PathBuf,
    },
    /// Two artifacts have the same name after `lstrip_paths`.
    #[error("prefix selection has resulted in non unique dictionary key {key:?}")]
    PrefixCollision {
        /// The name.
        key: String,
    },
    /// More artifacts than allowed.
    #[error("more than {limit} artifacts; record a narrower set of paths")]
    TooMany {
        /// The limit.
        limit: usize,
    },
    /// One `lstrip_paths` prefix starts another: which applies would be ambiguous.
    #[error("lstrip prefixes {first:?} and {second:?} overlap (one starts the other)")]
    OverlappingPrefixes {
        /// One prefix.
        first: String,
        /// The other.
        second: String,
    },
    /// No digest algorithm was given.
    #[error("no digest algorithm given")]
    NoAlgorithm,
    /// A file to hash is not a regular file, or could not be read
    /// ([`dsse::file`]).
    #[error(transparent)]
    Read(dsse::Error),
}

impl From<dsse::Error> for RecordError {
    fn from(error: dsse::Error) -> RecordError {
        match error {
            dsse::Error::File { path, source } => RecordError::Io { path, source },
            other => RecordError::Read(other),
        }
    }
}

/// The recorded artifacts and what was skipped.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// Name → digests.
    pub artifacts: ArtifactMap,
    /// Skipped paths.
    pub warnings: Vec<Warning>,
}

/// `os.path.normpath` on a `/`-separated string.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Records `paths` as the reference does (see the module docs).
pub fn record_artifacts<P: AsRef<Path>>(
    paths: &[P],
    options: &RecordOptions,
) -> Result<Recorded, RecordError> {
    if options.algorithms.is_empty() {
        return Err(RecordError::NoAlgorithm);
    }
    for (i, first) in options.lstrip_paths.iter().enumerate() {
        for second in options.lstrip_paths.iter().skip(i + 1) {
            if first.starts_with(second.as_str()) || second.starts_with(first.as_str()) {
                return Err(RecordError::OverlappingPrefixes {
                    first: first.clone(),
                    second: second.clone(),
                });
            }
        }
    }
    let default_excludes: Vec<String> = DEFAULT_EXCLUDES.iter().map(|s| (*s).to_owned()).collect();
    let base = options
        .base_path
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let mut walker = Walker {
        base: &base,
        excludes: Excludes::new(options.exclude.as_ref().unwrap_or(&default_excludes)),
        follow: options.follow_symlinks,
        limit: options.max_artifacts,
        files: Vec::new(),
        warnings: Vec::new(),
        observer: options.observer.as_deref(),
    };
    if let Some(observer) = walker.observer {
        observer.walking();
    }
    for path in paths {
        let name = normpath(&utf8_name(path.as_ref())?.replace('\\', "/"));
        if walker.excluded(&name) {
            continue;
        }
        walker.visit(&name, &mut Vec::new())?;
    }
    let Walker {
        files,
        mut warnings,
        ..
    } = walker;
    // Names (after lstrip) must be unique: sorted (stably: the walk's
    // first of equal names stays), a name met again for the same file is
    // dropped, for another file it is an error. A sorted list, not a map:
    // no node per file.
    let mut jobs: Vec<(String, PathBuf, u64)> = files
        .into_iter()
        .map(|(name, path, size)| {
            let key = options
                .lstrip_paths
                .iter()
                .find_map(|prefix| name.strip_prefix(prefix.as_str()))
                .map(str::to_owned);
            (key.unwrap_or(name), path, size)
        })
        .collect();
    jobs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut collision = None;
    jobs.dedup_by(|later, first| {
        if later.0 != first.0 {
            return false;
        }
        if later.1 != first.1 && collision.is_none() {
            collision = Some(first.0.clone());
        }
        true
    });
    if let Some(key) = collision {
        return Err(RecordError::PrefixCollision { key });
    }
    jobs.shrink_to_fit();
    let bytes = jobs
        .iter()
        .fold(0u64, |total, (_, _, size)| total.saturating_add(*size));
    if let Some(observer) = &options.observer {
        observer.walked(jobs.len(), bytes);
    }
    let hashed = hash_all(&jobs, options);
    // Inserted in order into the map straight away: no second list of
    // every artifact beside it.
    let mut artifacts = ArtifactMap::new();
    for ((name, path, _), digest) in jobs.into_iter().zip(hashed) {
        match hash::settle(digest, &path)? {
            Ok(d) => {
                artifacts.insert(name, d);
            }
            Err(skipped) => warnings.push(skipped),
        }
    }
    Ok(Recorded {
        artifacts,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::sync::Mutex;

    #[test]
    fn normpath_like_python() {
        for (input, expected) in [
            ("", "."),
            (".", "."),
            ("./a", "a"),
            ("a//b/", "a/b"),
            ("a/./b/../c", "a/c"),
            ("../tree/src", "../tree/src"),
            ("../../x", "../../x"),
            ("/a/../..", "/"),
            ("a/..", "."),
        ] {
            assert_eq!(normpath(input), expected, "{input:?}");
        }
    }

    #[test]
    fn overlapping_lstrip_prefixes_are_refused() {
        let options = RecordOptions {
            lstrip_paths: vec!["src/".into(), "src/sub/".into()],
            ..RecordOptions::default()
        };
        let none: [&str; 0] = [];
        assert!(matches!(
            record_artifacts(&none, &options),
            Err(RecordError::OverlappingPrefixes { .. })
        ));
    }

    #[derive(Debug, Default)]
    struct Counting {
        excluded: Mutex<Vec<String>>,
        walked: Mutex<Option<(usize, u64)>>,
        hashed: Mutex<Vec<(String, u64)>>,
    }

    impl Observer for Counting {
        fn excluded(&self, name: &str) {
            self.excluded.lock().unwrap().push(name.to_owned());
        }
        fn walked(&self, files: usize, bytes: u64) {
            *self.walked.lock().unwrap() = Some((files, bytes));
        }
        fn hashed(&self, name: &str, bytes: u64) {
            self.hashed.lock().unwrap().push((name.to_owned(), bytes));
        }
    }

    #[test]
    fn the_observer_sees_exclusions_totals_and_every_hashed_file() {
        let dir = std::env::temp_dir().join(format!("toto-observer-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("src/.git")).unwrap();
        fs::write(dir.join("src/a.c"), b"12345").unwrap();
        fs::write(dir.join("src/b.c"), b"123").unwrap();
        fs::write(dir.join("src/c.pyc"), b"x").unwrap();
        fs::write(dir.join("src/.git/HEAD"), b"ref").unwrap();
        let observer = Arc::new(Counting::default());
        let options = RecordOptions {
            base_path: Some(dir.clone()),
            observer: Some(observer.clone()),
            threads: 2,
            ..RecordOptions::default()
        };
        let recorded = record_artifacts(&["src"], &options).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(recorded.artifacts.len(), 2);
        let mut excluded = observer.excluded.lock().unwrap().clone();
        excluded.sort();
        assert_eq!(excluded, ["src/.git", "src/c.pyc"]);
        assert_eq!(*observer.walked.lock().unwrap(), Some((2, 8)));
        let mut hashed = observer.hashed.lock().unwrap().clone();
        hashed.sort();
        assert_eq!(
            hashed,
            [("src/a.c".to_owned(), 5), ("src/b.c".to_owned(), 3)]
        );
    }

    /// Replaces a file with what `make` puts there once the walk is done,
    /// before it is hashed.
    #[derive(Debug)]
    struct Swap(PathBuf, fn(&Path));

    impl Observer for Swap {
        fn walked(&self, _files: usize, _bytes: u64) {
            fs::remove_file(&self.0).unwrap();
            (self.1)(&self.0);
        }
    }

    fn mkfifo(path: &Path) {
        let made = std::process::Command::new("mkfifo").arg(path).status();
        assert!(made.unwrap().success(), "mkfifo {}", path.display());
    }

    /// A fresh directory holding `files` (name, contents).
    fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("toto-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for (file, text) in files {
            let path = dir.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    /// Records `paths` in `dir` on another thread, failing after 20 s
    /// instead of hanging.
    fn record_within(dir: &Path, paths: &[&str], options: RecordOptions) -> Recorded {
        let options = RecordOptions {
            base_path: Some(dir.to_path_buf()),
            ..options
        };
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        let (done, outcome) = std::sync::mpsc::channel();
        std::thread::spawn(move || done.send(record_artifacts(&paths, &options)));
        outcome
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("recording hung")
            .unwrap()
    }

    fn names(recorded: &Recorded) -> Vec<&str> {
        recorded.artifacts.keys().map(String::as_str).collect()
    }

    #[cfg(unix)]
    #[test]
    fn a_file_swapped_for_a_fifo_after_the_walk_is_skipped_not_waited_on() {
        let dir = tree("swap-fifo", &[("a.txt", "a"), ("b.txt", "b")]);
        let swap = Swap(dir.join("a.txt"), mkfifo);
        let recorded = record_within(
            &dir,
            &["."],
            RecordOptions {
                observer: Some(Arc::new(swap)),
                ..RecordOptions::default()
            },
        );
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names(&recorded), ["b.txt"]);
        assert_eq!(recorded.warnings, [Warning::NotRegular(dir.join("a.txt"))]);
    }

    #[cfg(unix)]
    #[test]
    fn following_off_skips_links_to_files_and_directories_met_while_walking() {
        let dir = tree(
            "no-follow",
            &[("real.txt", "real"), ("sub/inner.txt", "inner")],
        );
        std::os::unix::fs::symlink("real.txt", dir.join("link.txt")).unwrap();
        std::os::unix::fs::symlink("sub", dir.join("linkdir")).unwrap();
        let follow = |on| RecordOptions {
            follow_symlinks: on,
            ..RecordOptions::default()
        };
        let followed = record_within(&dir, &["."], follow(true));
        assert_eq!(
            names(&followed),
            ["link.txt", "linkdir/inner.txt", "real.txt", "sub/inner.txt"]
        );
        let not_followed = record_within(&dir, &["."], follow(false));
        assert_eq!(names(&not_followed), ["real.txt", "sub/inner.txt"]);
        assert_eq!(
            not_followed.warnings,
            [
                Warning::NotFollowed(dir.join("link.txt")),
                Warning::NotFollowed(dir.join("linkdir")),
            ]
        );
        // A link given explicitly is followed, as its target.
        let given = record_within(&dir, &["link.txt"], follow(false));
        assert_eq!(
            given.artifacts.get("link.txt"),
            followed.artifacts.get("real.txt")
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn following_off_skips_a_file_swapped_for_a_link_after_the_walk() {
        let dir = tree("swap-link", &[("a.txt", "a"), ("secret", "s")]);
        let swap = Swap(dir.join("a.txt"), |p| {
            std::os::unix::fs::symlink("secret", p).unwrap();
        });
        let recorded = record_within(
            &dir,
            &["a.txt"],
            RecordOptions {
                follow_symlinks: false,
                observer: Some(Arc::new(swap)),
                ..RecordOptions::default()
            },
        );
        fs::remove_dir_all(&dir).unwrap();
        assert!(recorded.artifacts.is_empty(), "{:?}", recorded.artifacts);
        assert_eq!(recorded.warnings, [Warning::NotFollowed(dir.join("a.txt"))]);
    }
}
