//! in-toto evidence and policy for toto.
//!
//! Module map: [`digest`] (digest sets), [`statement`] (Statement v1),
//! [`link`] (links in three encodings), [`signed`] (signed documents),
//! [`record`] (the only module doing file I/O: walking and hashing
//! artifacts), [`step`] (recording a step: materials, command, products,
//! link), [`evidence`] (a link directory as verification evidence),
//! [`rules`] (artifact rules and the rule engine).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod digest;
mod error;
pub mod evidence;
pub mod exec;
pub mod layout;
pub mod link;
pub mod parallel;
pub mod record;
pub mod redact;
pub mod rules;
pub mod signed;
pub mod statement;
pub mod step;
pub mod time;
pub mod verified;
pub mod verify;

pub use digest::{ArtifactMap, DigestError, DigestSet};
pub use error::Error;
pub use link::{Encoding, Link, LINK_PREDICATE_V03};
pub use signed::SignedDocument;
pub use statement::{ResourceDescriptor, Statement, PAYLOAD_TYPE, STATEMENT_V1};
pub use verified::{FunctionaryVerifier, SignerIdentity, VerifiedPayload};
