//! OpenPGP signing through the user's `gpg`, as securesystemslib's
//! `gpg.functions` does it: detached signatures for Metablocks
//! (`create_signature`) and key dicts exported from a keyring
//! (`export_pubkey`). Keys stay in the keyring (or on a smartcard); toto
//! only reads what `gpg` prints, with the pure readers of `dsse::gpg`.
//!
//! The binary is `$GNUPG` when set, else `gpg` on the PATH.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::exec::{self, ExecError};
use crate::signed::Signable;

/// Why gpg could not do what was asked; each variant names the key (and
/// keyring) and keeps gpg's own failure as its source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpgError {
    /// The gpg binary is not there.
    #[error("cannot run {program}: not found; install GnuPG, or set GNUPG to the gpg binary")]
    NotFound {
        /// The binary looked for.
        program: String,
    },
    /// gpg could not be started, or did not finish.
    #[error(transparent)]
    Run(ExecError),
    /// gpg ran and failed.
    #[error("gpg {operation} failed ({status}){tail}")]
    Failed {
        /// `--detach-sign`, `--export`, …
        operation: &'static str,
        /// Its exit status.
        status: String,
        /// The last lines it printed on stderr.
        tail: String,
    },
    /// The keyring holds no secret key for the signer.
    #[error("no secret key for {key} in the keyring (nothing was run)")]
    NoSecretKey {
        /// The key, and the keyring when not gpg's default.
        key: String,
        /// What gpg said.
        source: Box<GpgError>,
    },
    /// Signing failed.
    #[error("cannot sign with {key}")]
    Sign {
        /// The key, and the keyring when not gpg's default.
        key: String,
        /// What gpg said.
        source: Box<GpgError>,
    },
    /// What gpg printed is not what was asked for.
    #[error("cannot read {what}")]
    Read {
        /// "the signature gpg made with …", "OpenPGP key … as gpg exported it".
        what: String,
        /// The reader's refusal.
        source: dsse::Error,
    },
    /// Exporting a key failed.
    #[error("cannot export OpenPGP key {keyid}{place}")]
    Export {
        /// The key id asked for.
        keyid: String,
        /// " in HOME", or nothing for gpg's default keyring.
        place: String,
        /// What gpg said.
        source: Box<GpgError>,
    },
    /// gpg exported nothing, or the key id is not one.
    #[error("no OpenPGP key {keyid}{place}: {reason}")]
    NoKey {
        /// The key id asked for.
        keyid: String,
        /// " in HOME", or nothing.
        place: String,
        /// Why.
        reason: String,
    },
    /// The document is not a Metablock.
    #[error(
        "OpenPGP (--gpg) signs Metablocks only, as the reference does: pass --format metablock"
    )]
    NotMetablock,
    /// The signature could not be added.
    #[error(transparent)]
    Document(#[from] crate::Error),
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
fn run_gpg(
    home: Option<&Path>,
    args: &[&str],
    input: &[u8],
    operation: &'static str,
) -> Result<Vec<u8>, GpgError> {
    let program = program();
    let name = Path::new(&program).display().to_string();
    let mut command = Command::new(&program);
    if let Some(home) = home {
        command.arg("--homedir").arg(home);
    }
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = exec::spawn(&mut command, &name).map_err(|e| match e {
        ExecError::NotFound { program } => GpgError::NotFound { program },
        e => GpgError::Run(e),
    })?;
    let writer = child.stdin.take().map(|mut stdin| {
        let input = input.to_vec();
        // gpg may answer before reading everything; a broken pipe then is
        // reported through its exit status.
        std::thread::spawn(move || stdin.write_all(&input))
    });
    let output = child.wait_with_output().map_err(|source| {
        GpgError::Run(ExecError::Spawn {
            program: name,
            source,
        })
    })?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(GpgError::Failed {
            operation,
            status: output.status.to_string(),
            tail: if tail.is_empty() {
                String::new()
            } else {
                format!(":\n  {}", tail.join("\n  "))
            },
        });
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
    pub fn check_secret_key(&self) -> Result<(), GpgError> {
        let mut args = vec!["--batch", "--no-tty", "--list-secret-keys", "--with-colons"];
        if let Some(keyid) = &self.keyid {
            args.push(keyid.as_str());
        }
        run_gpg(self.home.as_deref(), &args, b"", "--list-secret-keys")
            .map(|_| ())
            .map_err(|e| GpgError::NoSecretKey {
                key: self.describe(),
                source: Box::new(e),
            })
    }

    /// A detached signature over `content` (`gpg --detach-sign --digest-algo
    /// SHA256`), read into the reference's signature object.
    pub fn sign(&self, content: &[u8]) -> Result<dsse::gpg::GpgSignature, GpgError> {
        let mut args = vec!["--detach-sign", "--digest-algo", "SHA256"];
        if let Some(keyid) = &self.keyid {
            args.extend(["--local-user", keyid.as_str()]);
        }
        args.extend(["--batch", "--no-tty", "--no-armor", "--output", "-"]);
        let packet =
            run_gpg(self.home.as_deref(), &args, content, "--detach-sign").map_err(|e| {
                GpgError::Sign {
                    key: self.describe(),
                    source: Box::new(e),
                }
            })?;
        dsse::gpg::parse_signature_packet(&packet).map_err(|source| GpgError::Read {
            what: format!("the signature gpg made with {}", self.describe()),
            source,
        })
    }

    /// Signs a Metablock link or layout; returns the key id the signature
    /// names (the signing key's or subkey's fingerprint).
    pub fn sign_document(&self, document: &mut dyn Signable) -> Result<String, GpgError> {
        let content = document.gpg_signable().ok_or(GpgError::NotMetablock)?;
        let signature = self.sign(content)?;
        document.add_gpg_signature(&signature)?;
        Ok(signature.keyid)
    }

    /// The key `keyid` as gpg exports it, ready to verify with.
    pub fn key(&self, keyid: &str) -> Result<dsse::gpg::GpgKey, GpgError> {
        let dict = export_key(keyid, self.home.as_deref())?;
        dsse::gpg::GpgKey::from_key_dict(&dict).map_err(|source| GpgError::Read {
            what: format!("OpenPGP key {keyid} as a key to verify with"),
            source,
        })
    }
}

/// The reference's key dict of `keyid` from the keyring at `home` (`gpg
/// --export KEYID`): the key, its expiry and its validly bound subkeys.
pub fn export_key(keyid: &str, home: Option<&Path>) -> Result<serde_json::Value, GpgError> {
    let place = home.map_or(String::new(), |h| format!(" in {}", h.display()));
    if keyid.is_empty() || keyid.starts_with('-') {
        return Err(GpgError::NoKey {
            keyid: keyid.to_owned(),
            place,
            reason: "not an OpenPGP key id".to_owned(),
        });
    }
    let data = run_gpg(
        home,
        &["--batch", "--no-tty", "--export", keyid],
        &[],
        "--export",
    )
    .map_err(|e| GpgError::Export {
        keyid: keyid.to_owned(),
        place: place.clone(),
        source: Box::new(e),
    })?;
    if data.is_empty() {
        return Err(GpgError::NoKey {
            keyid: keyid.to_owned(),
            place,
            reason: format!("gpg exported nothing (check with `gpg --list-keys {keyid}`)"),
        });
    }
    dsse::gpg::key_dict_from_export(&data, keyid).map_err(|source| GpgError::Read {
        what: format!("OpenPGP key {keyid}{place} as gpg exported it"),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed::SignedDocument;
    use crate::Encoding;

    #[test]
    fn refuses_an_option_as_key_id_without_running_gpg() {
        for keyid in ["", "--homedir"] {
            let err = export_key(keyid, None).unwrap_err();
            assert!(
                matches!(&err, GpgError::NoKey { reason, .. } if reason == "not an OpenPGP key id"),
                "{err:?}"
            );
        }
    }

    #[test]
    fn signs_metablocks_only_and_refuses_before_running_gpg() {
        let gpg = Gpg {
            keyid: Some("ABABABAB".to_owned()),
            home: Some(PathBuf::from("/nonexistent/toto-gpg-home")),
        };
        let payload = serde_json::json!({"_type": "link", "name": "build"});
        let mut document = SignedDocument::new(payload, Encoding::Dsse).unwrap();
        let err = gpg.sign_document(&mut document).unwrap_err();
        assert!(matches!(err, GpgError::NotMetablock), "{err:?}");
        assert!(document.gpg_signable().is_none());
    }
}
