//! `--gpg [KEYID]` / `--gpg-home DIR`, and what signs a link: a key file
//! or GnuPG (`attest::gpg`, which runs the user's `gpg`).

use std::path::PathBuf;

use anyhow::Result;
use attest::gpg::Gpg;
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
            LinkSigner::Gpg(gpg) => Ok(gpg.sign_document(document)?),
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
