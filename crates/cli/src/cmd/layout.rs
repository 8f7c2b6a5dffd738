//! `toto layout new|sign|show`: author a layout from a small declarative
//! TOML file, sign it, and read it back. (The reference needs its Python API
//! for this.)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use attest::layout::describe::{self, Description, KeySource, SourceError};
use attest::layout::{Functionary, Layout};
use attest::{Encoding, SignedDocument};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::verdict::{print_json, Format};

/// Layout subcommands.
#[derive(Debug, Subcommand)]
pub enum LayoutCommand {
    /// Build an unsigned layout from a TOML description.
    // The example is meant to be copied: never wrapped (a wrapped string is
    // not TOML).
    #[command(after_help = LAYOUT_FILE_HELP, term_width = 0)]
    New(NewArgs),
    /// Sign a layout (several owners may sign; --append keeps earlier signatures).
    #[command(
        after_help = "Examples:\n  toto layout sign --key alice.pem root.layout\n  \
        toto layout sign --key alice.pem --encoding dsse -o root.dsse.layout root.layout"
    )]
    Sign(SignArgs),
    /// Print a readable summary: expiry, keys, steps, rules, inspections.
    #[command(after_help = "Example:\n  toto layout show root.layout")]
    Show(ShowArgs),
}

/// `toto layout new --help`'s description of the TOML file (kept as text so
/// it reads as the user sees it).
const LAYOUT_FILE_HELP: &str = include_str!("layout_help.txt");

/// Arguments of `toto layout new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The description: TOML, or YAML when named *.yaml / *.yml.
    description: PathBuf,
    /// Where to write the unsigned layout (Metablock without signatures).
    #[arg(long, short = 'o', value_name = "FILE", default_value = "root.layout")]
    output: PathBuf,
    /// GnuPG home directory to export the steps' `gpg_keys` from.
    #[arg(long = "gpg-home", value_name = "DIR")]
    gpg_home: Option<PathBuf>,
    /// Output: text, or json (one JSON object on stdout: the file written,
    /// step and inspection counts).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Layout encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutFormat {
    /// Classic Metablock (what in-toto-verify reads by default).
    Metablock,
    /// DSSE envelope.
    Dsse,
}

impl LayoutFormat {
    fn encoding(self) -> Encoding {
        match self {
            LayoutFormat::Metablock => Encoding::Metablock,
            LayoutFormat::Dsse => Encoding::Dsse,
        }
    }
}

/// `--format` of `layout sign`: the output format, or (deprecated, for one
/// release) the encoding it used to choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignOutput {
    /// A line on stderr saying what was written.
    Text,
    /// One JSON object on stdout describing the signed layout.
    Json,
    /// Deprecated: --encoding metablock.
    #[value(hide = true)]
    Metablock,
    /// Deprecated: --encoding dsse.
    #[value(hide = true)]
    Dsse,
}

/// Arguments of `toto layout sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// Keys, or --keyless: a Sigstore bundle `<layout>.sigstore.json` over
    /// the layout file's exact bytes (verify with `toto verify
    /// --layout-identity … --layout-issuer …`). With both, the keys sign
    /// first and the bundle covers the key-signed file.
    #[command(flatten)]
    signing: crate::keyless_sign::KeysOrKeyless,
    /// Encoding of the signed layout (default: keep the input's).
    #[arg(long, value_enum, value_name = "ENCODING")]
    encoding: Option<LayoutFormat>,
    /// Output: text, or json (one JSON object on stdout: the file written,
    /// encoding, signatures, keyless bundle). `--format metablock|dsse`
    /// still chooses the encoding for one release (deprecated: use
    /// --encoding).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = SignOutput::Text)]
    format: SignOutput,
    /// Keep existing signatures.
    #[arg(long, short = 'a')]
    append: bool,
    /// Output file (default: sign in place).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// The layout.
    layout: PathBuf,
}

/// Arguments of `toto layout show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Output: a readable summary, or json (one JSON object on stdout: the
    /// encoding, signatures, expiry, keys, steps and inspections).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The layout.
    layout: PathBuf,
}

/// The functionaries' keys of a description: key files relative to it,
/// OpenPGP keys exported from the keyring.
struct Keys<'a> {
    base: &'a Path,
    gpg_home: Option<&'a Path>,
}

impl KeySource for Keys<'_> {
    fn public_key(&self, path: &Path) -> Result<dsse::PublicKey, SourceError> {
        Ok(crate::keys::load_public_key(&self.base.join(path))?)
    }

    fn gpg_key(&self, keyid: &str) -> Result<serde_json::Value, SourceError> {
        Ok(attest::gpg::export_key(keyid, self.gpg_home)?)
    }

    fn certificate(&self, path: &Path) -> Result<String, SourceError> {
        let bytes = crate::files::read_limited(&self.base.join(path), 1 << 20, "certificate")?;
        Ok(String::from_utf8(bytes).map_err(|_| "the certificate file is not UTF-8 PEM")?)
    }
}

impl LayoutCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            LayoutCommand::New(args) => new(args),
            LayoutCommand::Sign(args) => sign(args),
            LayoutCommand::Show(args) => show(args),
        }
    }
}

fn new(args: NewArgs) -> Result<ExitCode> {
    let text = crate::files::read_limited(&args.description, 1 << 20, "layout description")?;
    let text = String::from_utf8(text).context("the layout description is not UTF-8")?;
    let yaml = args
        .description
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let description: Description = if yaml {
        serde_norway::from_str(&text).map_err(anyhow::Error::new)
    } else {
        toml::from_str(&text).map_err(anyhow::Error::new)
    }
    .with_context(|| format!("cannot read {}", args.description.display()))?;
    let base = args.description.parent().unwrap_or(Path::new("."));
    let keys = Keys {
        base,
        gpg_home: args.gpg_home.as_deref(),
    };
    let layout = describe::build(description, crate::clock::unix_now(), &keys)
        .with_context(|| format!("in {}", args.description.display()))?;
    // The checks keyless applies at verification, refused now when they
    // could never pass (a `repo` that is not OWNER/REPO, a bad pattern).
    for step in &layout.steps {
        if let Some(github) = &step.github {
            keyless::policy::GitHubSigner::from(github)
                .validate()
                .with_context(|| {
                    format!(
                        "in {}: step {}: github",
                        args.description.display(),
                        step.name
                    )
                })?;
        }
    }
    for warning in describe::warnings(&layout) {
        crate::verbosity::warning(format_args!("{}: {warning}", args.description.display()));
    }
    // Round-trip through the parser: what we write is what verification reads.
    let value = layout.to_value();
    Layout::from_value(value.clone())?;
    let document = SignedDocument::new(value, Encoding::Metablock)?;
    crate::files::write_atomic(&args.output, &document.to_json(), None)?;
    crate::verbosity::info!(
        "wrote unsigned layout {} ({} steps, {} inspections); sign it with `toto layout sign`",
        args.output.display(),
        layout.steps.len(),
        layout.inspect.len()
    );
    if args.format == Format::Json {
        print_json(&json!({
            "layout": args.output.display().to_string(),
            "signed": false,
            "steps": layout.steps.len(),
            "inspections": layout.inspect.len(),
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a layout file: its bytes as read and the document they hold.
fn read_layout(path: &Path) -> Result<(Vec<u8>, SignedDocument)> {
    let limits = crate::files::limits();
    let bytes = crate::files::read_document(path, "layout")?;
    // Say what the file is when it is not a layout: a link, a bundle, a key…
    let kind = attest::identify::identify(&bytes);
    if kind != attest::identify::Kind::Layout {
        bail!(
            "{} is not a layout: it is {kind}; pass the signed layout (root.layout)",
            path.display()
        );
    }
    let document = SignedDocument::from_json(&bytes, &limits)
        .with_context(|| format!("cannot read layout {}", path.display()))?;
    if document.payload_type() != Some("layout") {
        bail!("{} is not a layout", path.display());
    }
    Ok((bytes, document))
}

/// The encoding `layout sign` was asked for: `--encoding`, or the
/// deprecated `--format metablock|dsse` (with a note on stderr).
fn sign_encoding(args: &SignArgs) -> Result<Option<LayoutFormat>> {
    let deprecated = match args.format {
        SignOutput::Text | SignOutput::Json => return Ok(args.encoding),
        SignOutput::Metablock => LayoutFormat::Metablock,
        SignOutput::Dsse => LayoutFormat::Dsse,
    };
    let name = if deprecated == LayoutFormat::Dsse {
        "dsse"
    } else {
        "metablock"
    };
    if args.encoding.is_some() {
        bail!(
            "--format {name} and --encoding: --format for the encoding is deprecated; give only \
             --encoding"
        );
    }
    crate::verbosity::warning(format_args!(
        "--format for the encoding is deprecated; use --encoding {name} (--format is the \
         output format: text or json)"
    ));
    Ok(Some(deprecated))
}

fn sign(args: SignArgs) -> Result<ExitCode> {
    let chosen = sign_encoding(&args)?;
    let json_out = args.format == SignOutput::Json;
    let (input, document) = read_layout(&args.layout)?;
    document
        .layout()
        .with_context(|| format!("{} is not a valid layout", args.layout.display()))?;
    let keys = crate::keys::SigningKeys {
        keys: args.signing.keys.clone(),
        password: args.signing.password.clone(),
    }
    .load()?;
    let encoding = chosen.map_or(document.encoding(), LayoutFormat::encoding);
    // `--keyless` alone adds a bundle and keeps the key signatures there are.
    let keep = args.append || keys.is_empty();
    let mut signed = if encoding != document.encoding() {
        SignedDocument::new(document.payload().clone(), encoding)?
    } else if keep {
        document.clone()
    } else {
        document.unsigned()?
    };
    for key in &keys {
        signed.add_signature(key)?;
    }
    let output = args.output.unwrap_or(args.layout);
    // Nothing to add to the file itself: it is written as it was read, and a
    // bundle covers those bytes.
    let bytes = if keys.is_empty() && encoding == document.encoding() {
        input
    } else {
        signed.to_json()
    };
    let keyless = &args.signing.keyless;
    if !keyless.keyless {
        crate::keyless_sign::check_layout_bundle_kept(&output, &bytes)?;
    }
    if keyless.keyless {
        // The bundle covers the exact bytes written; sign before writing so
        // a failed signing leaves the layout as it was.
        let (signer, bundle) = keyless.sign(|s| s.sign_blob(&bytes))?;
        crate::files::write_atomic(&output, &bytes, None)?;
        let bundle_path = crate::keyless_sign::layout_bundle_path(&output);
        crate::keyless_sign::write_bundle(&bundle_path, &bundle)?;
        crate::verbosity::info!(
            "wrote {} ({} key signature(s)) and {} (signed by {}, {})",
            output.display(),
            signed.signature_count(),
            bundle_path.display(),
            signer.identity(),
            signer.issuer()
        );
        if json_out {
            let bundle = json!({
                "path": bundle_path.display().to_string(),
                "identity": signer.identity(),
                "issuer": signer.issuer(),
                "log_index": bundle.log_index,
            });
            print_json(&sign_report(&output, &signed, bundle))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    crate::files::write_atomic(&output, &bytes, None)?;
    crate::verbosity::info!(
        "wrote {} signed by {} key(s)",
        output.display(),
        signed.signature_count()
    );
    if json_out {
        print_json(&sign_report(&output, &signed, serde_json::Value::Null))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `layout sign --format json`: the file written, its key signatures, and
/// the keyless bundle (or null).
fn sign_report(
    output: &Path,
    signed: &SignedDocument,
    bundle: serde_json::Value,
) -> serde_json::Value {
    json!({
        "layout": output.display().to_string(),
        "encoding": encoding_name(signed.encoding()),
        "signatures": signed.signature_count(),
        "keyids": signed.signature_keyids(),
        "bundle": bundle,
    })
}

/// An encoding as `--encoding` names it.
fn encoding_name(encoding: Encoding) -> &'static str {
    match encoding {
        Encoding::Metablock => "metablock",
        _ => "dsse",
    }
}

/// `layout show --format json`.
fn show_json(path: &Path, document: &SignedDocument, layout: &Layout) -> serde_json::Value {
    let keys: Vec<serde_json::Value> = layout
        .keys
        .iter()
        .map(|(id, key)| match key {
            Functionary::Key(key) => {
                json!({"keyid": id, "kind": "key", "scheme": key.scheme().to_string()})
            }
            Functionary::Gpg { .. } => json!({"keyid": id, "kind": "gpg"}),
            Functionary::Sigstore { identity, issuer } => json!({
                "keyid": id, "kind": "keyless", "identity": identity, "issuer": issuer,
            }),
        })
        .collect();
    let rules = |rules: &[attest::rules::Rule]| -> Vec<String> {
        rules.iter().map(ToString::to_string).collect()
    };
    let steps: Vec<serde_json::Value> = layout
        .steps
        .iter()
        .map(|step| {
            json!({
                "name": step.name.to_string(),
                "threshold": step.threshold,
                "functionaries": step.pubkeys,
                "expected_command": step.expected_command,
                "materials": rules(&step.expected_materials),
                "products": rules(&step.expected_products),
                "github": step.github,
                "cert_constraints": step
                    .cert_constraints
                    .iter()
                    .map(attest::x509::CertConstraint::to_value)
                    .collect::<Vec<_>>(),
                "slsa": step.slsa,
            })
        })
        .collect();
    let inspections: Vec<serde_json::Value> = layout
        .inspect
        .iter()
        .map(|i| {
            json!({
                "name": i.name.to_string(),
                "run": i.run,
                "materials": rules(&i.expected_materials),
                "products": rules(&i.expected_products),
            })
        })
        .collect();
    json!({
        "layout": path.display().to_string(),
        "encoding": encoding_name(document.encoding()),
        "signatures": document.signature_keyids(),
        "expires": layout.expires.as_ref().map(ToString::to_string),
        "readme": layout.readme,
        "keys": keys,
        "rootcas": cas_json(&layout.rootcas),
        "intermediatecas": cas_json(&layout.intermediatecas),
        "steps": steps,
        "inspections": inspections,
    })
}

/// A layout's `rootcas` or `intermediatecas` for `--format json`: each id
/// with its certificates' subjects.
fn cas_json(
    cas: &std::collections::BTreeMap<String, attest::x509::CaCertificate>,
) -> Vec<serde_json::Value> {
    cas.iter()
        .map(|(id, ca)| json!({"id": id, "subjects": ca.subjects()}))
        .collect()
}

/// A step's certificate constraints (`x-toto-github`, `x-toto-slsa`) as
/// `name = value` pairs, in the layout's field names.
fn constraint_checks(constraints: &impl serde::Serialize) -> String {
    let serde_json::Value::Object(fields) = json!(constraints) else {
        return String::new();
    };
    if fields.is_empty() {
        return "none".into();
    }
    fields
        .iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(text) => format!("{name} = {text:?}"),
            other => format!("{name} = {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn show(args: ShowArgs) -> Result<ExitCode> {
    let (_, document) = read_layout(&args.layout)?;
    let layout = document.layout()?;
    if args.format == Format::Json {
        print_json(&show_json(&args.layout, &document, &layout))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("Layout {}", args.layout.display());
    println!(
        "  encoding: {:?}, signatures by: {}",
        document.encoding(),
        document.signature_keyids().join(", ")
    );
    match &layout.expires {
        Some(e) => println!("  expires: {e}"),
        None => println!("  expires: never (no expiry set)"),
    }
    if !layout.readme.is_empty() {
        println!("  readme: {}", layout.readme);
    }
    println!("  keys:");
    for (id, key) in &layout.keys {
        match key {
            Functionary::Key(key) => println!("    {id} ({})", key.scheme()),
            Functionary::Gpg { .. } => println!("    {id} (OpenPGP)"),
            Functionary::Sigstore { identity, issuer } => {
                println!("    {id} (keyless: {identity}, issued by {issuer})")
            }
        }
    }
    for (what, cas) in [
        ("root CAs", &layout.rootcas),
        ("intermediate CAs", &layout.intermediatecas),
    ] {
        if !cas.is_empty() {
            println!("  {what} (X.509 functionaries):");
        }
        for (id, ca) in cas {
            println!("    {id} ({})", ca.subjects().join("; "));
        }
    }
    for step in &layout.steps {
        println!("  step {} (threshold {}):", step.name, step.threshold);
        let short: Vec<&str> = step
            .pubkeys
            .iter()
            .map(|k| k.get(..8).unwrap_or(k))
            .collect();
        println!("    functionaries: {}", short.join(", "));
        if let Some(github) = &step.github {
            println!(
                "    certificate checks (github): {}",
                constraint_checks(github)
            );
        }
        if let Some(slsa) = &step.slsa {
            println!("    provenance checks (slsa): {}", constraint_checks(slsa));
        }
        for (index, constraint) in step.cert_constraints.iter().enumerate() {
            println!(
                "    X.509 functionaries [{index}]: {}",
                constraint.to_value()
            );
        }
        if !step.expected_command.is_empty() {
            println!("    expected command: {}", step.expected_command.join(" "));
        }
        for r in &step.expected_materials {
            println!("    materials: {r}");
        }
        for r in &step.expected_products {
            println!("    products:  {r}");
        }
    }
    for i in &layout.inspect {
        println!("  inspection {}: runs {}", i.name, i.run.join(" "));
        for r in &i.expected_materials {
            println!("    materials: {r}");
        }
        for r in &i.expected_products {
            println!("    products:  {r}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
