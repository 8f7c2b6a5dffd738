//! in-toto evidence and policy for toto.
//!
//! Module map: [`digest`] (digest sets), [`statement`] (Statement v1),
//! [`link`] (links in three encodings), [`signed`] (signed documents),
//! [`layout`] (layouts, and [`layout::describe`]: authoring one from a
//! description), [`rules`] (artifact rules and the rule engine),
//! [`pattern`] (fnmatch for rules, gitwildmatch for recording's excludes),
//! [`verify`] (a layout against evidence, no I/O), [`vsa`] (SLSA verification
//! summaries: written after a verification, checked by their consumers), [`x509`]
//! (ITE-7 X.509 functionaries: certificate chains and constraints).
//!
//! The use cases, each one library call: [`step`] records a step (materials,
//! command, products → an unsigned link), [`evidence`] reads a link
//! directory as the evidence [`verify`] checks; [`gpg`] signs a Metablock
//! with the user's GnuPG. Their I/O goes through three modules only:
//! [`record`] (walking and hashing artifacts), [`exec`] (starting
//! processes: commands, and `gpg`) and `dsse::file` (the bounded reader).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod digest;
mod error;
pub mod evidence;
pub mod exec;
pub mod gpg;
pub mod identify;
pub mod layout;
pub mod link;
pub mod output;
pub mod parallel;
pub mod pattern;
pub mod predicate;
pub mod provenance;
#[cfg(test)]
mod python_reference;
pub mod record;
pub mod redact;
pub mod rules;
pub mod signed;
pub mod statement;
pub mod step;
pub mod time;
pub mod verified;
pub mod verify;
pub mod vsa;
pub mod x509;

pub use digest::{ArtifactMap, DigestError, DigestSet};
pub use error::Error;
pub use link::{Encoding, Link, LINK_PREDICATE_V03};
pub use signed::{LinkDocument, Signable, SignedDocument};
pub use statement::{ResourceDescriptor, Statement, PAYLOAD_TYPE, STATEMENT_V1};
pub use verified::{FunctionaryVerifier, SignerIdentity, StepConstraints, VerifiedPayload};
