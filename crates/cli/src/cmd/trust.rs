//! `toto trust update`: refresh the Sigstore trusted root and signing config
//! from a TUF repository (the public-good one by default).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use keyless::tuf::{self, Location};

use crate::trust_roots::{cached_public_good_root, default_cache_dir, public_good_root_path};

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
against by default (see `toto trust show`); --trusted-root FILE still overrides it.

Exit codes: 0 updated, 1 the repository's metadata or a target did not verify
(signature, rollback, expiry, hash), 2 usage, input or network error.")]
    Update(UpdateArgs),
    /// Say which Sigstore trusted root toto uses by default, and where.
    #[command(after_help = "Example:\n  toto trust show")]
    Show,
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
}

impl TrustCommand {
    /// Runs it.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            TrustCommand::Update(args) => update(args),
            TrustCommand::Show => {
                match cached_public_good_root()? {
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
                Ok(ExitCode::SUCCESS)
            }
        }
    }
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
