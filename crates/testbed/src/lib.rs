//! A loopback Sigstore for tests and the offline demo: an OIDC issuer that
//! mints tokens for any identity, Fulcio (`POST /api/v2/signingCert`), Rekor
//! v1 (`/api/v1/log…`, with the search endpoints clients look entries up
//! by: `POST /api/v1/index/retrieve` by hash, `GET /api/v1/log/entries/UUID`,
//! `POST /api/v1/log/entries/retrieve`) and a CT log that signs the SCT embedded in every
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
//!
//! One module per job: `server` (the facade [`Testbed`] and the router),
//! [`oidc`] (tokens and the device flow), `fulcio` (certificates), `rekor`
//! (entries, v1 and v2) over [`tlog`] (the Merkle log), [`tsa`] (RFC 3161
//! timestamps), `trust` (the trust files clients read); beneath them [`pki`]
//! (the CA and CT log) and [`http`] (just enough HTTP/1.1).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod fulcio;
pub mod http;
mod keys;
pub mod oidc;
pub mod pki;
mod rekor;
mod server;
pub mod tlog;
mod trust;
pub mod tsa;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use oidc::TokenRequest;
pub use rekor::{canonical_body, canonical_body_v2, dsse_body_v001, index_keys, pae, MAX_RETRIEVE};
pub use server::{
    client_secret_from_dir, token_from_dir, Config, Faults, Options, Testbed, CLIENT_SECRET,
};

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

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `unix` (seconds) as RFC 3339 UTC, `1970-01-01T00:00:00Z` before 1970.
pub fn rfc3339(unix: i64) -> String {
    let secs = u64::try_from(unix).unwrap_or(0);
    der::DateTime::from_unix_duration(Duration::from_secs(secs))
        .map(|d| d.to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}
