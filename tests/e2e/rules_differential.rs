//! The rule engine against in-toto 3.1's `verify_item_rules` on random
//! rules and artifact sets: the same verdict on every case.

use std::collections::BTreeMap;
use std::fs;

use attest::rules::{verify_item_rules, Rule, SourceType};
use attest::{ArtifactMap, DigestSet};
use serde_json::{json, Value};

use testkit::Rng;

use crate::common::*;

const PATHS: [&str; 10] = [
    "a",
    "b.py",
    "src/a",
    "src/b.py",
    "src/sub/c.py",
    "dist/a",
    "dist/b.py",
    "x[1]",
    "src/x[1]",
    ".hidden",
];
const PATTERNS: [&str; 12] = [
    "*", "*.py", "src/*", "src/*.py", "a", "?", "[ab]*", "[!s]*", "*/b.py", "x[1]", "dist/*", "src",
];
const PREFIXES: [&str; 4] = ["src", "src/", "dist", "nope"];

fn artifacts(rng: &mut Rng) -> ArtifactMap {
    let mut map = ArtifactMap::new();
    for path in PATHS {
        if rng.next_u64() % 2 == 0 {
            let digest = ["aa", "bb"][(rng.next_u64() % 2) as usize].repeat(32);
            map.insert(
                path.to_owned(),
                DigestSet::single("sha256", &digest).unwrap(),
            );
        }
    }
    map
}

fn rule(rng: &mut Rng) -> Vec<String> {
    let p = rng.pick(&PATTERNS).to_owned();
    let kind = rng.pick(&[
        "CREATE", "DELETE", "MODIFY", "ALLOW", "DISALLOW", "REQUIRE", "MATCH", "MATCH",
    ]);
    if kind == "REQUIRE" {
        return vec![kind.into(), rng.pick(&PATHS).into()];
    }
    if kind != "MATCH" {
        return vec![kind.into(), p];
    }
    let mut r = vec!["MATCH".to_owned(), p];
    if rng.next_u64() % 3 == 0 {
        r.extend(["IN".to_owned(), rng.pick(&PREFIXES).to_owned()]);
    }
    r.extend([
        "WITH".to_owned(),
        rng.pick(&["MATERIALS", "PRODUCTS"]).to_owned(),
    ]);
    if rng.next_u64() % 3 == 0 {
        r.extend(["IN".to_owned(), rng.pick(&PREFIXES).to_owned()]);
    }
    r.extend([
        "FROM".to_owned(),
        rng.pick(&["other", "missing"]).to_owned(),
    ]);
    r
}

#[test]
fn rule_verdicts_match_the_reference() {
    let Some(py) = python("rule_verdicts_match_the_reference") else {
        return;
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..600 {
        let steps: BTreeMap<&str, (ArtifactMap, ArtifactMap)> = [
            ("item", (artifacts(&mut rng), artifacts(&mut rng))),
            ("other", (artifacts(&mut rng), artifacts(&mut rng))),
        ]
        .into_iter()
        .collect();
        let rule_lists: Vec<Vec<String>> = (0..(1 + rng.next_u64() % 5))
            .map(|_| rule(&mut rng))
            .collect();
        let source = if rng.next_u64() % 2 == 0 {
            SourceType::Materials
        } else {
            SourceType::Products
        };
        let rules: Vec<Rule> = rule_lists
            .iter()
            .map(|r| Rule::from_list(r).unwrap())
            .collect();
        let (materials, products) = &steps["item"];
        let lookup = |name: &str| steps.get(name).map(|(m, p)| (m, p));
        let verdict = verify_item_rules(&rules, source, materials, products, &lookup);
        ours.push(if verdict.is_ok() { "ok" } else { "fail" });
        let steps_json: Value = steps
            .iter()
            .map(|(name, (m, p))| (name.to_string(), json!({"materials": m, "products": p})))
            .collect::<serde_json::Map<_, _>>()
            .into();
        cases.push(json!({"item": "item", "source": source.to_string(), "rules": rule_lists, "steps": steps_json}));
    }
    let dir = tempdir();
    let file = dir.path().join("cases.json");
    fs::write(&file, serde_json::to_vec(&cases).unwrap()).unwrap();
    let out = peer(&py, &["rules", file.to_str().unwrap()]);
    expect_code(&out, 0, "peer rules");
    let theirs: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), ours.len());
    let mut failures = 0;
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        if a != b {
            failures += 1;
            eprintln!("case {i}: toto {a}, reference {b}: {}", cases[i]);
        }
    }
    assert_eq!(failures, 0, "{failures} of {} verdicts differ", ours.len());
    let fails = theirs.iter().filter(|v| *v == "fail").count();
    assert!(
        fails > 50 && fails < 550,
        "the cases exercise both verdicts ({fails} fail)"
    );
}
