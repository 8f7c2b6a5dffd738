//! End-to-end tests of the `toto` binary, with the Python reference as peer.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
#![allow(clippy::expect_used, reason = "a test fails by panicking")]
#![allow(clippy::panic, reason = "a test fails by panicking")]
#![allow(clippy::indexing_slicing, reason = "a test fails by panicking")]

mod adversarial;
mod authoring;
mod cli;
mod common;
mod compat;
mod conformance;
mod demo_chain;
mod dsse_interop;
mod evidence;
mod explain_rules;
mod explain_thresholds;
mod forgery;
mod gpg;
mod hostile_bundles;
mod image_layouts;
mod images;
mod keyless;
mod keyless_preflight;
mod keyless_step_checks;
mod legacy_envelope;
mod never_surprise;
mod oci_peers;
mod peer_formats;
mod peer_policies;
mod peers;
mod reading;
mod readme;
mod real_world;
mod record_binding;
mod recording;
mod registry;
mod rego_policies;
mod rekor_v2;
mod supply_chain;
mod testbed_faults;
mod tls_roots;
mod trust;
mod verification;
mod vsa;
mod workflows;
