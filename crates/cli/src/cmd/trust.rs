//! `toto trust update`: refresh the Sigstore trusted root and signing config
//! from a TUF repository (the public-good one by default).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use keyless::tuf::{self, Location};

use crate::trust_roots::{cached_public_good_root, default_cache_dir, public_good_root_path};
use crate::verdict::Format;

/// `toto trust …`.
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Fetch trusted_root.json and signing_config.v0.2.json through TUF into the cache.
    #[command(after_help = "Examples:
  toto trust update
  toto trust update --cache-dir ./tuf-cache
  toto trust update --repository https://tuf-repo-cdn.sigstage.dev --root staging-root.json
  toto trust update --repository ./local-tuf-repo --root ./local-tuf-repo/1.root.json

Afterwards the public-good trusted root fetched here is what toto verifies and signs
against by default (see `toto trust show`); --trusted-root FILE, --trust-config FILE and
TOTO_TRUST_CONFIG still override it, in that order.

Exit codes: 0 updated, 1 the repository's metadata or a target did not verify
(signature, rollback, expiry, hash), 2 usage, input or network error.")]
    Update(UpdateArgs),
    /// Say which Sigstore trusted root toto uses by default, and where.
    #[command(after_help = "Example:\n  toto trust show")]
    Show(ShowArgs),
}

/// `toto trust show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Output: text, or json (one JSON object on stdout: the trusted root
    /// verification uses by default, and the trust config in effect).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The trust config (also TOTO_TRUST_CONFIG): when set, verifying
    /// commands use its trusted root (after --trusted-root) and signing
    /// uses its services.
    #[arg(long, value_name = "FILE", env = "TOTO_TRUST_CONFIG")]
    trust_config: Option<PathBuf>,
}

/// `toto trust update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// TUF repository: an http(s) URL or a directory (metadata at its top,
    /// targets in `targets/`).
    #[arg(long, value_name = "URL|DIR", default_value = tuf::PUBLIC_GOOD_REPOSITORY)]
    repository: String,
    /// The TUF root.json to start from (default: the public-good root embedded
    /// in toto; required for other repositories: toto never trusts on first use).
    #[arg(long, value_name = "FILE")]
    root: Option<PathBuf>,
    /// Where verified metadata and targets go (default
    /// `$XDG_CACHE_HOME/toto/tuf`, else `~/.cache/toto/tuf`); one subdirectory
    /// per repository.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Output: text, or json (one JSON object on stdout: versions, files
    /// written, targets absent).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

impl TrustCommand {
    /// Runs it.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            TrustCommand::Update(args) => update(args),
            TrustCommand::Show(args) => show(&args),
        }
    }
}

fn show(args: &ShowArgs) -> Result<ExitCode> {
    let cached = cached_public_good_root()?;
    if args.format == Format::Json {
        crate::verdict::print_json(&serde_json::json!({
            "public_good_root": match &cached {
                Some(c) => serde_json::json!({"source": "cache", "path": c.path.display().to_string()}),
                None => serde_json::json!({"source": "embedded", "path": null}),
            },
            "trust_config": args.trust_config.as_ref().map(|p| p.display().to_string()),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    match cached {
        Some(cached) => println!(
            "trusted root: {} (public good, fetched by `toto trust update`, verified \
             against the TUF metadata cached beside it)",
            cached.path.display()
        ),
        None => println!(
            "trusted root: embedded public-good root (`toto trust update` would fetch a fresh one into {})",
            public_good_root_path()?.display()
        ),
    }
    if let Some(config) = &args.trust_config {
        println!(
            "trust config: {} (--trust-config or TOTO_TRUST_CONFIG): verifying commands use its \
             trusted root unless --trusted-root is given; signing uses its services",
            config.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn update(args: UpdateArgs) -> Result<ExitCode> {
    // What the user typed, checked without I/O.
    let location = Location::parse(&args.repository)?;
    let public_good = Location::parse(tuf::PUBLIC_GOOD_REPOSITORY)?;
    if location != public_good && args.root.is_none() {
        bail!(
            "{} is not the public-good repository: pass --root FILE, a TUF root.json you trust \
             for it (toto does not trust a repository on first use)",
            args.repository
        );
    }
    let cache_root = match args.cache_dir {
        Some(dir) => dir,
        None => default_cache_dir()?,
    };

    let initial_root = match &args.root {
        Some(path) => crate::files::read_limited(path, 1 << 20, "TUF root")?,
        None => tuf::PUBLIC_GOOD_TUF_ROOT.to_vec(),
    };
    let refreshed = tuf::update(&location, &initial_root, &cache_root, SystemTime::now())
        .with_context(|| {
            format!(
                "TUF update from {} failed; files verified before are left as they were",
                args.repository
            )
        })?;
    if args.format == Format::Json {
        let written: Vec<serde_json::Value> = refreshed
            .written
            .iter()
            .map(|t| {
                serde_json::json!({
                    "name": t.name,
                    "path": t.path.display().to_string(),
                    "length": t.length,
                })
            })
            .collect();
        crate::verdict::print_json(&serde_json::json!({
            "repository": args.repository,
            "root_version": refreshed.root_version,
            "timestamp_version": refreshed.timestamp_version,
            "written": written,
            "absent": refreshed.absent,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "TUF repository {}: root version {}, timestamp version {}",
        args.repository, refreshed.root_version, refreshed.timestamp_version
    );
    for target in &refreshed.written {
        println!(
            "wrote {} ({}, {} bytes, verified)",
            target.path.display(),
            target.name,
            target.length
        );
    }
    for name in &refreshed.absent {
        println!("{name}: not in the repository, skipped");
    }
    Ok(ExitCode::SUCCESS)
}
