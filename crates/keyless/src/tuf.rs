//! Refreshing the Sigstore trust material (`trusted_root.json`, the signing
//! config) from a TUF repository, as `toto trust update` does.
//!
//! The TUF client workflow (root chain, timestamp, snapshot, targets;
//! signature thresholds, rollback, expiry, length and hash pins;
//! [TUF specification §5]) is the Sigstore project's `sigstore-tuf` crate,
//! pinned exactly. It runs over two transports of ours: HTTP(S) through the
//! client the signer uses (`http.rs`: timeouts, bounded bodies), and a
//! local directory. Its async API is driven by `pollster::block_on`: our
//! fetches block, so no runtime is needed.
//!
//! No trust on first use: the walk starts from a TUF root the caller trusts,
//! the public-good one embedded in this crate ([`PUBLIC_GOOD_TUF_ROOT`]) or
//! another given explicitly. Verified metadata is cached per repository, and
//! a later run re-verifies that cache from the given root and keeps its
//! versions as floors, so a repository serving older metadata than it once
//! did is a rollback. Deliberately unsupported: delegated-role targets
//! beyond what `sigstore-tuf` resolves, and mirrors.
//!
//! [TUF specification §5]: https://theupdateframework.github.io/specification/latest/#detailed-client-workflow

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use sigstore_tuf::transport::FetchFuture;
use sigstore_tuf::{FileStore, MetadataStore, Repository as Transport, Updater, UpdaterConfig};

use crate::http::{Failure, Http, Request};
use crate::text::ServiceText;

/// Sigstore's public-good TUF repository.
pub const PUBLIC_GOOD_REPOSITORY: &str = "https://tuf-repo-cdn.sigstore.dev";

/// The public-good TUF `root.json` (version 16, from `sigstore-trust-root`
/// 0.15.1), where trust in [`PUBLIC_GOOD_REPOSITORY`] begins.
pub const PUBLIC_GOOD_TUF_ROOT: &[u8] = include_bytes!("tuf/public_good_root.json");

/// The TUF target holding the Sigstore trusted root.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// The TUF target holding the Sigstore signing config (optional).
pub const SIGNING_CONFIG_TARGET: &str = "signing_config.v0.2.json";

/// Largest target accepted (the public-good trusted root is about 12 KiB).
pub const MAX_TARGET_BYTES: u64 = 4 << 20;

// A failed refresh is one of the crate error's `Tuf*` variants or
// `Error::Write`.
use crate::bundle::Error;

/// `source`, reported at `stage`: a fetch failure when the repository could
/// not be read or does not list a target, else a verification failure.
fn at(stage: &str, source: sigstore_tuf::Error) -> Error {
    use sigstore_tuf::Error as E;
    let stage = stage.to_owned();
    let fetch = matches!(
        source,
        E::Transport { .. } | E::Io { .. } | E::TargetNotFound(_)
    );
    let source = ServiceText::of_error(&source);
    if fetch {
        Error::TufFetch { stage, source }
    } else {
        Error::TufVerification { stage, source }
    }
}

/// Where a TUF repository is: metadata at `<base>/`, targets at
/// `<base>/targets/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An `http://` or `https://` base URL (ending in `/`).
    Http(String),
    /// A local directory (`file:` URLs and plain paths).
    Dir(PathBuf),
}

impl Location {
    /// Parses a repository address without touching the network or disk.
    pub fn parse(address: &str) -> Result<Location, Error> {
        if address.starts_with("https://") || address.starts_with("http://") {
            let base = address.trim_end_matches('/');
            if base.len() <= "https://".len() || base.contains(['?', '#', ' ']) {
                return Err(Error::TufRepository {
                    address: address.to_owned(),
                });
            }
            return Ok(Location::Http(format!("{base}/")));
        }
        let path = match address.strip_prefix("file://") {
            Some(rest) => rest,
            None => address.strip_prefix("file:").unwrap_or(address),
        };
        if path.is_empty() || path.contains("://") {
            return Err(Error::TufRepository {
                address: address.to_owned(),
            });
        }
        Ok(Location::Dir(PathBuf::from(path)))
    }

    /// The name of this repository's directory in a cache: the address with
    /// everything but `[A-Za-z0-9._-]` percent-encoded (as sigstore-rust and
    /// sigstore-python name theirs).
    pub fn cache_name(&self) -> String {
        let address = match self {
            Location::Http(base) => base.trim_end_matches('/').to_owned(),
            Location::Dir(dir) => {
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
                format!("file:{}", dir.display())
            }
        };
        let mut out = String::with_capacity(address.len() * 3);
        for b in address.bytes() {
            match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    out.push(char::from(b))
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
}

/// What a successful refresh verified and wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshed {
    /// The version of the newest trusted TUF root.
    pub root_version: u64,
    /// The version of the timestamp metadata.
    pub timestamp_version: u64,
    /// The repository's cache directory (verified metadata, `targets/`).
    pub cache_dir: PathBuf,
    /// The verified targets written.
    pub written: Vec<WrittenTarget>,
    /// Optional targets the repository does not list.
    pub absent: Vec<String>,
}

/// A target verified against the TUF targets metadata and written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenTarget {
    /// The target name (`trusted_root.json`).
    pub name: String,
    /// Where it was written.
    pub path: PathBuf,
    /// Its length in bytes, as the targets metadata pins it.
    pub length: u64,
}

/// Refreshes the TUF metadata of the repository at `location`, starting from
/// `initial_root` (and whatever verified metadata `cache_root` holds for
/// it), then downloads and verifies [`TRUSTED_ROOT_TARGET`] and, if listed,
/// [`SIGNING_CONFIG_TARGET`], and writes them to
/// `<cache_root>/<repository>/targets/`. `now` decides expiry.
///
/// All or nothing: the metadata and targets verified are kept in memory
/// until everything has verified (TUF, then the trusted root read as one and
/// the signing config's media type), then written to temporary files beside
/// their destinations and renamed over them. A failed update leaves the
/// cache as it was: the old targets and the old metadata that vouches for
/// them ([`cached_target`] still accepts them).
pub fn update(
    location: &Location,
    initial_root: &[u8],
    cache_root: &Path,
    now: SystemTime,
) -> Result<Refreshed, Error> {
    let metadata = "metadata refresh";
    let now = jiff::Timestamp::try_from(now).map_err(|e| {
        at(
            metadata,
            sigstore_tuf::Error::Malformed(format!("clock out of range: {e}")),
        )
    })?;
    let cache_dir = cache_root.join(location.cache_name());
    let transport: Box<dyn Transport> = match location {
        Location::Http(base) => Box::new(Source::Http {
            base: base.clone(),
            http: Http::new()?,
        }),
        Location::Dir(dir) => Box::new(Source::Dir(dir.clone())),
    };
    let mut config = UpdaterConfig::default();
    config.target_max_length = MAX_TARGET_BYTES;
    let staged = Staged::new(&cache_dir);
    let mut updater = Updater::new(transport, initial_root)
        .map_err(|e| Error::TufInitialRoot {
            source: ServiceText::of_error(&e),
        })?
        .with_config(config)
        .with_store(staged.clone());
    pollster::block_on(updater.refresh(now)).map_err(|e| at(metadata, e))?;

    let mut written = Vec::new();
    let mut absent = Vec::new();
    for (name, required) in [(TRUSTED_ROOT_TARGET, true), (SIGNING_CONFIG_TARGET, false)] {
        let stage = format!("target {name}");
        let info =
            pollster::block_on(updater.get_target_info(name, now)).map_err(|e| at(&stage, e))?;
        let Some(info) = info else {
            if required {
                let missing = sigstore_tuf::Error::TargetNotFound(name.to_owned());
                return Err(at(&stage, missing));
            }
            absent.push(name.to_owned());
            continue;
        };
        // Always fetched, never served from the cache: the update says what
        // the repository serves now. Staged (in memory) when it verifies.
        let bytes =
            pollster::block_on(updater.download_target(&info, name)).map_err(|e| at(&stage, e))?;
        check_usable(name, &bytes).map_err(|e| at(&stage, e))?;
        written.push(WrittenTarget {
            name: name.to_owned(),
            path: cache_dir.join("targets").join(name),
            length: info.length,
        });
    }
    // Everything verified: now the cache changes, all together.
    let stale: Vec<PathBuf> = absent
        .iter()
        .map(|name| cache_dir.join("targets").join(name))
        .collect();
    staged.commit(&stale)?;
    let trusted = updater.trusted();
    Ok(Refreshed {
        root_version: trusted.root().version,
        timestamp_version: trusted.timestamp().map_or(0, |t| t.version),
        cache_dir,
        written,
        absent,
    })
}

/// Checks that a verified target is what toto can use: the trusted root
/// reads as one, the signing config is JSON of its media type.
fn check_usable(name: &str, bytes: &[u8]) -> sigstore_tuf::Result<()> {
    let unusable = |why: String| {
        sigstore_tuf::Error::Malformed(format!("{name} verifies but is not usable: {why}"))
    };
    let text = std::str::from_utf8(bytes).map_err(|_| unusable("not UTF-8".into()))?;
    match name {
        TRUSTED_ROOT_TARGET => crate::TrustRoot::from_json(text)
            .map(drop)
            .map_err(|e| unusable(e.to_string())),
        SIGNING_CONFIG_TARGET => {
            let value: serde_json::Value =
                serde_json::from_str(text).map_err(|e| unusable(e.to_string()))?;
            let media_type = value.get("mediaType").and_then(serde_json::Value::as_str);
            if media_type == Some(crate::sign::SIGNING_CONFIG) {
                Ok(())
            } else {
                Err(unusable(format!(
                    "its mediaType is not {}",
                    crate::sign::SIGNING_CONFIG
                )))
            }
        }
        _ => Ok(()),
    }
}

/// The TUF client's metadata store during an update: reads the cache, keeps
/// writes in memory until [`Staged::commit`].
#[derive(Clone)]
struct Staged {
    cache: FileStore,
    dir: PathBuf,
    pending: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl Staged {
    fn new(dir: &Path) -> Staged {
        Staged {
            cache: FileStore::new(dir),
            dir: dir.to_owned(),
            pending: Arc::default(),
        }
    }

    fn pending(&self) -> MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes every staged file to a temporary file beside its destination,
    /// then renames them all over their destinations (targets first, then
    /// the metadata that lists them), and removes `stale` files (targets no
    /// longer listed). Nothing is renamed unless every temporary file was
    /// written.
    fn commit(&self, stale: &[PathBuf]) -> Result<(), Error> {
        let pending = std::mem::take(&mut *self.pending());
        let mut files: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(pending.len());
        let written = pending.iter().try_for_each(|(name, bytes)| {
            check_name(name).map_err(|e| Error::Write {
                path: self.dir.join(name),
                source: std::io::Error::other(e.to_string()),
            })?;
            let path = self.dir.join(name);
            let tmp = write_temporary(&path, bytes)?;
            files.push((tmp, path));
            Ok(())
        });
        if let Err(e) = written {
            for (tmp, _) in &files {
                let _ = fs::remove_file(tmp);
            }
            return Err(e);
        }
        // Targets before the metadata vouching for them: interrupted in
        // between, the cache holds new targets under old metadata, which
        // `cached_target` refuses until the next update.
        files.sort_by_key(|(_, path)| !path.starts_with(self.dir.join("targets")));
        let mut renamed = Ok(());
        for (tmp, path) in &files {
            if renamed.is_ok() {
                renamed = fs::rename(tmp, path).map_err(|source| Error::Write {
                    path: path.clone(),
                    source,
                });
            }
            if renamed.is_err() {
                let _ = fs::remove_file(tmp);
            }
        }
        renamed?;
        for path in stale {
            match fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::Write {
                        path: path.clone(),
                        source: e,
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl MetadataStore for Staged {
    fn load(&self, name: &str) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        if let Some(bytes) = self.pending().get(name) {
            return Ok(Some(bytes.clone()));
        }
        self.cache.load(name)
    }

    fn store(&self, name: &str, bytes: &[u8]) -> sigstore_tuf::Result<()> {
        check_name(name)?;
        self.pending().insert(name.to_owned(), bytes.to_vec());
        Ok(())
    }
}

/// Writes `bytes` to a new temporary file beside `path` (same directory, so
/// a rename replaces `path` atomically), synced; returns its path.
fn write_temporary(path: &Path, bytes: &[u8]) -> Result<PathBuf, Error> {
    let io = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let result = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                let _ = fs::remove_file(&tmp);
            }
            Err(io(e))
        }
    }
}

/// The target `name` from the cache of a repository (`cache_dir`, as
/// [`update`] wrote it), re-verified against the metadata cached beside it
/// before it is used: the root chain from `initial_root` through the
/// cached `root_history/`, the last root not expired; the cached
/// `targets.json` signed to threshold by that root's targets keys and not
/// expired; the target's length and hashes as it lists them. A file planted
/// or edited in the cache directory is refused.
///
/// Deliberately not checked: the cached timestamp and snapshot (whose
/// lifetimes are days; the cache is meant for offline use between
/// updates). Someone who can write the cache can at most put back older
/// metadata and targets that TUF once vouched for, until those expire.
pub fn cached_target(
    cache_dir: &Path,
    initial_root: &[u8],
    name: &str,
    now: SystemTime,
) -> Result<Vec<u8>, Error> {
    use sigstore_tuf::{Metadata, Role as _, Targets, TrustedMetadataSet};
    let stage = format!("cached target {name}");
    let fail = |e| at(&stage, e);
    let now = jiff::Timestamp::try_from(now).map_err(|e| {
        fail(sigstore_tuf::Error::Malformed(format!(
            "clock out of range: {e}"
        )))
    })?;
    let limits = UpdaterConfig::default();
    let cache = Source::Dir(cache_dir.to_owned());
    let missing = |file: &str| {
        fail(sigstore_tuf::Error::io(
            format!("{}: not in the cache", cache_dir.join(file).display()),
            std::io::ErrorKind::NotFound.into(),
        ))
    };
    let mut trusted =
        TrustedMetadataSet::from_root(initial_root).map_err(|e| Error::TufInitialRoot {
            source: ServiceText::of_error(&e),
        })?;
    for _ in 0..limits.max_root_rotations {
        let next = format!("root_history/{}.root.json", trusted.root().version + 1);
        match cache.read(&next, limits.root_max_length).map_err(fail)? {
            Some(bytes) => trusted.update_root(&bytes).map_err(fail)?,
            None => break,
        }
    }
    trusted.check_root_expired(now).map_err(fail)?;
    let root = trusted.root();
    let bytes = cache
        .read("targets.json", limits.targets_max_length)
        .map_err(fail)?
        .ok_or_else(|| missing("targets.json"))?;
    let targets = Metadata::<Targets>::from_slice(&bytes).map_err(fail)?;
    let role = root
        .role("targets")
        .ok_or_else(|| fail(sigstore_tuf::Error::UnknownRole("targets".into())))?;
    targets
        .verify_threshold(&root.keys, role, "targets")
        .map_err(fail)?;
    let targets = targets.signed();
    if targets.is_expired(now) {
        return Err(fail(sigstore_tuf::Error::Expired {
            role: "targets".into(),
            expires: targets.expires(),
        }));
    }
    let info = targets
        .target(name)
        .ok_or_else(|| fail(sigstore_tuf::Error::TargetNotFound(name.to_owned())))?;
    let file = format!("targets/{name}");
    let bytes = cache
        .read(&file, info.length.min(MAX_TARGET_BYTES))
        .map_err(fail)?
        .ok_or_else(|| missing(&file))?;
    check_target(&bytes, info.length, &info.hashes, name).map_err(fail)?;
    Ok(bytes)
}

/// `bytes` against a target's pinned length and hashes: every hash of a
/// supported algorithm (SHA-256, SHA-512) must match, and there must be one.
fn check_target(
    bytes: &[u8],
    length: u64,
    hashes: &BTreeMap<String, String>,
    name: &str,
) -> sigstore_tuf::Result<()> {
    use sha2::Digest as _;
    let mismatch = |what: String| sigstore_tuf::Error::IntegrityMismatch(format!("{name}: {what}"));
    if bytes.len() as u64 != length {
        return Err(mismatch(format!(
            "length {} != pinned {length}",
            bytes.len()
        )));
    }
    let mut checked = 0;
    for (algorithm, expected) in hashes {
        let actual = match algorithm.as_str() {
            "sha256" => hex::encode(sha2::Sha256::digest(bytes)),
            "sha512" => hex::encode(sha2::Sha512::digest(bytes)),
            _ => continue,
        };
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(mismatch(format!("{algorithm} mismatch")));
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(mismatch("no SHA-256 or SHA-512 hash to check".into()));
    }
    Ok(())
}

/// Rejects names that could leave the repository (`..`, absolute paths,
/// backslashes): target paths come from metadata.
fn check_name(name: &str) -> sigstore_tuf::Result<()> {
    let bad = name.is_empty()
        || name.contains('\\')
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        return Err(sigstore_tuf::Error::Malformed(format!(
            "unsafe file name {name:?} in TUF metadata"
        )));
    }
    Ok(())
}

/// More bytes than the metadata (or the configured bound) allows: the
/// endless-data attack, reported as a length mismatch.
fn too_long(name: &str, max: u64) -> sigstore_tuf::Error {
    sigstore_tuf::Error::IntegrityMismatch(format!("{name}: longer than {max} bytes"))
}

/// Where TUF files are read from: a repository over HTTP(S), or a local
/// directory (a repository, or the cache [`cached_target`] reads).
enum Source {
    /// Metadata at `<base>name`, targets at `<base>targets/<path>`.
    Http { base: String, http: Http },
    /// Metadata at `<dir>/name`, targets at `<dir>/targets/<path>`.
    Dir(PathBuf),
}

impl Source {
    /// The file `name`, at most `max` bytes; `None` when it is not there.
    fn read(&self, name: &str, max: u64) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        check_name(name)?;
        match self {
            Source::Http { base, http } => http_get(http, &format!("{base}{name}"), name, max),
            Source::Dir(dir) => dir_read(dir, name, max),
        }
    }
}

impl Transport for Source {
    fn fetch_metadata<'a>(&'a self, name: &'a str, max_length: u64) -> FetchFuture<'a> {
        Box::pin(std::future::ready(self.read(name, max_length)))
    }

    fn fetch_target<'a>(&'a self, path: &'a str, max_length: u64) -> FetchFuture<'a> {
        Box::pin(std::future::ready(
            self.read(&format!("targets/{path}"), max_length),
        ))
    }
}

/// GETs `url` (the file `name`) through the crate's HTTP client.
fn http_get(http: &Http, url: &str, name: &str, max: u64) -> sigstore_tuf::Result<Option<Vec<u8>>> {
    let (status, bytes) = match http.exchange(&Request::get(url), max) {
        Ok(answer) => answer,
        Err(Failure::Read(ureq::Error::BodyExceedsLimit(_))) => return Err(too_long(name, max)),
        Err(Failure::Send(e) | Failure::Read(e)) => {
            return Err(sigstore_tuf::Error::transport_with_source(
                format!("GET {url}"),
                e,
            ))
        }
    };
    // 403 too: S3 and GCS answer it for missing objects (python-tuf
    // accepts both when probing for the next root).
    if status == 404 || status == 403 {
        return Ok(None);
    }
    if !(200..300).contains(&status) {
        return Err(sigstore_tuf::Error::transport(format!(
            "GET {url}: HTTP {}",
            crate::http::status_line(status)
        )));
    }
    Ok(Some(bytes))
}

/// Reads `dir/name` through the bounded reader.
fn dir_read(dir: &Path, name: &str, max: u64) -> sigstore_tuf::Result<Option<Vec<u8>>> {
    let path = dir.join(name);
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    match dsse::file::read_bounded(&path, limit, None) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(dsse::Error::File { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            // A missing repository is an error, not the end of the root chain.
            if !dir.is_dir() {
                return Err(sigstore_tuf::Error::transport(format!(
                    "{}: no such directory",
                    dir.display()
                )));
            }
            Ok(None)
        }
        Err(dsse::Error::File { source, .. }) => Err(sigstore_tuf::Error::io(
            format!("reading {}", path.display()),
            source,
        )),
        Err(dsse::Error::FileTooLarge { .. }) => Err(too_long(name, max)),
        Err(other) => Err(sigstore_tuf::Error::transport(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_without_io() {
        assert_eq!(
            Location::parse("https://tuf-repo-cdn.sigstore.dev").ok(),
            Some(Location::Http("https://tuf-repo-cdn.sigstore.dev/".into()))
        );
        assert_eq!(
            Location::parse("file:///srv/tuf").ok(),
            Some(Location::Dir("/srv/tuf".into()))
        );
        assert_eq!(
            Location::parse("repo").ok(),
            Some(Location::Dir("repo".into()))
        );
        for bad in ["ftp://x", "https://", "", "file:", "https://x/?a"] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cache_names_are_flat() {
        let loc = Location::Http("https://tuf-repo-cdn.sigstore.dev/".into());
        assert_eq!(loc.cache_name(), "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev");
    }

    #[test]
    fn names_cannot_escape_the_repository() {
        for bad in ["../x", "targets/../../x", "/etc/passwd", "a\\b", "a//b", ""] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name("targets/abc.trusted_root.json").is_ok());
    }

    #[test]
    fn embedded_root_is_a_valid_tuf_root() {
        assert!(sigstore_tuf::TrustedMetadataSet::from_root(PUBLIC_GOOD_TUF_ROOT).is_ok());
    }

    /// Serves `answers` (status, body) on 127.0.0.1, one a connection, in
    /// order; the URL.
    fn serve(answers: Vec<(u16, String)>) -> String {
        use std::io::{BufRead as _, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for (status, body) in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let mut stream = reader.into_inner();
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body.as_bytes());
            }
        });
        url
    }

    fn http_source(url: &str) -> Source {
        Source::Http {
            base: format!("{url}/"),
            http: Http::new().unwrap(),
        }
    }

    /// The shared HTTP client retries where the server cannot have acted
    /// (a 503), as the signer's requests do; a 404 ends the root chain.
    #[test]
    fn a_tuf_repository_answering_503_once_is_asked_again() {
        let url = serve(vec![(503, "busy".into()), (404, "x".repeat(4096))]);
        assert_eq!(http_source(&url).read("2.root.json", 100).unwrap(), None);
    }

    /// The endless-data attack over HTTP: more than the bound is a length
    /// mismatch (a verification failure), not a transport error.
    #[test]
    fn a_tuf_file_longer_than_its_bound_is_an_integrity_mismatch() {
        let url = serve(vec![(200, "x".repeat(1000))]);
        let err = http_source(&url).read("timestamp.json", 100).unwrap_err();
        assert!(
            matches!(err, sigstore_tuf::Error::IntegrityMismatch(ref m) if m == "timestamp.json: longer than 100 bytes"),
            "{err}"
        );
    }
}
