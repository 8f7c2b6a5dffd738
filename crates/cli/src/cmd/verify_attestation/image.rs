//! `toto verify-attestation oci://…`: the attestations attached to an
//! image, each verified like a bundle file; the image verifies when at
//! least one passes every check.
//!
//! The image is resolved once, to the manifest digest every attestation's
//! Statement must name (an index's own digest, or with `--platform` the
//! digest of the index's manifest for that platform). Attestations are
//! read from three places, each named in the output: the referrers (the
//! referrers API, or the referrers tag schema), each referrer manifest and
//! bundle fetched by digest (checked); and cosign's older `sha256-<hex>.att`
//! tag, each layer made into a bundle and verified by
//! [`oci::cosign::verify_attestation_layer`]. With a certificate identity,
//! a bundle goes through the same verifier and checks as `--bundle FILE`;
//! with `--key`, a referrer bundle's DSSE envelope must verify with the key
//! (toto's key-signed bundles carry no log entry), a cosign layer's also its
//! log entry (cosign logs key-signed attestations), and the Statement is
//! held to the same subject, predicate-type and policy checks.
//!
//! BuildKit's attestation manifests in an index are listed as unsigned
//! evidence: never verified, never counted; with `--allow-unsigned` the
//! policy's Statement checks inspect them.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use keyless::Artifact;
use serde_json::{json, Value};

use super::{check, checks::check_verified, Checks, Setup, VerifyAttestationArgs};
use crate::verdict::{Format, VerificationFailed};

/// The image flags of `verify-attestation oci://…` and `verify-bundle oci://…`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ImageArgs {
    /// For an image index: verify the index's manifest for this platform,
    /// `os/arch[/variant]` (e.g. linux/amd64, linux/arm64/v8), whose digest
    /// the attestations must then name. Without it, the index's own digest.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub(crate) platform: Option<String>,
    /// Let the policy inspect unsigned evidence: the in-toto Statements of
    /// BuildKit's attestation manifests in an image index. Nobody signed
    /// them, so they are never counted as verified (the exit code stays 1
    /// when only they exist); without this flag they are only listed.
    #[arg(long)]
    pub(crate) allow_unsigned: bool,
}

impl ImageArgs {
    /// Refuses the flags for anything but an image (no I/O).
    pub(crate) fn only_for_images(&self) -> Result<()> {
        if self.platform.is_some() || self.allow_unsigned {
            bail!("--platform and --allow-unsigned apply to images (oci://REGISTRY/REPO…)");
        }
        Ok(())
    }

    /// `--platform` as given, when it is `os/arch[/variant]` (no I/O).
    pub(crate) fn platform(&self) -> Result<Option<&str>> {
        platform(self.platform.as_deref())
    }
}

/// A `--platform` as given, when it is `os/arch[/variant]` (no I/O).
pub(crate) fn platform(given: Option<&str>) -> Result<Option<&str>> {
    let Some(platform) = given else {
        return Ok(None);
    };
    let parts: Vec<&str> = platform.split('/').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
        bail!("--platform {platform:?} is not os/arch or os/arch/variant (e.g. linux/amd64)");
    }
    Ok(Some(platform))
}

/// The image being verified: the digest attestations must name.
pub(crate) struct Subject {
    /// That digest.
    pub(crate) digest: oci::Digest,
    /// The image at that digest.
    pub(crate) pinned: oci::Reference,
    /// The index, as fetched, when the reference names one.
    pub(crate) index: Option<Vec<u8>>,
}

/// Resolves `image` once; for an index with `platform`, to the index's
/// manifest for that platform (an input error naming the platforms it has
/// when none is that one, or when the image is no index).
pub(crate) fn resolve(
    registry: &oci::Registry,
    image: &oci::Reference,
    platform: Option<&str>,
) -> Result<Subject> {
    let resolved = registry
        .resolve(image)
        .with_context(|| format!("cannot resolve {image}"))?;
    let top = resolved.descriptor.sha256(&image.to_string())?;
    crate::verbosity::info!("{image} is {}@{top}", image.name());
    let is_index = [
        oci::model::INDEX_MEDIA_TYPE,
        oci::model::DOCKER_LIST_MEDIA_TYPE,
    ]
    .contains(&resolved.descriptor.media_type.as_str());
    let digest = match (platform, is_index) {
        (None, _) => top,
        (Some(platform), false) => bail!(
            "--platform {platform}: {image} is a single image ({}), not an index; drop --platform",
            resolved.descriptor.media_type
        ),
        (Some(platform), true) => {
            match oci::discover::platform_manifest(&resolved.bytes, platform)
                .with_context(|| format!("cannot read the index {}@{top}", image.name()))?
            {
                Ok(chosen) => {
                    let chosen: oci::Digest = chosen.to_string().parse()?;
                    crate::verbosity::info!("{platform} in {}@{top} is {chosen}", image.name());
                    chosen
                }
                Err(listed) => bail!(
                    "the index {}@{top} has no manifest for platform {platform}; it has: {}",
                    image.name(),
                    shown_platforms(&listed)
                ),
            }
        }
    };
    Ok(Subject {
        digest,
        pinned: image.at_digest(digest),
        index: is_index.then_some(resolved.bytes),
    })
}

/// The platforms an index lists, as read from it (escaped, at most 16).
fn shown_platforms(listed: &[String]) -> String {
    const SHOWN: usize = 16;
    let mut shown: Vec<String> = listed
        .iter()
        .take(SHOWN)
        .map(|p| keyless::untrusted_text(p))
        .collect();
    if listed.len() > SHOWN {
        shown.push(format!("… ({} in all)", listed.len()));
    }
    if shown.is_empty() {
        "none".to_owned()
    } else {
        shown.join(", ")
    }
}

/// Where an attestation was found.
const COSIGN_ATT: &str = "cosign .att";
const BUILDKIT: &str = "BuildKit attestation manifest";

/// One signed attestation or signature of an image, and what verified:
/// `T` is the verified Statement's predicate type and signer
/// (`verify-attestation`), or the signer (`verify-bundle`).
pub(crate) struct Outcome<T> {
    /// The referrers API, the referrers tag schema, or cosign's tag.
    pub(crate) source: &'static str,
    /// The manifest it was found in.
    pub(crate) manifest: String,
    /// The layer, for a cosign tag's manifest (one attestation a layer).
    pub(crate) layer: Option<String>,
    /// What verified, or why not.
    pub(crate) result: Result<T>,
}

impl<T> Outcome<T> {
    /// The layers of the manifest at cosign's `tag` (`source` names the
    /// kind of tag), each verified by `verify`: none when there is no such
    /// tag, one failure when it cannot be read.
    pub(crate) fn of_cosign_tag(
        image: &oci::Reference,
        (source, tag): (&'static str, &str),
        tagged: Result<Option<oci::discover::TaggedLayers>, oci::discover::Error>,
        mut verify: impl FnMut(&oci::cosign::Descriptor, Vec<u8>) -> Result<T>,
    ) -> Vec<Outcome<T>> {
        match tagged {
            Ok(None) => Vec::new(),
            Err(e) => vec![Outcome {
                source,
                manifest: format!("{}:{tag}", image.name()),
                layer: None,
                result: Err(anyhow::Error::new(e)),
            }],
            Ok(Some(tagged)) => tagged
                .layers
                .into_iter()
                .map(|(layer, blob)| Outcome {
                    source,
                    manifest: tagged.manifest.to_string(),
                    layer: Some(layer.digest.to_string()),
                    result: blob
                        .map_err(anyhow::Error::new)
                        .and_then(|blob| verify(&layer, blob)),
                })
                .collect(),
        }
    }

    /// Prints where the outcome was found in `image` and what verified
    /// (as `describe` says it), on stdout, or why not, on stderr.
    pub(crate) fn print(&self, image: &oci::Reference, describe: impl FnOnce(&T) -> String) {
        let at = match &self.layer {
            Some(layer) => format!("{}@{} layer {layer}", image.name(), self.manifest),
            None => format!("{}@{}", image.name(), self.manifest),
        };
        let source = self.source;
        match self.result.as_ref().map(describe) {
            Ok(what) => println!("{} {at} ({source}): {what}", crate::style::good("Verified")),
            Err(e) => eprintln!(
                "{} {at} ({source}): {e:#}",
                crate::style::bad("not verified:")
            ),
        }
    }
}

/// One unsigned Statement of a BuildKit attestation manifest.
struct Evidence {
    manifest: String,
    layer: Option<String>,
    describes: String,
    platform: Option<String>,
    /// The Statement's predicate type, or why it was not read.
    read: Result<String>,
    /// What the policy said, when it was allowed to look.
    inspected: Option<Result<()>>,
}

/// `toto verify-attestation oci://…`.
pub(super) fn run(args: &VerifyAttestationArgs, image: &oci::Reference) -> Result<ExitCode> {
    if !args.signer.bundles.is_empty() {
        bail!("the bundles of {image} come from its registry: drop --bundle");
    }
    if !args.subject.is_empty() || !args.digest.is_empty() {
        bail!("the subject of {image} is its manifest digest: drop --subject/--digest");
    }
    if args.vsa.vsa.is_some() {
        bail!("--vsa summarizes a verified file or layout; for {image} it is not supported yet");
    }
    let platform = args.image.platform()?;
    let setup = super::setup(args)?;
    let Setup {
        policy,
        source,
        file,
        ..
    } = &setup;
    let key = match &policy {
        keyless::Policy::Key { pem } => {
            Some(dsse::PublicKey::from_pem(pem.as_bytes(), None).context("cannot load the --key")?)
        }
        _ => None,
    };
    if key.is_some() && file.rego.is_some() {
        bail!("a Rego policy is evaluated on a bundle verified by its certificate or log entry; {image}'s key-signed attestations carry neither");
    }
    if key.is_some() && (!source.is_empty() || !file.source.is_empty() || file.github.is_some()) {
        bail!("slsa-verifier's and gh's signer checks need a certificate; with --key, use [[require]] checks");
    }
    let verifier = match key {
        Some(_) => None,
        None => Some(args.signer.verifier()?),
    };
    let registry = args.registry.connect(image)?;
    let started = std::time::Instant::now();
    let Subject {
        digest,
        pinned,
        index,
    } = resolve(&registry, image, platform)?;
    let (listed_by, referrers) = oci::referrers::list(&registry, &pinned, digest)
        .with_context(|| format!("cannot list the attestations of {pinned}"))?;
    let found = oci::referrers::bundles(&registry, &pinned, digest, &referrers);
    crate::verbosity::info!(
        "read {} referrer(s) ({}) and {} bundle(s) from {} in {} HTTP request(s), {} ms",
        referrers.len(),
        listed_by.name(),
        found.iter().filter(|f| f.bundle.is_ok()).count(),
        registry.host(),
        registry.requests(),
        started.elapsed().as_millis()
    );
    let image_digest = oci::cosign::Sha256Digest::from_bytes(*digest.bytes());
    let att_tag = oci::cosign::attestation_tag(&image_digest);
    let tagged = oci::discover::cosign_layers(&registry, &pinned, &att_tag);
    // Unsigned evidence never decides the exit code: an index whose
    // BuildKit entries cannot be read is said, and verification goes on.
    let unsigned = match index.map(|i| oci::discover::buildkit_statements(&registry, &pinned, &i)) {
        None => Vec::new(),
        Some(Ok(found)) => found,
        Some(Err(e)) => {
            eprintln!(
                "{} cannot read the BuildKit attestations of {image} (unsigned evidence, not \
                 listed): {e}",
                crate::style::warn("toto: warning:")
            );
            Vec::new()
        }
    };
    let subjects: Vec<(String, Vec<Artifact<'_>>)> =
        vec![(pinned.to_string(), vec![Artifact::Sha256(*digest.bytes())])];
    let checks = setup.checks(&subjects, args.signer.names_signer_identity());
    let mut outcomes = Vec::new();
    for one in found {
        let shown = format!("{}@{}", image.name(), one.manifest);
        let result = match one.bundle {
            Err(e) => Err(anyhow::Error::new(e)),
            Ok(bundle) => match (&key, &verifier) {
                (Some(key), _) => check_with_key(key, &bundle, &checks),
                (None, Some(verifier)) => {
                    check(verifier, &bundle, &checks, &shown).map(|(attestation, statement)| {
                        (statement.predicate_type, signer_of(&attestation))
                    })
                }
                (None, None) => Err(anyhow::anyhow!("no verifier")),
            },
        };
        outcomes.push(Outcome {
            source: listed_by.name(),
            manifest: one.manifest,
            layer: None,
            result,
        });
    }
    // cosign logs key-signed attestations too: a key's layer is checked
    // against the trusted root's log as well (the root loaded only when
    // there are layers to check).
    let owned;
    let cosign_verifier = match (&verifier, &tagged) {
        (Some(v), _) => Some(v),
        (None, Ok(Some(_))) => {
            owned = args.signer.verifier()?;
            Some(&owned)
        }
        (None, _) => None,
    };
    let att = (COSIGN_ATT, att_tag.as_str());
    outcomes.extend(Outcome::of_cosign_tag(image, att, tagged, |layer, blob| {
        let verifier = cosign_verifier.context("no verifier")?;
        let attestation = oci::cosign::verify_attestation_layer(
            verifier,
            &image_digest,
            layer,
            &blob,
            checks.policy,
        )
        .with_context(|| {
            format!(
                "cannot verify {}:{att_tag} layer {} as an attestation about {digest}",
                image.name(),
                layer.digest
            )
        })?;
        let statement = check_verified(&attestation, &checks)?;
        Ok((statement.predicate_type, signer_of(&attestation)))
    }));
    let evidence: Vec<Evidence> = unsigned
        .into_iter()
        .filter(|u| platform.is_none() || u.entry.describes == image_digest)
        .map(|u| {
            let (read, inspected) = match u.statement {
                Err(e) => (Err(anyhow::Error::new(e)), None),
                Ok(statement) => {
                    let inspected = args
                        .image
                        .allow_unsigned
                        .then(|| inspect_unsigned(&statement, &checks));
                    (Ok(statement.statement().predicate_type.clone()), inspected)
                }
            };
            Evidence {
                manifest: u.entry.descriptor.digest.to_string(),
                layer: u.layer.map(|l| l.to_string()),
                describes: u.entry.describes.to_string(),
                platform: u.entry.platform,
                read,
                inspected,
            }
        })
        .collect();
    let passed = outcomes.iter().filter(|o| o.result.is_ok()).count();
    report(
        args,
        image,
        (&pinned, digest),
        (listed_by.name(), referrers.len()),
        &outcomes,
        &evidence,
    )?;
    if passed > 0 {
        if args.format == Format::Text && !crate::verbosity::quiet() {
            println!(
                "{pinned}: {passed} of {} signed attestation(s) verified",
                outcomes.len(),
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.format == Format::Text {
        let unsigned = if evidence.is_empty() {
            String::new()
        } else {
            format!(
                "; {} unsigned BuildKit attestation(s) are evidence only, never verified",
                evidence.len()
            )
        };
        eprintln!(
            "{} {pinned}: {}{unsigned}",
            crate::style::bad("toto: verification failed:"),
            if outcomes.is_empty() {
                format!(
                    "no Sigstore bundle is attached ({} referrer(s) by the {}, no {att_tag} tag)",
                    referrers.len(),
                    listed_by.name()
                )
            } else {
                format!(
                    "none of its {} attestation(s) passes every check",
                    outcomes.len()
                )
            }
        );
    }
    Ok(ExitCode::from(crate::verdict::EXIT_FAILED))
}

/// The policy's Statement checks (predicate type, `[[require]]`, a
/// verification summary's expectations) on an unsigned Statement. The
/// checks that read a signer (identity, gh's and slsa-verifier's, Rego's
/// input) have nothing to read and refuse it.
fn inspect_unsigned(
    statement: &oci::buildkit::UnsignedStatement,
    checks: &Checks<'_>,
) -> Result<()> {
    if checks.rego.is_some()
        || checks.file_github.is_some()
        || !checks.source.is_empty()
        || !checks.file_source.is_empty()
    {
        bail!("the policy checks a signer; this Statement has none");
    }
    let describes = [(
        statement.describes().to_string(),
        vec![Artifact::Sha256(statement.describes().bytes())],
    )];
    keyless::attestation::check_statement(
        statement.statement(),
        &describes,
        checks.predicate_type,
        checks.requirements,
    )?;
    super::vsa_holds(checks.vsa, statement.statement())
}

/// The signer of a verified attestation, as listed.
fn signer_of(attestation: &keyless::VerifiedAttestation) -> Value {
    let verified = attestation.verified();
    match &verified.identity {
        Some(identity) => json!({"identity": identity, "issuer": verified.issuer}),
        None => json!({"key": "--key"}),
    }
}

/// Prints each attestation's outcome and each unsigned Statement.
fn report(
    args: &VerifyAttestationArgs,
    image: &oci::Reference,
    (pinned, digest): (&oci::Reference, oci::Digest),
    (listed_by, referrers): (&str, usize),
    outcomes: &[Outcome<(String, Value)>],
    evidence: &[Evidence],
) -> Result<()> {
    let passed = outcomes.iter().any(|o| o.result.is_ok());
    match args.format {
        Format::Json => {
            let mut listed: Vec<Value> = outcomes
                .iter()
                .map(|o| {
                    let mut entry = serde_json::Map::new();
                    entry.insert("source".into(), json!(o.source));
                    entry.insert("manifest".into(), json!(o.manifest));
                    entry.insert("signed".into(), json!(true));
                    entry.insert("verified".into(), json!(o.result.is_ok()));
                    if let Some(layer) = &o.layer {
                        entry.insert("layer".into(), json!(layer));
                    }
                    match &o.result {
                        Ok((predicate_type, signer)) => {
                            entry.insert("predicate_type".into(), json!(predicate_type));
                            entry.insert("signer".into(), signer.clone());
                        }
                        Err(e) => {
                            entry.insert("error".into(), json!(format!("{e:#}")));
                        }
                    }
                    Value::Object(entry)
                })
                .collect();
            listed.extend(evidence.iter().map(|e| {
                let mut entry = serde_json::Map::new();
                entry.insert("source".into(), json!(BUILDKIT));
                entry.insert("manifest".into(), json!(e.manifest));
                entry.insert("layer".into(), json!(e.layer));
                entry.insert("describes".into(), json!(e.describes));
                entry.insert("platform".into(), json!(e.platform));
                entry.insert("signed".into(), json!(false));
                entry.insert("verified".into(), json!(false));
                match &e.read {
                    Ok(predicate_type) => {
                        entry.insert("predicate_type".into(), json!(predicate_type))
                    }
                    Err(err) => entry.insert("error".into(), json!(format!("{err:#}"))),
                };
                let policy = match &e.inspected {
                    None if e.read.is_ok() => json!(
                        "not inspected (unsigned; --allow-unsigned lets the policy inspect it)"
                    ),
                    None => Value::Null,
                    Some(Ok(())) => json!("holds"),
                    Some(Err(err)) => json!(format!("fails: {err:#}")),
                };
                entry.insert("policy".into(), policy);
                Value::Object(entry)
            }));
            crate::verdict::print_json(&json!({
                "verified": passed,
                "image": image.to_string(),
                "digest": digest.to_string(),
                "pinned": pinned.to_string(),
                "listed_by": listed_by,
                "referrers": referrers,
                "attestations": listed,
            }))?;
        }
        Format::Text if crate::verbosity::quiet() => {}
        Format::Text => {
            for o in outcomes {
                o.print(image, |(predicate_type, signer)| {
                    format!("{predicate_type}, signed by {}", signer_text(signer))
                });
            }
            for e in evidence {
                let what = match (
                    e.read.as_ref().map(|t| keyless::untrusted_text(t)),
                    &e.inspected,
                ) {
                    (Err(err), _) => format!("unreadable: {err:#}"),
                    (Ok(t), None) => {
                        format!("{t}, not inspected (--allow-unsigned lets the policy inspect it)")
                    }
                    (Ok(t), Some(Ok(()))) => format!("{t}, the policy holds"),
                    (Ok(t), Some(Err(err))) => format!("{t}, the policy fails: {err:#}"),
                };
                eprintln!(
                    "{} {}@{} ({BUILDKIT}, about {}): {what}",
                    crate::style::bad("unsigned, not verified:"),
                    image.name(),
                    e.manifest,
                    e.describes
                );
            }
        }
    }
    Ok(())
}

fn signer_text(signer: &serde_json::Value) -> String {
    match (
        signer.get("identity").and_then(|v| v.as_str()),
        signer.get("keyids"),
    ) {
        (Some(identity), _) => format!(
            "{identity} ({})",
            signer.get("issuer").and_then(|v| v.as_str()).unwrap_or("?")
        ),
        (None, Some(keyids)) => format!("key {keyids}"),
        (None, None) if signer.get("key").is_some() => "the --key".into(),
        _ => "?".into(),
    }
}

/// A key-signed bundle: its DSSE envelope verified with `key`, then the
/// Statement it signs (read from the verified envelope's payload) held to
/// the subject, predicate-type and predicate checks.
fn check_with_key(
    key: &dsse::PublicKey,
    bundle: &[u8],
    checks: &Checks<'_>,
) -> Result<(String, serde_json::Value)> {
    let tree = dsse::json::Tree::parse(bundle).context("the bundle is not JSON")?;
    let root = tree.root();
    let envelope = root
        .get("dsseEnvelope")
        .context("the bundle has no dsseEnvelope: it does not hold an attestation")?;
    let envelope = dsse::Envelope::from_node(envelope, &crate::files::limits())
        .context("the bundle's dsseEnvelope is not a valid DSSE envelope")?;
    let verified = envelope
        .verify(&[key as &dyn dsse::KeyedVerifier], 1)
        .context("the bundle's envelope is not signed by the --key")?;
    if envelope.payload_type() != attest::PAYLOAD_TYPE {
        return Err(VerificationFailed(format!(
            "the signed payload is of type {:?}, not an in-toto Statement",
            envelope.payload_type()
        ))
        .into());
    }
    let value = dsse::cjson::parse_strict(envelope.payload())
        .context("the signed Statement is not JSON")?;
    let statement = attest::Statement::from_value(value)
        .context("the signed payload is not an in-toto Statement")?;
    keyless::attestation::check_statement(
        &statement,
        checks.subjects,
        checks.predicate_type,
        checks.requirements,
    )?;
    super::vsa_holds(checks.vsa, &statement)?;
    Ok((
        statement.predicate_type,
        serde_json::json!({"keyids": verified.identities}),
    ))
}
