//! JSON written the way Python's `json.dumps(obj, sort_keys=True)` writes it
//! (ASCII output with `\uXXXX` escapes, sorted keys), with `indent=1`
//! ([`to_python_json`], how in-toto writes Metablocks) or on one line with
//! `", "` and `": "` separators ([`to_python_json_line`], how in-toto writes
//! DSSE envelopes and their payloads). Files toto writes in the reference's
//! formats are byte-identical to the reference's.

use serde_json::Value;

/// Serializes `value` like `json.dumps(value, indent=1, sort_keys=True)`.
pub fn to_python_json(value: &Value) -> Vec<u8> {
    let mut out = String::new();
    write(value, Some(0), &mut out);
    out.into_bytes()
}

/// Serializes an object given as borrowed `(key, value)` members (keys in
/// sorted order) like `json.dumps(object, indent=1, sort_keys=True)`,
/// without building the object.
pub fn to_python_json_members(members: &[(&str, &Value)]) -> Vec<u8> {
    let mut out = String::from("{");
    for (i, (key, value)) in members.iter().enumerate() {
        separate(i == 0, Some(1), &mut out);
        write_str(key, &mut out);
        out.push_str(": ");
        write(value, Some(1), &mut out);
    }
    newline(0, &mut out);
    out.push('}');
    out.into_bytes()
}

/// Serializes `value` like `json.dumps(value, sort_keys=True)`.
pub fn to_python_json_line(value: &Value) -> Vec<u8> {
    let mut out = String::new();
    write(value, None, &mut out);
    out.into_bytes()
}

/// [`to_python_json`] straight from `value`'s [`serde::Serialize`] form, with
/// no [`Value`] in between: every object's keys must come in code point
/// order (wrap a [`Value`] in [`crate::Sorted`]), or it is an
/// [`crate::Error::CanonicalJson`].
pub fn to_python_json_sorted<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<Vec<u8>, crate::Error> {
    python_sorted(value, crate::serialize::Layout::Indent)
}

/// [`to_python_json_line`] straight from `value`'s [`serde::Serialize`]
/// form (keys in code point order, as [`to_python_json_sorted`]).
pub fn to_python_json_line_sorted<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<Vec<u8>, crate::Error> {
    python_sorted(value, crate::serialize::Layout::Line)
}

/// `value` in the reference's Python JSON, laid out as `layout` says.
fn python_sorted<T: serde::Serialize + ?Sized>(
    value: &T,
    layout: crate::serialize::Layout,
) -> Result<Vec<u8>, crate::Error> {
    let mut out = Vec::new();
    crate::serialize::python(value, layout, &mut out)?;
    Ok(out)
}

/// `value` as serde_json writes it compactly (`serde_json::to_vec`), into a
/// buffer sized by a first pass: a buffer grown by doubling would hold up
/// to twice a large document.
pub fn to_compact_json<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut count = crate::serialize::Count(0);
    serde_json::to_writer(&mut count, value)?;
    let mut out = Vec::with_capacity(count.0);
    serde_json::to_writer(&mut out, value)?;
    Ok(out)
}

/// Before an item: a newline and indent when indenting, else `", "` / nothing.
fn separate(first: bool, depth: Option<usize>, out: &mut String) {
    if !first {
        out.push(',');
    }
    match depth {
        Some(depth) => newline(depth, out),
        None if !first => out.push(' '),
        None => {}
    }
}

fn newline(depth: usize, out: &mut String) {
    out.push('\n');
    for _ in 0..depth {
        out.push(' ');
    }
}

fn write(value: &Value, depth: Option<usize>, out: &mut String) {
    let inner = depth.map(|d| d + 1);
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separate(i == 0, inner, out);
                write(item, inner, out);
            }
            if let Some(depth) = depth {
                newline(depth, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                separate(i == 0, inner, out);
                write_str(k, out);
                out.push_str(": ");
                write(v, inner, out);
            }
            if let Some(depth) = depth {
                newline(depth, out);
            }
            out.push('}');
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_indent_1_sort_keys() {
        let v: Value = serde_json::from_str(r#"{"b":[1,{}],"a":"ü\n😀","c":[]}"#).unwrap();
        let expected =
            "{\n \"a\": \"\\u00fc\\n\\ud83d\\ude00\",\n \"b\": [\n  1,\n  {}\n ],\n \"c\": []\n}";
        assert_eq!(String::from_utf8(to_python_json(&v)).unwrap(), expected);
        let line = "{\"a\": \"\\u00fc\\n\\ud83d\\ude00\", \"b\": [1, {}], \"c\": []}";
        assert_eq!(String::from_utf8(to_python_json_line(&v)).unwrap(), line);
    }
}
