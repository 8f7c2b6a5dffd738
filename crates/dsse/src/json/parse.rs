//! The reader behind [`Tree::parse`]: one pass over the input, containers
//! pushed after their contents, strings borrowed unless an escape had to be
//! decoded.

use std::borrow::Cow;

use super::cursor::{syntax, Cursor};
use super::{Item, Tree, MAX_DEPTH};
use crate::error::Error;

struct Parser<'a> {
    c: Cursor<'a>,
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
        Tree::read(Cursor::new(bytes, false))
    }

    /// Parses canonical JSON as [`crate::cjson`] writes it (strings may hold
    /// raw control characters and escape only `"` and `\\`), otherwise as
    /// strictly as [`Tree::parse`]: the bytes a Metablock's signatures
    /// cover, read back.
    pub fn parse_canonical(bytes: &'a [u8]) -> Result<Tree<'a>, Error> {
        Tree::read(Cursor::new(bytes, true))
    }

    fn read(c: Cursor<'a>) -> Result<Tree<'a>, Error> {
        let bytes = c.bytes;
        let mut p = Parser {
            c,
            tree: Tree {
                len: bytes.len(),
                items: Vec::new(),
                elements: Vec::new(),
                members: Vec::new(),
            },
            open_elements: Vec::new(),
            open_members: Vec::new(),
        };
        p.c.skip_ws();
        p.value(MAX_DEPTH)?;
        p.c.skip_ws();
        if p.c.at != bytes.len() {
            return Err(syntax("trailing characters", bytes, p.c.at));
        }
        Ok(p.tree)
    }
}

impl<'a> Parser<'a> {
    fn push(&mut self, item: Item<'a>) -> Result<u32, Error> {
        let index = u32::try_from(self.tree.items.len())
            .or_else(|_| self.c.fail("document has too many values"))?;
        self.tree.items.push(item);
        Ok(index)
    }

    /// Reads one value (whitespace before it already skipped); returns its
    /// item index.
    fn value(&mut self, depth: usize) -> Result<u32, Error> {
        match self.c.peek() {
            None => self.c.fail("EOF while parsing a value"),
            Some(b'n') => self.literal(b"null", Item::Null),
            Some(b't') => self.literal(b"true", Item::Bool(true)),
            Some(b'f') => self.literal(b"false", Item::Bool(false)),
            Some(b'"') => {
                let s = self.c.string()?;
                self.push(Item::Str(s))
            }
            Some(b'[') => self.array(depth),
            Some(b'{') => self.object(depth),
            Some(b'-' | b'0'..=b'9') => {
                let n = self.c.number()?;
                self.push(n)
            }
            Some(_) => self.c.fail("expected value"),
        }
    }

    fn literal(&mut self, word: &[u8], item: Item<'a>) -> Result<u32, Error> {
        self.c.literal(word)?;
        self.push(item)
    }

    fn array(&mut self, depth: usize) -> Result<u32, Error> {
        let mark = self.open_elements.len();
        let (depth, empty) = self.c.open(depth, b']')?;
        if !empty {
            loop {
                let item = self.value(depth)?;
                self.open_elements.push(item);
                self.c.skip_ws();
                if self
                    .c
                    .comma_or_close(b']', "EOF while parsing a list", "expected `,` or `]`")?
                {
                    break;
                }
            }
        }
        let start = self.tree.elements.len();
        self.tree.elements.extend(self.open_elements.drain(mark..));
        let (start, len) = self.range(start, self.tree.elements.len())?;
        self.push(Item::Array { start, len })
    }

    fn object(&mut self, depth: usize) -> Result<u32, Error> {
        let opened_at = self.c.at;
        let mark = self.open_members.len();
        let (depth, empty) = self.c.open(depth, b'}')?;
        if !empty {
            loop {
                let key = self.c.member_key()?;
                let item = self.value(depth)?;
                self.open_members.push((key, item));
                self.c.skip_ws();
                if self.c.comma_or_close(
                    b'}',
                    "EOF while parsing an object",
                    "expected `,` or `}`",
                )? {
                    break;
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
                    self.c.bytes,
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
            _ => self.c.fail("document has too many values"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_and_closing_brackets_are_checked_in_arrays_and_objects() {
        for (input, reason) in [
            (&b"[1,]"[..], "trailing comma at line 1 column 4"),
            (b"[1", "EOF while parsing a list"),
            (b"[1 2]", "expected `,` or `]`"),
            (br#"{"a":1,}"#, "trailing comma at line 1 column 8"),
            (br#"{"a":1"#, "EOF while parsing an object"),
            (br#"{"a":1 "b":2}"#, "expected `,` or `}`"),
            (br#"{"a":[1}"#, "expected `,` or `]`"),
        ] {
            let error = Tree::parse(input).map(|_| ()).unwrap_err();
            let cause = std::error::Error::source(&error).map(ToString::to_string);
            assert!(
                cause.as_deref().is_some_and(|c| c.contains(reason)),
                "{input:?}: {error}: {cause:?}"
            );
        }
        for input in [&b"[1, 2]"[..], b"[ ]", br#"{"a": [1], "b": {}}"#] {
            assert!(Tree::parse(input).is_ok(), "{input:?}");
        }
    }
}
