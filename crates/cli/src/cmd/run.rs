//! `toto run`, `toto record start|stop` and `toto mock`: record what a step
//! did as a signed link. The reference's flag names are accepted, so scripts
//! written for `in-toto-run` / `in-toto-record` keep working.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use attest::layout::StepName;
use attest::record::RecordOptions;
use attest::redact::Redactor;
use attest::step::{self, Artifacts};
use attest::{ArtifactMap, Link, SignedDocument};
use clap::{Args, Subcommand};
use serde_json::Map;

use crate::gpg_sign::LinkSigner;
use crate::link_signing::{
    link_report, removed_credentials, sign_link, signer_json, write_link, ArtifactArgs, LinkFormat,
    Signing, SigningArgs, Written, KEYLESS_UNFINISHED,
};
use crate::record_state::{Signer, Started, Store};

/// Arguments of `toto run`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit code: the command's own exit code (0 with --no-command); 1 when it \
    cannot run or times out; 2 for usage or input errors.\n\nExamples:\n  \
    toto run -n build -k alice.pem -m src -p dist -- make dist\n  \
    toto run -n package --encoding metablock -k bob.pem -m dist -p pkg.tar.gz -- tar czf pkg.tar.gz dist\n  \
    toto run -n build -k alice.pem -m src --subject oci://ghcr.io/org/app:v1 --push -- ./build-and-push.sh\n  \
    in-toto-run --step-name build --signing-key alice.pem --materials src --products dist -- make\n\n\
    --subject records an image the command pushed as the product oci://REGISTRY/REPO with its \
    manifest digest (the tag resolved once, after the command); a layout rule names it so: \
    MATCH oci://ghcr.io/org/app WITH PRODUCTS FROM build (docs/oci.md)."
)]
pub struct RunArgs {
    /// Step name (as in the layout).
    #[arg(long = "step-name", short = 'n', value_name = "STEP")]
    step_name: String,
    /// Paths to record before the command.
    #[arg(long = "materials", short = 'm', num_args = 1.., value_name = "PATH")]
    materials: Vec<PathBuf>,
    /// Paths to record after the command.
    #[arg(long = "products", short = 'p', num_args = 1.., value_name = "PATH")]
    products: Vec<PathBuf>,
    /// Record without running a command.
    #[arg(long = "no-command", short = 'x')]
    no_command: bool,
    /// Record the command's stdout and stderr in the link (still shown).
    #[arg(long = "record-streams", short = 's')]
    record_streams: bool,
    /// Replace matches of this regular expression in the command line and
    /// the recorded streams with [REDACTED] before signing (repeatable).
    #[arg(long, value_name = "REGEX")]
    redact: Vec<String>,
    /// Do not redact, from the command line and the recorded streams, the
    /// well-known secret shapes (private keys, GitHub/GitLab/npm tokens, AWS
    /// key ids, JWTs, passwords in URLs) and the values of environment
    /// variables named *TOKEN*, *SECRET*, *PASSWORD*, *PASSWD*, *PASSPHRASE*,
    /// *_PASS*, *KEY*, *CREDENTIAL*, *AUTH* (not *AUTHOR*), *_PWD, or holding
    /// a URL with a password.
    #[arg(long)]
    no_default_redactions: bool,
    /// Kill the command after this many seconds. Default: no limit (a
    /// build may take hours); 0 also means no limit. Invoked as
    /// `in-toto-run` (`toto install-compat`), the reference's default of
    /// 10 seconds applies.
    #[arg(
        long,
        short = 't',
        visible_alias = "run-timeout",
        value_name = "SECONDS",
        overrides_with = "timeout"
    )]
    timeout: Option<u64>,
    /// Pass toto's own credentials to the command. By default
    /// SIGSTORE_ID_TOKEN, SIGSTORE_IDENTITY_TOKEN and TOTO_KEY_PASSWORD are
    /// removed from its environment: they are for signing the link, not
    /// for the step.
    #[arg(long)]
    pass_credentials: bool,
    /// An image the step produced, `oci://REGISTRY/REPO:TAG` (or
    /// `@sha256:…`; repeatable): after the command, the tag is resolved
    /// once to its manifest digest, recorded as the product
    /// `oci://REGISTRY/REPO` (no tag) with that sha256 digest.
    #[arg(long, value_name = "oci://IMAGE")]
    subject: Vec<String>,
    /// Attach the signed link to each --subject image as an OCI 1.1
    /// referrer (or in the referrers tag schema), as `toto attest --push`
    /// does; attaching the same link again adds nothing. Needs a Statement
    /// link (the default encoding, or --keyless).
    #[arg(long, requires = "subject")]
    push: bool,
    #[command(flatten)]
    registry: crate::registry_args::RegistryArgs,
    #[command(flatten)]
    artifacts: ArtifactArgs,
    #[command(flatten)]
    signing: SigningArgs,
    /// The command and its arguments, after `--`.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

/// `toto record` subcommands.
#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Record materials now; the link is finished by `toto record stop`.
    #[command(
        after_help = "Example:\n  toto record start -n review --key alice.pem -m docs/\n  \
        (review the documents)\n  toto record stop -n review --key alice.pem -p docs/"
    )]
    Start(RecordStartArgs),
    /// Record products and write the signed link started by `toto record start`.
    #[command(after_help = "Example:\n  toto record stop -n review --key alice.pem -p docs/")]
    Stop(RecordStopArgs),
}

/// Arguments of `toto record start`.
#[derive(Debug, Args)]
pub struct RecordStartArgs {
    /// Step name.
    #[arg(long = "step-name", short = 'n', value_name = "STEP")]
    step_name: String,
    /// Paths to record as materials.
    #[arg(long = "materials", short = 'm', num_args = 1.., value_name = "PATH")]
    materials: Vec<PathBuf>,
    #[command(flatten)]
    artifacts: ArtifactArgs,
    #[command(flatten)]
    signing: SigningArgs,
}

/// Arguments of `toto record stop`.
#[derive(Debug, Args)]
pub struct RecordStopArgs {
    /// Step name.
    #[arg(long = "step-name", short = 'n', value_name = "STEP")]
    step_name: String,
    /// Paths to record as products.
    #[arg(long = "products", short = 'p', num_args = 1.., value_name = "PATH")]
    products: Vec<PathBuf>,
    #[command(flatten)]
    artifacts: ArtifactArgs,
    #[command(flatten)]
    signing: SigningArgs,
}

/// Arguments of `toto mock`.
#[derive(Debug, Args)]
#[command(
    after_help = "Records everything in the current directory before and after the \
    command and writes an unsigned Metablock <STEP>.link: a quick way to see what a step \
    does before writing a layout.\n\nExample:\n  toto mock -n build -- make"
)]
pub struct MockArgs {
    /// Step name.
    #[arg(
        long = "name",
        short = 'n',
        visible_alias = "step-name",
        value_name = "STEP"
    )]
    name: String,
    /// Record the command's stdout and stderr.
    #[arg(long = "record-streams", short = 's', default_value_t = true)]
    record_streams: bool,
    /// Pass toto's own credentials to the command (by default
    /// SIGSTORE_ID_TOKEN, SIGSTORE_IDENTITY_TOKEN and TOTO_KEY_PASSWORD are
    /// removed from its environment, as `toto run` does).
    #[arg(long)]
    pass_credentials: bool,
    /// Output: text, or json (one JSON object on stdout: the link written,
    /// artifact counts, the command's exit code; the command's own stdout
    /// then goes to stderr).
    #[arg(long, value_enum, default_value_t = crate::verdict::Format::Text)]
    format: crate::verdict::Format,
    /// The command, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

fn step_name(name: &str) -> Result<attest::layout::StepName> {
    attest::layout::StepName::parse(name).with_context(|| format!("invalid step name {name:?}"))
}

/// Records `paths` as `what`, with a progress bar on a terminal and
/// `-v`/`-vv` detail lines.
fn record_paths(
    paths: &[PathBuf],
    options: &RecordOptions,
    what: Artifacts,
) -> Result<ArtifactMap> {
    let progress = crate::progress::StepProgress::new();
    Ok(step::record(paths, what, options, &progress)?.artifacts)
}

/// Records the step `request` asks for, with progress; a command that
/// cannot be run or times out is a verification failure (exit 1).
fn record_step(request: &step::Request<'_>) -> Result<step::Step> {
    step::run(request).map_err(|e| match e {
        // The limit came from --timeout (or in-toto-run's default): say so.
        attest::Error::Exec(attest::exec::ExecError::Timeout { program, seconds }) => {
            anyhow::Error::new(crate::verdict::VerificationFailed(format!(
                "command {program} timed out after {seconds} s (--timeout {seconds}) and was \
                 killed; raise or remove --timeout"
            )))
        }
        attest::Error::Exec(e) => {
            anyhow::Error::new(crate::verdict::VerificationFailed(e.to_string()))
        }
        other => other.into(),
    })
}

/// The environment, for the redactor: names and values that are not UTF-8
/// are read lossily (they are only compared with recorded text, which is
/// lossy UTF-8 too).
fn environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// `toto run`.
pub fn run(mut args: RunArgs) -> Result<ExitCode> {
    args.signing.settle_format()?;
    let name = step_name(&args.step_name)?;
    if args.command.is_empty() && !args.no_command {
        bail!("no command given: put it after `--`, or pass --no-command");
    }
    let options = args.artifacts.options()?;
    let mut secrets = environment();
    secrets.extend(args.signing.secrets());
    let redactor = Redactor::new(&args.redact, !args.no_default_redactions, &secrets)
        .context("invalid --redact pattern")?;
    // Whatever would stop the link from being signed and written fails
    // now, before the step runs.
    let timeout = args.timeout.filter(|&seconds| seconds > 0);
    let step = args.signing.step_seconds(timeout);
    let images = crate::images::parse(&args.subject, "--subject", &args.registry)?;
    if args.push && !args.signing.keyless.keyless && args.signing.format() != LinkFormat::Statement
    {
        bail!(
            "--push attaches the link as a Sigstore bundle of a Statement: drop --encoding, \
             --use-dsse and --gpg (or sign with --keyless)"
        );
    }
    let signing = args
        .signing
        .prepare(step, args.products.is_empty() && images.is_empty())?;
    if args.push {
        // Write access is checked before the step runs and anything is
        // signed (or, keyless, published to Rekor).
        for image in &images {
            oci::referrers::prepare(&image.registry, &image.reference).with_context(|| {
                format!(
                    "cannot write to {}; nothing was run",
                    image.reference.name()
                )
            })?;
        }
    }
    crate::files::check_writable(
        &args.signing.metadata_directory,
        &[signing.link_name(&name)],
    )?;
    let progress = crate::progress::StepProgress::new();
    let mut request = step::Request::new(&name, &options);
    request.command = (!args.no_command).then_some(args.command.as_slice());
    request.materials = &args.materials;
    request.products = &args.products;
    request.redactor = Some(&redactor);
    request.timeout = timeout.map(Duration::from_secs);
    if let (Some(seconds), false) = (timeout, args.no_command) {
        crate::verbosity::verbose!("the command is killed after {seconds} s (--timeout {seconds})");
    }
    request.remove_env = removed_credentials(args.pass_credentials);
    request.record_streams = args.record_streams;
    // stdout carries the JSON report alone.
    request.stdout_to_stderr = args.signing.json();
    request.observer = &progress;
    let mut recorded = record_step(&request)?;
    let mut resolved = Vec::new();
    for image in images {
        let product = crate::images::artifact_name(&image.reference);
        let one = crate::images::resolve(image, &format!("recording product {product}"))
            .context("the step ran, but no link was written")?;
        recorded.add_product(&product, one.digest_set()?)?;
        resolved.push(one);
    }
    let step::Step {
        link, return_value, ..
    } = recorded;
    let written = sign_link(&link, &args.signing, &signing, &name, &|_| Ok(()))?;
    crate::verbosity::info!("wrote {}", written.path.display());
    let mut shown_images = Vec::new();
    let bundle = match (&written.bundle, args.push && !resolved.is_empty()) {
        (_, false) => None,
        (Some(attachable), true) => Some(attachable.bundle()?),
        (None, true) => {
            bail!("the link written is not a Statement bundle; it cannot be attached")
        }
    };
    for one in &resolved {
        let attached = match &bundle {
            None => serde_json::Value::Null,
            Some(bundle) => crate::images::attach(one, bundle, attest::LINK_PREDICATE_V03, "link")?,
        };
        shown_images.push(serde_json::json!({
            "image": one.image.reference.to_string(),
            "product": crate::images::artifact_name(&one.image.reference),
            "digest": one.digest.to_string(),
            "attached": attached,
        }));
    }
    if args.signing.json() {
        let mut report = link_report(&written, &name, &link, return_value);
        if let (Some(fields), false) = (report.as_object_mut(), shown_images.is_empty()) {
            fields.insert("images".into(), serde_json::Value::Array(shown_images));
        }
        crate::verdict::print_json(&report)?;
    }
    let code = return_value.unwrap_or(0);
    Ok(ExitCode::from(
        u8::try_from(code.rem_euclid(256)).unwrap_or(1),
    ))
}

/// The link directory, canonical (it names the recording in the state).
fn link_directory(signing: &SigningArgs) -> Result<PathBuf> {
    let dir = &signing.metadata_directory;
    dir.canonicalize()
        .with_context(|| format!("cannot use the link directory {}", dir.display()))
}

/// `toto record start`: the unfinished link in the link directory, and
/// what stop must find again in the private state.
fn record_start(mut args: RecordStartArgs) -> Result<ExitCode> {
    args.signing.settle_format()?;
    let name = step_name(&args.step_name)?;
    let options = args.artifacts.options()?;
    let signing = (args.signing).prepare(args.signing.step_seconds(None), false)?;
    let dir = link_directory(&args.signing)?;
    let unfinished = crate::gpg_sign::unfinished_name(name.as_str(), &signing.unfinished_id());
    crate::files::check_writable(&dir, &[unfinished, signing.link_name(&name)])?;
    let store = Store::open()?;
    if let Some(earlier) = store.load(&dir, name.as_str())? {
        crate::verbosity::warning(format_args!(
            "replacing the recording of step {name} started {} earlier",
            earlier.signer
        ));
    }
    let materials = record_paths(&args.materials, &options, Artifacts::Materials)?;
    let link = Link {
        name: name.to_string(),
        command: Vec::new(),
        materials,
        products: ArtifactMap::new(),
        byproducts: Map::new(),
        environment: Map::new(),
    };
    // Keyless: the unfinished link stays unsigned (the certificate would
    // expire during a long step); it is signed at stop.
    let key = match &signing {
        Signing::Key(key) => Some(key),
        Signing::Keyless { .. } => None,
    };
    let (path, bytes, keyid) = write_link(&link, key, LinkFormat::Metablock, |id| {
        let id = if key.is_some() {
            id
        } else {
            KEYLESS_UNFINISHED
        };
        Ok(dir.join(crate::gpg_sign::unfinished_name(name.as_str(), id)))
    })?;
    let signer = match &signing {
        Signing::Keyless { token, .. } => Signer::keyless(token),
        Signing::Key(LinkSigner::Key(_)) => Signer::Key { keyid },
        Signing::Key(LinkSigner::Gpg(_)) => Signer::Gpg { keyid },
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let report = serde_json::json!({
        "started": path.display().to_string(),
        "step": name.as_str(),
        "signer": signer_json(&signer),
        "materials": link.materials.len(),
    });
    let started = Started::new(name.as_str(), &dir, signer, &file_name, &bytes, &link);
    store.save(&dir, &started)?;
    crate::verbosity::info!(
        "started {}; finish with `toto record stop -n {name}`",
        path.display()
    );
    if args.signing.json() {
        crate::verdict::print_json(&report)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses a `record stop` by another signer than the start's (before
/// anything is signed or sent).
fn check_signer(started: &Started, signing: &Signing, name: &StepName) -> Result<()> {
    let here = match signing {
        Signing::Keyless { token, .. } => Some(Signer::keyless(token)),
        Signing::Key(LinkSigner::Key(key)) => Some(Signer::Key {
            keyid: key.keyid().to_string(),
        }),
        // gpg names its key when it signs: checked then.
        Signing::Key(LinkSigner::Gpg(_)) => None,
    };
    let same = match (&here, &started.signer) {
        (Some(here), expected) => here == expected,
        (None, Signer::Gpg { .. }) => true,
        (None, _) => false,
    };
    if !same {
        let now = here.map_or_else(|| "with gpg".to_owned(), |s| s.to_string());
        bail!(
            "the recording of step {name} was started {}; stop it the same way (not {now})",
            started.signer
        );
    }
    Ok(())
}

/// `toto record stop`: signs the link `record start` began, and nothing
/// else.
fn record_stop(mut args: RecordStopArgs) -> Result<ExitCode> {
    args.signing.settle_format()?;
    let name = step_name(&args.step_name)?;
    let options = args.artifacts.options()?;
    // The step has run: the token must last for the signing only.
    let signing = args.signing.prepare(0, args.products.is_empty())?;
    let dir = link_directory(&args.signing)?;
    let store = Store::open()?;
    let Some(started) = store.load(&dir, name.as_str())? else {
        bail!(
            "no recording of step {name} was started in {} by this user; \
             run `toto record start -n {name}` first",
            dir.display()
        );
    };
    check_signer(&started, &signing, &name)?;
    let unfinished = started.unfinished_path(&dir);
    let limits = crate::files::limits();
    let bytes =
        crate::files::read_limited(&unfinished, limits.max_envelope_bytes, "unfinished link")
            .with_context(|| {
                format!("the unfinished link of step {name} is gone; run `toto record start` again")
            })?;
    if let Err(differences) = started.check_unfinished(&bytes) {
        return Err(anyhow::Error::new(crate::verdict::VerificationFailed(
            format!(
                "{} changed since `toto record start`: {differences}; not signing it \
             (run `toto record start` again)",
                unfinished.display()
            ),
        )));
    }
    let document = SignedDocument::from_json(&bytes, &limits)?;
    let mut link = Link::from_payload(document.into_payload())?;
    link.products = record_paths(&args.products, &options, Artifacts::Products)?;
    // gpg names its key only when it signs: it must be the one that started.
    let same_gpg_key = |keyid: &str| match &started.signer {
        Signer::Gpg { keyid: expected } if matches!(signing, Signing::Key(LinkSigner::Gpg(_))) => {
            if keyid == expected {
                Ok(())
            } else {
                bail!(
                    "the recording of step {name} was started {}; stop it the same way \
                     (not with OpenPGP key {keyid})",
                    started.signer
                )
            }
        }
        _ => Ok(()),
    };
    let written = sign_link(&link, &args.signing, &signing, &name, &same_gpg_key)?;
    std::fs::remove_file(&unfinished)
        .with_context(|| format!("cannot remove {}", unfinished.display()))?;
    store.remove(&dir, name.as_str())?;
    crate::verbosity::info!("wrote {}", written.path.display());
    if args.signing.json() {
        crate::verdict::print_json(&link_report(&written, &name, &link, None))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `toto record start|stop`.
pub fn record(command: RecordCommand) -> Result<ExitCode> {
    match command {
        RecordCommand::Start(args) => record_start(args),
        RecordCommand::Stop(args) => record_stop(args),
    }
}

/// `toto mock`.
pub fn mock(args: MockArgs) -> Result<ExitCode> {
    let name = step_name(&args.name)?;
    let redactor = Redactor::new(&[], true, &environment())?;
    let file = PathBuf::from(format!("{name}.link"));
    crate::files::check_writable(Path::new("."), &[file.display().to_string()])?;
    let options = RecordOptions::default();
    let here = [PathBuf::from(".")];
    let progress = crate::progress::StepProgress::new();
    let mut request = step::Request::new(&name, &options);
    request.command = Some(&args.command);
    request.materials = &here;
    request.products = &here;
    request.redactor = Some(&redactor);
    request.remove_env = removed_credentials(args.pass_credentials);
    request.record_streams = args.record_streams;
    let json_out = args.format == crate::verdict::Format::Json;
    request.stdout_to_stderr = json_out;
    request.observer = &progress;
    let step::Step {
        link, return_value, ..
    } = record_step(&request)?;
    let (path, _, _) = write_link(&link, None, LinkFormat::Metablock, |_| Ok(file))?;
    crate::verbosity::info!("wrote unsigned {}", path.display());
    if json_out {
        let written = Written {
            path,
            bundle: None,
            encoding: LinkFormat::Metablock.name(),
            signer: serde_json::Value::Null,
        };
        crate::verdict::print_json(&link_report(&written, &name, &link, return_value))?;
    }
    Ok(ExitCode::SUCCESS)
}
