//! Canonical JSON in the securesystemslib / OLPC flavour, and strict JSON
//! parsing for untrusted input.
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
//! [`parse_strict`] parses untrusted JSON into a [`serde_json::Value`],
//! rejecting duplicate object keys (which JSON parsers resolve differently, a
//! classic signature-confusion vector), trailing data and excessive nesting.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::Error;

/// Serializes `value` to canonical JSON bytes.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    write_value(value, &mut out)?;
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
                return Err(Error::CanonicalJson {
                    reason: "floats cannot be canonicalized",
                });
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // Sort explicitly: a dependency enabling serde_json's
            // `preserve_order` must not change what we sign.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

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

/// Parses untrusted JSON strictly: duplicate object keys and trailing data are
/// errors; nesting is bounded by serde_json's recursion limit (128).
pub fn parse_strict(bytes: &[u8]) -> Result<Value, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue
        .deserialize(&mut de)
        .map_err(|source| Error::Json { source })?;
    de.end().map_err(|source| Error::Json { source })?;
    Ok(value)
}

/// Parses untrusted JSON strictly (see [`parse_strict`]) into a typed value.
pub fn from_slice_strict<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    crate::json::Tree::parse(bytes)?.root().decode()
}

struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            match map.entry(key) {
                serde_json::map::Entry::Occupied(entry) => {
                    let shown: String = entry.key().chars().take(100).collect();
                    return Err(de::Error::custom(format_args!(
                        "duplicate object key {shown:?}"
                    )));
                }
                serde_json::map::Entry::Vacant(entry) => {
                    entry.insert(access.next_value_seed(StrictValue)?);
                }
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn strict_parse_rejects_duplicates_and_trailing_data() {
        assert!(parse_strict(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_strict(br#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(parse_strict(br#"{"a":1} x"#).is_err());
        assert!(parse_strict(br#"{"a":1}  "#).is_ok());
    }

    #[test]
    fn strict_parse_bounds_nesting() {
        let deep = "[".repeat(100_000);
        assert!(parse_strict(deep.as_bytes()).is_err());
    }

    #[test]
    fn canonical_is_idempotent() {
        let v: Value = serde_json::from_str(r#"{"b":[1,{"d":null,"c":true}],"a":"x"}"#).unwrap();
        let once = to_canonical(&v).unwrap();
        let again = to_canonical(&parse_strict(&once).unwrap()).unwrap();
        assert_eq!(once, again);
    }
}
