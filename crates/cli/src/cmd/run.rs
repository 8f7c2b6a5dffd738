//! `toto run`, `toto record start|stop` and `toto mock`: record what a step
//! did as a signed link. The reference's flag names are accepted, so scripts
//! written for `in-toto-run` / `in-toto-record` keep working.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use attest::record::{self, HashAlgorithm, RecordOptions};
use attest::redact::{Redactor, REDACTED};
use attest::{ArtifactMap, Encoding, Link, SignedDocument};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Map};

use crate::gpg_sign::LinkSigner;
use crate::util;

/// Link encodings `toto` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LinkFormat {
    /// DSSE around an in-toto Statement v1 with a link v0.3 predicate (default).
    Statement,
    /// DSSE around a classic link, as `in-toto-run --use-dsse` writes it.
    DsseLink,
    /// Classic Metablock, as `in-toto-run` writes it.
    Metablock,
}

impl LinkFormat {
    fn encoding(self) -> Encoding {
        match self {
            LinkFormat::Statement => Encoding::Statement,
            LinkFormat::DsseLink => Encoding::Dsse,
            LinkFormat::Metablock => Encoding::Metablock,
        }
    }
}

/// How artifacts are recorded: shared by run, record and mock.
#[derive(Debug, Args, Clone)]
pub struct ArtifactArgs {
    /// Record paths relative to this directory.
    #[arg(long = "base-path", value_name = "DIR")]
    base_path: Option<PathBuf>,
    /// Strip these prefixes from recorded paths (error if two paths collide).
    #[arg(long = "lstrip-paths", num_args = 1.., value_name = "PREFIX")]
    lstrip_paths: Vec<String>,
    /// gitignore-style patterns to exclude; replace the defaults
    /// (*.link*, .git, *.pyc, *~).
    #[arg(long = "exclude", short = 'e', num_args = 1.., value_name = "PATTERN")]
    exclude: Option<Vec<String>>,
    /// Digest algorithms, comma-separated (sha256, sha384, sha512).
    #[arg(
        long = "digest",
        value_delimiter = ',',
        default_value = "sha256",
        value_name = "ALG"
    )]
    digest: Vec<String>,
    /// Do not follow symbolic links to directories and files met while
    /// recording (they are skipped with a warning); paths given are followed.
    #[arg(long = "no-follow-symlinks")]
    no_follow_symlinks: bool,
}

impl ArtifactArgs {
    fn options(&self) -> Result<RecordOptions> {
        let algorithms = self
            .digest
            .iter()
            .map(|a| {
                a.parse::<HashAlgorithm>().map_err(|_| {
                    anyhow::anyhow!("unknown digest algorithm {a:?} (use sha256, sha384 or sha512)")
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordOptions {
            base_path: self.base_path.clone(),
            lstrip_paths: self.lstrip_paths.clone(),
            exclude: self.exclude.clone(),
            follow_symlinks: !self.no_follow_symlinks,
            algorithms,
            ..RecordOptions::default()
        })
    }
}

/// Signing and output options shared by run and record.
#[derive(Debug, Args, Clone)]
pub struct SigningArgs {
    /// Private key to sign the link with (PKCS#8 PEM).
    #[arg(
        long = "key",
        short = 'k',
        visible_alias = "signing-key",
        value_name = "FILE",
        conflicts_with = "gpg"
    )]
    key: Option<PathBuf>,
    #[command(flatten)]
    gpg: crate::gpg_sign::GpgArgs,
    #[command(flatten)]
    keyless: crate::keyless_sign::KeylessArgs,
    /// Password of an encrypted key; without a value, prompt (also: env TOTO_KEY_PASSWORD).
    #[arg(long, short = 'P', num_args = 0..=1, value_name = "PASSWORD")]
    password: Option<Option<String>>,
    /// Directory to write the link to.
    #[arg(
        long = "metadata-directory",
        short = 'd',
        visible_alias = "outdir",
        value_name = "DIR",
        default_value = "."
    )]
    metadata_directory: PathBuf,
    /// Link encoding.
    #[arg(long, value_enum, default_value_t = LinkFormat::Statement)]
    format: LinkFormat,
    /// Same as --format dsse-link (the reference's flag).
    #[arg(long = "use-dsse", conflicts_with = "format")]
    use_dsse: bool,
}

/// The key-id part of a keyless recording's unfinished link name.
const KEYLESS_UNFINISHED: &str = "keyless";

impl SigningArgs {
    /// With `--keyless`, the identity token (checked now, so a bad token
    /// fails before the step runs).
    fn keyless_token(&self) -> Result<Option<keyless::IdentityToken>> {
        if !self.keyless.keyless {
            return Ok(None);
        }
        if self.key.is_some() || self.gpg.signer().is_some() {
            bail!("--keyless signs without a key: drop --key/--gpg, or drop --keyless");
        }
        if self.format() != LinkFormat::Statement {
            bail!("--keyless writes a Sigstore bundle of a Statement v1 link: drop --format/--use-dsse");
        }
        self.keyless.token().map(Some)
    }

    fn format(&self) -> LinkFormat {
        if self.use_dsse {
            LinkFormat::DsseLink
        } else {
            self.format
        }
    }

    fn load_key(&self) -> Result<LinkSigner> {
        if let Some(gpg) = self.gpg.signer() {
            if self.format() != LinkFormat::Metablock {
                bail!("--gpg signs Metablocks only, as the reference does: add --format metablock");
            }
            return Ok(LinkSigner::Gpg(gpg));
        }
        let Some(path) = &self.key else {
            bail!("no signing key: pass --key FILE (or --signing-key FILE), or --gpg [KEYID]");
        };
        let key = util::load_private_key(path, self.password.as_ref())?;
        Ok(LinkSigner::Key(Box::new(key)))
    }
}

/// Arguments of `toto run`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit code: the command's own exit code (0 with --no-command); 1 when it \
    cannot run or times out; 2 for usage or input errors.\n\nExamples:\n  \
    toto run -n build -k alice.pem -m src -p dist -- make dist\n  \
    toto run -n package --format metablock -k bob.pem -m dist -p pkg.tar.gz -- tar czf pkg.tar.gz dist\n  \
    in-toto-run --step-name build --signing-key alice.pem --materials src --products dist -- make"
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
    /// Replace matches of this regular expression in recorded streams with
    /// [REDACTED] before signing (repeatable).
    #[arg(long, value_name = "REGEX")]
    redact: Vec<String>,
    /// Do not redact the well-known secret shapes (GitHub/GitLab tokens, AWS
    /// key ids, JWTs, private keys) and the values of environment variables
    /// named *TOKEN*, *SECRET*, *PASSWORD*, *KEY*.
    #[arg(long)]
    no_default_redactions: bool,
    /// Kill the command after this many seconds (0: no limit).
    #[arg(long, short = 't', visible_alias = "run-timeout", default_value_t = 10)]
    timeout: u64,
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
    /// The command, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

fn step_name(name: &str) -> Result<attest::layout::StepName> {
    attest::layout::StepName::parse(name).with_context(|| format!("invalid step name {name:?}"))
}

/// Records `paths` as `what` ("materials", "products"), with a progress
/// bar on a terminal and `-v`/`-vv` detail lines.
fn record_paths(
    paths: &[PathBuf],
    options: &RecordOptions,
    what: &'static str,
) -> Result<ArtifactMap> {
    if paths.is_empty() {
        return Ok(ArtifactMap::new());
    }
    let reporter = crate::progress::Recording::new(what);
    let options = RecordOptions {
        observer: Some(reporter.clone()),
        ..options.clone()
    };
    let recorded = record::record_artifacts(paths, &options);
    reporter.finish();
    let recorded = recorded.with_context(|| format!("cannot record {what}"))?;
    for warning in &recorded.warnings {
        crate::log::warning(warning);
    }
    crate::log::verbose!(
        "recorded {} {what} ({} skipped)",
        recorded.artifacts.len(),
        recorded.warnings.len()
    );
    Ok(recorded.artifacts)
}

/// Signs and writes `link`; `path` names the file from the signing key id.
fn write_link(
    link: &Link,
    key: Option<&LinkSigner>,
    format: LinkFormat,
    path: impl FnOnce(&str) -> PathBuf,
) -> Result<PathBuf> {
    let payload = match format {
        LinkFormat::Statement => link.to_statement().into_value(),
        LinkFormat::DsseLink | LinkFormat::Metablock => link.to_classic(),
    };
    let mut document = SignedDocument::new(payload, format.encoding())?;
    let keyid = match key {
        Some(key) => key.sign(&mut document)?,
        None => String::new(),
    };
    if !keyid.is_empty() {
        crate::log::verbose!("signed the {format:?} link with key {keyid}");
    }
    let path = path(&keyid);
    util::write_atomic(&path, &document.to_json(), None)?;
    Ok(path)
}

/// Signs a finished step's link with the key, or keylessly, and writes it
/// into the metadata directory as `<step>.<id8>.link` (`.link.sigstore.json`
/// when keyless).
fn sign_link(
    link: &Link,
    signing: &SigningArgs,
    key: Option<&LinkSigner>,
    keyless: Option<&keyless::IdentityToken>,
    name: &attest::layout::StepName,
) -> Result<PathBuf> {
    let dir = &signing.metadata_directory;
    match keyless {
        Some(token) => {
            let signer = signing.keyless.signer(token)?;
            crate::keyless_sign::write_link(link, &signer, name, dir)
        }
        None => write_link(link, key, signing.format(), |id| {
            dir.join(name.link_file_name(id))
        }),
    }
}

fn byproducts(
    outcome: Option<&attest::exec::Outcome>,
    redactor: &Redactor,
) -> Map<String, serde_json::Value> {
    let mut map = Map::new();
    if let Some(o) = outcome {
        let (stdout, out_count) = redactor.redact(&o.stdout);
        let (stderr, err_count) = redactor.redact(&o.stderr);
        map.insert("return-value".into(), json!(o.return_value));
        map.insert("stdout".into(), json!(stdout));
        map.insert("stderr".into(), json!(stderr));
        if out_count + err_count > 0 {
            // Tell verifiers the streams were edited before signing.
            map.insert(
                "toto-redacted".into(),
                json!({"stdout": out_count, "stderr": err_count, "replacement": REDACTED}),
            );
        }
    }
    map
}

/// `toto run`.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    let name = step_name(&args.step_name)?;
    if args.command.is_empty() && !args.no_command {
        bail!("no command given: put it after `--`, or pass --no-command");
    }
    let options = args.artifacts.options()?;
    let environment: Vec<(String, String)> = std::env::vars().collect();
    let redactor = Redactor::new(&args.redact, !args.no_default_redactions, &environment)
        .context("invalid --redact pattern")?;
    let keyless = args.signing.keyless_token()?;
    let key = match keyless {
        Some(_) => None,
        None => Some(args.signing.load_key()?),
    };
    let materials = record_paths(&args.materials, &options, "materials")?;
    let outcome = if args.no_command {
        None
    } else {
        let timeout = (args.timeout > 0).then(|| Duration::from_secs(args.timeout));
        crate::log::verbose!("running {:?}", args.command);
        let outcome = attest::exec::run(&args.command, None, timeout, args.record_streams)
            .map_err(|e| anyhow::Error::new(util::VerificationFailed(e.to_string())))?;
        crate::log::verbose!("the command exited with {}", outcome.return_value);
        Some(outcome)
    };
    let products = record_paths(&args.products, &options, "products")?;
    let link = Link {
        name: name.to_string(),
        command: if args.no_command {
            Vec::new()
        } else {
            args.command.clone()
        },
        materials,
        products,
        byproducts: byproducts(outcome.as_ref(), &redactor),
        environment: Map::new(),
    };
    let path = sign_link(&link, &args.signing, key.as_ref(), keyless.as_ref(), &name)?;
    crate::log::info!("wrote {}", path.display());
    let code = outcome.map_or(0, |o| o.return_value);
    Ok(ExitCode::from(
        u8::try_from(code.rem_euclid(256)).unwrap_or(1),
    ))
}

/// `toto record start|stop`.
pub fn record(command: RecordCommand) -> Result<ExitCode> {
    match command {
        RecordCommand::Start(args) => {
            let name = step_name(&args.step_name)?;
            let options = args.artifacts.options()?;
            let keyless = args.signing.keyless_token()?;
            let key = match keyless {
                Some(_) => None,
                None => Some(args.signing.load_key()?),
            };
            let materials = record_paths(&args.materials, &options, "materials")?;
            let link = Link {
                name: name.to_string(),
                command: Vec::new(),
                materials,
                products: ArtifactMap::new(),
                byproducts: Map::new(),
                environment: Map::new(),
            };
            let dir = &args.signing.metadata_directory;
            // Keyless: the unfinished link stays unsigned (the certificate
            // would expire during a long step); it is signed at stop.
            let path = write_link(&link, key.as_ref(), LinkFormat::Metablock, |id| {
                let id = if key.is_some() {
                    id
                } else {
                    KEYLESS_UNFINISHED
                };
                dir.join(crate::gpg_sign::unfinished_name(name.as_str(), id))
            })?;
            crate::log::info!(
                "started {}; finish with `toto record stop -n {name}`",
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        RecordCommand::Stop(args) => {
            let name = step_name(&args.step_name)?;
            let options = args.artifacts.options()?;
            let keyless = args.signing.keyless_token()?;
            let key = match keyless {
                Some(_) => None,
                None => Some(args.signing.load_key()?),
            };
            let unfinished = match &key {
                Some(key) => {
                    key.unfinished_path(&args.signing.metadata_directory, name.as_str())?
                }
                None => args
                    .signing
                    .metadata_directory
                    .join(crate::gpg_sign::unfinished_name(
                        name.as_str(),
                        KEYLESS_UNFINISHED,
                    )),
            };
            let limits = util::limits();
            let bytes = util::read_limited(
                &unfinished,
                limits.max_envelope_bytes,
                "unfinished link",
            )
            .with_context(|| {
                format!("no recording of step {name} in progress; run `toto record start` first")
            })?;
            let document = SignedDocument::from_json(&bytes, &limits)?;
            if let Some(key) = &key {
                key.check_signed(&document, &unfinished)?;
            }
            let mut link = Link::from_payload(document.payload().clone())?;
            link.products = record_paths(&args.products, &options, "products")?;
            let path = sign_link(&link, &args.signing, key.as_ref(), keyless.as_ref(), &name)?;
            std::fs::remove_file(&unfinished)
                .with_context(|| format!("cannot remove {}", unfinished.display()))?;
            crate::log::info!("wrote {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn default_redactor() -> Result<Redactor> {
    let environment: Vec<(String, String)> = std::env::vars().collect();
    Ok(Redactor::new(&[], true, &environment)?)
}

/// `toto mock`.
pub fn mock(args: MockArgs) -> Result<ExitCode> {
    let name = step_name(&args.name)?;
    let options = RecordOptions::default();
    let here = [PathBuf::from(".")];
    let materials = record_paths(&here, &options, "materials")?;
    let outcome = attest::exec::run(&args.command, None, None, args.record_streams)
        .map_err(|e| anyhow::Error::new(util::VerificationFailed(e.to_string())))?;
    let products = record_paths(&here, &options, "products")?;
    let link = Link {
        name: name.to_string(),
        command: args.command.clone(),
        materials,
        products,
        byproducts: byproducts(Some(&outcome), &default_redactor()?),
        environment: Map::new(),
    };
    let path = write_link(&link, None, LinkFormat::Metablock, |_| {
        PathBuf::from(format!("{name}.link"))
    })?;
    crate::log::info!("wrote unsigned {}", path.display());
    Ok(ExitCode::SUCCESS)
}
