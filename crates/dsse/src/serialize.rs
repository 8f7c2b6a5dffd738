//! Writing any [`serde::Serialize`] value straight to bytes in the two JSON
//! forms in-toto signs and writes: canonical JSON ([`crate::cjson`]) and
//! Python's `json.dumps(sort_keys=True)` ([`crate::pretty`]), without
//! building a [`serde_json::Value`] first. A link listing a million
//! artifacts is written from its typed form in one pass, with no tree of
//! small strings in between.
//!
//! Keys are not sorted here: the value must serialize every object's keys
//! in code point order (a `BTreeMap<String, _>`, struct fields declared in
//! that order). The writer checks it and fails with
//! [`Error::CanonicalJson`] on a key out of order or repeated, so a source
//! that forgets cannot produce bytes that differ from the reference's.

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};

use crate::error::Error;

/// The two layouts of [`crate::pretty`]: `indent=1`, or one line with `", "`
/// and `": "`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Indent,
    Line,
}

/// The form of the output.
enum Form {
    /// securesystemslib canonical JSON: compact, only `"` and `\` escaped.
    Canonical,
    /// Python `json.dumps(sort_keys=True)`, ASCII only.
    Python(Layout, PrettyFormatter<'static>),
}

/// The formatter: the form, and the keys of the objects being written
/// (the last key of each open object, to check their order).
struct Writer {
    form: Form,
    /// One entry per open object: its last key so far.
    keys: Vec<Option<Vec<u8>>>,
    /// The key being written, while one is.
    key: Option<Vec<u8>>,
}

fn order_error() -> io::Error {
    io::Error::other("object keys are not in code point order")
}

impl Writer {
    fn capture(&mut self, bytes: &[u8]) {
        if let Some(key) = self.key.as_mut() {
            key.extend_from_slice(bytes);
        }
    }

    /// A bracket or the end of a value: in Python's indented layout what
    /// the pretty formatter writes (`indent`), else just `plain`.
    fn bracket<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        plain: &[u8],
        indent: impl FnOnce(&mut PrettyFormatter<'static>, &mut W) -> io::Result<()>,
    ) -> io::Result<()> {
        match &mut self.form {
            Form::Python(Layout::Indent, pretty) => indent(pretty, writer),
            _ => writer.write_all(plain),
        }
    }

    /// What goes before an array value or an object key: the indenting
    /// formatter's `indent`, else `", "` (Python's line) or `","`
    /// (canonical) after the first.
    fn separate<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
        indent: impl FnOnce(&mut PrettyFormatter<'static>, &mut W) -> io::Result<()>,
    ) -> io::Result<()> {
        match &mut self.form {
            Form::Python(Layout::Indent, pretty) => indent(pretty, writer),
            Form::Python(Layout::Line, _) if !first => writer.write_all(b", "),
            Form::Canonical if !first => writer.write_all(b","),
            _ => Ok(()),
        }
    }
}

/// Writes `s` as Python's `ensure_ascii` does: printable ASCII as is,
/// everything else as `\uXXXX` (UTF-16 code units, lower-case hex).
fn write_ascii<W: ?Sized + io::Write>(writer: &mut W, s: &str) -> io::Result<()> {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if (' '..='~').contains(&c) {
            continue;
        }
        writer.write_all(s.get(start..i).unwrap_or_default().as_bytes())?;
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            write!(writer, "\\u{unit:04x}")?;
        }
        start = i + c.len_utf8();
    }
    writer.write_all(s.get(start..).unwrap_or_default().as_bytes())
}

impl Formatter for Writer {
    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        match self.form {
            Form::Canonical => Err(io::Error::other("floats cannot be canonicalized")),
            Form::Python(..) => CompactFormatter.write_f64(writer, value),
        }
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        self.capture(fragment.as_bytes());
        match self.form {
            Form::Canonical => writer.write_all(fragment.as_bytes()),
            Form::Python(..) => write_ascii(writer, fragment),
        }
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        let raw = match char_escape {
            CharEscape::Quote => b'"',
            CharEscape::ReverseSolidus => b'\\',
            CharEscape::Solidus => b'/',
            CharEscape::Backspace => 0x08,
            CharEscape::FormFeed => 0x0c,
            CharEscape::LineFeed => b'\n',
            CharEscape::CarriageReturn => b'\r',
            CharEscape::Tab => b'\t',
            CharEscape::AsciiControl(byte) => byte,
        };
        self.capture(&[raw]);
        match self.form {
            // Canonical JSON escapes only `"` and `\`; control characters
            // are written raw.
            Form::Canonical if raw == b'"' || raw == b'\\' => writer.write_all(&[b'\\', raw]),
            Form::Canonical => writer.write_all(&[raw]),
            // Python's short escapes and `\u00XX` are serde_json's.
            Form::Python(..) => CompactFormatter.write_char_escape(writer, char_escape),
        }
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.bracket(writer, b"[", |pretty, writer| pretty.begin_array(writer))
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.bracket(writer, b"]", |pretty, writer| pretty.end_array(writer))
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.separate(writer, first, |pretty, writer| {
            pretty.begin_array_value(writer, first)
        })
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.bracket(writer, b"", |pretty, writer| pretty.end_array_value(writer))
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.keys.push(None);
        self.bracket(writer, b"{", |pretty, writer| pretty.begin_object(writer))
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.keys.pop();
        self.bracket(writer, b"}", |pretty, writer| pretty.end_object(writer))
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.key = Some(Vec::new());
        self.separate(writer, first, |pretty, writer| {
            pretty.begin_object_key(writer, first)
        })
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        let key = self.key.take().unwrap_or_default();
        let Some(last) = self.keys.last_mut() else {
            return Err(order_error());
        };
        if last.as_ref().is_some_and(|previous| *previous >= key) {
            return Err(order_error());
        }
        *last = Some(key);
        Ok(())
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        match self.form {
            Form::Canonical => writer.write_all(b":"),
            Form::Python(..) => writer.write_all(b": "),
        }
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.bracket(writer, b"", |pretty, writer| {
            pretty.end_object_value(writer)
        })
    }
}

/// Counts the bytes written to it.
pub(crate) struct Count(pub(crate) usize);

impl io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn write<T: Serialize + ?Sized>(
    value: &T,
    form: impl Fn() -> Form,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    // Counted first, then written into a buffer of exactly that size: a
    // buffer grown by doubling would hold up to twice the document, and
    // both copies while it moves.
    let mut count = Count(0);
    serialize(value, form(), &mut count)?;
    out.reserve_exact(count.0);
    serialize(value, form(), out)
}

fn serialize<T: Serialize + ?Sized, W: io::Write>(
    value: &T,
    form: Form,
    out: W,
) -> Result<(), Error> {
    let writer = Writer {
        form,
        keys: Vec::new(),
        key: None,
    };
    let mut serializer = serde_json::Serializer::with_formatter(out, writer);
    value.serialize(&mut serializer).map_err(|e| {
        let reason = if e.to_string().contains("float") {
            "floats cannot be canonicalized"
        } else if e.is_io() {
            "object keys are not in code point order"
        } else {
            "value is not representable as JSON"
        };
        Error::CanonicalJson { reason }
    })
}

/// Appends the canonical JSON of `value` (keys serialized in order) to `out`.
pub(crate) fn canonical<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), Error> {
    write(value, || Form::Canonical, out)
}

/// Appends `value` (keys serialized in order) as Python writes it to `out`.
pub(crate) fn python<T: Serialize + ?Sized>(
    value: &T,
    layout: Layout,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    write(
        value,
        || Form::Python(layout, PrettyFormatter::with_indent(b" ")),
        out,
    )
}

/// A [`serde_json::Value`] serialized with every object's keys sorted in
/// code point order (whatever order its map keeps them in), for the
/// writers above.
#[derive(Debug, Clone, Copy)]
pub struct Sorted<'v>(pub &'v serde_json::Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            serde_json::Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            serde_json::Value::Object(map) => {
                let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut object = s.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    object.serialize_entry(key, &Sorted(value))?;
                }
                object.end()
            }
            other => other.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::{cjson, pretty, KeyKind, Metablock, MetablockWriter, PrivateKey};

    /// Values with every kind of string the writers escape differently.
    fn tricky() -> Vec<Value> {
        vec![
            json!({}),
            json!([]),
            json!({"b": [1, {}, [], -2, 18_446_744_073_709_551_615_u64], "a": null, "c": true}),
            json!({"s": "quote \" backslash \\ slash / nl \n cr \r tab \t bs \u{8} ff \u{c}"}),
            json!({"ctl": "\u{1}\u{1f}\u{7f}", "uni": "ü 😀 \u{2028}", "é": {"ÿ": "", "z": 0}}),
            json!({"z": {"y": {"x": [{"b": 1, "a": 2}]}}, "A": "upper before lower"}),
        ]
    }

    #[test]
    fn writes_what_the_value_writers_write() {
        for value in tricky() {
            assert_eq!(
                cjson::to_canonical_sorted(&Sorted(&value)).unwrap(),
                cjson::to_canonical(&value).unwrap(),
                "{value}"
            );
            assert_eq!(
                pretty::to_python_json_sorted(&Sorted(&value)).unwrap(),
                pretty::to_python_json(&value),
                "{value}"
            );
            assert_eq!(
                pretty::to_python_json_line_sorted(&Sorted(&value)).unwrap(),
                pretty::to_python_json_line(&value),
                "{value}"
            );
        }
    }

    #[test]
    fn a_float_is_not_canonical_but_is_python() {
        let value = json!({"f": 1.5});
        assert!(matches!(
            cjson::to_canonical_sorted(&Sorted(&value)),
            Err(Error::CanonicalJson {
                reason: "floats cannot be canonicalized"
            })
        ));
        assert_eq!(
            pretty::to_python_json_line_sorted(&Sorted(&value)).unwrap(),
            pretty::to_python_json_line(&value)
        );
    }

    /// Keys out of order, or repeated, would write bytes the reference
    /// never writes: refused.
    #[test]
    fn keys_out_of_order_or_repeated_are_refused() {
        #[derive(Serialize)]
        struct Unsorted {
            b: u8,
            a: u8,
        }
        let refused = |result: Result<Vec<u8>, Error>| {
            matches!(
                result,
                Err(Error::CanonicalJson {
                    reason: "object keys are not in code point order"
                })
            )
        };
        let unsorted = Unsorted { b: 1, a: 2 };
        assert!(refused(cjson::to_canonical_sorted(&unsorted)));
        assert!(refused(pretty::to_python_json_sorted(&unsorted)));
        let repeated = [("a", 1), ("a", 2)];
        struct Twice<'a>(&'a [(&'a str, i32)]);
        impl Serialize for Twice<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
            }
        }
        assert!(refused(cjson::to_canonical_sorted(&Twice(&repeated))));
        // Sorted objects nested in an unsorted one's later members are fine.
        assert!(cjson::to_canonical_sorted(&Twice(&[("a", 1), ("b", 2)])).is_ok());
    }

    #[test]
    fn a_metablock_written_from_its_parts_is_the_metablock() {
        let key = PrivateKey::generate(KeyKind::Ed25519).unwrap();
        for value in tricky().into_iter().filter(Value::is_object) {
            let mut metablock = Metablock::new(value.clone()).unwrap();
            metablock.add_signature(&key).unwrap();
            let sorted = Sorted(&value);
            let mut writer = MetablockWriter::new(&sorted).unwrap();
            assert_eq!(writer.canonical_bytes(), metablock.canonical_bytes());
            writer.add_signature(&key).unwrap();
            assert_eq!(writer.into_json().unwrap(), metablock.to_json(), "{value}");
        }
    }
}
