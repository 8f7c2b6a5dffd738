//! `toto verify-attestation oci://…`: the attestations attached to an
//! image, each verified like a bundle file; the image verifies when at
//! least one passes every check.
//!
//! The image is resolved once, to the manifest digest every attestation's
//! Statement must name; the referrers are listed for that digest, each
//! referrer manifest and bundle fetched by digest (checked). With a
//! certificate identity, a bundle goes through the same verifier and checks
//! as `--bundle FILE`; with `--key`, its DSSE envelope must verify with the
//! key (toto's key-signed bundles carry no log entry), and the Statement is
//! held to the same subject, predicate-type and policy checks.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use keyless::Artifact;

use super::{check, Checks, Setup, VerifyAttestationArgs};
use crate::verdict::{Format, VerificationFailed};

/// One attestation's outcome.
struct Outcome {
    manifest: String,
    /// The verified Statement's predicate type and signer, or why not.
    result: Result<(String, serde_json::Value)>,
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
    let resolved = registry
        .resolve(image)
        .with_context(|| format!("cannot resolve {image}"))?;
    let digest = resolved.descriptor.sha256(&image.to_string())?;
    crate::verbosity::info!("{image} is {}@{digest}", image.name());
    let pinned = image.at_digest(digest);
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
                        let verified = attestation.verified();
                        (
                            statement.predicate_type,
                            serde_json::json!({
                                "identity": verified.identity,
                                "issuer": verified.issuer,
                            }),
                        )
                    })
                }
                (None, None) => Err(anyhow::anyhow!("no verifier")),
            },
        };
        outcomes.push(Outcome {
            manifest: one.manifest,
            result,
        });
    }
    let passed = outcomes.iter().filter(|o| o.result.is_ok()).count();
    match args.format {
        Format::Json => crate::verdict::print_json(&serde_json::json!({
            "verified": passed > 0,
            "image": image.to_string(),
            "digest": digest.to_string(),
            "listed_by": listed_by.name(),
            "referrers": referrers.len(),
            "attestations": outcomes.iter().map(|o| match &o.result {
                Ok((predicate_type, signer)) => serde_json::json!({
                    "manifest": o.manifest,
                    "verified": true,
                    "predicate_type": predicate_type,
                    "signer": signer,
                }),
                Err(e) => serde_json::json!({
                    "manifest": o.manifest,
                    "verified": false,
                    "error": format!("{e:#}"),
                }),
            }).collect::<Vec<_>>(),
        }))?,
        Format::Text if crate::verbosity::quiet() => {}
        Format::Text => {
            for o in &outcomes {
                match &o.result {
                    Ok((predicate_type, signer)) => println!(
                        "{} {}@{}: {predicate_type}, signed by {}",
                        crate::style::good("Verified"),
                        image.name(),
                        o.manifest,
                        signer_text(signer)
                    ),
                    Err(e) => eprintln!(
                        "{} {}@{}: {e:#}",
                        crate::style::bad("not verified:"),
                        image.name(),
                        o.manifest
                    ),
                }
            }
        }
    }
    if passed > 0 {
        if args.format == Format::Text && !crate::verbosity::quiet() {
            println!(
                "{pinned}: {passed} of {} attestation(s) verified ({})",
                outcomes.len(),
                listed_by.name()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.format == Format::Text {
        eprintln!(
            "{} {pinned}: {}",
            crate::style::bad("toto: verification failed:"),
            if outcomes.is_empty() {
                format!(
                    "no Sigstore bundle is attached ({} referrer(s) by the {})",
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
