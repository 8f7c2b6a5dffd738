//! **Test tooling, never shipped**: what toto's tests share. The reference
//! material beside the repository ([`shared`], [`vectors`], [`vector`]),
//! the sigstore-conformance cases ([`conformance`]), the forge of
//! validly signed hostile Sigstore material ([`forge`]) and a bare HTTP GET
//! of a testbed's JSON ([`get_json`]).
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
use std::path::PathBuf;

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

/// `GET path` from the loopback service at `base` (`http://127.0.0.1:PORT`),
/// over a bare connection (no HTTP client in between): the JSON body of its
/// `200` answer.
///
/// Panics, naming the path, on any other answer.
pub fn get_json(base: &str, path: &str) -> serde_json::Value {
    let host = base.trim_start_matches("http://");
    let mut stream =
        TcpStream::connect(host).unwrap_or_else(|e| panic!("{path}: cannot connect: {e}"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap_or_else(|e| panic!("{path}: cannot send: {e}"));
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .unwrap_or_else(|e| panic!("{path}: cannot read the answer: {e}"));
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        panic!("{path}: not an HTTP answer: {response}");
    };
    if !head.starts_with("HTTP/1.1 200") {
        panic!("{path}: {head}");
    }
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: the body is not JSON: {e}"))
}
