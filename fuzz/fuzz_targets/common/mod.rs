//! What several fuzz targets share (each target is its own binary, so this
//! is included as a module by each).

use std::sync::OnceLock;

use keyless::{BundleVerifier, TrustRoot};

/// The verifier for the embedded public-good trusted root, built once.
pub fn public_good_verifier() -> &'static BundleVerifier {
    static VERIFIER: OnceLock<BundleVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        BundleVerifier::new(&TrustRoot::public_good().expect("embedded root")).expect("verifier")
    })
}
