//! The files that carry Sigstore bundles, as the tools that write them
//! write them, read into the bundles they hold; each is then verified like
//! any other bundle. Reading decides nothing about trust.
//!
//! - A Sigstore bundle (a JSON object with a `mediaType`, or with a
//!   bundle's members and no `mediaType`, which the bundle reader refuses
//!   saying so): one bundle.
//! - JSON Lines of bundles (`gh attestation download` writes one bundle per
//!   line, several per file): one bundle per non-blank line, as gh reads
//!   them (blank lines skipped; a file with none is malformed).
//! - npm's attestations document (what the registry serves at
//!   `/-/npm/v1/attestations/NAME@VERSION`):
//!   `{"attestations": [{"predicateType": URI, "bundle": BUNDLE}, …]}`,
//!   typically npm's publish attestation (signed by the registry's key) and
//!   the SLSA provenance (signed keylessly by the build). The document's
//!   `predicateType` is not signed: callers compare it with the verified
//!   Statement's.
//! - PEP 740 attestation and provenance objects ([`crate::pep740`]).
//!
//! What is recognised and refused with its name: a bare DSSE envelope (what
//! slsa-github-generator's `.intoto.jsonl` holds: its signature carries a
//! certificate, but the transparency log entry is only in Rekor, so the file
//! alone cannot be verified offline; [`crate::legacy`] looks the entry up
//! when given a Rekor URL). Anything else is refused naming what was found
//! and what is expected.
//!
//! Reading is strict: duplicate keys and trailing data are malformed, the
//! npm document may hold no other fields, and at most [`MAX_ENTRIES`]
//! bundles are read from one file.

use serde_json::{Map, Value};

use crate::bundle::{Error, MAX_BUNDLE_BYTES};
use crate::error::malformed;
use crate::pep740;

/// Most bundles read from one file (JSON Lines, npm document).
pub const MAX_ENTRIES: usize = 64;

/// What the formats above are called in messages.
const EXPECTED: &str = "expected a Sigstore bundle (a JSON object with a mediaType), JSON Lines \
     of bundles (gh attestation download), npm's attestations document \
     ({\"attestations\":[{\"predicateType\":…,\"bundle\":{…}}]}) or a PEP 740 attestation \
     or provenance object";

/// The format a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One Sigstore bundle.
    Bundle,
    /// JSON Lines, one bundle per line.
    JsonLines,
    /// npm's attestations document.
    NpmAttestations,
    /// A PEP 740 attestation object.
    Pep740Attestation,
    /// A PEP 740 provenance object.
    Pep740Provenance,
    /// A bare DSSE envelope with a certificate (slsa-github-generator's
    /// legacy `.intoto.jsonl`), its bundles made from its Rekor entries
    /// ([`crate::legacy`]).
    LegacyEnvelope,
}

impl Format {
    /// The format's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Bundle => "Sigstore bundle",
            Format::JsonLines => "JSON Lines of Sigstore bundles",
            Format::NpmAttestations => "npm attestations document",
            Format::Pep740Attestation => "PEP 740 attestation object",
            Format::Pep740Provenance => "PEP 740 provenance object",
            Format::LegacyEnvelope => "bare DSSE envelope with its Rekor entries",
        }
    }
}

/// One bundle of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Where it is in the file: `line 3`, `attestation 2`.
    pub place: String,
    /// The predicate type the file claims for it (npm's document; not
    /// signed).
    pub claimed_predicate_type: Option<String>,
    /// The bundle's JSON.
    pub bundle: Vec<u8>,
}

/// A file read as the bundles it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The format it was read as.
    pub format: Format,
    /// Its bundles, in file order (at least one).
    pub entries: Vec<Entry>,
}

/// `value` as a JSON object holding no field but `known`; `at` names it in
/// the messages (the malformed `what`).
pub(crate) fn known_object<'a>(
    what: &'static str,
    value: &'a Value,
    at: &str,
    known: &[&str],
) -> Result<&'a Map<String, Value>, Error> {
    let object = value
        .as_object()
        .ok_or_else(|| malformed(what, format!("{at} is not an object")))?;
    known_fields(what, object, at, known)?;
    Ok(object)
}

/// Refuses a field of `object` (`at`, in the malformed `what`) not in
/// `known`.
pub(crate) fn known_fields(
    what: &'static str,
    object: &Map<String, Value>,
    at: &str,
    known: &[&str],
) -> Result<(), Error> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(malformed(
            what,
            format!("{at} has an unknown field {unknown:?}"),
        )),
        None => Ok(()),
    }
}

/// Reads `bytes` as one of the formats above.
pub fn read(bytes: &[u8]) -> Result<Document, Error> {
    crate::error::at_most("bundle file", bytes.len(), "bytes", MAX_BUNDLE_BYTES)?;
    match dsse::cjson::parse_strict(bytes) {
        Ok(value) => read_value(bytes, &value),
        Err(whole) => read_lines(bytes).map_err(|lines| match lines {
            // Not JSON Lines either: say why it is not JSON.
            None => malformed(
                "bundle file",
                format!("found no JSON ({}); {EXPECTED}", reason(&whole)),
            ),
            Some(e) => e,
        }),
    }
}

fn reason(e: &dsse::Error) -> String {
    match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

/// Why bytes that are not one well-formed Sigstore bundle were refused
/// (`error`, from the bundle reader), said in terms of the format they are:
/// a file this module reads holding several bundles, a bare DSSE envelope,
/// JSON that is no bundle. `error` itself when they look like a bundle.
pub(crate) fn explain(bytes: &[u8], error: Error) -> Error {
    let found = |doc: Document| {
        malformed(
            "bundle",
            format!(
                "found {} holding {} bundle{}, expected one Sigstore bundle; \
                 toto verify-attestation reads this file",
                doc.format.name(),
                doc.entries.len(),
                if doc.entries.len() == 1 { "" } else { "s" }
            ),
        )
    };
    if bytes.len() > MAX_BUNDLE_BYTES {
        return error;
    }
    match dsse::cjson::parse_strict(bytes) {
        Ok(value) => match read_value(bytes, &value) {
            Ok(doc) if doc.format == Format::Bundle => error,
            Ok(doc) => found(doc),
            Err(why) => why,
        },
        Err(_) => match read_lines(bytes) {
            Ok(doc) => found(doc),
            Err(_) => error,
        },
    }
}

/// Whether `object` is a bundle, however malformed (the bundle reader then
/// says what is wrong with it): it has a `mediaType` or a bundle's own
/// members.
fn is_bundle(object: &Map<String, Value>) -> bool {
    [
        "mediaType",
        "verificationMaterial",
        "messageSignature",
        "dsseEnvelope",
    ]
    .iter()
    .any(|member| object.contains_key(*member))
}

/// A file that is one JSON value.
fn read_value(bytes: &[u8], value: &Value) -> Result<Document, Error> {
    let Some(object) = value.as_object() else {
        return Err(malformed(
            "bundle file",
            format!("found JSON {}; {EXPECTED}", kind(value)),
        ));
    };
    if is_bundle(object) {
        return Ok(Document {
            format: Format::Bundle,
            entries: vec![Entry {
                place: "the bundle".into(),
                claimed_predicate_type: None,
                bundle: bytes.to_vec(),
            }],
        });
    }
    if let Some(shape) = pep740::detect(bytes) {
        let bundles = pep740::to_bundles(bytes)?;
        return Ok(Document {
            format: match shape {
                pep740::Shape::Attestation => Format::Pep740Attestation,
                pep740::Shape::Provenance => Format::Pep740Provenance,
            },
            entries: bundles
                .into_iter()
                .enumerate()
                .map(|(i, bundle)| Entry {
                    place: format!("attestation {}", i + 1),
                    claimed_predicate_type: None,
                    bundle,
                })
                .collect(),
        });
    }
    if object.contains_key("attestations") {
        return npm(object);
    }
    Err(not_a_bundle(object))
}

/// Why an object that is no bundle is refused: a bare DSSE envelope by
/// name, anything else by its keys.
fn not_a_bundle(object: &Map<String, Value>) -> Error {
    if is_envelope(object) {
        return malformed(
            "bundle file",
            "found a bare DSSE envelope, not a Sigstore bundle (what slsa-github-generator's \
             .intoto.jsonl holds): its signature carries a certificate, but its transparency \
             log entry is only in Rekor, not in the file, so it cannot be verified offline; \
             give --rekor-url URL (e.g. https://rekor.sigstore.dev) to look the entry up, or use \
             a Sigstore bundle of the same attestation",
        );
    }
    let keys: Vec<&str> = object.keys().map(String::as_str).take(8).collect();
    malformed(
        "bundle file",
        format!("found a JSON object with the keys {keys:?} and no mediaType; {EXPECTED}"),
    )
}

fn is_envelope(object: &Map<String, Value>) -> bool {
    object.contains_key("payloadType") && object.contains_key("signatures")
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// npm's attestations document.
fn npm(object: &Map<String, Value>) -> Result<Document, Error> {
    const WHAT: &str = "npm attestations document";
    if let Some(unknown) = object.keys().find(|k| *k != "attestations") {
        return Err(malformed(WHAT, format!("unknown field {unknown:?}")));
    }
    let list = object
        .get("attestations")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(WHAT, "attestations is not an array"))?;
    if list.is_empty() {
        return Err(malformed(WHAT, "no attestations"));
    }
    crate::error::at_most(WHAT, list.len(), "attestations", MAX_ENTRIES)?;
    let mut entries = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let at = format!("attestation {}", i + 1);
        let item = known_object(WHAT, item, &at, &["predicateType", "bundle"])?;
        let predicate_type = item
            .get("predicateType")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(WHAT, format!("{at} has no predicateType string")))?;
        let bundle = item
            .get("bundle")
            .filter(|b| b.get("mediaType").is_some())
            .ok_or_else(|| {
                malformed(
                    WHAT,
                    format!("{at} has no bundle (an object with a mediaType)"),
                )
            })?;
        entries.push(Entry {
            place: at,
            claimed_predicate_type: Some(predicate_type.to_owned()),
            bundle: serde_json::to_vec(bundle).map_err(|e| malformed(WHAT, e.to_string()))?,
        });
    }
    Ok(Document {
        format: Format::NpmAttestations,
        entries,
    })
}

/// JSON Lines of bundles. `Err(None)`: the file is not JSON Lines at all
/// (its first non-blank line is not a JSON object).
fn read_lines(bytes: &[u8]) -> Result<Document, Option<Error>> {
    const WHAT: &str = "JSON Lines bundle file";
    let mut entries = Vec::new();
    let mut first = true;
    for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let place = format!("line {}", number + 1);
        let value = match dsse::cjson::parse_strict(line) {
            Ok(value) if value.is_object() => value,
            Ok(_) | Err(_) if first => return Err(None),
            Ok(value) => {
                return Err(Some(malformed(
                    WHAT,
                    format!("{place} is JSON {}, not a bundle", kind(&value)),
                )))
            }
            Err(e) => {
                return Err(Some(malformed(
                    WHAT,
                    format!("{place} is not JSON ({})", reason(&e)),
                )))
            }
        };
        first = false;
        let object = value.as_object().ok_or(None)?;
        if !is_bundle(object) {
            let why = not_a_bundle(object);
            return Err(Some(malformed(WHAT, format!("{place}: {why}"))));
        }
        if entries.len() == MAX_ENTRIES {
            return Err(Some(malformed(
                WHAT,
                format!("more than {MAX_ENTRIES} bundles"),
            )));
        }
        entries.push(Entry {
            place,
            claimed_predicate_type: None,
            bundle: line.to_vec(),
        });
    }
    if entries.is_empty() {
        return Err(Some(malformed(
            "bundle file",
            format!("the file is empty (no non-blank line); {EXPECTED}"),
        )));
    }
    Ok(Document {
        format: Format::JsonLines,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: &str = r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#;

    fn refused(bytes: &[u8]) -> String {
        match read(bytes) {
            Err(Error::Malformed { what, reason }) => format!("{what}: {reason}"),
            other => panic!("accepted: {other:?}"),
        }
    }

    #[test]
    fn one_bundle_is_one_entry() {
        let doc = read(BUNDLE.as_bytes()).unwrap();
        assert_eq!(doc.format, Format::Bundle);
        assert_eq!(doc.entries.len(), 1);
        assert_eq!(doc.entries[0].bundle, BUNDLE.as_bytes());
    }

    #[test]
    fn json_lines_skip_blank_lines_and_name_each_line() {
        let text = format!("{BUNDLE}\n\n{BUNDLE}\r\n\n");
        let doc = read(text.as_bytes()).unwrap();
        assert_eq!(doc.format, Format::JsonLines);
        let places: Vec<&str> = doc.entries.iter().map(|e| e.place.as_str()).collect();
        assert_eq!(places, ["line 1", "line 3"]);
        assert_eq!(doc.entries[1].bundle, BUNDLE.as_bytes());
    }

    #[test]
    fn a_bad_line_is_named() {
        let why = refused(format!("{BUNDLE}\n{{\"a\":1}}\n").as_bytes());
        assert!(
            why.contains("line 2") && why.contains("no mediaType"),
            "{why}"
        );
        let why = refused(format!("{BUNDLE}\nnot json\n").as_bytes());
        assert!(why.contains("line 2 is not JSON"), "{why}");
        let why = refused(format!("{BUNDLE}\n[1]\n").as_bytes());
        assert!(why.contains("line 2 is JSON an array"), "{why}");
    }

    #[test]
    fn empty_and_blank_files_are_malformed() {
        for empty in ["", "\n\n  \n"] {
            assert!(refused(empty.as_bytes()).contains("empty"));
        }
    }

    #[test]
    fn too_many_lines_are_refused() {
        let text = format!("{BUNDLE}\n").repeat(MAX_ENTRIES + 1);
        assert!(refused(text.as_bytes()).contains("more than 64 bundles"));
        let text = format!("{BUNDLE}\n").repeat(MAX_ENTRIES);
        assert_eq!(read(text.as_bytes()).unwrap().entries.len(), MAX_ENTRIES);
    }

    #[test]
    fn npm_document_entries_keep_the_claimed_predicate_type() {
        let text = format!(
            r#"{{"attestations":[{{"predicateType":"https://a","bundle":{BUNDLE}}},{{"predicateType":"https://b","bundle":{BUNDLE}}}]}}"#
        );
        let doc = read(text.as_bytes()).unwrap();
        assert_eq!(doc.format, Format::NpmAttestations);
        assert_eq!(doc.entries[1].place, "attestation 2");
        assert_eq!(
            doc.entries[1].claimed_predicate_type.as_deref(),
            Some("https://b")
        );
        let bundle: Value = serde_json::from_slice(&doc.entries[0].bundle).unwrap();
        assert_eq!(bundle, serde_json::from_str::<Value>(BUNDLE).unwrap());
    }

    #[test]
    fn npm_documents_are_read_strictly() {
        for (doc, says) in [
            (r#"{"attestations":[]}"#.to_owned(), "no attestations"),
            (r#"{"attestations":{}}"#.to_owned(), "not an array"),
            (
                r#"{"attestations":[],"x":1}"#.to_owned(),
                "unknown field \"x\"",
            ),
            (
                format!(r#"{{"attestations":[{{"bundle":{BUNDLE}}}]}}"#),
                "no predicateType",
            ),
            (
                r#"{"attestations":[{"predicateType":"p","bundle":{}}]}"#.to_owned(),
                "no bundle",
            ),
            (
                format!(
                    r#"{{"attestations":[{{"predicateType":"p","bundle":{BUNDLE},"extra":1}}]}}"#
                ),
                "unknown field \"extra\"",
            ),
        ] {
            let why = refused(doc.as_bytes());
            assert!(why.starts_with("npm attestations document"), "{why}");
            assert!(why.contains(says), "{says}: {why}");
        }
    }

    #[test]
    fn every_refusal_names_the_format_found_and_expected() {
        for (input, found) in [
            ("[1,2]", "found JSON an array"),
            ("\"text\"", "found JSON a string"),
            (r#"{"foo":1}"#, "the keys [\"foo\"] and no mediaType"),
            ("not json at all", "found no JSON"),
        ] {
            let why = refused(input.as_bytes());
            assert!(why.contains(found), "{input}: {why}");
            assert!(why.contains("expected a Sigstore bundle"), "{input}: {why}");
        }
    }

    #[test]
    fn what_is_not_one_bundle_is_explained_by_its_format() {
        let original = || malformed("bundle", "the reader's reason");
        let said = |bytes: &[u8]| match explain(bytes, original()) {
            Error::Malformed { reason, .. } => reason,
            other => panic!("{other:?}"),
        };
        let lines = format!("{BUNDLE}\n{BUNDLE}\n");
        assert!(said(lines.as_bytes()).contains("found JSON Lines of Sigstore bundles holding 2"));
        let npm = format!(r#"{{"attestations":[{{"predicateType":"p","bundle":{BUNDLE}}}]}}"#);
        assert!(said(npm.as_bytes()).contains("found npm attestations document holding 1 bundle,"));
        assert!(said(br#"{"payloadType":"t","signatures":[]}"#).contains("bare DSSE envelope"));
        assert!(said(b"[]").contains("found JSON an array"));
        // A bundle, even without its mediaType, or what is not JSON at all:
        // the reader's own reason.
        for bytes in [
            BUNDLE.as_bytes(),
            b"{\"mediaType\":1,\"mediaType\":2}",
            b"not json",
            b"{\"verificationMaterial\":{},\"dsseEnvelope\":{}}",
        ] {
            assert_eq!(said(bytes), "the reader's reason");
        }
    }

    #[test]
    fn a_bare_dsse_envelope_is_named() {
        let envelope = r#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA==","cert":"x"}]}"#;
        for input in [envelope.to_owned(), format!("{envelope}\n{envelope}\n")] {
            let why = refused(input.as_bytes());
            assert!(why.contains("bare DSSE envelope"), "{why}");
            assert!(why.contains("only in Rekor"), "{why}");
        }
    }
}
