//! What kind of document a file is, for messages such as "root.link is not
//! a layout: it is a link of step build". Nothing here verifies or trusts
//! anything: it reads just enough of the bytes to name them.

use std::fmt;

use serde_json::Value;

use crate::statement::{PAYLOAD_TYPE, STATEMENT_V1};

/// The kind of a document, as far as its bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// An in-toto layout (any encoding).
    Layout,
    /// An in-toto link of a step (classic or link predicate).
    Link {
        /// The step it names, if any.
        step: Option<String>,
    },
    /// An in-toto Statement (not a link).
    Statement {
        /// Its `predicateType`.
        predicate_type: String,
    },
    /// A DSSE envelope whose payload is none of the above.
    Envelope {
        /// Its `payloadType`.
        payload_type: String,
    },
    /// A Sigstore bundle, and what it holds (for a DSSE envelope).
    SigstoreBundle {
        /// Its `mediaType`.
        media_type: String,
        /// What its envelope holds, if it holds one.
        holds: Option<Box<Kind>>,
    },
    /// A PEM public key.
    PublicKey,
    /// A PEM private key.
    PrivateKey,
    /// Another PEM block (its label).
    Pem(String),
    /// JSON that is none of the above.
    OtherJson,
    /// Not JSON at all (nor PEM).
    NotJson,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Layout => f.write_str("a layout"),
            Kind::Link { step: Some(step) } => write!(f, "a link of step {step:?}"),
            Kind::Link { step: None } => f.write_str("a link"),
            Kind::Statement { predicate_type } => {
                write!(
                    f,
                    "an in-toto Statement with predicate type {predicate_type}"
                )
            }
            Kind::Envelope { payload_type } => {
                write!(f, "a DSSE envelope with payload type {payload_type}")
            }
            Kind::SigstoreBundle {
                media_type,
                holds: Some(holds),
            } => write!(f, "a Sigstore bundle ({media_type}) holding {holds}"),
            Kind::SigstoreBundle { media_type, .. } => {
                write!(f, "a Sigstore bundle ({media_type})")
            }
            Kind::PublicKey => f.write_str("a public key"),
            Kind::PrivateKey => f.write_str("a private key"),
            Kind::Pem(label) => write!(f, "a PEM {label}"),
            Kind::OtherJson => f.write_str("JSON, but no in-toto or Sigstore document"),
            Kind::NotJson => f.write_str("not JSON at all"),
        }
    }
}

/// Names what `bytes` are.
pub fn identify(bytes: &[u8]) -> Kind {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim_start();
    if let Some(rest) = trimmed.strip_prefix("-----BEGIN ") {
        let label = rest.split("-----").next().unwrap_or_default();
        return if label.ends_with("PUBLIC KEY") {
            Kind::PublicKey
        } else if label.ends_with("PRIVATE KEY") {
            Kind::PrivateKey
        } else {
            Kind::Pem(label.to_owned())
        };
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => of_value(&value),
        Err(_) => Kind::NotJson,
    }
}

fn str_at<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

fn of_value(value: &Value) -> Kind {
    if let Some(media_type) =
        str_at(value, "mediaType").filter(|m| m.starts_with("application/vnd.dev.sigstore.bundle"))
    {
        return Kind::SigstoreBundle {
            media_type: media_type.to_owned(),
            holds: value.get("dsseEnvelope").map(|e| Box::new(of_value(e))),
        };
    }
    if let Some(signed) = value.get("signed") {
        return of_payload(signed);
    }
    if let Some(payload_type) = str_at(value, "payloadType") {
        let payload = str_at(value, "payload")
            .and_then(|p| dsse::b64::decode("payload", p).ok())
            .and_then(|p| serde_json::from_slice::<Value>(&p).ok());
        return match payload {
            Some(payload) if payload_type == PAYLOAD_TYPE => match of_payload(&payload) {
                Kind::OtherJson => Kind::Envelope {
                    payload_type: payload_type.to_owned(),
                },
                kind => kind,
            },
            _ => Kind::Envelope {
                payload_type: payload_type.to_owned(),
            },
        };
    }
    if value.get("keytype").is_some() && value.get("keyval").is_some() {
        return Kind::PublicKey;
    }
    of_payload(value)
}

/// A layout, link or Statement payload.
fn of_payload(payload: &Value) -> Kind {
    match str_at(payload, "_type") {
        Some("layout") => return Kind::Layout,
        Some("link") => {
            return Kind::Link {
                step: str_at(payload, "name").map(str::to_owned),
            }
        }
        Some(t) if t == STATEMENT_V1 || t.starts_with("https://in-toto.io/Statement/") => {}
        _ => return Kind::OtherJson,
    }
    let predicate_type = str_at(payload, "predicateType").unwrap_or_default();
    if crate::link::is_link_predicate(predicate_type) {
        return Kind::Link {
            step: payload
                .get("predicate")
                .and_then(|p| str_at(p, "name"))
                .map(str::to_owned),
        };
    }
    Kind::Statement {
        predicate_type: predicate_type.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_named() {
        let envelope = |payload_type: &str, payload: &str| {
            format!(
                r#"{{"payloadType": "{payload_type}", "payload": "{}", "signatures": []}}"#,
                dsse::b64::encode(payload.as_bytes())
            )
        };
        let statement = r#"{"_type": "https://in-toto.io/Statement/v1", "subject": [],
            "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}}"#;
        let link = r#"{"_type": "https://in-toto.io/Statement/v1", "subject": [],
            "predicateType": "https://in-toto.io/attestation/link/v0.3",
            "predicate": {"name": "build"}}"#;
        // cosign's `attest --type link`: link v1 around a Statement v0.1.
        let cosign_link = r#"{"_type": "https://in-toto.io/Statement/v0.1", "subject": [],
            "predicateType": "https://in-toto.io/Link/v1",
            "predicate": {"_type": "link", "name": "build"}}"#;
        let cases = [
            (r#"{"signed": {"_type": "layout"}, "signatures": []}"#.to_owned(), "a layout"),
            (
                r#"{"signed": {"_type": "link", "name": "clone"}, "signatures": []}"#.to_owned(),
                "a link of step \"clone\"",
            ),
            (envelope(PAYLOAD_TYPE, link), "a link of step \"build\""),
            (envelope(PAYLOAD_TYPE, cosign_link), "a link of step \"build\""),
            (
                envelope(PAYLOAD_TYPE, statement),
                "an in-toto Statement with predicate type https://slsa.dev/provenance/v1",
            ),
            (
                envelope("text/plain", "hello"),
                "a DSSE envelope with payload type text/plain",
            ),
            (
                format!(
                    r#"{{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "dsseEnvelope": {}}}"#,
                    envelope(PAYLOAD_TYPE, link)
                ),
                "a Sigstore bundle (application/vnd.dev.sigstore.bundle.v0.3+json) holding a link of step \"build\"",
            ),
            (
                "-----BEGIN PUBLIC KEY-----\nMCo=\n-----END PUBLIC KEY-----\n".to_owned(),
                "a public key",
            ),
            ("[1, 2]".to_owned(), "JSON, but no in-toto or Sigstore document"),
            ("expires = \"30d\"".to_owned(), "not JSON at all"),
        ];
        for (text, expected) in cases {
            assert_eq!(identify(text.as_bytes()).to_string(), expected, "{text}");
        }
    }
}
