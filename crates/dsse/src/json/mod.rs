//! JSON for untrusted input: the strict readers and the borrowed value model.
//!
//! Two readers accept exactly the same documents (RFC 8259 JSON as
//! serde_json reads it, duplicate object keys and trailing data refused,
//! nesting bounded at serde_json's 128):
//! - [`Tree::parse`] (in `parse`) reads into a [`Tree`] whose strings point
//!   into the input wherever no escape had to be decoded, so a link listing
//!   tens of thousands of artifacts is read without an allocation per
//!   string, written as canonical JSON mostly by copying input slices
//!   ([`crate::cjson`]), and decoded into typed values through [`Node`]'s
//!   `serde::Deserializer` (in `de`) without an intermediate
//!   [`serde_json::Value`];
//! - [`parse_strict`] (in `strict`) reads into a [`serde_json::Value`].
//!
//! The one-pass readers in `stream` ([`canonicalize_sorted`],
//! [`decode_canonical`], [`decode_sorted`]) build no tree: they accept a
//! subset of those documents (object keys in strictly increasing code point
//! order; for the canonical writer, no floats) with the same result, and a
//! caller falls back to the tree for the rest and for the exact error. The
//! fuzz target `canonical_stream` checks them.
//!
//! Numbers are read the way serde_json reads them. The fuzz target `cjson`
//! checks that both readers agree on every input.
//!
//! This module depends on no other JSON module of the crate; the canonical
//! writer ([`crate::cjson`]) depends on it, never the reverse.

use std::borrow::Cow;

use serde_json::{Map, Value};

mod cursor;
mod de;
mod parse;
mod stream;
mod strict;

pub use stream::{
    canonicalize_sorted, decode_canonical, decode_sorted, first_member_key, first_string_member,
    Canonical,
};
pub use strict::{from_slice_strict, parse_strict};

/// Writes `s` as a canonical JSON string (see [`crate::cjson`]): only `"`
/// and `\\` escaped, every other character raw.
pub(crate) fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Deepest nesting of arrays and objects, as serde_json bounds it.
const MAX_DEPTH: usize = 128;

/// One parsed value; containers point into the tree's flat arrays.
#[derive(Debug, Clone)]
pub(crate) enum Item<'a> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'a, str>),
    /// `len` entries of `Tree::items` from `start`.
    Array {
        start: u32,
        len: u32,
    },
    /// `len` entries of `Tree::members` from `start`; `sorted` when the keys
    /// already appear in canonical (code point) order.
    Object {
        start: u32,
        len: u32,
        sorted: bool,
    },
}

/// A parsed JSON document borrowing from its input.
#[derive(Debug, Clone)]
pub struct Tree<'a> {
    /// Length of the input, in bytes.
    len: usize,
    items: Vec<Item<'a>>,
    /// Array elements: item indices.
    elements: Vec<u32>,
    /// Object members: key and item index.
    members: Vec<(Cow<'a, str>, u32)>,
}

/// One value inside a [`Tree`].
#[derive(Debug, Clone, Copy)]
pub struct Node<'t, 'a> {
    tree: &'t Tree<'a>,
    index: u32,
}

impl<'a> Tree<'a> {
    /// The top-level value.
    pub fn root(&self) -> Node<'_, 'a> {
        // The root is the last item pushed: containers are pushed after
        // their contents.
        Node {
            tree: self,
            index: self.items.len().saturating_sub(1) as u32,
        }
    }
}

impl<'t, 'a> Node<'t, 'a> {
    pub(crate) fn item(&self) -> &'t Item<'a> {
        // Indices come from the parser and are always in range.
        self.tree
            .items
            .get(self.index as usize)
            .unwrap_or(&Item::Null)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&'t str> {
        match self.item() {
            Item::Str(s) => Some(s.as_ref()),
            _ => None,
        }
    }

    /// True for an object.
    pub fn is_object(&self) -> bool {
        matches!(self.item(), Item::Object { .. })
    }

    /// True for an array.
    pub fn is_array(&self) -> bool {
        matches!(self.item(), Item::Array { .. })
    }

    /// Length in bytes of the whole document this value was read from.
    pub fn document_len(&self) -> usize {
        self.tree.len
    }

    /// The members of an object, in input order (empty for other values).
    pub fn members(&self) -> impl Iterator<Item = (&'t str, Node<'t, 'a>)> + 't {
        let tree = self.tree;
        let entries = match self.item() {
            Item::Object { start, len, .. } => tree
                .members
                .get(*start as usize..*start as usize + *len as usize)
                .unwrap_or_default(),
            _ => &[],
        };
        entries
            .iter()
            .map(move |(k, i)| (k.as_ref(), Node { tree, index: *i }))
    }

    /// The elements of an array (empty for other values).
    pub fn elements(&self) -> impl Iterator<Item = Node<'t, 'a>> + 't {
        let tree = self.tree;
        let entries = match self.item() {
            Item::Array { start, len } => tree
                .elements
                .get(*start as usize..*start as usize + *len as usize)
                .unwrap_or_default(),
            _ => &[],
        };
        entries.iter().map(move |i| Node { tree, index: *i })
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<Node<'t, 'a>> {
        self.members().find(|(k, _)| *k == key).map(|(_, n)| n)
    }

    /// Number of members or elements (0 for scalars).
    pub fn len(&self) -> usize {
        match self.item() {
            Item::Array { len, .. } | Item::Object { len, .. } => *len as usize,
            _ => 0,
        }
    }

    /// True when [`Node::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as a [`serde_json::Value`].
    pub fn to_value(&self) -> Value {
        match self.item() {
            Item::Null => Value::Null,
            Item::Bool(b) => Value::Bool(*b),
            Item::U64(n) => Value::from(*n),
            Item::I64(n) => Value::from(*n),
            Item::F64(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Item::Str(s) => Value::String(s.as_ref().to_owned()),
            Item::Array { .. } => Value::Array(self.elements().map(|n| n.to_value()).collect()),
            Item::Object { .. } => {
                let mut map = Map::new();
                for (k, v) in self.members() {
                    map.insert(k.to_owned(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_typed_values_and_keeps_strings_borrowed() {
        #[derive(serde::Deserialize, PartialEq, Debug)]
        #[serde(deny_unknown_fields)]
        struct T {
            a: Vec<u8>,
            #[serde(default)]
            b: Option<String>,
            c: std::collections::BTreeMap<String, i64>,
        }
        let bytes = br#"{"a":[1,2],"c":{"x":-3}}"#;
        let tree = Tree::parse(bytes).unwrap();
        assert!(matches!(
            tree.items[tree
                .root()
                .get("c")
                .unwrap()
                .members()
                .next()
                .unwrap()
                .1
                .index as usize],
            Item::I64(-3)
        ));
        let t: T = tree.root().decode().unwrap();
        assert_eq!(t.a, vec![1, 2]);
        assert_eq!(t.b, None);
        assert!(Tree::parse(br#"{"a":[],"c":{},"d":1}"#)
            .unwrap()
            .root()
            .decode::<T>()
            .is_err());
        assert!(matches!(
            Tree::parse(br#""plain""#).unwrap().items[0],
            Item::Str(Cow::Borrowed("plain"))
        ));
    }

    #[test]
    fn enum_variants_decode_like_serde_json_and_need_their_content() {
        #[derive(serde::Deserialize, PartialEq, Debug)]
        enum E {
            Unit,
            Newtype(u8),
            Tuple(u8, u8),
            Struct { a: u8 },
        }
        let decode = |text: &str| Tree::parse(text.as_bytes())?.root().decode::<E>();
        assert_eq!(decode(r#""Unit""#).unwrap(), E::Unit);
        assert_eq!(decode(r#"{"Newtype":1}"#).unwrap(), E::Newtype(1));
        assert_eq!(decode(r#"{"Tuple":[1,2]}"#).unwrap(), E::Tuple(1, 2));
        assert_eq!(decode(r#"{"Struct":{"a":3}}"#).unwrap(), E::Struct { a: 3 });
        for (text, what) in [
            (r#""Newtype""#, "newtype variant"),
            (r#""Tuple""#, "tuple variant"),
            (r#""Struct""#, "struct variant"),
        ] {
            let error = decode(text).unwrap_err();
            let cause = std::error::Error::source(&error).map(ToString::to_string);
            assert!(
                cause.as_deref().is_some_and(|c| c.contains(what)),
                "{text}: {error}: {cause:?}"
            );
        }
    }
}
