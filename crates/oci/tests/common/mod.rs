//! cosign's layouts built for real: keyless layers signed through the
//! loopback testbed's Fulcio and Rekor (`keyless::KeylessSigner`), key layers
//! logged in its Rekor, each laid out as cosign writes it (sigstore/cosign
//! `pkg/oci/static`: the blob, the signature, certificate, chain and Rekor
//! bundle annotations; `pkg/cosign/bundle.EntryToBundle` for the latter).
//! Also the generator and checker of the committed fixtures
//! (`testdata/oci/cosign/`).

#![allow(dead_code, reason = "each test binary uses part of it")]

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use keyless::{BundleVerifier, IdentityToken, KeylessSigner, Policy, TrustConfig, TrustRoot};
use oci::cosign::{self, Descriptor, Sha256Digest};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{json, Value};

/// The repository the fixtures' images live in.
pub const REPOSITORY: &str = "registry.example/team/app";
/// The predicate type of the fixtures' attestations.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";

/// A running testbed and a verifier of its trusted root.
pub struct Cosign {
    pub tb: testbed::Testbed,
    _dir: tempfile::TempDir,
    pub config: TrustConfig,
    pub verifier: BundleVerifier,
    /// The Fulcio chain (intermediate, root) as cosign's chain annotation.
    chain_pem: String,
}

/// One layer as cosign writes it, with what it was made of.
#[derive(Debug, Clone)]
pub struct Layer {
    pub descriptor: Descriptor,
    pub blob: Vec<u8>,
    pub rekor_bundle: Value,
    signature: String,
    certificate: Option<(String, String)>,
    predicate_type: Option<String>,
}

impl Layer {
    fn new(
        media_type: &str,
        blob: Vec<u8>,
        signature: &str,
        certificate: Option<(String, String)>,
        rekor_bundle: Value,
        predicate_type: Option<&str>,
    ) -> Layer {
        let mut annotations = cosign::layer_annotations(
            signature,
            certificate
                .as_ref()
                .map(|(c, chain)| (c.as_str(), chain.as_str())),
            &rekor_bundle,
        );
        if let Some(predicate_type) = predicate_type {
            // `cosign attest` adds it beside the others.
            annotations.insert("predicateType".into(), predicate_type.into());
        }
        Layer {
            descriptor: Descriptor {
                media_type: media_type.into(),
                digest: Sha256Digest::of(&blob),
                size: blob.len() as u64,
                annotations,
                platform: None,
            },
            blob,
            rekor_bundle,
            signature: signature.into(),
            certificate,
            predicate_type: predicate_type.map(str::to_owned),
        }
    }

    /// The same layer with another Rekor bundle annotation.
    pub fn with_rekor_bundle(&self, rekor_bundle: &Value) -> Layer {
        self.remade(self.blob.clone(), rekor_bundle.clone())
    }

    /// The same annotations on another blob (its descriptor names it).
    pub fn with_blob(&self, blob: &[u8]) -> Layer {
        self.remade(blob.to_vec(), self.rekor_bundle.clone())
    }

    /// This layer's signature, certificate and predicate type beside `blob`
    /// and `rekor_bundle`.
    fn remade(&self, blob: Vec<u8>, rekor_bundle: Value) -> Layer {
        Layer::new(
            &self.descriptor.media_type,
            blob,
            &self.signature,
            self.certificate.clone(),
            rekor_bundle,
            self.predicate_type.as_deref(),
        )
    }

    /// The `.att` / `.sig` manifest holding this layer, as cosign writes it
    /// (go-containerregistry's OCI manifest, a config naming the layer).
    pub fn manifest(&self) -> Vec<u8> {
        let config = json!({
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [self.descriptor.digest.to_string()]},
            "config": {},
        })
        .to_string();
        json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": config.len(),
                "digest": Sha256Digest::of(config.as_bytes()).to_string(),
            },
            "layers": [{
                "mediaType": self.descriptor.media_type,
                "size": self.descriptor.size,
                "digest": self.descriptor.digest.to_string(),
                "annotations": self.descriptor.annotations,
            }],
        })
        .to_string()
        .into_bytes()
    }
}

/// A P-256 signing key (cosign's `generate-key-pair` makes ECDSA P-256).
pub struct Key(SigningKey);

impl Key {
    pub fn random() -> Key {
        Key(SigningKey::random(&mut rand_core_os()))
    }

    pub fn pem(&self) -> String {
        use p256::pkcs8::EncodePublicKey as _;
        self.0
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: DerSignature = self.0.sign(message);
        sig.as_bytes().to_vec()
    }
}

fn rand_core_os() -> p256::elliptic_curve::rand_core::OsRng {
    p256::elliptic_curve::rand_core::OsRng
}

/// A Statement about `image` in [`REPOSITORY`].
pub fn statement(image: &Sha256Digest) -> Vec<u8> {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": REPOSITORY, "digest": {"sha256": image.hex()}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"buildDefinition": {"buildType": "https://example.com/build"}},
    })
    .to_string()
    .into_bytes()
}

/// cosign's Rekor bundle annotation (`EntryToBundle`) from a v0.3 bundle's
/// log entry, which holds the same fields of Rekor's answer.
fn rekor_bundle_of(bundle: &Value) -> Value {
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    let int = |v: &Value| -> i64 {
        v.as_str()
            .map(|s| s.parse().unwrap())
            .or_else(|| v.as_i64())
            .unwrap()
    };
    json!({
        "SignedEntryTimestamp": entry["inclusionPromise"]["signedEntryTimestamp"],
        "Payload": {
            "body": entry["canonicalizedBody"],
            "integratedTime": int(&entry["integratedTime"]),
            "logIndex": int(&entry["logIndex"]),
            "logID": hex::encode(B64.decode(entry["logId"]["keyId"].as_str().unwrap()).unwrap()),
        },
    })
}

/// cosign's Rekor bundle annotation from Rekor's answer to an upload.
fn rekor_bundle_of_answer(answer: &Value) -> Value {
    let (_, entry) = answer.as_object().unwrap().iter().next().unwrap();
    json!({
        "SignedEntryTimestamp": entry["verification"]["signedEntryTimestamp"],
        "Payload": {
            "body": entry["body"],
            "integratedTime": entry["integratedTime"],
            "logIndex": entry["logIndex"],
            "logID": entry["logID"],
        },
    })
}

impl Cosign {
    pub fn start() -> Cosign {
        let dir = tempfile::tempdir().unwrap();
        let tb = testkit::testbed(dir.path());
        let config = TrustConfig::from_json(&testkit::trust_config(&tb)).unwrap();
        let verifier = BundleVerifier::new(&config.root).unwrap();
        let chain = testkit::get_json(tb.url(), "/api/v2/trustBundle");
        let chain_pem = chain["chains"][0]["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect::<String>();
        Cosign {
            tb,
            _dir: dir,
            config,
            verifier,
            chain_pem,
        }
    }

    /// `layer` verified as an attestation about `image` under `policy`.
    pub fn verify_attestation(
        &self,
        layer: &Layer,
        image: &Sha256Digest,
        policy: &Policy,
    ) -> Result<keyless::VerifiedAttestation, cosign::Error> {
        cosign::verify_attestation_layer(
            &self.verifier,
            image,
            &layer.descriptor,
            &layer.blob,
            policy,
        )
    }

    /// `layer` verified as a signature of `image` under `policy`.
    pub fn verify_signature(
        &self,
        layer: &Layer,
        image: &Sha256Digest,
        policy: &Policy,
    ) -> Result<cosign::VerifiedSignature, cosign::Error> {
        cosign::verify_signature_layer(
            &self.verifier,
            image,
            &layer.descriptor,
            &layer.blob,
            policy,
        )
    }

    /// The policy of the fixtures' signer.
    pub fn alice(&self) -> Policy {
        Policy::Identity {
            identity: "alice@example.com".into(),
            issuer: self.tb.issuer().into(),
        }
    }

    fn signer(&self, identity: &str) -> KeylessSigner {
        let token =
            IdentityToken::parse(&testkit::token(&self.tb, identity), testbed::now()).unwrap();
        KeylessSigner::new(&self.config, &token).unwrap()
    }

    fn certificate(&self, bundle: &Value) -> (String, String) {
        (testkit::leaf_pem(bundle), self.chain_pem.clone())
    }

    /// `cosign attest` of a Statement about `image`, keyless as `identity`
    /// (Rekor `dsse` 0.0.1, as cosign ≥ 2.2 logs attestations).
    pub fn keyless_attestation(&self, identity: &str, image: &Sha256Digest) -> Layer {
        let signed = self
            .signer(identity)
            .sign_dsse(attest::PAYLOAD_TYPE, &statement(image))
            .unwrap();
        let bundle: Value = serde_json::from_str(&signed.json).unwrap();
        // cosign's envelope JSON (`dsse.WrapSigner`): payloadType, payload,
        // signatures with an empty keyid.
        let envelope = &bundle["dsseEnvelope"];
        let blob = format!(
            r#"{{"payloadType":{},"payload":{},"signatures":[{{"keyid":"","sig":{}}}]}}"#,
            envelope["payloadType"], envelope["payload"], envelope["signatures"][0]["sig"]
        );
        Layer::new(
            cosign::DSSE_LAYER_MEDIA_TYPE,
            blob.into_bytes(),
            "",
            Some(self.certificate(&bundle)),
            rekor_bundle_of(&bundle),
            Some(PREDICATE_TYPE),
        )
    }

    /// `cosign sign` keyless as `identity`: a simple-signing payload naming
    /// `named` (Rekor `hashedrekord` 0.0.1).
    pub fn keyless_signature(&self, identity: &str, named: &Sha256Digest) -> Layer {
        self.keyless_signature_of(identity, cosign::simple_signing_payload(REPOSITORY, named))
    }

    /// `cosign sign` keyless as `identity` over any `payload`.
    pub fn keyless_signature_of(&self, identity: &str, payload: Vec<u8>) -> Layer {
        let signed = self.signer(identity).sign_blob(&payload).unwrap();
        let bundle: Value = serde_json::from_str(&signed.json).unwrap();
        let signature = bundle["messageSignature"]["signature"].as_str().unwrap();
        Layer::new(
            cosign::SIMPLE_SIGNING_MEDIA_TYPE,
            payload,
            signature,
            Some(self.certificate(&bundle)),
            rekor_bundle_of(&bundle),
            None,
        )
    }

    /// Logs a Rekor `kind` 0.0.1 entry of `spec` in the testbed's Rekor,
    /// as `cosign --key` uploads one: cosign's Rekor bundle annotation of
    /// the answer.
    fn log(&self, kind: &str, spec: Value) -> Value {
        let body = json!({"apiVersion": "0.0.1", "kind": kind, "spec": spec});
        let (status, answer) = testkit::post_json(self.tb.url(), "/api/v1/log/entries", &body);
        assert_eq!(status, 201, "{kind} entry: {answer}");
        rekor_bundle_of_answer(&answer)
    }

    /// `cosign attest --key`: the envelope logged as Rekor `dsse` 0.0.1 with
    /// the public key as verifier.
    pub fn key_attestation(&self, key: &Key, image: &Sha256Digest) -> Layer {
        let payload = statement(image);
        let sig = key.sign(&dsse::pae::pae(attest::PAYLOAD_TYPE, &payload));
        let blob = json!({
            "payloadType": attest::PAYLOAD_TYPE,
            "payload": B64.encode(&payload),
            "signatures": [{"keyid": "", "sig": B64.encode(&sig)}],
        })
        .to_string();
        let rekor_bundle = self.log(
            "dsse",
            json!({"proposedContent": {
                "envelope": blob,
                "verifiers": [B64.encode(key.pem())],
            }}),
        );
        Layer::new(
            cosign::DSSE_LAYER_MEDIA_TYPE,
            blob.into_bytes(),
            "",
            None,
            rekor_bundle,
            Some(PREDICATE_TYPE),
        )
    }

    /// `cosign sign --key`: the signature logged as Rekor `hashedrekord`
    /// 0.0.1 with the public key.
    pub fn key_signature(&self, key: &Key, image: &Sha256Digest) -> Layer {
        let payload = cosign::simple_signing_payload(REPOSITORY, image);
        let sig = B64.encode(key.sign(&payload));
        let rekor_bundle = self.log(
            "hashedrekord",
            json!({
                "data": {"hash": {"algorithm": "sha256", "value": Sha256Digest::of(&payload).hex()}},
                "signature": {"content": sig, "publicKey": {"content": B64.encode(key.pem())}},
            }),
        );
        Layer::new(
            cosign::SIMPLE_SIGNING_MEDIA_TYPE,
            payload,
            &sig,
            None,
            rekor_bundle,
            None,
        )
    }
}

/// `testdata/oci/cosign/`.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/oci/cosign")
}

/// The image digests the fixtures are about.
pub fn fixture_image(n: u8) -> Sha256Digest {
    Sha256Digest::of(format!("fixture image manifest {n}").as_bytes())
}

/// Writes the committed fixtures from a fresh testbed.
pub fn write_fixtures() {
    let cosign = Cosign::start();
    let dir = fixtures_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let key = Key::random();
    std::fs::write(dir.join("key.pub"), key.pem()).unwrap();
    std::fs::copy(cosign.tb.trusted_root_path(), dir.join("trusted_root.json")).unwrap();
    let (one, two) = (fixture_image(1), fixture_image(2));
    let identity = json!({"identity": "alice@example.com", "issuer": cosign.tb.issuer()});
    let key_policy = json!({"key": "key.pub"});
    // Each verified against image one.
    #[rustfmt::skip]
    let cases = [
        ("keyless-attestation", cosign.keyless_attestation("alice@example.com", &one), &identity, "verified"),
        ("keyless-signature", cosign.keyless_signature("alice@example.com", &one), &identity, "verified"),
        ("key-attestation", cosign.key_attestation(&key, &one), &key_policy, "verified"),
        ("key-signature", cosign.key_signature(&key, &one), &key_policy, "verified"),
        ("signature-of-another-image", cosign.keyless_signature("alice@example.com", &two), &identity, "fails: signs image"),
        ("attestation-of-another-identity", cosign.keyless_attestation("mallory@example.com", &one), &identity, "fails: mallory@example.com"),
    ];
    let mut listed = Vec::new();
    for (name, layer, policy, expect) in cases {
        std::fs::write(dir.join(format!("{name}.manifest.json")), layer.manifest()).unwrap();
        std::fs::write(dir.join(format!("{name}.layer")), &layer.blob).unwrap();
        listed.push(json!({
            "name": name,
            "image": one.to_string(),
            "policy": policy,
            "expect": expect,
        }));
    }
    let cases = serde_json::to_string_pretty(&json!({ "cases": listed })).unwrap();
    std::fs::write(dir.join("cases.json"), format!("{cases}\n")).unwrap();
}

/// Verifies every committed fixture as `cases.json` says it must.
pub fn check_committed_fixtures() {
    let dir = fixtures_dir();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let root =
        TrustRoot::from_json(&String::from_utf8(read("trusted_root.json")).unwrap()).unwrap();
    let verifier = BundleVerifier::new(&root).unwrap();
    let cases: Value = serde_json::from_slice(&read("cases.json")).unwrap();
    let mut seen = BTreeMap::new();
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let manifest = cosign::read_manifest(&read(&format!("{name}.manifest.json"))).unwrap();
        let layer = &manifest.layers[0];
        let blob = read(&format!("{name}.layer"));
        let image: Sha256Digest = case["image"].as_str().unwrap().parse().unwrap();
        let policy = match case["policy"]["key"].as_str() {
            Some(file) => Policy::Key {
                pem: String::from_utf8(read(file)).unwrap(),
            },
            None => Policy::Identity {
                identity: case["policy"]["identity"].as_str().unwrap().into(),
                issuer: case["policy"]["issuer"].as_str().unwrap().into(),
            },
        };
        let result = match cosign::LayerKind::of(layer).unwrap() {
            cosign::LayerKind::Attestation => {
                cosign::verify_attestation_layer(&verifier, &image, layer, &blob, &policy)
                    .map(|_| ())
            }
            cosign::LayerKind::Signature => {
                cosign::verify_signature_layer(&verifier, &image, layer, &blob, &policy).map(|_| ())
            }
        };
        let expect = case["expect"].as_str().unwrap();
        match (expect.strip_prefix("fails: "), result) {
            (None, Ok(())) => {}
            (Some(why), Err(e)) => {
                assert!(e.is_verification_failure(), "{name}: {e}");
                let text = format!(
                    "{e}: {}",
                    std::error::Error::source(&e)
                        .map(ToString::to_string)
                        .unwrap_or_default()
                );
                assert!(text.contains(why), "{name}: {text}");
            }
            (_, result) => panic!("{name}: expected {expect}, got {result:?}"),
        }
        seen.insert(name.to_owned(), expect.to_owned());
    }
    assert!(seen.len() >= 6, "{seen:?}");
}
