//! Container images as subjects and homes of attestations.
//!
//! This crate is where toto meets OCI registries (issue #21). It is the one
//! place where an async runtime is allowed: `dsse` and `attest` stay free of
//! tokio and HTTP, and the CLI calls in here for `oci://` references.

pub mod buildkit;
pub mod cosign;
