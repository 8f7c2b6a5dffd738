//! Layouts: the signed policy of a supply chain (in-toto spec v1.0,
//! section 4.3). Steps say who may perform them and what artifacts they may
//! touch; inspections are commands run at verification time.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::rules::Rule;
use crate::time::{parse_rfc3339_utc, UnixTime};
use crate::x509::{CaCertificate, CertConstraint};

pub mod describe;

/// A validated step or inspection name: usable in a link file name
/// (`<name>.<keyid8>.link`), so no path separators, no `..`, no NUL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepName(String);

impl StepName {
    /// Validates a name.
    pub fn parse(name: &str) -> Result<StepName, Error> {
        let bad = |reason: &str| Error::Malformed {
            what: "step name",
            reason: format!("{name:?} {reason}"),
        };
        if name.is_empty() {
            return Err(bad("is empty"));
        }
        if name.len() > 255 {
            return Err(bad("is longer than 255 bytes"));
        }
        if name.contains(['/', '\\', '\0']) {
            return Err(bad(
                "contains a path separator or NUL; it would escape the link directory",
            ));
        }
        if name == "." || name == ".." {
            return Err(bad("is a directory name"));
        }
        Ok(StepName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The link file name for a functionary: `<name>.<keyid8>.link`.
    pub fn link_file_name(&self, keyid: &str) -> String {
        format!("{}.{}.link", self.0, keyid.get(..8).unwrap_or(keyid))
    }
}

impl std::fmt::Display for StepName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A step of the supply chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Step name.
    pub name: StepName,
    /// Rules for the materials.
    pub expected_materials: Vec<Rule>,
    /// Rules for the products.
    pub expected_products: Vec<Rule>,
    /// Key ids of the functionaries allowed to perform the step.
    pub pubkeys: Vec<String>,
    /// The command the step is expected to run (a mismatch only warns).
    pub expected_command: Vec<String>,
    /// Distinct functionaries that must agree.
    pub threshold: usize,
    /// ITE-7 `cert_constraints` (in-toto-golang's X.509 functionaries): a
    /// Metablock link signed by a certificate that chains to the layout's
    /// `rootcas` and meets one of them counts towards the threshold (see
    /// [`crate::x509`]).
    pub cert_constraints: Vec<CertConstraint>,
    /// Checks on the Fulcio certificate of a keyless functionary's bundle
    /// (`x-toto-github` in the layout JSON): a link counts for the
    /// threshold only when its certificate's claims pass them.
    pub github: Option<GitHubConstraints>,
}

/// The layout field of a step's [`GitHubConstraints`]. The reference
/// (in-toto 3.1) reads a step with `Step(**fields)` and ignores it: with
/// Sigstore keys enabled there (they are not by default), a DSSE-signed
/// layout carrying it reads, a Metablock-signed one does not (the
/// reference re-serializes the step fields it knows before checking the
/// signature).
pub const GITHUB_CONSTRAINTS_FIELD: &str = "x-toto-github";

/// `gh attestation verify`'s signer checks, as a step of a layout carries
/// them: checked by the caller's
/// [`FunctionaryVerifier`](crate::FunctionaryVerifier) on the certificate
/// of a keyless functionary's bundle (`attest` reads no certificate).
/// Every field left out is not checked; the meaning of each is gh's flag
/// of the same name (`--repo`, `--signer-workflow`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubConstraints {
    /// `--owner`: the Source Repository Owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `--repo OWNER/REPO`: the Source Repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// `--signer-workflow`: the signing workflow (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_workflow: Option<String>,
    /// `--signer-repo OWNER/REPO`: the repository of the signing workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_repo: Option<String>,
    /// `--signer-digest`: the Build Signer Digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_digest: Option<String>,
    /// `--source-ref`: the Source Repository Ref.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    /// `--source-digest`: the Source Repository Digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_digest: Option<String>,
    /// `--deny-self-hosted-runners`: the Runner Environment is
    /// `github-hosted`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deny_self_hosted_runners: bool,
}

impl GitHubConstraints {
    /// True when no check is asked for.
    pub fn is_empty(&self) -> bool {
        *self == GitHubConstraints::default()
    }
}

/// An inspection: a command run during verification.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// Inspection name.
    pub name: StepName,
    /// Rules for the materials.
    pub expected_materials: Vec<Rule>,
    /// Rules for the products.
    pub expected_products: Vec<Rule>,
    /// The command, as argv.
    pub run: Vec<String>,
}

/// `keytype` of a keyless functionary: an OIDC identity vouched for by an
/// issuer, whose evidence is a Sigstore bundle (the securesystemslib form).
pub const SIGSTORE_KEYTYPE: &str = "sigstore-oidc";
/// `scheme` of a keyless functionary.
pub const SIGSTORE_SCHEME: &str = "Fulcio";

/// Who may perform a step: a key, or a keyless (Sigstore) identity.
#[derive(Debug, Clone)]
pub enum Functionary {
    /// A public key; evidence is a signed link.
    Key(Box<dsse::PublicKey>),
    /// An OpenPGP key (the reference's `gpg` key dict, kept as received);
    /// evidence is a Metablock signed with it or one of its subkeys.
    Gpg {
        /// The key.
        key: Box<dsse::gpg::GpgKey>,
        /// The key dict as the layout carries it.
        dict: Value,
    },
    /// An OIDC identity and issuer; evidence is a Sigstore bundle whose
    /// certificate names them.
    Sigstore {
        /// Certificate identity (an email, URI or username SAN), matched exactly.
        identity: String,
        /// OIDC issuer, matched exactly.
        issuer: String,
    },
}

impl Functionary {
    /// The key dict the layout carries (`keyid` not included).
    pub fn to_key_dict(&self) -> Value {
        match self {
            Functionary::Key(key) => key.to_key_dict(),
            Functionary::Gpg { dict, .. } => dict.clone(),
            Functionary::Sigstore { identity, issuer } => json!({
                "keytype": SIGSTORE_KEYTYPE,
                "scheme": SIGSTORE_SCHEME,
                "keyval": {"identity": identity, "issuer": issuer},
            }),
        }
    }

    /// The key id: for keys as securesystemslib computes it; for
    /// identities the SHA-256 of the canonical key dict, the same rule.
    pub fn keyid(&self) -> Result<String, Error> {
        match self {
            Functionary::Key(key) => Ok(key.keyid().to_string()),
            Functionary::Gpg { key, .. } => Ok(key.keyid().to_owned()),
            Functionary::Sigstore { .. } => {
                use sha2::Digest as _;
                let canonical = dsse::cjson::to_canonical(&self.to_key_dict())?;
                Ok(hex::encode(sha2::Sha256::digest(canonical)))
            }
        }
    }

    /// Who stands behind this functionary (see [`Signer`]).
    pub fn signer(&self) -> Signer {
        match self {
            Functionary::Key(key) => Signer {
                names: vec![format!("key:{}", key.spki_sha256())],
                shown: format!("key {}", key.keyid()),
            },
            Functionary::Gpg { key, .. } => Signer {
                names: std::iter::once(key.keyid())
                    .chain(key.subkey_ids())
                    .map(|fpr| format!("openpgp:{fpr}"))
                    .collect(),
                shown: format!("OpenPGP key {}", key.keyid()),
            },
            Functionary::Sigstore { identity, issuer } => Signer {
                names: vec![format!("sigstore:{}", json!([issuer, identity]))],
                shown: format!("{identity} ({issuer})"),
            },
        }
    }

    fn from_key_dict(keyid: &str, dict: &Value) -> Result<Functionary, Error> {
        if dsse::gpg::is_gpg_key_dict(dict) {
            let key = dsse::gpg::GpgKey::from_key_dict(dict)
                .map_err(|e| malformed(format!("key {keyid}: {e}")))?;
            if key.keyid() != keyid {
                return Err(malformed(format!(
                    "OpenPGP key listed as {keyid} has fingerprint {}",
                    key.keyid()
                )));
            }
            return Ok(Functionary::Gpg {
                key: Box::new(key),
                dict: dict.clone(),
            });
        }
        if dict.get("keytype").and_then(Value::as_str) == Some(SIGSTORE_KEYTYPE) {
            let field = |name: &str| {
                dict.get("keyval")
                    .and_then(|v| v.get(name))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| malformed(format!("key {keyid}: keyval.{name} missing")))
            };
            let functionary = Functionary::Sigstore {
                identity: field("identity")?,
                issuer: field("issuer")?,
            };
            let computed = functionary.keyid()?;
            if computed != keyid {
                return Err(malformed(format!(
                    "key listed as {keyid} has key id {computed}"
                )));
            }
            return Ok(functionary);
        }
        let key = dsse::PublicKey::from_key_dict(dict)
            .map_err(|e| malformed(format!("key {keyid}: {e}")))?;
        if !key.matches_keyid(keyid) {
            return Err(malformed(format!(
                "key listed as {keyid} has key id {}",
                key.keyid()
            )));
        }
        Ok(Functionary::Key(Box::new(key)))
    }
}

/// The signer behind a functionary entry, by canonical names: two entries
/// of a layout are one signer when they share a name, however the layout
/// spells them. A key is named by its SubjectPublicKeyInfo (so its current
/// and legacy key ids, PEM spellings, keytype aliases and schemes are one
/// signer); an OpenPGP key by its fingerprint and its subkeys'; a keyless
/// functionary by its issuer and identity. Thresholds count signers, not
/// entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    names: Vec<String>,
    shown: String,
}

impl Signer {
    /// The signer behind a certificate functionary's link: its key (one
    /// signer with a key functionary of the same key).
    pub(crate) fn certificate(key: &dsse::PublicKey, subject: &str) -> Signer {
        Signer {
            names: vec![format!("key:{}", key.spki_sha256())],
            shown: format!("certificate {subject:?} (key {})", key.keyid()),
        }
    }

    /// True when both stand for the same signer.
    pub fn same_as(&self, other: &Signer) -> bool {
        self.names.iter().any(|name| other.names.contains(name))
    }
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// A layout.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Expiry (`YYYY-MM-DDTHH:MM:SSZ`); `None` when the layout has none.
    pub expires: Option<String>,
    /// Free text.
    pub readme: String,
    /// Functionaries by the key id the layout names them with.
    pub keys: BTreeMap<String, Functionary>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The inspections, in order.
    pub inspect: Vec<Inspection>,
    /// ITE-7 `rootcas`: the roots certificate functionaries chain to, by
    /// id; see [`Step::cert_constraints`].
    pub rootcas: BTreeMap<String, CaCertificate>,
    /// ITE-7 `intermediatecas`: certificates a chain may pass through.
    pub intermediatecas: BTreeMap<String, CaCertificate>,
}

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

/// Certificate constraints need certificates: a step carrying them lists
/// keyless functionaries only (a key-signed link could not be checked, and
/// counting it would skip the constraints).
pub(crate) fn keyless_only(
    name: &StepName,
    pubkeys: &[String],
    keys: &BTreeMap<String, Functionary>,
) -> Result<(), Error> {
    for keyid in pubkeys {
        if !matches!(keys.get(keyid), Some(Functionary::Sigstore { .. })) {
            return Err(malformed(format!(
                "step {name}: {GITHUB_CONSTRAINTS_FIELD} checks certificates, but functionary \
                 {keyid} is not a keyless identity"
            )));
        }
    }
    Ok(())
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

fn malformed(reason: String) -> Error {
    Error::Malformed {
        what: "layout",
        reason,
    }
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

fn rules_value(rules: &[Rule]) -> Value {
    Value::Array(rules.iter().map(|r| json!(r.to_list())).collect())
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
            if s.github.is_some() {
                keyless_only(&name, &s.pubkeys, &keys)?;
            }
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
                let mut step = json!({
                    "_type": "step",
                    "name": s.name.as_str(),
                    "expected_materials": rules_value(&s.expected_materials),
                    "expected_products": rules_value(&s.expected_products),
                    "pubkeys": s.pubkeys,
                    "expected_command": s.expected_command,
                    "threshold": s.threshold,
                });
                if let Some(obj) = step.as_object_mut() {
                    if !s.cert_constraints.is_empty() {
                        obj.insert(
                            "cert_constraints".into(),
                            Value::Array(
                                s.cert_constraints
                                    .iter()
                                    .map(CertConstraint::to_value)
                                    .collect(),
                            ),
                        );
                    }
                    if let Some(github) = &s.github {
                        obj.insert(GITHUB_CONSTRAINTS_FIELD.into(), json!(github));
                    }
                }
                step
            })
            .collect();
        let inspect: Vec<Value> = self
            .inspect
            .iter()
            .map(|i| {
                json!({
                    "_type": "inspection",
                    "name": i.name.as_str(),
                    "expected_materials": rules_value(&i.expected_materials),
                    "expected_products": rules_value(&i.expected_products),
                    "run": i.run,
                })
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

    /// The first step listing one signer twice (see [`Signer`]), with the
    /// positions of the two entries in its `pubkeys`. A threshold counts
    /// the signer once, so such a step needs one more functionary than it
    /// seems to.
    pub fn duplicate_functionary(&self) -> Option<(&Step, usize, usize)> {
        for step in &self.steps {
            let mut seen: Vec<(usize, Signer)> = Vec::with_capacity(step.pubkeys.len());
            for (index, keyid) in step.pubkeys.iter().enumerate() {
                let Some(functionary) = self.keys.get(keyid) else {
                    continue;
                };
                let signer = functionary.signer();
                if let Some((first, _)) = seen.iter().find(|(_, s)| s.same_as(&signer)) {
                    return Some((step, *first, index));
                }
                seen.push((index, signer));
            }
        }
        None
    }

    /// The expiry as Unix time, if the layout has one.
    pub fn expires_at(&self) -> Result<Option<UnixTime>, Error> {
        self.expires.as_deref().map(parse_rfc3339_utc).transpose()
    }
}
