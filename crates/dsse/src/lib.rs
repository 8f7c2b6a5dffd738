//! DSSE envelopes, PAE, canonical JSON, keys and signatures for toto.
//!
//! Pure: bytes in, typed values out. No network, no clock, and no file system
//! but [`file`](mod@file): the one bounded reader every document and artifact toto
//! reads goes through (it opens, checks the type on the handle and reads
//! with a limit; it parses nothing).
//!
//! ```
//! use dsse::{Envelope, KeyKind, Limits, PrivateKey};
//!
//! let key = PrivateKey::generate(KeyKind::Ed25519)?;
//! let envelope = Envelope::sign("text/plain", b"hello".to_vec(), &[&key])?;
//! let parsed = Envelope::from_json(&envelope.to_json(), &Limits::default())?;
//! let verified = parsed.verify(&[key.public_key()], 1)?;
//! assert_eq!(verified.identities, vec![key.keyid().to_string()]);
//! assert_eq!(parsed.payload(), b"hello");
//! # Ok::<(), dsse::Error>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod b64;
pub mod cjson;
mod envelope;
mod error;
pub mod file;
pub mod gpg;
pub mod json;
pub mod keys;
mod limits;
pub mod metablock;
pub mod pae;
pub mod pretty;
mod serialize;

pub use envelope::{Envelope, Signature, Verified};
pub use error::Error;
pub use keys::{
    KeyId, KeyKind, KeyedSigner, KeyedVerifier, PrivateKey, PublicKey, Scheme, SigBytes,
};
pub use limits::Limits;
pub use metablock::{Metablock, MetablockRef, MetablockSignature, MetablockWriter, Seal};
pub use serialize::Sorted;
