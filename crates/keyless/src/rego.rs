//! Rego policies over a verified attestation, as cosign's and witness's
//! users write them, evaluated by Microsoft's `regorus` engine.
//!
//! A policy is one Rego module. toto queries two rules of its package:
//! - `allow` (cosign's `data.signature.allow`; any package here): when the
//!   module declares it, it must evaluate to `true`; `false` or undefined
//!   (no `allow` rule's body held) is a denial;
//! - `deny` (witness's): when the module declares it, it must be empty or
//!   undefined; each of its messages (a set or array of strings, or one
//!   string) is a reason for the denial, printed as written.
//!
//! A module declaring neither is refused as malformed. Both may be
//! declared; then both must pass. The module is read as Rego v1 (OPA 1.0's
//! syntax, `allow if { … }`, `deny contains msg if { … }`); a module that
//! does not parse as v1 is read as v0 (`allow { … }`, `deny[msg] { … }`,
//! what cosign and witness load).
//!
//! The input ([`input`]) is built from what the verifier returned, never
//! from the bundle's bytes: [`RegoPolicy::evaluate`] takes only a
//! [`VerifiedAttestation`]. The engine has no network, clock, random or
//! environment builtins here (regorus is built without its `std`, `http`,
//! `time`, `rand`, `uuid` and `opa-runtime` features), so a verdict depends
//! only on the policy and the input. Rego's undefined is not false: a `deny` rule
//! whose body reads a field the Statement does not have never fires, so a
//! deny policy should test for presence (`not input.predicate.x`), and an
//! `allow` rule reading such a field leaves `allow` undefined (a denial).

use serde_json::{json, Map, Value};

use crate::{Error, VerifiedAttestation};

/// What regorus says of a v0 rule form (`allow { … }`, `deny[msg] { … }`)
/// read as v1.
const V0_FORMS: [&str; 2] = [
    "`if` keyword is required before rule body",
    "`contains` keyword is required for partial set rules",
];

/// The largest policy read, in bytes (the caller reads the file bounded to
/// it; the engine's own limit is checked again here).
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// A parsed Rego policy, ready to evaluate.
#[derive(Clone)]
pub struct RegoPolicy {
    engine: regorus::Engine,
    /// The file, as shown in messages.
    name: String,
    /// `data.PACKAGE`.
    package: String,
    allow: bool,
    deny: bool,
}

impl std::fmt::Debug for RegoPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoPolicy")
            .field("name", &self.name)
            .field("package", &self.package)
            .field("allow", &self.allow)
            .field("deny", &self.deny)
            .finish_non_exhaustive()
    }
}

impl RegoPolicy {
    /// Parses `text`, the policy file `name` (shown in messages; the
    /// engine's syntax errors name it with the line and column). A module
    /// that parses neither as Rego v1 nor as v0, or declares neither
    /// `allow` nor `deny`, is [`Error::Malformed`].
    pub fn parse(name: &str, text: &str) -> Result<RegoPolicy, Error> {
        let malformed = |reason: String| Error::Malformed {
            what: "Rego policy",
            reason,
        };
        if text.len() > MAX_POLICY_BYTES {
            return Err(malformed(format!(
                "{name} is larger than {MAX_POLICY_BYTES} bytes"
            )));
        }
        let load = |v0: bool| {
            let mut engine = regorus::Engine::new();
            engine.set_rego_v0(v0);
            let package = engine
                .add_policy(name.to_owned(), text.to_owned())
                .map_err(|e| error_text(&e))?;
            Ok::<_, String>((engine, package))
        };
        // v0 only for a module written in it: v1 refuses v0's rule forms
        // with these messages (and the v0 parser warns on stderr about v1
        // keywords, so a broken v1 module is not read again as v0).
        let (engine, package) = match load(false) {
            Ok(loaded) => loaded,
            Err(v1) if V0_FORMS.iter().any(|form| v1.contains(form)) => {
                load(true).map_err(|v0| malformed(format!("{v0}\n(read as Rego v0: {v1})")))?
            }
            Err(v1) => return Err(malformed(v1)),
        };
        // The package path is queried as written: dotted identifiers only
        // (`package a["b.c"]` would be read as another path).
        let simple = package.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        if !simple {
            return Err(malformed(format!(
                "{name}: package {package:?} is not a dotted path of identifiers"
            )));
        }
        let declares = |rule: &str| {
            engine
                .has_declared_rule_rooted_at(name, rule)
                .map_err(|e| malformed(format!("{name}: {}", error_text(&e))))
        };
        let (allow, deny) = (declares("allow")?, declares("deny")?);
        if !allow && !deny {
            return Err(malformed(format!(
                "{name} declares neither `allow` nor `deny` in {package}: toto queries \
                 {package}.allow (true to pass, as cosign) and {package}.deny (messages \
                 that fail, as witness)"
            )));
        }
        Ok(RegoPolicy {
            engine,
            name: name.to_owned(),
            package,
            allow,
            deny,
        })
    }

    /// The file, as given to [`RegoPolicy::parse`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Evaluates the policy on a verified attestation's [`input`]. A
    /// denial, and an evaluation error (e.g. a complete rule with two
    /// values), is [`Error::PolicyDenied`] with the reasons: never a pass.
    pub fn evaluate(&self, attestation: &VerifiedAttestation) -> Result<(), Error> {
        self.evaluate_input(input(attestation))
    }

    fn evaluate_input(&self, input: Value) -> Result<(), Error> {
        let denied = |reasons: Vec<String>| Error::PolicyDenied {
            policy: self.name.clone(),
            reasons,
        };
        let mut engine = self.engine.clone();
        engine.set_input(regorus::Value::from(input));
        let mut eval = |rule: &str| {
            let path = format!("{}.{rule}", self.package);
            engine
                .eval_rule(path.clone())
                .map_err(|e| denied(vec![format!("{path}: {}", error_text(&e))]))
        };
        let mut reasons = Vec::new();
        if self.deny {
            let value = eval("deny")?;
            reasons.extend(messages(&value));
        }
        if self.allow {
            let path = format!("{}.allow", self.package);
            match eval("allow")? {
                regorus::Value::Bool(true) => {}
                regorus::Value::Undefined => {
                    reasons.push(format!("{path} is undefined (no allow rule held)"))
                }
                other => reasons.push(format!("{path} is {}, not true", shown(&other))),
            }
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(denied(reasons))
        }
    }
}

/// The policy's input: the verified Statement as signed (`_type`,
/// `subject`, `predicateType`, `predicate`: what cosign's policies read),
/// and `signer`, what the verifier established of who signed:
/// `{"kind": "certificate", "identity", "issuer", "certificate": {Fulcio's
/// claims by their OID-document names, e.g. "sourceRepositoryURI"}}` or
/// `{"kind": "key"}`. A payload that is not an in-toto Statement gives
/// only `payloadType` and `signer`.
pub fn input(attestation: &VerifiedAttestation) -> Value {
    let verified = attestation.verified();
    let mut input = match attestation.statement().map(attest::Statement::to_value) {
        Some(Value::Object(statement)) => statement,
        _ => Map::from_iter([("payloadType".to_owned(), json!(attestation.payload_type()))]),
    };
    let signer = match (&verified.identity, &verified.issuer) {
        (Some(identity), Some(issuer)) => json!({
            "kind": "certificate",
            "identity": identity,
            "issuer": issuer,
            "certificate": verified
                .claims
                .present()
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        }),
        _ => json!({"kind": "key"}),
    };
    input.insert("signer".to_owned(), signer);
    Value::Object(input)
}

/// `deny`'s messages: each string of a set or array, one string, or any
/// other value shown as JSON. Undefined and empty collections give none.
fn messages(value: &regorus::Value) -> Vec<String> {
    match value {
        regorus::Value::Undefined => Vec::new(),
        regorus::Value::String(text) => vec![text.to_string()],
        other => match serde_json::to_value(other) {
            Ok(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(text) => text,
                    other => other.to_string(),
                })
                .collect(),
            Ok(Value::Bool(false)) | Ok(Value::Null) => Vec::new(),
            _ => vec![shown(other)],
        },
    }
}

/// A Rego value as JSON text.
fn shown(value: &regorus::Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("{value}"))
}

/// The engine's message, with its causes. A syntax error, which regorus
/// writes as `--> FILE:LINE:COL`, the line with a caret, then `error: MSG`,
/// becomes `FILE:LINE:COL: MSG` and then the quoted line.
fn error_text(e: &impl std::fmt::Display) -> String {
    let text = format!("{e:#}");
    let text = text.trim_matches('\n');
    let located = text.strip_prefix("--> ").and_then(|rest| {
        let (place, body) = rest.split_once('\n')?;
        let (snippet, message) = body.rsplit_once("\nerror: ")?;
        Some(format!("{place}: {message}\n{snippet}"))
    });
    located.unwrap_or_else(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(predicate: Value) -> Value {
        json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "app", "digest": {"sha256": "00"}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": predicate,
            "signer": {"kind": "certificate", "identity": "https://github.com/org/app/.github/workflows/release.yml@refs/tags/v1",
                       "issuer": "https://token.actions.githubusercontent.com", "certificate": {}},
        })
    }

    /// The policy of `source`, as file `p.rego`.
    fn parsed(source: &str) -> RegoPolicy {
        RegoPolicy::parse("p.rego", source).unwrap()
    }

    fn reasons(result: Result<(), Error>) -> Vec<String> {
        match result {
            Err(Error::PolicyDenied { reasons, .. }) => reasons,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn allow_must_be_true() {
        let policy = parsed("package signature\nallow if input.predicateType == \"https://slsa.dev/provenance/v1\"\n");
        policy.evaluate_input(statement(json!({}))).unwrap();
        let mut other = statement(json!({}));
        other["predicateType"] = json!("https://spdx.dev/Document");
        assert_eq!(
            reasons(policy.evaluate_input(other)),
            ["data.signature.allow is undefined (no allow rule held)"]
        );
        let falsy = parsed("package signature\ndefault allow := false\n");
        assert_eq!(
            reasons(falsy.evaluate_input(statement(json!({})))),
            ["data.signature.allow is false, not true"]
        );
    }

    #[test]
    fn deny_messages_are_the_reasons_and_v0_reads() {
        // witness's form, Rego v0.
        let policy = parsed("package slsa\ndeny[msg] {\n  input.predicate.buildType != \"x\"\n  msg := \"wrong build type\"\n}\n");
        assert_eq!(
            reasons(policy.evaluate_input(statement(json!({"buildType": "y"})))),
            ["wrong build type"]
        );
        policy
            .evaluate_input(statement(json!({"buildType": "x"})))
            .unwrap();
        // Undefined is not false: a field the predicate lacks fires nothing.
        policy.evaluate_input(statement(json!({}))).unwrap();
    }

    #[test]
    fn the_signer_is_in_the_input() {
        let policy = parsed("package p\ndeny contains \"not from org\" if not startswith(input.signer.identity, \"https://github.com/org/\")\n");
        policy.evaluate_input(statement(json!({}))).unwrap();
        let mut other = statement(json!({}));
        other["signer"]["identity"] = json!("https://github.com/evil/app/x@refs/heads/main");
        assert_eq!(reasons(policy.evaluate_input(other)), ["not from org"]);
    }

    #[test]
    fn malformed_policies_name_the_file_and_line() {
        let Err(Error::Malformed { reason, .. }) =
            RegoPolicy::parse("dir/p.rego", "package p\n\nallow if {\n  input.x ==\n")
        else {
            panic!("parsed");
        };
        assert!(
            reason.starts_with("dir/p.rego:5:1: expecting expression\n"),
            "{reason}"
        );
        // A v0 module with a syntax error is reported as v0.
        let Err(Error::Malformed { reason, .. }) =
            RegoPolicy::parse("p.rego", "package p\ndeny[msg] {\n  msg := \n}\n")
        else {
            panic!("parsed");
        };
        assert!(reason.starts_with("p.rego:2:11: expecting }\n"), "{reason}");
        assert!(reason.contains("(read as Rego v0: p.rego:"), "{reason}");
        let Err(Error::Malformed { reason, .. }) =
            RegoPolicy::parse("p.rego", "package p\nsomething := true\n")
        else {
            panic!("parsed");
        };
        assert!(reason.contains("neither `allow` nor `deny`"), "{reason}");
    }

    #[test]
    fn evaluation_errors_deny() {
        let policy = parsed("package p\nallow := true if input.a\nallow := false if input.b\n");
        let got = reasons(policy.evaluate_input(json!({"a": true, "b": true})));
        assert!(got[0].starts_with("data.p.allow: "), "{got:?}");
    }
}

#[cfg(test)]
mod builtins {
    use super::*;

    /// The clock, the network, randomness and the environment are not
    /// there: a policy calling them is never a pass.
    #[test]
    fn no_clock_network_random_or_environment() {
        for call in [
            "time.now_ns() > 0",
            "http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1:9/\"}).status_code == 200",
            "rand.intn(\"x\", 2) >= 0",
            "opa.runtime().env != {}",
        ] {
            let text = format!("package p\nimport rego.v1\nallow if {call}\n");
            match RegoPolicy::parse("p.rego", &text) {
                Err(Error::Malformed { .. }) => {}
                Ok(policy) => {
                    let result = policy.evaluate_input(json!({}));
                    assert!(
                        matches!(result, Err(Error::PolicyDenied { .. })),
                        "{call}: {result:?}"
                    );
                }
                Err(other) => panic!("{call}: {other:?}"),
            }
        }
    }
}
