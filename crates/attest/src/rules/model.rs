//! The rule model: [`Rule`] as a typed value, read from and written to the
//! reference's list form (`rulelib.unpack_rule` / `pack_rule`) and string
//! form, and [`SourceType`] (materials or products).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::ArtifactMap;

/// Which artifacts of a link a rule list applies to (`expected_materials`
/// or `expected_products`), and which ones a MATCH rule compares with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceType {
    /// Materials.
    Materials,
    /// Products.
    Products,
}

impl SourceType {
    /// `materials` or `products`, as the reference's `source_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Materials => "materials",
            SourceType::Products => "products",
        }
    }

    fn keyword(self) -> &'static str {
        match self {
            SourceType::Materials => "MATERIALS",
            SourceType::Products => "PRODUCTS",
        }
    }

    pub(crate) fn pick<'a>(
        self,
        materials: &'a ArtifactMap,
        products: &'a ArtifactMap,
    ) -> &'a ArtifactMap {
        match self {
            SourceType::Materials => materials,
            SourceType::Products => products,
        }
    }
}

impl fmt::Display for SourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One artifact rule (in-toto spec v1.0, section 4.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rule {
    /// `CREATE pattern`: products that are not materials.
    Create(String),
    /// `DELETE pattern`: materials that are not products.
    Delete(String),
    /// `MODIFY pattern`: artifacts in both, with different digests.
    Modify(String),
    /// `ALLOW pattern`: any queued artifact.
    Allow(String),
    /// `DISALLOW pattern`: fails on any queued match.
    Disallow(String),
    /// `REQUIRE path`: fails unless the literal path is queued.
    Require(String),
    /// `MATCH pattern [IN src] WITH (MATERIALS|PRODUCTS) [IN dst] FROM step`.
    Match(MatchRule),
}

/// The parts of a `MATCH` rule (in-toto spec v1.0, section 4.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MatchRule {
    /// Pattern, applied to the path after `source_prefix`.
    pub pattern: String,
    /// Prefix on this item's side; empty for none.
    pub source_prefix: String,
    /// Which artifacts of the FROM step are compared.
    pub dest_type: SourceType,
    /// Prefix on the FROM step's side; empty for none.
    pub dest_prefix: String,
    /// The FROM step (or inspection).
    pub dest_name: String,
}

/// Why a rule could not be read. Every variant carries the rule as given
/// (list form); the caller adds the step and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The rule has no words.
    #[error("empty rule: a rule is a keyword (CREATE, DELETE, MODIFY, ALLOW, DISALLOW, REQUIRE or MATCH) and a pattern")]
    Empty,
    /// The first word is not a rule keyword.
    #[error("rule \"{}\": unknown rule type {keyword:?}; expected CREATE, DELETE, MODIFY, ALLOW, DISALLOW, REQUIRE or MATCH", .rule.join(" "))]
    UnknownKeyword {
        /// The rule.
        rule: Vec<String>,
        /// The first word.
        keyword: String,
    },
    /// A rule other than MATCH without exactly one pattern.
    #[error("rule \"{}\": {keyword} takes exactly one {}", .rule.join(" "), if *.keyword == "REQUIRE" { "path" } else { "pattern" })]
    WrongArity {
        /// The rule.
        rule: Vec<String>,
        /// The keyword, upper-case.
        keyword: &'static str,
    },
    /// A MATCH rule of none of the four shapes.
    #[error("rule \"{}\": expected MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS) [IN <prefix>] FROM <step>", .rule.join(" "))]
    MalformedMatch {
        /// The rule.
        rule: Vec<String>,
    },
    /// A MATCH rule whose WITH names neither MATERIALS nor PRODUCTS.
    #[error("rule \"{}\": MATCH compares WITH MATERIALS or WITH PRODUCTS, not {found:?}", .rule.join(" "))]
    BadDestinationType {
        /// The rule.
        rule: Vec<String>,
        /// The word after WITH.
        found: String,
    },
}

impl RuleError {
    /// The offending rule in list form (empty for [`RuleError::Empty`]).
    pub fn rule(&self) -> &[String] {
        match self {
            RuleError::Empty => &[],
            RuleError::UnknownKeyword { rule, .. }
            | RuleError::WrongArity { rule, .. }
            | RuleError::MalformedMatch { rule }
            | RuleError::BadDestinationType { rule, .. } => rule,
        }
    }
}

impl Rule {
    /// Reads the reference's list form, e.g.
    /// `["MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"]`, as
    /// `rulelib.unpack_rule` does.
    pub fn from_list<S: AsRef<str>>(list: &[S]) -> Result<Rule, RuleError> {
        let words: Vec<&str> = list.iter().map(AsRef::as_ref).collect();
        let owned = || words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
        let Some((first, rest)) = words.split_first() else {
            return Err(RuleError::Empty);
        };
        // Rules other than MATCH: the keyword and one pattern.
        let generic = |keyword: &'static str, make: fn(String) -> Rule| match rest {
            [pattern] => Ok(make((*pattern).to_owned())),
            _ => Err(RuleError::WrongArity {
                rule: owned(),
                keyword,
            }),
        };
        match first.to_ascii_lowercase().as_str() {
            "create" => return generic("CREATE", Rule::Create),
            "delete" => return generic("DELETE", Rule::Delete),
            "modify" => return generic("MODIFY", Rule::Modify),
            "allow" => return generic("ALLOW", Rule::Allow),
            "disallow" => return generic("DISALLOW", Rule::Disallow),
            "require" => return generic("REQUIRE", Rule::Require),
            "match" => {}
            _ => {
                return Err(RuleError::UnknownKeyword {
                    rule: owned(),
                    keyword: (*first).to_owned(),
                })
            }
        }
        let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
        // The four shapes of `unpack_rule`, by length, in its order.
        let (pattern, source_prefix, dest_type, dest_prefix, dest_name) = match *rest {
            [pattern, in1, src, with, dtype, in2, dst, from, name]
                if is(in1, "in") && is(with, "with") && is(in2, "in") && is(from, "from") =>
            {
                (pattern, src, dtype, dst, name)
            }
            [pattern, in1, src, with, dtype, from, name]
                if is(in1, "in") && is(with, "with") && is(from, "from") =>
            {
                (pattern, src, dtype, "", name)
            }
            [pattern, with, dtype, in2, dst, from, name]
                if is(with, "with") && is(in2, "in") && is(from, "from") =>
            {
                (pattern, "", dtype, dst, name)
            }
            [pattern, with, dtype, from, name] if is(with, "with") && is(from, "from") => {
                (pattern, "", dtype, "", name)
            }
            _ => return Err(RuleError::MalformedMatch { rule: owned() }),
        };
        let dest_type = if is(dest_type, "materials") {
            SourceType::Materials
        } else if is(dest_type, "products") {
            SourceType::Products
        } else {
            return Err(RuleError::BadDestinationType {
                rule: owned(),
                found: dest_type.to_owned(),
            });
        };
        Ok(Rule::Match(MatchRule {
            pattern: pattern.to_owned(),
            source_prefix: source_prefix.to_owned(),
            dest_type,
            dest_prefix: dest_prefix.to_owned(),
            dest_name: dest_name.to_owned(),
        }))
    }

    /// The reference's list form (`rulelib.pack_rule`): keywords upper-case,
    /// empty prefixes left out.
    pub fn to_list(&self) -> Vec<String> {
        let pair = |k: &str, p: &str| vec![k.to_owned(), p.to_owned()];
        match self {
            Rule::Create(p) => pair("CREATE", p),
            Rule::Delete(p) => pair("DELETE", p),
            Rule::Modify(p) => pair("MODIFY", p),
            Rule::Allow(p) => pair("ALLOW", p),
            Rule::Disallow(p) => pair("DISALLOW", p),
            Rule::Require(p) => pair("REQUIRE", p),
            Rule::Match(m) => {
                let mut out = vec!["MATCH".to_owned(), m.pattern.clone()];
                if !m.source_prefix.is_empty() {
                    out.extend(["IN".to_owned(), m.source_prefix.clone()]);
                }
                out.extend(["WITH".to_owned(), m.dest_type.keyword().to_owned()]);
                if !m.dest_prefix.is_empty() {
                    out.extend(["IN".to_owned(), m.dest_prefix.clone()]);
                }
                out.extend(["FROM".to_owned(), m.dest_name.clone()]);
                out
            }
        }
    }

    /// The rule's pattern (for REQUIRE: its path).
    pub fn pattern(&self) -> &str {
        match self {
            Rule::Create(p)
            | Rule::Delete(p)
            | Rule::Modify(p)
            | Rule::Allow(p)
            | Rule::Disallow(p)
            | Rule::Require(p)
            | Rule::Match(MatchRule { pattern: p, .. }) => p,
        }
    }
}

impl fmt::Display for Rule {
    /// The reference's string form: the list form joined with spaces, e.g.
    /// `MATCH * WITH PRODUCTS FROM clone`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_list().join(" "))
    }
}

impl FromStr for Rule {
    type Err = RuleError;

    /// Reads the string form: words separated by white space.
    fn from_str(s: &str) -> Result<Rule, RuleError> {
        let words: Vec<&str> = s.split_whitespace().collect();
        Rule::from_list(&words)
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_list().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Rule, D::Error> {
        let list = Vec::<String>::deserialize(d)?;
        Rule::from_list(&list).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_prints_it_back() {
        for text in [
            "CREATE foo",
            "DELETE foo",
            "MODIFY foo",
            "ALLOW *",
            "DISALLOW *",
            "REQUIRE a/b",
            "MATCH * WITH PRODUCTS FROM clone",
            "MATCH *.py IN src WITH MATERIALS FROM build",
            "MATCH * WITH PRODUCTS IN dist FROM build",
            "MATCH * IN a WITH PRODUCTS IN b FROM build",
        ] {
            let rule: Rule = text.parse().unwrap();
            assert_eq!(rule.to_string(), text);
            assert_eq!(Rule::from_list(&rule.to_list()).unwrap(), rule);
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), rule);
        }
    }

    #[test]
    fn keywords_are_case_insensitive_and_patterns_kept() {
        let rule: Rule = "match Foo.PY in Src wItH products In Dist from Build"
            .parse()
            .unwrap();
        assert_eq!(
            rule,
            Rule::Match(MatchRule {
                pattern: "Foo.PY".into(),
                source_prefix: "Src".into(),
                dest_type: SourceType::Products,
                dest_prefix: "Dist".into(),
                dest_name: "Build".into(),
            })
        );
        assert_eq!(
            rule.to_string(),
            "MATCH Foo.PY IN Src WITH PRODUCTS IN Dist FROM Build"
        );
        assert_eq!("aLLow X".parse::<Rule>().unwrap(), Rule::Allow("X".into()));
        assert_eq!(
            "require A".parse::<Rule>().unwrap(),
            Rule::Require("A".into())
        );
        // Keywords in pattern / prefix / step positions are plain words.
        let rule = Rule::from_list(&[
            "MATCH",
            "with",
            "IN",
            "from",
            "WITH",
            "MATERIALS",
            "IN",
            "in",
            "FROM",
            "with",
        ])
        .unwrap();
        assert_eq!(
            rule.to_string(),
            "MATCH with IN from WITH MATERIALS IN in FROM with"
        );
    }

    #[test]
    fn list_form_empty_prefix_means_none() {
        let rule = Rule::from_list(&[
            "MATCH", "*", "IN", "", "WITH", "PRODUCTS", "IN", "", "FROM", "s",
        ])
        .unwrap();
        assert_eq!(rule, "MATCH * WITH PRODUCTS FROM s".parse().unwrap());
        let json: Rule = serde_json::from_str(r#"["create", "a b"]"#).unwrap();
        assert_eq!(json, Rule::Create("a b".into()));
        assert_eq!(serde_json::to_string(&json).unwrap(), r#"["CREATE","a b"]"#);
    }

    #[test]
    fn malformed_rules_are_typed_errors() {
        let err = |text: &str| text.parse::<Rule>().unwrap_err();
        assert_eq!(err(""), RuleError::Empty);
        assert!(
            matches!(err("FROB x"), RuleError::UnknownKeyword { keyword, .. } if keyword == "FROB")
        );
        assert!(matches!(
            err("CREATE"),
            RuleError::WrongArity {
                keyword: "CREATE",
                ..
            }
        ));
        assert!(matches!(
            err("create a b"),
            RuleError::WrongArity {
                keyword: "CREATE",
                ..
            }
        ));
        assert!(matches!(
            err("REQUIRE"),
            RuleError::WrongArity {
                keyword: "REQUIRE",
                ..
            }
        ));
        for text in [
            "MATCH",
            "MATCH *",
            "MATCH * FROM x",
            "MATCH * WITH PRODUCTS",
            "MATCH * WITH PRODUCTS FROM",
            "MATCH * WITH PRODUCTS FROM x y",
            "MATCH * IN WITH PRODUCTS FROM x",
            "MATCH * IN a WITH PRODUCTS IN b FROM",
            "MATCH * IN a b WITH PRODUCTS FROM x",
            "MATCH * TO a WITH PRODUCTS FROM x",
        ] {
            assert!(
                matches!(err(text), RuleError::MalformedMatch { .. }),
                "{text:?}"
            );
        }
        assert!(matches!(
            err("MATCH * WITH STUFF FROM x"),
            RuleError::BadDestinationType { found, .. } if found == "STUFF"
        ));
        assert!(matches!(
            err("MATCH * IN a WITH artifacts IN b FROM x"),
            RuleError::BadDestinationType { .. }
        ));
        let e = err("CREATE a b");
        assert_eq!(e.rule(), ["CREATE", "a", "b"]);
        assert_eq!(
            e.to_string(),
            "rule \"CREATE a b\": CREATE takes exactly one pattern"
        );
        assert!(serde_json::from_str::<Rule>(r#"["ALLOW"]"#).is_err());
        assert!(serde_json::from_str::<Rule>(r#"["ALLOW", 1]"#).is_err());
    }
}
