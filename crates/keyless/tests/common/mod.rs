//! What the keyless crate's integration tests share.

use std::path::{Path, PathBuf};

/// `../shared/vectors/sigstore-conformance` beside the repository (or under
/// `TOTO_SHARED`).
pub fn conformance() -> PathBuf {
    let shared = std::env::var_os("TOTO_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    );
    let dir = shared.join("vectors/sigstore-conformance");
    assert!(
        dir.is_dir(),
        "reference material missing: expected {} (check out ../shared beside the repo, or set TOTO_SHARED)",
        dir.display()
    );
    dir
}
