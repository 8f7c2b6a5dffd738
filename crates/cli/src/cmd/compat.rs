//! `toto install-compat DIR`: symlinks named like the reference's commands
//! (`in-toto-run`, `in-toto-verify`, …), so scripts written for in-toto run
//! toto unchanged.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

/// The reference's command names toto answers to.
pub const NAMES: [&str; 6] = [
    "in-toto-run",
    "in-toto-record",
    "in-toto-verify",
    "in-toto-sign",
    "in-toto-mock",
    "in-toto-match-products",
];

/// Arguments of `toto install-compat`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Invoked under these names, toto behaves like the reference command: \
    the reference's flags, classic Metablock links by default (--use-dsse for DSSE), the \
    reference's exit codes.\n\nExample:\n  toto install-compat ~/.local/bin && in-toto-run --help"
)]
pub struct InstallCompatArgs {
    /// Directory to put the symlinks in (on your PATH).
    dir: PathBuf,
    /// Replace existing files of those names.
    #[arg(long)]
    force: bool,
}

/// `toto install-compat`.
pub fn run(args: InstallCompatArgs) -> Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find the toto binary")?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    for name in NAMES {
        let link = args.dir.join(name);
        if link.symlink_metadata().is_ok() {
            if !args.force {
                anyhow::bail!("{} exists; pass --force to replace it", link.display());
            }
            std::fs::remove_file(&link)
                .with_context(|| format!("cannot replace {}", link.display()))?;
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(&exe, &link)
            .with_context(|| format!("cannot create {}", link.display()))?;
        #[cfg(not(unix))]
        std::fs::copy(&exe, &link).with_context(|| format!("cannot create {}", link.display()))?;
        if !crate::verbosity::quiet() {
            eprintln!("toto: {} -> {}", link.display(), exe.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
