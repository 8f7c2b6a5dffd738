//! One link file: its signature checked against one functionary (a key,
//! an OpenPGP key, or a keyless identity through the caller's
//! [`FunctionaryVerifier`](crate::verified::FunctionaryVerifier)), its
//! payload read as a link, an attestation standing for one, or a sublayout.
//! Key-signed links are checked ahead, in parallel ([`prefetch`]).

use std::collections::BTreeMap;

use super::{Evidence, Options};
use crate::error::Error;
use crate::layout::{Functionary, Layout, Step};
use crate::link::{Link, SortedPayload};
use crate::signed::Seal;
use crate::verified::SignerIdentity;

/// A link file checked ahead of the step loop: refused, or decoded.
pub(super) enum Checked {
    Refused(String),
    Link(Result<Link, Error>),
}

/// What a step's evidence holds once its signature checked out.
pub(super) enum Payload {
    /// A link (or an attestation read as one), or why it could not be read.
    Link(Result<Link, Error>),
    /// A sublayout, verified recursively by the caller.
    Layout(serde_json::Value),
}

/// Reads a verified payload for `step`: a sublayout, or its evidence as a
/// link.
pub(super) fn read_payload(step: &Step, payload: dsse::json::Node<'_, '_>) -> Payload {
    if payload.get("_type").and_then(|t| t.as_str()) == Some("layout") {
        Payload::Layout(payload.to_value())
    } else {
        Payload::Link(evidence_link(step, payload))
    }
}

/// Reads a verified payload of a signed document, as [`read_payload`]
/// does; a Metablock link must also have the reference's fixed schema.
pub(super) fn read_sealed(
    step: &Step,
    seal: &Seal<'_, '_>,
    payload: dsse::json::Node<'_, '_>,
) -> Payload {
    read_checked(step, matches!(seal, Seal::Metablock(_)), payload)
}

/// [`read_sealed`], told whether the payload came in a Metablock.
fn read_checked(step: &Step, metablock: bool, payload: dsse::json::Node<'_, '_>) -> Payload {
    if metablock && payload.get("_type").and_then(|t| t.as_str()) == Some("link") {
        Payload::Link(Link::from_metablock_node(payload))
    } else {
        read_payload(step, payload)
    }
}

/// Parses a signed link and checks it is signed by `key`; returns its
/// payload, or why it is refused.
///
/// A Metablock in the sorted form in-toto and toto write is read in one
/// pass with no tree of it ([`dsse::Seal::read_sorted`]); its bytes are
/// dropped once its canonical JSON is written, and its link is decoded
/// from the canonical bytes the signature covers. A DSSE envelope in that
/// form is read the same way ([`dsse::Envelope::read_sorted`], then
/// [`check_envelope`]). Any other document, or one those passes refuse, is
/// read through the tree as before, which accepts it or says why not.
pub(super) fn check_signed(
    step: &Step,
    bytes: Vec<u8>,
    key: &dsse::PublicKey,
    keyid: &str,
    shown: &str,
    limits: &dsse::Limits,
) -> Result<Payload, String> {
    let Some(seal) = dsse::Seal::read_sorted(&bytes, limits) else {
        return match dsse::Envelope::read_sorted(&bytes, limits) {
            Some(envelope) if envelope.payload_type() == crate::statement::PAYLOAD_TYPE => {
                drop(bytes);
                check_envelope(step, envelope, key, keyid, shown)
            }
            _ => check_signed_tree(step, &bytes, key, keyid, shown, limits),
        };
    };
    drop(bytes);
    let signers = crate::signed::Signers::Metablock(&seal);
    let canonical = seal.canonical_bytes();
    let Some(decoded) = verified(
        canonical.len(),
        || signers.verify(&[key], 1).is_ok(),
        || SortedPayload::read_canonical_metablock(canonical),
    ) else {
        return Err(format!(
            "{shown}: {}",
            unverified(&signers.keyids(), key, keyid)
        ));
    };
    match decoded {
        Some(decoded) => {
            drop(seal);
            Ok(Payload::Link(decoded.into_link()))
        }
        // Not a classic link (a sublayout, a Statement), or one with a
        // field outside the schema: read as a tree, for the payload or why.
        None => match dsse::json::Tree::parse_canonical(seal.canonical_bytes()) {
            Ok(tree) => Ok(read_checked(step, true, tree.root())),
            Err(e) => Err(format!("{shown}: {e}")),
        },
    }
}

/// Signed documents this large have their signature checked on a thread
/// of its own while the link is decoded from the same bytes: each is a
/// pass over them (the signature's hash, the JSON), and the one link of a
/// big step would otherwise hold up the whole verification.
const CONCURRENT_FROM: usize = 1 << 20;

/// What `decode` returns, once `verify` has passed; `None` when it does
/// not. Both read the same signed bytes (`len` of them); from
/// [`CONCURRENT_FROM`] bytes on they run at once, and what was decoded is
/// dropped unless the signature verified.
fn verified<T>(
    len: usize,
    verify: impl Fn() -> bool + Sync,
    decode: impl FnOnce() -> T,
) -> Option<T> {
    if len < CONCURRENT_FROM {
        return verify().then(decode);
    }
    std::thread::scope(
        |scope| match std::thread::Builder::new().spawn_scoped(scope, &verify) {
            Ok(check) => {
                let decoded = decode();
                let passed = check
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                passed.then_some(decoded)
            }
            // No thread to be had: one after the other.
            Err(_) => verify().then(decode),
        },
    )
}

/// [`check_signed`] for an in-toto envelope read in one pass, the file's
/// bytes gone: the signature checked over the PAE its payload was decoded
/// into, then the link decoded from those very bytes in one pass
/// ([`crate::link::SortedPayload`]) and the envelope dropped before the
/// artifact maps are built. A payload that pass leaves alone is read as a
/// tree. Verdicts and refusals are the tree path's, in its order: a
/// payload that is not a JSON object is named before a signature that does
/// not verify.
fn check_envelope(
    step: &Step,
    envelope: dsse::Envelope,
    key: &dsse::PublicKey,
    keyid: &str,
    shown: &str,
) -> Result<Payload, String> {
    let signers = crate::signed::Signers::Envelope(&envelope);
    let Some(sorted) = verified(
        envelope.payload().len(),
        || signers.verify(&[key], 1).is_ok(),
        || SortedPayload::read(envelope.payload()),
    ) else {
        let why = match crate::signed::payload_tree(&envelope) {
            Err(e) => e.to_string(),
            Ok(_) => unverified(&signers.keyids(), key, keyid),
        };
        return Err(format!("{shown}: {why}"));
    };
    if let Some(sorted) = sorted {
        drop(envelope);
        return Ok(Payload::Link(sorted.into_link()));
    }
    match crate::signed::payload_tree(&envelope) {
        Ok(tree) => Ok(read_checked(step, false, tree.root())),
        Err(e) => Err(format!("{shown}: {e}")),
    }
}

/// [`check_signed`] through a tree of the whole document.
fn check_signed_tree(
    step: &Step,
    bytes: &[u8],
    key: &dsse::PublicKey,
    keyid: &str,
    shown: &str,
    limits: &dsse::Limits,
) -> Result<Payload, String> {
    let opened = crate::signed::open(bytes, limits, |seal, payload| {
        let signers = seal.signers();
        if signers.verify(&[key], 1).is_err() {
            return Ok(Err(unverified(&signers.keyids(), key, keyid)));
        }
        // Checked: the signed bytes (a Metablock's canonical JSON, as large
        // as the link) go before the link is decoded.
        let metablock = matches!(seal, Seal::Metablock(_));
        drop(seal);
        Ok(Ok(read_checked(step, metablock, payload)))
    });
    match opened {
        Err(e) => Err(format!("{shown}: {e}")),
        Ok(Err(why)) => Err(format!("{shown}: {why}")),
        Ok(Ok(payload)) => Ok(payload),
    }
}

/// A link of an X.509 functionary (ITE-7), as in-toto-golang reads it:
/// the Metablock signature whose key id starts with `short_id` (from the
/// file name) carries a certificate that `trust` accepts for `step` at
/// `now`, and the signature under the certificate key's id verifies.
/// Returns the payload and the certificate's key and subject, or why the
/// file does not count.
pub(super) fn check_certificate_signed(
    step: &Step,
    trust: &crate::x509::CertTrust,
    bytes: &[u8],
    short_id: &str,
    shown: &str,
    options: &Options,
) -> Result<(Payload, dsse::PublicKey, String), String> {
    let opened = crate::signed::open(bytes, &options.limits, |seal, payload| {
        let Seal::Metablock(metablock) = &seal else {
            return Ok(Err(
                "a DSSE envelope carries no certificate: X.509 functionaries sign Metablock \
                 links (as in in-toto-golang)"
                    .to_owned(),
            ));
        };
        let Some(signature) = metablock
            .seal()
            .signatures()
            .iter()
            .find(|s| s.keyid.starts_with(short_id))
        else {
            return Ok(Err(format!(
                "no signature under a key id starting with {short_id:?} (the file name's)"
            )));
        };
        // in-toto-golang writes `"cert": ""` beside a key's signature.
        let Some(pem) = signature
            .extra
            .get("cert")
            .and_then(serde_json::Value::as_str)
            .filter(|pem| !pem.is_empty())
        else {
            return Ok(Err(format!(
                "the signature of key {} carries no certificate (\"cert\"), and no key \
                 functionary of step {:?} has that id",
                shown_keyids(std::slice::from_ref(&signature.keyid)),
                step.name.as_str()
            )));
        };
        let cert = match crate::x509::LeafCert::from_pem(pem) {
            Ok(cert) => cert,
            Err(e) => return Ok(Err(e.to_string())),
        };
        if let Err(refusal) = trust.check(
            step.name.as_str(),
            &step.cert_constraints,
            &cert,
            options.now,
        ) {
            return Ok(Err(refusal.to_string()));
        }
        let key = cert.public_key()?;
        let signers = seal.signers();
        if signers.verify(&[&key], 1).is_err() {
            return Ok(Err(format!(
                "certificate {:?}: {}",
                cert.subject,
                unverified(&signers.keyids(), &key, key.legacy_keyid().as_str())
            )));
        }
        drop(seal);
        Ok(Ok((read_checked(step, true, payload), key, cert.subject)))
    });
    match opened {
        Err(e) => Err(format!("{shown}: {e}")),
        Ok(Err(why)) => Err(format!("{shown}: {why}")),
        Ok(Ok(found)) => Ok(found),
    }
}

/// Why a document whose signatures name `keyids` is not signed by the
/// functionary `key`: a signature under its key id (either style) that
/// does not verify, or signatures naming other keys only. Key ids are
/// unauthenticated hints: shown escaped and cut.
fn unverified(keyids: &[String], key: &dsse::PublicKey, keyid: &str) -> String {
    let own = [key.keyid().as_str(), key.legacy_keyid().as_str()];
    if keyids.iter().any(|id| own.contains(&id.as_str())) {
        return format!(
            "not signed by functionary {}: bad signature (the signature under its key id does not verify)",
            short(keyid)
        );
    }
    if keyids.is_empty() {
        return format!(
            "not signed by functionary {} (no signature verifies with its key; none names a key id)",
            short(keyid)
        );
    }
    format!(
        "not signed by functionary {}: wrong key (the signature names key {})",
        short(keyid),
        shown_keyids(keyids)
    )
}

/// Key ids read from an unverified document, for a message: at most 64
/// characters each, escaped, and at most 4 of them.
pub(super) fn shown_keyids(ids: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut shown: Vec<String> = ids
        .iter()
        .take(SHOWN)
        .map(|id| format!("{:?}", id.chars().take(64).collect::<String>()))
        .collect();
    if ids.len() > SHOWN {
        shown.push(format!("and {} more", ids.len() - SHOWN));
    }
    shown.join(", ")
}

/// Checks every key-signed link of `layout` in parallel (parsing, canonical
/// JSON, signatures and decoding dominate verification of big links). Links
/// that turn out to be sublayouts are left for the step loop.
pub(super) fn prefetch(
    layout: &Layout,
    evidence: &dyn Evidence,
    options: &Options,
) -> Result<BTreeMap<(String, String), Checked>, Error> {
    let mut jobs = Vec::new();
    for step in &layout.steps {
        for keyid in &step.pubkeys {
            let Some(Functionary::Key(key)) = layout.keys.get(keyid) else {
                continue;
            };
            let file = step.name.link_file_name(keyid);
            if let Some(bytes) = evidence.read_link(&file)? {
                // Taken by the worker that checks it, and dropped once
                // checked: not every link's bytes held to the end.
                let bytes = std::sync::Mutex::new(bytes);
                jobs.push((step, keyid, key, evidence.describe(&file), bytes));
            }
        }
    }
    // One core: the step loop checks each link as it comes.
    if std::thread::available_parallelism().map_or(1, usize::from) < 2 || jobs.len() < 2 {
        return Ok(BTreeMap::new());
    }
    let checked = crate::parallel::map(
        &jobs,
        0,
        || (),
        |(), (step, keyid, key, shown, bytes)| match check_signed(
            step,
            bytes
                .lock()
                .map(|mut b| std::mem::take(&mut *b))
                .unwrap_or_default(),
            key,
            keyid,
            shown,
            &options.limits,
        ) {
            Err(why) => Some(Checked::Refused(why)),
            Ok(Payload::Layout(_)) => None,
            Ok(Payload::Link(Ok(link))) if link.name != step.name.as_str() => Some(
                Checked::Refused(format!("{shown}: link is for step {:?}", link.name)),
            ),
            Ok(Payload::Link(decoded)) => Some(Checked::Link(decoded)),
        },
    );
    // What is missing (a worker failed) is checked again by the step loop.
    Ok(jobs
        .iter()
        .zip(checked)
        .filter_map(|((step, keyid, ..), checked)| {
            Some((
                (step.name.to_string(), (*keyid).clone()),
                checked.flatten()?,
            ))
        })
        .collect())
}

/// Checks that a keyless verifier vouched for the functionary asked about
/// and for an in-toto payload.
pub(super) fn keyless_payload(
    verified: &crate::verified::VerifiedPayload,
    identity: &str,
    issuer: &str,
) -> Result<(), Error> {
    let wanted = SignerIdentity::Sigstore {
        identity: identity.to_owned(),
        issuer: issuer.to_owned(),
    };
    if verified.signer() != &wanted {
        return Err(Error::Malformed {
            what: "evidence",
            reason: format!("signed by {}, not by {wanted}", verified.signer()),
        });
    }
    if verified.payload_type() != crate::statement::PAYLOAD_TYPE {
        return Err(Error::Malformed {
            what: "evidence",
            reason: format!(
                "payload type is {:?}, not {:?}",
                verified.payload_type(),
                crate::statement::PAYLOAD_TYPE
            ),
        });
    }
    Ok(())
}

/// The link a step's evidence stands for: a link in any encoding, or an
/// attestation of another predicate type (e.g. SLSA provenance) whose
/// subjects are the step's products.
fn evidence_link(step: &Step, payload: dsse::json::Node<'_, '_>) -> Result<Link, Error> {
    let text = |key| payload.get(key).and_then(|n| n.as_str());
    let is_statement =
        text("_type").is_some_and(|t| t.starts_with("https://in-toto.io/Statement/"));
    // Every link predicate version is a link, materials included; other
    // predicates stand for one (their subjects as products).
    if !is_statement || text("predicateType").is_some_and(crate::link::is_link_predicate) {
        return Link::from_node(payload);
    }
    let statement = crate::statement::Statement::decode(payload)?;
    let mut products = crate::digest::ArtifactMap::new();
    for subject in statement.subject {
        let (Some(name), Some(digest)) = (subject.name, subject.digest) else {
            return Err(Error::Malformed {
                what: "attestation",
                reason: "a subject has no name: it cannot be a step's product".into(),
            });
        };
        products.insert(name, digest);
    }
    let mut byproducts = serde_json::Map::new();
    byproducts.insert(
        "predicateType".into(),
        serde_json::Value::String(statement.predicate_type),
    );
    Ok(Link {
        name: step.name.to_string(),
        command: Vec::new(),
        materials: crate::digest::ArtifactMap::new(),
        products,
        byproducts,
        environment: serde_json::Map::new(),
    })
}

pub(super) fn short(keyid: &str) -> &str {
    keyid.get(..8).unwrap_or(keyid)
}
