//! `toto completions SHELL` and `toto man`: generated from the clap
//! definition, so they never drift from the real flags.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

/// Arguments of `toto completions`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  toto completions bash > /etc/bash_completion.d/toto\n  \
    toto completions zsh > \"${fpath[1]}/_toto\""
)]
pub struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

/// `toto completions`.
pub fn completions(args: CompletionsArgs) -> Result<ExitCode> {
    let mut command = crate::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "toto", &mut script);
    write_stdout(&script)
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<ExitCode> {
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// `toto man`: the man page (roff) on stdout.
pub fn man() -> Result<ExitCode> {
    let mut page = Vec::new();
    clap_mangen::Man::new(crate::Cli::command())
        .render(&mut page)
        .context("cannot render the man page")?;
    write_stdout(&page)
}
