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
//! A failure carries its [`Cause`] (`explain`): the earlier rule whose
//! pattern selected the artifact and why it did not consume it (a `MATCH`
//! whose FROM step recorded other digests or not this path, a `CREATE` of a
//! material, a `MODIFY` of an unchanged file, a `DELETE` of a file still
//! there), or why `REQUIRE` did not find its path.
//!
//! Patterns are [`crate::pattern::Pattern`]: Python `fnmatch`, so `*` crosses `/`.
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
//!
//! The model (what a rule is, its two spellings) is in `model`; the
//! engine (the queue and what each rule consumes) in `engine`; why a rule
//! failed in `explain`.

mod engine;
mod explain;
mod model;
mod walk;

pub use engine::{
    trace_item_rules, verify_item_rules, FailureKind, ItemTrace, RuleFailure, RuleTrace, StepLookup,
};
pub(crate) use explain::Explanation;
pub use explain::{Cause, CauseKind};
pub use model::{MatchRule, Rule, RuleError, SourceType};
// The matcher moved to `crate::pattern`; kept here for existing callers.
pub use crate::pattern::{fnmatch, Pattern};
