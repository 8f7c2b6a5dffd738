//! Small helpers shared by the subcommands: bounded file reads, passwords,
//! atomic writes, exit codes.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use zeroize::Zeroizing;

/// Exit code for verification or policy failure.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for usage or input errors.
pub const EXIT_USAGE: u8 = 2;

/// A verification failure that is not a library error (e.g. a policy check
/// done in the CLI). Maps to exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct VerificationFailed(pub String);

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

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

/// Maps an error chain to an exit code: 1 when any cause is a verification
/// failure, 2 otherwise.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<VerificationFailed>().is_some() {
            return EXIT_FAILED;
        }
        if let Some(e) = cause.downcast_ref::<keyless::Error>() {
            if e.is_verification_failure() {
                return EXIT_FAILED;
            }
        }
        if let Some(e) = cause.downcast_ref::<dsse::Error>() {
            if e.is_verification_failure() {
                return EXIT_FAILED;
            }
        }
    }
    EXIT_USAGE
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

/// Resolves a password: the value given, else `TOTO_KEY_PASSWORD`, else a
/// prompt on the terminal when `prompt` is set.
pub fn password(
    given: Option<&Option<String>>,
    prompt_text: &str,
) -> Result<Option<Zeroizing<String>>> {
    match given {
        Some(Some(value)) => Ok(Some(Zeroizing::new(value.clone()))),
        Some(None) => prompt(prompt_text).map(Some),
        None => Ok(std::env::var("TOTO_KEY_PASSWORD").ok().map(Zeroizing::new)),
    }
}

/// Prompts for a password on the terminal, without echo.
pub fn prompt(text: &str) -> Result<Zeroizing<String>> {
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .context(
        "cannot read a password from the terminal (set TOTO_KEY_PASSWORD or pass --password VALUE)",
    )
}

/// Loads a private key, asking for a password only when the key is encrypted.
pub fn load_private_key(
    path: &Path,
    password_arg: Option<&Option<String>>,
) -> Result<dsse::PrivateKey> {
    let limits = limits();
    let pem = Zeroizing::new(read_limited(path, limits.max_key_bytes, "key file")?);
    let pw = password(password_arg, &format!("Password for {}: ", path.display()))?;
    match dsse::PrivateKey::from_pem(&pem, pw.as_ref().map(|p| p.as_bytes()), None) {
        Err(dsse::Error::PasswordRequired) if password_arg.is_none() && pw.is_none() => {
            let pw = prompt(&format!("Password for {}: ", path.display()))?;
            dsse::PrivateKey::from_pem(&pem, Some(pw.as_bytes()), None)
                .with_context(|| format!("cannot load private key {}", path.display()))
        }
        other => other.with_context(|| format!("cannot load private key {}", path.display())),
    }
}

/// Loads a public key: SPKI PEM, a securesystemslib key dict (JSON), or a
/// private key PEM (its public half).
pub fn load_public_key(path: &Path) -> Result<dsse::PublicKey> {
    let limits = limits();
    let bytes = read_limited(path, limits.max_key_bytes, "key file")?;
    let context = || format!("cannot load public key {}", path.display());
    if bytes.trim_ascii_start().starts_with(b"{") {
        let dict = dsse::cjson::parse_strict(&bytes).with_context(context)?;
        return dsse::PublicKey::from_key_dict(&dict).with_context(context);
    }
    if bytes.windows(10).any(|w| w == b"PUBLIC KEY")
        && !bytes.windows(11).any(|w| w == b"PRIVATE KEY")
    {
        return dsse::PublicKey::from_pem(&bytes, None).with_context(context);
    }
    let key =
        dsse::PrivateKey::from_pem(&Zeroizing::new(bytes), None, None).with_context(context)?;
    Ok(key.public_key().clone())
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

/// Output format of commands that report a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON object on stdout.
    Json,
}

/// Private keys to sign with, and their password: shared by every command
/// that signs.
#[derive(Debug, Clone, clap::Args)]
pub struct SigningKeys {
    /// Private key (PKCS#8 PEM, optionally encrypted); repeat to sign with several keys.
    #[arg(long = "key", short = 'k', required = true, value_name = "FILE")]
    pub keys: Vec<std::path::PathBuf>,
    /// Password of an encrypted key; without a value, prompt (also: env TOTO_KEY_PASSWORD).
    #[arg(long, short = 'P', num_args = 0..=1, value_name = "PASSWORD")]
    pub password: Option<Option<String>>,
}

impl SigningKeys {
    /// Loads every key, asking for passwords where needed.
    pub fn load(&self) -> Result<Vec<dsse::PrivateKey>> {
        self.keys
            .iter()
            .map(|path| load_private_key(path, self.password.as_ref()))
            .collect()
    }
}
