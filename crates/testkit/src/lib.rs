//! **Test tooling, never shipped**: what toto's tests share. The reference
//! material beside the repository ([`shared`], [`vectors`], [`vector`]),
//! the sigstore-conformance cases ([`conformance`]), the forge of
//! validly signed hostile Sigstore material ([`forge`]), bare HTTP GETs
//! and POSTs of a testbed's JSON ([`get_json`], [`post_json`]), a loopback
//! testbed and what clients take from it ([`testbed`], [`token`],
//! [`trust_config`]), the pieces of a signed bundle other formats carry
//! ([`leaf_pem`], [`legacy_envelope`]), the Python peer ([`python`]) and a
//! deterministic generator for differential tests ([`Rng`]).
//!
//! ```no_run
//! let layout = testkit::vector("demo_metablock_good/root.layout");
//! for case in testkit::conformance::cases() {
//!     println!("{} must {}", case.name, if case.must_fail { "fail" } else { "verify" });
//! }
//! # let _ = layout;
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![allow(
    clippy::panic,
    reason = "test tooling: missing reference material fails the test that asked for it"
)]

pub mod conformance;
pub mod forge;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{json, Value};

/// `../shared` beside the repository, or `TOTO_SHARED`: the reference
/// material (`vectors/intoto`, `vectors/sigstore-conformance`, …).
///
/// Panics, naming the directory, when it is missing.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("TOTO_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    );
    if !dir.join("vectors").is_dir() {
        panic!(
            "reference material missing at {}: check out ../shared beside the repo, or set TOTO_SHARED",
            dir.display()
        );
    }
    dir
}

/// The in-toto reference's vectors: `../shared/vectors/intoto`.
///
/// Panics, naming the directory, when it is missing.
pub fn vectors() -> PathBuf {
    let dir = shared().join("vectors/intoto");
    if !dir.is_dir() {
        panic!(
            "reference vectors missing at {}: check out ../shared beside the repo, or set TOTO_SHARED",
            dir.display()
        );
    }
    dir
}

/// `../shared/vectors/intoto/<rel>`.
pub fn vector(rel: &str) -> PathBuf {
    vectors().join(rel)
}

/// Sends `request` (method, path, headers and body, as HTTP/1.1 text with
/// `Connection: close`) to the loopback service at `base` over a bare
/// connection: the answer's status code and body text.
fn exchange(base: &str, path: &str, method: &str, body: Option<&str>) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut stream =
        TcpStream::connect(host).unwrap_or_else(|e| panic!("{path}: cannot connect: {e}"));
    let content = match body {
        Some(body) => format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ),
        None => String::new(),
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{content}Connection: close\r\n\r\n{}",
        body.unwrap_or_default()
    )
    .unwrap_or_else(|e| panic!("{path}: cannot send: {e}"));
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .unwrap_or_else(|e| panic!("{path}: cannot read the answer: {e}"));
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        panic!("{path}: not an HTTP answer: {response}");
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{path}: no status in {head}"));
    (status, body.to_owned())
}

/// `GET path` from the loopback service at `base` (`http://127.0.0.1:PORT`),
/// over a bare connection (no HTTP client in between): the JSON body of its
/// `200` answer.
///
/// Panics, naming the path, on any other answer.
pub fn get_json(base: &str, path: &str) -> serde_json::Value {
    let (status, body) = exchange(base, path, "GET", None);
    if status != 200 {
        panic!("{path}: HTTP {status}: {body}");
    }
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: the body is not JSON: {e}"))
}

/// `POST path` of the JSON `body` to the loopback service at `base`
/// (`http://127.0.0.1:PORT`), over a bare connection: the answer's status
/// code and its body as JSON (`null` when it is not JSON).
///
/// Panics, naming the path, when the service cannot be reached or does not
/// answer HTTP.
pub fn post_json(base: &str, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let (status, body) = exchange(base, path, "POST", Some(&body.to_string()));
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// A loopback testbed keeping its state in `dir`, on a free port.
pub fn testbed(dir: &Path) -> testbed::Testbed {
    testbed::Testbed::start(&testbed::Config {
        dir: dir.to_owned(),
        port: 0,
    })
    .unwrap_or_else(|e| panic!("testbed in {}: {e}", dir.display()))
}

/// An OIDC token of the testbed's issuer for `identity` (the raw JWT).
pub fn token(tb: &testbed::Testbed, identity: &str) -> String {
    tb.token(&testbed::TokenRequest {
        identity: identity.into(),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("token for {identity}: {e}"))
}

/// The trust config the testbed wrote (sigstore-python's `--trust-config`).
pub fn trust_config(tb: &testbed::Testbed) -> String {
    let path = tb.trust_config_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `der` as a PEM certificate (64-column lines, a final newline).
pub fn certificate_pem(der: &[u8]) -> String {
    use x509_cert::der::pem::{encode_string, LineEnding};
    encode_string("CERTIFICATE", LineEnding::LF, der)
        .unwrap_or_else(|e| panic!("PEM of a certificate: {e}"))
}

/// The leaf certificate of a v0.3 bundle's JSON
/// (`verificationMaterial.certificate.rawBytes`), as PEM.
pub fn leaf_pem(bundle: &Value) -> String {
    let raw = bundle
        .pointer("/verificationMaterial/certificate/rawBytes")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no leaf certificate in {bundle}"));
    let der = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .unwrap_or_else(|e| panic!("leaf certificate: {e}"));
    certificate_pem(&der)
}

/// slsa-github-generator's legacy `.intoto.jsonl` envelope for a DSSE
/// bundle's JSON: the bundle's envelope, its one signature carrying the
/// leaf certificate (PEM) and an empty key id.
pub fn legacy_envelope(bundle: &Value) -> Value {
    let field = |pointer: &str| {
        bundle
            .pointer(pointer)
            .unwrap_or_else(|| panic!("no {pointer} in {bundle}"))
    };
    json!({
        "payloadType": field("/dsseEnvelope/payloadType"),
        "payload": field("/dsseEnvelope/payload"),
        "signatures": [{"keyid": "", "sig": field("/dsseEnvelope/signatures/0/sig"), "cert": leaf_pem(bundle)}],
    })
}

/// A peer program named by the environment variable `var` (`what` it is,
/// for messages), or `None` outside CI, where `test` is skipped with a line
/// on stderr. In CI (`CI` set) a missing peer fails `test`.
pub fn peer(var: &str, what: &str, test: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(path) => Some(PathBuf::from(path)),
        None if std::env::var_os("CI").is_some() => {
            panic!("{test}: needs {what} ({var}) in CI; run scripts/test")
        }
        None => {
            eprintln!(
                "SKIP: {test}: {what} not available ({var} unset, CI unset); run scripts/test"
            );
            None
        }
    }
}

/// The Python with the peers (`TOTO_PYTHON`: in-toto 3.1.0, sigstore 4.5.1);
/// see [`peer`].
pub fn python(test: &str) -> Option<PathBuf> {
    peer("TOTO_PYTHON", "the Python peers", test)
}

/// A small deterministic generator (xorshift64), so that a failing random
/// case reproduces from its seed.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (which must not be 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % n as u64).unwrap_or(0)
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let i = self.below(items.len());
        items
            .get(i)
            .copied()
            .unwrap_or_else(|| panic!("Rng::pick from an empty list"))
    }

    /// Up to `max` characters of `alphabet` (which must not be empty).
    pub fn string(&mut self, alphabet: &[char], max: usize) -> String {
        (0..self.below(max + 1))
            .map(|_| {
                let i = self.below(alphabet.len());
                alphabet
                    .get(i)
                    .copied()
                    .unwrap_or_else(|| panic!("Rng::string from an empty alphabet"))
            })
            .collect()
    }
}
