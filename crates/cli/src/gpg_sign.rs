//! OpenPGP through the user's `gpg`, as securesystemslib's `gpg.functions`
//! does it: detached signatures for Metablocks (`create_signature`) and key
//! dicts exported from a keyring (`export_pubkey`). Keys stay in the keyring
//! (or on a smartcard); toto only reads what `gpg` prints, with the pure
//! readers of `dsse::gpg`.
//!
//! The binary is `$GNUPG` when set, else `gpg` on the PATH.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};
use attest::Signable;

/// `--gpg [KEYID]` and `--gpg-home DIR`, shared by every command that signs
/// links.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GpgArgs {
    /// Sign with GnuPG (Metablocks only): the key KEYID (fingerprint or key
    /// id), or gpg's default key without a value.
    #[arg(long = "gpg", num_args = 0..=1, value_name = "KEYID")]
    pub gpg: Option<Option<String>>,
    /// GnuPG home directory of the keyring (default: gpg's, $GNUPGHOME).
    #[arg(long = "gpg-home", value_name = "DIR", requires = "gpg")]
    pub gpg_home: Option<PathBuf>,
}

impl GpgArgs {
    /// The gpg signer the flags ask for, if any.
    pub fn signer(&self) -> Option<Gpg> {
        self.gpg.as_ref().map(|keyid| Gpg {
            keyid: keyid.clone().filter(|k| !k.is_empty()),
            home: self.gpg_home.clone(),
        })
    }
}

/// A key in a GnuPG keyring, used through the `gpg` binary.
#[derive(Debug, Clone)]
pub struct Gpg {
    /// The signing key; gpg's default key when `None`.
    pub keyid: Option<String>,
    /// `--homedir`; gpg's default when `None`.
    pub home: Option<PathBuf>,
}

fn program() -> std::ffi::OsString {
    std::env::var_os("GNUPG")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "gpg".into())
}

/// Runs gpg with `args` (after `--homedir`), feeding `input` on stdin.
fn run_gpg(home: Option<&Path>, args: &[&str], input: &[u8], what: &str) -> Result<Vec<u8>> {
    let program = program();
    let mut command = Command::new(&program);
    if let Some(home) = home {
        command.arg("--homedir").arg(home);
    }
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| {
        let name = Path::new(&program).display().to_string();
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow!("cannot run {name}: not found; install GnuPG, or set GNUPG to the gpg binary")
        } else {
            anyhow!("cannot run {name}: {e}")
        }
    })?;
    let writer = child.stdin.take().map(|mut stdin| {
        let input = input.to_vec();
        // gpg may answer before reading everything; a broken pipe then is
        // reported through its exit status.
        std::thread::spawn(move || stdin.write_all(&input))
    });
    let output = child
        .wait_with_output()
        .with_context(|| format!("gpg {what} did not finish"))?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "gpg {what} failed ({}){}{}",
            output.status,
            if tail.is_empty() { "" } else { ":\n  " },
            tail.join("\n  ")
        );
    }
    Ok(output.stdout)
}

impl Gpg {
    fn describe(&self) -> String {
        let key = self
            .keyid
            .as_deref()
            .map_or("gpg's default key".to_owned(), |k| format!("key {k}"));
        match &self.home {
            Some(home) => format!("{key} in {}", home.display()),
            None => key,
        }
    }

    /// Checks, before anything runs, that the keyring holds the secret key
    /// (`gpg --list-secret-keys`): a step must not run for a link that
    /// cannot be signed.
    pub fn check_secret_key(&self) -> Result<()> {
        let mut args = vec!["--batch", "--no-tty", "--list-secret-keys", "--with-colons"];
        if let Some(keyid) = &self.keyid {
            args.push(keyid.as_str());
        }
        run_gpg(self.home.as_deref(), &args, b"", "--list-secret-keys")
            .map(|_| ())
            .with_context(|| {
                format!(
                    "no secret key for {} in the keyring (nothing was run)",
                    self.describe()
                )
            })
    }

    /// A detached signature over `content` (`gpg --detach-sign --digest-algo
    /// SHA256`), read into the reference's signature object.
    pub fn sign(&self, content: &[u8]) -> Result<dsse::gpg::GpgSignature> {
        let mut args = vec!["--detach-sign", "--digest-algo", "SHA256"];
        if let Some(keyid) = &self.keyid {
            args.extend(["--local-user", keyid.as_str()]);
        }
        args.extend(["--batch", "--no-tty", "--no-armor", "--output", "-"]);
        let packet = run_gpg(self.home.as_deref(), &args, content, "--detach-sign")
            .with_context(|| format!("cannot sign with {}", self.describe()))?;
        dsse::gpg::parse_signature_packet(&packet).with_context(|| {
            format!(
                "cannot read the signature gpg made with {}",
                self.describe()
            )
        })
    }

    /// Signs a Metablock link or layout; returns the key id the signature
    /// names (the signing key's or subkey's fingerprint).
    pub fn sign_document(&self, document: &mut dyn Signable) -> Result<String> {
        let content = document.gpg_signable().ok_or_else(|| {
            anyhow!("OpenPGP (--gpg) signs Metablocks only, as the reference does: pass --encoding metablock")
        })?;
        let signature = self.sign(content)?;
        document.add_gpg_signature(&signature)?;
        Ok(signature.keyid)
    }

    /// The reference's key dict of `keyid` (`gpg --export KEYID`).
    /// The key `keyid` as gpg exports it, ready to verify with.
    pub fn key(&self, keyid: &str) -> Result<dsse::gpg::GpgKey> {
        let dict = self.export(keyid)?;
        dsse::gpg::GpgKey::from_key_dict(&dict)
            .with_context(|| format!("cannot use OpenPGP key {keyid}"))
    }

    pub fn export(&self, keyid: &str) -> Result<serde_json::Value> {
        export_key(keyid, self.home.as_deref())
    }
}

/// The reference's key dict of `keyid` from the keyring at `home` (`gpg
/// --export KEYID`): the key, its expiry and its validly bound subkeys.
pub fn export_key(keyid: &str, home: Option<&Path>) -> Result<serde_json::Value> {
    if keyid.is_empty() || keyid.starts_with('-') {
        bail!("{keyid:?} is not an OpenPGP key id");
    }
    let where_ = home.map_or(String::new(), |h| format!(" in {}", h.display()));
    let data = run_gpg(
        home,
        &["--batch", "--no-tty", "--export", keyid],
        &[],
        "--export",
    )
    .with_context(|| format!("cannot export OpenPGP key {keyid}{where_}"))?;
    if data.is_empty() {
        bail!("no OpenPGP key {keyid}{where_}: gpg exported nothing (check with `gpg --list-keys {keyid}`)");
    }
    dsse::gpg::key_dict_from_export(&data, keyid)
        .with_context(|| format!("cannot read OpenPGP key {keyid}{where_} as gpg exported it"))
}

/// What signs a link: a key file or GnuPG.
#[derive(Debug)]
pub enum LinkSigner {
    /// A private key file.
    Key(Box<dsse::PrivateKey>),
    /// A key in a GnuPG keyring.
    Gpg(Gpg),
}

impl LinkSigner {
    /// Signs `document`; returns the key id to name the link file by.
    pub fn sign(&self, document: &mut dyn Signable) -> Result<String> {
        match self {
            LinkSigner::Key(key) => {
                document.add_signature(key.as_ref())?;
                Ok(key.keyid().to_string())
            }
            LinkSigner::Gpg(gpg) => gpg.sign_document(document),
        }
    }
}

/// `.STEP.KEYID8.link-unfinished`, the reference's name.
pub fn unfinished_name(step: &str, keyid: &str) -> String {
    format!(
        ".{step}.{}.link-unfinished",
        keyid.get(..8).unwrap_or(keyid)
    )
}
