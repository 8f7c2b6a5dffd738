//! The facade and the router: [`Testbed`] starts from its state directory,
//! writes the files clients need, accepts connections on 127.0.0.1 and sends
//! each request to the service that answers it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use p256::ecdsa::SigningKey;
use serde_json::{json, Value};

use crate::keys::{load_or_create_key, load_or_create_secret, private_dir, read_private};
use crate::oidc::{Device, DEVICE_GRANT};
use crate::pki::{self, Authority, CtLog};
use crate::{http, now, oidc, tlog, tsa, Error, TokenRequest};

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

pub(crate) struct Shared {
    pub(crate) url: String,
    pub(crate) created: i64,
    pub(crate) oidc_key: SigningKey,
    /// What minting a token over HTTP requires (`Authorization: Bearer`).
    pub(crate) client_secret: String,
    pub(crate) root: Authority,
    pub(crate) intermediate: Authority,
    pub(crate) ct: CtLog,
    pub(crate) ct_spki: Vec<u8>,
    pub(crate) rekor_spki: Vec<u8>,
    pub(crate) log: Mutex<tlog::Log>,
    /// Rekor v2 mode: the v2 log's key (DER SPKI) and log.
    pub(crate) v2: Option<(Vec<u8>, Mutex<tlog::Log>)>,
    /// Rekor v2 mode: the timestamp authority.
    pub(crate) tsa: Option<tsa::Tsa>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) active: AtomicUsize,
    /// Requests served, by path.
    pub(crate) requests: Mutex<std::collections::BTreeMap<String, usize>>,
    /// Device-flow logins (RFC 8628) by device code.
    pub(crate) devices: Mutex<Vec<Device>>,
}

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

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

pub(crate) fn pem_cert(der: &[u8]) -> String {
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
        let log = tlog::Log::open(rekor_key, tree_id, Some(&dir.join("log.jsonl")))?;
        let v2 = if options.rekor_v2 {
            let key = load_or_create_key(&keys.join("rekor-v2.pem"))?;
            let spki = pki::spki_der(&key)?;
            let log = tlog::Log::open_v2(key, Some(&dir.join("log-v2.jsonl")))?;
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

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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

/// What a handler answers: a response, or the error [`to_response`]
/// turns into one (400, 401 or 500).
pub(crate) type Answer = Result<http::Response, Error>;

pub(crate) fn to_response(result: Answer) -> http::Response {
    match result {
        Ok(r) => r,
        Err(Error::BadRequest(m)) => http::Response::error(400, &m),
        Err(Error::Unauthorized(m)) => http::Response::error(401, &m),
        Err(e) => http::Response::error(500, &e.to_string()),
    }
}

pub(crate) fn json_body(request: &http::Request) -> Result<Value, Error> {
    serde_json::from_slice(&request.body)
        .map_err(|e| Error::BadRequest(format!("request body is not JSON: {e}")))
}

pub(crate) fn b64_field(v: &Value, what: &str) -> Result<Vec<u8>, Error> {
    v.as_str()
        .and_then(|s| B64.decode(s).ok())
        .ok_or_else(|| Error::BadRequest(format!("{what} is not base64")))
}

pub(crate) fn str_field<'a>(v: &'a Value, pointer: &str) -> Result<&'a str, Error> {
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
            ("POST", "/api/v1/log/entries/retrieve") => to_response(self.retrieve_entries(request)),
            ("GET", path) if path.starts_with("/api/v1/log/entries/") => {
                to_response(self.get_entry_by_uuid(path.trim_start_matches("/api/v1/log/entries/")))
            }
            ("POST", "/api/v1/index/retrieve") => to_response(self.search_index(request)),
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
                | "/api/v1/log/proof"
                | "/api/v1/log/entries/retrieve"
                | "/api/v1/index/retrieve",
            ) => http::Response::error(405, "method not allowed"),
            (_, "/api/v2/log/entries" | "/api/v1/timestamp") if self.v2.is_some() => {
                http::Response::error(405, "method not allowed")
            }
            _ => http::Response::error(404, &format!("no such endpoint: {}", request.path)),
        }
    }
}
