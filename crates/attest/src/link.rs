//! Links: what one step did. One model, three encodings:
//!
//! | [`Encoding`] | wire form |
//! |---|---|
//! | `Statement` | DSSE (`application/vnd.in-toto+json`) around a Statement v1 whose predicate is link v0.3: products are the `subject`, materials are `predicate.materials` (read too: Statement v0.1; link v0.2, whose `predicate.materials` is a classic map; link v0.1 and v1, whose predicate is the whole classic link) |
//! | `DsseLink` | DSSE around a classic link (`_type: link`), as `in-toto-run --use-dsse` writes it |
//! | `Metablock` | classic link inside `{"signed", "signatures"}` signed over canonical JSON, as `in-toto-run` writes it |
//!
//! Conversion between them is lossless for everything the classic link holds.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Map, Value};

mod sorted;

pub(crate) use sorted::SortedPayload;

use crate::digest::{ArtifactList, ArtifactMap};
use crate::error::Error;
use crate::statement::{ResourceDescriptor, Statement};

/// Predicate type of in-toto link v0.3.
pub const LINK_PREDICATE_V03: &str = "https://in-toto.io/attestation/link/v0.3";

/// Predicate type of in-toto link v0.2 (in-toto/attestation
/// `spec/predicates/link.md` before v0.3), read but never written: the
/// classic link without `_type` and `products` (the `subject` holds them),
/// `materials` a map of path to digests.
pub const LINK_PREDICATE_V02: &str = "https://in-toto.io/Link/v0.2";

/// Predicate type of in-toto link v0.1 (in-toto/attestation
/// `spec/predicates/link.md`, May 2021), read but never written: the
/// predicate is the whole classic link (`_type: link`, `materials` and
/// `products` maps).
pub const LINK_PREDICATE_V01: &str = "https://in-toto.io/Link/v0.1";

/// Predicate type of the first link predicate (`spec/predicates/link.md`,
/// April 2021, renamed v0.1 a fortnight later), read but never written: the
/// same shape as v0.1. in-toto-golang (`PredicateLinkV1`) and cosign
/// (`cosign attest --type link`, around a Statement v0.1 whose subject is
/// the image) still write it.
pub const LINK_PREDICATE_V1: &str = "https://in-toto.io/Link/v1";

/// Whether `predicate_type` is a version of the link predicate toto reads
/// as a link (v0.1, v1, v0.2, v0.3).
pub fn is_link_predicate(predicate_type: &str) -> bool {
    [
        LINK_PREDICATE_V03,
        LINK_PREDICATE_V02,
        LINK_PREDICATE_V01,
        LINK_PREDICATE_V1,
    ]
    .contains(&predicate_type)
}

/// Most artifacts one link may list in materials or products.
pub const MAX_ARTIFACTS: usize = 1_000_000;

/// How a link (or layout) is wrapped and signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// DSSE around Statement v1 + link v0.3 (toto's default).
    Statement,
    /// DSSE around a classic link or layout.
    Dsse,
    /// Classic Metablock.
    Metablock,
}

/// What a step did: its command, the artifacts before and after, and what
/// the command printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The step name.
    pub name: String,
    /// The command run, as argv.
    pub command: Vec<String>,
    /// Artifacts before the command.
    pub materials: ArtifactMap,
    /// Artifacts after the command.
    pub products: ArtifactMap,
    /// `return-value`, `stdout`, `stderr` and anything else recorded.
    pub byproducts: Map<String, Value>,
    /// Environment information recorded with the step.
    pub environment: Map<String, Value>,
}

/// A classic link as read. Unknown fields are ignored, as in-toto reads
/// them (`Link(**data)` keeps the fields it knows); a Metablock link is held
/// to the fixed schema by [`Link::from_metablock_node`].
#[derive(Deserialize)]
struct WireLink {
    #[serde(rename = "_type")]
    type_: String,
    name: String,
    #[serde(default)]
    command: Vec<String>,
    /// Built into maps by [`Link::from_wire`], once the bytes are dropped.
    #[serde(default, deserialize_with = "material_list")]
    materials: ArtifactList,
    #[serde(default, deserialize_with = "product_list")]
    products: ArtifactList,
    #[serde(default)]
    byproducts: Map<String, Value>,
    #[serde(default)]
    environment: Map<String, Value>,
}

/// A link v0.3 predicate as read; unknown (signed) fields are ignored, as
/// the attestation framework requires. Its materials are resource
/// descriptors, or (read in one pass, `link::sorted`) their names and
/// digests.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WirePredicate<M = Vec<ResourceDescriptor>> {
    name: String,
    command: Vec<String>,
    materials: M,
    byproducts: Map<String, Value>,
    environment: Map<String, Value>,
}

/// A Statement's list of artifacts (subjects, a v0.3 predicate's
/// materials), as read.
trait DescriptorList {
    /// The artifacts as a map; `which` names the list in a refusal.
    fn into_map(self, which: &str) -> Result<ArtifactMap, Error>;
}

impl DescriptorList for Vec<ResourceDescriptor> {
    fn into_map(self, which: &str) -> Result<ArtifactMap, Error> {
        descriptors_to_map(self, which)
    }
}

/// A link v0.2 predicate as read; unknown (signed) fields are ignored.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WirePredicateV02 {
    name: String,
    command: Vec<String>,
    #[serde(deserialize_with = "materials")]
    materials: ArtifactMap,
    byproducts: Map<String, Value>,
    environment: Map<String, Value>,
}

/// A Statement read from `payload` with its link predicate, which it must
/// have, decoded as `P`.
fn statement_with_predicate<'de, P, D>(payload: D) -> Result<(crate::Statement, P), Error>
where
    P: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    let (statement, predicate) = crate::statement::decode_parts::<P, _>(payload)?;
    let predicate =
        predicate.ok_or_else(|| malformed("link predicate", "the predicate is missing"))?;
    Ok((statement, predicate))
}

fn materials<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ArtifactMap, D::Error> {
    crate::digest::artifact_map(d, MAX_ARTIFACTS, "materials")
}

fn material_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ArtifactList, D::Error> {
    crate::digest::artifact_list(d, MAX_ARTIFACTS, "materials")
}

fn product_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ArtifactList, D::Error> {
    crate::digest::artifact_list(d, MAX_ARTIFACTS, "products")
}

/// The fields of a classic link (in-toto's `Link`).
const CLASSIC_FIELDS: [&str; 7] = [
    "_type",
    "name",
    "command",
    "materials",
    "products",
    "byproducts",
    "environment",
];

/// Refuses a field outside in-toto's fixed schema in a Metablock's classic
/// link (`_type` `type_`, fields `fields`); other payloads pass.
pub(crate) fn check_metablock_fields<'f>(
    type_: Option<&str>,
    mut fields: impl Iterator<Item = &'f str>,
) -> Result<(), Error> {
    if type_ != Some("link") {
        return Ok(());
    }
    match fields.find(|field| !CLASSIC_FIELDS.contains(field)) {
        None => Ok(()),
        Some(field) => Err(malformed(
            "link",
            format!(
                "unknown field {field:?}: a Metablock link has in-toto's fixed schema \
                 (in-toto-verify refuses it too)"
            ),
        )),
    }
}

/// `_type` prefix of every in-toto Statement version.
const STATEMENT_PREFIX: &str = "https://in-toto.io/Statement/";

fn not_a_link_predicate(predicate_type: &str) -> Error {
    malformed(
        "link statement",
        format!(
            "predicateType is {predicate_type:?}, not {LINK_PREDICATE_V03} \
             (or {LINK_PREDICATE_V02}, {LINK_PREDICATE_V01}, {LINK_PREDICATE_V1})"
        ),
    )
}

fn malformed(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Malformed {
        what,
        reason: reason.into(),
    }
}

fn check_count(map: &ArtifactMap, which: &str) -> Result<(), Error> {
    if map.len() > MAX_ARTIFACTS {
        return Err(malformed(
            "link",
            format!("{} {which}, over the limit of {MAX_ARTIFACTS}", map.len()),
        ));
    }
    Ok(())
}

fn descriptors_to_map(list: Vec<ResourceDescriptor>, which: &str) -> Result<ArtifactMap, Error> {
    if list.len() > MAX_ARTIFACTS {
        return Err(malformed(
            "link",
            format!("{} {which}, over the limit of {MAX_ARTIFACTS}", list.len()),
        ));
    }
    let mut entries = Vec::with_capacity(list.len());
    for rd in list {
        let (Some(name), Some(digest)) = (rd.name, rd.digest) else {
            return Err(malformed(
                "link statement",
                format!("every entry of {which} needs a name and a digest"),
            ));
        };
        entries.push((name, digest));
    }
    named_entries_to_map(entries, which)
}

/// The map of a Statement's artifacts, each named once; `which` names the
/// list in the refusal.
fn named_entries_to_map(
    entries: Vec<(String, crate::digest::DigestSet)>,
    which: &str,
) -> Result<ArtifactMap, Error> {
    crate::digest::build_artifact_map(entries)
        .map_err(|name| malformed("link statement", format!("{which} lists {name:?} twice")))
}

fn map_to_descriptors(map: &ArtifactMap) -> Vec<ResourceDescriptor> {
    map.iter()
        .map(|(name, digest)| ResourceDescriptor::artifact(name, digest.clone()))
        .collect()
}

impl Link {
    fn from_wire(wire: WireLink) -> Result<Link, Error> {
        if wire.type_ != "link" {
            return Err(malformed(
                "link",
                format!("_type is {:?}, not \"link\"", wire.type_),
            ));
        }
        let link = Link {
            name: wire.name,
            command: wire.command,
            materials: wire
                .materials
                .into_map("materials")
                .map_err(|why| malformed("link", why))?,
            products: wire
                .products
                .into_map("products")
                .map_err(|why| malformed("link", why))?,
            byproducts: wire.byproducts,
            environment: wire.environment,
        };
        check_count(&link.materials, "materials")?;
        check_count(&link.products, "products")?;
        Ok(link)
    }

    /// The classic link JSON (`_type: link`).
    pub fn to_classic(&self) -> Value {
        json!({
            "_type": "link",
            "name": self.name,
            "command": self.command,
            "materials": self.materials,
            "products": self.products,
            "byproducts": self.byproducts,
            "environment": self.environment,
        })
    }

    /// The link of a Statement with a link v0.3 predicate: materials
    /// built first, so a refusal names the same list however it was read.
    fn from_parts<S: DescriptorList, M: DescriptorList>(
        subject: S,
        predicate: WirePredicate<M>,
    ) -> Result<Link, Error> {
        Ok(Link {
            name: predicate.name,
            command: predicate.command,
            materials: predicate.materials.into_map("materials")?,
            products: subject.into_map("subjects")?,
            byproducts: predicate.byproducts,
            environment: predicate.environment,
        })
    }

    fn from_parts_v02(
        subject: Vec<ResourceDescriptor>,
        predicate: WirePredicateV02,
    ) -> Result<Link, Error> {
        let link = Link {
            name: predicate.name,
            command: predicate.command,
            materials: predicate.materials,
            products: descriptors_to_map(subject, "subjects")?,
            byproducts: predicate.byproducts,
            environment: predicate.environment,
        };
        check_count(&link.materials, "materials")?;
        Ok(link)
    }

    /// The Statement v1 with a link v0.3 predicate.
    pub fn to_statement(&self) -> Statement {
        Statement::new(
            map_to_descriptors(&self.products),
            LINK_PREDICATE_V03,
            json!({
                "name": self.name,
                "command": self.command,
                "materials": map_to_descriptors(&self.materials),
                "byproducts": self.byproducts,
                "environment": self.environment,
            }),
        )
    }

    /// Reads a link from a payload of either kind: a classic link or a
    /// Statement with a link predicate (as [`Link::from_node`], from a
    /// [`Value`]).
    pub fn from_payload(value: Value) -> Result<Link, Error> {
        let text = |key| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let (type_, predicate_type) = (text("_type"), text("predicateType"));
        Link::decode(type_.as_deref(), predicate_type.as_deref(), value)
    }

    /// Reads a link from a payload of either kind straight from a parsed
    /// document: no [`Value`] of the (possibly large) artifact lists is
    /// built.
    pub fn from_node(node: dsse::json::Node<'_, '_>) -> Result<Link, Error> {
        let text = |key| node.get(key).and_then(|n| n.as_str());
        Link::decode(text("_type"), text("predicateType"), node)
    }

    /// The one link decoder: a classic link (`_type` `link`) or a Statement
    /// with a link v0.3 predicate, from any serde deserializer of the
    /// payload whose `_type` and `predicateType` are given.
    fn decode<'de, D: serde::Deserializer<'de>>(
        type_: Option<&str>,
        predicate_type: Option<&str>,
        payload: D,
    ) -> Result<Link, Error> {
        match type_ {
            Some("link") => Link::from_wire(
                WireLink::deserialize(payload).map_err(|e| malformed("link", e.to_string()))?,
            ),
            Some(t) if t.starts_with(STATEMENT_PREFIX) => match predicate_type {
                Some(LINK_PREDICATE_V03) => {
                    let (statement, predicate) =
                        statement_with_predicate::<WirePredicate, _>(payload)?;
                    Link::from_parts(statement.subject, predicate)
                }
                Some(LINK_PREDICATE_V02) => {
                    let (statement, predicate) = statement_with_predicate(payload)?;
                    Link::from_parts_v02(statement.subject, predicate)
                }
                // The predicate is the classic link, products and all; the
                // subject says what the Statement is about (cosign: the
                // image), which the spec leaves to the writer: not read.
                Some(LINK_PREDICATE_V01 | LINK_PREDICATE_V1) => {
                    let (_, predicate) = statement_with_predicate(payload)?;
                    Link::from_wire(predicate)
                }
                other => Err(not_a_link_predicate(other.unwrap_or_default())),
            },
            Some(t) => Err(malformed("link", format!("_type {t:?} is not a link"))),
            None => Err(malformed("link", "no _type")),
        }
    }

    /// Reads a link from the `signed` part of a Metablock: a classic link
    /// must have only the fields of in-toto's fixed schema. The reference
    /// verifies a Metablock over the canonical JSON of the fields it knows,
    /// so a link signed with another field fails there; toto refuses it by
    /// name. (A field added after signing fails the signature check first.)
    pub fn from_metablock_node(node: dsse::json::Node<'_, '_>) -> Result<Link, Error> {
        check_metablock_fields(
            node.get("_type").and_then(|t| t.as_str()),
            node.members().map(|(field, _)| field),
        )?;
        Link::from_node(node)
    }

    /// Reads a classic link from the canonical bytes a Metablock's
    /// signatures cover ([`dsse::Seal::read_sorted`]) in one pass, with no
    /// tree of them, held to in-toto's fixed schema as
    /// [`Link::from_metablock_node`] holds it, with the same result: the
    /// bytes are dropped before the artifact maps are built. `Err` hands
    /// the bytes back when this reader leaves them to the tree (anything
    /// but a classic link, a field outside the schema, anything it refuses
    /// tersely): read them with [`dsse::json::Tree::parse_canonical`] and
    /// [`Link::from_metablock_node`] then.
    #[allow(clippy::result_large_err, reason = "the Err is the bytes handed back")]
    pub fn from_canonical_metablock(canonical: Vec<u8>) -> Result<Result<Link, Error>, Vec<u8>> {
        let Some(decoded) = SortedPayload::read_canonical_metablock(&canonical) else {
            return Err(canonical);
        };
        drop(canonical);
        Ok(decoded.into_link())
    }

    /// The return value of the step's command, when recorded.
    pub fn return_value(&self) -> Option<i64> {
        self.byproducts.get("return-value").and_then(Value::as_i64)
    }
}

/// A link serializes as the classic link ([`Link::to_classic`]), every
/// object's keys in code point order: what `dsse`'s writers need to write
/// it straight from its artifact maps, with no [`Value`] of them.
impl Serialize for Link {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(CLASSIC_FIELDS.len()))?;
        map.serialize_entry("_type", "link")?;
        map.serialize_entry("byproducts", &SortedMap(&self.byproducts))?;
        map.serialize_entry("command", &self.command)?;
        map.serialize_entry("environment", &SortedMap(&self.environment))?;
        map.serialize_entry("materials", &self.materials)?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("products", &self.products)?;
        map.end()
    }
}

/// A link as a Statement v1 with a link v0.3 predicate
/// ([`Link::to_statement`]), serialized with keys in code point order.
pub(crate) struct AsStatement<'l>(pub(crate) &'l Link);

/// An artifact map as a list of resource descriptors `{digest, name}`.
struct Descriptors<'m>(&'m ArtifactMap);

/// One resource descriptor of [`Descriptors`], its keys in order.
#[derive(Serialize)]
struct Descriptor<'a> {
    digest: &'a crate::digest::DigestSet,
    name: &'a str,
}

impl Serialize for Descriptors<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut list = s.serialize_seq(Some(self.0.len()))?;
        for (name, digest) in self.0 {
            list.serialize_element(&Descriptor { digest, name })?;
        }
        list.end()
    }
}

/// A JSON object's members in code point order (serde_json's map sorts
/// its keys, but not once a dependency enables `preserve_order`).
struct SortedMap<'m>(&'m Map<String, Value>);

impl Serialize for SortedMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<_> = self.0.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        s.collect_map(entries.into_iter().map(|(k, v)| (k, dsse::Sorted(v))))
    }
}

/// The link v0.3 predicate of [`AsStatement`], keys in order.
#[derive(Serialize)]
struct Predicate<'l> {
    byproducts: SortedMap<'l>,
    command: &'l [String],
    environment: SortedMap<'l>,
    materials: Descriptors<'l>,
    name: &'l str,
}

impl Serialize for AsStatement<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let link = self.0;
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("_type", crate::statement::STATEMENT_V1)?;
        map.serialize_entry(
            "predicate",
            &Predicate {
                byproducts: SortedMap(&link.byproducts),
                command: &link.command,
                environment: SortedMap(&link.environment),
                materials: Descriptors(&link.materials),
                name: &link.name,
            },
        )?;
        map.serialize_entry("predicateType", LINK_PREDICATE_V03)?;
        map.serialize_entry("subject", &Descriptors(&link.products))?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::DigestSet;

    fn sample() -> Link {
        let mut materials = ArtifactMap::new();
        materials.insert(
            "src/a.txt".into(),
            DigestSet::single("sha256", &"ab".repeat(32)).unwrap(),
        );
        let mut products = materials.clone();
        products.insert(
            "out/ü b".into(),
            DigestSet::single("sha256", &"cd".repeat(32)).unwrap(),
        );
        let mut byproducts = Map::new();
        byproducts.insert("return-value".into(), json!(0));
        byproducts.insert("stdout".into(), json!("hi\n"));
        Link {
            name: "build".into(),
            command: vec!["make".into(), "all".into()],
            materials,
            products,
            byproducts,
            environment: Map::new(),
        }
    }

    #[test]
    fn classic_and_statement_round_trip_losslessly() {
        let link = sample();
        assert_eq!(Link::from_payload(link.to_classic()).unwrap(), link);
        let statement = link.to_statement();
        assert_eq!(statement.subject.len(), 2);
        assert_eq!(Link::from_payload(statement.to_value()).unwrap(), link);
    }

    #[test]
    fn refuses_other_types_and_bad_digests() {
        assert!(Link::from_payload(json!({"_type": "layout"})).is_err());
        let mut v = sample().to_classic();
        v["materials"]["x"] = json!({"sha256": "ABC"});
        assert!(Link::from_payload(v).is_err());

        let mut st = sample().to_statement();
        st.predicate_type = "https://slsa.dev/provenance/v1".into();
        assert!(Link::from_payload(st.into_value()).is_err());
    }

    /// A link read from a [`Value`] and from the strict tree is read by
    /// one decoder: the same link, and the same refusal.
    #[test]
    fn a_value_and_a_node_are_read_alike() {
        let mut no_predicate = sample().to_statement().into_value();
        no_predicate.as_object_mut().unwrap().remove("predicate");
        let mut bad_digest = sample().to_classic();
        bad_digest["products"]["y"] = json!({"sha256": "ABC"});
        for value in [
            sample().to_classic(),
            sample().to_statement().into_value(),
            no_predicate,
            bad_digest,
            json!({"_type": "layout"}),
        ] {
            let bytes = serde_json::to_vec(&value).unwrap();
            let tree = dsse::json::Tree::parse(&bytes).unwrap();
            let from_node = Link::from_node(tree.root()).map_err(|e| e.to_string());
            let from_value = Link::from_payload(value).map_err(|e| e.to_string());
            assert_eq!(from_node, from_value);
        }
    }

    /// Unknown fields of a classic link are ignored (as in-toto reads a DSSE
    /// link), except in a Metablock, whose links have a fixed schema.
    #[test]
    fn unknown_classic_fields_are_ignored_but_not_in_a_metablock() {
        let mut v = sample().to_classic();
        v["surprise"] = json!(1);
        assert_eq!(Link::from_payload(v.clone()).unwrap(), sample());
        for (encoding, ok) in [(Encoding::Dsse, true), (Encoding::Metablock, false)] {
            let document = crate::SignedDocument::new(v.clone(), encoding).unwrap();
            let read = crate::SignedDocument::from_json(&document.to_json(), &Default::default())
                .unwrap()
                .link();
            match read {
                Ok(link) => assert!(ok && link == sample(), "{encoding:?}"),
                Err(e) => {
                    assert!(!ok, "{encoding:?}: {e}");
                    assert!(e.to_string().contains("unknown field \"surprise\""), "{e}");
                }
            }
        }
    }

    /// Statement v0.1 with a link v0.2 predicate, as in-toto/attestation
    /// `spec/predicates/link.md` (v0.2) shows it: `materials` a classic map,
    /// products in `subject`. It reads as the same link; signed fields toto
    /// does not know are ignored.
    #[test]
    fn statement_v01_with_link_v02_reads_as_the_same_link() {
        let link = sample();
        let v02 = json!({
            "_type": crate::statement::STATEMENT_V01,
            "subject": link.products.iter().map(|(name, digest)| {
                json!({"name": name, "digest": digest, "annotations": {"x": 1}})
            }).collect::<Vec<_>>(),
            "predicateType": LINK_PREDICATE_V02,
            "predicate": {
                "name": link.name,
                "command": link.command,
                "materials": link.materials,
                "byproducts": link.byproducts,
                "environment": link.environment,
                "unknownField": {"ignored": true},
            },
            "alsoUnknown": 1,
        });
        assert_eq!(Link::from_payload(v02.clone()).unwrap(), link);
        let bytes = serde_json::to_vec(&v02).unwrap();
        let tree = dsse::json::Tree::parse(&bytes).unwrap();
        assert_eq!(Link::from_node(tree.root()).unwrap(), link);

        // Statement v0.1 around link v0.3 reads too.
        let mut v03 = link.to_statement().into_value();
        v03["_type"] = json!(crate::statement::STATEMENT_V01);
        assert_eq!(Link::from_payload(v03).unwrap(), link);
    }

    /// Each predicate version is read with its own shape: v0.3's list of
    /// resource descriptors is not a v0.2 materials map, and the reverse;
    /// other predicate types (the older `Link/v1`, whose predicate repeats
    /// the products) are named.
    #[test]
    fn link_predicates_are_read_by_their_own_version() {
        let link = sample();
        let mut v03_as_v02 = link.to_statement().into_value();
        v03_as_v02["predicateType"] = json!(LINK_PREDICATE_V02);
        let e = Link::from_payload(v03_as_v02).unwrap_err().to_string();
        assert!(e.contains("materials"), "{e}");

        let mut v02_as_v03 = link.to_statement().into_value();
        v02_as_v03["predicate"]["materials"] = json!(link.materials);
        let e = Link::from_payload(v02_as_v03).unwrap_err().to_string();
        assert!(e.contains("materials") || e.contains("sequence"), "{e}");

        let mut other = link.to_statement().into_value();
        other["predicateType"] = json!("https://in-toto.io/Link/v9");
        let e = Link::from_payload(other).unwrap_err().to_string();
        assert!(
            e.contains("Link/v9") && e.contains(LINK_PREDICATE_V1),
            "{e}"
        );
    }

    /// Link v0.1 and v1 (in-toto/attestation `spec/predicates/link.md`,
    /// April and May 2021): the predicate is the classic link, read as it
    /// is, materials and products; the subject (cosign: the image) is not
    /// read. Its `_type` must be `link`; unknown fields are ignored.
    #[test]
    fn link_v01_and_v1_read_the_predicate_as_the_classic_link() {
        let link = sample();
        for (statement_type, predicate_type) in [
            (crate::statement::STATEMENT_V01, LINK_PREDICATE_V1),
            (crate::statement::STATEMENT_V01, LINK_PREDICATE_V01),
            (crate::statement::STATEMENT_V1, LINK_PREDICATE_V1),
        ] {
            let mut predicate = link.to_classic();
            predicate["x-unknown"] = json!({"ignored": true});
            let statement = json!({
                "_type": statement_type,
                "subject": [{"name": "registry.example/app", "digest": {"sha256": "f".repeat(64)}}],
                "predicateType": predicate_type,
                "predicate": predicate,
            });
            assert_eq!(
                Link::from_payload(statement.clone()).unwrap(),
                link,
                "{predicate_type}"
            );
            let bytes = serde_json::to_vec(&statement).unwrap();
            let tree = dsse::json::Tree::parse(&bytes).unwrap();
            assert_eq!(Link::from_node(tree.root()).unwrap(), link);

            let mut not_a_link = statement.clone();
            not_a_link["predicate"]["_type"] = json!("layout");
            let e = Link::from_payload(not_a_link).unwrap_err().to_string();
            assert!(e.contains("not \"link\""), "{e}");
            let mut v03_shape = statement;
            v03_shape["predicate"] = link.to_statement().into_value()["predicate"].clone();
            assert!(Link::from_payload(v03_shape).is_err());
        }
        assert!(is_link_predicate(LINK_PREDICATE_V1) && is_link_predicate(LINK_PREDICATE_V01));
    }
}
