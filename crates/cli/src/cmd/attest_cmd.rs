//! `toto attest`: an in-toto Statement of any predicate over any subjects,
//! signed into a DSSE envelope. Written as one line of JSON, so that many
//! attestations can be appended to one `.intoto.jsonl` file (the SLSA
//! convention for attestations published beside release artifacts).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use attest::record::HashAlgorithm;
use attest::{ResourceDescriptor, Statement, PAYLOAD_TYPE};

/// Arguments of `toto attest`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    toto attest --predicate-type https://slsa.dev/provenance/v1 --predicate prov.json \\\n    \
    --subject dist/app.tar.gz --key release.pem -o dist/app.intoto.jsonl\n  \
    toto attest --predicate-type https://example.com/review/v1 --predicate review.json \\\n    \
    --subject a.bin --subject b.bin --key alice.pem --append -o release.intoto.jsonl\n\n\
    toto attest --keyless --predicate-type https://slsa.dev/provenance/v1 --predicate prov.json \\\n    \
    --subject dist/app.tar.gz            # writes dist/app.tar.gz.sigstore.json\n\n\
    toto attest --key release.pem --predicate-type https://slsa.dev/provenance/v1 \\\n    \
    --predicate prov.json --subject oci://ghcr.io/org/app:v1 --push   # attaches it to the image\n\n\
    Verify with: toto envelope verify --key release.pub dist/app.intoto.jsonl\n\
    or, for bundles: toto verify-attestation --bundle dist/app.tar.gz.sigstore.json \\\n    \
    --certificate-identity ID --certificate-oidc-issuer URL --subject dist/app.tar.gz\n\
    or, for images: toto verify-attestation oci://ghcr.io/org/app:v1 --key release.pub \\\n    \
    --predicate-type https://slsa.dev/provenance/v1")]
pub struct AttestArgs {
    /// The predicate type URI.
    #[arg(long, value_name = "URI")]
    predicate_type: String,
    /// The predicate: a JSON file (default: an empty object).
    #[arg(long, value_name = "FILE")]
    predicate: Option<PathBuf>,
    /// A subject file (repeatable): named by its path, digested with SHA-256.
    /// Or one image, `oci://REGISTRY/REPO:TAG` (or `@sha256:…`), with --push:
    /// the tag is resolved to its manifest digest once, the Statement names
    /// `REGISTRY/REPO` with that digest, and the signed bundle is attached to
    /// the image as an OCI 1.1 referrer (docs/oci.md).
    #[arg(long, value_name = "FILE|oci://IMAGE", required = true)]
    subject: Vec<PathBuf>,
    /// Attach the attestation to the image subject in its registry.
    #[arg(long)]
    push: bool,
    #[command(flatten)]
    registry: crate::registry_args::RegistryArgs,
    #[command(flatten)]
    signing: crate::keyless_sign::KeysOrKeyless,
    /// Where to write (default: stdout; with --keyless, `<subject>.sigstore.json`).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Append to the output file (one envelope per line) instead of replacing it.
    #[arg(long, requires = "output")]
    append: bool,
    /// Output: text, or json (one JSON object on stdout: the file written,
    /// subjects and their digests, predicate type, signer). With keys it
    /// needs -o FILE (the envelope would go to stdout otherwise).
    #[arg(long, value_enum, default_value_t = crate::verdict::Format::Text)]
    format: crate::verdict::Format,
}

/// `toto attest`.
pub fn run(args: AttestArgs) -> Result<ExitCode> {
    if args.predicate_type.trim().is_empty() {
        bail!("--predicate-type is empty");
    }
    let json_out = args.format == crate::verdict::Format::Json;
    if json_out && args.output.is_none() && !args.signing.keyless.keyless && !args.push {
        bail!(
            "--format json reports on stdout, where the envelope would go: name the \
             attestation file with -o FILE"
        );
    }
    let predicate = match &args.predicate {
        None => serde_json::json!({}),
        Some(path) => {
            let bytes = crate::files::read_limited(path, 16 << 20, "predicate")?;
            dsse::cjson::parse_strict(&bytes)
                .with_context(|| format!("predicate {} is not JSON", path.display()))?
        }
    };
    if args
        .subject
        .iter()
        .any(|s| s.to_str().is_some_and(oci::Reference::is_image))
    {
        return attest_image(&args, predicate);
    }
    if args.push {
        bail!("--push attaches an attestation to an image: give --subject oci://REGISTRY/REPO:TAG");
    }
    let mut subjects = Vec::new();
    let mut shown_subjects = Vec::new();
    for path in &args.subject {
        let digest = crate::files::hash_artifact(path, &[HashAlgorithm::Sha256], "subject")?;
        let name = path.to_string_lossy().replace('\\', "/");
        shown_subjects.push(serde_json::json!({"name": name, "digest": &digest}));
        subjects.push(ResourceDescriptor::artifact(&name, digest));
    }
    let report = |output: &std::path::Path, signer: serde_json::Value| {
        serde_json::json!({
            "attestation": output.display().to_string(),
            "predicate_type": args.predicate_type,
            "subjects": shown_subjects,
            "signer": signer,
        })
    };
    let statement = Statement::new(subjects, &args.predicate_type, predicate).into_value();
    let payload = serde_json::to_vec(&statement).context("cannot serialize the Statement")?;
    let keyless = &args.signing.keyless;
    if keyless.keyless {
        if !args.signing.keys.is_empty() {
            bail!("--keyless signs without a key: drop --key, or drop --keyless");
        }
        if args.append {
            bail!(
                "--append is for .intoto.jsonl envelopes; a keyless attestation is one bundle file"
            );
        }
        let output = match (&args.output, args.subject.as_slice()) {
            (Some(path), _) => path.clone(),
            (None, [one]) => {
                let mut name = one.clone().into_os_string();
                name.push(".sigstore.json");
                PathBuf::from(name)
            }
            (None, _) => bail!("several subjects: name the bundle with -o FILE"),
        };
        let (signer, bundle) = keyless.sign(|s| s.sign_dsse(PAYLOAD_TYPE, &payload))?;
        crate::keyless_sign::write_signed_bundle(&output, &signer, &bundle)?;
        if json_out {
            crate::verdict::print_json(&report(
                &output,
                serde_json::json!({
                    "kind": "keyless",
                    "identity": signer.identity(),
                    "issuer": signer.issuer(),
                    "log_index": bundle.log_index,
                }),
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let keys = crate::keys::SigningKeys {
        keys: args.signing.keys.clone(),
        password: args.signing.password.clone(),
    }
    .load()?;
    let signers: Vec<&dyn dsse::KeyedSigner> =
        keys.iter().map(|k| k as &dyn dsse::KeyedSigner).collect();
    let envelope = dsse::Envelope::sign(PAYLOAD_TYPE, payload, &signers)?;
    let mut line = envelope.to_json();
    line.push(b'\n');
    match &args.output {
        None => std::io::stdout()
            .write_all(&line)
            .context("cannot write to stdout")?,
        Some(path) if args.append => {
            let mut existing = match crate::files::read_document(path, "attestation file") {
                Err(e)
                    if e.downcast_ref::<std::io::Error>()
                        .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
                {
                    Vec::new()
                }
                read => read?,
            };
            if !existing.is_empty() && !existing.ends_with(b"\n") {
                existing.push(b'\n');
            }
            existing.extend_from_slice(&line);
            crate::files::write_atomic(path, &existing, None)?;
        }
        Some(path) => crate::files::write_atomic(path, &line, None)?,
    }
    if let Some(path) = &args.output {
        crate::verbosity::info!(
            "wrote an attestation of {} subject(s) to {}",
            args.subject.len(),
            path.display()
        );
        if json_out {
            let keyids: Vec<String> = keys.iter().map(|k| k.keyid().to_string()).collect();
            crate::verdict::print_json(&report(
                path,
                serde_json::json!({"kind": "key", "keyids": keyids}),
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `toto attest --subject oci://… --push`: resolve, sign, attach.
fn attest_image(args: &AttestArgs, predicate: serde_json::Value) -> Result<ExitCode> {
    let [one] = args.subject.as_slice() else {
        bail!("an image is attested on its own: give one --subject oci://REGISTRY/REPO:TAG");
    };
    let text = one.to_string_lossy();
    let image = oci::Reference::parse(&text)?;
    if !args.push {
        bail!("--subject {text} is an image: add --push to attach the attestation to it");
    }
    if args.output.is_some() {
        bail!("an image's attestation is attached in the registry (--push); drop -o");
    }
    let keyless = &args.signing.keyless;
    if keyless.keyless && !args.signing.keys.is_empty() {
        bail!("--keyless signs without a key: drop --key, or drop --keyless");
    }
    // Keys are loaded before anything is asked of the registry or signed.
    let key = if keyless.keyless {
        None
    } else {
        let mut keys = crate::keys::SigningKeys {
            keys: args.signing.keys.clone(),
            password: args.signing.password.clone(),
        }
        .load()?;
        if keys.len() != 1 {
            bail!("an image attestation is a bundle signed by one key: give one --key");
        }
        keys.pop()
    };
    let registry = args.registry.connect(&image)?;
    let image = crate::images::Image {
        reference: image,
        registry,
    };
    let resolved = crate::images::resolve(image, "attesting that manifest digest")?;
    let (image, digest) = (&resolved.image.reference, resolved.digest);
    // Write access is checked before anything is signed (and, keyless,
    // published to Rekor).
    oci::referrers::prepare(&resolved.image.registry, image)
        .with_context(|| format!("cannot write to {}", image.name()))?;
    let subject = ResourceDescriptor::artifact(&image.name(), resolved.digest_set()?);
    let statement = Statement::new(vec![subject], &args.predicate_type, predicate).into_value();
    let payload = serde_json::to_vec(&statement).context("cannot serialize the Statement")?;
    let (bundle, signer) = match &key {
        None => {
            let (signer, signed) = keyless.sign(|s| s.sign_dsse(PAYLOAD_TYPE, &payload))?;
            let shown = serde_json::json!({
                "kind": "keyless",
                "identity": signer.identity(),
                "issuer": signer.issuer(),
                "log_index": signed.log_index,
            });
            (signed.json.into_bytes(), shown)
        }
        Some(key) => {
            let envelope =
                dsse::Envelope::sign(PAYLOAD_TYPE, payload, &[key as &dyn dsse::KeyedSigner])?;
            let keyid = key.keyid().to_string();
            (
                crate::images::key_bundle(&envelope.to_json(), &keyid)?,
                serde_json::json!({"kind": "key", "keyids": [keyid]}),
            )
        }
    };
    let attached = crate::images::attach(&resolved, &bundle, &args.predicate_type, "attestation")?;
    if args.format == crate::verdict::Format::Json {
        let mut report = serde_json::json!({
            "image": image.to_string(),
            "subject": {"name": image.name(), "digest": {"sha256": digest.hex()}},
            "predicate_type": args.predicate_type,
            "signer": signer,
        });
        // `attestation`, `listed_by`, `already_attached`, as `run --push`.
        if let (Some(fields), serde_json::Value::Object(more)) = (report.as_object_mut(), attached)
        {
            fields.extend(more);
        }
        crate::verdict::print_json(&report)?;
    }
    Ok(ExitCode::SUCCESS)
}
