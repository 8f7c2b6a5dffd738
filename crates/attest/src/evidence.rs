//! The evidence of a supply chain in a directory: link files
//! `<step>.<keyid8>.link` read through the bounded reader ([`dsse::file`]),
//! sublayouts' links in subdirectories, inspections run in the current
//! directory through [`crate::step`]. [`LinkDirectory`] is the
//! [`Evidence`] that `toto verify` checks a layout against.
//!
//! `attest` knows no Sigstore: the verifier of keyless functionaries'
//! bundles is given by the caller ([`LinkDirectory::keyless`]).
//!
//! Verifying the in-toto demo (a layout signed by Alice, its links in the
//! current directory, an inspection that unpacks the delivered tarball):
//!
//! ```
//! use attest::evidence::LinkDirectory;
//! use attest::verify::{verify_layout, Options};
//! use attest::SignedDocument;
//! # let scratch = std::env::temp_dir().join(format!("toto-doc-evidence-{}", std::process::id()));
//! # std::fs::create_dir_all(&scratch)?;
//! # for entry in std::fs::read_dir(testkit::vector("demo_metablock_good"))? {
//! #     let entry = entry?;
//! #     std::fs::copy(entry.path(), scratch.join(entry.file_name()))?;
//! # }
//! # std::env::set_current_dir(&scratch)?;
//!
//! let limits = dsse::Limits::default();
//! let read = |path| dsse::file::read_bounded(std::path::Path::new(path), 1 << 20, None);
//! let layout = SignedDocument::from_json(&read("root.layout")?, &limits)?;
//! let owner = dsse::PublicKey::from_pem(&read("alice.pub")?, None)?;
//! let evidence = LinkDirectory::new(".", limits); // inspections run here too
//! let now = 1_767_225_600; // 2026-01-01T00:00:00Z: time is a parameter
//! let options = Options {
//!     now,
//!     run_inspections: true,
//!     limits,
//!     keyless_layout: false,
//!     require_success: false,
//!     intermediate_certs: Vec::new(),
//! };
//! let report = verify_layout(&layout, &[owner], &evidence, &options)?;
//! match &report.failure {
//!     None => println!("verified"),
//!     Some(failure) => println!("verification failed: {failure}"),
//! }
//! assert!(report.verified);
//! # std::fs::remove_dir_all(&scratch)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;
use crate::layout::{Inspection, StepName};
use crate::link::{Encoding, Link};
use crate::record::RecordOptions;
use crate::signed::SignedDocument;
use crate::step::{self, Artifacts, Step, StepObserver};
use crate::verified::FunctionaryVerifier;
use crate::verify::Evidence;

/// Told what reading the evidence does (progress and logs live in the
/// caller). Every method has an empty default; `()` observes nothing.
pub trait EvidenceObserver {
    /// Link file `file_name` was read at `location`
    /// ([`Evidence::describe`]): its `bytes`, exactly those verified (a
    /// verification summary digests them).
    fn loaded(&self, file_name: &str, location: &str, bytes: &[u8]) {
        let _ = (file_name, location, bytes);
    }
    /// Runs inspection `name`: calls `run` with the observer of the step
    /// (and may, say, hide a progress bar meanwhile).
    fn inspect(
        &self,
        name: &StepName,
        run: &mut dyn FnMut(&dyn StepObserver) -> Result<Step, Error>,
    ) -> Result<Step, Error> {
        let _ = name;
        run(&())
    }
}

impl EvidenceObserver for () {}

/// Link files in a directory, sublayouts in its subdirectories; inspections
/// run in the current directory, and each one's unsigned link is kept there
/// as `<inspection>.link`, as the reference does.
#[derive(Clone, Copy)]
pub struct LinkDirectory<'a> {
    dir: &'a Path,
    limits: dsse::Limits,
    limit_hint: Option<&'static str>,
    inspection_timeout: Option<Duration>,
    inspection_env_removed: &'a [&'a str],
    keyless: Option<&'a dyn FunctionaryVerifier>,
    observer: &'a dyn EvidenceObserver,
}

impl std::fmt::Debug for LinkDirectory<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkDirectory")
            .field("dir", &self.path())
            .field("inspection_timeout", &self.inspection_timeout)
            .finish_non_exhaustive()
    }
}

impl<'a> LinkDirectory<'a> {
    /// The evidence in `dir`, link files read up to `limits.max_envelope_bytes`;
    /// inspections without a time limit; no keyless verifier.
    pub fn new(dir: &'a (impl AsRef<Path> + ?Sized), limits: dsse::Limits) -> LinkDirectory<'a> {
        LinkDirectory {
            dir: dir.as_ref(),
            limits,
            limit_hint: None,
            inspection_timeout: None,
            inspection_env_removed: &[],
            keyless: None,
            observer: &(),
        }
    }

    /// Names `flag` in "over the limit" errors (the option that raises it).
    pub fn limit_hint(mut self, flag: &'static str) -> Self {
        self.limit_hint = Some(flag);
        self
    }

    /// Inspections are killed after `timeout` (`None`: no limit).
    pub fn inspection_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.inspection_timeout = timeout;
        self
    }

    /// These environment variables are taken out of inspections'
    /// environment (the verifier's credentials).
    pub fn inspection_env_removed(mut self, names: &'a [&'a str]) -> Self {
        self.inspection_env_removed = names;
        self
    }

    /// Keyless functionaries' bundles are verified by `verifier`.
    pub fn keyless(mut self, verifier: &'a dyn FunctionaryVerifier) -> Self {
        self.keyless = Some(verifier);
        self
    }

    /// Reports loading and inspections to `observer`.
    pub fn observer(mut self, observer: &'a dyn EvidenceObserver) -> Self {
        self.observer = observer;
        self
    }

    /// The directory read from.
    fn path(&self) -> &Path {
        self.dir
    }
}

/// Sublayout evidence: a [`LinkDirectory`] one directory down (owning its
/// path, which the borrowed form cannot).
struct Subdirectory<'a> {
    dir: PathBuf,
    parent: LinkDirectory<'a>,
}

impl Subdirectory<'_> {
    fn view(&self) -> LinkDirectory<'_> {
        LinkDirectory {
            dir: &self.dir,
            ..self.parent
        }
    }
}

impl Evidence for Subdirectory<'_> {
    fn read_link(&self, file_name: &str) -> Result<Option<Vec<u8>>, Error> {
        self.view().read_link(file_name)
    }
    fn subdirectory(&self, dir_name: &str) -> Box<dyn Evidence + '_> {
        Box::new(Subdirectory {
            dir: self.dir.join(dir_name),
            parent: self.parent,
        })
    }
    fn run_inspection(&self, inspection: &Inspection) -> Result<Link, Error> {
        self.view().run_inspection(inspection)
    }
    fn describe(&self, file_name: &str) -> String {
        self.view().describe(file_name)
    }
    fn file_names(&self, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<String>, Error> {
        self.view().file_names(wanted)
    }
    fn location(&self) -> String {
        self.view().location()
    }
    fn keyless_verifier(&self) -> Result<&dyn FunctionaryVerifier, Error> {
        no_keyless(self.parent.keyless)
    }
}

fn no_keyless(
    verifier: Option<&dyn FunctionaryVerifier>,
) -> Result<&dyn FunctionaryVerifier, Error> {
    verifier.ok_or_else(|| Error::Malformed {
        what: "evidence",
        reason: "keyless functionaries need a Sigstore verifier".into(),
    })
}

impl Evidence for LinkDirectory<'_> {
    fn read_link(&self, file_name: &str) -> Result<Option<Vec<u8>>, Error> {
        let path = self.path().join(file_name);
        let bytes = match dsse::file::read_bounded(
            &path,
            self.limits.max_envelope_bytes,
            self.limit_hint,
        ) {
            Err(dsse::Error::File { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(None)
            }
            read => read?,
        };
        self.observer
            .loaded(file_name, &self.describe(file_name), &bytes);
        Ok(Some(bytes))
    }

    fn subdirectory(&self, dir_name: &str) -> Box<dyn Evidence + '_> {
        Box::new(Subdirectory {
            dir: self.path().join(dir_name),
            parent: *self,
        })
    }

    fn run_inspection(&self, inspection: &Inspection) -> Result<Link, Error> {
        let here = [PathBuf::from(".")];
        let options = RecordOptions::default();
        let mut run = |observer: &dyn StepObserver| {
            let mut request = step::Request::new(&inspection.name, &options);
            request.command = Some(&inspection.run);
            request.materials = &here;
            request.products = &here;
            request.timeout = self.inspection_timeout;
            request.remove_env = self.inspection_env_removed;
            request.record_streams = true;
            request.observer = observer;
            step::run(&request)
        };
        let link = self
            .observer
            .inspect(&inspection.name, &mut run)
            .map_err(|e| match e {
                Error::Record { what, source } => Error::Malformed {
                    what: match what {
                        Artifacts::Materials => "inspection materials",
                        Artifacts::Products => "inspection products",
                    },
                    reason: source.to_string(),
                },
                other => other,
            })?
            .link;
        // Like the reference, keep the inspection's (unsigned) link beside
        // the evidence; a failure to write it does not change the verdict.
        if let Ok(document) = SignedDocument::new(link.to_classic(), Encoding::Metablock) {
            let _ = crate::output::write_atomic(
                Path::new(&format!("{}.link", inspection.name)),
                &document.to_json(),
                None,
            );
        }
        Ok(link)
    }

    fn keyless_verifier(&self) -> Result<&dyn FunctionaryVerifier, Error> {
        no_keyless(self.keyless)
    }

    fn file_names(&self, wanted: &dyn Fn(&str) -> bool) -> Result<Vec<String>, Error> {
        let failed = |source| Error::Io {
            path: self.path().to_path_buf(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(self.path()).map_err(failed)? {
            // Names that are not UTF-8 cannot be link files.
            if let Ok(name) = entry.map_err(failed)?.file_name().into_string() {
                if wanted(&name) {
                    names.push(name);
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn location(&self) -> String {
        self.path().display().to_string()
    }

    fn describe(&self, file_name: &str) -> String {
        let dir = self.path();
        if dir == Path::new(".") {
            file_name.to_owned()
        } else {
            dir.join(file_name).display().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A fresh directory for one test.
    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("toto-evidence-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[derive(Default)]
    struct Loaded(RefCell<Vec<(String, String, usize)>>);

    impl EvidenceObserver for Loaded {
        fn loaded(&self, file_name: &str, location: &str, bytes: &[u8]) {
            self.0
                .borrow_mut()
                .push((file_name.to_owned(), location.to_owned(), bytes.len()));
        }
    }

    #[test]
    fn a_missing_link_file_is_no_evidence_not_an_error() {
        let dir = scratch("missing");
        let evidence = LinkDirectory::new(&dir, dsse::Limits::default());
        assert_eq!(evidence.read_link("build.01234567.link").unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sublayout_links_are_read_from_their_subdirectory_and_reported_there() {
        let dir = scratch("sublayout");
        std::fs::create_dir(dir.join("package.01234567")).unwrap();
        std::fs::write(dir.join("package.01234567/sub.link"), b"{}").unwrap();
        let loaded = Loaded::default();
        let evidence = LinkDirectory::new(&dir, dsse::Limits::default()).observer(&loaded);
        let sub = evidence.subdirectory("package.01234567");
        assert_eq!(sub.read_link("sub.link").unwrap(), Some(b"{}".to_vec()));
        assert_eq!(evidence.read_link("sub.link").unwrap(), None);
        let location = dir.join("package.01234567/sub.link").display().to_string();
        assert_eq!(sub.describe("sub.link"), location);
        assert_eq!(*loaded.0.borrow(), [("sub.link".to_owned(), location, 2)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_oversized_link_file_is_refused_naming_the_flag_that_raises_the_limit() {
        let dir = scratch("oversized");
        std::fs::write(dir.join("big.link"), vec![b' '; 100]).unwrap();
        let limits = dsse::Limits {
            max_envelope_bytes: 10,
            ..dsse::Limits::default()
        };
        let evidence = LinkDirectory::new(&dir, limits).limit_hint("--max-document-mib");
        let error = evidence.read_link("big.link").unwrap_err().to_string();
        assert!(error.contains("--max-document-mib"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_planted_as_a_link_file_is_refused_without_hanging() {
        let dir = scratch("fifo");
        let fifo = dir.join("build.01234567.link");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let evidence = LinkDirectory::new(&dir, dsse::Limits::default());
        let error = evidence.read_link("build.01234567.link").unwrap_err();
        assert!(matches!(error, Error::Dsse(_)), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn keyless_functionaries_need_the_verifier_the_caller_gives() {
        let evidence = LinkDirectory::new(".", dsse::Limits::default());
        let error = evidence.keyless_verifier().err().unwrap().to_string();
        assert_eq!(
            error,
            "malformed evidence: keyless functionaries need a Sigstore verifier"
        );
        assert!(evidence.subdirectory("sub").keyless_verifier().is_err());
    }
}
