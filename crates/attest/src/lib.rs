//! in-toto evidence and policy for toto.
//!
//! Module map: [`digest`] (digest sets), [`record`] (the only module doing
//! file I/O: walking and hashing artifacts), [`rules`] (artifact rules and
//! the rule engine).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod digest;
pub mod record;
pub mod rules;

pub use digest::{ArtifactMap, DigestError, DigestSet};
