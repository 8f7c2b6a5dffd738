//! One module per subcommand, each holding its clap `Args` and its `run`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

mod envelope;
mod key;

/// toto's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign and verify DSSE envelopes around any payload.
    #[command(subcommand)]
    Envelope(envelope::EnvelopeCommand),
    /// Generate keys and compute key ids.
    #[command(subcommand)]
    Key(key::KeyCommand),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            Command::Envelope(c) => c.run(),
            Command::Key(c) => c.run(),
        }
    }
}
