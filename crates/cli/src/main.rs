//! The `toto` command line: thin over the `dsse` and `attest` libraries.
//!
//! `main` parses, [`run`] returns the exit code: 0 verified/ok, 1 verification
//! or policy failed, 2 usage or input error.

#![forbid(unsafe_code)]

mod cmd;
mod util;

use std::process::ExitCode;

use clap::Parser;

/// toto: signed evidence of what each build step did, checked against a
/// signed supply-chain policy (in-toto), with keys or keylessly.
#[derive(Debug, Parser)]
#[command(name = "toto", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Exit codes: 0 verified/ok, 1 verification failed, 2 usage or input error.")]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match cli.command.run() {
        Ok(code) => code,
        Err(err) => {
            let code = util::exit_code_for(&err);
            eprintln!("toto: error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(code)
        }
    }
}
