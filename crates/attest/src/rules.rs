//! Artifact rules (in-toto spec v1.0, section 4.3.3) as typed values, and
//! the rule engine with in-toto 3.1's exact semantics (`rulelib.unpack_rule`,
//! `verifylib.verify_item_rules`):
//!
//! - a queue starts with every artifact of the source type (materials or
//!   products); rules run in order and each *consumes* what it matches;
//! - `CREATE` consumes queued matches that are products but not materials,
//!   `DELETE` materials but not products, `MODIFY` both with different digests,
//!   `ALLOW` any queued match; none of them fails;
//! - `DISALLOW` fails when any queued artifact matches;
//! - `REQUIRE` fails when the literal path is not queued, and consumes nothing;
//! - `MATCH` consumes queued matches of `[src_prefix/]pattern` whose digest
//!   set equals that of `[dst_prefix/]relative path` in the FROM step's
//!   materials or products (nothing when that step has no link);
//! - what is left in the queue at the end is allowed.
//!
//! Patterns are Python `fnmatch` patterns where `*` also matches `/`.
//! Keywords are case-insensitive on input and written upper-case.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::ArtifactMap;

/// Which artifacts a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceType {
    /// Materials.
    Materials,
    /// Products.
    Products,
}

impl fmt::Display for SourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceType::Materials => "materials",
            SourceType::Products => "products",
        })
    }
}

/// One artifact rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rule {
    /// `CREATE pattern`.
    Create(String),
    /// `DELETE pattern`.
    Delete(String),
    /// `MODIFY pattern`.
    Modify(String),
    /// `ALLOW pattern`.
    Allow(String),
    /// `DISALLOW pattern`.
    Disallow(String),
    /// `REQUIRE path`.
    Require(String),
    /// `MATCH pattern [IN src] WITH (MATERIALS|PRODUCTS) [IN dst] FROM step`.
    Match {
        /// Pattern.
        pattern: String,
        /// Prefix on this side.
        source_prefix: String,
        /// Which artifacts of the other step.
        dest_type: SourceType,
        /// Prefix on the other side.
        dest_prefix: String,
        /// The other step.
        dest_name: String,
    },
}

/// Why a rule list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct RuleError {
    reason: String,
}

fn rule_error(reason: impl Into<String>) -> RuleError {
    RuleError {
        reason: reason.into(),
    }
}

const MATCH_FORMS: &str =
    "expected MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS) [IN <prefix>] FROM <step>";

impl Rule {
    /// Reads the reference's list form, e.g. `["MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"]`.
    pub fn from_list<S: AsRef<str>>(list: &[S]) -> Result<Rule, RuleError> {
        let words: Vec<&str> = list.iter().map(AsRef::as_ref).collect();
        let Some((keyword, rest)) = words.split_first() else {
            return Err(rule_error("empty rule"));
        };
        let keyword = keyword.to_ascii_lowercase();
        let single = |make: fn(String) -> Rule| match rest {
            [pattern] => Ok(make((*pattern).to_owned())),
            _ => Err(rule_error(format!(
                "{} takes exactly one pattern",
                keyword.to_ascii_uppercase()
            ))),
        };
        match keyword.as_str() {
            "create" => single(Rule::Create),
            "delete" => single(Rule::Delete),
            "modify" => single(Rule::Modify),
            "allow" => single(Rule::Allow),
            "disallow" => single(Rule::Disallow),
            "require" => single(Rule::Require),
            "match" => parse_match(rest),
            other => Err(rule_error(format!(
                "unknown rule type {:?}; expected CREATE, DELETE, MODIFY, ALLOW, DISALLOW, REQUIRE or MATCH",
                other.to_ascii_uppercase()
            ))),
        }
    }

    /// The reference's list form, keywords upper-case.
    pub fn to_list(&self) -> Vec<String> {
        let pair = |k: &str, p: &str| vec![k.to_owned(), p.to_owned()];
        match self {
            Rule::Create(p) => pair("CREATE", p),
            Rule::Delete(p) => pair("DELETE", p),
            Rule::Modify(p) => pair("MODIFY", p),
            Rule::Allow(p) => pair("ALLOW", p),
            Rule::Disallow(p) => pair("DISALLOW", p),
            Rule::Require(p) => pair("REQUIRE", p),
            Rule::Match {
                pattern,
                source_prefix,
                dest_type,
                dest_prefix,
                dest_name,
            } => {
                let mut out = vec!["MATCH".to_owned(), pattern.clone()];
                if !source_prefix.is_empty() {
                    out.extend(["IN".to_owned(), source_prefix.clone()]);
                }
                out.extend([
                    "WITH".to_owned(),
                    match dest_type {
                        SourceType::Materials => "MATERIALS".to_owned(),
                        SourceType::Products => "PRODUCTS".to_owned(),
                    },
                ]);
                if !dest_prefix.is_empty() {
                    out.extend(["IN".to_owned(), dest_prefix.clone()]);
                }
                out.extend(["FROM".to_owned(), dest_name.clone()]);
                out
            }
        }
    }
}

fn parse_match(rest: &[&str]) -> Result<Rule, RuleError> {
    let is = |word: Option<&&str>, kw: &str| word.is_some_and(|w| w.eq_ignore_ascii_case(kw));
    let mut i = 0;
    let pattern = rest.get(i).ok_or_else(|| rule_error(MATCH_FORMS))?;
    i += 1;
    let mut source_prefix = "";
    if is(rest.get(i), "in") {
        source_prefix = rest.get(i + 1).ok_or_else(|| rule_error(MATCH_FORMS))?;
        i += 2;
    }
    if !is(rest.get(i), "with") {
        return Err(rule_error(MATCH_FORMS));
    }
    let dest_type = match rest.get(i + 1).map(|w| w.to_ascii_lowercase()).as_deref() {
        Some("materials") => SourceType::Materials,
        Some("products") => SourceType::Products,
        _ => {
            return Err(rule_error(format!(
                "{MATCH_FORMS}: WITH takes MATERIALS or PRODUCTS"
            )))
        }
    };
    i += 2;
    let mut dest_prefix = "";
    if is(rest.get(i), "in") {
        dest_prefix = rest.get(i + 1).ok_or_else(|| rule_error(MATCH_FORMS))?;
        i += 2;
    }
    if !is(rest.get(i), "from") {
        return Err(rule_error(MATCH_FORMS));
    }
    let dest_name = rest.get(i + 1).ok_or_else(|| rule_error(MATCH_FORMS))?;
    if rest.len() != i + 2 {
        return Err(rule_error(format!("{MATCH_FORMS}: trailing words")));
    }
    Ok(Rule::Match {
        pattern: (*pattern).to_owned(),
        source_prefix: (*source_prefix).to_owned(),
        dest_type,
        dest_prefix: (*dest_prefix).to_owned(),
        dest_name: (*dest_name).to_owned(),
    })
}

impl fmt::Display for Rule {
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

/// Python `fnmatch.fnmatchcase`: `*` any run (including `/`), `?` one
/// character, `[seq]` / `[!seq]` sets with ranges; an unclosed `[` is literal.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    if name.is_ascii() && pattern.is_ascii() {
        // Bytes are characters: no decoding, no allocation.
        return wildcard(name.as_bytes(), pattern.as_bytes());
    }
    let name: Vec<char> = name.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    wildcard(&name, &pattern)
}

/// Characters a pattern is matched over: `char`, or `u8` for ASCII.
trait PatternChar: Copy + PartialEq + PartialOrd {
    const STAR: Self;
    const QUESTION: Self;
    const OPEN: Self;
    const CLOSE: Self;
    const BANG: Self;
    const DASH: Self;
}

impl PatternChar for char {
    const STAR: char = '*';
    const QUESTION: char = '?';
    const OPEN: char = '[';
    const CLOSE: char = ']';
    const BANG: char = '!';
    const DASH: char = '-';
}

impl PatternChar for u8 {
    const STAR: u8 = b'*';
    const QUESTION: u8 = b'?';
    const OPEN: u8 = b'[';
    const CLOSE: u8 = b']';
    const BANG: u8 = b'!';
    const DASH: u8 = b'-';
}

fn wildcard<C: PatternChar>(name: &[C], pattern: &[C]) -> bool {
    let (mut n, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some(c) if *c == C::STAR => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some(c) if *c == C::QUESTION => Some(p + 1),
            Some(c) if *c == C::OPEN => match_class(pattern, p, name.get(n).copied()),
            Some(c) => (name.get(n) == Some(c)).then_some(p + 1),
            None => None,
        };
        match step {
            Some(next) => {
                p = next;
                n += 1;
            }
            None => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == C::STAR))
}

/// Matches `c` against the set starting at `pattern[open] == '['`; returns
/// the index after the set on a match. An unclosed set matches `[` literally.
fn match_class<C: PatternChar>(pattern: &[C], open: usize, c: Option<C>) -> Option<usize> {
    let c = c?;
    let mut i = open + 1;
    let negate = pattern.get(i) == Some(&C::BANG);
    if negate {
        i += 1;
    }
    // A `]` right after `[` or `[!` is a member, as in Python.
    let start = i;
    let mut close = None;
    let mut j = i;
    while let Some(ch) = pattern.get(j) {
        if *ch == C::CLOSE && j > start {
            close = Some(j);
            break;
        }
        j += 1;
    }
    let Some(close) = close else {
        return (c == C::OPEN).then_some(open + 1);
    };
    let members = pattern.get(start..close)?;
    let mut hit = false;
    let mut k = 0;
    while let Some(&lo) = members.get(k) {
        if members.get(k + 1) == Some(&C::DASH) {
            if let Some(&hi) = members.get(k + 2) {
                if lo <= c && c <= hi {
                    hit = true;
                }
                k += 3;
                continue;
            }
        }
        if lo == c {
            hit = true;
        }
        k += 1;
    }
    (hit != negate).then_some(close + 1)
}

/// What one rule consumed, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RuleTrace {
    /// The rule as the reference writes it.
    pub rule: String,
    /// Artifacts it consumed, sorted.
    pub consumed: Vec<String>,
}

/// A rule that failed, with the artifact it failed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFailure {
    /// The rule.
    pub rule: Box<Rule>,
    /// The artifact (for REQUIRE: the missing path).
    pub artifact: String,
}

/// Looks up another step's `(materials, products)` by name.
pub type StepLookup<'l, 'a> = &'l dyn Fn(&str) -> Option<(&'a ArtifactMap, &'a ArtifactMap)>;

fn join_prefix(prefix: &str, path: &str) -> String {
    if prefix.is_empty() || path.starts_with('/') {
        path.to_owned()
    } else if prefix.ends_with('/') {
        format!("{prefix}{path}")
    } else {
        format!("{prefix}/{path}")
    }
}

/// Applies `rules` to the `source` artifacts of an item (step or
/// inspection) whose link recorded `materials` and `products`.
pub fn verify_item_rules<'a>(
    rules: &[Rule],
    source: SourceType,
    materials: &'a ArtifactMap,
    products: &'a ArtifactMap,
    steps: StepLookup<'_, 'a>,
) -> Result<Vec<RuleTrace>, RuleFailure> {
    let artifacts = match source {
        SourceType::Materials => materials,
        SourceType::Products => products,
    };
    let mut queue: BTreeSet<&str> = artifacts.keys().map(String::as_str).collect();
    let mut traces = Vec::with_capacity(rules.len());
    for rule in rules {
        let matching = |pattern: &str, queue: &BTreeSet<&'a str>| -> Vec<&'a str> {
            queue
                .iter()
                .copied()
                .filter(|a| fnmatch(a, pattern))
                .collect()
        };
        let consumed: Vec<&str> = match rule {
            Rule::Allow(p) => matching(p, &queue),
            Rule::Create(p) => matching(p, &queue)
                .into_iter()
                .filter(|a| products.contains_key(*a) && !materials.contains_key(*a))
                .collect(),
            Rule::Delete(p) => matching(p, &queue)
                .into_iter()
                .filter(|a| materials.contains_key(*a) && !products.contains_key(*a))
                .collect(),
            Rule::Modify(p) => matching(p, &queue)
                .into_iter()
                .filter(|a| match (materials.get(*a), products.get(*a)) {
                    (Some(m), Some(p)) => m != p,
                    _ => false,
                })
                .collect(),
            Rule::Disallow(p) => {
                if let Some(first) = matching(p, &queue).first() {
                    return Err(RuleFailure {
                        rule: Box::new(rule.clone()),
                        artifact: (*first).to_owned(),
                    });
                }
                Vec::new()
            }
            Rule::Require(path) => {
                if !queue.contains(path.as_str()) {
                    return Err(RuleFailure {
                        rule: Box::new(rule.clone()),
                        artifact: path.clone(),
                    });
                }
                Vec::new()
            }
            Rule::Match {
                pattern,
                source_prefix,
                dest_type,
                dest_prefix,
                dest_name,
            } => match steps(dest_name) {
                None => Vec::new(),
                Some((dest_materials, dest_products)) => {
                    let dest = match dest_type {
                        SourceType::Materials => dest_materials,
                        SourceType::Products => dest_products,
                    };
                    // As the reference: the source prefix is literal (not
                    // globbed): strip it, glob the rest, look the rest up
                    // under the destination prefix.
                    let prefix = if source_prefix.is_empty() || source_prefix.ends_with('/') {
                        source_prefix.clone()
                    } else {
                        format!("{source_prefix}/")
                    };
                    queue
                        .iter()
                        .copied()
                        .filter(|path| {
                            let Some(relative) = path.strip_prefix(prefix.as_str()) else {
                                return false;
                            };
                            if !fnmatch(relative, pattern) {
                                return false;
                            }
                            let dest_path = join_prefix(dest_prefix, relative);
                            match (artifacts.get(*path), dest.get(&dest_path)) {
                                (Some(mine), Some(theirs)) => mine == theirs,
                                _ => false,
                            }
                        })
                        .collect()
                }
            },
        };
        for a in &consumed {
            queue.remove(a);
        }
        traces.push(RuleTrace {
            rule: rule.to_string(),
            consumed: consumed.into_iter().map(str::to_owned).collect(),
        });
    }
    Ok(traces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::DigestSet;
    use std::collections::BTreeMap;

    fn d(c: char) -> DigestSet {
        DigestSet::single("sha256", &c.to_string().repeat(64)).unwrap()
    }

    fn map(entries: &[(&str, char)]) -> ArtifactMap {
        entries
            .iter()
            .map(|(k, c)| ((*k).to_owned(), d(*c)))
            .collect()
    }

    fn rules(list: &[&str]) -> Vec<Rule> {
        list.iter().map(|r| r.parse().unwrap()).collect()
    }

    fn none<'a>() -> impl Fn(&str) -> Option<(&'a ArtifactMap, &'a ArtifactMap)> {
        |_| None
    }

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("a/b/c.py", "*.py"));
        assert!(fnmatch("a/b/c.py", "a/*"));
        assert!(!fnmatch("a/b/c.py", "b/*"));
        assert!(fnmatch("abc", "a?c"));
        assert!(!fnmatch("ac", "a?c"));
        assert!(fnmatch("a1", "a[0-9]"));
        assert!(!fnmatch("ab", "a[0-9]"));
        assert!(fnmatch("ab", "a[!0-9]"));
        assert!(fnmatch("a]", "a[]]"));
        assert!(fnmatch("a[", "a["));
        assert!(fnmatch("a[b", "a[b"));
        assert!(!fnmatch("ab", "a["));
        assert!(fnmatch("", "*"));
        assert!(fnmatch("ü/é", "*/?"));
        assert!(!fnmatch("A", "a"));
        assert!(fnmatch("x.tar.gz", "*.*.gz"));
    }

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
        }
        let lower: Rule = "match foo in x with products from s".parse().unwrap();
        assert_eq!(lower.to_string(), "MATCH foo IN x WITH PRODUCTS FROM s");
    }

    #[test]
    fn malformed_rules_are_refused() {
        for text in [
            "",
            "CREATE",
            "CREATE a b",
            "FROB x",
            "MATCH",
            "MATCH * FROM x",
            "MATCH * WITH STUFF FROM x",
            "MATCH * WITH PRODUCTS",
            "MATCH * WITH PRODUCTS FROM",
            "MATCH * WITH PRODUCTS FROM x y",
            "MATCH * IN WITH PRODUCTS FROM x",
        ] {
            assert!(text.parse::<Rule>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn create_delete_modify_consume_only_their_kind() {
        let materials = map(&[("kept", 'a'), ("gone", 'b'), ("changed", 'c')]);
        let products = map(&[("kept", 'a'), ("new", 'd'), ("changed", 'e')]);
        let lookup = none();
        let t = verify_item_rules(
            &rules(&["CREATE *", "MODIFY *", "DISALLOW *"]),
            SourceType::Products,
            &materials,
            &products,
            &lookup,
        );
        assert_eq!(
            t.unwrap_err(),
            RuleFailure {
                rule: Box::new("DISALLOW *".parse().unwrap()),
                artifact: "kept".into()
            }
        );
        let t = verify_item_rules(
            &rules(&["CREATE *", "MODIFY *", "ALLOW kept", "DISALLOW *"]),
            SourceType::Products,
            &materials,
            &products,
            &lookup,
        )
        .unwrap();
        assert_eq!(t[0].consumed, vec!["new"]);
        assert_eq!(t[1].consumed, vec!["changed"]);
        let t = verify_item_rules(
            &rules(&["DELETE *", "MODIFY *", "ALLOW kept", "DISALLOW *"]),
            SourceType::Materials,
            &materials,
            &products,
            &lookup,
        )
        .unwrap();
        assert_eq!(t[0].consumed, vec!["gone"]);
        // CREATE on materials consumes nothing (they are never new products).
        let t = verify_item_rules(
            &rules(&["CREATE *", "DISALLOW *"]),
            SourceType::Materials,
            &materials,
            &products,
            &lookup,
        );
        assert!(t.is_err());
    }

    #[test]
    fn require_checks_the_queue_and_consumes_nothing() {
        let products = map(&[("a", 'a')]);
        let empty = ArtifactMap::new();
        let lookup = none();
        let ok = verify_item_rules(
            &rules(&["REQUIRE a", "DISALLOW b"]),
            SourceType::Products,
            &empty,
            &products,
            &lookup,
        )
        .unwrap();
        assert!(ok[0].consumed.is_empty());
        let err = verify_item_rules(
            &rules(&["ALLOW a", "REQUIRE a"]),
            SourceType::Products,
            &empty,
            &products,
            &lookup,
        )
        .unwrap_err();
        assert_eq!(err.artifact, "a");
        // REQUIRE is literal: a pattern does not satisfy it.
        assert!(verify_item_rules(
            &rules(&["REQUIRE *"]),
            SourceType::Products,
            &empty,
            &products,
            &lookup
        )
        .is_err());
    }

    #[test]
    fn match_with_prefixes_digests_and_missing_steps() {
        let mine = map(&[("src/a.py", 'a'), ("src/b.py", 'b'), ("other", 'c')]);
        let empty = ArtifactMap::new();
        let theirs = map(&[("dist/a.py", 'a'), ("dist/b.py", 'f')]);
        let mut steps: BTreeMap<&str, (ArtifactMap, ArtifactMap)> = BTreeMap::new();
        steps.insert("build", (ArtifactMap::new(), theirs));
        let lookup = |name: &str| steps.get(name).map(|(m, p)| (m, p));
        let t = verify_item_rules(
            &rules(&[
                "MATCH *.py IN src WITH PRODUCTS IN dist FROM build",
                "ALLOW other",
                "DISALLOW *",
            ]),
            SourceType::Materials,
            &mine,
            &empty,
            &lookup,
        );
        // b.py differs in digest: not consumed, so DISALLOW * catches it.
        assert_eq!(t.unwrap_err().artifact, "src/b.py");
        let t = verify_item_rules(
            &rules(&[
                "MATCH *.py IN src WITH PRODUCTS IN dist FROM build",
                "ALLOW *",
            ]),
            SourceType::Materials,
            &mine,
            &empty,
            &lookup,
        )
        .unwrap();
        assert_eq!(t[0].consumed, vec!["src/a.py"]);
        // A FROM step without a link matches nothing.
        let t = verify_item_rules(
            &rules(&["MATCH * WITH PRODUCTS FROM nowhere", "ALLOW *"]),
            SourceType::Materials,
            &mine,
            &empty,
            &lookup,
        )
        .unwrap();
        assert!(t[0].consumed.is_empty());
        // MATCH only looks at the named side.
        let t = verify_item_rules(
            &rules(&["MATCH *.py IN src WITH MATERIALS IN dist FROM build"]),
            SourceType::Materials,
            &mine,
            &empty,
            &lookup,
        )
        .unwrap();
        assert!(t[0].consumed.is_empty());
    }

    #[test]
    fn leftovers_are_allowed_and_disallow_after_allow_passes() {
        let products = map(&[("a", 'a'), ("b", 'b')]);
        let empty = ArtifactMap::new();
        let lookup = none();
        assert!(verify_item_rules(&[], SourceType::Products, &empty, &products, &lookup).is_ok());
        assert!(verify_item_rules(
            &rules(&["ALLOW *", "DISALLOW *"]),
            SourceType::Products,
            &empty,
            &products,
            &lookup
        )
        .is_ok());
    }
}
