//! What a certificate must have to act as a step's functionary: a step's
//! `cert_constraints` read, matched against a certificate, and the refusal
//! that says which attribute failed.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::Error;

use super::*;

/// The value that allows anything for an attribute (`["*"]`, or `"*"` for
/// `common_name`).
pub const ALLOW_ALL: &str = "*";

/// The fields of a constraint, as in-toto-golang names them.
pub const CONSTRAINT_FIELDS: [&str; 6] = [
    "common_name",
    "dns_names",
    "emails",
    "organizations",
    "roots",
    "uris",
];

/// One entry of a step's `cert_constraints` (in-toto-golang's
/// `CertificateConstraint`): what a certificate must have to act as the
/// step's functionary. See the module docs for the matching rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertConstraint {
    /// The subject's common name (`"*"`: any; `""`: none).
    pub common_name: String,
    /// DNS name SANs.
    pub dns_names: Vec<String>,
    /// Email SANs.
    pub emails: Vec<String>,
    /// The subject's organizations.
    pub organizations: Vec<String>,
    /// Ids of the layout's `rootcas` (compared with all of them).
    pub roots: Vec<String>,
    /// URI SANs.
    pub uris: Vec<String>,
    /// The constraint as signed, written back unchanged.
    raw: Map<String, Value>,
}

impl CertConstraint {
    /// Reads one constraint (`where_` names it in errors).
    pub fn from_map(raw: Map<String, Value>, where_: &str) -> Result<CertConstraint, Error> {
        let bad = |reason: String| Error::Malformed {
            what: "layout",
            reason: format!("{where_}: {reason}"),
        };
        if let Some(unknown) = raw
            .keys()
            .find(|k| !CONSTRAINT_FIELDS.contains(&k.as_str()))
        {
            return Err(bad(format!(
                "unknown field {unknown:?} (a constraint has {}); \
                 in-toto-golang would ignore it, toto refuses to guess",
                CONSTRAINT_FIELDS.join(", ")
            )));
        }
        let list = |field: &str| -> Result<Vec<String>, Error> {
            match raw.get(field) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| bad(format!("{field}: {v} is not a string")))
                    })
                    .collect(),
                Some(other) => Err(bad(format!("{field}: {other} is not a list of strings"))),
            }
        };
        let common_name = match raw.get("common_name") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(bad(format!("common_name: {other} is not a string"))),
        };
        Ok(CertConstraint {
            common_name,
            dns_names: list("dns_names")?,
            emails: list("emails")?,
            organizations: list("organizations")?,
            roots: list("roots")?,
            uris: list("uris")?,
            raw,
        })
    }

    /// A constraint from its values (all six fields written).
    pub fn new(
        common_name: String,
        dns_names: Vec<String>,
        emails: Vec<String>,
        organizations: Vec<String>,
        roots: Vec<String>,
        uris: Vec<String>,
    ) -> CertConstraint {
        let mut raw = Map::new();
        raw.insert("common_name".into(), Value::String(common_name.clone()));
        for (field, values) in [
            ("dns_names", &dns_names),
            ("emails", &emails),
            ("organizations", &organizations),
            ("roots", &roots),
            ("uris", &uris),
        ] {
            raw.insert(field.into(), serde_json::json!(values));
        }
        CertConstraint {
            common_name,
            dns_names,
            emails,
            organizations,
            roots,
            uris,
            raw,
        }
    }

    /// The constraint as signed.
    pub fn to_value(&self) -> Value {
        Value::Object(self.raw.clone())
    }

    /// Every attribute this constraint does not allow `cert` to have, with
    /// the layout's root ids `root_ids` (the chain is checked apart).
    pub(super) fn mismatches(&self, cert: &LeafCert, root_ids: &[String]) -> Vec<Mismatch> {
        let cn: Vec<String> = vec![cert.common_name.clone()];
        [
            (
                "common name",
                std::slice::from_ref(&self.common_name),
                cn.as_slice(),
            ),
            ("dns name", &self.dns_names[..], &cert.dns_names[..]),
            ("email", &self.emails[..], &cert.emails[..]),
            (
                "organization",
                &self.organizations[..],
                &cert.organizations[..],
            ),
            ("root", &self.roots[..], root_ids),
            ("uri", &self.uris[..], &cert.uris[..]),
        ]
        .into_iter()
        .filter(|(_, expected, found)| !values_match(expected, found))
        .map(|(attribute, expected, found)| Mismatch {
            attribute,
            expected: expected.to_vec(),
            found: found.to_vec(),
        })
        .collect()
    }
}

/// in-toto-golang's `checkCertConstraint`: `["*"]` allows anything; `[""]`
/// is `[]`; otherwise the values must be exactly the constraints, one to
/// one (a value twice is one too many).
pub fn values_match(constraints: &[String], values: &[String]) -> bool {
    if let [only] = constraints {
        if only == ALLOW_ALL {
            return true;
        }
    }
    let empty = |list: &[String]| list.is_empty() || matches!(list, [only] if only.is_empty());
    let constraints: &[String] = if empty(constraints) { &[] } else { constraints };
    let values: &[String] = if empty(values) { &[] } else { values };
    let mut unmet: std::collections::BTreeSet<&str> =
        constraints.iter().map(String::as_str).collect();
    values.iter().all(|v| unmet.remove(v.as_str())) && unmet.is_empty()
}

/// One attribute a certificate fails: what the constraint allows and what
/// the certificate has (or, for `root`, the layout's root ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `common name`, `dns name`, `email`, `organization`, `root`, `uri`.
    pub attribute: &'static str,
    /// The constraint's values.
    pub expected: Vec<String>,
    /// The certificate's values.
    pub found: Vec<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {:?}, found {:?}",
            self.attribute, self.expected, self.found
        )
    }
}

/// Why a certificate-signed link does not count for a step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertRefusal {
    /// No path to a layout root (the reason is webpki's, or a root not
    /// valid at the time).
    Chain {
        /// The certificate's subject.
        subject: String,
        /// Why.
        reason: String,
    },
    /// The chain holds, but no constraint of the step is met: each
    /// constraint's failed attributes, by index.
    Constraints {
        /// The step.
        step: String,
        /// The certificate's subject.
        subject: String,
        /// `(index in cert_constraints, what failed)`.
        failures: Vec<(usize, Vec<Mismatch>)>,
    },
}

impl fmt::Display for CertRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertRefusal::Chain { subject, reason } => write!(
                f,
                "certificate {subject:?} does not chain to a root of the layout (rootcas, \
                 through intermediatecas): {reason}"
            ),
            CertRefusal::Constraints {
                step,
                subject,
                failures,
            } => {
                write!(
                    f,
                    "certificate {subject:?} meets no cert_constraints entry of step {step:?}:"
                )?;
                for (index, mismatches) in failures {
                    write!(f, " [{index}]")?;
                    for (n, m) in mismatches.iter().enumerate() {
                        write!(f, "{} {m}", if n == 0 { "" } else { ";" })?;
                    }
                    write!(f, ".")?;
                }
                Ok(())
            }
        }
    }
}
