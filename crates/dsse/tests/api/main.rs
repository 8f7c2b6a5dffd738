//! Integration tests of the dsse crate's public API, one test binary:
//! signing round trips, the reference's vectors, hostile key files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod encrypted_key_unbounded_kdf_cost;
mod roundtrip;
mod vectors;
