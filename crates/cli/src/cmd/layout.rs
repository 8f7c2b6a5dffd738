//! `toto layout new|sign|show`: author a layout from a small declarative
//! TOML file, sign it, and read it back. (The reference needs its Python API
//! for this.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use attest::layout::{Functionary, Inspection, Layout, Step, StepName};
use attest::rules::Rule;
use attest::{Encoding, SignedDocument};
use clap::{Args, Subcommand, ValueEnum};
use serde::Deserialize;

use crate::util;

/// Layout subcommands.
#[derive(Debug, Subcommand)]
pub enum LayoutCommand {
    /// Build an unsigned layout from a TOML description.
    #[command(after_help = LAYOUT_FILE_HELP)]
    New(NewArgs),
    /// Sign a layout (several owners may sign; --append keeps earlier signatures).
    #[command(
        after_help = "Examples:\n  toto layout sign --key alice.pem root.layout\n  \
        toto layout sign --key alice.pem --format dsse -o root.dsse.layout root.layout"
    )]
    Sign(SignArgs),
    /// Print a readable summary: expiry, keys, steps, rules, inspections.
    #[command(after_help = "Example:\n  toto layout show root.layout")]
    Show(ShowArgs),
}

const LAYOUT_FILE_HELP: &str = r#"The TOML file:

  expires = "365d"                 # a duration (s, m, h, d, w) or YYYY-MM-DDTHH:MM:SSZ
  readme = "How our release is built"

  [[steps]]
  name = "clone"
  functionaries = ["bob.pub"]      # public key files, relative to the TOML file
  gpg_keys = ["8465A1E2E0FB2B40ADB2478E18FB3F537E0C8A17"]   # OpenPGP keys, exported from
                                   # the keyring (--gpg-home DIR, else gpg's default)
  identities = [{ identity = "https://github.com/org/repo/.github/workflows/build.yml@refs/heads/main",
                  issuer = "https://token.actions.githubusercontent.com" }]   # keyless (Sigstore)
  threshold = 1                    # default 1
  expected_command = ["git", "clone", "https://example.org/project.git"]
  materials = []
  products = ["CREATE project/*", "DISALLOW *"]

  [[inspections]]
  name = "untar"
  run = ["tar", "xzf", "project.tar.gz"]
  materials = ["MATCH project.tar.gz WITH PRODUCTS FROM package", "ALLOW *"]
  products = ["MATCH project/* WITH PRODUCTS FROM clone", "ALLOW *"]

The same description in YAML (a file named *.yaml or *.yml):

  expires: 365d
  steps:
    - name: clone
      functionaries: [bob.pub]
      products: ["CREATE project/*", "DISALLOW *"]

Rules are written as in-toto writes them: CREATE, DELETE, MODIFY, ALLOW,
DISALLOW, REQUIRE, and MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS)
[IN <prefix>] FROM <step>.

Example:
  toto layout new supply-chain.toml -o root.layout
  toto layout sign --key alice.pem root.layout"#;

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
}

/// Layout encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutFormat {
    /// Classic Metablock (what in-toto-verify reads by default).
    Metablock,
    /// DSSE envelope.
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
    #[arg(long, value_enum)]
    format: Option<LayoutFormat>,
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
    /// The layout.
    layout: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Description {
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    readme: String,
    #[serde(default)]
    steps: Vec<StepDescription>,
    #[serde(default)]
    inspections: Vec<InspectionDescription>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepDescription {
    name: String,
    #[serde(default)]
    functionaries: Vec<PathBuf>,
    #[serde(default)]
    identities: Vec<IdentityDescription>,
    /// OpenPGP key ids, exported with `gpg --export`.
    #[serde(default)]
    gpg_keys: Vec<String>,
    #[serde(default = "one")]
    threshold: usize,
    #[serde(default)]
    expected_command: Vec<String>,
    #[serde(default)]
    materials: Vec<String>,
    #[serde(default)]
    products: Vec<String>,
}

/// A keyless functionary: whoever holds a Fulcio certificate for `identity`
/// from `issuer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityDescription {
    identity: String,
    issuer: String,
}

fn one() -> usize {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InspectionDescription {
    name: String,
    run: Vec<String>,
    #[serde(default)]
    materials: Vec<String>,
    #[serde(default)]
    products: Vec<String>,
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

/// Parses `365d`, `12h`, `30m`, `45s`, `2w` into seconds.
fn parse_duration(text: &str) -> Option<i64> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = number.parse().ok()?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(scale)
}

fn parse_rules(item: &str, which: &str, rules: &[String]) -> Result<Vec<Rule>> {
    rules
        .iter()
        .map(|r| {
            r.parse::<Rule>()
                .map_err(|e| anyhow::anyhow!("{item}: {which}: {e}"))
        })
        .collect()
}

fn build_layout(description: Description, base: &Path, gpg_home: Option<&Path>) -> Result<Layout> {
    let expires = match description.expires.as_deref() {
        None => None,
        Some(text) => {
            Some(match parse_duration(text) {
                Some(seconds) => {
                    attest::time::format_rfc3339_utc(util::unix_now().saturating_add(seconds))
                }
                None => {
                    attest::time::parse_rfc3339_utc(text).with_context(|| {
                    format!("expires = {text:?}: use a duration like \"365d\" or YYYY-MM-DDTHH:MM:SSZ")
                })?;
                    text.to_owned()
                }
            })
        }
    };
    let mut keys = BTreeMap::new();
    let mut steps = Vec::new();
    // Per step, what the description called each functionary, in order.
    let mut shown: Vec<Vec<String>> = Vec::new();
    for s in description.steps {
        let name = StepName::parse(&s.name)?;
        let mut pubkeys = Vec::new();
        let mut named = Vec::new();
        for path in &s.functionaries {
            let key = util::load_public_key(&base.join(path))
                .with_context(|| format!("step {name}: functionary {}", path.display()))?;
            let id = key.keyid().to_string();
            named.push(format!("functionary {}", path.display()));
            pubkeys.push(id.clone());
            keys.insert(id, Functionary::Key(Box::new(key)));
        }
        for keyid in &s.gpg_keys {
            let dict = crate::gpg_sign::export_key(keyid, gpg_home)
                .with_context(|| format!("step {name}: OpenPGP functionary {keyid}"))?;
            let key = dsse::gpg::GpgKey::from_key_dict(&dict)
                .with_context(|| format!("step {name}: OpenPGP functionary {keyid}"))?;
            let id = key.keyid().to_owned();
            named.push(format!("OpenPGP key {keyid}"));
            pubkeys.push(id.clone());
            keys.insert(
                id,
                Functionary::Gpg {
                    key: Box::new(key),
                    dict,
                },
            );
        }
        for who in &s.identities {
            let functionary = Functionary::Sigstore {
                identity: who.identity.clone(),
                issuer: who.issuer.clone(),
            };
            let id = functionary.keyid()?;
            named.push(format!("identity {} ({})", who.identity, who.issuer));
            pubkeys.push(id.clone());
            keys.insert(id, functionary);
        }
        if s.threshold == 0 || s.threshold > pubkeys.len() {
            bail!(
                "step {name}: threshold {} needs at least that many functionaries (has {})",
                s.threshold,
                pubkeys.len()
            );
        }
        shown.push(named);
        steps.push(Step {
            expected_materials: parse_rules(name.as_str(), "materials", &s.materials)?,
            expected_products: parse_rules(name.as_str(), "products", &s.products)?,
            name,
            pubkeys,
            expected_command: s.expected_command,
            threshold: s.threshold,
        });
    }
    let mut inspect = Vec::new();
    for i in description.inspections {
        let name = StepName::parse(&i.name)?;
        if i.run.is_empty() {
            bail!("inspection {name}: run is empty");
        }
        inspect.push(Inspection {
            expected_materials: parse_rules(name.as_str(), "materials", &i.materials)?,
            expected_products: parse_rules(name.as_str(), "products", &i.products)?,
            name,
            run: i.run,
        });
    }
    let layout = Layout {
        expires,
        readme: description.readme,
        keys,
        steps,
        inspect,
    };
    if let Some((step, first, second)) = layout.duplicate_functionary() {
        let at = layout.steps.iter().position(|s| std::ptr::eq(s, step));
        let named = |i: usize| {
            at.and_then(|at| shown.get(at)?.get(i))
                .map_or("?", String::as_str)
        };
        let signer = step.pubkeys.get(first).and_then(|id| layout.keys.get(id));
        bail!(
            "step {}: {} is the same signer as {}{}; a threshold counts each signer once, \
             so list every functionary once",
            step.name,
            named(second),
            named(first),
            signer.map_or(String::new(), |f| format!(" ({})", f.signer()))
        );
    }
    Ok(layout)
}

fn new(args: NewArgs) -> Result<ExitCode> {
    let text = util::read_limited(&args.description, 1 << 20, "layout description")?;
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
    let layout = build_layout(description, base, args.gpg_home.as_deref())
        .with_context(|| format!("in {}", args.description.display()))?;
    // Round-trip through the parser: what we write is what verification reads.
    let value = layout.to_value();
    Layout::from_value(value.clone())?;
    let document = SignedDocument::new(value, Encoding::Metablock)?;
    util::write_atomic(&args.output, &document.to_json(), None)?;
    crate::log::info!(
        "wrote unsigned layout {} ({} steps, {} inspections); sign it with `toto layout sign`",
        args.output.display(),
        layout.steps.len(),
        layout.inspect.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn read_layout(path: &Path) -> Result<SignedDocument> {
    let limits = util::limits();
    let bytes = util::read_document(path, "layout")?;
    let document = SignedDocument::from_json(&bytes, &limits)
        .with_context(|| format!("cannot read layout {}", path.display()))?;
    if document.payload_type() != Some("layout") {
        bail!("{} is not a layout", path.display());
    }
    Ok(document)
}

fn sign(args: SignArgs) -> Result<ExitCode> {
    let document = read_layout(&args.layout)?;
    Layout::from_value(document.payload().clone())
        .with_context(|| format!("{} is not a valid layout", args.layout.display()))?;
    let keys = util::SigningKeys {
        keys: args.signing.keys.clone(),
        password: args.signing.password.clone(),
    }
    .load()?;
    let encoding = match args.format {
        None => document.encoding(),
        Some(LayoutFormat::Metablock) => Encoding::Metablock,
        Some(LayoutFormat::Dsse) => Encoding::Dsse,
    };
    let mut signed = if args.append && encoding == document.encoding() {
        document.clone()
    } else {
        SignedDocument::new(document.payload().clone(), encoding)?
    };
    for key in &keys {
        signed.add_signature(key)?;
    }
    let output = args.output.unwrap_or(args.layout);
    let bytes = signed.to_json();
    let keyless = &args.signing.keyless;
    if keyless.keyless {
        // The bundle covers the exact bytes written; sign before writing so
        // a failed signing leaves the layout as it was.
        let token = keyless.token()?;
        let signer = keyless.signer(&token)?;
        let bundle = signer
            .sign_blob(&bytes)
            .map_err(crate::keyless_sign::cli_error)?;
        util::write_atomic(&output, &bytes, None)?;
        let bundle_path = crate::keyless_sign::layout_bundle_path(&output);
        crate::keyless_sign::write_bundle(&bundle_path, &bundle)?;
        crate::log::info!(
            "wrote {} ({} key signature(s)) and {} (signed by {}, {})",
            output.display(),
            signed.signature_count(),
            bundle_path.display(),
            signer.identity(),
            signer.issuer()
        );
        return Ok(ExitCode::SUCCESS);
    }
    util::write_atomic(&output, &bytes, None)?;
    crate::log::info!(
        "wrote {} signed by {} key(s)",
        output.display(),
        signed.signature_count()
    );
    Ok(ExitCode::SUCCESS)
}

fn show(args: ShowArgs) -> Result<ExitCode> {
    let document = read_layout(&args.layout)?;
    let layout = Layout::from_value(document.payload().clone())?;
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
    for step in &layout.steps {
        println!("  step {} (threshold {}):", step.name, step.threshold);
        let short: Vec<&str> = step
            .pubkeys
            .iter()
            .map(|k| k.get(..8).unwrap_or(k))
            .collect();
        println!("    functionaries: {}", short.join(", "));
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
