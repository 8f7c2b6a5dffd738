//! Canonical JSON in the securesystemslib / OLPC flavour.
//!
//! Canonical form, as securesystemslib's `encode_canonical` writes it (and as
//! classic in-toto Metablocks and key ids are hashed):
//! - object keys sorted by Unicode code point, no whitespace anywhere;
//! - strings escape only `"` and `\`; every other character, control
//!   characters included, is written raw as UTF-8;
//! - integers only: a float is an error (securesystemslib refuses them too).
//!
//! Deliberately unsupported: integers outside `i64`/`u64` (Python accepts any
//! size; they never occur in in-toto metadata).
//!
//! The writer depends on the value model ([`crate::json`]), never the
//! reverse. [`parse_strict`] and [`from_slice_strict`] live in
//! [`crate::json`] and are re-exported here: they parse untrusted JSON
//! rejecting duplicate object keys (which JSON parsers resolve differently, a
//! classic signature-confusion vector), trailing data and excessive nesting.

use serde_json::Value;

use crate::error::Error;
use crate::json::{write_string, Item, Node};

pub use crate::json::{from_slice_strict, parse_strict};

/// Serializes `value` to canonical JSON bytes.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    write_value(value, &mut out)?;
    Ok(out)
}

/// Serializes `value` to canonical JSON bytes straight from its
/// [`serde::Serialize`] form, with no [`Value`] in between: every object's
/// keys must come in code point order (wrap a [`Value`] in
/// [`crate::Sorted`]); a key out of order is an [`Error::CanonicalJson`].
pub fn to_canonical_sorted<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    crate::serialize::canonical(value, &mut out)?;
    Ok(out)
}

/// Serializes any serde value to canonical JSON bytes.
pub fn to_canonical_from<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    let value = serde_json::to_value(value).map_err(|_| Error::CanonicalJson {
        reason: "value is not representable as JSON",
    })?;
    to_canonical(&value)
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), Error> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(float());
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => write_array(items, out, write_value)?,
        Value::Object(map) => {
            // Sort explicitly: a dependency enabling serde_json's
            // `preserve_order` must not change what we sign.
            let mut entries: Vec<(&str, &Value)> =
                map.iter().map(|(k, v)| (k.as_str(), v)).collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            write_object(entries, out, write_value)?;
        }
    }
    Ok(())
}

fn float() -> Error {
    Error::CanonicalJson {
        reason: "floats cannot be canonicalized",
    }
}

/// Writes `[a,b,…]`, each element by `write`.
fn write_array<T>(
    items: impl IntoIterator<Item = T>,
    out: &mut Vec<u8>,
    write: fn(T, &mut Vec<u8>) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(item, out)?;
    }
    out.push(b']');
    Ok(())
}

/// Writes `{"key":value,…}` for entries already in code point order, each
/// value by `write`.
fn write_object<'k, T>(
    entries: impl IntoIterator<Item = (&'k str, T)>,
    out: &mut Vec<u8>,
    write: fn(T, &mut Vec<u8>) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(key, out);
        out.push(b':');
        write(value, out)?;
    }
    out.push(b'}');
    Ok(())
}

impl Node<'_, '_> {
    /// Appends the value's canonical JSON (see [`crate::cjson`]) to `out`.
    pub fn write_canonical(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self.item() {
            Item::Null => out.extend_from_slice(b"null"),
            Item::Bool(true) => out.extend_from_slice(b"true"),
            Item::Bool(false) => out.extend_from_slice(b"false"),
            Item::U64(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Item::I64(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Item::F64(_) => return Err(float()),
            Item::Str(s) => write_string(s, out),
            Item::Array { .. } => {
                write_array(self.elements(), out, |n, out| n.write_canonical(out))?
            }
            Item::Object { sorted, .. } => {
                let mut entries: Vec<(&str, Node<'_, '_>)> = self.members().collect();
                if !sorted {
                    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                }
                write_object(entries, out, |n, out| n.write_canonical(out))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Tree;

    #[test]
    fn escapes_only_quote_and_backslash() {
        let v: Value = serde_json::from_str(r#"{"s":"a\"b\\c\nd\u0001é"}"#).unwrap();
        assert_eq!(
            to_canonical(&v).unwrap(),
            "{\"s\":\"a\\\"b\\\\c\nd\u{1}é\"}".as_bytes()
        );
    }

    #[test]
    fn rejects_floats() {
        let v: Value = serde_json::from_str(r#"{"f":1.5}"#).unwrap();
        assert!(matches!(to_canonical(&v), Err(Error::CanonicalJson { .. })));
    }

    #[test]
    fn canonical_is_idempotent() {
        let v: Value = serde_json::from_str(r#"{"b":[1,{"d":null,"c":true}],"a":"x"}"#).unwrap();
        let once = to_canonical(&v).unwrap();
        let again = to_canonical(&parse_strict(&once).unwrap()).unwrap();
        assert_eq!(once, again);
    }

    /// Both readers must agree: same verdict, same value, same canonical
    /// bytes.
    fn agree(input: &str) {
        let old = parse_strict(input.as_bytes());
        let new = Tree::parse(input.as_bytes());
        match (&old, &new) {
            (Ok(v), Ok(t)) => {
                assert_eq!(*v, t.root().to_value(), "value of {input:?}");
                let mut canonical = Vec::new();
                let c = t.root().write_canonical(&mut canonical).map(|()| canonical);
                match (to_canonical(v), c) {
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
}
