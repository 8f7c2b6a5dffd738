//! A strict JSON reader that keeps strings borrowed from the input.
//!
//! [`Tree::parse`] accepts exactly what [`crate::cjson::parse_strict`]
//! accepts (RFC 8259 JSON as serde_json reads it, duplicate object keys and
//! trailing data refused, nesting bounded at serde_json's 128) and reads
//! numbers the way serde_json does. What it adds is speed on large
//! documents: the parsed tree is a few flat arrays whose strings point into
//! the input wherever no escape had to be decoded, so a link listing tens of
//! thousands of artifacts is read without an allocation per string, written
//! as canonical JSON mostly by copying input slices, and decoded into typed
//! values through [`Node`]'s `serde::Deserializer` without an intermediate
//! [`serde_json::Value`]. The fuzz target `cjson` checks that both readers
//! agree on every input.

use std::borrow::Cow;

use serde::de::{self, Deserializer as _, IntoDeserializer, Visitor};
use serde_json::{Map, Value};

use crate::error::Error;

/// Deepest nesting of arrays and objects, as serde_json bounds it.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone)]
enum Item<'a> {
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

fn syntax(reason: impl std::fmt::Display, bytes: &[u8], at: usize) -> Error {
    let before = bytes.get(..at).unwrap_or(bytes);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    Error::Json {
        source: de::Error::custom(format_args!("{reason} at line {line} column {column}")),
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    tree: Tree<'a>,
    /// Elements and members of the arrays and objects being read; moved to
    /// the tree when their container closes, so each container's entries end
    /// up contiguous.
    open_elements: Vec<u32>,
    open_members: Vec<(Cow<'a, str>, u32)>,
}

impl<'a> Tree<'a> {
    /// Parses `bytes` strictly (see the module documentation).
    pub fn parse(bytes: &'a [u8]) -> Result<Tree<'a>, Error> {
        let mut p = Parser {
            bytes,
            at: 0,
            tree: Tree {
                len: bytes.len(),
                items: Vec::new(),
                elements: Vec::new(),
                members: Vec::new(),
            },
            open_elements: Vec::new(),
            open_members: Vec::new(),
        };
        p.skip_ws();
        p.value(MAX_DEPTH)?;
        p.skip_ws();
        if p.at != bytes.len() {
            return Err(syntax("trailing characters", bytes, p.at));
        }
        Ok(p.tree)
    }

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

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn fail<T>(&self, reason: &str) -> Result<T, Error> {
        Err(syntax(reason, self.bytes, self.at))
    }

    fn push(&mut self, item: Item<'a>) -> Result<u32, Error> {
        let index = u32::try_from(self.tree.items.len())
            .or_else(|_| self.fail("document has too many values"))?;
        self.tree.items.push(item);
        Ok(index)
    }

    /// Reads one value (whitespace before it already skipped); returns its
    /// item index.
    fn value(&mut self, depth: usize) -> Result<u32, Error> {
        match self.bytes.get(self.at) {
            None => self.fail("EOF while parsing a value"),
            Some(b'n') => self.literal(b"null", Item::Null),
            Some(b't') => self.literal(b"true", Item::Bool(true)),
            Some(b'f') => self.literal(b"false", Item::Bool(false)),
            Some(b'"') => {
                let s = self.string()?;
                self.push(Item::Str(s))
            }
            Some(b'[') => self.array(depth),
            Some(b'{') => self.object(depth),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.fail("expected value"),
        }
    }

    fn literal(&mut self, word: &[u8], item: Item<'a>) -> Result<u32, Error> {
        for &expected in word {
            match self.bytes.get(self.at) {
                Some(&b) if b == expected => self.at += 1,
                None => return self.fail("EOF while parsing a value"),
                Some(_) => return self.fail("expected value"),
            }
        }
        self.push(item)
    }

    fn array(&mut self, depth: usize) -> Result<u32, Error> {
        let depth = match depth.checked_sub(1) {
            Some(d) if d > 0 => d,
            _ => return self.fail("recursion limit exceeded"),
        };
        self.at += 1;
        let mark = self.open_elements.len();
        self.skip_ws();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
        } else {
            loop {
                let item = self.value(depth)?;
                self.open_elements.push(item);
                self.skip_ws();
                match self.bytes.get(self.at) {
                    Some(b',') => {
                        self.at += 1;
                        self.skip_ws();
                        if self.bytes.get(self.at) == Some(&b']') {
                            return self.fail("trailing comma");
                        }
                    }
                    Some(b']') => {
                        self.at += 1;
                        break;
                    }
                    None => return self.fail("EOF while parsing a list"),
                    Some(_) => return self.fail("expected `,` or `]`"),
                }
            }
        }
        let start = self.tree.elements.len();
        self.tree.elements.extend(self.open_elements.drain(mark..));
        let (start, len) = self.range(start, self.tree.elements.len())?;
        self.push(Item::Array { start, len })
    }

    fn object(&mut self, depth: usize) -> Result<u32, Error> {
        let depth = match depth.checked_sub(1) {
            Some(d) if d > 0 => d,
            _ => return self.fail("recursion limit exceeded"),
        };
        let opened_at = self.at;
        self.at += 1;
        let mark = self.open_members.len();
        self.skip_ws();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
        } else {
            loop {
                match self.bytes.get(self.at) {
                    Some(b'"') => {}
                    None => return self.fail("EOF while parsing an object"),
                    Some(_) => return self.fail("key must be a string"),
                }
                let key = self.string()?;
                self.skip_ws();
                match self.bytes.get(self.at) {
                    Some(b':') => self.at += 1,
                    None => return self.fail("EOF while parsing an object"),
                    Some(_) => return self.fail("expected `:`"),
                }
                self.skip_ws();
                let item = self.value(depth)?;
                self.open_members.push((key, item));
                self.skip_ws();
                match self.bytes.get(self.at) {
                    Some(b',') => {
                        self.at += 1;
                        self.skip_ws();
                        if self.bytes.get(self.at) == Some(&b'}') {
                            return self.fail("trailing comma");
                        }
                    }
                    Some(b'}') => {
                        self.at += 1;
                        break;
                    }
                    None => return self.fail("EOF while parsing an object"),
                    Some(_) => return self.fail("expected `,` or `}`"),
                }
            }
        }
        let entries = self.open_members.get(mark..).unwrap_or_default();
        let sorted = entries.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0));
        if !sorted {
            let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_ref()).collect();
            keys.sort_unstable();
            if let Some([key, _]) = keys.windows(2).find(|w| matches!(w, [a, b] if a == b)) {
                let shown: String = key.chars().take(100).collect();
                return Err(syntax(
                    format_args!("duplicate object key {shown:?}"),
                    self.bytes,
                    opened_at,
                ));
            }
        }
        let start = self.tree.members.len();
        self.tree.members.extend(self.open_members.drain(mark..));
        let (start, len) = self.range(start, self.tree.members.len())?;
        self.push(Item::Object { start, len, sorted })
    }

    fn range(&self, start: usize, end: usize) -> Result<(u32, u32), Error> {
        match (u32::try_from(start), u32::try_from(end - start)) {
            (Ok(s), Ok(l)) => Ok((s, l)),
            _ => self.fail("document has too many values"),
        }
    }

    /// Reads a string (at its opening quote).
    fn string(&mut self) -> Result<Cow<'a, str>, Error> {
        self.at += 1;
        let start = self.at;
        // Fast path: no escape before the closing quote. Skip eight bytes
        // at a time while none is a quote, a backslash or a control
        // character (these word tests have no false negatives; a false
        // positive only hands the bytes to the loop below).
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGHS;
        while let Some(chunk) = self.bytes.get(self.at..self.at + 8) {
            let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            let quote = below(x ^ (ONES * u64::from(b'"')), 1);
            let backslash = below(x ^ (ONES * u64::from(b'\\')), 1);
            if quote | backslash | below(x, 0x20) != 0 {
                break;
            }
            self.at += 8;
        }
        loop {
            match self.bytes.get(self.at) {
                Some(b'"') => {
                    let raw = self.bytes.get(start..self.at).unwrap_or_default();
                    let s = std::str::from_utf8(raw).or_else(|e| {
                        self.at = start + e.valid_up_to();
                        self.fail("invalid unicode code point")
                    })?;
                    self.at += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(&b) if b < 0x20 => {
                    return self
                        .fail("control character (\\u0000-\\u001F) found while parsing a string")
                }
                Some(_) => self.at += 1,
                None => return self.fail("EOF while parsing a string"),
            }
        }
        // Slow path: decode escapes into a buffer.
        let mut out: Vec<u8> = self.bytes.get(start..self.at).unwrap_or_default().to_vec();
        loop {
            match self.bytes.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return match String::from_utf8(out) {
                        Ok(s) => Ok(Cow::Owned(s)),
                        Err(_) => self.fail("invalid unicode code point"),
                    };
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = match self.bytes.get(self.at) {
                        None => return self.fail("EOF while parsing a string"),
                        Some(&b) => b,
                    };
                    self.at += 1;
                    match escaped {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            self.at -= 1;
                            return self.fail("invalid escape");
                        }
                    }
                }
                Some(&b) if b < 0x20 => {
                    return self
                        .fail("control character (\\u0000-\\u001F) found while parsing a string")
                }
                Some(&b) => {
                    out.push(b);
                    self.at += 1;
                }
                None => return self.fail("EOF while parsing a string"),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, Error> {
        let mut n: u16 = 0;
        for _ in 0..4 {
            let digit = match self.bytes.get(self.at) {
                None => return self.fail("EOF while parsing a string"),
                Some(&b) => match (b as char).to_digit(16) {
                    Some(d) => d as u16,
                    None => return self.fail("invalid escape"),
                },
            };
            n = (n << 4) | digit;
            self.at += 1;
        }
        Ok(n)
    }

    /// After `\u`: one character, from one escape or a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, Error> {
        let first = self.hex4()?;
        let code = match first {
            0xDC00..=0xDFFF => return self.fail("lone leading surrogate in hex escape"),
            0xD800..=0xDBFF => {
                if self.bytes.get(self.at..self.at + 2) != Some(b"\\u") {
                    return self.fail("unexpected end of hex escape");
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return self.fail("lone leading surrogate in hex escape");
                }
                0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(second) - 0xDC00)
            }
            n => u32::from(n),
        };
        match char::from_u32(code) {
            Some(c) => Ok(c),
            None => self.fail("invalid unicode code point"),
        }
    }

    fn number(&mut self) -> Result<u32, Error> {
        let start = self.at;
        let negative = self.bytes.get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let digits_start = self.at;
        match self.bytes.get(self.at) {
            Some(b'0') => {
                self.at += 1;
                if let Some(b'0'..=b'9') = self.bytes.get(self.at) {
                    return self.fail("invalid number");
                }
            }
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.bytes.get(self.at) {
                    self.at += 1;
                }
            }
            None => return self.fail("EOF while parsing a value"),
            Some(_) => return self.fail("invalid number"),
        }
        let digits_end = self.at;
        let mut integer = true;
        if self.bytes.get(self.at) == Some(&b'.') {
            integer = false;
            self.at += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            integer = false;
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            self.digits()?;
        }
        let text = std::str::from_utf8(self.bytes.get(start..self.at).unwrap_or_default())
            .unwrap_or_default();
        let digits = text
            .get(digits_start - start..digits_end - start)
            .unwrap_or_default();
        // serde_json's reading: integers fitting u64 (or, negative, i64)
        // stay integers; `-0`, larger integers and everything with a
        // fraction or exponent become f64.
        let item = match digits.parse::<u64>() {
            Ok(n) if integer && !negative => Item::U64(n),
            Ok(n) if integer && (n as i64).wrapping_neg() < 0 => {
                Item::I64((n as i64).wrapping_neg())
            }
            _ => match serde_json::from_str::<f64>(text) {
                Ok(f) => Item::F64(f),
                Err(_) => {
                    self.at = start;
                    return self.fail("number out of range");
                }
            },
        };
        self.push(item)
    }

    fn digits(&mut self) -> Result<(), Error> {
        match self.bytes.get(self.at) {
            Some(b'0'..=b'9') => {}
            None => return self.fail("EOF while parsing a value"),
            Some(_) => return self.fail("invalid number"),
        }
        while let Some(b'0'..=b'9') = self.bytes.get(self.at) {
            self.at += 1;
        }
        Ok(())
    }
}

impl<'t, 'a> Node<'t, 'a> {
    fn item(&self) -> &'t Item<'a> {
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

    /// Appends the value's canonical JSON (see [`crate::cjson`]) to `out`.
    pub fn write_canonical(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self.item() {
            Item::Null => out.extend_from_slice(b"null"),
            Item::Bool(true) => out.extend_from_slice(b"true"),
            Item::Bool(false) => out.extend_from_slice(b"false"),
            Item::U64(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Item::I64(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Item::F64(_) => {
                return Err(Error::CanonicalJson {
                    reason: "floats cannot be canonicalized",
                })
            }
            Item::Str(s) => crate::cjson::write_string(s, out),
            Item::Array { .. } => {
                out.push(b'[');
                for (i, n) in self.elements().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    n.write_canonical(out)?;
                }
                out.push(b']');
            }
            Item::Object { sorted, .. } => {
                let mut entries: Vec<(&str, Node<'_, '_>)> = self.members().collect();
                if !sorted {
                    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                }
                out.push(b'{');
                for (i, (k, n)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    crate::cjson::write_string(k, out);
                    out.push(b':');
                    n.write_canonical(out)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }

    /// Decodes the value into `T` (serde), without an intermediate
    /// [`serde_json::Value`].
    pub fn decode<T: de::Deserialize<'t>>(self) -> Result<T, Error> {
        T::deserialize(self).map_err(|source| Error::Json { source })
    }

    fn unexpected(&self) -> de::Unexpected<'t> {
        match self.item() {
            Item::Null => de::Unexpected::Unit,
            Item::Bool(b) => de::Unexpected::Bool(*b),
            Item::U64(n) => de::Unexpected::Unsigned(*n),
            Item::I64(n) => de::Unexpected::Signed(*n),
            Item::F64(f) => de::Unexpected::Float(*f),
            Item::Str(s) => de::Unexpected::Str(s.as_ref()),
            Item::Array { .. } => de::Unexpected::Seq,
            Item::Object { .. } => de::Unexpected::Map,
        }
    }
}

struct Elements<'t, 'a: 't, I: Iterator<Item = Node<'t, 'a>>>(I, usize);

impl<'de, 'a: 'de, I: Iterator<Item = Node<'de, 'a>>> de::SeqAccess<'de> for Elements<'de, 'a, I> {
    type Error = serde_json::Error;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        match self.0.next() {
            Some(n) => {
                self.1 = self.1.saturating_sub(1);
                seed.deserialize(n).map(Some)
            }
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.1)
    }
}

struct Members<'t, 'a: 't, I: Iterator<Item = (&'t str, Node<'t, 'a>)>> {
    entries: I,
    value: Option<Node<'t, 'a>>,
    left: usize,
}

/// An object key: deserializes as the borrowed string.
struct Key<'t>(&'t str);

impl<'de> de::Deserializer<'de> for Key<'de> {
    type Error = serde_json::Error;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_borrowed_str(self.0)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, 'a: 'de, I: Iterator<Item = (&'de str, Node<'de, 'a>)>> de::MapAccess<'de>
    for Members<'de, 'a, I>
{
    type Error = serde_json::Error;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                self.left = self.left.saturating_sub(1);
                seed.deserialize(Key(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::custom("value requested before key")),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct Variant<'t, 'a: 't> {
    name: &'t str,
    value: Option<Node<'t, 'a>>,
}

impl<'de, 'a: 'de> de::EnumAccess<'de> for Variant<'de, 'a> {
    type Error = serde_json::Error;
    type Variant = Self;
    fn variant_seed<V: de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), Self::Error> {
        let name = seed.deserialize(Key(self.name))?;
        Ok((name, self))
    }
}

impl<'de, 'a: 'de> de::VariantAccess<'de> for Variant<'de, 'a> {
    type Error = serde_json::Error;
    fn unit_variant(self) -> Result<(), Self::Error> {
        match self.value {
            None => Ok(()),
            Some(v) => de::Deserialize::deserialize(v),
        }
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        match self.value {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value {
            Some(v) => v.deserialize_seq(visitor),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value {
            Some(v) => v.deserialize_map(visitor),
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

impl<'de, 'a: 'de> de::Deserializer<'de> for Node<'de, 'a> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.item() {
            Item::Null => visitor.visit_unit(),
            Item::Bool(b) => visitor.visit_bool(*b),
            Item::U64(n) => visitor.visit_u64(*n),
            Item::I64(n) => visitor.visit_i64(*n),
            Item::F64(f) => visitor.visit_f64(*f),
            Item::Str(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Item::Str(Cow::Owned(s)) => visitor.visit_borrowed_str(s.as_str()),
            Item::Array { .. } => visitor.visit_seq(Elements(self.elements(), self.len())),
            Item::Object { .. } => visitor.visit_map(Members {
                entries: self.members(),
                value: None,
                left: self.len(),
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.item() {
            Item::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.item() {
            Item::Str(_) => visitor.visit_enum(Variant {
                name: self.as_str().unwrap_or_default(),
                value: None,
            }),
            Item::Object { .. } if self.len() == 1 => {
                let mut members = self.members();
                match members.next() {
                    Some((name, value)) => visitor.visit_enum(Variant {
                        name,
                        value: Some(value),
                    }),
                    None => Err(de::Error::invalid_type(self.unexpected(), &"an enum")),
                }
            }
            _ => Err(de::Error::invalid_type(self.unexpected(), &"an enum")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

impl<'de, 'a: 'de> IntoDeserializer<'de, serde_json::Error> for Node<'de, 'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cjson;

    /// Both readers must agree: same verdict, same value, same canonical
    /// bytes.
    fn agree(input: &str) {
        let old = cjson::parse_strict(input.as_bytes());
        let new = Tree::parse(input.as_bytes());
        match (&old, &new) {
            (Ok(v), Ok(t)) => {
                assert_eq!(*v, t.root().to_value(), "value of {input:?}");
                let mut canonical = Vec::new();
                let c = t.root().write_canonical(&mut canonical).map(|()| canonical);
                match (cjson::to_canonical(v), c) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "canonical of {input:?}"),
                    (Err(_), Err(_)) => {}
                    (a, b) => panic!("canonical of {input:?}: {a:?} vs {b:?}"),
                }
                let typed: Value = t.root().decode().unwrap();
                assert_eq!(*v, typed, "decoded {input:?}");
            }
            (Err(_), Err(_)) => {}
            _ => panic!("verdicts differ on {input:?}: {old:?} vs {new:?}"),
        }
    }

    #[test]
    fn agrees_with_serde_json_on_tricky_inputs() {
        for input in [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "1",
            "-1",
            "01",
            "1.",
            ".5",
            "+1",
            "1e5",
            "1E+5",
            "-1.5e-3",
            "1e400",
            "-",
            "--1",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "\"\"",
            "\"a\\u0000b\"",
            "\"\\ud83d\\ude00\"",
            "\"\\ud83d\"",
            "\"\\ude00\"",
            "\"\\ud83dx\"",
            "\"\\x\"",
            "\"\u{1}\"",
            "\"é\"",
            "\"a\\/b\"",
            "[]",
            "[1,]",
            "[1 2]",
            "{}",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "{\"a\":1,\"a\":2}",
            "{\"b\":1,\"a\":{\"d\":[1,{\"c\":null}],\"c\":\"\\\"\"}}",
            " [ 1 , 2 ] ",
            "[1] x",
            "",
            " ",
            "[",
            "{",
            "\"abc",
            "nul",
            "truex",
            "{\"a\":1}{}",
            "{\"\\u0061\":1,\"a\":2}",
            "{\"a\":1,\"b\":2,\"a\":3}",
            "\u{feff}{}",
            "[\"\\uD800\\uDC00\"]",
            "1.5",
            "[-0.0]",
            "123456789012345678901234567890",
        ] {
            agree(input);
        }
    }

    #[test]
    fn nesting_is_bounded_like_serde_json() {
        for depth in [126, 127, 128, 129, 200] {
            agree(&format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
            agree(&format!(
                "{}1{}",
                "{\"a\":".repeat(depth),
                "}".repeat(depth)
            ));
        }
    }

    #[test]
    fn invalid_utf8_is_refused_like_serde_json() {
        for input in [
            &b"\"\xff\""[..],
            b"\"a\\n\xc3\"",
            b"[\"\xed\xa0\x80\"]",
            b"\xff",
        ] {
            assert_eq!(
                cjson::parse_strict(input).is_ok(),
                Tree::parse(input).is_ok(),
                "{input:?}"
            );
        }
    }

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
}
