//! Keys and passwords: private keys (asking for a password only when one
//! is encrypted), public keys in every form toto reads.

use std::path::Path;

use anyhow::{Context, Result};
use zeroize::Zeroizing;

use crate::files::{limits, read_limited};

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
