//! Integration tests of the dsse crate's public API, one test binary:
//! signing round trips, the reference's vectors, hostile key files, and
//! key ids as in-toto-golang computes them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod encrypted_key_unbounded_kdf_cost;
mod in_toto_golang;
mod roundtrip;
mod vectors;
