//! Link payloads of DSSE envelopes read in one pass, with no tree: the
//! classic link (`in-toto-run --use-dsse`) and the Statement with a link
//! v0.3 predicate (toto's default), their keys in code point order as toto
//! and in-toto write them ([`dsse::json::decode_sorted`]).
//!
//! Decoding happens in two steps so that the caller can drop the payload
//! bytes in between: [`SortedPayload::read`] decodes into owned values
//! (the artifact lists as read, each resource descriptor held only while
//! its name and digest are taken), [`SortedPayload::into_link`] builds the
//! artifact maps. The result is the link (or the refusal)
//! [`Link::from_node`] reads from a tree of the same bytes; `None` leaves
//! anything else (another `_type` or predicate type, keys out of order,
//! anything refused) to the tree, which says what is wrong with it. The
//! fuzz target `canonical_stream` checks both.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{
    named_entries_to_map, DescriptorList, Link, WireLink, WirePredicate, LINK_PREDICATE_V03,
    MAX_ARTIFACTS, STATEMENT_PREFIX,
};
use crate::digest::{ArtifactMap, DigestSet};
use crate::error::Error;
use crate::statement::{ResourceDescriptor, STATEMENT_V01, STATEMENT_V1};

/// A link payload decoded in one pass, its artifact maps not built yet.
pub(crate) struct SortedPayload(Decoded);

enum Decoded {
    /// A classic link.
    Link(WireLink),
    /// A Statement v1 (or v0.1) with a link v0.3 predicate: products are
    /// the subjects.
    Statement {
        subject: NamedDescriptors,
        predicate: WirePredicate<NamedDescriptors>,
    },
}

/// A Statement as [`crate::statement::decode_parts`] reads it, its
/// subjects kept as (name, digest): a subject without either is left to
/// the tree, which names it.
#[derive(Deserialize)]
struct SortedStatement<'a> {
    #[serde(rename = "_type", borrow)]
    type_: Cow<'a, str>,
    #[serde(rename = "predicateType", borrow)]
    predicate_type: Cow<'a, str>,
    subject: NamedDescriptors,
    predicate: WirePredicate<NamedDescriptors>,
}

/// A list of resource descriptors, each read whole (unknown fields
/// ignored, as [`ResourceDescriptor`] reads them) and kept as its name and
/// digest, which it must have; at most [`MAX_ARTIFACTS`].
#[derive(Default)]
struct NamedDescriptors(Vec<(String, DigestSet)>);

impl DescriptorList for NamedDescriptors {
    fn into_map(self, which: &str) -> Result<ArtifactMap, Error> {
        named_entries_to_map(self.0, which)
    }
}

impl<'de> Deserialize<'de> for NamedDescriptors {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(Named)
    }
}

struct Named;

impl<'de> Visitor<'de> for Named {
    type Value = NamedDescriptors;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("resource descriptors, each with a name and a digest")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(descriptor) = seq.next_element::<ResourceDescriptor>()? {
            let (Some(name), Some(digest)) = (descriptor.name, descriptor.digest) else {
                return Err(de::Error::custom("a descriptor without a name or a digest"));
            };
            if entries.len() == MAX_ARTIFACTS {
                return Err(de::Error::custom("over the artifact limit"));
            }
            entries.push((name, digest));
        }
        Ok(NamedDescriptors(entries))
    }
}

impl SortedPayload {
    /// Decodes `payload` (a DSSE payload) in one pass when its first member
    /// is `_type` and it is a classic link or a Statement with a link v0.3
    /// predicate; `None` leaves it to the tree.
    pub(crate) fn read(payload: &[u8]) -> Option<SortedPayload> {
        let (key, type_) = dsse::json::first_string_member(payload)?;
        if key != "_type" {
            return None;
        }
        if type_ == "link" {
            return dsse::json::decode_sorted::<WireLink>(payload)
                .ok()
                .map(|wire| SortedPayload(Decoded::Link(wire)));
        }
        if !type_.starts_with(STATEMENT_PREFIX) {
            return None;
        }
        let statement: SortedStatement<'_> = dsse::json::decode_sorted(payload).ok()?;
        let known = [STATEMENT_V1, STATEMENT_V01].contains(&statement.type_.as_ref())
            && statement.predicate_type == LINK_PREDICATE_V03;
        known.then_some(SortedPayload(Decoded::Statement {
            subject: statement.subject,
            predicate: statement.predicate,
        }))
    }

    /// Decodes the canonical JSON a Metablock's signatures cover in one
    /// pass when it is a classic link within the schema; `None` leaves it
    /// to the tree.
    pub(crate) fn read_canonical_metablock(canonical: &[u8]) -> Option<SortedPayload> {
        match dsse::json::decode_canonical::<WireLink>(canonical, true) {
            Ok(wire) if wire.type_ == "link" => Some(SortedPayload(Decoded::Link(wire))),
            _ => None,
        }
    }

    /// The link, its artifact maps built as [`Link::from_node`] builds
    /// them.
    pub(crate) fn into_link(self) -> Result<Link, Error> {
        match self.0 {
            Decoded::Link(wire) => Link::from_wire(wire),
            Decoded::Statement { subject, predicate } => Link::from_parts(subject, predicate),
        }
    }
}

impl Link {
    /// Reads a link from a DSSE payload in one pass, with no tree of it:
    /// the link (or refusal) [`Link::from_node`] reads from a tree of the
    /// same bytes. `None` when this reader leaves the payload to the tree
    /// (see the module documentation of `link::sorted`).
    pub fn from_sorted_payload(payload: &[u8]) -> Option<Result<Link, Error>> {
        SortedPayload::read(payload).map(SortedPayload::into_link)
    }
}
