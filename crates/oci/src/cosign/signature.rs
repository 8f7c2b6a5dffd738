//! Image signatures: cosign's `.sig` layers (the simple-signing payload
//! read strictly after its signature verified, and the image it names held
//! to the one being verified), and Sigstore bundles attached to an image as
//! its signature (`cosign sign --new-bundle-format`'s Statement, or a
//! message signature over the manifest).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use keyless::{Artifact, BundleVerifier, Policy};

use super::{
    manifest, verify_layer, Descriptor, Error, LayerKind, Sha256Digest, SIMPLE_SIGNING_TYPE,
};

/// A verified cosign image signature: the simple-signing payload, its
/// signer, and the image it names (which is the one asked for). Only
/// [`verify_signature_layer`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedSignature {
    verified: keyless::Verified,
    image: Sha256Digest,
    docker_reference: String,
    optional: Value,
    payload: Vec<u8>,
}

impl VerifiedSignature {
    /// Who signed, and what the verification established.
    pub fn verified(&self) -> &keyless::Verified {
        &self.verified
    }

    /// The image's manifest digest the payload names.
    pub fn image(&self) -> &Sha256Digest {
        &self.image
    }

    /// `critical.identity.docker-reference`: the repository signed for.
    pub fn docker_reference(&self) -> &str {
        &self.docker_reference
    }

    /// The payload's `optional` claims (annotations given to `cosign sign -a`).
    pub fn optional(&self) -> &Value {
        &self.optional
    }

    /// The simple-signing payload, as signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// A simple-signing payload as cosign writes it (sigstore/sigstore
/// `pkg/signature/payload`): `critical` is required and closed.
#[derive(Deserialize)]
struct WireSimpleSigning {
    critical: WireCritical,
    #[serde(default)]
    optional: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCritical {
    identity: WireIdentity,
    image: WireImage,
    #[serde(rename = "type")]
    type_: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireIdentity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireImage {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// Verifies one layer of an image's `.sig` manifest: the signature over the
/// payload by the signer `policy` names, the SET over the logged
/// `hashedrekord` body and its agreement with the signature and payload;
/// then that the verified payload is a cosign image signature naming
/// `image` (another digest is [`Error::ImageMismatch`], naming both).
pub fn verify_signature_layer(
    verifier: &BundleVerifier,
    image: &Sha256Digest,
    descriptor: &Descriptor,
    blob: &[u8],
    policy: &Policy,
) -> Result<VerifiedSignature, Error> {
    verify_layer(descriptor, blob, LayerKind::Signature, policy, |bundle| {
        let verified = verifier.verify(bundle, Artifact::Bytes(blob), policy)?;
        // `blob` is what the signature was verified over.
        let wire: WireSimpleSigning = manifest::strict("simple-signing payload", blob)?;
        if wire.critical.type_ != SIMPLE_SIGNING_TYPE {
            return Err(Error::Unsupported {
                what: "simple-signing payload",
                found: format!(
                    "critical.type {}",
                    keyless::untrusted_text(&wire.critical.type_)
                ),
                expected: SIMPLE_SIGNING_TYPE.into(),
            });
        }
        let named = wire.critical.image.docker_manifest_digest;
        match named.parse::<Sha256Digest>() {
            Ok(digest) if digest == *image => {}
            Ok(digest) => {
                return Err(Error::ImageMismatch {
                    expected: *image,
                    found: digest.to_string(),
                })
            }
            Err(_) => {
                return Err(Error::ImageMismatch {
                    expected: *image,
                    found: keyless::untrusted_text(&named),
                })
            }
        }
        Ok(VerifiedSignature {
            verified,
            image: *image,
            docker_reference: wire.critical.identity.docker_reference,
            optional: wire.optional,
            payload: blob.to_vec(),
        })
    })
}

/// A simple-signing payload for `image` in `repository`, as `cosign sign`
/// writes it (for tests and fixtures; `optional` null).
pub fn simple_signing_payload(repository: &str, image: &Sha256Digest) -> Vec<u8> {
    json!({
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": image.to_string()},
            "type": SIMPLE_SIGNING_TYPE,
        },
        "optional": null,
    })
    .to_string()
    .into_bytes()
}

/// The predicate type of an image signature in the bundle format: `cosign
/// sign --new-bundle-format` signs an in-toto Statement of this type, the
/// image digest its subject and its predicate empty, as a DSSE bundle
/// attached like an attestation (sigstore/cosign `pkg/types/predicate.go`,
/// `cmd/cosign/cli/sign/sign.go`).
pub const COSIGN_SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";

/// Verifies a Sigstore bundle attached to an image (an OCI referrer) as a
/// signature of `image`: a DSSE bundle whose verified Statement names
/// `image` and has predicate type [`COSIGN_SIGN_PREDICATE_TYPE`] (any other
/// type is an attestation, not a signature: [`Error::Unsupported`]), or a
/// message-signature bundle whose message digest is `image` (a signature of
/// the manifest's bytes). Returns the signer.
pub fn verify_signature_bundle(
    verifier: &BundleVerifier,
    image: &Sha256Digest,
    bundle: &[u8],
    policy: &Policy,
) -> Result<keyless::Verified, Error> {
    let artifact = Artifact::Sha256(image.bytes());
    let is_dsse =
        dsse::json::Tree::parse(bundle).is_ok_and(|tree| tree.root().get("dsseEnvelope").is_some());
    if !is_dsse {
        return Ok(verifier.verify(bundle, artifact, policy)?);
    }
    let attestation = verifier.verify_attestation(bundle, Some(artifact), policy)?;
    match attestation.statement() {
        Some(statement) if statement.predicate_type == COSIGN_SIGN_PREDICATE_TYPE => {
            Ok(attestation.verified().clone())
        }
        Some(statement) => Err(Error::Unsupported {
            what: "image signature bundle",
            found: format!(
                "an attestation of predicate type {}, not an image signature",
                keyless::untrusted_text(&statement.predicate_type)
            ),
            expected: format!(
                "a {COSIGN_SIGN_PREDICATE_TYPE} Statement or a message signature \
                 (verify attestations with verify-attestation)"
            ),
        }),
        None => Err(Error::Unsupported {
            what: "image signature bundle",
            found: format!(
                "a DSSE payload of type {}",
                keyless::untrusted_text(attestation.payload_type())
            ),
            expected: "an in-toto Statement".into(),
        }),
    }
}

/// The message digest a message-signature bundle says it signs, unverified:
/// for messages only (a refused signature names what it signs).
pub fn claimed_message_digest(bundle: &[u8]) -> Option<Sha256Digest> {
    let tree = dsse::json::Tree::parse(bundle).ok()?;
    let b64 = tree
        .root()
        .get("messageSignature")?
        .get("messageDigest")?
        .get("digest")?
        .as_str()?;
    let bytes = B64.decode(b64).ok()?;
    Some(Sha256Digest::from_bytes(bytes.try_into().ok()?))
}
