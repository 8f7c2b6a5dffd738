//! Artifact rules (in-toto spec v1.0, section 4.3.3) as typed values, and
//! the rule engine with in-toto 3.1.0's exact semantics
//! (`in_toto/rulelib.py` `unpack_rule`, `in_toto/verifylib.py`
//! `verify_item_rules` and the `verify_*_rule` helpers).
//!
//! # Rules
//!
//! A rule is a list of words: `CREATE p`, `DELETE p`, `MODIFY p`, `ALLOW p`,
//! `DISALLOW p`, `REQUIRE path` or
//! `MATCH p [IN src] WITH (MATERIALS|PRODUCTS) [IN dst] FROM step`.
//! Keywords (`MATCH`, `IN`, `WITH`, `FROM`, `MATERIALS`, `PRODUCTS`) are
//! case-insensitive; patterns, prefixes and step names are kept as written.
//! An empty prefix (possible in the list form only) means no prefix, as in
//! the reference. [`Rule`] reads and writes the list form (serde, JSON) and
//! the string form (`Display` / `FromStr`, words split on white space, so a
//! pattern containing white space only round-trips in the list form).
//!
//! # Engine
//!
//! [`verify_item_rules`] works like a firewall: a queue starts with every
//! artifact of the source type (materials or products) and rules run in
//! order, each *consuming* (removing from the queue) what it authorizes:
//!
//! - `CREATE` consumes queued matches that are products but not materials
//!   (so on materials it never consumes anything);
//! - `DELETE` consumes queued matches that are materials but not products
//!   (so on products it never consumes anything);
//! - `MODIFY` consumes queued matches that are both, with different digest
//!   sets;
//! - `ALLOW` consumes every queued match;
//! - `DISALLOW` fails when any queued artifact matches, consumes nothing;
//! - `REQUIRE` fails when the literal path (not a pattern) is not queued,
//!   consumes nothing;
//! - `MATCH` strips the source prefix (a literal, never globbed), globs the
//!   rest, and consumes the queued artifact when the FROM step's materials or
//!   products hold the same relative path under the destination prefix with
//!   an *equal* digest set (the whole algorithm → digest map, as Python's
//!   dict `==`). When the FROM step has no link, MATCH consumes nothing.
//!
//! What is left in the queue at the end is allowed.
//!
//! # Patterns
//!
//! [`Pattern`] is Python's `fnmatch` as `fnmatch.filter` applies it on POSIX
//! (case-sensitive; Python >= 3.10 `translate`): `*` matches any run of
//! characters including `/`, `?` one character, `[seq]` / `[!seq]` a set with
//! ranges; an unclosed `[` is a literal `[`; there is no escape character.
//!
//! # Reference quirks reproduced on purpose
//!
//! - Sets: Python drops empty ranges (`z-a`) *before* deciding whether the
//!   set is negated, so `[z-a]` matches nothing, `[!z-a]` any character,
//!   `[z-a!]` any character and `[z-a!b]` any character but `b`.
//! - MATCH with a source prefix rebuilds the source path with
//!   `os.path.join(prefix, rest).replace("\\", "/")`: a backslash in the prefix
//!   counts as `/` (`IN a\b` selects `a/b/...`), and when the rest holds a
//!   backslash or starts with `/` the rebuilt path differs from the queued one.
//!   The reference then compares (and consumes) the rebuilt path, and raises
//!   `KeyError` when the item has no such artifact; toto fails the rule with
//!   [`FailureKind::UnresolvedMatch`] there. The destination path is built the
//!   same way when a destination prefix is given.
//!
//! Deliberately unsupported: Windows `fnmatch` (case-insensitive) semantics.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::{ArtifactMap, DigestSet};

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

    fn pick<'a>(self, materials: &'a ArtifactMap, products: &'a ArtifactMap) -> &'a ArtifactMap {
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
    Match {
        /// Pattern, applied to the path after `source_prefix`.
        pattern: String,
        /// Prefix on this item's side; empty for none.
        source_prefix: String,
        /// Which artifacts of the FROM step are compared.
        dest_type: SourceType,
        /// Prefix on the FROM step's side; empty for none.
        dest_prefix: String,
        /// The FROM step (or inspection).
        dest_name: String,
    },
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
        Ok(Rule::Match {
            pattern: pattern.to_owned(),
            source_prefix: source_prefix.to_owned(),
            dest_type,
            dest_prefix: dest_prefix.to_owned(),
            dest_name: dest_name.to_owned(),
        })
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
                out.extend(["WITH".to_owned(), dest_type.keyword().to_owned()]);
                if !dest_prefix.is_empty() {
                    out.extend(["IN".to_owned(), dest_prefix.clone()]);
                }
                out.extend(["FROM".to_owned(), dest_name.clone()]);
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
            | Rule::Match { pattern: p, .. } => p,
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

/// A compiled Python `fnmatch` pattern (see the module docs). Compiling
/// never fails: every string is a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Literal characters every match starts with.
    prefix: String,
    /// Literal characters every match ends with (after `middle`).
    suffix: String,
    /// Everything between; empty for a pattern without wildcards.
    middle: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// One given character.
    Char(char),
    /// `?`: any one character.
    Any,
    /// `*`: any run of characters (consecutive stars are collapsed).
    Star,
    /// `[...]`: one character of a set.
    Set {
        negate: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn accepts(&self, c: char) -> bool {
        match self {
            Token::Char(want) => *want == c,
            Token::Any => true,
            Token::Star => false,
            Token::Set { negate, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negate
            }
        }
    }
}

impl Pattern {
    /// Compiles `pattern` as Python's `fnmatch.translate` does.
    pub fn new(pattern: &str) -> Pattern {
        let pat: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::with_capacity(pat.len());
        let mut i = 0;
        while let Some(&c) = pat.get(i) {
            i += 1;
            match c {
                '*' => {
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => tokens.push(Token::Any),
                '[' => match set_end(&pat, i) {
                    Some(end) => {
                        tokens.push(compile_set(pat.get(i..end).unwrap_or_default()));
                        i = end + 1;
                    }
                    None => tokens.push(Token::Char('[')),
                },
                c => tokens.push(Token::Char(c)),
            }
        }
        // Split off the literal ends: every token but a star takes exactly
        // one character, so a match splits uniquely into prefix, middle and
        // suffix, and the ends can be compared as strings.
        let literal_run = |tokens: &[Token]| -> String {
            tokens
                .iter()
                .map_while(|t| match t {
                    Token::Char(c) => Some(*c),
                    _ => None,
                })
                .collect()
        };
        let prefix = literal_run(&tokens);
        let mut middle = tokens.split_off(prefix.chars().count());
        middle.reverse();
        let suffix: String = literal_run(&middle).chars().rev().collect();
        let mut middle = middle.split_off(suffix.chars().count());
        middle.reverse();
        Pattern {
            prefix,
            suffix,
            middle,
        }
    }

    /// True when the whole of `name` matches (`fnmatch.fnmatchcase`).
    pub fn matches(&self, name: &str) -> bool {
        if self.middle.is_empty() {
            return name == self.prefix;
        }
        let Some(name) = name
            .strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_suffix(self.suffix.as_str()))
        else {
            return false;
        };
        if let [Token::Star] = self.middle.as_slice() {
            return true;
        }
        let next_char = |at: usize| name.get(at..).and_then(|rest| rest.chars().next());
        let (mut p, mut n) = (0usize, 0usize);
        // Where the last star was: the token after it, and the name offset
        // it has absorbed up to. Every other token takes exactly one
        // character, so moving only the last star is enough.
        let mut star: Option<(usize, usize)> = None;
        loop {
            let token = self.middle.get(p);
            if token == Some(&Token::Star) {
                p += 1;
                star = Some((p, n));
                continue;
            }
            match (token, next_char(n)) {
                (None, None) => return true,
                (Some(t), Some(c)) if t.accepts(c) => {
                    p += 1;
                    n += c.len_utf8();
                    continue;
                }
                _ => {}
            }
            let Some((after_star, absorbed)) = star else {
                return false;
            };
            let Some(c) = next_char(absorbed) else {
                return false;
            };
            let absorbed = absorbed + c.len_utf8();
            star = Some((after_star, absorbed));
            p = after_star;
            n = absorbed;
        }
    }
}

/// Where the set opened just before `pat[start]` closes, as `translate`
/// finds it: a `]` right after `[` or `[!` is a member, not the end.
fn set_end(pat: &[char], start: usize) -> Option<usize> {
    let mut j = start;
    if pat.get(j) == Some(&'!') {
        j += 1;
    }
    if pat.get(j) == Some(&']') {
        j += 1;
    }
    while pat.get(j).is_some_and(|&c| c != ']') {
        j += 1;
    }
    (j < pat.len()).then_some(j)
}

/// Compiles the inside of a set (`stuff` in `translate`) with Python's
/// chunking: split at range hyphens, drop empty ranges, and only *then* look
/// for the leading `!`.
fn compile_set(stuff: &[char]) -> Token {
    let mut chunks: Vec<Vec<char>> = Vec::new();
    if stuff.contains(&'-') {
        let mut start = 0;
        let mut k = if stuff.first() == Some(&'!') { 2 } else { 1 };
        while let Some(offset) = stuff
            .get(k..)
            .and_then(|rest| rest.iter().position(|&c| c == '-'))
        {
            let hyphen = k + offset;
            chunks.push(stuff.get(start..hyphen).unwrap_or_default().to_vec());
            start = hyphen + 1;
            k = hyphen + 3;
        }
        let last = stuff.get(start..).unwrap_or_default();
        match chunks.last_mut() {
            Some(previous) if last.is_empty() => previous.push('-'),
            _ => chunks.push(last.to_vec()),
        }
        // Remove empty ranges, from the right, as `translate` does.
        let mut k = chunks.len();
        while k > 1 {
            k -= 1;
            let lo = chunks.get(k - 1).and_then(|c| c.last().copied());
            let hi = chunks.get(k).and_then(|c| c.first().copied());
            if let (Some(lo), Some(hi)) = (lo, hi) {
                if lo > hi && k < chunks.len() {
                    let upper = chunks.remove(k);
                    if let Some(lower) = chunks.get_mut(k - 1) {
                        lower.pop();
                        lower.extend(upper.iter().skip(1));
                    }
                }
            }
        }
    } else {
        chunks.push(stuff.to_vec());
    }
    let mut negate = false;
    if let Some(first) = chunks.first_mut() {
        if first.first() == Some(&'!') {
            negate = true;
            first.remove(0);
        }
    }
    // Chunks are joined by range hyphens: the last character of one chunk
    // and the first of the next form a range; every other character is a
    // member by itself.
    let mut ranges = Vec::new();
    let count = chunks.len();
    for (index, chunk) in chunks.iter().enumerate() {
        let has_next = index + 1 < count;
        let len = chunk.len();
        for (at, &c) in chunk.iter().enumerate() {
            let is_hi = index > 0 && at == 0;
            let is_lo = has_next && at + 1 == len;
            if is_hi {
                continue;
            }
            if is_lo {
                if let Some(&hi) = chunks.get(index + 1).and_then(|next| next.first()) {
                    ranges.push((c, hi));
                    continue;
                }
            }
            ranges.push((c, c));
        }
        if len == 0 && has_next {
            // Unreachable with Python's chunking; a literal hyphen is what
            // the regex would make of it.
            ranges.push(('-', '-'));
            if let Some(&next) = chunks.get(index + 1).and_then(|next| next.first()) {
                ranges.push((next, next));
            }
        }
    }
    Token::Set { negate, ranges }
}

/// Python `fnmatch.fnmatchcase(name, pattern)` (what `fnmatch.filter` does on
/// POSIX). Compile a [`Pattern`] instead when matching many names.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    Pattern::new(pattern).matches(name)
}

/// What one rule consumed, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RuleTrace {
    /// The rule in the reference's string form.
    pub rule: String,
    /// Artifacts it removed from the queue, in path order.
    pub consumed: Vec<String>,
}

/// How a rule failed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// DISALLOW matched a queued artifact.
    Disallowed,
    /// REQUIRE did not find its path in the queue (never there, or consumed
    /// by an earlier rule).
    Required,
    /// MATCH with a source prefix rebuilt a queued path into one the item
    /// does not have (the reference raises `KeyError` here).
    UnresolvedMatch {
        /// The rebuilt path.
        resolved: String,
    },
}

/// A rule that failed, with the artifact it failed on. The caller adds the
/// step or inspection name (`verify::Failure::Rule`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleFailure {
    /// The rule.
    pub rule: Box<Rule>,
    /// Whether the rule applied to materials or products.
    pub source_type: SourceType,
    /// The artifact: for DISALLOW the first match in path order, for REQUIRE
    /// the missing path, for MATCH the queued path that could not be rebuilt.
    pub artifact: String,
    /// How it failed.
    pub kind: FailureKind,
}

impl fmt::Display for RuleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (rule, source, artifact) = (&self.rule, self.source_type, &self.artifact);
        match &self.kind {
            FailureKind::Disallowed => {
                write!(f, "rule \"{rule}\" matched {source} artifact {artifact:?}")
            }
            FailureKind::Required => write!(
                f,
                "rule \"{rule}\" found no {source} artifact {artifact:?} (missing, or consumed by an earlier rule)"
            ),
            FailureKind::UnresolvedMatch { resolved } => write!(
                f,
                "rule \"{rule}\" turns {source} artifact {artifact:?} into {resolved:?}, which is not among the {source} (in-toto 3.1 fails here too)"
            ),
        }
    }
}

impl std::error::Error for RuleFailure {}

/// Looks up another step's (or inspection's) link by name and returns its
/// `(materials, products)`; `None` when there is no such link.
pub type StepLookup<'l, 'a> = &'l dyn Fn(&str) -> Option<(&'a ArtifactMap, &'a ArtifactMap)>;

/// Applies `rules` to the `source` artifacts of an item (step or inspection)
/// whose link recorded `materials` and `products`; `steps` resolves the FROM
/// step of MATCH rules. Returns, per rule, what it consumed; or the first
/// rule that failed.
///
/// Each rule is one pass over the queue (a sorted vector) with at most one
/// map lookup per queued artifact; patterns are compiled once per rule.
pub fn verify_item_rules<'a>(
    rules: &[Rule],
    source: SourceType,
    materials: &'a ArtifactMap,
    products: &'a ArtifactMap,
    steps: StepLookup<'_, 'a>,
) -> Result<Vec<RuleTrace>, RuleFailure> {
    let artifacts = source.pick(materials, products);
    // The other side of the item: CREATE, DELETE and MODIFY compare with it.
    let other = match source {
        SourceType::Materials => products,
        SourceType::Products => materials,
    };
    // Sorted by path, as the map is; consumed entries are removed.
    let mut queue: Queue<'a> = artifacts.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut traces = Vec::with_capacity(rules.len());
    for rule in rules {
        let fail = |artifact: &str, kind: FailureKind| RuleFailure {
            rule: Box::new(rule.clone()),
            source_type: source,
            artifact: artifact.to_owned(),
            kind,
        };
        let consumed: Vec<&'a str> = match rule {
            // Products that are not materials: on materials, nothing.
            Rule::Create(p) => match source {
                SourceType::Materials => Vec::new(),
                SourceType::Products => {
                    let pattern = Pattern::new(p);
                    take(&mut queue, |a, _| {
                        pattern.matches(a) && !other.contains_key(a)
                    })
                }
            },
            // Materials that are not products: on products, nothing.
            Rule::Delete(p) => match source {
                SourceType::Products => Vec::new(),
                SourceType::Materials => {
                    let pattern = Pattern::new(p);
                    take(&mut queue, |a, _| {
                        pattern.matches(a) && !other.contains_key(a)
                    })
                }
            },
            Rule::Modify(p) => {
                let pattern = Pattern::new(p);
                take(&mut queue, |a, mine| {
                    pattern.matches(a) && other.get(a).is_some_and(|theirs| theirs != mine)
                })
            }
            Rule::Allow(p) => {
                let pattern = Pattern::new(p);
                take(&mut queue, |a, _| pattern.matches(a))
            }
            Rule::Disallow(p) => {
                let pattern = Pattern::new(p);
                if let Some((hit, _)) = queue.iter().find(|(a, _)| pattern.matches(a)) {
                    return Err(fail(hit, FailureKind::Disallowed));
                }
                Vec::new()
            }
            Rule::Require(path) => {
                if position(&queue, path).is_none() {
                    return Err(fail(path, FailureKind::Required));
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
                    let dest = dest_type.pick(dest_materials, dest_products);
                    let hits = match_rule(
                        &Pattern::new(pattern),
                        source_prefix,
                        dest_prefix,
                        &queue,
                        artifacts,
                        dest,
                    )
                    .map_err(|(artifact, resolved)| {
                        fail(&artifact, FailureKind::UnresolvedMatch { resolved })
                    })?;
                    let mut hits = hits.into_iter();
                    take(&mut queue, |_, _| hits.next().unwrap_or(false))
                }
            },
        };
        traces.push(RuleTrace {
            rule: rule.to_string(),
            consumed: consumed.into_iter().map(str::to_owned).collect(),
        });
    }
    Ok(traces)
}

/// Queued artifacts: path and digests, sorted by path, no duplicates.
type Queue<'a> = Vec<(&'a str, &'a DigestSet)>;

/// Where `path` is in the queue.
fn position(queue: &Queue<'_>, path: &str) -> Option<usize> {
    queue.binary_search_by(|(a, _)| (*a).cmp(path)).ok()
}

/// Removes from the queue what `consume` selects (called once per entry,
/// in order), and returns it in order.
fn take<'a>(
    queue: &mut Queue<'a>,
    mut consume: impl FnMut(&str, &DigestSet) -> bool,
) -> Vec<&'a str> {
    let mut taken = Vec::new();
    queue.retain(|&(a, digests)| {
        if consume(a, digests) {
            taken.push(a);
            false
        } else {
            true
        }
    });
    taken
}

/// `os.path.join(prefix, path).replace("\\", "/")` on POSIX, into `out`.
fn join_like_python(out: &mut String, prefix: &str, path: &str) {
    out.clear();
    if !path.starts_with('/') {
        out.push_str(prefix);
        if !prefix.is_empty() && !prefix.ends_with('/') {
            out.push('/');
        }
    }
    out.push_str(path);
    if out.contains('\\') {
        *out = out.replace('\\', "/");
    }
}

/// `verifylib.verify_match_rule`: per queue entry, whether MATCH consumes
/// it; or `(queued path, rebuilt path)` where the reference raises
/// `KeyError`.
fn match_rule(
    pattern: &Pattern,
    source_prefix: &str,
    dest_prefix: &str,
    queue: &Queue<'_>,
    artifacts: &ArtifactMap,
    dest: &ArtifactMap,
) -> Result<Vec<bool>, (String, String)> {
    let mut consumed = vec![false; queue.len()];
    // Queued paths under the source prefix, with the prefix stripped; the
    // prefix gets a trailing `/` and its backslashes turned into `/`.
    let mut normalized = String::new();
    if !source_prefix.is_empty() {
        join_like_python(&mut normalized, source_prefix, "");
    }
    let start = queue.partition_point(|(a, _)| *a < normalized.as_str());
    let candidates =
        queue
            .iter()
            .enumerate()
            .skip(start)
            .map_while(|(index, (queued, digests))| {
                queued
                    .strip_prefix(normalized.as_str())
                    .map(|rest| (index, *queued, rest, *digests))
            });
    let (mut rebuilt, mut dest_path) = (String::new(), String::new());
    for (index, queued, relative, digests) in candidates {
        if !pattern.matches(relative) {
            continue;
        }
        // The reference rebuilds the source path from the prefix and the
        // rest; that only differs from the queued path when the rest holds a
        // backslash or starts with `/`. Then it compares (and consumes) the
        // rebuilt path's artifact, which may be another queued one, or none.
        let (source_index, source_digests) = if !source_prefix.is_empty()
            && (relative.contains('\\') || relative.starts_with('/'))
        {
            join_like_python(&mut rebuilt, source_prefix, relative);
            let Some(digests) = artifacts.get(rebuilt.as_str()) else {
                return Err((queued.to_owned(), rebuilt));
            };
            (position(queue, &rebuilt), digests)
        } else {
            (Some(index), digests)
        };
        let dest_key = if dest_prefix.is_empty() {
            relative
        } else {
            join_like_python(&mut dest_path, dest_prefix, relative);
            dest_path.as_str()
        };
        if dest.get(dest_key) == Some(source_digests) {
            if let Some(slot) = source_index.and_then(|i| consumed.get_mut(i)) {
                *slot = true;
            }
        }
    }
    Ok(consumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::PathBuf;

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

    type Steps = BTreeMap<&'static str, (ArtifactMap, ArtifactMap)>;

    /// Applies `rule_texts` to `source` of `steps[item]`.
    fn run(
        steps: &Steps,
        item: &str,
        source: SourceType,
        rule_texts: &[&str],
    ) -> Result<Vec<RuleTrace>, RuleFailure> {
        let (materials, products) = &steps[item];
        let lookup = |name: &str| steps.get(name).map(|(m, p)| (m, p));
        verify_item_rules(&rules(rule_texts), source, materials, products, &lookup)
    }

    fn item(materials: ArtifactMap, products: ArtifactMap) -> Steps {
        [("item", (materials, products))].into_iter().collect()
    }

    fn consumed(traces: &[RuleTrace]) -> Vec<Vec<&str>> {
        traces
            .iter()
            .map(|t| t.consumed.iter().map(String::as_str).collect())
            .collect()
    }

    // ---- patterns ------------------------------------------------------

    #[test]
    fn fnmatch_star_crosses_slashes() {
        assert!(fnmatch("a/b/c.py", "*.py"));
        assert!(fnmatch("a/b/c.py", "a/*"));
        assert!(fnmatch("a/b/c.py", "*"));
        assert!(fnmatch("", "*"));
        assert!(fnmatch("", "**"));
        assert!(!fnmatch("a/b/c.py", "b/*"));
        assert!(fnmatch("x.tar.gz", "*.*.gz"));
        assert!(fnmatch("aXbXc", "a*b*c"));
        assert!(!fnmatch("aXbXd", "a*b*c"));
        assert!(fnmatch("demo-project/foo.py", "demo-project/*"));
        assert!(!fnmatch("demo-project", "demo-project/*"));
    }

    #[test]
    fn fnmatch_question_mark_is_one_character() {
        assert!(fnmatch("abc", "a?c"));
        assert!(!fnmatch("ac", "a?c"));
        assert!(!fnmatch("abbc", "a?c"));
        assert!(fnmatch("a/c", "a?c"));
        assert!(fnmatch("ü/é", "*/?"));
        assert!(fnmatch("a\nb", "a?b"));
    }

    #[test]
    fn fnmatch_sets() {
        assert!(fnmatch("a1", "a[0-9]"));
        assert!(!fnmatch("ab", "a[0-9]"));
        assert!(fnmatch("ab", "a[!0-9]"));
        assert!(!fnmatch("a1", "a[!0-9]"));
        assert!(fnmatch("b", "[!a]"));
        assert!(!fnmatch("a", "[!a]"));
        assert!(fnmatch("/", "[!a]"));
        assert!(fnmatch("a]", "a[]]"));
        assert!(fnmatch("x", "[!]]"));
        assert!(!fnmatch("]", "[!]]"));
        assert!(fnmatch("-", "[a-]"));
        assert!(fnmatch("-", "[-a]"));
        assert!(fnmatch("^", "[^a]"));
        assert!(fnmatch("\\", "[\\]"));
        assert!(fnmatch("[", "[[]"));
        assert!(fnmatch("é", "[à-ü]"));
    }

    #[test]
    fn fnmatch_unclosed_bracket_is_literal() {
        assert!(fnmatch("a[", "a["));
        assert!(fnmatch("a[b", "a[b"));
        assert!(!fnmatch("ab", "a["));
        assert!(!fnmatch("ab", "a[b"));
        assert!(fnmatch("[!]", "[!]"));
        assert!(fnmatch("[]", "[]"));
        assert!(fnmatch("x[yz", "x[*"));
        assert!(fnmatch("[", "["));
    }

    #[test]
    fn fnmatch_case_sensitive_and_no_escape() {
        assert!(!fnmatch("A", "a"));
        assert!(!fnmatch("Foo.PY", "*.py"));
        assert!(fnmatch("a\\b", "a\\b"));
        assert!(!fnmatch("a*b", "a\\*b"));
        assert!(fnmatch("a\\xb", "a\\*b"));
    }

    #[test]
    fn fnmatch_empty_ranges_like_python_3_10() {
        // Python drops the empty range, then looks for `!`.
        assert!(!fnmatch("a", "[z-a]"));
        assert!(!fnmatch("z", "[z-a]"));
        assert!(fnmatch("q", "[!z-a]"));
        assert!(fnmatch("q", "[z-a!]"));
        assert!(fnmatch("!", "[z-a!]"));
        assert!(!fnmatch("b", "[z-a!b]"));
        assert!(fnmatch("!", "[z-a!b]"));
        assert!(fnmatch("c", "[z-a!b]"));
        // What survives keeps its meaning.
        assert!(fnmatch("-", "[c-a-z]"));
        assert!(fnmatch("z", "[c-a-z]"));
        assert!(!fnmatch("b", "[c-a-z]"));
        assert!(!fnmatch("a", "[a--]"));
        assert!(fnmatch("x", "[!a--]"));
    }

    #[test]
    fn patterns_never_panic_on_odd_input() {
        for pattern in [
            "[", "[!", "[]", "[!]", "[-]", "[!-]", "[--]", "[a-", "[z-a-", "*[", "?[!",
        ] {
            for name in ["", "[", "-", "a", "!", "]", "é"] {
                let _ = fnmatch(name, pattern);
            }
        }
    }

    // ---- parsing -------------------------------------------------------

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
            Rule::Match {
                pattern: "Foo.PY".into(),
                source_prefix: "Src".into(),
                dest_type: SourceType::Products,
                dest_prefix: "Dist".into(),
                dest_name: "Build".into(),
            }
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

    // ---- engine --------------------------------------------------------

    #[test]
    fn create_consumes_new_products_only() {
        let steps = item(
            map(&[("kept", 'a'), ("changed", 'c')]),
            map(&[("kept", 'a'), ("new", 'd'), ("changed", 'e')]),
        );
        let t = run(
            &steps,
            "item",
            SourceType::Products,
            &["CREATE *", "ALLOW *"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [vec!["new"], vec!["changed", "kept"]]);
        // On materials, CREATE never consumes anything.
        let t = run(&steps, "item", SourceType::Materials, &["CREATE *"]).unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new()]);
    }

    #[test]
    fn delete_consumes_vanished_materials_only() {
        let steps = item(
            map(&[("kept", 'a'), ("gone", 'b')]),
            map(&[("kept", 'a'), ("new", 'c')]),
        );
        let t = run(&steps, "item", SourceType::Materials, &["DELETE *"]).unwrap();
        assert_eq!(consumed(&t), [vec!["gone"]]);
        let t = run(&steps, "item", SourceType::Products, &["DELETE *"]).unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new()]);
    }

    #[test]
    fn modify_needs_both_sides_with_different_digests() {
        let steps = item(
            map(&[("same", 'a'), ("changed", 'b'), ("gone", 'c')]),
            map(&[("same", 'a'), ("changed", 'e'), ("new", 'f')]),
        );
        for source in [SourceType::Materials, SourceType::Products] {
            let t = run(&steps, "item", source, &["MODIFY *"]).unwrap();
            assert_eq!(consumed(&t), [vec!["changed"]]);
        }
        // A digest set that only adds an algorithm counts as modified
        // (the reference compares whole hash dicts).
        let mut both = BTreeMap::new();
        both.insert("sha256".to_owned(), "a".repeat(64));
        both.insert("sha512".to_owned(), "a".repeat(128));
        let mut steps = item(map(&[("x", 'a')]), ArtifactMap::new());
        steps
            .get_mut("item")
            .unwrap()
            .1
            .insert("x".into(), DigestSet::new(both).unwrap());
        let t = run(&steps, "item", SourceType::Products, &["MODIFY x"]).unwrap();
        assert_eq!(consumed(&t), [vec!["x"]]);
    }

    #[test]
    fn allow_then_disallow_passes_and_disallow_names_the_artifact() {
        let steps = item(
            ArtifactMap::new(),
            map(&[("a.py", 'a'), ("b.txt", 'b'), ("c.py", 'c')]),
        );
        let t = run(
            &steps,
            "item",
            SourceType::Products,
            &["ALLOW *.py", "ALLOW b.txt", "DISALLOW *"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [vec!["a.py", "c.py"], vec!["b.txt"], vec![]]);
        let e = run(
            &steps,
            "item",
            SourceType::Products,
            &["ALLOW *.txt", "DISALLOW *"],
        )
        .unwrap_err();
        assert_eq!(e.kind, FailureKind::Disallowed);
        assert_eq!(e.artifact, "a.py");
        assert_eq!(e.source_type, SourceType::Products);
        assert_eq!(*e.rule, Rule::Disallow("*".into()));
        assert_eq!(
            e.to_string(),
            "rule \"DISALLOW *\" matched products artifact \"a.py\""
        );
        // DISALLOW before ALLOW fails; a DISALLOW that matches nothing passes.
        assert!(run(
            &steps,
            "item",
            SourceType::Products,
            &["DISALLOW *.py", "ALLOW *"]
        )
        .is_err());
        assert!(run(&steps, "item", SourceType::Products, &["DISALLOW *.rs"]).is_ok());
        // What is left at the end is allowed.
        assert!(run(&steps, "item", SourceType::Products, &[]).is_ok());
    }

    #[test]
    fn require_is_literal_checks_the_queue_and_consumes_nothing() {
        let steps = item(ArtifactMap::new(), map(&[("a", 'a'), ("*", 'b')]));
        let t = run(
            &steps,
            "item",
            SourceType::Products,
            &["REQUIRE a", "DISALLOW b"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new(), vec![]]);
        // Still queued after REQUIRE: a later rule can consume it.
        let t = run(
            &steps,
            "item",
            SourceType::Products,
            &["REQUIRE a", "ALLOW a"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [vec![], vec!["a"]]);
        // Consumed before: fails.
        let e = run(
            &steps,
            "item",
            SourceType::Products,
            &["ALLOW a", "REQUIRE a"],
        )
        .unwrap_err();
        assert_eq!((e.kind, e.artifact.as_str()), (FailureKind::Required, "a"));
        // Never there: fails; looks at the source type only.
        assert!(run(&steps, "item", SourceType::Materials, &["REQUIRE a"]).is_err());
        // Not a pattern: `?` is a literal name here.
        assert!(run(&steps, "item", SourceType::Products, &["REQUIRE ?"]).is_err());
        assert!(run(&steps, "item", SourceType::Products, &["REQUIRE *"]).is_ok());
    }

    fn match_steps() -> Steps {
        [
            (
                "item",
                (
                    map(&[
                        ("src/a.py", 'a'),
                        ("src/b.py", 'b'),
                        ("src/c.py", 'c'),
                        ("other", 'f'),
                    ]),
                    ArtifactMap::new(),
                ),
            ),
            (
                "build",
                (
                    map(&[("src/a.py", 'a')]),
                    map(&[
                        ("dist/a.py", 'a'),
                        ("dist/b.py", 'f'),
                        ("a.py", 'a'),
                        ("src/c.py", 'c'),
                    ]),
                ),
            ),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn match_with_prefixes_compares_digests() {
        let steps = match_steps();
        let m = SourceType::Materials;
        let t = run(
            &steps,
            "item",
            m,
            &["MATCH *.py IN src WITH PRODUCTS IN dist FROM build"],
        )
        .unwrap();
        // b.py differs in digest, c.py has no dist/ counterpart.
        assert_eq!(consumed(&t), [vec!["src/a.py"]]);
        let e = run(
            &steps,
            "item",
            m,
            &[
                "MATCH *.py IN src WITH PRODUCTS IN dist FROM build",
                "ALLOW other",
                "DISALLOW *",
            ],
        )
        .unwrap_err();
        assert_eq!(e.artifact, "src/b.py");
        // Source prefix only: the rest is looked up as is.
        let t = run(
            &steps,
            "item",
            m,
            &["MATCH * IN src WITH PRODUCTS FROM build"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [vec!["src/a.py"]]);
        // A trailing slash on the prefix is the same prefix.
        let t = run(
            &steps,
            "item",
            m,
            &["MATCH * IN src/ WITH PRODUCTS FROM build"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [vec!["src/a.py"]]);
        // No prefix: whole paths.
        let t = run(&steps, "item", m, &["MATCH * WITH PRODUCTS FROM build"]).unwrap();
        assert_eq!(consumed(&t), [vec!["src/c.py"]]);
        // Destination prefix only: src/a.py is looked up as dist/src/a.py.
        let t = run(
            &steps,
            "item",
            m,
            &["MATCH * WITH PRODUCTS IN dist FROM build"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new()]);
        // The prefix is literal, never globbed; the pattern is not
        // applied to the prefix.
        let t = run(
            &steps,
            "item",
            m,
            &["MATCH * IN s* WITH PRODUCTS FROM build"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new()]);
        let t = run(
            &steps,
            "item",
            m,
            &["MATCH src/* IN src WITH PRODUCTS IN dist FROM build"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new()]);
    }

    #[test]
    fn match_looks_at_the_named_side_only() {
        let steps = match_steps();
        let t = run(
            &steps,
            "item",
            SourceType::Materials,
            &["MATCH *.py WITH MATERIALS FROM build"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [vec!["src/a.py"]]);
        let t = run(
            &steps,
            "item",
            SourceType::Materials,
            &["MATCH *.py IN src WITH MATERIALS IN dist FROM build"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new()]);
    }

    #[test]
    fn match_needs_equal_digest_sets() {
        let mut both = BTreeMap::new();
        both.insert("sha256".to_owned(), "a".repeat(64));
        both.insert("sha512".to_owned(), "a".repeat(128));
        let steps: Steps = [
            ("item", (map(&[("x", 'a'), ("y", 'a')]), ArtifactMap::new())),
            (
                "other",
                (
                    ArtifactMap::new(),
                    [
                        ("x".to_owned(), DigestSet::new(both).unwrap()),
                        ("y".to_owned(), d('a')),
                    ]
                    .into_iter()
                    .collect(),
                ),
            ),
        ]
        .into_iter()
        .collect();
        let t = run(
            &steps,
            "item",
            SourceType::Materials,
            &["MATCH * WITH PRODUCTS FROM other"],
        )
        .unwrap();
        // x agrees on sha256 but the sets differ: not consumed.
        assert_eq!(consumed(&t), [vec!["y"]]);
    }

    #[test]
    fn match_from_a_step_without_link_consumes_nothing() {
        let steps = match_steps();
        let t = run(
            &steps,
            "item",
            SourceType::Materials,
            &["MATCH * WITH PRODUCTS FROM nowhere", "ALLOW *"],
        )
        .unwrap();
        assert_eq!(consumed(&t)[0], Vec::<&str>::new());
        let e = run(
            &steps,
            "item",
            SourceType::Materials,
            &["MATCH * WITH PRODUCTS FROM nowhere", "DISALLOW *"],
        )
        .unwrap_err();
        assert_eq!(e.kind, FailureKind::Disallowed);
    }

    #[test]
    fn match_only_consumes_queued_artifacts() {
        let steps = match_steps();
        let t = run(
            &steps,
            "item",
            SourceType::Materials,
            &["ALLOW src/a.py", "MATCH * IN src WITH PRODUCTS FROM build"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [vec!["src/a.py"], vec![]]);
    }

    #[test]
    fn match_source_prefix_backslash_quirks() {
        // The prefix's backslashes count as slashes.
        let steps: Steps = [
            ("item", (map(&[("a/b/x", 'a')]), ArtifactMap::new())),
            (
                "other",
                (ArtifactMap::new(), map(&[("x", 'a'), ("/y", 'a')])),
            ),
        ]
        .into_iter()
        .collect();
        let t = run(
            &steps,
            "item",
            SourceType::Materials,
            &["MATCH * IN a\\b WITH PRODUCTS FROM other"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [vec!["a/b/x"]]);
        // A rest with a backslash is rebuilt with a slash: the reference
        // raises KeyError when the item has no such artifact.
        let steps: Steps = [
            ("item", (map(&[("src/a\\b", 'a')]), ArtifactMap::new())),
            ("other", (ArtifactMap::new(), map(&[("a\\b", 'a')]))),
        ]
        .into_iter()
        .collect();
        let e = run(
            &steps,
            "item",
            SourceType::Materials,
            &["MATCH * IN src WITH PRODUCTS FROM other"],
        )
        .unwrap_err();
        assert_eq!(e.artifact, "src/a\\b");
        assert_eq!(
            e.kind,
            FailureKind::UnresolvedMatch {
                resolved: "src/a/b".into()
            }
        );
        // Without a source prefix, the path is used as is.
        let t = run(
            &steps,
            "item",
            SourceType::Materials,
            &[
                "MATCH src/* WITH PRODUCTS FROM nowhere",
                "MATCH * WITH PRODUCTS IN src FROM other",
            ],
        )
        .unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new(), vec![]]);
        // ... and when the rebuilt path exists, it is what gets compared
        // and consumed.
        let steps: Steps = [
            (
                "item",
                (map(&[("src//y", 'b'), ("/y", 'a')]), ArtifactMap::new()),
            ),
            ("other", (ArtifactMap::new(), map(&[("/y", 'a')]))),
        ]
        .into_iter()
        .collect();
        let t = run(
            &steps,
            "item",
            SourceType::Materials,
            &["MATCH * IN src WITH PRODUCTS FROM other"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [vec!["/y"]]);
    }

    #[test]
    fn twenty_thousand_artifacts_take_milliseconds() {
        let n = 20_000;
        let digest = d('a');
        let materials: ArtifactMap = (0..n)
            .map(|i| (format!("src/module{}/file{i}.py", i % 97), digest.clone()))
            .collect();
        let products: ArtifactMap = materials
            .keys()
            .map(|k| {
                (
                    format!("dist/{}", k.trim_start_matches("src/")),
                    digest.clone(),
                )
            })
            .chain([("dist/app.whl".to_owned(), digest.clone())])
            .collect();
        let steps: Steps = [
            ("item", (materials.clone(), products)),
            ("build", (ArtifactMap::new(), materials)),
        ]
        .into_iter()
        .collect();
        let t = run(
            &steps,
            "item",
            SourceType::Products,
            &[
                "MATCH * IN dist WITH PRODUCTS IN src FROM build",
                "CREATE *.whl",
                "MODIFY *",
                "ALLOW dist/module1/*",
                "REQUIRE dist/app.whl",
                "DISALLOW *",
            ],
        )
        .unwrap_err();
        // CREATE consumed dist/app.whl (no such material), so REQUIRE fails.
        assert_eq!(t.kind, FailureKind::Required);
        let t = run(
            &steps,
            "item",
            SourceType::Products,
            &[
                "MATCH * IN dist WITH PRODUCTS IN src FROM build",
                "ALLOW *.whl",
                "DISALLOW *",
            ],
        )
        .unwrap();
        assert_eq!(t[0].consumed.len(), n);
        // Speed is measured by scripts/bench-verify, not asserted here.
    }

    // ---- the demo supply chain ----------------------------------------

    /// The demo layout's items and each step's link `(materials, products)`.
    fn demo(
        vector: &str,
    ) -> (
        Vec<serde_json::Value>,
        BTreeMap<String, (ArtifactMap, ArtifactMap)>,
    ) {
        let dir = testkit::vector(vector);
        let read = |path: PathBuf| -> serde_json::Value {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            serde_json::from_slice(&bytes).unwrap()
        };
        let layout = read(dir.join("root.layout"));
        let items = layout["signed"]["steps"].as_array().unwrap().clone();
        let mut links = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "link") {
                let signed = read(path)["signed"].clone();
                let name = signed["name"].as_str().unwrap().to_owned();
                let artifacts = |field: &str| -> ArtifactMap {
                    serde_json::from_value(signed[field].clone()).unwrap()
                };
                links.insert(name, (artifacts("materials"), artifacts("products")));
            }
        }
        assert_eq!(links.len(), 3, "{vector}: clone, update-version, package");
        (items, links)
    }

    fn demo_verdicts(
        vector: &str,
    ) -> Vec<(String, SourceType, Result<Vec<RuleTrace>, RuleFailure>)> {
        let (items, links) = demo(vector);
        let lookup = |name: &str| links.get(name).map(|(m, p)| (m, p));
        let mut out = Vec::new();
        for step in &items {
            let name = step["name"].as_str().unwrap().to_owned();
            let (materials, products) = &links[&name];
            for (source, field) in [
                (SourceType::Materials, "expected_materials"),
                (SourceType::Products, "expected_products"),
            ] {
                let rules: Vec<Rule> = serde_json::from_value(step[field].clone()).unwrap();
                out.push((
                    name.clone(),
                    source,
                    verify_item_rules(&rules, source, materials, products, &lookup),
                ));
            }
        }
        out
    }

    #[test]
    fn demo_chain_passes_every_step_rule() {
        let verdicts = demo_verdicts("demo_metablock_good");
        assert_eq!(verdicts.len(), 6);
        for (name, source, verdict) in &verdicts {
            assert!(verdict.is_ok(), "{name} {source}: {verdict:?}");
        }
        let traces: BTreeMap<(String, SourceType), Vec<RuleTrace>> = verdicts
            .into_iter()
            .map(|(n, s, v)| ((n, s), v.unwrap()))
            .collect();
        let package = &traces[&("package".to_owned(), SourceType::Materials)];
        assert_eq!(
            package[0].rule,
            "MATCH demo-project/* WITH PRODUCTS FROM update-version"
        );
        assert_eq!(package[0].consumed, ["demo-project/foo.py"]);
        assert_eq!(
            traces[&("clone".to_owned(), SourceType::Products)][0].consumed,
            ["demo-project/foo.py"]
        );
        assert_eq!(
            traces[&("update-version".to_owned(), SourceType::Products)][0].consumed,
            ["demo-project/foo.py"]
        );
    }

    #[test]
    fn tampered_demo_fails_package_materials_on_foo_py() {
        let verdicts = demo_verdicts("demo_metablock_tampered");
        let failures: Vec<_> = verdicts.iter().filter(|(_, _, v)| v.is_err()).collect();
        assert_eq!(failures.len(), 1, "{verdicts:?}");
        let (name, source, verdict) = failures[0];
        let failure = verdict.as_ref().unwrap_err();
        assert_eq!((name.as_str(), *source), ("package", SourceType::Materials));
        assert_eq!(failure.rule.to_string(), "DISALLOW *");
        assert_eq!(failure.artifact, "demo-project/foo.py");
        assert_eq!(failure.kind, FailureKind::Disallowed);
        assert_eq!(
            format!("step {name:?}: {failure}"),
            "step \"package\": rule \"DISALLOW *\" matched materials artifact \"demo-project/foo.py\""
        );
    }

    // ---- against the reference ----------------------------------------

    const REFERENCE: &str = r#"
import fnmatch, json, sys
from in_toto import verifylib
from in_toto.exceptions import RuleVerificationError
from in_toto.models.link import Link

out = []
for case in json.load(sys.stdin):
    if "pattern" in case:
        out.append(fnmatch.filter(case["names"], case["pattern"]))
        continue
    links = {
        name: Link(name=name, materials=s["materials"], products=s["products"])
        for name, s in case["steps"].items()
    }
    try:
        verifylib.verify_item_rules("item", case["source"], case["rules"], links)
        verdict = "ok"
    except RuleVerificationError:
        verdict = "fail"
    except KeyError:
        verdict = "keyerror"
    queues = [sorted(t["queue"]) for t in verifylib.RULE_TRACE["trace"]]
    out.append({"verdict": verdict, "queues": queues})
json.dump(out, sys.stdout)
"#;

    fn ask_reference(python: &PathBuf, cases: &serde_json::Value) -> Vec<serde_json::Value> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new(python)
            .args(["-c", REFERENCE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(cases.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "reference failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    use testkit::Rng;

    #[test]
    fn patterns_agree_with_python_fnmatch() {
        let Some(python) = testkit::python("patterns_agree_with_python_fnmatch") else {
            return;
        };
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let pattern_chars = [
            'a', 'b', 'c', 'z', 'A', '-', '-', '!', '!', '^', '[', '[', '[', ']', ']', ']', '*',
            '?', '/', '\\', '&', '~', '|', 'é',
        ];
        // Set contents heavy in ranges, hyphens, `!`, `]` and empty ranges.
        let set_chars = [
            'a', 'b', 'c', 'z', '-', '-', '-', '!', '!', '^', ']', '\\', 'é', '[',
        ];
        let name_chars = [
            'a', 'b', 'c', 'z', 'A', '-', '!', '^', '[', ']', '/', '\\', '&', 'é', 'x',
        ];
        let mut cases = Vec::new();
        for round in 0..6000 {
            let pattern = if round % 2 == 0 {
                rng.string(&pattern_chars, 9)
            } else {
                // Pieces: literals, wildcards and sets, some left unclosed.
                let mut pattern = String::new();
                for _ in 0..1 + rng.below(4) {
                    match rng.below(5) {
                        0 => pattern.push_str(rng.pick(&["*", "?", "a", "/", "b*"])),
                        1 | 2 => {
                            pattern.push('[');
                            if rng.below(3) == 0 {
                                pattern.push('!');
                            }
                            pattern.push_str(&rng.string(&set_chars, 6));
                            if rng.below(8) != 0 {
                                pattern.push(']');
                            }
                        }
                        _ => pattern.push_str(&rng.string(&pattern_chars, 3)),
                    }
                }
                pattern
            };
            let names: Vec<String> = (0..24).map(|_| rng.string(&name_chars, 5)).collect();
            cases.push(serde_json::json!({"pattern": pattern, "names": names}));
        }
        let theirs = ask_reference(&python, &serde_json::Value::Array(cases.clone()));
        let mut differ = 0;
        for (case, theirs) in cases.iter().zip(&theirs) {
            let pattern = Pattern::new(case["pattern"].as_str().unwrap());
            let ours: Vec<&str> = case["names"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap())
                .filter(|n| pattern.matches(n))
                .collect();
            let theirs: Vec<&str> = theirs
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap())
                .collect();
            if ours != theirs {
                differ += 1;
                eprintln!(
                    "pattern {:?}: toto {ours:?}, python {theirs:?}",
                    case["pattern"]
                );
            }
        }
        assert_eq!(differ, 0, "{differ} of {} patterns differ", cases.len());
        let matched: usize = theirs
            .iter()
            .map(|t| t.as_array().map_or(0, Vec::len))
            .sum();
        assert!(matched > 2000, "the cases exercise matches ({matched})");
    }

    #[test]
    fn engine_agrees_with_in_toto_verify_item_rules() {
        let Some(python) = testkit::python("engine_agrees_with_in_toto_verify_item_rules") else {
            return;
        };
        const PATHS: [&str; 18] = [
            "a",
            "b.py",
            "src/a",
            "src/b.py",
            "src/sub/c.py",
            "dist/a",
            "dist/b.py",
            "dist/src/a",
            "x[1]",
            "src/x[1]",
            ".hidden",
            "SRC/a",
            "src\\a",
            "src/a\\b",
            "src//a",
            "/a",
            "src/é",
            "a\\b",
        ];
        const PATTERNS: [&str; 18] = [
            "*", "*.py", "src/*", "src/*.py", "a", "?", "[ab]*", "[!s]*", "*/b.py", "x[1]",
            "dist/*", "src", "[z-a!]*", "*a", "[", "*\\*", "S*", "?/*",
        ];
        const PREFIXES: [&str; 10] = [
            "src", "src/", "dist", "nope", "src\\", "", "/", "src/sub", "SRC", "a\\b",
        ];
        let keyword = |rng: &mut Rng, word: &str| -> String {
            match rng.below(4) {
                0 => word.to_ascii_lowercase(),
                1 => word
                    .chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if i % 2 == 0 {
                            c.to_ascii_lowercase()
                        } else {
                            c
                        }
                    })
                    .collect(),
                _ => word.to_owned(),
            }
        };
        let digest_sets = || {
            let mut both = BTreeMap::new();
            both.insert("sha256".to_owned(), "aa".repeat(32));
            both.insert("sha512".to_owned(), "cc".repeat(64));
            [
                DigestSet::single("sha256", &"aa".repeat(32)).unwrap(),
                DigestSet::single("sha256", &"bb".repeat(32)).unwrap(),
                DigestSet::new(both).unwrap(),
            ]
        };
        let sets = digest_sets();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let artifacts = |rng: &mut Rng| -> ArtifactMap {
            let mut map = ArtifactMap::new();
            for path in PATHS {
                if rng.below(2) == 0 {
                    map.insert(path.to_owned(), sets[rng.below(3)].clone());
                }
            }
            map
        };
        let mut cases = Vec::new();
        let mut inputs = Vec::new();
        for _ in 0..1500 {
            let mut steps: BTreeMap<String, (ArtifactMap, ArtifactMap)> = BTreeMap::new();
            for name in ["item", "other"] {
                let materials = artifacts(&mut rng);
                let products = artifacts(&mut rng);
                steps.insert(name.to_owned(), (materials, products));
            }
            let mut rule_lists = Vec::new();
            for _ in 0..1 + rng.below(5) {
                let kind = rng.pick(&[
                    "CREATE", "DELETE", "MODIFY", "ALLOW", "DISALLOW", "REQUIRE", "MATCH", "MATCH",
                    "MATCH",
                ]);
                let mut rule = vec![keyword(&mut rng, kind)];
                if kind == "REQUIRE" {
                    rule.push(rng.pick(&PATHS).to_owned());
                } else {
                    rule.push(rng.pick(&PATTERNS).to_owned());
                }
                if kind == "MATCH" {
                    if rng.below(2) == 0 {
                        rule.extend([keyword(&mut rng, "IN"), rng.pick(&PREFIXES).to_owned()]);
                    }
                    let dest_type = rng.pick(&["MATERIALS", "PRODUCTS"]);
                    rule.extend([keyword(&mut rng, "WITH"), keyword(&mut rng, dest_type)]);
                    if rng.below(2) == 0 {
                        rule.extend([keyword(&mut rng, "IN"), rng.pick(&PREFIXES).to_owned()]);
                    }
                    rule.extend([
                        keyword(&mut rng, "FROM"),
                        rng.pick(&["other", "other", "missing", "item"]).to_owned(),
                    ]);
                }
                rule_lists.push(rule);
            }
            let source = if rng.below(2) == 0 {
                SourceType::Materials
            } else {
                SourceType::Products
            };
            let steps_json: serde_json::Map<String, serde_json::Value> = steps
                .iter()
                .map(|(n, (m, p))| {
                    (
                        n.clone(),
                        serde_json::json!({"materials": m, "products": p}),
                    )
                })
                .collect();
            cases.push(
                serde_json::json!({"source": source, "rules": rule_lists, "steps": steps_json}),
            );
            inputs.push((steps, rule_lists, source));
        }
        let theirs = ask_reference(&python, &serde_json::Value::Array(cases.clone()));
        assert_eq!(theirs.len(), inputs.len());
        let (mut differ, mut verdicts) = (0, BTreeMap::<String, usize>::new());
        for (i, ((steps, rule_lists, source), theirs)) in inputs.iter().zip(&theirs).enumerate() {
            let rules: Vec<Rule> = rule_lists
                .iter()
                .map(|r| Rule::from_list(r).unwrap())
                .collect();
            let (materials, products) = &steps["item"];
            let lookup = |name: &str| steps.get(name).map(|(m, p)| (m, p));
            let verdict = verify_item_rules(&rules, *source, materials, products, &lookup);
            // The queue after each rule that completed.
            let mut queue: BTreeSet<String> =
                source.pick(materials, products).keys().cloned().collect();
            let (ours, queues) = match &verdict {
                Ok(traces) => {
                    let queues: Vec<Vec<String>> = traces
                        .iter()
                        .map(|t| {
                            for c in &t.consumed {
                                assert!(queue.remove(c), "case {i}: {c} consumed twice");
                            }
                            queue.iter().cloned().collect()
                        })
                        .collect();
                    ("ok", Some(queues))
                }
                Err(RuleFailure {
                    kind: FailureKind::UnresolvedMatch { .. },
                    ..
                }) => ("keyerror", None),
                Err(_) => ("fail", None),
            };
            *verdicts.entry(ours.to_owned()).or_default() += 1;
            let same_verdict = theirs["verdict"] == ours;
            let same_queues = queues.is_none_or(|q| serde_json::json!(q) == theirs["queues"]);
            // On failure, the reference traced exactly the rules before the
            // failing one.
            let same_failing_rule = match &verdict {
                Err(failure) => theirs["queues"]
                    .as_array()
                    .and_then(|q| rules.get(q.len()))
                    .is_some_and(|r| r == &*failure.rule),
                Ok(_) => true,
            };
            if !(same_verdict && same_queues && same_failing_rule) {
                differ += 1;
                eprintln!(
                    "case {i}: toto {verdict:?}\n  reference {theirs}\n  input {}",
                    cases[i]
                );
            }
        }
        assert_eq!(differ, 0, "{differ} of {} cases differ", inputs.len());
        eprintln!("verdicts: {verdicts:?}");
        for kind in ["ok", "fail", "keyerror"] {
            assert!(
                verdicts.get(kind).is_some_and(|n| *n > 10),
                "cases exercise {kind}: {verdicts:?}"
            );
        }
    }
}
