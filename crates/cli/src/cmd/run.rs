//! `toto run`, `toto record start|stop` and `toto mock`: record what a step
//! did as a signed link. The reference's flag names are accepted, so scripts
//! written for `in-toto-run` / `in-toto-record` keep working.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use attest::record::{self, HashAlgorithm, RecordOptions};
use attest::redact::{Redactor, REDACTED};
use attest::{ArtifactMap, Encoding, Link, SignedDocument};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Map};

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
    /// Do not follow symbolic links to directories and files.
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
        value_name = "FILE"
    )]
    key: Option<PathBuf>,
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
    /// Show more output.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Show no output but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
}

impl SigningArgs {
    fn format(&self) -> LinkFormat {
        if self.use_dsse {
            LinkFormat::DsseLink
        } else {
            self.format
        }
    }

    fn load_key(&self) -> Result<dsse::PrivateKey> {
        let Some(path) = &self.key else {
            bail!("no signing key: pass --key FILE (or --signing-key FILE)");
        };
        util::load_private_key(path, self.password.as_ref())
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

fn record_paths(
    paths: &[PathBuf],
    options: &RecordOptions,
    quiet: bool,
    what: &str,
) -> Result<ArtifactMap> {
    if paths.is_empty() {
        return Ok(ArtifactMap::new());
    }
    let recorded = record::record_artifacts(paths, options)
        .with_context(|| format!("cannot record {what}"))?;
    if !quiet {
        for warning in &recorded.warnings {
            eprintln!("toto: warning: {warning}");
        }
    }
    Ok(recorded.artifacts)
}

fn write_link(
    link: &Link,
    key: Option<&dsse::PrivateKey>,
    format: LinkFormat,
    path: &Path,
) -> Result<()> {
    let payload = match format {
        LinkFormat::Statement => link.to_statement().into_value(),
        LinkFormat::DsseLink | LinkFormat::Metablock => link.to_classic(),
    };
    let mut document = SignedDocument::new(payload, format.encoding())?;
    if let Some(key) = key {
        document.add_signature(key)?;
    }
    util::write_atomic(path, &document.to_json(), None)
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
    let key = args.signing.load_key()?;
    let quiet = args.signing.quiet;
    let materials = record_paths(&args.materials, &options, quiet, "materials")?;
    let outcome = if args.no_command {
        None
    } else {
        let timeout = (args.timeout > 0).then(|| Duration::from_secs(args.timeout));
        Some(
            attest::exec::run(&args.command, None, timeout, args.record_streams)
                .map_err(|e| anyhow::Error::new(util::VerificationFailed(e.to_string())))?,
        )
    };
    let products = record_paths(&args.products, &options, quiet, "products")?;
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
    let path = args
        .signing
        .metadata_directory
        .join(name.link_file_name(key.keyid().as_str()));
    write_link(&link, Some(&key), args.signing.format(), &path)?;
    if !quiet {
        eprintln!("toto: wrote {}", path.display());
    }
    let code = outcome.map_or(0, |o| o.return_value);
    Ok(ExitCode::from(
        u8::try_from(code.rem_euclid(256)).unwrap_or(1),
    ))
}

fn unfinished_name(name: &attest::layout::StepName, key: &dsse::PrivateKey) -> String {
    format!(".{}.{}.link-unfinished", name, key.keyid().short())
}

/// `toto record start|stop`.
pub fn record(command: RecordCommand) -> Result<ExitCode> {
    match command {
        RecordCommand::Start(args) => {
            let name = step_name(&args.step_name)?;
            let options = args.artifacts.options()?;
            let key = args.signing.load_key()?;
            let materials =
                record_paths(&args.materials, &options, args.signing.quiet, "materials")?;
            let link = Link {
                name: name.to_string(),
                command: Vec::new(),
                materials,
                products: ArtifactMap::new(),
                byproducts: Map::new(),
                environment: Map::new(),
            };
            let path = args
                .signing
                .metadata_directory
                .join(unfinished_name(&name, &key));
            write_link(&link, Some(&key), LinkFormat::Metablock, &path)?;
            if !args.signing.quiet {
                eprintln!(
                    "toto: started {}; finish with `toto record stop -n {name}`",
                    path.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RecordCommand::Stop(args) => {
            let name = step_name(&args.step_name)?;
            let options = args.artifacts.options()?;
            let key = args.signing.load_key()?;
            let unfinished = args
                .signing
                .metadata_directory
                .join(unfinished_name(&name, &key));
            let limits = dsse::Limits::default();
            let bytes = util::read_limited(
                &unfinished,
                limits.max_envelope_bytes,
                "unfinished link",
            )
            .with_context(|| {
                format!("no recording of step {name} in progress; run `toto record start` first")
            })?;
            let document = SignedDocument::from_json(&bytes, &limits)?;
            document
                .verify(&[key.public_key()], 1)
                .with_context(|| format!("{} is not signed by this key", unfinished.display()))?;
            let mut link = Link::from_payload(document.payload().clone())?;
            link.products = record_paths(&args.products, &options, args.signing.quiet, "products")?;
            let path = args
                .signing
                .metadata_directory
                .join(name.link_file_name(key.keyid().as_str()));
            write_link(&link, Some(&key), args.signing.format(), &path)?;
            std::fs::remove_file(&unfinished)
                .with_context(|| format!("cannot remove {}", unfinished.display()))?;
            if !args.signing.quiet {
                eprintln!("toto: wrote {}", path.display());
            }
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
    let materials = record_paths(&here, &options, false, "materials")?;
    let outcome = attest::exec::run(&args.command, None, None, args.record_streams)
        .map_err(|e| anyhow::Error::new(util::VerificationFailed(e.to_string())))?;
    let products = record_paths(&here, &options, false, "products")?;
    let link = Link {
        name: name.to_string(),
        command: args.command.clone(),
        materials,
        products,
        byproducts: byproducts(Some(&outcome), &default_redactor()?),
        environment: Map::new(),
    };
    let path = PathBuf::from(format!("{name}.link"));
    write_link(&link, None, LinkFormat::Metablock, &path)?;
    eprintln!("toto: wrote unsigned {}", path.display());
    Ok(ExitCode::SUCCESS)
}
