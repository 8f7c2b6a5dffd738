//! `toto verify`: check the evidence of a supply chain against its signed
//! layout, with the reference's verdicts. `in-toto-verify`'s flag names are
//! accepted.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use attest::evidence::{EvidenceObserver, LinkDirectory};
use attest::layout::StepName;
use attest::step::{Step, StepObserver};
use attest::verify::{self, Options, Report};
use attest::SignedDocument;
use keyless::BundleVerifier;

use crate::verdict::Format;
use sha2::Digest as _;

mod image_links;
mod queues;

/// Arguments of `toto verify`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 verified, 1 verification failed, 2 usage or input error.\n\n\
    Inspections run in the current directory and write files there (as in-toto-verify does): \
    verify in a scratch copy of the release.\n\nExamples:\n  \
    toto verify --layout root.layout --layout-key alice.pub --link-dir links/\n  \
    toto verify -l root.layout -k alice.pub --format json > report.json\n  \
    in-toto-verify --layout root.layout --verification-keys alice.pub\n  \
    toto verify -l root.layout -k alice.pub --vsa release.vsa.sigstore.json --vsa-keyless\n  \
    toto verify -l root.layout -k alice.pub --image oci://ghcr.io/org/app:v1\n\n\
    --vsa writes a signed SLSA verification summary of the verified chain (docs/vsa.md).\n\
    --image resolves the image once and requires the verified links' product \
    oci://REGISTRY/REPO to be exactly its manifest digest (docs/oci.md)."
)]
pub struct VerifyArgs {
    /// The signed layout (Metablock or DSSE).
    #[arg(long = "layout", short = 'l', value_name = "FILE")]
    layout: PathBuf,
    /// Public key(s) of the layout's owner(s); every one must have signed.
    #[arg(long = "layout-key", short = 'k', visible_alias = "verification-keys", num_args = 1.., required_unless_present = "layout_identity", value_name = "FILE")]
    layout_keys: Vec<PathBuf>,
    /// A keyless owner (certificate identity) who must have signed the layout
    /// (`toto layout sign --keyless`); repeatable, paired in order with
    /// --layout-issuer and --layout-bundle.
    #[arg(long, value_name = "ID", requires = "layout_issuer")]
    layout_identity: Vec<String>,
    /// The OIDC issuer of each --layout-identity (one for all, or one each).
    #[arg(long, value_name = "URL")]
    layout_issuer: Vec<String>,
    /// The Sigstore bundle of each keyless layout signature (default
    /// `<layout>.sigstore.json`, for a single identity).
    #[arg(long, value_name = "FILE")]
    layout_bundle: Vec<PathBuf>,
    /// Directory with the link files (default: current directory).
    #[arg(long = "link-dir", value_name = "DIR", default_value = ".")]
    link_dir: PathBuf,
    /// Skip inspections (the result is then partial).
    #[arg(long = "no-inspections")]
    no_inspections: bool,
    /// Seconds an inspection may run (0: no limit).
    #[arg(long = "inspection-timeout", default_value_t = 10)]
    inspection_timeout: u64,
    /// The trusted root for keyless functionaries' and owners' bundles.
    #[command(flatten)]
    trust: crate::bundle_args::TrustRootArgs,
    /// Fail when a link records a failed command (a `return-value` other
    /// than 0); without it, such a link is only a warning.
    #[arg(long = "require-success")]
    require_success: bool,
    /// PEM certificates the chains of X.509 functionaries (ITE-7) may pass
    /// through beside the layout's intermediatecas (in-toto-golang's
    /// --intermediate-certs); repeatable.
    #[arg(
        long = "intermediate-cert",
        visible_alias = "intermediate-certs",
        value_name = "FILE"
    )]
    intermediate_certs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// A product of the layout's last step the VSA is about (repeatable;
    /// default: every product of that step, as its verified link records
    /// it). For a FAILED VSA (--vsa-on-failure), the file is hashed as it
    /// is here.
    #[arg(long, value_name = "NAME", requires = "vsa")]
    vsa_subject: Vec<String>,
    #[command(flatten)]
    vsa: crate::vsa_args::VsaArgs,
    /// An image the chain must have produced, `oci://REGISTRY/REPO:TAG` or
    /// `@sha256:…` (repeatable): resolved once to its manifest digest;
    /// every verified step whose link records the product
    /// `oci://REGISTRY/REPO` must record exactly that digest, and one must.
    #[arg(long, value_name = "oci://IMAGE")]
    image: Vec<String>,
    /// Read the step links from the --image images' referrers (as `toto
    /// run --push` attaches them) instead of a link directory.
    #[arg(long, requires = "image", conflicts_with = "link_dir")]
    links_from_image: bool,
    #[command(flatten)]
    registry: crate::registry_args::RegistryArgs,
}

/// The keyless verifier, built on first use (only layouts with keyless
/// functionaries need the trusted root), saying with `-v` what it verified.
struct Keyless {
    trust: crate::bundle_args::TrustRootArgs,
    verifier: OnceCell<Result<BundleVerifier, String>>,
}

impl attest::FunctionaryVerifier for Keyless {
    fn verify_evidence(
        &self,
        evidence: &[u8],
        identity: &str,
        issuer: &str,
        constraints: attest::StepConstraints<'_>,
    ) -> Result<attest::VerifiedPayload, attest::Error> {
        let verifier = self.verifier.get_or_init(|| {
            crate::verbosity::verbose!("keyless functionaries: loading the trusted root");
            self.trust
                .load()
                .and_then(|root| Ok(BundleVerifier::new(&root)?))
                .map_err(|e| format!("{e:#}"))
        });
        let verifier = verifier
            .as_ref()
            .map_err(|reason| attest::Error::Malformed {
                what: "trusted root",
                reason: reason.clone(),
            })?;
        let verified = verifier.verify_evidence(evidence, identity, issuer, constraints)?;
        crate::verbosity::verbose!("verified a Sigstore bundle signed by {}", verified.signer());
        Ok(verified)
    }
}

/// Counts the link files loaded on a terminal, says with `-v` what was
/// loaded, shows inspections' progress, and, for a VSA, keeps the SHA-256
/// of each file as it was read and verified.
struct Progress(
    crate::progress::Links,
    Option<Mutex<BTreeMap<String, String>>>,
);

impl EvidenceObserver for Progress {
    fn loaded(&self, file_name: &str, location: &str, bytes: &[u8]) {
        self.0.loaded(file_name);
        crate::verbosity::verbose!("loaded {location} ({} bytes)", bytes.len());
        if let Some(digests) = &self.1 {
            let digest = hex::encode(sha2::Sha256::digest(bytes));
            if let Ok(mut digests) = digests.lock() {
                digests.insert(location.to_owned(), digest);
            }
        }
    }

    fn inspect(
        &self,
        name: &StepName,
        run: &mut dyn FnMut(&dyn StepObserver) -> Result<Step, attest::Error>,
    ) -> Result<Step, attest::Error> {
        let progress = crate::progress::StepProgress::inspection(name.as_str());
        self.0.suspend(|| run(&progress))
    }
}

/// `toto verify`.
pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    args.vsa.check()?;
    let images = crate::images::parse(&args.image, "--image", &args.registry)?;
    let limits = crate::files::limits();
    let keys = args
        .layout_keys
        .iter()
        .map(|p| {
            let key = crate::keys::load_public_key(p)?;
            crate::verbosity::verbose!("layout key {}: key id {}", p.display(), key.keyid());
            Ok(key)
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = crate::files::read_document(&args.layout, "layout")?;
    let document = SignedDocument::from_json(&bytes, &limits)
        .with_context(|| format!("cannot read layout {}", args.layout.display()))?;
    if !args.links_from_image && !args.link_dir.is_dir() {
        bail!("link directory {} does not exist", args.link_dir.display());
    }
    let vsa_signer = args.vsa.signer(args.trust.trust_config())?;
    let resolved = resolve_images(images)?;
    let pinned = resolved.iter().map(pin).collect::<Result<Vec<_>>>()?;
    let now = crate::clock::unix_now();
    let keyless = Keyless {
        trust: args.trust.clone(),
        verifier: OnceCell::new(),
    };
    let progress = Progress(
        crate::progress::Links::new(args.format == Format::Json),
        args.vsa.vsa.is_some().then(|| Mutex::new(BTreeMap::new())),
    );
    // With --links-from-image, the links attached to the images, written
    // into a private directory that is removed on return.
    let fetched = match args.links_from_image {
        true => Some(tempfile::tempdir().context("cannot make a directory for the links")?),
        false => None,
    };
    let link_dir = match &fetched {
        Some(dir) => {
            let layout = document
                .layout()
                .with_context(|| format!("cannot read layout {}", args.layout.display()))?;
            let count = image_links::fetch(&resolved, &layout, &keyless, dir.path())?;
            crate::verbosity::info!(
                "read {count} link(s) of the layout's functionaries from the images' referrers"
            );
            dir.path()
        }
        None => args.link_dir.as_path(),
    };
    // An inspection gets none of the verifier's toto credentials.
    let evidence = LinkDirectory::new(link_dir, limits)
        .limit_hint(crate::files::MAX_DOCUMENT_FLAG)
        .inspection_timeout(
            (args.inspection_timeout > 0).then(|| Duration::from_secs(args.inspection_timeout)),
        )
        .inspection_env_removed(&attest::step::CREDENTIALS)
        .keyless(&keyless)
        .observer(&progress);
    if let Some(failure) = verify_layout_bundles(&args, &bytes)? {
        let report = Report {
            verified: false,
            failure: Some(failure),
            steps: Vec::new(),
            warnings: Vec::new(),
            products: Default::default(),
        };
        write_vsa(&args, &bytes, &report, &progress, vsa_signer.as_ref())?;
        print_report(&args, &report, &pinned);
        return Ok(ExitCode::from(crate::verdict::EXIT_FAILED));
    }
    let options = Options {
        now,
        run_inspections: !args.no_inspections,
        limits,
        keyless_layout: !args.layout_identity.is_empty(),
        require_success: args.require_success,
        intermediate_certs: args
            .intermediate_certs
            .iter()
            .map(|path| {
                let pem = crate::files::read_limited(path, 1 << 20, "intermediate certificate")?;
                String::from_utf8(pem)
                    .with_context(|| format!("{} is not PEM text", path.display()))
            })
            .collect::<Result<_>>()?,
    };
    let report = verify::verify_layout_pinned(&document, &keys, &evidence, &options, &pinned);
    progress.0.finish();
    let report =
        report.with_context(|| format!("cannot verify with layout {}", args.layout.display()))?;
    write_vsa(&args, &bytes, &report, &progress, vsa_signer.as_ref())?;
    print_report(&args, &report, &pinned);
    let code = if report.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::verdict::EXIT_FAILED)
    };
    // The process ends here: the report of a big chain (every rule's
    // consumed paths, the last step's products) is left to the operating
    // system rather than freed entry by entry.
    std::mem::forget(report);
    Ok(code)
}

/// Each --image resolved once.
fn resolve_images(images: Vec<crate::images::Image>) -> Result<Vec<crate::images::ResolvedImage>> {
    images
        .into_iter()
        .map(|image| {
            let name = crate::images::artifact_name(&image.reference);
            crate::images::resolve(
                image,
                &format!("the verified links must produce {name} with that digest"),
            )
        })
        .collect()
}

/// The artifact `oci://REGISTRY/REPO` pinned to the manifest digest.
fn pin(resolved: &crate::images::ResolvedImage) -> Result<verify::Pinned> {
    Ok(verify::Pinned {
        name: crate::images::artifact_name(&resolved.image.reference),
        digest: resolved.digest_set()?,
        origin: resolved.image.reference.to_string(),
    })
}

/// Checks the layout's keyless signatures: each --layout-identity's bundle
/// must verify over the layout file's exact bytes.
fn verify_layout_bundles(
    args: &VerifyArgs,
    layout_bytes: &[u8],
) -> Result<Option<verify::Failure>> {
    let identities = &args.layout_identity;
    if identities.is_empty() {
        if !args.layout_issuer.is_empty() || !args.layout_bundle.is_empty() {
            bail!("--layout-issuer and --layout-bundle need --layout-identity");
        }
        return Ok(None);
    }
    let issuers: Vec<&String> = match args.layout_issuer.as_slice() {
        [one] => vec![one; identities.len()],
        many if many.len() == identities.len() => many.iter().collect(),
        _ => bail!("give one --layout-issuer, or one per --layout-identity"),
    };
    let bundles: Vec<PathBuf> = match args.layout_bundle.as_slice() {
        [] if identities.len() == 1 => vec![crate::keyless_sign::layout_bundle_path(&args.layout)],
        [] => bail!("several --layout-identity: name each one's bundle with --layout-bundle"),
        many if many.len() == identities.len() => many.to_vec(),
        _ => bail!("give one --layout-bundle per --layout-identity"),
    };
    let root = args.trust.load()?;
    let verifier = BundleVerifier::new(&root)?;
    for ((identity, issuer), path) in identities.iter().zip(issuers).zip(bundles) {
        let refused = |reason: String| {
            Some(verify::Failure::LayoutBundle {
                identity: identity.clone(),
                issuer: issuer.clone(),
                reason,
            })
        };
        let bundle =
            match crate::files::read_limited(&path, keyless::MAX_BUNDLE_BYTES, "layout bundle") {
                Ok(b) => b,
                Err(e) => return Ok(refused(format!("{e:#}"))),
            };
        let policy = keyless::Policy::Identity {
            identity: identity.clone(),
            issuer: issuer.clone(),
        };
        match verifier.verify(&bundle, keyless::Artifact::Bytes(layout_bytes), &policy) {
            Ok(_) => {}
            Err(e) if e.is_verification_failure() => {
                return Ok(refused(format!("{}: {e}", path.display())))
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("cannot read {}", path.display())))
            }
        }
    }
    Ok(None)
}

/// The report on stdout; in JSON with `images`, each `--image` and the
/// digest it resolved to, when there are any.
fn print_report(args: &VerifyArgs, report: &Report, pinned: &[verify::Pinned]) {
    match args.format {
        Format::Json => {
            let mut value = serde_json::to_value(report).unwrap_or_default();
            if let (Some(fields), false) = (value.as_object_mut(), pinned.is_empty()) {
                let images = pinned
                    .iter()
                    .map(|pin| {
                        serde_json::json!({
                            "image": pin.origin,
                            "artifact": pin.name,
                            "digest": pin.digest,
                        })
                    })
                    .collect();
                fields.insert("images".into(), serde_json::Value::Array(images));
            }
            println!("{value}");
        }
        Format::Text => {
            for w in &report.warnings {
                crate::verbosity::warning(w);
            }
            for step in &report.steps {
                for w in &step.warnings {
                    crate::verbosity::warning(format_args!("step {:?}: {w}", step.name));
                }
                for (keyid, file) in &step.links {
                    crate::verbosity::verbose!(
                        "step {:?}: {file} verified by functionary {keyid}",
                        step.name
                    );
                }
                queues::print(step);
            }
            match &report.failure {
                None => {
                    if !crate::verbosity::quiet() {
                        let verdict = format!(
                            "Verified: the supply chain of {} holds.",
                            args.layout.display()
                        );
                        println!("{}", crate::style::good(&verdict));
                    }
                }
                Some(failure) => eprintln!(
                    "{} {failure}",
                    crate::style::bad("toto: verification failed:")
                ),
            }
        }
    }
}

/// With `--vsa`, the verification summary of `report`: its subjects the
/// last step's products as the verified link records them (or, for a
/// failure, the `--vsa-subject` files as they are), the layout (with the
/// digest of `layout_bytes`) as its policy, the link files verified as its
/// inputs (digested as they were read), no Build level (a layout is not
/// SLSA provenance).
fn write_vsa(
    args: &VerifyArgs,
    layout_bytes: &[u8],
    report: &Report,
    progress: &Progress,
    signer: Option<&crate::vsa_args::VsaSigner>,
) -> Result<()> {
    let Some(signer) = signer.filter(|_| args.vsa.wanted(report.verified)) else {
        return Ok(());
    };
    let (subjects, inputs) = match report.verified {
        true => {
            let read = progress
                .1
                .as_ref()
                .and_then(|d| d.lock().ok().map(|d| d.clone()))
                .unwrap_or_default();
            attest::vsa::layout_subjects_and_inputs(report, &args.vsa_subject, &read)
                .context("no VSA was written")?
        }
        // A failed chain verified no product: the artifact that failed is
        // named, and hashed as it is.
        false => {
            if args.vsa_subject.is_empty() {
                bail!(
                    "the VSA has no subject: name the artifact that failed with --vsa-subject \
                     FILE; no VSA was written"
                );
            }
            let subjects = args
                .vsa_subject
                .iter()
                .map(|name| {
                    let digest = crate::files::hash_artifact(
                        std::path::Path::new(name),
                        &[attest::record::HashAlgorithm::Sha256],
                        "VSA subject",
                    )?;
                    Ok(attest::ResourceDescriptor::artifact(name, digest))
                })
                .collect::<Result<Vec<_>>>()?;
            (subjects, Vec::new())
        }
    };
    let summary = crate::vsa_args::Summary {
        subjects,
        policy: args
            .vsa
            .policy(Some((&args.layout, layout_bytes)), "urn:toto:verify"),
        inputs,
        levels: vec![attest::vsa::BUILD_LEVEL_UNEVALUATED.to_owned()],
        result: match report.verified {
            true => attest::vsa::VerificationResult::Passed,
            false => attest::vsa::VerificationResult::Failed,
        },
    };
    args.vsa.write(summary, signer)?;
    Ok(())
}
