//! The testbed's private files: its keys and client secret, readable by the
//! user who started it alone (files 0600 in a 0700 directory).

use std::path::Path;

use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

use crate::Error;

pub(crate) fn load_or_create_key(path: &Path) -> Result<SigningKey, Error> {
    if path.exists() {
        let pem = read_private(path)?;
        return SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| Error::Internal(format!("{}: {e}", path.display())));
    }
    let key = SigningKey::random(&mut rand_core::OsRng);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Error::Internal(format!("cannot encode a key: {e}")))?;
    write_private(path, pem.as_bytes())?;
    Ok(key)
}

/// The client secret in `path` (created if missing): what `POST
/// /oauth/token`, the device-flow approval and the GitHub Actions token
/// endpoint require as `Authorization: Bearer …`.
pub(crate) fn load_or_create_secret(path: &Path) -> Result<String, Error> {
    if path.exists() {
        let secret = read_private(path)?.trim().to_owned();
        if secret.len() < 32 {
            return Err(Error::Internal(format!(
                "{}: the client secret is too short",
                path.display()
            )));
        }
        return Ok(secret);
    }
    let mut random = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
    let secret = hex::encode(random);
    write_private(path, format!("{secret}\n").as_bytes())?;
    Ok(secret)
}

/// Creates the directory of the testbed's keys and secret, readable by its
/// user alone (0700, also when it exists).
pub(crate) fn private_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

/// Reads a key or secret, first making it readable by its user alone (0600)
/// if an older testbed wrote it wider.
pub(crate) fn read_private(path: &Path) -> Result<String, Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io(path, e))?;
        }
    }
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// Writes a new key or secret, readable by its user alone (0600) from the
/// start; an existing file (or a link planted in its place) is not followed.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .map_err(|e| Error::io(path, e))
}
