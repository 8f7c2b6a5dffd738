//! The streaming readers: no tree, one pass each.
//!
//! - [`canonicalize_sorted`] writes the canonical JSON of a document whose
//!   objects already list their keys in code point order (as in-toto and
//!   toto write them) while reading it, and says where each top-level
//!   member's value went: a Metablock's signed bytes without a tree of it.
//! - [`decode_canonical`] decodes typed values (serde) straight from
//!   canonical bytes, strings borrowed: the value of a Metablock read from
//!   the very bytes its signatures cover.
//! - [`decode_sorted`] decodes typed values the same way from ordinary JSON
//!   text whose keys are sorted: a DSSE envelope, and its payload once the
//!   signature over it checked out, each read once with no tree.
//!
//! All refuse, as [`Tree::parse`](super::Tree::parse) does, duplicate keys
//! (an object's keys must come in strictly increasing order, so a key seen
//! twice is a key out of order), trailing data and nesting deeper than 128;
//! they refuse more than it (keys out of order; [`canonicalize_sorted`]
//! floats too, which canonical JSON cannot hold), and their errors are terse: a caller falls back to
//! the tree, which accepts what they accept and says exactly what is wrong
//! with the rest.

use std::borrow::Cow;
use std::ops::Range;

use serde::de::{self, Visitor};

use super::cursor::Cursor;
use super::{write_string, Item, MAX_DEPTH};
use crate::error::Error;

fn out_of_order(c: &Cursor<'_>) -> Error {
    c.error("object keys out of code point order")
}

/// Key order of the object being read: each key must be greater than the
/// one before.
#[derive(Default)]
struct KeyOrder<'a> {
    last: Option<Cow<'a, str>>,
}

impl<'a> KeyOrder<'a> {
    /// Takes the next key; hands it back, kept as the one to beat.
    fn next(&mut self, c: &Cursor<'a>, key: Cow<'a, str>) -> Result<&Cow<'a, str>, Error> {
        if self
            .last
            .as_deref()
            .is_some_and(|last| last >= key.as_ref())
        {
            return Err(out_of_order(c));
        }
        Ok(self.last.insert(key))
    }
}

/// The canonical JSON of the document `bytes` (see [`crate::cjson`]), and
/// for a top-level object each member's key and where its value's
/// canonical JSON lies in the output. Refuses objects whose keys are not in
/// strictly increasing code point order and floats.
pub fn canonicalize_sorted(bytes: &[u8]) -> Result<Canonical<'_>, Error> {
    let mut c = Cursor::new(bytes, false);
    // Canonical JSON is never longer than the text it is read from.
    let mut out = Vec::with_capacity(bytes.len());
    let mut members = Vec::new();
    c.skip_ws();
    if c.peek() == Some(b'{') {
        let (depth, empty) = c.open(MAX_DEPTH, b'}')?;
        out.push(b'{');
        let mut order = KeyOrder::default();
        if !empty {
            loop {
                let key = c.member_key()?;
                let key = order.next(&c, key)?.clone();
                if !members.is_empty() {
                    out.push(b',');
                }
                write_string(&key, &mut out);
                out.push(b':');
                let start = out.len();
                value(&mut c, depth, &mut out)?;
                members.push((key, start..out.len()));
                c.skip_ws();
                if c.comma_or_close(b'}', "EOF while parsing an object", "expected `,` or `}`")? {
                    break;
                }
            }
        }
        out.push(b'}');
    } else {
        value(&mut c, MAX_DEPTH, &mut out)?;
    }
    c.skip_ws();
    if c.at != bytes.len() {
        return c.fail("trailing characters");
    }
    Ok(Canonical {
        bytes: out,
        members,
    })
}

/// What [`canonicalize_sorted`] wrote.
#[derive(Debug)]
pub struct Canonical<'a> {
    /// The canonical JSON of the whole document.
    pub bytes: Vec<u8>,
    /// A top-level object's members: key, and where the value's canonical
    /// JSON lies in `bytes` (empty for any other document).
    pub members: Vec<(Cow<'a, str>, Range<usize>)>,
}

/// Reads one value (whitespace before it skipped) and writes its canonical
/// JSON.
fn value(c: &mut Cursor<'_>, depth: usize, out: &mut Vec<u8>) -> Result<(), Error> {
    match c.peek() {
        None => return c.fail("EOF while parsing a value"),
        Some(b'n') => {
            c.literal(b"null")?;
            out.extend_from_slice(b"null");
        }
        Some(b't') => {
            c.literal(b"true")?;
            out.extend_from_slice(b"true");
        }
        Some(b'f') => {
            c.literal(b"false")?;
            out.extend_from_slice(b"false");
        }
        Some(b'"') => {
            let s = c.string()?;
            write_string(&s, out);
        }
        Some(b'-' | b'0'..=b'9') => match c.number()? {
            Item::U64(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Item::I64(n) => out.extend_from_slice(n.to_string().as_bytes()),
            _ => {
                return Err(Error::CanonicalJson {
                    reason: "floats cannot be canonicalized",
                })
            }
        },
        Some(b'[') => {
            let (depth, empty) = c.open(depth, b']')?;
            out.push(b'[');
            if !empty {
                loop {
                    c.skip_ws();
                    value(c, depth, out)?;
                    c.skip_ws();
                    if c.comma_or_close(b']', "EOF while parsing a list", "expected `,` or `]`")? {
                        break;
                    }
                    out.push(b',');
                }
            }
            out.push(b']');
        }
        Some(b'{') => {
            let (depth, empty) = c.open(depth, b'}')?;
            out.push(b'{');
            let mut order = KeyOrder::default();
            if !empty {
                loop {
                    let key = c.member_key()?;
                    let key = order.next(c, key)?;
                    write_string(key, out);
                    out.push(b':');
                    value(c, depth, out)?;
                    c.skip_ws();
                    if c.comma_or_close(b'}', "EOF while parsing an object", "expected `,` or `}`")?
                    {
                        break;
                    }
                    out.push(b',');
                }
            }
            out.push(b'}');
        }
        Some(_) => return c.fail("expected value"),
    }
    Ok(())
}

/// Decodes `T` (serde) straight from canonical JSON bytes as
/// [`crate::cjson`] writes them, strings borrowed; with `fixed_fields`, a
/// struct's unknown fields are refused rather than ignored. Refuses keys out
/// of strictly increasing order (hence duplicates) and trailing data.
pub fn decode_canonical<'a, T: de::Deserialize<'a>>(
    bytes: &'a [u8],
    fixed_fields: bool,
) -> Result<T, Error> {
    decode(Cursor::new(bytes, true), fixed_fields)
}

/// Decodes `T` (serde) in one pass straight from JSON text (RFC 8259,
/// whitespace and escapes as [`Tree::parse`](super::Tree::parse) reads
/// them) whose objects list their keys in strictly increasing code point
/// order, as toto, in-toto and `json.dumps(sort_keys=True)` write them;
/// strings borrowed where no escape had to be decoded. Accepts only what
/// the tree accepts, with the same value; refuses keys out of order (hence
/// duplicates) besides: a caller falls back to the tree for those and for
/// the exact error. Unknown struct fields are read past (serde's default),
/// unless the type refuses them.
pub fn decode_sorted<'a, T: de::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Error> {
    decode(Cursor::new(bytes, false), false)
}

/// The first member of the object `bytes` holds, its value a string: a
/// payload's `_type`, read without reading further (the rest of `bytes` is
/// not looked at, so it says nothing about whether they are valid JSON).
/// `None` when the text does not open that way.
pub fn first_string_member(bytes: &[u8]) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let mut c = Cursor::new(bytes, false);
    let key = first_key(&mut c)?;
    if c.peek() != Some(b'"') {
        return None;
    }
    Some((key, c.string().ok()?))
}

/// The first key of the object `bytes` holds, read without reading
/// further: which reader a document is for (a sorted Metablock opens with
/// `signatures`, a sorted envelope with `payload`), known before reading
/// it whole.
pub fn first_member_key(bytes: &[u8]) -> Option<Cow<'_, str>> {
    first_key(&mut Cursor::new(bytes, false))
}

/// Reads up to the first member's value.
fn first_key<'a>(c: &mut Cursor<'a>) -> Option<Cow<'a, str>> {
    c.skip_ws();
    if c.peek() != Some(b'{') {
        return None;
    }
    c.at += 1;
    c.skip_ws();
    c.member_key().ok()
}

fn decode<'a, T: de::Deserialize<'a>>(c: Cursor<'a>, fixed_fields: bool) -> Result<T, Error> {
    let bytes = c.bytes;
    let mut reader = Reader {
        c,
        depth: MAX_DEPTH,
        fixed_fields,
    };
    let json = |source| Error::Json { source };
    reader.c.skip_ws();
    let value = T::deserialize(&mut reader).map_err(json)?;
    reader.c.skip_ws();
    if reader.c.at != bytes.len() {
        return reader.c.fail("trailing characters");
    }
    Ok(value)
}

/// The serde deserializer of [`decode_canonical`] and [`decode_sorted`].
struct Reader<'a> {
    c: Cursor<'a>,
    depth: usize,
    fixed_fields: bool,
}

/// The cursor's errors as serde_json errors (their message kept).
fn to_serde(e: Error) -> serde_json::Error {
    match e {
        Error::Json { source } => source,
        other => de::Error::custom(other),
    }
}

impl<'a> Reader<'a> {
    fn open(&mut self, close: u8) -> Result<bool, serde_json::Error> {
        let (depth, empty) = self.c.open(self.depth, close).map_err(to_serde)?;
        self.depth = depth;
        Ok(empty)
    }

    /// Reads the rest of a container left unread by its visitor.
    fn finish<A: ContainerAccess<'a>>(mut access: A) -> Result<(), serde_json::Error> {
        while access.skip_one()? {}
        Ok(())
    }
}

trait ContainerAccess<'a> {
    /// Reads and drops one more entry; false when the container has ended.
    fn skip_one(&mut self) -> Result<bool, serde_json::Error>;
}

struct Elements<'r, 'a> {
    r: &'r mut Reader<'a>,
    progress: Progress,
}

/// Where a container being read stands: before its first entry, between
/// entries, or closed.
struct Progress {
    first: bool,
    done: bool,
}

impl Progress {
    fn new(empty: bool) -> Self {
        Progress {
            first: true,
            done: empty,
        }
    }

    /// True when another entry follows (whitespace before it skipped):
    /// after the first, a `,`; false at `close`.
    fn more(&mut self, c: &mut Cursor<'_>, close: u8) -> Result<bool, serde_json::Error> {
        if self.done {
            return Ok(false);
        }
        if !self.first {
            c.skip_ws();
            let closed = if close == b']' {
                c.comma_or_close(close, "EOF while parsing a list", "expected `,` or `]`")
            } else {
                c.comma_or_close(close, "EOF while parsing an object", "expected `,` or `}`")
            };
            if closed.map_err(to_serde)? {
                self.done = true;
                return Ok(false);
            }
        }
        self.first = false;
        c.skip_ws();
        Ok(true)
    }
}

impl<'de> de::SeqAccess<'de> for Elements<'_, 'de> {
    type Error = serde_json::Error;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        if !self.progress.more(&mut self.r.c, b']')? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.r).map(Some)
    }
}

impl<'a> ContainerAccess<'a> for Elements<'_, 'a> {
    fn skip_one(&mut self) -> Result<bool, serde_json::Error> {
        Ok(de::SeqAccess::next_element::<de::IgnoredAny>(self)?.is_some())
    }
}

struct Members<'r, 'a> {
    r: &'r mut Reader<'a>,
    progress: Progress,
    order: KeyOrder<'a>,
    /// A struct's fields, when unknown ones are refused.
    fields: Option<&'static [&'static str]>,
}

impl<'de> de::MapAccess<'de> for Members<'_, 'de> {
    type Error = serde_json::Error;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        if !self.progress.more(&mut self.r.c, b'}')? {
            return Ok(None);
        }
        let key = self.r.c.member_key().map_err(to_serde)?;
        let key = self.order.next(&self.r.c, key).map_err(to_serde)?.clone();
        if let Some(fields) = self.fields {
            if !fields.contains(&key.as_ref()) {
                return Err(de::Error::unknown_field(&key, fields));
            }
        }
        match key {
            Cow::Borrowed(k) => seed.deserialize(de::value::BorrowedStrDeserializer::new(k)),
            Cow::Owned(k) => seed.deserialize(de::value::StringDeserializer::new(k)),
        }
        .map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        seed.deserialize(&mut *self.r)
    }

    /// Counted when asked (an artifact list asks once, so it is allocated
    /// once, at its size): the members left before the object closes.
    fn size_hint(&self) -> Option<usize> {
        if self.progress.done {
            return Some(0);
        }
        let commas = members_left(self.r.c.bytes.get(self.r.c.at..).unwrap_or_default());
        Some(if self.progress.first {
            commas + 1
        } else {
            commas
        })
    }
}

/// The commas between the members of the object `rest` lies in, from the
/// start of `rest` to where the object closes (strings and nested values
/// skipped).
fn members_left(rest: &[u8]) -> usize {
    let (mut depth, mut commas) = (0usize, 0usize);
    let mut bytes = rest.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'"' => {
                while let Some(&b) = bytes.next() {
                    match b {
                        b'\\' => {
                            bytes.next();
                        }
                        b'"' => break,
                        _ => {}
                    }
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => break,
            b'}' | b']' => depth -= 1,
            b',' if depth == 0 => commas += 1,
            _ => {}
        }
    }
    commas
}

impl<'a> ContainerAccess<'a> for Members<'_, 'a> {
    fn skip_one(&mut self) -> Result<bool, serde_json::Error> {
        Ok(de::MapAccess::next_entry::<de::IgnoredAny, de::IgnoredAny>(self)?.is_some())
    }
}

impl<'a> Reader<'a> {
    fn seq<V: Visitor<'a>>(&mut self, visitor: V) -> Result<V::Value, serde_json::Error> {
        let depth = self.depth;
        let empty = self.open(b']')?;
        let mut access = Elements {
            r: self,
            progress: Progress::new(empty),
        };
        let value = visitor.visit_seq(&mut access)?;
        Reader::finish(access)?;
        self.depth = depth;
        Ok(value)
    }

    fn map<V: Visitor<'a>>(
        &mut self,
        fields: Option<&'static [&'static str]>,
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        let depth = self.depth;
        let empty = self.open(b'}')?;
        let mut access = Members {
            r: self,
            progress: Progress::new(empty),
            order: KeyOrder::default(),
            fields,
        };
        let value = visitor.visit_map(&mut access)?;
        Reader::finish(access)?;
        self.depth = depth;
        Ok(value)
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.c.peek() {
            None => self.c.fail("EOF while parsing a value").map_err(to_serde),
            Some(b'n') => {
                self.c.literal(b"null").map_err(to_serde)?;
                visitor.visit_unit()
            }
            Some(b't') => {
                self.c.literal(b"true").map_err(to_serde)?;
                visitor.visit_bool(true)
            }
            Some(b'f') => {
                self.c.literal(b"false").map_err(to_serde)?;
                visitor.visit_bool(false)
            }
            Some(b'"') => match self.c.string().map_err(to_serde)? {
                Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
                Cow::Owned(s) => visitor.visit_string(s),
            },
            Some(b'-' | b'0'..=b'9') => match self.c.number().map_err(to_serde)? {
                Item::U64(n) => visitor.visit_u64(n),
                Item::I64(n) => visitor.visit_i64(n),
                Item::F64(f) => visitor.visit_f64(f),
                _ => self.c.fail("expected value").map_err(to_serde),
            },
            Some(b'[') => self.seq(visitor),
            Some(b'{') => self.map(None, visitor),
            Some(_) => self.c.fail("expected value").map_err(to_serde),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if self.c.peek() == Some(b'n') {
            self.c.literal(b"null").map_err(to_serde)?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.c.peek() {
            Some(b'{') => {
                let fixed = self.fixed_fields.then_some(fields);
                self.map(fixed, visitor)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // Links hold no enums; a caller falls back to the tree, which
        // reads them.
        Err(de::Error::custom("enums are not read from canonical bytes"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple
        tuple_struct map identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Tree;

    fn canonical_by_tree(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        Tree::parse(input)
            .unwrap()
            .root()
            .write_canonical(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn a_sorted_document_is_canonicalized_as_the_tree_does() {
        let input = br#" { "a" : [1, -2, true, null, "x\ny\"z\\\u00e9\/"],
            "b" : {"c": {}, "d": []}, "e": "" } "#;
        let read = canonicalize_sorted(input).unwrap();
        assert_eq!(read.bytes, canonical_by_tree(input));
        let keys: Vec<&str> = read.members.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["a", "b", "e"]);
        let (_, b) = &read.members[1];
        assert_eq!(&read.bytes[b.clone()], br#"{"c":{},"d":[]}"#);
        assert_eq!(canonicalize_sorted(b"[1, 2]").unwrap().bytes, b"[1,2]");
        assert!(canonicalize_sorted(b"[1, 2]").unwrap().members.is_empty());
    }

    /// What the tree reads but this pass leaves to it: keys out of order,
    /// duplicates (out of order too), floats; and what both refuse.
    #[test]
    fn keys_out_of_order_duplicates_floats_and_bad_json_are_refused() {
        for input in [
            &br#"{"b":1,"a":2}"#[..],
            br#"{"a":1,"a":1}"#,
            br#"{"a":{"d":1,"c":2}}"#,
            br#"[{"x":1,"x":2}]"#,
            b"[1.5]",
            b"[1] x",
            b"[1,]",
            b"{\"a\":\"\x01\"}",
            b"",
        ] {
            assert!(canonicalize_sorted(input).is_err(), "{input:?}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(canonicalize_sorted(deep.as_bytes()).is_err());
        let ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
        assert!(canonicalize_sorted(ok.as_bytes()).is_ok());
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Doc<'a> {
        #[serde(borrow)]
        name: Cow<'a, str>,
        list: Vec<i64>,
        #[serde(default)]
        note: Option<String>,
    }

    #[test]
    fn canonical_bytes_decode_with_raw_control_characters_and_borrowed_strings() {
        let bytes = b"{\"list\":[1,-2],\"name\":\"plain\",\"note\":\"a\nb\\\"c\"}";
        let doc: Doc = decode_canonical(bytes, true).unwrap();
        assert!(matches!(doc.name, Cow::Borrowed("plain")));
        assert_eq!(doc.list, [1, -2]);
        assert_eq!(doc.note.as_deref(), Some("a\nb\"c"));
        // The tree reads canonical bytes the same way.
        let tree = Tree::parse_canonical(bytes).unwrap();
        assert_eq!(tree.root().decode::<Doc>().unwrap(), doc);
    }

    /// An object's members are counted for a visitor that asks.
    #[test]
    fn the_size_hint_of_an_object_is_its_members_left() {
        struct Counts(Vec<Option<usize>>);
        impl<'de> de::Deserialize<'de> for Counts {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Counts;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a map")
                    }
                    fn visit_map<A: de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<Counts, A::Error> {
                        let mut counts = vec![map.size_hint()];
                        while map
                            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                            .is_some()
                        {
                            counts.push(map.size_hint());
                        }
                        Ok(Counts(counts))
                    }
                }
                d.deserialize_map(V)
            }
        }
        let counts = |bytes: &[u8]| decode_canonical::<Counts>(bytes, false).unwrap().0;
        assert_eq!(counts(b"{}"), [Some(0)]);
        assert_eq!(
            counts(br#"{"a":{"x":1,"y":[1,2]},"b":"\",}\"","c":[{}]}"#),
            [Some(3), Some(2), Some(1), Some(0)]
        );
    }

    #[test]
    fn canonical_decoding_refuses_what_canonical_json_cannot_be() {
        let refused = |bytes: &[u8], fixed| decode_canonical::<Doc>(bytes, fixed).is_err();
        // An escape other than \" and \\ is not canonical.
        assert!(refused(br#"{"list":[],"name":"a\nb"}"#, false));
        assert!(Tree::parse_canonical(br#""a\u0041""#).is_err());
        // Keys out of order, and so duplicates.
        assert!(refused(br#"{"name":"a","list":[]}"#, false));
        assert!(refused(br#"{"list":[],"list":[],"name":"a"}"#, false));
        // With fixed fields, an unknown field; without, it is read past.
        assert!(refused(br#"{"extra":{"z":1},"list":[],"name":"a"}"#, true));
        assert!(!refused(
            br#"{"extra":{"z":1},"list":[],"name":"a"}"#,
            false
        ));
        assert!(refused(
            br#"{"extra":{"z":1,"y":2},"list":[],"name":"a"}"#,
            false
        ));
        // Trailing data.
        assert!(refused(br#"{"list":[],"name":"a"} {}"#, false));
    }

    /// JSON text with whitespace and every escape, keys sorted: the value
    /// the tree reads; keys out of order are left to it.
    #[test]
    fn sorted_text_decodes_as_the_tree_decodes_it() {
        let text = br#" { "a" : [1, -2, 1.5e3, true, null, "x\ny\"z\\\u00e9\/\ud83d\ude00"],
            "b" : {"c": {}, "d": []}, "e": "" } "#;
        let value: serde_json::Value = decode_sorted(text).unwrap();
        assert_eq!(value, Tree::parse(text).unwrap().root().to_value());
        let doc: Doc =
            decode_sorted(br#"{"list": [1], "name": "plain", "zz": [{"q": 1}]}"#).unwrap();
        assert!(matches!(doc.name, Cow::Borrowed("plain")));
        for text in [
            &br#"{"b":1,"a":2}"#[..],
            br#"{"a":1,"a":1}"#,
            br#"[{"x":1,"w":2}]"#,
            b"[1] x",
            b"{\"a\":\"\x01\"}",
        ] {
            assert!(
                decode_sorted::<serde_json::Value>(text).is_err(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_first_string_member_is_read_alone() {
        let first =
            |text: &[u8]| first_string_member(text).map(|(k, v)| (k.into_owned(), v.into_owned()));
        assert_eq!(
            first(br#" { "_type" : "link", "broken": "#),
            Some(("_type".into(), "link".into()))
        );
        assert_eq!(
            first(br#"{"_t\u0079pe":"a\"b"}"#),
            Some(("_type".into(), "a\"b".into()))
        );
        for text in [&br#"{"_type":1}"#[..], b"[]", b"{}", b"", br#"{"_type":"x"#] {
            assert_eq!(first(text), None, "{text:?}");
        }
        assert_eq!(
            first_member_key(br#" {"signatures": [], "#).as_deref(),
            Some("signatures")
        );
        assert_eq!(first_member_key(b"[]"), None);
    }
}
