//! The byte-level cursor the JSON readers share ([`Tree::parse`](super::Tree)
//! and the streaming readers in `stream`): whitespace, literals, strings,
//! numbers and the punctuation of arrays and objects, each refused with
//! serde_json's wording and the line and column where it went wrong.

use std::borrow::Cow;

use serde::de;

use super::Item;
use crate::error::Error;

pub(super) fn syntax(reason: impl std::fmt::Display, bytes: &[u8], at: usize) -> Error {
    let before = bytes.get(..at).unwrap_or(bytes);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    Error::Json {
        source: de::Error::custom(format_args!("{reason} at line {line} column {column}")),
    }
}

/// A position in a JSON text.
pub(super) struct Cursor<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) at: usize,
    /// Reading canonical JSON as [`crate::cjson`] writes it: strings may
    /// hold raw control characters and escape only `"` and `\\`.
    pub(super) canonical: bool,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(bytes: &'a [u8], canonical: bool) -> Self {
        Cursor {
            bytes,
            at: 0,
            canonical,
        }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    pub(super) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    pub(super) fn fail<T>(&self, reason: &str) -> Result<T, Error> {
        Err(self.error(reason))
    }

    /// `reason`, at the cursor.
    pub(super) fn error(&self, reason: &str) -> Error {
        syntax(reason, self.bytes, self.at)
    }

    pub(super) fn literal(&mut self, word: &[u8]) -> Result<(), Error> {
        for &expected in word {
            match self.bytes.get(self.at) {
                Some(&b) if b == expected => self.at += 1,
                None => return self.fail("EOF while parsing a value"),
                Some(_) => return self.fail("expected value"),
            }
        }
        Ok(())
    }

    /// After an array element or an object member: a `,` not followed by
    /// `close` (false: another one comes), or `close` (true: the container
    /// ends). `at_eof` and `unexpected` are the refusals otherwise.
    pub(super) fn comma_or_close(
        &mut self,
        close: u8,
        at_eof: &str,
        unexpected: &str,
    ) -> Result<bool, Error> {
        match self.bytes.get(self.at) {
            Some(b',') => {
                self.at += 1;
                self.skip_ws();
                if self.bytes.get(self.at) == Some(&close) {
                    return self.fail("trailing comma");
                }
                Ok(false)
            }
            Some(&byte) if byte == close => {
                self.at += 1;
                Ok(true)
            }
            None => self.fail(at_eof),
            Some(_) => self.fail(unexpected),
        }
    }

    /// Enters an array or object at its opening bracket: one level of
    /// `depth` is used up; true when `close` follows at once (it is empty).
    pub(super) fn open(&mut self, depth: usize, close: u8) -> Result<(usize, bool), Error> {
        let depth = match depth.checked_sub(1) {
            Some(d) if d > 0 => d,
            _ => return self.fail("recursion limit exceeded"),
        };
        self.at += 1;
        self.skip_ws();
        let empty = self.bytes.get(self.at) == Some(&close);
        if empty {
            self.at += 1;
        }
        Ok((depth, empty))
    }

    /// An object member's key and the `:` after it (the cursor on the
    /// key's opening quote or what stands there instead); whitespace
    /// after the `:` skipped.
    pub(super) fn member_key(&mut self) -> Result<Cow<'a, str>, Error> {
        match self.peek() {
            Some(b'"') => {}
            None => return self.fail("EOF while parsing an object"),
            Some(_) => return self.fail("key must be a string"),
        }
        let key = self.string()?;
        self.skip_ws();
        match self.peek() {
            Some(b':') => self.at += 1,
            None => return self.fail("EOF while parsing an object"),
            Some(_) => return self.fail("expected `:`"),
        }
        self.skip_ws();
        Ok(key)
    }

    /// Reads a string (at its opening quote).
    pub(super) fn string(&mut self) -> Result<Cow<'a, str>, Error> {
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
                Some(&b) if b < 0x20 && !self.canonical => {
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
                    if self.canonical && !matches!(escaped, b'"' | b'\\') {
                        self.at -= 1;
                        return self.fail("invalid escape");
                    }
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
                Some(&b) if b < 0x20 && !self.canonical => {
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

    pub(super) fn number(&mut self) -> Result<Item<'static>, Error> {
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
        Ok(item)
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
