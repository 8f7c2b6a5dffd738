//! What `toto record start` hands to `toto record stop`, kept where only
//! this user can write.
//!
//! The link directory is untrusted (SECURITY.md): anyone who can write
//! there could replace the unfinished link `record start` leaves in it
//! (with another step's name, forged materials, an old link the same key
//! signed), and `record stop` would sign it. So `record start` also writes
//! a state file into a private directory, `$XDG_STATE_HOME/toto/record`
//! (default `~/.local/state/toto/record`; both directories 0700, the file
//! 0600), naming the step, the link directory, the signer and the SHA-256
//! of the unfinished link exactly as written. `record stop` signs only
//! when all of them match: another signer, or an unfinished link that is
//! not byte for byte the one `record start` wrote, is refused with what
//! differs. A state file or directory that is a symbolic link, belongs to
//! another user, or is writable by group or others is refused too.
//!
//! The unfinished link stays in the link directory under the reference's
//! name (`.STEP.KEYID8.link-unfinished`) for scripts that look for it; an
//! unfinished link `in-toto-record start` wrote is not a recording toto
//! can finish.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use attest::{Link, SignedDocument};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Version of the state file format.
const VERSION: u32 = 1;

/// Who signs a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Signer {
    /// A key file, by its key id.
    Key {
        /// The whole key id.
        keyid: String,
    },
    /// A key in a GnuPG keyring, by the key id its signature names.
    Gpg {
        /// The signing (sub)key's fingerprint.
        keyid: String,
    },
    /// Sigstore, by the identity token's claims.
    Keyless {
        /// `iss`.
        issuer: String,
        /// `sub`.
        subject: String,
        /// `email`.
        email: Option<String>,
        /// `job_workflow_ref`.
        workflow: Option<String>,
    },
}

impl Signer {
    /// The identity an OIDC token signs as.
    pub fn keyless(token: &keyless::IdentityToken) -> Signer {
        Signer::Keyless {
            issuer: token.issuer.clone(),
            subject: token.subject.clone(),
            email: token.email.clone(),
            workflow: token.workflow.clone(),
        }
    }
}

impl fmt::Display for Signer {
    /// "with key ID", "with OpenPGP key ID", "as IDENTITY (issuer ISSUER)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signer::Key { keyid } => write!(f, "with key {keyid}"),
            Signer::Gpg { keyid } => write!(f, "with OpenPGP key {keyid}"),
            Signer::Keyless {
                issuer,
                subject,
                email,
                workflow,
            } => {
                let who = email.as_ref().or(workflow.as_ref()).unwrap_or(subject);
                write!(f, "as {who} (issuer {issuer})")
            }
        }
    }
}

/// What `record start` recorded, for `record stop`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Started {
    version: u32,
    /// The step name.
    pub step: String,
    /// The link directory, canonical (shown in messages).
    directory: String,
    /// Who signs.
    pub signer: Signer,
    /// File name of the unfinished link in the link directory.
    unfinished: String,
    /// SHA-256 of the unfinished link's bytes as written.
    sha256: String,
    /// Its payload: the link as started.
    link: Value,
    /// When (Unix seconds).
    started: i64,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Started {
    /// A recording of `step` into the (canonical) `directory`, signed by
    /// `signer`, whose unfinished link `unfinished` holds `bytes`.
    pub fn new(
        step: &str,
        directory: &Path,
        signer: Signer,
        unfinished: &str,
        bytes: &[u8],
        link: &Link,
    ) -> Started {
        Started {
            version: VERSION,
            step: step.to_owned(),
            directory: directory.to_string_lossy().into_owned(),
            signer,
            unfinished: unfinished.to_owned(),
            sha256: sha256_hex(bytes),
            link: link.to_classic(),
            started: crate::clock::unix_now(),
        }
    }

    /// The unfinished link's path in `directory`.
    pub fn unfinished_path(&self, directory: &Path) -> PathBuf {
        directory.join(&self.unfinished)
    }

    /// Checks that `bytes`, read from the unfinished link, are what `record
    /// start` wrote; if not, says what differs.
    pub fn check_unfinished(&self, bytes: &[u8]) -> std::result::Result<(), String> {
        if sha256_hex(bytes) == self.sha256 {
            return Ok(());
        }
        let limits = crate::files::limits();
        let found = SignedDocument::from_json(bytes, &limits)
            .and_then(|d| Link::from_payload(d.into_payload()));
        let expected = Link::from_payload(self.link.clone());
        Err(match (expected, found) {
            (_, Err(e)) => format!("it is no longer a link ({e})"),
            (Err(e), _) => format!("the recorded start is unreadable ({e})"),
            (Ok(expected), Ok(found)) => differences(&expected, &found),
        })
    }
}

/// What differs between two links, for a message.
fn differences(expected: &Link, found: &Link) -> String {
    let mut out = Vec::new();
    if found.name != expected.name {
        out.push(format!(
            "step name {:?} instead of {:?}",
            found.name, expected.name
        ));
    }
    let fields = [
        (found.command == expected.command, "command differs"),
        (found.materials == expected.materials, "materials differ"),
        (found.products == expected.products, "products differ"),
        (found.byproducts == expected.byproducts, "byproducts differ"),
        (
            found.environment == expected.environment,
            "environment differs",
        ),
    ];
    out.extend(
        fields
            .into_iter()
            .filter(|(same, _)| !same)
            .map(|(_, what)| what.to_owned()),
    );
    if out.is_empty() {
        out.push("its encoding or signatures differ".to_owned());
    }
    out.join(", ")
}

/// The private directory of record states.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
}

/// `$XDG_STATE_HOME`, else `$HOME/.local/state`.
fn state_home() -> Result<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(dir) = absolute("XDG_STATE_HOME") {
        return Ok(dir);
    }
    match absolute("HOME") {
        Some(home) => Ok(home.join(".local/state")),
        None => bail!(
            "toto record keeps its state in $XDG_STATE_HOME/toto or ~/.local/state/toto, \
             and neither XDG_STATE_HOME nor HOME is set to an absolute path"
        ),
    }
}

/// Refuses a state file or directory another user could have written.
#[cfg(unix)]
fn check_private(path: &Path, meta: &fs::Metadata) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let again = "remove it and run `toto record start` again";
    if meta.file_type().is_symlink() {
        bail!(
            "record state {} is a symbolic link: refusing it; {again}",
            path.display()
        );
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        bail!(
            "record state {} belongs to uid {}, not to you (uid {me}): refusing it; {again}",
            path.display(),
            meta.uid()
        );
    }
    if meta.mode() & 0o022 != 0 {
        bail!(
            "record state {} is writable by group or others (mode {:04o}): refusing it; {again}",
            path.display(),
            meta.mode() & 0o7777
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(path: &Path, meta: &fs::Metadata) -> Result<()> {
    if meta.file_type().is_symlink() {
        bail!(
            "record state {} is a symbolic link: refusing it",
            path.display()
        );
    }
    Ok(())
}

/// Creates `dir` (mode 0700) unless it exists, then checks it is private.
fn private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(e).with_context(|| format!("cannot create {}", dir.display()));
        }
    }
    let meta = fs::symlink_metadata(dir)
        .with_context(|| format!("cannot use record state directory {}", dir.display()))?;
    check_private(dir, &meta)?;
    if !meta.is_dir() {
        bail!("record state {} is not a directory", dir.display());
    }
    Ok(())
}

impl Store {
    /// The state directory, created if needed, checked.
    pub fn open() -> Result<Store> {
        let home = state_home()?;
        fs::create_dir_all(&home).with_context(|| format!("cannot create {}", home.display()))?;
        let toto = home.join("toto");
        private_dir(&toto)?;
        let dir = toto.join("record");
        private_dir(&dir)?;
        Ok(Store { dir })
    }

    /// The state file of `step` recorded into `directory`.
    fn path(&self, directory: &Path, step: &str) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(directory.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        hasher.update(step.as_bytes());
        self.dir
            .join(format!("{}.json", hex::encode(hasher.finalize())))
    }

    /// Keeps `started` (replacing an earlier start of the step there).
    pub fn save(&self, directory: &Path, started: &Started) -> Result<()> {
        let path = self.path(directory, &started.step);
        let json = serde_json::to_vec(started)?;
        crate::files::write_atomic(&path, &json, Some(0o600))
    }

    /// The start of `step` into `directory` by this user, if there is one.
    pub fn load(&self, directory: &Path, step: &str) -> Result<Option<Started>> {
        let path = self.path(directory, step);
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        check_private(&path, &meta)?;
        if !meta.is_file() {
            bail!("record state {} is not a regular file", path.display());
        }
        // Only this user can add, rename or replace entries in the private
        // directory checked by `open`: the file checked is the file read.
        let limit = crate::files::limits().max_envelope_bytes.saturating_mul(2);
        let bytes = crate::files::read_limited(&path, limit, "record state")?;
        let started: Started = serde_json::from_slice(&bytes)
            .with_context(|| format!("record state {} is unreadable", path.display()))?;
        if started.version != VERSION
            || started.step != step
            || started.directory != directory.to_string_lossy()
        {
            bail!(
                "record state {} is not a recording of step {step} in {}",
                path.display(),
                directory.display()
            );
        }
        Ok(Some(started))
    }

    /// Forgets the start of `step` into `directory`.
    pub fn remove(&self, directory: &Path, step: &str) -> Result<()> {
        let path = self.path(directory, step);
        fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))
    }
}
