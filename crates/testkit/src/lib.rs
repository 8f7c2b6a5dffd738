//! **Test tooling, never shipped**: what toto's tests share. The reference
//! material beside the repository ([`shared`], [`vectors`], [`vector`]),
//! the sigstore-conformance cases ([`conformance`]) and the forge of
//! validly signed hostile Sigstore material ([`forge`]).
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
