//! A layout's JSON: read strictly (unknown fields refused) into the typed
//! [`Layout`], and written back in the reference's shape.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::provenance::SourcePolicy;
use crate::rules::Rule;
use crate::time::parse_rfc3339_utc;
use crate::x509::{CaCertificate, CertConstraint};

use super::*;

// A step and an inspection each spell out the fields they share (the
// reference's `SupplyChainItem`): serde does not refuse unknown fields
// through `#[serde(flatten)]`, and refusing them is the point. Reading
// (`item_name`, `parse_item_rules`) and writing (`item_value`) are shared.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireStep {
    #[serde(rename = "_type", default)]
    type_: Option<String>,
    name: String,
    #[serde(default)]
    expected_materials: Vec<Vec<String>>,
    #[serde(default)]
    expected_products: Vec<Vec<String>>,
    #[serde(default)]
    pubkeys: Vec<String>,
    #[serde(default)]
    expected_command: Vec<String>,
    #[serde(default = "one")]
    threshold: i64,
    #[serde(default)]
    cert_constraints: Vec<Map<String, Value>>,
    #[serde(rename = "x-toto-github", default)]
    github: Option<GitHubConstraints>,
    #[serde(rename = "x-toto-slsa", default)]
    slsa: Option<SourcePolicy>,
}

fn one() -> i64 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireInspection {
    #[serde(rename = "_type", default)]
    type_: Option<String>,
    name: String,
    #[serde(default)]
    expected_materials: Vec<Vec<String>>,
    #[serde(default)]
    expected_products: Vec<Vec<String>>,
    #[serde(default)]
    run: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireLayout {
    #[serde(rename = "_type")]
    type_: String,
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    readme: String,
    #[serde(default)]
    keys: Map<String, Value>,
    #[serde(default)]
    steps: Vec<WireStep>,
    #[serde(default)]
    inspect: Vec<WireInspection>,
    #[serde(default)]
    rootcas: Map<String, Value>,
    #[serde(default)]
    intermediatecas: Map<String, Value>,
}

/// A layout's `rootcas` or `intermediatecas`, each entry read.
fn ca_certificates(
    field: &str,
    wire: Map<String, Value>,
) -> Result<BTreeMap<String, CaCertificate>, Error> {
    wire.into_iter()
        .map(|(id, dict)| {
            let ca = CaCertificate::from_key_dict(field, &id, dict)?;
            Ok((id, ca))
        })
        .collect()
}

fn parse_rules(item: &str, which: &str, raw: &[Vec<String>]) -> Result<Vec<Rule>, Error> {
    raw.iter()
        .map(|r| Rule::from_list(r).map_err(|e| malformed(format!("{item:?} {which}: {e}"))))
        .collect()
}

/// Validates a step or inspection name: its `_type`, its form, and that no
/// other item of the layout has it.
fn item_name(
    seen: &mut std::collections::BTreeSet<StepName>,
    kind: &str,
    type_: Option<&str>,
    name: &str,
) -> Result<StepName, Error> {
    if type_.is_some_and(|t| t != kind) {
        return Err(malformed(format!("{kind} {name:?} has _type {type_:?}")));
    }
    let name = StepName::parse(name)?;
    if !seen.insert(name.clone()) {
        return Err(malformed(format!("name {name} is used twice")));
    }
    Ok(name)
}

type RulePair = (Vec<Rule>, Vec<Rule>);

fn parse_item_rules(
    name: &StepName,
    materials: &[Vec<String>],
    products: &[Vec<String>],
) -> Result<RulePair, Error> {
    Ok((
        parse_rules(name.as_str(), "expected_materials", materials)?,
        parse_rules(name.as_str(), "expected_products", products)?,
    ))
}

/// What a step and an inspection share (the reference's
/// `SupplyChainItem`: `_type`, name and the two rule lists), as both write
/// it; each adds its own fields.
fn item_value(
    kind: &str,
    name: &StepName,
    materials: &[Rule],
    products: &[Rule],
) -> Map<String, Value> {
    let rules = |rules: &[Rule]| -> Value { rules.iter().map(|r| json!(r.to_list())).collect() };
    Map::from_iter([
        ("_type".into(), json!(kind)),
        ("name".into(), json!(name.as_str())),
        ("expected_materials".into(), rules(materials)),
        ("expected_products".into(), rules(products)),
    ])
}

impl Layout {
    /// Reads a layout from its (strictly parsed) JSON payload.
    pub fn from_value(value: Value) -> Result<Layout, Error> {
        Layout::from_wire(serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?)
    }

    /// Reads a layout from any serde deserializer over a strictly parsed
    /// payload (a [`dsse::json::Node`], a borrowed [`Value`]), with no copy
    /// of the whole layout on the way.
    pub fn decode<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Layout, Error> {
        Layout::from_wire(WireLayout::deserialize(d).map_err(|e| malformed(e.to_string()))?)
    }

    fn from_wire(wire: WireLayout) -> Result<Layout, Error> {
        if wire.type_ != "layout" {
            return Err(malformed(format!(
                "_type is {:?}, not \"layout\"",
                wire.type_
            )));
        }
        if let Some(expires) = &wire.expires {
            parse_rfc3339_utc(expires)?;
        }
        let mut keys = BTreeMap::new();
        for (keyid, dict) in wire.keys {
            let functionary = Functionary::from_key_dict(&keyid, &dict)?;
            keys.insert(keyid, functionary);
        }
        let mut names = std::collections::BTreeSet::new();
        let mut steps = Vec::with_capacity(wire.steps.len());
        for s in wire.steps {
            let name = item_name(&mut names, "step", s.type_.as_deref(), &s.name)?;
            let threshold = usize::try_from(s.threshold)
                .ok()
                .filter(|t| *t >= 1)
                .ok_or_else(|| {
                    malformed(format!(
                        "step {name}: threshold {} is not >= 1",
                        s.threshold
                    ))
                })?;
            for keyid in &s.pubkeys {
                if !keys.contains_key(keyid) {
                    return Err(malformed(format!(
                        "step {name}: functionary key {keyid} is not in the layout's keys"
                    )));
                }
            }
            certificate_constraints(&name, &s.github, &s.slsa, &s.pubkeys, &keys)?;
            let (expected_materials, expected_products) =
                parse_item_rules(&name, &s.expected_materials, &s.expected_products)?;
            let cert_constraints = s
                .cert_constraints
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    CertConstraint::from_map(c, &format!("step {name}: cert_constraints[{i}]"))
                })
                .collect::<Result<_, _>>()?;
            steps.push(Step {
                expected_materials,
                expected_products,
                name,
                pubkeys: s.pubkeys,
                expected_command: s.expected_command,
                threshold,
                cert_constraints,
                github: s.github,
                slsa: s.slsa,
            });
        }
        let mut inspect = Vec::with_capacity(wire.inspect.len());
        for i in wire.inspect {
            let name = item_name(&mut names, "inspection", i.type_.as_deref(), &i.name)?;
            let (expected_materials, expected_products) =
                parse_item_rules(&name, &i.expected_materials, &i.expected_products)?;
            inspect.push(Inspection {
                expected_materials,
                expected_products,
                name,
                run: i.run,
            });
        }
        Ok(Layout {
            expires: wire.expires,
            readme: wire.readme,
            keys,
            steps,
            inspect,
            rootcas: ca_certificates("rootcas", wire.rootcas)?,
            intermediatecas: ca_certificates("intermediatecas", wire.intermediatecas)?,
        })
    }

    /// The layout as JSON, in the reference's shape.
    pub fn to_value(&self) -> Value {
        let keys: Map<String, Value> = self
            .keys
            .iter()
            .map(|(id, key)| {
                let mut dict = key.to_key_dict();
                if let Some(obj) = dict.as_object_mut() {
                    obj.insert("keyid".into(), json!(id));
                }
                (id.clone(), dict)
            })
            .collect();
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                let mut step =
                    item_value("step", &s.name, &s.expected_materials, &s.expected_products);
                step.insert("pubkeys".into(), json!(s.pubkeys));
                step.insert("expected_command".into(), json!(s.expected_command));
                step.insert("threshold".into(), json!(s.threshold));
                if !s.cert_constraints.is_empty() {
                    let constraints = s.cert_constraints.iter().map(CertConstraint::to_value);
                    step.insert("cert_constraints".into(), constraints.collect());
                }
                if let Some(github) = &s.github {
                    step.insert(GITHUB_CONSTRAINTS_FIELD.into(), json!(github));
                }
                if let Some(slsa) = &s.slsa {
                    step.insert(SLSA_CONSTRAINTS_FIELD.into(), json!(slsa));
                }
                Value::Object(step)
            })
            .collect();
        let inspect: Vec<Value> = self
            .inspect
            .iter()
            .map(|i| {
                let mut inspection = item_value(
                    "inspection",
                    &i.name,
                    &i.expected_materials,
                    &i.expected_products,
                );
                inspection.insert("run".into(), json!(i.run));
                Value::Object(inspection)
            })
            .collect();
        let mut out = json!({
            "_type": "layout",
            "readme": self.readme,
            "keys": keys,
            "steps": steps,
            "inspect": inspect,
        });
        if let Some(obj) = out.as_object_mut() {
            if let Some(expires) = &self.expires {
                obj.insert("expires".into(), json!(expires));
            }
            for (field, cas) in [
                ("rootcas", &self.rootcas),
                ("intermediatecas", &self.intermediatecas),
            ] {
                if !cas.is_empty() {
                    let cas: Map<String, Value> = cas
                        .iter()
                        .map(|(id, ca)| (id.clone(), ca.to_value()))
                        .collect();
                    obj.insert(field.into(), Value::Object(cas));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A layout using every field a step and an inspection can carry is
    /// written back exactly as it was read: the fields they share
    /// (`item_value`) and each one's own.
    #[test]
    fn every_field_of_a_step_and_an_inspection_is_written_back_as_read() {
        let keyless = Functionary::Sigstore {
            identity: "ci@example.org".into(),
            issuer: "https://issuer.example".into(),
        };
        let keyid = keyless.keyid().unwrap();
        let mut dict = keyless.to_key_dict();
        dict["keyid"] = json!(keyid);
        let constraint = json!({
            "common_name": "*", "dns_names": [""], "emails": ["*"],
            "organizations": ["*"], "roots": ["*"], "uris": ["*"],
        });
        let value = json!({
            "_type": "layout",
            "expires": "2030-01-01T00:00:00Z",
            "readme": "every field",
            "keys": Map::from_iter([(keyid.clone(), dict)]),
            "steps": [{
                "_type": "step",
                "name": "build",
                "expected_materials": [["ALLOW", "src/*"]],
                "expected_products": [["CREATE", "dist/*"], ["DISALLOW", "*"]],
                "pubkeys": [keyid],
                "expected_command": ["make", "dist"],
                "threshold": 1,
                "cert_constraints": [constraint],
                "x-toto-github": {"repo": "org/repo", "deny_self_hosted_runners": true},
                "x-toto-slsa": {"source_uri": "github.com/org/repo", "builder_id": "b"},
            }],
            "inspect": [{
                "_type": "inspection",
                "name": "untar",
                "expected_materials": [["MATCH", "dist/*", "WITH", "PRODUCTS", "FROM", "build"]],
                "expected_products": [],
                "run": ["tar", "xf", "dist/app.tar"],
            }],
        });
        let layout = Layout::from_value(value.clone()).unwrap();
        assert_eq!(layout.to_value(), value);
    }
}
