//! `toto match-products`: do the files here match a link's products? Like
//! `in-toto-match-products`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use attest::record::{self, RecordOptions};
use attest::SignedDocument;

use crate::verdict::Format;

/// Arguments of `toto match-products`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 the paths match the link's products, 1 they differ, 2 input error.\n\n\
    Example:\n  toto match-products --link package.be06db20.link --paths dist"
)]
pub struct MatchArgs {
    /// The link whose products to compare with.
    #[arg(long = "link", short = 'l', value_name = "FILE")]
    link: PathBuf,
    /// Paths to record and compare (default: current directory).
    #[arg(long = "paths", short = 'p', num_args = 1.., default_value = ".", value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// gitignore-style patterns to exclude (replace the defaults).
    #[arg(long = "exclude", short = 'e', num_args = 1.., value_name = "PATTERN")]
    exclude: Option<Vec<String>>,
    /// Strip these prefixes from recorded paths.
    #[arg(long = "lstrip-paths", num_args = 1.., value_name = "PREFIX")]
    lstrip_paths: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `toto match-products`.
pub fn run(args: MatchArgs) -> Result<ExitCode> {
    let limits = crate::files::limits();
    let bytes = crate::files::read_document(&args.link, "link")?;
    let document = SignedDocument::from_json(&bytes, &limits)
        .with_context(|| format!("cannot read link {}", args.link.display()))?;
    let link = document
        .link()
        .with_context(|| format!("{} is not a link", args.link.display()))?;
    let options = RecordOptions {
        exclude: args.exclude.clone(),
        lstrip_paths: args.lstrip_paths.clone(),
        ..RecordOptions::default()
    };
    let local = record::record_artifacts(&args.paths, &options)?.artifacts;
    let only_here: Vec<&String> = local
        .keys()
        .filter(|p| !link.products.contains_key(*p))
        .collect();
    let not_here: Vec<&String> = link
        .products
        .keys()
        .filter(|p| !local.contains_key(*p))
        .collect();
    let differ: Vec<&String> = local
        .iter()
        .filter(|(p, d)| link.products.get(*p).is_some_and(|theirs| theirs != *d))
        .map(|(p, _)| p)
        .collect();
    let matched = only_here.is_empty() && not_here.is_empty() && differ.is_empty();
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "match": matched,
                "only_in_paths": only_here,
                "not_in_paths": not_here,
                "differ": differ,
            })
        ),
        Format::Text => {
            // The reference's wording.
            if matched {
                println!("Local artifacts match products in passed link.");
            } else {
                println!("Local artifacts don't match products in passed link.");
            }
            for p in &not_here {
                println!("Only in products: {p}");
            }
            for p in &only_here {
                println!("Not in products: {p}");
            }
            for p in &differ {
                println!("Hashes differ: {p}");
            }
        }
    }
    Ok(if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::verdict::EXIT_FAILED)
    })
}
