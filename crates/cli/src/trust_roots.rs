//! Where trusted roots come from: `--trusted-root FILE`, else the
//! public-good root `toto trust update` cached (re-verified against the
//! cached TUF metadata on every use), else the embedded one.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use keyless::tuf::{self, Location};
use keyless::TrustRoot;

/// The cache directory of the public-good repository.
pub fn public_good_cache_dir() -> Result<PathBuf> {
    let location = Location::parse(tuf::PUBLIC_GOOD_REPOSITORY)?;
    Ok(default_cache_dir()?.join(location.cache_name()))
}

/// Where `toto trust update` puts the public-good trusted root.
pub fn public_good_root_path() -> Result<PathBuf> {
    Ok(public_good_cache_dir()?
        .join("targets")
        .join(tuf::TRUSTED_ROOT_TARGET))
}

/// A trusted root from the cache, verified.
#[derive(Debug)]
pub struct CachedRoot {
    /// Where it is.
    pub path: PathBuf,
    /// Its JSON, as verified.
    pub json: String,
}

/// The public-good trusted root `toto trust update` last fetched, the
/// default trust root of every command: `None` when there is none (the
/// embedded root is the default then). It is re-verified on every use
/// against the TUF metadata cached beside it (the root chain from the
/// embedded TUF root, the targets metadata's signatures and expiry, the
/// file's length and hashes), so a file planted or edited in the cache is
/// refused, with how to fix it.
pub fn cached_public_good_root() -> Result<Option<CachedRoot>> {
    let (Ok(dir), Ok(path)) = (public_good_cache_dir(), public_good_root_path()) else {
        return Ok(None);
    };
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let bytes = tuf::cached_target(
        &dir,
        tuf::PUBLIC_GOOD_TUF_ROOT,
        tuf::TRUSTED_ROOT_TARGET,
        SystemTime::now(),
    )
    .with_context(|| {
        format!(
            "the cached trusted root {} is not what the cached TUF metadata vouches for \
             (planted, edited or stale); run `toto trust update` to fetch it again, or pass \
             --trusted-root FILE",
            path.display()
        )
    })?;
    let json =
        String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
    Ok(Some(CachedRoot { path, json }))
}

/// The TUF cache directory: `$XDG_CACHE_HOME/toto/tuf`, else
/// `~/.cache/toto/tuf`.
pub fn default_cache_dir() -> Result<PathBuf> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("toto/tuf"));
    }
    match non_empty("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache/toto/tuf")),
        None => bail!("neither XDG_CACHE_HOME nor HOME is set: pass --cache-dir DIR"),
    }
}

/// The trusted root to verify with: `--trusted-root FILE`, else the
/// public-good root `toto trust update` fetched, else the embedded one.
pub fn trust_root(path: Option<&Path>) -> Result<TrustRoot> {
    let (path, text) = match path {
        Some(path) => {
            let bytes = crate::files::read_limited(path, 16 << 20, "trusted root")?;
            let text = String::from_utf8(bytes)
                .with_context(|| format!("{} is not UTF-8", path.display()))?;
            (path.to_owned(), text)
        }
        None => match cached_public_good_root()? {
            Some(cached) => (cached.path, cached.json),
            None => return Ok(TrustRoot::public_good()?),
        },
    };
    TrustRoot::from_json(&text)
        .with_context(|| format!("cannot read trusted root {}", path.display()))
}
