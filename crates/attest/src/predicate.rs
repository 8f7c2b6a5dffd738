//! Requirements a policy states on a verified Statement's predicate: a
//! dotted path into the predicate whose string value must equal a value,
//! start with a prefix, or be one of a list (`[[require]]` in
//! `toto verify-attestation --policy FILE`).

use serde::Deserialize;
use serde_json::Value;

/// One requirement on a predicate field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredicateRequirement {
    /// The field, as a dotted path from the predicate's root
    /// (`buildDefinition.buildType`).
    pub path: String,
    /// The value it must have.
    #[serde(default)]
    pub equals: Option<String>,
    /// A prefix its value must have.
    #[serde(default)]
    pub prefix: Option<String>,
    /// The values it may have.
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
}

impl PredicateRequirement {
    /// Checks `predicate`; the error says which field differs and how.
    pub fn check(&self, predicate: &Value) -> Result<(), String> {
        let path = &self.path;
        let mut at = predicate;
        for part in path.split('.') {
            at = at
                .get(part)
                .ok_or_else(|| format!("predicate has no {path}"))?;
        }
        let text = at
            .as_str()
            .ok_or_else(|| format!("predicate {path} is not a string"))?;
        if let Some(want) = self.equals.as_ref().filter(|want| text != want.as_str()) {
            return Err(format!(
                "predicate {path} is {text:?}, policy requires {want:?}"
            ));
        }
        if let Some(prefix) = self
            .prefix
            .as_ref()
            .filter(|prefix| !text.starts_with(prefix.as_str()))
        {
            return Err(format!(
                "predicate {path} is {text:?}, policy requires the prefix {prefix:?}"
            ));
        }
        if let Some(allowed) = self
            .one_of
            .as_ref()
            .filter(|allowed| !allowed.iter().any(|a| a == text))
        {
            return Err(format!(
                "predicate {path} is {text:?}, policy allows {allowed:?}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirement(toml_like: Value) -> PredicateRequirement {
        serde_json::from_value(toml_like).unwrap()
    }

    #[test]
    fn each_kind_of_requirement_refuses_exactly_its_case() {
        let predicate = serde_json::json!({"build": {"type": "https://example/ci/v1"}, "n": 3});
        let equals = requirement(
            serde_json::json!({"path": "build.type", "equals": "https://example/ci/v1"}),
        );
        assert_eq!(equals.check(&predicate), Ok(()));
        let other = requirement(serde_json::json!({"path": "build.type", "equals": "x"}));
        assert!(other
            .check(&predicate)
            .unwrap_err()
            .contains("policy requires \"x\""));
        let prefix =
            requirement(serde_json::json!({"path": "build.type", "prefix": "https://other/"}));
        assert!(prefix.check(&predicate).unwrap_err().contains("the prefix"));
        let one_of = requirement(serde_json::json!({"path": "build.type", "one_of": ["a", "b"]}));
        assert!(one_of
            .check(&predicate)
            .unwrap_err()
            .contains("policy allows"));
        let absent = requirement(serde_json::json!({"path": "build.kind", "equals": "x"}));
        assert_eq!(
            absent.check(&predicate),
            Err("predicate has no build.kind".into())
        );
        let number = requirement(serde_json::json!({"path": "n", "equals": "3"}));
        assert_eq!(
            number.check(&predicate),
            Err("predicate n is not a string".into())
        );
        assert!(serde_json::from_value::<PredicateRequirement>(
            serde_json::json!({"path": "n", "equal": "3"})
        )
        .is_err());
    }
}
