//! Container images as subjects and homes of attestations.
//!
//! This crate is where toto meets OCI registries (issue #21). It is the one
//! place where an async runtime is allowed: `dsse` and `attest` stay free of
//! tokio and HTTP, and the CLI calls in here for `oci://` references.
//!
//! - [`Reference`], `oci://REGISTRY/REPO[:TAG][@sha256:HEX]`.
//! - [`Registry`], a blocking client (the ORAS project's `oci-client`
//!   underneath): credentials, TLS roots, plain HTTP only when allowed,
//!   bounded reads, digests checked on receipt, retries on 429/5xx.
//! - [`referrers`], Sigstore bundles attached as OCI 1.1 referrers (the
//!   referrers API, or the referrers tag schema).
//! - [`cosign`], cosign's older `.att`/`.sig` tag layouts, each layer made
//!   into a Sigstore bundle that `keyless` verifies; [`buildkit`], BuildKit's
//!   attestation manifests, read as unsigned Statements (never verified);
//!   [`discover`] fetches both from a registry.
//!
//! The registry side verifies no signature: [`referrers::bundles`] hands
//! out the bytes the registry served under checked digests, and the caller
//! verifies them.
//!
//! ```no_run
//! let image = oci::Reference::parse("oci://ghcr.io/org/app:v1")?;
//! let registry = oci::Registry::connect(image.registry(), &oci::Options::default())?;
//! let manifest = registry.resolve(&image)?;
//! let subject = manifest.descriptor.sha256(&image.to_string())?;
//! let (_, referrers) = oci::referrers::list(&registry, &image, subject)?;
//! for found in oci::referrers::bundles(&registry, &image, subject, &referrers) {
//!     println!("{}: {} bytes", found.manifest, found.bundle.map_or(0, |b| b.len()));
//! }
//! # Ok::<(), oci::Error>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod buildkit;
pub mod cosign;
pub mod discover;
mod docker_config;
mod error;
pub mod model;
mod reference;
pub mod referrers;
mod registry;

pub use error::Error;
pub use reference::{Digest, Reference, DOCKER_HUB, SCHEME};
pub use registry::{read_ca, Credentials, Limits, Options, Registry, Resolved};
