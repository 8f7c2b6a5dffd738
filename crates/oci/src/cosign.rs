//! cosign's older layout of signatures and attestations beside an image:
//! tags named after the image's manifest digest, `sha256-<hex>.sig` and
//! `sha256-<hex>.att`, each an image manifest with one layer per signature
//! or attestation. Read from bytes already fetched (the manifest, each
//! layer's blob); this module does no I/O.
//!
//! Each layer is converted into a Sigstore bundle v0.1 (the bundle version
//! whose log entry needs only an inclusion promise, as cosign's annotation
//! carries no inclusion proof) and verified by [`keyless::BundleVerifier`]
//! with its usual checks: the certificate chain to a Fulcio CA of the trusted
//! root at the log's integrated time, the embedded SCT, the SET against the
//! trusted root's Rekor key, the identity policy, and the agreement of the
//! logged body with the envelope or signature. With a key policy the layer is
//! verified as a managed-key bundle.
//!
//! What cosign writes (its `specs/SIGNATURE_SPEC.md`; sigstore/cosign
//! `pkg/oci/static`, `pkg/cosign/bundle`, `pkg/types`; see
//! `testdata/oci/README.md`):
//! - `.att` layers: media type [`DSSE_LAYER_MEDIA_TYPE`], the blob a DSSE
//!   envelope around an in-toto Statement, the signature annotation empty;
//! - `.sig` layers: media type [`SIMPLE_SIGNING_MEDIA_TYPE`], the blob a
//!   simple-signing payload naming the image's manifest digest
//!   (`critical.image.docker-manifest-digest`), the base64 signature over it
//!   in [`SIGNATURE_ANNOTATION`];
//! - on both: the leaf certificate ([`CERTIFICATE_ANNOTATION`]) and its chain
//!   ([`CHAIN_ANNOTATION`]) as PEM, absent for a key; the Rekor entry
//!   ([`BUNDLE_ANNOTATION`]): the SET and the payload it signs (`body`,
//!   `integratedTime`, `logIndex`, `logID`); optionally an RFC 3161 timestamp
//!   ([`RFC3161_ANNOTATION`]), which is not read: the SET gives the verified
//!   time, and cosign stamps other bytes than a bundle's timestamp covers.
//!
//! Deliberately unsupported, each refused with a message saying so: layers
//! without a Rekor entry (`--tlog-upload=false`), Rekor `intoto` 0.0.1
//! entries (cosign before 2.2 logged attestations so) and `rekord` entries
//! (cosign 1.x's signatures): the verifier checks `hashedrekord` 0.0.1,
//! `dsse` 0.0.1 and `intoto` 0.0.2 bodies; envelopes with more than one
//! signature; simple-signing keys in another case than cosign writes them
//! (Go's decoder would accept `Docker-manifest-digest`).

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use keyless::{Artifact, BundleVerifier, Policy, VerifiedAttestation};

pub mod manifest;
mod signature;

pub use manifest::{read_index, read_manifest, Descriptor, Index, Manifest, Sha256Digest};
pub use signature::{
    claimed_message_digest, simple_signing_payload, verify_signature_bundle,
    verify_signature_layer, VerifiedSignature, COSIGN_SIGN_PREDICATE_TYPE,
};

/// Layer media type of an attestation (a DSSE envelope).
pub const DSSE_LAYER_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// Layer media type of an image signature's payload.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The base64 signature over a `.sig` layer (empty on `.att` layers).
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The signer's leaf certificate, PEM.
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// The leaf's chain (intermediates, root), PEM.
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// The Rekor entry: SET and the payload it signs.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// An RFC 3161 timestamp (not read; see the module documentation).
pub const RFC3161_ANNOTATION: &str = "dev.sigstore.cosign/rfc3161timestamp";
/// The `critical.type` of a cosign simple-signing payload.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";
/// The media type of the bundles this module makes.
pub const BUNDLE_V01: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";

/// Largest annotation read (a certificate chain, a Rekor entry), in bytes.
pub const MAX_ANNOTATION_BYTES: usize = 256 << 10;
/// Most certificates read from the certificate and chain annotations.
pub const MAX_CHAIN_CERTIFICATES: usize = 10;
/// Largest layer blob read (an envelope, a payload), in bytes.
pub const MAX_LAYER_BYTES: usize = 16 << 20;

/// Why a cosign layer (or an OCI document) was not read or not verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A document, annotation or blob is not well-formed.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A well-formed input of a kind toto does not read: it names what it
    /// found and what it expected.
    #[error("{what}: found {found}, expected {expected}")]
    Unsupported {
        /// What was being read.
        what: &'static str,
        /// What it is.
        found: String,
        /// What toto reads.
        expected: String,
    },
    /// A fetched blob is not the one its descriptor names.
    #[error("blob mismatch: the descriptor names {expected}, the blob is {found}")]
    BlobMismatch {
        /// The descriptor's digest and size.
        expected: String,
        /// The blob's.
        found: String,
    },
    /// A verified image signature names another image.
    #[error(
        "the signature verified, but signs image {found}, not the image being verified {expected}"
    )]
    ImageMismatch {
        /// The digest being verified.
        expected: Sha256Digest,
        /// The digest the signed payload names.
        found: String,
    },
    /// A Statement's subjects do not name the manifest it is tied to.
    #[error("the Statement's subjects do not name {expected}; they name {found}")]
    SubjectMismatch {
        /// The manifest digest it must name.
        expected: Sha256Digest,
        /// What its subjects name.
        found: String,
    },
    /// The bundle made from the layer did not verify.
    #[error(transparent)]
    Verification(#[from] keyless::Error),
    /// An error about one layer (the cause is its source).
    #[error("{kind} layer {layer}")]
    Layer {
        /// `cosign attestation`, `cosign signature` or `BuildKit attestation`.
        kind: &'static str,
        /// The layer's digest.
        layer: Sha256Digest,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// True for a failed verification (exit 1): a signature, certificate,
    /// log entry or policy check failed, a blob is not what its descriptor
    /// names, a signature names another image. False for input that cannot
    /// be read (exit 2).
    pub fn is_verification_failure(&self) -> bool {
        match self {
            Error::BlobMismatch { .. }
            | Error::ImageMismatch { .. }
            | Error::SubjectMismatch { .. } => true,
            Error::Verification(e) => e.is_verification_failure(),
            Error::Layer { source, .. } => source.is_verification_failure(),
            Error::Malformed { .. } | Error::Unsupported { .. } => false,
        }
    }
}

fn malformed(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Malformed {
        what,
        reason: reason.into(),
    }
}

/// The tag cosign attaches an image's signatures to: `sha256-<hex>.sig`.
pub fn signature_tag(image: &Sha256Digest) -> String {
    format!("sha256-{}.sig", image.hex())
}

/// The tag cosign attaches an image's attestations to: `sha256-<hex>.att`.
pub fn attestation_tag(image: &Sha256Digest) -> String {
    format!("sha256-{}.att", image.hex())
}

/// Which of cosign's two layer kinds a layer is, by its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// A `.att` layer: a DSSE envelope.
    Attestation,
    /// A `.sig` layer: a simple-signing payload and its signature.
    Signature,
}

impl LayerKind {
    /// The kind of the layer `descriptor` describes.
    pub fn of(descriptor: &Descriptor) -> Result<LayerKind, Error> {
        match descriptor.media_type.as_str() {
            DSSE_LAYER_MEDIA_TYPE => Ok(LayerKind::Attestation),
            SIMPLE_SIGNING_MEDIA_TYPE => Ok(LayerKind::Signature),
            other => Err(Error::Unsupported {
                what: "cosign layer",
                found: format!("media type {}", keyless::untrusted_text(other)),
                expected: format!("{DSSE_LAYER_MEDIA_TYPE} or {SIMPLE_SIGNING_MEDIA_TYPE}"),
            }),
        }
    }

    fn name(self) -> &'static str {
        match self {
            LayerKind::Attestation => "cosign attestation",
            LayerKind::Signature => "cosign signature",
        }
    }
}

/// How the bundle made from a layer presents its signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Material {
    /// The certificate annotation (with the chain): for identity policies.
    Certificate,
    /// A public-key hint: for a key policy (any certificate is then left
    /// out; the key named by the policy must verify the signature and be
    /// the one the log entry names).
    PublicKey,
}

impl Material {
    /// The material a policy verifies.
    pub fn for_policy(policy: &Policy) -> Material {
        match policy {
            Policy::Key { .. } => Material::PublicKey,
            _ => Material::Certificate,
        }
    }
}

/// cosign's `dev.sigstore.cosign/bundle` annotation (`RekorBundle`: Go's
/// JSON of `SignedEntryTimestamp []byte` and `Payload RekorPayload`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: WireRekorPayload,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRekorPayload {
    body: String,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logIndex")]
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// The two fields of a Rekor entry body that name its type.
#[derive(Deserialize)]
struct WireBodyKind {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
}

fn annotation<'a>(descriptor: &'a Descriptor, key: &'static str) -> Result<Option<&'a str>, Error> {
    match descriptor.annotation(key) {
        Some(value) if value.len() > MAX_ANNOTATION_BYTES => Err(malformed(
            key,
            format!(
                "{} bytes, more than the {MAX_ANNOTATION_BYTES} read",
                value.len()
            ),
        )),
        Some("") | None => Ok(None),
        Some(value) => Ok(Some(value)),
    }
}

fn base64(what: &'static str, text: &str) -> Result<Vec<u8>, Error> {
    B64.decode(text)
        .map_err(|e| malformed(what, format!("not base64: {e}")))
}

/// The DER of every `CERTIFICATE` block of `pem`, exactly as encoded.
fn pem_certificates(what: &'static str, pem: &str) -> Result<Vec<Vec<u8>>, Error> {
    const END: &str = "-----END CERTIFICATE-----";
    let mut certificates = Vec::new();
    let mut rest = pem.trim_start();
    while !rest.is_empty() {
        let end = rest
            .find(END)
            .ok_or_else(|| malformed(what, "a PEM block has no END CERTIFICATE line"))?;
        let (block, after) = rest.split_at(end + END.len());
        let (label, der) = der::pem::decode_vec(block.as_bytes())
            .map_err(|e| malformed(what, format!("not PEM: {e}")))?;
        if label != "CERTIFICATE" {
            return Err(malformed(
                what,
                format!("a PEM block is {label:?}, not CERTIFICATE"),
            ));
        }
        certificates.push(der);
        if certificates.len() > MAX_CHAIN_CERTIFICATES {
            return Err(malformed(
                what,
                format!("more than {MAX_CHAIN_CERTIFICATES} certificates"),
            ));
        }
        rest = after.trim_start();
    }
    Ok(certificates)
}

/// The bundle's `tlogEntries[0]`, from cosign's Rekor annotation.
fn tlog_entry(descriptor: &Descriptor, kind: LayerKind) -> Result<Value, Error> {
    let Some(text) = annotation(descriptor, BUNDLE_ANNOTATION)? else {
        return Err(Error::Unsupported {
            what: "cosign layer",
            found: format!(
                "no {BUNDLE_ANNOTATION} annotation (signed with --tlog-upload=false: \
                 the signature was never logged)"
            ),
            expected: "a Rekor entry with its SET".into(),
        });
    };
    let wire: WireRekorBundle = manifest::strict(BUNDLE_ANNOTATION, text.as_bytes())?;
    let set = base64("Rekor SET", &wire.signed_entry_timestamp)?;
    let body = base64("Rekor entry body", &wire.payload.body)?;
    let body_kind: WireBodyKind = manifest::strict("Rekor entry body", &body)?;
    let supported = match kind {
        LayerKind::Attestation => &[("dsse", "0.0.1"), ("intoto", "0.0.2")][..],
        LayerKind::Signature => &[("hashedrekord", "0.0.1")][..],
    };
    if !supported.contains(&(body_kind.kind.as_str(), body_kind.api_version.as_str())) {
        let found = format!(
            "a Rekor {} {} entry",
            keyless::untrusted_text(&body_kind.kind),
            keyless::untrusted_text(&body_kind.api_version)
        );
        let found =
            if (body_kind.kind.as_str(), body_kind.api_version.as_str()) == ("intoto", "0.0.1") {
                format!(
                    "{found} (cosign before 2.2 logged attestations so; its body cannot be \
                 checked against the envelope)"
                )
            } else {
                found
            };
        let expected: Vec<String> = supported.iter().map(|(k, v)| format!("{k} {v}")).collect();
        return Err(Error::Unsupported {
            what: "cosign layer's Rekor entry",
            found,
            expected: expected.join(" or "),
        });
    }
    let log_id = hex::decode(&wire.payload.log_id)
        .ok()
        .filter(|id| id.len() == 32)
        .ok_or_else(|| malformed("Rekor logID", "not 64 hex digits"))?;
    if wire.payload.integrated_time < 0 || wire.payload.log_index < 0 {
        return Err(malformed(
            BUNDLE_ANNOTATION,
            "negative integratedTime or logIndex",
        ));
    }
    Ok(json!({
        "logIndex": wire.payload.log_index.to_string(),
        "logId": {"keyId": B64.encode(log_id)},
        "kindVersion": {"kind": body_kind.kind, "version": body_kind.api_version},
        "integratedTime": wire.payload.integrated_time.to_string(),
        "inclusionPromise": {"signedEntryTimestamp": B64.encode(set)},
        "canonicalizedBody": B64.encode(body),
    }))
}

/// The bundle's `verificationMaterial`.
fn verification_material(
    descriptor: &Descriptor,
    kind: LayerKind,
    material: Material,
) -> Result<Value, Error> {
    let mut out = serde_json::Map::new();
    match material {
        Material::PublicKey => {
            out.insert("publicKey".into(), json!({"hint": ""}));
        }
        Material::Certificate => {
            let Some(leaf) = annotation(descriptor, CERTIFICATE_ANNOTATION)? else {
                return Err(Error::Unsupported {
                    what: "cosign layer",
                    found: "no certificate (it was signed with a key)".into(),
                    expected: "a certificate for the identity policy; verify with the public key"
                        .into(),
                });
            };
            let mut certificates = pem_certificates(CERTIFICATE_ANNOTATION, leaf)?;
            if certificates.len() != 1 {
                return Err(malformed(
                    CERTIFICATE_ANNOTATION,
                    format!("{} certificates, expected one", certificates.len()),
                ));
            }
            if let Some(chain) = annotation(descriptor, CHAIN_ANNOTATION)? {
                certificates.extend(pem_certificates(CHAIN_ANNOTATION, chain)?);
            }
            if certificates.len() > MAX_CHAIN_CERTIFICATES {
                return Err(malformed(
                    CHAIN_ANNOTATION,
                    format!("more than {MAX_CHAIN_CERTIFICATES} certificates"),
                ));
            }
            let certificates: Vec<Value> = certificates
                .iter()
                .map(|der| json!({"rawBytes": B64.encode(der)}))
                .collect();
            out.insert(
                "x509CertificateChain".into(),
                json!({ "certificates": certificates }),
            );
        }
    }
    // The RFC 3161 annotation is not read: cosign stamps other bytes than
    // a bundle's timestamp covers (an attestation's whole envelope), and the
    // SET already gives the verified time.
    out.insert("tlogEntries".into(), json!([tlog_entry(descriptor, kind)?]));
    Ok(Value::Object(out))
}

/// The bundle's content: the envelope of an `.att` layer, the signature
/// (and the payload's digest) of a `.sig` layer.
fn content(
    descriptor: &Descriptor,
    blob: &[u8],
    kind: LayerKind,
) -> Result<(String, Value), Error> {
    match kind {
        LayerKind::Attestation => {
            if annotation(descriptor, SIGNATURE_ANNOTATION)?.is_some() {
                return Err(malformed(
                    SIGNATURE_ANNOTATION,
                    "an attestation's signature is in its envelope; the annotation must be empty",
                ));
            }
            let limits = dsse::Limits {
                max_envelope_bytes: MAX_LAYER_BYTES,
                ..dsse::Limits::default()
            };
            let envelope = dsse::Envelope::from_json(blob, &limits)
                .map_err(|e| malformed("DSSE envelope layer", e.to_string()))?;
            let [signature] = envelope.signatures() else {
                return Err(Error::Unsupported {
                    what: "DSSE envelope layer",
                    found: format!("{} signatures", envelope.signatures().len()),
                    expected: "one signature (a Sigstore bundle carries one)".into(),
                });
            };
            let mut sig = json!({"sig": B64.encode(&signature.sig)});
            if let (Some(keyid), Some(object)) = (&signature.keyid, sig.as_object_mut()) {
                object.insert("keyid".into(), json!(keyid));
            }
            Ok((
                "dsseEnvelope".into(),
                json!({
                    "payload": B64.encode(envelope.payload()),
                    "payloadType": envelope.payload_type(),
                    "signatures": [sig],
                }),
            ))
        }
        LayerKind::Signature => {
            let Some(signature) = annotation(descriptor, SIGNATURE_ANNOTATION)? else {
                return Err(malformed(
                    SIGNATURE_ANNOTATION,
                    "a signature layer has no signature annotation",
                ));
            };
            let signature = base64("signature annotation", signature)?;
            Ok((
                "messageSignature".into(),
                json!({
                    "messageDigest": {
                        "algorithm": "SHA2_256",
                        "digest": B64.encode(Sha256Digest::of(blob).bytes()),
                    },
                    "signature": B64.encode(signature),
                }),
            ))
        }
    }
}

/// The Sigstore bundle v0.1 (JSON) a cosign layer amounts to: its blob,
/// checked against `descriptor`, and its annotations. Nothing is verified
/// here; [`verify_attestation_layer`] and [`verify_signature_layer`] verify
/// what this returns.
pub fn layer_bundle(
    descriptor: &Descriptor,
    blob: &[u8],
    material: Material,
) -> Result<Vec<u8>, Error> {
    let kind = LayerKind::of(descriptor)?;
    in_layer(kind, descriptor, || {
        bundle_of(descriptor, blob, kind, material)
    })
}

fn bundle_of(
    descriptor: &Descriptor,
    blob: &[u8],
    kind: LayerKind,
    material: Material,
) -> Result<Vec<u8>, Error> {
    if blob.len() > MAX_LAYER_BYTES {
        return Err(malformed(
            "cosign layer",
            format!("{} bytes, more than the {MAX_LAYER_BYTES} read", blob.len()),
        ));
    }
    descriptor.check_blob(blob)?;
    let (content_key, content) = content(descriptor, blob, kind)?;
    let mut bundle = serde_json::Map::new();
    bundle.insert("mediaType".into(), json!(BUNDLE_V01));
    bundle.insert(
        "verificationMaterial".into(),
        verification_material(descriptor, kind, material)?,
    );
    bundle.insert(content_key, content);
    Ok(Value::Object(bundle).to_string().into_bytes())
}

fn in_layer<T>(
    kind: LayerKind,
    descriptor: &Descriptor,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    f().map_err(|source| Error::Layer {
        kind: kind.name(),
        layer: descriptor.digest,
        source: Box::new(source),
    })
}

fn expect_kind(descriptor: &Descriptor, wanted: LayerKind) -> Result<(), Error> {
    let kind = LayerKind::of(descriptor)?;
    if kind != wanted {
        let expected = match wanted {
            LayerKind::Attestation => DSSE_LAYER_MEDIA_TYPE,
            LayerKind::Signature => SIMPLE_SIGNING_MEDIA_TYPE,
        };
        return Err(Error::Unsupported {
            what: "cosign layer",
            found: format!("a {} layer ({})", kind.name(), descriptor.media_type),
            expected: expected.into(),
        });
    }
    Ok(())
}

/// `verify` on the bundle a layer of `kind` amounts to, for `policy`;
/// errors name the layer.
pub(crate) fn verify_layer<T>(
    descriptor: &Descriptor,
    blob: &[u8],
    kind: LayerKind,
    policy: &Policy,
    verify: impl FnOnce(&[u8]) -> Result<T, Error>,
) -> Result<T, Error> {
    expect_kind(descriptor, kind)?;
    in_layer(kind, descriptor, || {
        verify(&bundle_of(
            descriptor,
            blob,
            kind,
            Material::for_policy(policy),
        )?)
    })
}

/// Verifies one layer of an image's `.att` manifest: the envelope's
/// signature by the signer `policy` names (certificate to a Fulcio CA of
/// the verifier's trusted root, SCT, identity; or the policy's key), the
/// SET over the logged body and the body's agreement with the envelope, and
/// the Statement's subjects naming `image`. Returns the verified payload.
pub fn verify_attestation_layer(
    verifier: &BundleVerifier,
    image: &Sha256Digest,
    descriptor: &Descriptor,
    blob: &[u8],
    policy: &Policy,
) -> Result<VerifiedAttestation, Error> {
    verify_layer(descriptor, blob, LayerKind::Attestation, policy, |bundle| {
        Ok(verifier.verify_attestation(bundle, Some(Artifact::Sha256(image.bytes())), policy)?)
    })
}

/// The annotations of a layer as cosign writes them, for fixtures and
/// tests: `signature` (empty for attestations), the PEM `certificate` and
/// `chain` (absent for a key), the Rekor entry.
pub fn layer_annotations(
    signature: &str,
    certificate_and_chain: Option<(&str, &str)>,
    rekor_bundle: &Value,
) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    annotations.insert(SIGNATURE_ANNOTATION.to_owned(), signature.to_owned());
    if let Some((certificate, chain)) = certificate_and_chain {
        annotations.insert(CERTIFICATE_ANNOTATION.to_owned(), certificate.to_owned());
        annotations.insert(CHAIN_ANNOTATION.to_owned(), chain.to_owned());
    }
    annotations.insert(BUNDLE_ANNOTATION.to_owned(), rekor_bundle.to_string());
    annotations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(media_type: &str, blob: &[u8], annotations: &[(&str, &str)]) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: Sha256Digest::of(blob),
            size: blob.len() as u64,
            annotations: annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            platform: None,
        }
    }

    fn rekor_bundle(kind: &str, version: &str) -> String {
        let body = json!({"apiVersion": version, "kind": kind, "spec": {}}).to_string();
        json!({
            "SignedEntryTimestamp": B64.encode(b"set"),
            "Payload": {
                "body": B64.encode(body),
                "integratedTime": 1_700_000_000,
                "logIndex": 7,
                "logID": "ab".repeat(32),
            },
        })
        .to_string()
    }

    const ENVELOPE: &[u8] =
        br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AQID"}]}"#;

    /// [`ENVELOPE`]'s layer, its Rekor bundle annotation a `kind` `version`
    /// entry.
    fn logged_envelope(kind: &str, version: &str) -> Descriptor {
        let rekor = rekor_bundle(kind, version);
        descriptor(
            DSSE_LAYER_MEDIA_TYPE,
            ENVELOPE,
            &[(BUNDLE_ANNOTATION, &rekor)],
        )
    }

    #[test]
    fn an_attestation_layer_becomes_a_v01_bundle_with_the_set_as_inclusion_promise() {
        let rekor = rekor_bundle("dsse", "0.0.1");
        let d = descriptor(
            DSSE_LAYER_MEDIA_TYPE,
            ENVELOPE,
            &[(SIGNATURE_ANNOTATION, ""), (BUNDLE_ANNOTATION, &rekor)],
        );
        let bundle = layer_bundle(&d, ENVELOPE, Material::PublicKey).unwrap();
        let bundle: Value = serde_json::from_slice(&bundle).unwrap();
        assert_eq!(bundle["mediaType"], BUNDLE_V01);
        let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
        assert_eq!(
            entry["kindVersion"],
            json!({"kind": "dsse", "version": "0.0.1"})
        );
        assert_eq!(entry["logIndex"], "7");
        assert_eq!(entry["integratedTime"], "1700000000");
        assert_eq!(entry["logId"]["keyId"], B64.encode([0xab; 32]));
        assert_eq!(
            entry["inclusionPromise"]["signedEntryTimestamp"],
            B64.encode(b"set")
        );
        assert!(entry.get("inclusionProof").is_none());
        assert_eq!(bundle["dsseEnvelope"]["signatures"][0]["sig"], "AQID");
        assert_eq!(bundle["verificationMaterial"]["publicKey"]["hint"], "");
    }

    #[test]
    fn layers_toto_cannot_check_are_refused_naming_what_they_are() {
        let unsupported =
            |d: &Descriptor, blob: &[u8], material| match layer_bundle(d, blob, material) {
                Err(Error::Layer { source, .. }) => match *source {
                    Error::Unsupported {
                        found, expected, ..
                    } => (found, expected),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            };
        // cosign < 2.2's intoto 0.0.1 entries.
        let d = logged_envelope("intoto", "0.0.1");
        let (found, expected) = unsupported(&d, ENVELOPE, Material::PublicKey);
        assert!(
            found.contains("intoto 0.0.1") && found.contains("cosign before 2.2"),
            "{found}"
        );
        assert_eq!(expected, "dsse 0.0.1 or intoto 0.0.2");
        // cosign 1.x's rekord entries.
        let rekor = rekor_bundle("rekord", "0.0.1");
        let d = descriptor(
            SIMPLE_SIGNING_MEDIA_TYPE,
            b"{}",
            &[(SIGNATURE_ANNOTATION, "AQID"), (BUNDLE_ANNOTATION, &rekor)],
        );
        let (found, expected) = unsupported(&d, b"{}", Material::PublicKey);
        assert!(found.contains("rekord 0.0.1"), "{found}");
        assert_eq!(expected, "hashedrekord 0.0.1");
        // Never logged.
        let d = descriptor(DSSE_LAYER_MEDIA_TYPE, ENVELOPE, &[]);
        let (found, _) = unsupported(&d, ENVELOPE, Material::PublicKey);
        assert!(found.contains("--tlog-upload=false"), "{found}");
        // A key-signed layer under an identity policy.
        let d = logged_envelope("dsse", "0.0.1");
        let (found, expected) = unsupported(&d, ENVELOPE, Material::Certificate);
        assert!(found.contains("signed with a key"), "{found}");
        assert!(expected.contains("public key"), "{expected}");
        // Another layer media type.
        let d = descriptor("application/octet-stream", ENVELOPE, &[]);
        assert!(matches!(
            layer_bundle(&d, ENVELOPE, Material::PublicKey),
            Err(Error::Unsupported { .. })
        ));
    }

    #[test]
    fn a_blob_other_than_the_descriptors_is_a_verification_failure() {
        let d = logged_envelope("dsse", "0.0.1");
        let other = br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AQIE"}]}"#;
        let err = layer_bundle(&d, other, Material::PublicKey).unwrap_err();
        assert!(err.is_verification_failure(), "{err}");
        let Error::Layer { source, .. } = &err else {
            panic!("{err}")
        };
        assert!(matches!(**source, Error::BlobMismatch { .. }), "{source}");
    }

    #[test]
    fn pem_blocks_are_decoded_to_their_exact_der() {
        let der = [0x30, 0x03, 0x02, 0x01, 0x01];
        let pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &der).unwrap();
        let two = format!("{pem}{pem}");
        assert_eq!(
            pem_certificates("chain", &two).unwrap(),
            vec![der.to_vec(); 2]
        );
        let key = der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &der).unwrap();
        assert!(pem_certificates("chain", &key).is_err());
        assert!(pem_certificates("chain", "garbage").is_err());
        let many = pem.repeat(MAX_CHAIN_CERTIFICATES + 1);
        assert!(pem_certificates("chain", &many).is_err());
    }

    #[test]
    fn tags_are_named_after_the_image_digest() {
        let image = Sha256Digest::from_bytes([0x0f; 32]);
        assert_eq!(
            signature_tag(&image),
            format!("sha256-{}.sig", "0f".repeat(32))
        );
        assert_eq!(
            attestation_tag(&image),
            format!("sha256-{}.att", "0f".repeat(32))
        );
    }
}
