//! The rule engine: [`verify_item_rules`] applies an item's rules to its
//! queue of artifacts with in-toto 3.1.0's semantics (`verifylib`
//! `verify_item_rules` and the `verify_*_rule` helpers), returning what each
//! rule consumed or the first rule that failed.

use std::fmt;

use serde::Serialize;

use super::explain::{Cause, Explanation, Failed};
use super::model::{Rule, SourceType};
use super::walk::Walk;
use crate::digest::{ArtifactMap, DigestSet};
use crate::pattern::{strip_literal, Pattern};

/// What one rule consumed, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RuleTrace {
    /// The rule in the reference's string form.
    pub rule: String,
    /// Artifacts it removed from the queue, in path order.
    pub consumed: Vec<String>,
}

/// What an item's rules did to one queue (materials or products): what
/// each rule consumed, and what was left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ItemTrace {
    /// Each rule applied, in order, with what it consumed.
    pub rules: Vec<RuleTrace>,
    /// What was left in the queue after the last of them (allowed, when the
    /// rules passed), in path order. The queue before rule `i` is this plus
    /// what rules `i..` consumed.
    pub unconsumed: Vec<String>,
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
    /// Why: the earlier rule that should have consumed the artifact and
    /// why it did not (see [`Cause`]).
    pub cause: Box<Cause>,
    /// The rules applied before the failing one, and the queue the failing
    /// one saw.
    pub trace: ItemTrace,
}

impl fmt::Display for RuleFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Explanation {
            rule: &self.rule.to_string(),
            source: self.source_type,
            artifact: &self.artifact,
            cause: &self.cause,
        }
        .fmt(f)
    }
}

impl std::error::Error for RuleFailure {}

/// Looks up another step's (or inspection's) link by name and returns its
/// `(materials, products)`; `None` when there is no such link.
pub type StepLookup<'l, 'a> = &'l dyn Fn(&str) -> Option<(&'a ArtifactMap, &'a ArtifactMap)>;

/// Applies `rules` to the `source` artifacts of an item (step or inspection)
/// whose link recorded `materials` and `products`; `steps` resolves the FROM
/// step of MATCH rules. Returns, per rule, what it consumed; or the first
/// rule that failed, with its cause.
pub fn verify_item_rules<'a>(
    rules: &[Rule],
    source: SourceType,
    materials: &'a ArtifactMap,
    products: &'a ArtifactMap,
    steps: StepLookup<'_, 'a>,
) -> Result<Vec<RuleTrace>, RuleFailure> {
    trace_item_rules(rules, source, materials, products, steps).map(|trace| trace.rules)
}

/// [`verify_item_rules`], also returning what was left in the queue (for
/// `toto verify -v`, which prints each rule's queue as `in-toto-verify`'s
/// rule trace does).
///
/// Each rule is one pass over the queue (a sorted vector) with at most one
/// map lookup per queued artifact; patterns are compiled once per rule.
/// The cause of a failure is worked out only when a rule fails.
pub fn trace_item_rules<'a>(
    rules: &[Rule],
    source: SourceType,
    materials: &'a ArtifactMap,
    products: &'a ArtifactMap,
    steps: StepLookup<'_, 'a>,
) -> Result<ItemTrace, RuleFailure> {
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
        let fail = |artifact: &str, kind: FailureKind| {
            let failed = Failed {
                rules,
                traces: &traces,
                source,
                materials,
                products,
                steps,
            };
            RuleFailure {
                cause: Box::new(failed.cause(rule, artifact, &kind)),
                rule: Box::new(rule.clone()),
                source_type: source,
                artifact: artifact.to_owned(),
                kind,
                trace: ItemTrace {
                    rules: traces.clone(),
                    unconsumed: unconsumed(&queue),
                },
            }
        };
        let consumed: Vec<&'a str> = match rule {
            // CREATE: products that are not materials; DELETE: materials
            // that are not products. On the other side, nothing.
            Rule::Create(p) | Rule::Delete(p) => {
                let side = match rule {
                    Rule::Create(_) => SourceType::Products,
                    _ => SourceType::Materials,
                };
                if source == side {
                    let pattern = Pattern::new(p);
                    let mut other = Walk::new(other);
                    take(&mut queue, |a, _| {
                        pattern.matches(a) && other.get(a).is_none()
                    })
                } else {
                    Vec::new()
                }
            }
            Rule::Modify(p) => {
                let pattern = Pattern::new(p);
                let mut other = Walk::new(other);
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
            Rule::Match(m) => match steps(&m.dest_name) {
                None => Vec::new(),
                Some((dest_materials, dest_products)) => {
                    let dest = m.dest_type.pick(dest_materials, dest_products);
                    let hits = match_rule(
                        &Pattern::new(&m.pattern),
                        &m.source_prefix,
                        &m.dest_prefix,
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
    Ok(ItemTrace {
        rules: traces,
        unconsumed: unconsumed(&queue),
    })
}

/// The paths left in the queue.
fn unconsumed(queue: &Queue<'_>) -> Vec<String> {
    queue.iter().map(|(a, _)| (*a).to_owned()).collect()
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

/// How a MATCH sees queued `artifact`, as [`match_rule`] does: the digests
/// it compares (those of the path rebuilt from the source prefix) and the
/// FROM step's path it compares them with; `None` when the artifact is not
/// under the source prefix, the pattern does not match the rest, or the
/// rebuilt path is not among `artifacts`.
pub(super) fn match_view<'m>(
    pattern: &Pattern,
    source_prefix: &str,
    dest_prefix: &str,
    artifact: &str,
    artifacts: &'m ArtifactMap,
) -> Option<(&'m DigestSet, String)> {
    let mut normalized = String::new();
    if !source_prefix.is_empty() {
        join_like_python(&mut normalized, source_prefix, "");
    }
    let relative = strip_literal(artifact, &normalized, "")?;
    if !pattern.matches(relative) {
        return None;
    }
    let mut source_path = String::new();
    if !source_prefix.is_empty() && (relative.contains('\\') || relative.starts_with('/')) {
        join_like_python(&mut source_path, source_prefix, relative);
    } else {
        source_path.push_str(artifact);
    }
    let digests = artifacts.get(&source_path)?;
    let mut dest_key = String::new();
    if dest_prefix.is_empty() {
        dest_key.push_str(relative);
    } else {
        join_like_python(&mut dest_key, dest_prefix, relative);
    }
    Some((digests, dest_key))
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
                strip_literal(queued, &normalized, "").map(|rest| (index, *queued, rest, *digests))
            });
    let (mut rebuilt, mut dest_path) = (String::new(), String::new());
    let mut dest = Walk::new(dest);
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
    use crate::python_reference::ask_reference;
    use crate::rules::CauseKind;

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

    /// Applies `rule_texts` to `source` of `steps["item"]`.
    fn run(
        steps: &Steps,
        source: SourceType,
        rule_texts: &[&str],
    ) -> Result<Vec<RuleTrace>, RuleFailure> {
        let (materials, products) = &steps["item"];
        let lookup = |name: &str| steps.get(name).map(|(m, p)| (m, p));
        verify_item_rules(&rules(rule_texts), source, materials, products, &lookup)
    }

    /// Applies `rule_texts` to the materials of `steps["item"]`.
    fn on_materials(steps: &Steps, rule_texts: &[&str]) -> Result<Vec<RuleTrace>, RuleFailure> {
        run(steps, SourceType::Materials, rule_texts)
    }

    fn item(materials: ArtifactMap, products: ArtifactMap) -> Steps {
        [("item", (materials, products))].into_iter().collect()
    }

    /// `item` with `materials` (no products) and `other` with `products`
    /// (no materials): what a MATCH … FROM other compares.
    fn item_and_other(materials: ArtifactMap, products: ArtifactMap) -> Steps {
        [
            ("item", (materials, ArtifactMap::new())),
            ("other", (ArtifactMap::new(), products)),
        ]
        .into_iter()
        .collect()
    }

    fn consumed(traces: &[RuleTrace]) -> Vec<Vec<&str>> {
        traces
            .iter()
            .map(|t| t.consumed.iter().map(String::as_str).collect())
            .collect()
    }

    // ---- engine --------------------------------------------------------

    #[test]
    fn create_consumes_new_products_only() {
        let steps = item(
            map(&[("kept", 'a'), ("changed", 'c')]),
            map(&[("kept", 'a'), ("new", 'd'), ("changed", 'e')]),
        );
        let t = run(&steps, SourceType::Products, &["CREATE *", "ALLOW *"]).unwrap();
        assert_eq!(consumed(&t), [vec!["new"], vec!["changed", "kept"]]);
        // On materials, CREATE never consumes anything.
        let t = run(&steps, SourceType::Materials, &["CREATE *"]).unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new()]);
    }

    #[test]
    fn delete_consumes_vanished_materials_only() {
        let steps = item(
            map(&[("kept", 'a'), ("gone", 'b')]),
            map(&[("kept", 'a'), ("new", 'c')]),
        );
        let t = run(&steps, SourceType::Materials, &["DELETE *"]).unwrap();
        assert_eq!(consumed(&t), [vec!["gone"]]);
        let t = run(&steps, SourceType::Products, &["DELETE *"]).unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new()]);
    }

    #[test]
    fn modify_needs_both_sides_with_different_digests() {
        let steps = item(
            map(&[("same", 'a'), ("changed", 'b'), ("gone", 'c')]),
            map(&[("same", 'a'), ("changed", 'e'), ("new", 'f')]),
        );
        for source in [SourceType::Materials, SourceType::Products] {
            let t = run(&steps, source, &["MODIFY *"]).unwrap();
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
        let t = run(&steps, SourceType::Products, &["MODIFY x"]).unwrap();
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
            SourceType::Products,
            &["ALLOW *.py", "ALLOW b.txt", "DISALLOW *"],
        )
        .unwrap();
        assert_eq!(consumed(&t), [vec!["a.py", "c.py"], vec!["b.txt"], vec![]]);
        let e = run(&steps, SourceType::Products, &["ALLOW *.txt", "DISALLOW *"]).unwrap_err();
        assert_eq!(e.kind, FailureKind::Disallowed);
        assert_eq!(e.artifact, "a.py");
        assert_eq!(e.source_type, SourceType::Products);
        assert_eq!(*e.rule, Rule::Disallow("*".into()));
        assert_eq!(
            e.to_string(),
            "rule \"DISALLOW *\" matched products artifact \"a.py\", which no earlier rule authorizes"
        );
        assert_eq!(e.cause.kind, CauseKind::Disallowed);
        // DISALLOW before ALLOW fails; a DISALLOW that matches nothing passes.
        assert!(run(&steps, SourceType::Products, &["DISALLOW *.py", "ALLOW *"]).is_err());
        assert!(run(&steps, SourceType::Products, &["DISALLOW *.rs"]).is_ok());
        // What is left at the end is allowed.
        assert!(run(&steps, SourceType::Products, &[]).is_ok());
    }

    #[test]
    fn require_is_literal_checks_the_queue_and_consumes_nothing() {
        let steps = item(ArtifactMap::new(), map(&[("a", 'a'), ("*", 'b')]));
        let t = run(&steps, SourceType::Products, &["REQUIRE a", "DISALLOW b"]).unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new(), vec![]]);
        // Still queued after REQUIRE: a later rule can consume it.
        let t = run(&steps, SourceType::Products, &["REQUIRE a", "ALLOW a"]).unwrap();
        assert_eq!(consumed(&t), [vec![], vec!["a"]]);
        // Consumed before: fails.
        let e = run(&steps, SourceType::Products, &["ALLOW a", "REQUIRE a"]).unwrap_err();
        assert_eq!((e.kind, e.artifact.as_str()), (FailureKind::Required, "a"));
        // Never there: fails; looks at the source type only.
        assert!(run(&steps, SourceType::Materials, &["REQUIRE a"]).is_err());
        // Not a pattern: `?` is a literal name here.
        assert!(run(&steps, SourceType::Products, &["REQUIRE ?"]).is_err());
        assert!(run(&steps, SourceType::Products, &["REQUIRE *"]).is_ok());
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

    /// What one rule consumes of `match_steps`' item materials.
    fn consumed_by_match(rule: &str) -> Vec<String> {
        let t = run(&match_steps(), SourceType::Materials, &[rule]).unwrap();
        let [only] = &t[..] else {
            panic!("one rule, one trace: {t:?}");
        };
        only.consumed.clone()
    }

    #[test]
    fn match_with_prefixes_compares_digests() {
        let none: &[&str] = &[];
        for (rule, expected) in [
            // b.py differs in digest, c.py has no dist/ counterpart.
            (
                "MATCH *.py IN src WITH PRODUCTS IN dist FROM build",
                &["src/a.py"][..],
            ),
            // Source prefix only: the rest is looked up as is.
            ("MATCH * IN src WITH PRODUCTS FROM build", &["src/a.py"]),
            // A trailing slash on the prefix is the same prefix.
            ("MATCH * IN src/ WITH PRODUCTS FROM build", &["src/a.py"]),
            // No prefix: whole paths.
            ("MATCH * WITH PRODUCTS FROM build", &["src/c.py"]),
            // Destination prefix only: src/a.py is looked up as dist/src/a.py.
            ("MATCH * WITH PRODUCTS IN dist FROM build", none),
            // The prefix is literal, never globbed; the pattern is not
            // applied to the prefix.
            ("MATCH * IN s* WITH PRODUCTS FROM build", none),
            ("MATCH src/* IN src WITH PRODUCTS IN dist FROM build", none),
        ] {
            assert_eq!(consumed_by_match(rule), expected, "{rule}");
        }
        let e = run(
            &match_steps(),
            SourceType::Materials,
            &[
                "MATCH *.py IN src WITH PRODUCTS IN dist FROM build",
                "ALLOW other",
                "DISALLOW *",
            ],
        )
        .unwrap_err();
        assert_eq!(e.artifact, "src/b.py");
    }

    #[test]
    fn match_looks_at_the_named_side_only() {
        assert_eq!(
            consumed_by_match("MATCH *.py WITH MATERIALS FROM build"),
            ["src/a.py"]
        );
        assert!(
            consumed_by_match("MATCH *.py IN src WITH MATERIALS IN dist FROM build").is_empty()
        );
    }

    #[test]
    fn match_needs_equal_digest_sets() {
        let mut both = BTreeMap::new();
        both.insert("sha256".to_owned(), "a".repeat(64));
        both.insert("sha512".to_owned(), "a".repeat(128));
        let steps = item_and_other(
            map(&[("x", 'a'), ("y", 'a')]),
            [
                ("x".to_owned(), DigestSet::new(both).unwrap()),
                ("y".to_owned(), d('a')),
            ]
            .into_iter()
            .collect(),
        );
        let t = on_materials(&steps, &["MATCH * WITH PRODUCTS FROM other"]).unwrap();
        // x agrees on sha256 but the sets differ: not consumed.
        assert_eq!(consumed(&t), [vec!["y"]]);
    }

    #[test]
    fn match_from_a_step_without_link_consumes_nothing() {
        let steps = match_steps();
        let t = on_materials(&steps, &["MATCH * WITH PRODUCTS FROM nowhere", "ALLOW *"]).unwrap();
        assert_eq!(consumed(&t)[0], Vec::<&str>::new());
        let e = on_materials(
            &steps,
            &["MATCH * WITH PRODUCTS FROM nowhere", "DISALLOW *"],
        )
        .unwrap_err();
        assert_eq!(e.kind, FailureKind::Disallowed);
    }

    #[test]
    fn match_only_consumes_queued_artifacts() {
        let steps = match_steps();
        let rules = ["ALLOW src/a.py", "MATCH * IN src WITH PRODUCTS FROM build"];
        let t = on_materials(&steps, &rules).unwrap();
        assert_eq!(consumed(&t), [vec!["src/a.py"], vec![]]);
    }

    #[test]
    fn match_source_prefix_backslash_quirks() {
        // The prefix's backslashes count as slashes.
        let steps = item_and_other(map(&[("a/b/x", 'a')]), map(&[("x", 'a'), ("/y", 'a')]));
        let t = on_materials(&steps, &["MATCH * IN a\\b WITH PRODUCTS FROM other"]).unwrap();
        assert_eq!(consumed(&t), [vec!["a/b/x"]]);
        // A rest with a backslash is rebuilt with a slash: the reference
        // raises KeyError when the item has no such artifact.
        let steps = item_and_other(map(&[("src/a\\b", 'a')]), map(&[("a\\b", 'a')]));
        let e = on_materials(&steps, &["MATCH * IN src WITH PRODUCTS FROM other"]).unwrap_err();
        assert_eq!(e.artifact, "src/a\\b");
        assert_eq!(
            e.kind,
            FailureKind::UnresolvedMatch {
                resolved: "src/a/b".into()
            }
        );
        // Without a source prefix, the path is used as is.
        let rules = [
            "MATCH src/* WITH PRODUCTS FROM nowhere",
            "MATCH * WITH PRODUCTS IN src FROM other",
        ];
        let t = on_materials(&steps, &rules).unwrap();
        assert_eq!(consumed(&t), [Vec::<&str>::new(), vec![]]);
        // ... and when the rebuilt path exists, it is what gets compared
        // and consumed.
        let steps = item_and_other(map(&[("src//y", 'b'), ("/y", 'a')]), map(&[("/y", 'a')]));
        let t = on_materials(&steps, &["MATCH * IN src WITH PRODUCTS FROM other"]).unwrap();
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
        // The cause: the MATCH from update-version saw another digest.
        assert_eq!(failure.cause.kind, CauseKind::DigestMismatch);
        assert_eq!(
            failure.cause.rule.as_deref(),
            Some("MATCH demo-project/* WITH PRODUCTS FROM update-version")
        );
        assert_eq!(failure.cause.source_step.as_deref(), Some("update-version"));
        assert_ne!(failure.cause.expected, failure.cause.found);
        let text = failure.to_string();
        assert!(
            text.starts_with(
                "materials artifact \"demo-project/foo.py\" was not consumed by \"MATCH demo-project/* WITH PRODUCTS FROM update-version\": its digest sha256:"
            ) && text.ends_with("; \"DISALLOW *\" then refused it"),
            "{text}"
        );
    }

    /// The causes the end-to-end tests (tests/e2e/explain_rules.rs) do not
    /// reach: DELETE of what is still a product, MODIFY of what is on one
    /// side only, REQUIRE of what an earlier rule consumed, MATCH from a
    /// step without a link.
    #[test]
    fn each_failure_names_the_rule_that_did_not_consume_and_why() {
        let mut steps = item(
            map(&[("gone", 'a'), ("kept", 'a'), ("new", 'b')]),
            map(&[("kept", 'a'), ("made", 'c')]),
        );
        for (source, rules, kind, rule, says) in [
            (
                SourceType::Materials,
                &["DELETE *", "DISALLOW *"][..],
                CauseKind::DeletedButStillPresent,
                "DELETE *",
                "materials artifact \"kept\" was not consumed by \"DELETE *\": it is still among the products; \"DISALLOW *\" then refused it",
            ),
            (
                SourceType::Products,
                &["ALLOW kept", "MODIFY *", "DISALLOW *"],
                CauseKind::ModifyAbsent,
                "MODIFY *",
                "\"made\" was not consumed by \"MODIFY *\": it is not among the materials",
            ),
            (
                SourceType::Products,
                &["ALLOW m*", "REQUIRE made"],
                CauseKind::RequiredConsumed,
                "ALLOW m*",
                "rule \"REQUIRE made\" failed: products artifact \"made\" was consumed by the earlier rule \"ALLOW m*\"",
            ),
            (
                SourceType::Materials,
                &["MATCH * WITH PRODUCTS FROM nowhere", "DISALLOW gone"],
                CauseKind::NoSourceLink,
                "MATCH * WITH PRODUCTS FROM nowhere",
                "there is no link for \"nowhere\"",
            ),
        ] {
            let failure = run(&steps, source, rules).unwrap_err();
            assert_eq!(
                (failure.cause.kind, failure.cause.rule.as_deref()),
                (kind, Some(rule)),
                "{rules:?}"
            );
            let text = failure.to_string();
            assert!(text.contains(says), "{text}");
        }
        // With prefixes: the destination path is looked up under its prefix.
        steps.insert("other", (ArtifactMap::new(), map(&[("dist/gone", 'b')])));
        let failure = run(
            &steps,
            SourceType::Materials,
            &[
                "MATCH * IN g WITH PRODUCTS IN dist FROM other",
                "MATCH g* WITH PRODUCTS IN dist FROM other",
                "DISALLOW gone",
            ],
        )
        .unwrap_err();
        assert_eq!(failure.cause.kind, CauseKind::DigestMismatch);
        assert_eq!(
            failure.cause.rule.as_deref(),
            Some("MATCH g* WITH PRODUCTS IN dist FROM other")
        );
        assert_eq!(failure.cause.expected, Some(d('b')));
        assert_eq!(failure.cause.found, Some(d('a')));
        assert_eq!(failure.cause.source_path.as_deref(), Some("dist/gone"));
        assert!(
            failure.to_string().contains(&format!(
                "its digest sha256:{}… differs from other's product (as \"dist/gone\") sha256:{}…",
                "a".repeat(16),
                "b".repeat(16)
            )),
            "{failure}"
        );
    }

    /// Of several earlier rules that selected the artifact, a MATCH whose
    /// FROM step has it with other digests is the cause, even when an
    /// earlier MATCH looked in a step that lacks it; otherwise the first.
    #[test]
    fn a_digest_mismatch_is_the_cause_before_an_earlier_absence() {
        let mut steps = item(map(&[("bin/app", 'a')]), ArtifactMap::new());
        steps.insert("fetch", (ArtifactMap::new(), map(&[("README", 'f')])));
        steps.insert("build", (ArtifactMap::new(), map(&[("bin/app", 'b')])));
        let rules = [
            "MATCH * WITH PRODUCTS FROM fetch",
            "MATCH bin/* WITH PRODUCTS FROM build",
            "DISALLOW *",
        ];
        let failure = run(&steps, SourceType::Materials, &rules).unwrap_err();
        assert_eq!(failure.cause.kind, CauseKind::DigestMismatch);
        assert_eq!(failure.cause.source_step.as_deref(), Some("build"));
        // Without build's copy, the first rule that selected it is named.
        steps.insert("build", (ArtifactMap::new(), ArtifactMap::new()));
        let failure = run(&steps, SourceType::Materials, &rules).unwrap_err();
        assert_eq!(failure.cause.kind, CauseKind::AbsentFromSource);
        assert_eq!(failure.cause.source_step.as_deref(), Some("fetch"));
        assert_eq!(
            failure.to_string(),
            "materials artifact \"bin/app\" was not consumed by \"MATCH * WITH PRODUCTS FROM fetch\": it is absent from fetch's products; \"DISALLOW *\" then refused it"
        );
        // No earlier rule selected it: DISALLOW itself is the cause.
        let failure = run(
            &steps,
            SourceType::Materials,
            &["ALLOW lib/*", "DISALLOW *"],
        )
        .unwrap_err();
        assert_eq!(failure.cause.kind, CauseKind::Disallowed);
        assert_eq!(failure.cause.rule, None);
    }

    #[test]
    fn create_of_a_material_and_an_unresolved_match_name_their_paths() {
        let steps = item(map(&[("out", 'a')]), map(&[("out", 'b')]));
        let failure = run(&steps, SourceType::Products, &["CREATE o*", "DISALLOW *"]).unwrap_err();
        assert_eq!(failure.cause.kind, CauseKind::CreatedButWasMaterial);
        assert_eq!(
            (failure.cause.expected.clone(), failure.cause.found.clone()),
            (Some(d('a')), Some(d('b')))
        );
        assert_eq!(
            failure.to_string(),
            format!(
                "products artifact \"out\" was not consumed by \"CREATE o*\": it was already a material (sha256:{}…); \"DISALLOW *\" then refused it",
                "a".repeat(16)
            )
        );
        let steps = item_and_other(map(&[("src/a\\b", 'a')]), map(&[("a\\b", 'a')]));
        let failure =
            on_materials(&steps, &["MATCH * IN src WITH PRODUCTS FROM other"]).unwrap_err();
        assert_eq!(failure.cause.kind, CauseKind::UnresolvedMatch);
        assert_eq!(failure.cause.source_path.as_deref(), Some("src/a/b"));
        assert_eq!(
            failure.to_string(),
            "rule \"MATCH * IN src WITH PRODUCTS FROM other\" turns materials artifact \"src/a\\\\b\" into \"src/a/b\", which is not among the materials (in-toto 3.1 fails here too)"
        );
    }

    /// The trace keeps what was left in the queue: after the last rule, or
    /// what the failing rule saw, with the rules applied before it.
    #[test]
    fn the_trace_keeps_what_was_left_in_the_queue() {
        let steps = item(
            map(&[("a", 'a'), ("b", 'b'), ("c", 'c')]),
            ArtifactMap::new(),
        );
        let trace = trace_item_rules(
            &rules(&["ALLOW a", "DISALLOW z"]),
            SourceType::Materials,
            &steps["item"].0,
            &steps["item"].1,
            &|_| None,
        )
        .unwrap();
        assert_eq!(consumed(&trace.rules), [vec!["a"], vec![]]);
        assert_eq!(trace.unconsumed, ["b", "c"]);
        let failure = run(
            &steps,
            SourceType::Materials,
            &["ALLOW b", "DISALLOW *", "ALLOW *"],
        )
        .unwrap_err();
        assert_eq!(consumed(&failure.trace.rules), [vec!["b"]]);
        assert_eq!(failure.trace.unconsumed, ["a", "c"]);
    }

    use testkit::Rng;

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
