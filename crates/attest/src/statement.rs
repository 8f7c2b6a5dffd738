//! in-toto Statement v1 and ResourceDescriptor
//! (in-toto/attestation `spec/v1/statement.md`, `spec/v1/resource_descriptor.md`).
//!
//! A [`Statement`] binds a typed predicate to its subjects. Parsing is strict:
//! the `_type` must be Statement v1 (v0.1 is read too, for older SLSA
//! provenance), every subject must carry a valid digest set, and the
//! predicate is kept as received (unknown predicate types pass through).
//! Fields toto does not know — in the Statement, a subject or a predicate —
//! are ignored, as the framework's parsing rules require: a Statement is
//! only read once its signature (which covers them) verified.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::digest::DigestSet;
use crate::error::Error;

/// `_type` of in-toto Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of the older Statement v0.1, still found in SLSA provenance v0.2.
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// DSSE payload type of in-toto payloads (Statements and classic links alike).
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// cosign's `--type` shorthands for predicate types (cosign's
/// `options.PredicateTypeMap`), for `verify-attestation --type`.
pub const COSIGN_PREDICATE_TYPES: &[(&str, &str)] = &[
    ("custom", "https://cosign.sigstore.dev/attestation/v1"),
    ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
    ("spdx", "https://spdx.dev/Document"),
    ("spdxjson", "https://spdx.dev/Document"),
    ("cyclonedx", "https://cyclonedx.org/bom"),
    ("link", "https://in-toto.io/Link/v1"),
    ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
    ("openvex", "https://openvex.dev/ns"),
];

/// The predicate type a cosign `--type` value names: a shorthand of
/// [`COSIGN_PREDICATE_TYPES`], or a URI (`scheme:` then something) as
/// given; `None` for anything else.
pub fn cosign_predicate_type(value: &str) -> Option<&str> {
    if let Some((_, uri)) = COSIGN_PREDICATE_TYPES.iter().find(|(n, _)| *n == value) {
        return Some(uri);
    }
    let (scheme, rest) = value.split_once(':')?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (scheme_ok && !rest.is_empty()).then_some(value)
}

/// A ResourceDescriptor: at least one of `uri`, `digest`, `content`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    /// Machine-readable name, e.g. a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// URI of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digests of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<DigestSet>,
    /// The resource's content, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Where to download it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
    /// Media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Map<String, Value>>,
}

impl ResourceDescriptor {
    /// A descriptor with a name and digests, as links record artifacts.
    pub fn artifact(name: &str, digest: DigestSet) -> Self {
        ResourceDescriptor {
            name: Some(name.to_owned()),
            digest: Some(digest),
            ..Default::default()
        }
    }

    fn validate(&self, what: &'static str) -> Result<(), Error> {
        if self.uri.is_none() && self.digest.is_none() && self.content.is_none() {
            return Err(Error::Malformed {
                what,
                reason: "resource descriptor needs one of uri, digest, content".into(),
            });
        }
        Ok(())
    }
}

/// An in-toto Statement (v1, or v0.1 when read).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `_type` as received (v1 when built here).
    pub type_: String,
    /// The subjects: each has a digest.
    pub subject: Vec<ResourceDescriptor>,
    /// The predicate type URI.
    pub predicate_type: String,
    /// The predicate, untouched.
    pub predicate: Value,
}

#[derive(Serialize)]
struct WireStatement {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<ResourceDescriptor>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    predicate: Value,
}

/// A Statement as read, its predicate of type `P`. Unknown fields are
/// ignored: the signature covers them, and the attestation framework
/// (`spec/v1/README.md`, "Parsing rules") tells consumers to ignore signed
/// fields they do not know.
#[derive(Deserialize)]
#[serde(bound = "P: Deserialize<'de>")]
struct WireStatementIn<P> {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<ResourceDescriptor>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: Option<P>,
}

/// The parts of a Statement read from `d` with the predicate decoded as
/// `P` (`None` when absent or null), after the checks every Statement gets.
pub(crate) fn decode_parts<'de, P, D>(d: D) -> Result<(Statement, Option<P>), Error>
where
    P: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    let wire = WireStatementIn::<P>::deserialize(d).map_err(|e| Error::Malformed {
        what: "statement",
        reason: e.to_string(),
    })?;
    if wire.type_ != STATEMENT_V1 && wire.type_ != STATEMENT_V01 {
        return Err(Error::Malformed {
            what: "statement",
            reason: format!("_type {:?} is not an in-toto Statement", wire.type_),
        });
    }
    if wire.predicate_type.is_empty() {
        return Err(Error::Malformed {
            what: "statement",
            reason: "predicateType is empty".into(),
        });
    }
    for subject in &wire.subject {
        subject.validate("statement subject")?;
        if subject.digest.is_none() {
            return Err(Error::Malformed {
                what: "statement",
                reason: "a subject has no digest".into(),
            });
        }
    }
    let statement = Statement {
        type_: wire.type_,
        subject: wire.subject,
        predicate_type: wire.predicate_type,
        predicate: Value::Null,
    };
    Ok((statement, wire.predicate))
}

impl Statement {
    /// A v1 Statement.
    pub fn new(subject: Vec<ResourceDescriptor>, predicate_type: &str, predicate: Value) -> Self {
        Statement {
            type_: STATEMENT_V1.to_owned(),
            subject,
            predicate_type: predicate_type.to_owned(),
            predicate,
        }
    }

    /// Parses a Statement from a (strictly parsed) JSON value.
    pub fn from_value(value: Value) -> Result<Statement, Error> {
        Statement::decode(value)
    }

    /// Parses a Statement from any serde deserializer over strictly parsed
    /// JSON, such as a [`dsse::json::Node`].
    pub fn decode<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Statement, Error> {
        let (mut statement, predicate) = decode_parts::<Value, D>(d)?;
        statement.predicate = predicate.unwrap_or(Value::Null);
        Ok(statement)
    }

    /// The Statement as JSON.
    pub fn to_value(&self) -> Value {
        self.clone().into_value()
    }

    /// The Statement as JSON, consuming it (no copy of large predicates).
    pub fn into_value(self) -> Value {
        let wire = WireStatement {
            type_: self.type_,
            subject: self.subject,
            predicate_type: self.predicate_type,
            predicate: self.predicate,
        };
        serde_json::to_value(wire).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The attestation framework's parsing rule: signed fields a consumer
    /// does not know are ignored, at the top level and in a subject.
    #[test]
    fn unknown_fields_are_ignored() {
        let statement = Statement::from_value(json!({
            "_type": STATEMENT_V1,
            "subject": [{"name": "a", "digest": {"sha256": "ab".repeat(32)}, "extension": 1}],
            "predicateType": "https://example.com/predicate/v1",
            "predicate": {"field": 2},
            "extension": 3,
        }))
        .unwrap();
        assert_eq!(statement.subject[0].name.as_deref(), Some("a"));
        assert_eq!(statement.predicate, json!({"field": 2}));
    }

    #[test]
    fn cosign_type_shorthands_and_uris() {
        assert_eq!(
            cosign_predicate_type("slsaprovenance1"),
            Some("https://slsa.dev/provenance/v1")
        );
        assert_eq!(
            cosign_predicate_type("slsaprovenance"),
            Some("https://slsa.dev/provenance/v0.2")
        );
        assert_eq!(
            cosign_predicate_type("https://example.com/p/v1"),
            Some("https://example.com/p/v1")
        );
        assert_eq!(cosign_predicate_type("slsa"), None);
        assert_eq!(cosign_predicate_type("1:x"), None);
    }
}
