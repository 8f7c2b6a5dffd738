//! Sigstore for toto: Sigstore bundles (v0.1, v0.2, v0.3) verified offline
//! against a trusted root, with an identity policy (Fulcio certificate SAN and
//! OIDC issuer) or a managed key.
//!
//! Verification is delegated to the Sigstore project's `sigstore-verify`
//! crate (pinned exactly, used only in [`bundle`]): certificate chain to a
//! Fulcio CA at the verified time, the embedded SCT, Rekor inclusion proofs
//! and checkpoints, SETs, RFC 3161 timestamps, and the agreement of the log
//! entry with the bundle. It passes all 70 sigstore-conformance
//! bundle-verification cases, by artifact and by digest. The common shape
//! of public bundles takes a fast path built on the same crate's pieces
//! (`bundle::fast`), which can only accept; everything else, and every
//! failure, is decided by `sigstore-verify`.
//!
//! ```no_run
//! use keyless::{Artifact, BundleVerifier, Policy, TrustRoot};
//!
//! use std::path::Path;
//!
//! let verifier = BundleVerifier::new(&TrustRoot::public_good()?)?;
//! // Read through the bounded reader: regular files only, at most the limit.
//! let bundle_path = Path::new("artifact.sigstore.json");
//! let bundle = dsse::file::read_bounded(bundle_path, keyless::MAX_BUNDLE_BYTES, None)?;
//! let artifact = dsse::file::read_bounded(Path::new("artifact"), 1 << 20, None)?;
//! let policy = Policy::Identity {
//!     identity: "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1".into(),
//!     issuer: "https://token.actions.githubusercontent.com".into(),
//! };
//! // (For a large artifact, hash it streaming and pass `Artifact::File`.)
//! let verified = verifier.verify(&bundle, Artifact::Bytes(&artifact), &policy)?;
//! println!("signed by {:?}", verified.identity);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod attestation;
pub mod bundle;
pub mod document;
mod error;
mod http;
pub mod legacy;
pub mod pep740;
pub mod policy;
pub mod provenance;
pub mod rego;
pub mod sign;
mod text;
mod tls;
pub mod tuf;

pub use bundle::{
    Artifact, BundleVerifier, CertificatePolicy, Policy, TrustRoot, Verified, VerifiedAttestation,
    MAX_BUNDLE_BYTES, MAX_CHECKPOINT_SIGNATURES, MAX_RAW_ARTIFACT_BYTES,
};
pub use error::Error;
pub use sign::{
    ambient_token, device_flow, link_bundle_name, sign_dsse_with_key, DevicePrompt, IdentityToken,
    KeylessSigner, Services, SignedBundle, TokenSource, TrustConfig,
};
pub use text::{error_chain, untrusted_text, ServiceText, MAX_SHOWN_CHARS};
