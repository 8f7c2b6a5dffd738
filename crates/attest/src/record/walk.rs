//! Walking the given paths: normalized names, exclusions applied to the
//! paths, the directories walked (pruning them) and the files; symbolic
//! links followed or not; broken links, special files and loops skipped
//! with a [`Warning`].

use std::fs;
use std::path::{Path, PathBuf};

use super::{normpath, Observer, RecordError, Warning};
use crate::pattern::Excludes;

pub(super) struct Walker<'a> {
    pub(super) base: &'a Path,
    pub(super) excludes: Excludes,
    pub(super) follow: bool,
    pub(super) limit: usize,
    pub(super) files: Vec<(String, PathBuf, u64)>,
    pub(super) warnings: Vec<Warning>,
    pub(super) observer: Option<&'a dyn Observer>,
}

pub(super) fn utf8_name(path: &Path) -> Result<&str, RecordError> {
    path.to_str().ok_or_else(|| RecordError::NonUtf8 {
        path: PathBuf::from(path.to_string_lossy().into_owned()),
    })
}

impl Walker<'_> {
    fn push_file(&mut self, name: String, path: PathBuf, size: u64) -> Result<(), RecordError> {
        if self.files.len() >= self.limit {
            return Err(RecordError::TooMany { limit: self.limit });
        }
        self.files.push((name, path, size));
        if let Some(observer) = self.observer {
            observer.found(self.files.len());
        }
        Ok(())
    }

    /// Whether `name` is excluded (telling the observer when it is).
    pub(super) fn excluded(&self, name: &str) -> bool {
        let excluded = self.excludes.excluded(name);
        if excluded {
            if let Some(observer) = self.observer {
                observer.excluded(name);
            }
        }
        excluded
    }

    /// Records `name` (normalized, relative to base).
    pub(super) fn visit(
        &mut self,
        name: &str,
        ancestors: &mut Vec<(u64, u64)>,
    ) -> Result<(), RecordError> {
        let path = self.base.join(name);
        // One `lstat` answers for everything but a symbolic link, which
        // takes a `stat` of its target.
        let own = fs::symlink_metadata(&path);
        let is_link = own.as_ref().is_ok_and(|m| m.file_type().is_symlink());
        // Following off: a link met while walking is not followed, to a
        // file or to a directory; a path given explicitly is.
        if is_link && !self.follow && !ancestors.is_empty() {
            self.warnings.push(Warning::NotFollowed(path));
            return Ok(());
        }
        let meta = match if is_link { fs::metadata(&path) } else { own } {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if fs::symlink_metadata(&path).is_ok() {
                    self.warnings.push(Warning::BrokenSymlink(path));
                } else {
                    self.warnings.push(Warning::Missing(path));
                }
                return Ok(());
            }
            Err(source) => return Err(RecordError::Io { path, source }),
        };
        if meta.is_file() {
            // A link given explicitly with following off: hashed as its
            // target now (files are then opened without following links).
            let path = if is_link && !self.follow {
                fs::canonicalize(&path).map_err(|source| RecordError::Io { path, source })?
            } else {
                path
            };
            return self.push_file(name.to_owned(), path, meta.len());
        }
        if !meta.is_dir() {
            self.warnings.push(Warning::NotRegular(path));
            return Ok(());
        }
        let id = dir_id(&meta);
        if ancestors.contains(&id) {
            self.warnings.push(Warning::SymlinkLoop(path));
            return Ok(());
        }
        let mut entries = Vec::new();
        let reader = fs::read_dir(&path).map_err(|source| RecordError::Io {
            path: path.clone(),
            source,
        })?;
        for entry in reader {
            let entry = entry.map_err(|source| RecordError::Io {
                path: path.clone(),
                source,
            })?;
            let file_name = entry.file_name();
            let file_name = file_name
                .to_str()
                .ok_or_else(|| RecordError::NonUtf8 { path: entry.path() })?;
            entries.push(normpath(&format!("{name}/{file_name}")));
        }
        entries.sort();
        ancestors.push(id);
        for child in entries {
            if self.excluded(&child) {
                continue;
            }
            self.visit(&child, ancestors)?;
        }
        ancestors.pop();
        Ok(())
    }
}

#[cfg(unix)]
fn dir_id(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn dir_id(_meta: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}
