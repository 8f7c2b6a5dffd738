//! A loopback Sigstore for tests and the offline demo: an OIDC issuer that
//! mints tokens for any identity, Fulcio (`POST /api/v2/signingCert`), Rekor
//! v1 (`/api/v1/log…`) and a CT log that signs the SCT embedded in every
//! leaf certificate. Real enough that sigstore-python signs against it and
//! verifies its bundles with the trust config it writes.
//!
//! **A test service, not a Sigstore instance**: it certifies whoever asks
//! for a token, listens on 127.0.0.1 only, and nothing it signs means
//! anything outside the tests and demos that trust its `trusted_root.json`.
//! Since anyone who can reach the port could otherwise mint tokens, the
//! endpoints that mint them (`POST /oauth/token`, the device-flow approval
//! `POST /oauth/device/approve`, the GitHub Actions token endpoint) require
//! `Authorization: Bearer SECRET`, the random client secret in
//! `keys/client-secret`; the keys and the secret are readable by the user
//! who started the testbed alone (files 0600 in a 0700 directory).
//!
//! In Rekor v2 mode ([`Options::rekor_v2`], `toto testbed serve --rekor-v2`)
//! it also serves a Rekor v2 log (`POST /api/v2/log/entries`, rekor-tiles'
//! request and answer shapes, its own key) and an RFC 3161 timestamp
//! authority (`POST /api/v1/timestamp`, see [`tsa`]), and the files it
//! writes point clients at them.
//!
//! ```no_run
//! let testbed = testbed::Testbed::start(&testbed::Config {
//!     dir: "sigstore-testbed".into(),
//!     port: 0,
//! })?;
//! println!("serving on {}", testbed.url());
//! let token = testbed.token(&testbed::TokenRequest {
//!     identity: "alice@example.com".into(),
//!     ..Default::default()
//! })?;
//! # let _ = token;
//! # Ok::<(), testbed::Error>(())
//! ```
//!
//! Everything is in `dir`: the keys (`keys/*.pem`) and the client secret
//! (`keys/client-secret`), the CA certificates and
//! tree id (`state.json`), the append-only log (`log.jsonl`, replayed on
//! restart), and the files clients need: `trust_config.json` (sigstore-python's
//! `--trust-config`), `trusted_root.json` and `signing_config.json`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod forge;
pub mod http;
pub mod log;
pub mod oidc;
pub mod pki;
pub mod tsa;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use der::{Decode, Encode};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub use oidc::TokenRequest;
use pki::{Authority, Claim, ClaimValue, CtLog, Identity, LeafRequest};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file of the testbed's directory.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A client's request is wrong (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// A client's identity token is refused (HTTP 401).
    #[error("{0}")]
    Unauthorized(String),
    /// The testbed itself failed.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The state directory (created if missing).
    pub dir: PathBuf,
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
}

/// How the testbed serves, beyond where.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Rekor v2 mode: also serve a Rekor v2 log (`POST /api/v2/log/entries`,
    /// its own key) and an RFC 3161 timestamp authority
    /// (`POST /api/v1/timestamp`); the signing config lists the v2 log
    /// beside the v1 one (clients pick the highest version) and the TSA;
    /// the trusted root lists the v2 log key and the TSA chain.
    pub rekor_v2: bool,
}

/// Faults to inject, for tests of clients' error handling.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Fulcio answers 503.
    pub fulcio_down: bool,
    /// Fulcio answers 201 with a body that is not JSON.
    pub fulcio_garbage: bool,
    /// Fulcio issues certificates without an SCT.
    pub fulcio_without_sct: bool,
    /// Fulcio certifies `mallory@example.com` whoever asks.
    pub fulcio_other_identity: bool,
    /// Fulcio's certificate is issued by a CA that is in no trusted root
    /// (a fresh one, answered as the chain); its SCT is the testbed CT log's.
    pub fulcio_untrusted_ca: bool,
    /// Fulcio's certificate carries an SCT signed by a CT log that is in no
    /// trusted root.
    pub fulcio_unknown_ct_log: bool,
    /// Fulcio's certificate has the timeStamping extended key usage instead
    /// of codeSigning.
    pub fulcio_without_code_signing: bool,
    /// Fulcio answers 500 with a hostile message: lines that CI systems read
    /// as commands (`::error::`, `##[error]`), the caller's identity token
    /// echoed (bare and after `Bearer`), a line separator, and 4 KiB more.
    pub fulcio_hostile_error: bool,
    /// Rekor answers 503.
    pub rekor_down: bool,
    /// Rekor answers 201 with a body that is not JSON.
    pub rekor_garbage: bool,
    /// Rekor's inclusion proofs do not lead to their root.
    pub rekor_bad_proof: bool,
    /// Rekor returns a body other than the one it logged.
    pub rekor_other_body: bool,
    /// The timestamp authority answers 503.
    pub tsa_down: bool,
    /// The timestamp authority answers 200 with bytes that are not DER.
    pub tsa_garbage: bool,
    /// The timestamp authority's token is altered after signing (its
    /// signature no longer verifies).
    pub tsa_tampered: bool,
    /// The timestamp authority stamps another message than the one asked.
    pub tsa_other_imprint: bool,
    /// Every response is delayed this long.
    pub delay: Option<Duration>,
}

const MAX_CONNECTIONS: usize = 64;

/// The client secret's file in the testbed's `keys/` directory.
pub const CLIENT_SECRET: &str = "client-secret";

struct Shared {
    url: String,
    created: i64,
    oidc_key: SigningKey,
    /// What minting a token over HTTP requires (`Authorization: Bearer`).
    client_secret: String,
    root: Authority,
    intermediate: Authority,
    ct: CtLog,
    ct_spki: Vec<u8>,
    rekor_spki: Vec<u8>,
    log: Mutex<log::Log>,
    /// Rekor v2 mode: the v2 log's key (DER SPKI) and log.
    v2: Option<(Vec<u8>, Mutex<log::Log>)>,
    /// Rekor v2 mode: the timestamp authority.
    tsa: Option<tsa::Tsa>,
    faults: Mutex<Faults>,
    active: AtomicUsize,
    /// Requests served, by path.
    requests: Mutex<std::collections::BTreeMap<String, usize>>,
    /// Device-flow logins (RFC 8628) by device code.
    devices: Mutex<Vec<Device>>,
}

/// A device-flow login in progress.
#[derive(Debug, Clone)]
struct Device {
    device_code: String,
    user_code: String,
    expires: i64,
    /// Set when the user approves (`POST /oauth/device/approve`).
    identity: Option<String>,
}

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Most device logins kept at once.
const MAX_DEVICES: usize = 1024;

/// A running testbed; stops when dropped.
pub struct Testbed {
    shared: Arc<Shared>,
    dir: PathBuf,
    stop: Arc<AtomicBool>,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Testbed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Testbed")
            .field("url", &self.shared.url)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn rfc3339(unix: i64) -> String {
    let secs = u64::try_from(unix).unwrap_or(0);
    der::DateTime::from_unix_duration(Duration::from_secs(secs))
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

fn load_or_create_key(path: &Path) -> Result<SigningKey, Error> {
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
fn load_or_create_secret(path: &Path) -> Result<String, Error> {
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
fn private_dir(dir: &Path) -> Result<(), Error> {
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
fn read_private(path: &Path) -> Result<String, Error> {
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
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
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

/// Whether `authorization` (an `Authorization` header) is `Bearer SECRET`,
/// compared in constant time.
fn bears_secret(authorization: Option<&str>, secret: &str) -> bool {
    let Some(given) = authorization.and_then(|a| {
        a.get(..7)
            .filter(|p| p.eq_ignore_ascii_case("bearer "))
            .and(a.get(7..))
    }) else {
        return false;
    };
    given.len() == secret.len()
        && given
            .bytes()
            .zip(secret.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

fn pem_cert(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap_or_default()
}

impl Testbed {
    /// Starts a testbed in `config.dir` (its keys, certificates and log are
    /// reused when present) serving on 127.0.0.1.
    pub fn start(config: &Config) -> Result<Testbed, Error> {
        Testbed::start_with(config, &Options::default())
    }

    /// Like [`Testbed::start`], with options (Rekor v2 mode).
    pub fn start_with(config: &Config, options: &Options) -> Result<Testbed, Error> {
        let dir = config.dir.clone();
        let keys = dir.join("keys");
        private_dir(&keys)?;
        let client_secret = load_or_create_secret(&keys.join(CLIENT_SECRET))?;
        let root_key = load_or_create_key(&keys.join("fulcio-root.pem"))?;
        let intermediate_key = load_or_create_key(&keys.join("fulcio-intermediate.pem"))?;
        let ct_key = load_or_create_key(&keys.join("ctlog.pem"))?;
        let rekor_key = load_or_create_key(&keys.join("rekor.pem"))?;
        let oidc_key = load_or_create_key(&keys.join("oidc.pem"))?;

        let state_path = dir.join("state.json");
        let state: Option<Value> = match std::fs::read(&state_path) {
            Ok(bytes) => Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| Error::Internal(format!("{}: {e}", state_path.display())))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&state_path, e)),
        };
        let listener = TcpListener::bind(("127.0.0.1", config.port)).map_err(|e| {
            Error::Internal(format!("cannot listen on 127.0.0.1:{}: {e}", config.port))
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Internal(e.to_string()))?
            .port();
        let url = format!("http://127.0.0.1:{port}");

        let (created, tree_id, root, intermediate) = match &state {
            Some(s) => {
                let get = |name: &str| {
                    s.get(name)
                        .and_then(Value::as_str)
                        .and_then(|b| B64.decode(b).ok())
                        .ok_or_else(|| {
                            Error::Internal(format!("{}: no {name}", state_path.display()))
                        })
                };
                let created = s.get("created").and_then(Value::as_i64).unwrap_or_else(now);
                let tree_id = s.get("treeId").and_then(Value::as_u64).unwrap_or(1);
                let root = Authority::restore(root_key, get("root")?)?;
                let intermediate = Authority::restore(intermediate_key, get("intermediate")?)?;
                (created, tree_id, root, intermediate)
            }
            None => {
                let created = now();
                let (from, until) = (created - 3600, created + 10 * 365 * 86400);
                let root = Authority::new(root_key, "toto testbed root", None, from, until)?;
                let intermediate = Authority::new(
                    intermediate_key,
                    "toto testbed intermediate",
                    Some(&root),
                    from,
                    until,
                )?;
                let mut id = [0u8; 8];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
                let tree_id = u64::from_be_bytes(id) >> 1;
                (created, tree_id, root, intermediate)
            }
        };
        let mut state_out = json!({
            "created": created,
            "treeId": tree_id,
            "url": url,
            "root": B64.encode(root.cert_der()),
            "intermediate": B64.encode(intermediate.cert_der()),
        });
        let tsa = if options.rekor_v2 {
            let tsa_root_key = load_or_create_key(&keys.join("tsa-root.pem"))?;
            let tsa_key = load_or_create_key(&keys.join("tsa.pem"))?;
            let stored = |name: &str| {
                state
                    .as_ref()
                    .and_then(|s| s.get(name))
                    .and_then(Value::as_str)
                    .and_then(|b| B64.decode(b).ok())
            };
            let (tsa_root, tsa_leaf) = match (stored("tsaRoot"), stored("tsaLeaf")) {
                (Some(r), Some(l)) => (Authority::restore(tsa_root_key, r)?.cert_der().to_vec(), l),
                _ => {
                    let (from, until) = (created - 3600, created + 10 * 365 * 86400);
                    let root =
                        Authority::new(tsa_root_key, "toto testbed TSA root", None, from, until)?;
                    let leaf = root.issue_tsa(&tsa_key, "toto testbed TSA", from, until)?;
                    (root.cert_der().to_vec(), leaf)
                }
            };
            if let Some(s) = state_out.as_object_mut() {
                s.insert("tsaRoot".into(), json!(B64.encode(&tsa_root)));
                s.insert("tsaLeaf".into(), json!(B64.encode(&tsa_leaf)));
            }
            Some(tsa::Tsa::new(tsa_key, tsa_leaf, tsa_root)?)
        } else {
            // Keep a TSA created in an earlier Rekor v2 run.
            for name in ["tsaRoot", "tsaLeaf"] {
                if let (Some(v), Some(out)) = (
                    state.as_ref().and_then(|s| s.get(name)),
                    state_out.as_object_mut(),
                ) {
                    out.insert(name.into(), v.clone());
                }
            }
            None
        };
        let state = state_out;
        write_file(&state_path, format!("{state:#}\n").as_bytes())?;

        let ct_spki = pki::spki_der(&ct_key)?;
        let rekor_spki = pki::spki_der(&rekor_key)?;
        let log = log::Log::open(rekor_key, tree_id, Some(&dir.join("log.jsonl")))?;
        let v2 = if options.rekor_v2 {
            let key = load_or_create_key(&keys.join("rekor-v2.pem"))?;
            let spki = pki::spki_der(&key)?;
            let log = log::Log::open_v2(key, Some(&dir.join("log-v2.jsonl")))?;
            Some((spki, Mutex::new(log)))
        } else {
            None
        };
        let shared = Arc::new(Shared {
            url,
            created,
            oidc_key,
            client_secret,
            root,
            intermediate,
            ct: CtLog::new(ct_key)?,
            ct_spki,
            rekor_spki,
            log: Mutex::new(log),
            v2,
            tsa,
            faults: Mutex::new(Faults::default()),
            active: AtomicUsize::new(0),
            requests: Mutex::new(std::collections::BTreeMap::new()),
            devices: Mutex::new(Vec::new()),
        });
        let testbed_files = [
            ("trusted_root.json", shared.trusted_root()),
            ("signing_config.json", shared.signing_config()),
            ("trust_config.json", shared.trust_config()),
        ];
        for (name, value) in testbed_files {
            write_file(&dir.join(name), format!("{value:#}\n").as_bytes())?;
        }

        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("testbed".into())
                .spawn(move || serve(&listener, &shared, &stop))
                .map_err(|e| Error::Internal(format!("cannot start a thread: {e}")))?
        };
        Ok(Testbed {
            shared,
            dir,
            stop,
            port,
            thread: Some(thread),
        })
    }

    /// The base URL of every service (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// The OIDC issuer URL of tokens minted for plain identities.
    pub fn issuer(&self) -> &str {
        &self.shared.url
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the written `trust_config.json`.
    pub fn trust_config_path(&self) -> PathBuf {
        self.dir.join("trust_config.json")
    }

    /// Path of the written `trusted_root.json`.
    pub fn trusted_root_path(&self) -> PathBuf {
        self.dir.join("trusted_root.json")
    }

    /// The client secret that `POST /oauth/token`, the device-flow approval
    /// and the GitHub Actions token endpoint require (`Authorization:
    /// Bearer SECRET`); also in `keys/client-secret`, mode 0600.
    pub fn client_secret(&self) -> &str {
        &self.shared.client_secret
    }

    /// Mints an identity token.
    pub fn token(&self, request: &TokenRequest) -> Result<String, Error> {
        let claims = oidc::claims(request, &self.shared.url, now())?;
        Ok(oidc::mint(&self.shared.oidc_key, &claims))
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    /// How many requests for `path` (e.g. `/api/v2/signingCert`) it has served.
    pub fn requests(&self, path: &str) -> usize {
        lock(&self.shared.requests).get(path).copied().unwrap_or(0)
    }

    /// Number of log entries.
    pub fn log_size(&self) -> usize {
        lock(&self.shared.log).size()
    }

    /// Number of Rekor v2 log entries (0 unless in Rekor v2 mode).
    pub fn log_v2_size(&self) -> usize {
        self.shared
            .v2
            .as_ref()
            .map_or(0, |(_, log)| lock(log).size())
    }

    /// Stops serving (also done on drop).
    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Mints a token with the OIDC key of the testbed whose state is in `dir`
/// (it need not be running; the issuer is the URL it last served on).
pub fn token_from_dir(dir: &Path, request: &TokenRequest) -> Result<String, Error> {
    let key_path = dir.join("keys").join("oidc.pem");
    if !key_path.exists() {
        return Err(Error::Internal(format!(
            "{} is not a testbed directory (no keys/oidc.pem); start one with `toto testbed serve --dir {}`",
            dir.display(),
            dir.display()
        )));
    }
    let key = load_or_create_key(&key_path)?;
    let state_path = dir.join("state.json");
    let state: Value = std::fs::read(&state_path)
        .map_err(|e| Error::io(&state_path, e))
        .and_then(|b| {
            serde_json::from_slice(&b)
                .map_err(|e| Error::Internal(format!("{}: {e}", state_path.display())))
        })?;
    let issuer = state
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Internal(format!("{}: no url", state_path.display())))?;
    let claims = oidc::claims(request, issuer, now())?;
    Ok(oidc::mint(&key, &claims))
}

/// The client secret of the testbed whose state is in `dir` (see
/// [`Testbed::client_secret`]): readable only by the user who started it.
pub fn client_secret_from_dir(dir: &Path) -> Result<String, Error> {
    read_private(&dir.join("keys").join(CLIENT_SECRET)).map(|s| s.trim().to_owned())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn serve(listener: &TcpListener, shared: &Arc<Shared>, stop: &AtomicBool) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        if shared.active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            http::write_response(&stream, &http::Response::error(503, "too many connections"));
            continue;
        }
        shared.active.fetch_add(1, Ordering::SeqCst);
        let worker = Arc::clone(shared);
        let spawned = std::thread::Builder::new().spawn(move || {
            let response = match http::read_request(&stream) {
                Ok(request) => worker.handle(&request),
                Err(response) => response,
            };
            http::write_response(&stream, &response);
            worker.active.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            shared.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn to_response(result: Result<http::Response, Error>) -> http::Response {
    match result {
        Ok(r) => r,
        Err(Error::BadRequest(m)) => http::Response::error(400, &m),
        Err(Error::Unauthorized(m)) => http::Response::error(401, &m),
        Err(e) => http::Response::error(500, &e.to_string()),
    }
}

fn json_body(request: &http::Request) -> Result<Value, Error> {
    serde_json::from_slice(&request.body)
        .map_err(|e| Error::BadRequest(format!("request body is not JSON: {e}")))
}

fn b64_field(v: &Value, what: &str) -> Result<Vec<u8>, Error> {
    v.as_str()
        .and_then(|s| B64.decode(s).ok())
        .ok_or_else(|| Error::BadRequest(format!("{what} is not base64")))
}

fn str_field<'a>(v: &'a Value, pointer: &str) -> Result<&'a str, Error> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::BadRequest(format!("{pointer} missing")))
}

fn garbage() -> http::Response {
    http::Response {
        status: 201,
        content_type: "application/json",
        body: b"<html>not json".to_vec(),
    }
}

/// What a service answers under an injected fault, if one is set: `503
/// {service} is down` when it is down, else `garbled` (a garbage answer)
/// when there is one.
fn injected(service: &str, down: bool, garbled: Option<http::Response>) -> Option<http::Response> {
    if down {
        return Some(http::Response::error(
            503,
            &format!("{service} is down (injected fault)"),
        ));
    }
    garbled
}

impl Shared {
    fn handle(&self, request: &http::Request) -> http::Response {
        *lock(&self.requests)
            .entry(request.path.clone())
            .or_insert(0) += 1;
        let faults = lock(&self.faults).clone();
        if let Some(delay) = faults.delay {
            std::thread::sleep(delay);
        }
        let route = (request.method.as_str(), request.path.as_str());
        match route {
            ("GET", "/.well-known/openid-configuration") => http::Response::json(
                200,
                &json!({
                    "issuer": self.url,
                    "jwks_uri": format!("{}/oauth/jwks", self.url),
                    "token_endpoint": format!("{}/oauth/token", self.url),
                    "device_authorization_endpoint": format!("{}/oauth/device/code", self.url),
                    "grant_types_supported": [DEVICE_GRANT],
                    "response_types_supported": ["id_token"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["ES256"],
                }),
            ),
            ("GET", "/oauth/jwks") => http::Response::json(200, &oidc::jwks(&self.oidc_key)),
            ("POST", "/oauth/token") if request.body.first() == Some(&b'{') => {
                to_response(self.mint(request))
            }
            ("POST", "/oauth/token") => self.device_token(request),
            ("POST", "/oauth/device/code") => to_response(self.device_code()),
            ("POST", "/oauth/device/approve") => to_response(self.device_approve(request)),
            ("GET", "/github-actions/token") => to_response(self.github_token(request)),
            ("POST", "/api/v2/signingCert") => injected(
                "fulcio",
                faults.fulcio_down,
                faults.fulcio_garbage.then(garbage),
            )
            .unwrap_or_else(|| to_response(self.signing_cert(request, &faults))),
            ("GET", "/api/v2/trustBundle") => http::Response::json(
                200,
                &json!({"chains": [{"certificates": [
                    pem_cert(self.intermediate.cert_der()),
                    pem_cert(self.root.cert_der()),
                ]}]}),
            ),
            ("POST", "/api/v1/log/entries") => injected(
                "rekor",
                faults.rekor_down,
                faults.rekor_garbage.then(garbage),
            )
            .unwrap_or_else(|| to_response(self.log_entry(request, &faults))),
            ("POST", "/api/v2/log/entries") if self.v2.is_some() => injected(
                "rekor",
                faults.rekor_down,
                faults.rekor_garbage.then(garbage),
            )
            .unwrap_or_else(|| to_response(self.log_entry_v2(request, &faults))),
            ("POST", "/api/v1/timestamp") if self.tsa.is_some() => {
                let not_der = || http::Response {
                    status: 200,
                    content_type: "application/timestamp-reply",
                    body: b"not DER".to_vec(),
                };
                injected("the TSA", faults.tsa_down, faults.tsa_garbage.then(not_der))
                    .unwrap_or_else(|| to_response(self.timestamp(request, &faults)))
            }
            ("GET", "/api/v1/timestamp/certchain") if self.tsa.is_some() => {
                let mut chain = String::new();
                if let Some(tsa) = &self.tsa {
                    chain.push_str(&pem_cert(tsa.leaf_der()));
                    chain.push_str(&pem_cert(tsa.root_der()));
                }
                http::Response {
                    status: 200,
                    content_type: "application/pem-certificate-chain",
                    body: chain.into_bytes(),
                }
            }
            ("GET", "/api/v1/log/entries") => to_response(self.get_entry(request)),
            ("GET", "/api/v1/log") => http::Response::json(200, &lock(&self.log).info()),
            ("GET", "/api/v1/log/proof") => to_response(self.consistency(request)),
            ("GET", "/api/v1/log/publicKey") => http::Response {
                status: 200,
                content_type: "application/x-pem-file",
                body: der::pem::encode_string(
                    "PUBLIC KEY",
                    der::pem::LineEnding::LF,
                    &self.rekor_spki,
                )
                .unwrap_or_default()
                .into_bytes(),
            },
            (
                _,
                "/.well-known/openid-configuration"
                | "/oauth/jwks"
                | "/oauth/token"
                | "/api/v2/signingCert"
                | "/api/v1/log/entries"
                | "/api/v1/log"
                | "/api/v1/log/proof",
            ) => http::Response::error(405, "method not allowed"),
            (_, "/api/v2/log/entries" | "/api/v1/timestamp") if self.v2.is_some() => {
                http::Response::error(405, "method not allowed")
            }
            _ => http::Response::error(404, &format!("no such endpoint: {}", request.path)),
        }
    }

    /// RFC 8628 §3.1–3.2: a device code for a terminal, a user code for the
    /// person (who approves it with `POST /oauth/device/approve`, the
    /// testbed's stand-in for a browser login).
    fn device_code(&self) -> Result<http::Response, Error> {
        let mut random = [0u8; 20];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
        let device_code = hex::encode(random);
        const LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
        let user: String = random
            .iter()
            .take(8)
            .map(|b| {
                char::from(
                    LETTERS
                        .get(usize::from(*b) % LETTERS.len())
                        .copied()
                        .unwrap_or(b'B'),
                )
            })
            .collect();
        let user_code = format!(
            "{}-{}",
            user.get(..4).unwrap_or_default(),
            user.get(4..).unwrap_or_default()
        );
        let now = now();
        let mut devices = lock(&self.devices);
        devices.retain(|d| d.expires > now);
        if devices.len() >= MAX_DEVICES {
            return Err(Error::BadRequest(
                "too many device logins in progress".into(),
            ));
        }
        devices.push(Device {
            device_code: device_code.clone(),
            user_code: user_code.clone(),
            expires: now + 600,
            identity: None,
        });
        Ok(http::Response::json(
            200,
            &json!({
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": format!("{}/oauth/device", self.url),
                "verification_uri_complete": format!("{}/oauth/device?user_code={user_code}", self.url),
                "expires_in": 600,
                "interval": 1,
            }),
        ))
    }

    /// Refuses a request that does not carry the client secret.
    fn check_secret(&self, request: &http::Request, what: &str) -> Result<(), Error> {
        if bears_secret(request.authorization.as_deref(), &self.client_secret) {
            return Ok(());
        }
        Err(Error::Unauthorized(format!(
            "{what} needs Authorization: Bearer <the testbed's client secret, in {}>",
            Path::new("keys").join(CLIENT_SECRET).display()
        )))
    }

    /// The person at the browser logs in as `identity` and approves `user_code`.
    fn device_approve(&self, request: &http::Request) -> Result<http::Response, Error> {
        self.check_secret(request, "approving a device login")?;
        let body = json_body(request)?;
        let code = str_field(&body, "/user_code")?;
        let identity = str_field(&body, "/identity")?;
        let mut devices = lock(&self.devices);
        let device = devices
            .iter_mut()
            .find(|d| d.user_code == code && d.expires > now())
            .ok_or_else(|| Error::BadRequest(format!("no device login with code {code}")))?;
        device.identity = Some(identity.to_owned());
        Ok(http::Response::json(200, &json!({"approved": code})))
    }

    /// RFC 8628 §3.4–3.5: the terminal polls until the person approves.
    fn device_token(&self, request: &http::Request) -> http::Response {
        let form = String::from_utf8_lossy(&request.body).into_owned();
        let field = |name: &str| {
            form.split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (k == name).then(|| v.replace("%3A", ":").replace("%3a", ":"))
            })
        };
        let oauth_error = |code: &str| http::Response::json(400, &json!({"error": code}));
        if field("grant_type").as_deref() != Some(DEVICE_GRANT) {
            return oauth_error("unsupported_grant_type");
        }
        let Some(device_code) = field("device_code") else {
            return oauth_error("invalid_request");
        };
        let now = now();
        let mut devices = lock(&self.devices);
        let Some(position) = devices.iter().position(|d| d.device_code == device_code) else {
            return oauth_error("invalid_grant");
        };
        let Some(device) = devices.get(position).cloned() else {
            return oauth_error("invalid_grant");
        };
        if device.expires <= now {
            devices.remove(position);
            return oauth_error("expired_token");
        }
        let Some(identity) = device.identity else {
            return oauth_error("authorization_pending");
        };
        devices.remove(position);
        drop(devices);
        let token_request = TokenRequest {
            identity,
            ..TokenRequest::default()
        };
        match oidc::claims(&token_request, &self.url, now) {
            Ok(claims) => {
                let token = oidc::mint(&self.oidc_key, &claims);
                http::Response::json(
                    200,
                    &json!({"id_token": token, "access_token": token, "token_type": "Bearer", "expires_in": 600}),
                )
            }
            Err(e) => to_response(Err(e)),
        }
    }

    fn mint(&self, request: &http::Request) -> Result<http::Response, Error> {
        self.check_secret(request, "minting a token")?;
        let body = json_body(request)?;
        let token_request = TokenRequest {
            identity: body
                .get("identity")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            github_workflow: body
                .get("github_workflow")
                .and_then(Value::as_str)
                .map(str::to_owned),
            audience: body
                .get("audience")
                .and_then(Value::as_str)
                .map(str::to_owned),
            lifetime: body.get("lifetime").and_then(Value::as_i64),
        };
        let claims = oidc::claims(&token_request, &self.url, now())?;
        let token = oidc::mint(&self.oidc_key, &claims);
        Ok(http::Response::json(
            200,
            &json!({"id_token": token, "access_token": token, "token_type": "Bearer", "expires_in": 600}),
        ))
    }

    /// GitHub Actions' ID-token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`,
    /// with the client secret as `ACTIONS_ID_TOKEN_REQUEST_TOKEN`): the
    /// workflow comes from the `workflow` query parameter.
    fn github_token(&self, request: &http::Request) -> Result<http::Response, Error> {
        // The runner's ACTIONS_ID_TOKEN_REQUEST_TOKEN: here the client secret.
        self.check_secret(
            request,
            "a GitHub Actions token (ACTIONS_ID_TOKEN_REQUEST_TOKEN)",
        )?;
        let workflow = request
            .param("workflow")
            .ok_or_else(|| Error::BadRequest("workflow query parameter missing".into()))?;
        let token_request = TokenRequest {
            github_workflow: Some(workflow),
            audience: request.param("audience"),
            ..TokenRequest::default()
        };
        let claims = oidc::claims(&token_request, &self.url, now())?;
        Ok(http::Response::json(
            200,
            &json!({"count": 1, "value": oidc::mint(&self.oidc_key, &claims)}),
        ))
    }

    fn signing_cert(
        &self,
        request: &http::Request,
        faults: &Faults,
    ) -> Result<http::Response, Error> {
        let body = json_body(request)?;
        let token = match request.authorization.as_deref() {
            Some(a) if a.len() > 7 && a.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("bearer ")) => {
                a.get(7..).unwrap_or_default().to_owned()
            }
            _ => str_field(&body, "/credentials/oidcIdentityToken")
                .map_err(|_| Error::Unauthorized("no identity token (Authorization: Bearer, or credentials.oidcIdentityToken)".into()))?
                .to_owned(),
        };
        if faults.fulcio_hostile_error {
            let message = format!(
                "refused\n::error::injected by the service\r\n##[error]{token} Bearer {token}\u{2028}{}",
                "padding ".repeat(512)
            );
            return Ok(http::Response::json(500, &json!({ "message": message })));
        }
        let now = now();
        let claims = oidc::verify(&self.oidc_key, &token, now)?;
        let (identity, issuer, extra) = map_claims(&claims)?;
        let spki = if let Some(csr) = body.get("certificateSigningRequest") {
            let pem = b64_field(csr, "certificateSigningRequest")?;
            let pem = String::from_utf8(pem)
                .map_err(|_| Error::BadRequest("certificateSigningRequest is not PEM".into()))?;
            pki::spki_from_csr(&pem)?
        } else {
            let content = str_field(&body, "/publicKeyRequest/publicKey/content")?;
            let spki = pki::spki_from_pem(content.as_bytes())?;
            let proof = b64_field(
                body.pointer("/publicKeyRequest/proofOfPossession")
                    .unwrap_or(&Value::Null),
                "publicKeyRequest.proofOfPossession",
            )?;
            let subject = claims
                .get("email")
                .or_else(|| claims.get("sub"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let key = pki::verifying_key(&spki)?;
            let sig = p256::ecdsa::DerSignature::from_bytes(&proof).map_err(|_| {
                Error::BadRequest("proofOfPossession is not a DER ECDSA signature".into())
            })?;
            p256::ecdsa::signature::Verifier::verify(&key, subject.as_bytes(), &sig).map_err(
                |_| {
                    Error::BadRequest(format!(
                        "proofOfPossession is not a signature over {subject:?}"
                    ))
                },
            )?;
            spki
        };
        let identity = if faults.fulcio_other_identity {
            Identity::Email("mallory@example.com".into())
        } else {
            identity
        };
        let request = LeafRequest {
            spki,
            identity,
            issuer,
            claims: extra,
            without_sct: faults.fulcio_without_sct,
        };
        let chain = if faults.fulcio_untrusted_ca {
            let ca = forge::other_root("untrusted CA", now)?;
            let leaf = ca.issue_leaf(&request, &self.ct, now)?;
            vec![pem_cert(&leaf), pem_cert(ca.cert_der())]
        } else {
            let leaf = if faults.fulcio_unknown_ct_log {
                let ct = forge::other_ct_log()?;
                self.intermediate.issue_leaf(&request, &ct, now)?
            } else if faults.fulcio_without_code_signing {
                let ct = (!request.without_sct).then_some(&self.ct);
                self.intermediate.issue_leaf_with(
                    &request,
                    ct,
                    now,
                    now + 600,
                    &[pki::TIME_STAMPING],
                    pki::LeafKeyUsage::DigitalSignature,
                )?
            } else {
                self.intermediate.issue_leaf(&request, &self.ct, now)?
            };
            vec![
                pem_cert(&leaf),
                pem_cert(self.intermediate.cert_der()),
                pem_cert(self.root.cert_der()),
            ]
        };
        Ok(http::Response::json(
            201,
            &json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}}),
        ))
    }

    fn log_entry(&self, request: &http::Request, faults: &Faults) -> Result<http::Response, Error> {
        let proposed = json_body(request)?;
        let body = canonical_body(&proposed)?;
        let mut log = lock(&self.log);
        let index = log.append(body, now())?;
        let (uuid, mut entry) = log
            .entry_json(index)
            .ok_or_else(|| Error::Internal("entry vanished".into()))?;
        drop(log);
        if faults.rekor_bad_proof {
            if let Some(root) = entry.pointer_mut("/verification/inclusionProof/rootHash") {
                *root = json!(hex::encode([0x42u8; 32]));
            }
        }
        if faults.rekor_other_body {
            if let Some(body) = entry.get_mut("body") {
                let other = json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {}});
                *body = json!(B64.encode(other.to_string()));
            }
        }
        Ok(http::Response::json(201, &json!({ uuid: entry })))
    }

    /// `POST /api/v2/log/entries`: checks the request (its signature
    /// included), logs the canonical body, answers the `TransparencyLogEntry`.
    fn log_entry_v2(
        &self,
        request: &http::Request,
        faults: &Faults,
    ) -> Result<http::Response, Error> {
        let (_, log) = self
            .v2
            .as_ref()
            .ok_or_else(|| Error::Internal("not in Rekor v2 mode".into()))?;
        let proposed = json_body(request)?;
        let (kind, body) = canonical_body_v2(&proposed)?;
        let mut log = lock(log);
        let index = log.append(body, now())?;
        let mut entry = log
            .entry_v2_json(index, kind)
            .ok_or_else(|| Error::Internal("entry vanished".into()))?;
        drop(log);
        if faults.rekor_bad_proof {
            // Spoil the audit path (a one-entry tree has none: add a hash),
            // so it no longer leads to the checkpoint's root.
            if let Some(hashes) = entry
                .pointer_mut("/inclusionProof/hashes")
                .and_then(Value::as_array_mut)
            {
                let bogus = json!(B64.encode([0x42u8; 32]));
                match hashes.first_mut() {
                    Some(first) => *first = bogus,
                    None => hashes.push(bogus),
                }
            }
        }
        if faults.rekor_other_body {
            if let Some(body) = entry.get_mut("canonicalizedBody") {
                let other = json!({"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": {}});
                *body = json!(B64.encode(other.to_string()));
            }
        }
        Ok(http::Response::json(201, &entry))
    }

    /// `POST /api/v1/timestamp`: an RFC 3161 answer for a DER request.
    fn timestamp(&self, request: &http::Request, faults: &Faults) -> Result<http::Response, Error> {
        let tsa = self
            .tsa
            .as_ref()
            .ok_or_else(|| Error::Internal("no TSA".into()))?;
        let body = if faults.tsa_other_imprint {
            // The request is still checked; the answer stamps another message.
            tsa::parse_request(&request.body)?;
            tsa.respond(&tsa::request_for(b"something else", &[1]), now())?
        } else {
            tsa.respond(&request.body, now())?
        };
        let body = if faults.tsa_tampered {
            tamper_timestamp(body)
        } else {
            body
        };
        Ok(http::Response {
            status: 200,
            content_type: "application/timestamp-reply",
            body,
        })
    }

    fn get_entry(&self, request: &http::Request) -> Result<http::Response, Error> {
        let index: usize = request
            .param("logIndex")
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| Error::BadRequest("logIndex query parameter missing".into()))?;
        let log = lock(&self.log);
        match log.entry_json(index) {
            Some((uuid, entry)) => Ok(http::Response::json(200, &json!({ uuid: entry }))),
            None => Ok(http::Response::error(404, "no entry at that index")),
        }
    }

    fn consistency(&self, request: &http::Request) -> Result<http::Response, Error> {
        let size = |name: &str| {
            request
                .param(name)
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| Error::BadRequest(format!("{name} query parameter missing")))
        };
        let (first, last) = (size("firstSize")?, size("lastSize")?);
        let log = lock(&self.log);
        let hashes = log.consistency(first, last).ok_or_else(|| {
            Error::BadRequest(format!("no consistency proof from {first} to {last}"))
        })?;
        Ok(http::Response::json(
            200,
            &json!({
                "rootHash": hex::encode(log.root_at(last)),
                "hashes": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
            }),
        ))
    }

    fn trusted_root(&self) -> Value {
        let start = rfc3339(self.created - 3600);
        let key = |spki: &[u8], url: &str| {
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": B64.encode(spki),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": start},
                },
                "logId": {"keyId": B64.encode(Sha256::digest(spki))},
            })
        };
        let mut tlogs = vec![key(&self.rekor_spki, &self.url)];
        if let Some((spki, _)) = &self.v2 {
            tlogs.push(key(spki, &self.url));
        }
        let tsas: Vec<Value> = self
            .tsa
            .iter()
            .map(|tsa| {
                json!({
                    "subject": {"organization": "toto testbed", "commonName": "toto testbed TSA"},
                    "uri": format!("{}/api/v1/timestamp", self.url),
                    "certChain": {"certificates": [
                        {"rawBytes": B64.encode(tsa.leaf_der())},
                        {"rawBytes": B64.encode(tsa.root_der())},
                    ]},
                    "validFor": {"start": start},
                })
            })
            .collect();
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": tlogs,
            "certificateAuthorities": [{
                "subject": {"organization": "toto testbed", "commonName": "toto testbed intermediate"},
                "uri": self.url,
                "certChain": {"certificates": [
                    {"rawBytes": B64.encode(self.intermediate.cert_der())},
                    {"rawBytes": B64.encode(self.root.cert_der())},
                ]},
                "validFor": {"start": start},
            }],
            "ctlogs": [key(&self.ct_spki, &self.url)],
            "timestampAuthorities": tsas,
        })
    }

    fn signing_config(&self) -> Value {
        let start = rfc3339(self.created - 3600);
        let service = |version: u32| json!([{"url": self.url, "majorApiVersion": version, "validFor": {"start": start}, "operator": "toto-testbed"}]);
        let mut rekors = service(1);
        let mut tsas = json!([]);
        if self.v2.is_some() {
            // Both versions, one operator: clients pick the highest they
            // support (sigstore-python's rule; `--rekor-version 1` forces v1).
            if let Some(list) = rekors.as_array_mut() {
                list.insert(0, json!({"url": self.url, "majorApiVersion": 2, "validFor": {"start": start}, "operator": "toto-testbed"}));
            }
        }
        if self.tsa.is_some() {
            tsas = json!([{"url": format!("{}/api/v1/timestamp", self.url), "majorApiVersion": 1, "validFor": {"start": start}, "operator": "toto-testbed"}]);
        }
        json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": service(1),
            "oidcUrls": service(1),
            "rekorTlogUrls": rekors,
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaUrls": tsas,
            "tsaConfig": {"selector": "ANY"},
        })
    }

    fn trust_config(&self) -> Value {
        json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": self.trusted_root(),
            "signingConfig": self.signing_config(),
        })
    }
}

/// Fulcio's mapping from token claims to the certificate's SAN, issuer and
/// further claims.
fn map_claims(claims: &Value) -> Result<(Identity, String, Vec<Claim>), Error> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let issuer = text("iss")
        .ok_or_else(|| Error::Unauthorized("identity token has no iss".into()))?
        .to_owned();
    if issuer == oidc::GITHUB_ISSUER {
        let workflow = text("job_workflow_ref")
            .ok_or_else(|| Error::Unauthorized("GitHub token without job_workflow_ref".into()))?;
        let repository = text("repository").unwrap_or_default();
        let uri = format!("https://github.com/{workflow}");
        let oid = |n: u32| const_oid::ObjectIdentifier::new(&format!("1.3.6.1.4.1.57264.1.{n}"));
        let mut extra = Vec::new();
        let mut add = |n: u32, value: ClaimValue| {
            if let Ok(oid) = oid(n) {
                extra.push(Claim { oid, value });
            }
        };
        let raw = |s: Option<&str>| ClaimValue::Raw(s.unwrap_or_default().to_owned());
        let utf8 = |s: String| ClaimValue::Utf8(s);
        add(2, raw(text("event_name")));
        add(3, raw(text("sha")));
        add(4, raw(text("workflow")));
        add(5, raw(Some(repository)));
        add(6, raw(text("ref")));
        add(9, utf8(uri.clone()));
        add(
            11,
            utf8(text("runner_environment").unwrap_or_default().to_owned()),
        );
        add(12, utf8(format!("https://github.com/{repository}")));
        add(13, utf8(text("sha").unwrap_or_default().to_owned()));
        add(14, utf8(text("ref").unwrap_or_default().to_owned()));
        add(18, utf8(uri.clone()));
        add(20, utf8(text("event_name").unwrap_or_default().to_owned()));
        add(
            21,
            utf8(format!(
                "https://github.com/{repository}/actions/runs/{}/attempts/{}",
                text("run_id").unwrap_or("1"),
                text("run_attempt").unwrap_or("1")
            )),
        );
        return Ok((Identity::Uri(uri), issuer, extra));
    }
    if let Some(email) = text("email") {
        if claims.get("email_verified").and_then(Value::as_bool) != Some(true) {
            return Err(Error::Unauthorized(
                "email is not verified (email_verified)".into(),
            ));
        }
        return Ok((Identity::Email(email.to_owned()), issuer, Vec::new()));
    }
    let sub = text("sub").ok_or_else(|| Error::Unauthorized("identity token has no sub".into()))?;
    Ok((Identity::Uri(sub.to_owned()), issuer, Vec::new()))
}

/// Checks a proposed Rekor entry (`hashedrekord` or `dsse` 0.0.1, its
/// signatures included) and returns the body Rekor stores: canonical JSON,
/// sorted keys, no whitespace.
pub fn canonical_body(proposed: &Value) -> Result<Vec<u8>, Error> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::ecdsa::signature::Verifier;
    let kind = str_field(proposed, "/kind")?;
    let version = str_field(proposed, "/apiVersion")?;
    match (kind, version) {
        ("hashedrekord", "0.0.1") => {
            let algorithm = str_field(proposed, "/spec/data/hash/algorithm")?;
            let digest_hex = str_field(proposed, "/spec/data/hash/value")?;
            let digest = hex::decode(digest_hex)
                .ok()
                .filter(|d| d.len() == 32 && algorithm == "sha256")
                .ok_or_else(|| {
                    Error::BadRequest("spec.data.hash must be sha256 with 64 hex digits".into())
                })?;
            let sig_b64 = str_field(proposed, "/spec/signature/content")?;
            let pem_b64 = str_field(proposed, "/spec/signature/publicKey/content")?;
            let sig = B64
                .decode(sig_b64)
                .ok()
                .and_then(|s| p256::ecdsa::DerSignature::from_bytes(&s).ok())
                .ok_or_else(|| {
                    Error::BadRequest("spec.signature.content is not a DER ECDSA signature".into())
                })?;
            let pem = B64.decode(pem_b64).map_err(|_| {
                Error::BadRequest("spec.signature.publicKey.content is not base64".into())
            })?;
            let key = pki::verifying_key(&pki::spki_from_pem(&pem)?)?;
            key.verify_prehash(&digest, &sig).map_err(|_| {
                Error::BadRequest("the signature does not verify over the digest".into())
            })?;
            let body = json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": "sha256", "value": digest_hex.to_ascii_lowercase()}},
                    "signature": {"content": sig_b64, "publicKey": {"content": pem_b64}},
                },
            });
            Ok(body.to_string().into_bytes())
        }
        ("dsse", "0.0.1") => {
            let envelope_text = str_field(proposed, "/spec/proposedContent/envelope")?;
            let envelope: Value = serde_json::from_str(envelope_text)
                .map_err(|e| Error::BadRequest(format!("envelope is not JSON: {e}")))?;
            let payload = b64_field(
                envelope.get("payload").unwrap_or(&Value::Null),
                "envelope payload",
            )?;
            let payload_type = str_field(&envelope, "/payloadType")?;
            let verifiers = proposed
                .pointer("/spec/proposedContent/verifiers")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    Error::BadRequest("spec.proposedContent.verifiers missing".into())
                })?;
            let mut keys = Vec::new();
            for v in verifiers {
                let pem_b64 = v
                    .as_str()
                    .ok_or_else(|| Error::BadRequest("verifier is not a string".into()))?;
                let pem = B64
                    .decode(pem_b64)
                    .map_err(|_| Error::BadRequest("verifier is not base64".into()))?;
                keys.push((
                    pem_b64.to_owned(),
                    pki::verifying_key(&pki::spki_from_pem(&pem)?)?,
                ));
            }
            let pae = {
                let mut p = format!("DSSEv1 {} {} ", payload_type.len(), payload_type).into_bytes();
                p.extend_from_slice(format!("{} ", payload.len()).as_bytes());
                p.extend_from_slice(&payload);
                p
            };
            let mut signatures = Vec::new();
            for s in envelope
                .get("signatures")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let sig_b64 = s.get("sig").and_then(Value::as_str).unwrap_or_default();
                let sig = B64
                    .decode(sig_b64)
                    .ok()
                    .and_then(|b| p256::ecdsa::DerSignature::from_bytes(&b).ok())
                    .ok_or_else(|| {
                        Error::BadRequest("envelope signature is not a DER ECDSA signature".into())
                    })?;
                let verifier = keys
                    .iter()
                    .find(|(_, k)| k.verify(&pae, &sig).is_ok())
                    .ok_or_else(|| {
                        Error::BadRequest("an envelope signature verifies with no verifier".into())
                    })?;
                signatures.push(json!({"signature": sig_b64, "verifier": verifier.0}));
            }
            if signatures.is_empty() {
                return Err(Error::BadRequest("the envelope has no signatures".into()));
            }
            let body = json!({
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope_text.as_bytes()))},
                    "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(&payload))},
                    "signatures": signatures,
                },
            });
            Ok(body.to_string().into_bytes())
        }
        _ => Err(Error::BadRequest(format!(
            "entries of kind {kind} {version} are not supported (hashedrekord 0.0.1, dsse 0.0.1)"
        ))),
    }
}

/// Flips a bit in the ECDSA signature at the end of a `TimeStampResp`
/// token, keeping the DER well-formed: the token parses, its signature
/// does not verify.
fn tamper_timestamp(mut der: Vec<u8>) -> Vec<u8> {
    // The token ends with the SignerInfo's signature OCTET STRING, whose
    // last byte is the low byte of ECDSA's `s`.
    if let Some(last) = der.last_mut() {
        *last ^= 0x01;
    }
    der
}

/// Largest Rekor v2 signature or certificate accepted, base64 decoded.
const MAX_V2_FIELD_BYTES: usize = 16 * 1024;

fn v2_b64(v: &Value, pointer: &str) -> Result<Vec<u8>, Error> {
    let text = str_field(v, pointer)?;
    if text.len() > MAX_V2_FIELD_BYTES * 4 / 3 + 4 {
        return Err(Error::BadRequest(format!("{pointer} is too long")));
    }
    B64.decode(text)
        .map_err(|_| Error::BadRequest(format!("{pointer} is not base64")))
}

/// A Rekor v2 verifier (`x509Certificate` + `keyDetails`) read from a
/// request: the certificate's P-256 key, and the verifier as logged.
fn v2_verifier(verifier: &Value) -> Result<(p256::ecdsa::VerifyingKey, Value), Error> {
    let details = str_field(verifier, "/keyDetails")?;
    if details != "PKIX_ECDSA_P256_SHA_256" {
        return Err(Error::BadRequest(format!(
            "keyDetails {details} is not supported (PKIX_ECDSA_P256_SHA_256)"
        )));
    }
    if verifier.get("publicKey").is_some() {
        return Err(Error::BadRequest(
            "public-key verifiers are not supported; send x509Certificate".into(),
        ));
    }
    let cert_der = v2_b64(verifier, "/x509Certificate/rawBytes")?;
    let cert = x509_cert::Certificate::from_der(&cert_der).map_err(|e| {
        Error::BadRequest(format!(
            "verifier.x509Certificate is not a certificate: {e}"
        ))
    })?;
    let key = pki::verifying_key(&cert.tbs_certificate.subject_public_key_info)?;
    Ok((
        key,
        json!({
            "keyDetails": details,
            "x509Certificate": {"rawBytes": B64.encode(&cert_der)},
        }),
    ))
}

/// Checks a Rekor v2 `CreateEntryRequest` (`hashedRekordRequestV002` or
/// `dsseRequestV002`, signatures included) and returns the entry kind and
/// the body rekor-tiles logs: `apiVersion` 0.0.2, the spec under
/// `hashedRekordV002` / `dsseV002`, canonical JSON (RFC 8785: sorted keys,
/// no whitespace; every value here is an ASCII string).
pub fn canonical_body_v2(proposed: &Value) -> Result<(&'static str, Vec<u8>), Error> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::ecdsa::signature::Verifier;
    let object = proposed
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| {
            Error::BadRequest(
                "expected exactly one of hashedRekordRequestV002, dsseRequestV002".into(),
            )
        })?;
    if let Some(request) = object.get("hashedRekordRequestV002") {
        let digest = v2_b64(request, "/digest")?;
        if digest.len() != 32 {
            return Err(Error::BadRequest(
                "digest must be a SHA-256 digest (32 bytes)".into(),
            ));
        }
        let content = v2_b64(request, "/signature/content")?;
        let sig = p256::ecdsa::DerSignature::from_bytes(&content).map_err(|_| {
            Error::BadRequest("signature.content is not a DER ECDSA signature".into())
        })?;
        let verifier = request
            .pointer("/signature/verifier")
            .ok_or_else(|| Error::BadRequest("/signature/verifier missing".into()))?;
        let (key, verifier) = v2_verifier(verifier)?;
        key.verify_prehash(&digest, &sig).map_err(|_| {
            Error::BadRequest("the signature does not verify over the digest".into())
        })?;
        let body = json!({
            "apiVersion": "0.0.2",
            "kind": "hashedrekord",
            "spec": {"hashedRekordV002": {
                "data": {"algorithm": "SHA2_256", "digest": B64.encode(&digest)},
                "signature": {"content": B64.encode(&content), "verifier": verifier},
            }},
        });
        return Ok(("hashedrekord", body.to_string().into_bytes()));
    }
    if let Some(request) = object.get("dsseRequestV002") {
        let envelope = request
            .get("envelope")
            .ok_or_else(|| Error::BadRequest("/envelope missing".into()))?;
        let payload = v2_b64(envelope, "/payload")?;
        let payload_type = str_field(envelope, "/payloadType")?;
        let verifiers = request
            .get("verifiers")
            .and_then(Value::as_array)
            .filter(|v| !v.is_empty() && v.len() <= 8)
            .ok_or_else(|| Error::BadRequest("verifiers must list 1 to 8 verifiers".into()))?
            .iter()
            .map(v2_verifier)
            .collect::<Result<Vec<_>, _>>()?;
        let pae = {
            let mut p = format!("DSSEv1 {} {} ", payload_type.len(), payload_type).into_bytes();
            p.extend_from_slice(format!("{} ", payload.len()).as_bytes());
            p.extend_from_slice(&payload);
            p
        };
        let signatures = envelope
            .get("signatures")
            .and_then(Value::as_array)
            .filter(|s| !s.is_empty() && s.len() <= 8)
            .ok_or_else(|| Error::BadRequest("the envelope must have 1 to 8 signatures".into()))?;
        let mut logged = Vec::new();
        for s in signatures {
            let content = v2_b64(s, "/sig")?;
            let sig = p256::ecdsa::DerSignature::from_bytes(&content).map_err(|_| {
                Error::BadRequest("envelope signature is not a DER ECDSA signature".into())
            })?;
            let (_, verifier) = verifiers
                .iter()
                .find(|(k, _)| k.verify(&pae, &sig).is_ok())
                .ok_or_else(|| {
                    Error::BadRequest("an envelope signature verifies with no verifier".into())
                })?;
            logged.push(json!({"content": B64.encode(&content), "verifier": verifier}));
        }
        let body = json!({
            "apiVersion": "0.0.2",
            "kind": "dsse",
            "spec": {"dsseV002": {
                "payloadHash": {"algorithm": "SHA2_256", "digest": B64.encode(Sha256::digest(&payload))},
                "signatures": logged,
            }},
        });
        return Ok(("dsse", body.to_string().into_bytes()));
    }
    Err(Error::BadRequest(
        "expected hashedRekordRequestV002 or dsseRequestV002".into(),
    ))
}

impl Authority {
    fn restore(key: SigningKey, cert_der: Vec<u8>) -> Result<Authority, Error> {
        let cert = x509_cert::Certificate::from_der(&cert_der)
            .map_err(|e| Error::Internal(format!("stored CA certificate: {e}")))?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| Error::Internal(e.to_string()))?;
        if spki != pki::spki_der(&key)? {
            return Err(Error::Internal(
                "stored CA certificate does not match its key".into(),
            ));
        }
        Ok(pki::Authority::from_stored(
            key,
            cert_der,
            cert.tbs_certificate.subject,
            spki,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use p256::ecdsa::signature::Signer;

    /// A certificate for `key` (a self-signed CA certificate will do: the
    /// log only reads the key).
    fn cert_for(key: &SigningKey) -> Vec<u8> {
        Authority::new(key.clone(), "signer", None, 0, 2_000_000_000)
            .unwrap()
            .cert_der()
            .to_vec()
    }

    fn hashedrekord(digest: &[u8], sig: &[u8], cert: &[u8]) -> Value {
        json!({"hashedRekordRequestV002": {
            "digest": B64.encode(digest),
            "signature": {"content": B64.encode(sig), "verifier": {
                "x509Certificate": {"rawBytes": B64.encode(cert)},
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            }},
        }})
    }

    #[test]
    fn v2_hashedrekord_requests_are_checked_and_logged_canonically() {
        let key = SigningKey::from_slice(&[5u8; 32]).unwrap();
        let cert = cert_for(&key);
        let digest = Sha256::digest(b"artifact");
        let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
        let sig = sig.to_der();
        let (kind, body) =
            canonical_body_v2(&hashedrekord(&digest, sig.as_bytes(), &cert)).unwrap();
        assert_eq!(kind, "hashedrekord");
        let text = String::from_utf8(body).unwrap();
        let expected = format!(
            r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"data":{{"algorithm":"SHA2_256","digest":"{}"}},"signature":{{"content":"{}","verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","x509Certificate":{{"rawBytes":"{}"}}}}}}}}}}}}"#,
            B64.encode(digest),
            B64.encode(sig.as_bytes()),
            B64.encode(&cert)
        );
        assert_eq!(text, expected, "sorted keys, no whitespace");

        // A signature over another digest, another key's certificate, a
        // short digest, both request kinds at once: refused.
        let other = Sha256::digest(b"other");
        let other_key = SigningKey::from_slice(&[6u8; 32]).unwrap();
        let bad = [
            hashedrekord(&other, sig.as_bytes(), &cert),
            hashedrekord(&digest, sig.as_bytes(), &cert_for(&other_key)),
            hashedrekord(&digest[..20], sig.as_bytes(), &cert),
            json!({"hashedRekordRequestV002": {}, "dsseRequestV002": {}}),
            json!({"hashedRekordRequestV001": {}}),
            json!("not an object"),
        ];
        for request in bad {
            assert!(
                matches!(canonical_body_v2(&request), Err(Error::BadRequest(_))),
                "{request}"
            );
        }
    }

    #[test]
    fn v2_dsse_requests_log_the_payload_hash_and_verified_signatures() {
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let cert = cert_for(&key);
        let payload = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
        let pae = format!(
            "DSSEv1 28 application/vnd.in-toto+json {} {}",
            payload.len(),
            std::str::from_utf8(payload).unwrap()
        );
        let sig: p256::ecdsa::DerSignature = key.sign(pae.as_bytes());
        let verifier = json!({
            "x509Certificate": {"rawBytes": B64.encode(&cert)},
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        });
        let request = |sig: &[u8]| {
            json!({"dsseRequestV002": {
                "envelope": {
                    "payload": B64.encode(payload),
                    "payloadType": "application/vnd.in-toto+json",
                    "signatures": [{"sig": B64.encode(sig), "keyid": ""}],
                },
                "verifiers": [verifier],
            }})
        };
        let (kind, body) = canonical_body_v2(&request(sig.as_bytes())).unwrap();
        assert_eq!(kind, "dsse");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body.pointer("/spec/dsseV002/payloadHash/digest"),
            Some(&json!(B64.encode(Sha256::digest(payload))))
        );
        assert_eq!(
            body.pointer("/spec/dsseV002/signatures/0/verifier"),
            Some(&verifier)
        );
        let mut forged = sig.as_bytes().to_vec();
        if let Some(last) = forged.last_mut() {
            *last ^= 1;
        }
        assert!(canonical_body_v2(&request(&forged)).is_err());
    }

    #[test]
    fn v2_checkpoints_name_the_origin_alone_with_the_log_id_as_key_hint() {
        let key = SigningKey::from_slice(&[8u8; 32]).unwrap();
        let mut log = log::Log::open_v2(key.clone(), None).unwrap();
        log.append(b"entry".to_vec(), 0).unwrap();
        let entry = log.entry_v2_json(0, "hashedrekord").unwrap();
        let checkpoint = entry
            .pointer("/inclusionProof/checkpoint/envelope")
            .and_then(Value::as_str)
            .unwrap();
        let (note, signature) = checkpoint.split_once("\n\n").unwrap();
        assert_eq!(
            note,
            format!("127.0.0.1\n1\n{}", B64.encode(log.root_at(1)))
        );
        let blob = B64
            .decode(
                signature
                    .strip_prefix("\u{2014} 127.0.0.1 ")
                    .unwrap()
                    .trim_end(),
            )
            .unwrap();
        let log_id = B64
            .decode(entry["logId"]["keyId"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            log_id,
            Sha256::digest(pki::spki_der(&key).unwrap()).to_vec()
        );
        assert_eq!(blob.get(..4), log_id.get(..4), "key hint");
        assert!(entry.get("integratedTime").is_none());
        assert_eq!(entry["kindVersion"]["version"], "0.0.2");
    }
}
