//! Test-only: runs in-toto 3.1's Python (`fnmatch.filter`,
//! `verifylib.verify_item_rules`) on a batch of cases, for the differential
//! tests of the pattern matcher and the rule engine.

use std::path::PathBuf;

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

pub(crate) fn ask_reference(python: &PathBuf, cases: &serde_json::Value) -> Vec<serde_json::Value> {
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
