//! The `toto` command line: thin over the `dsse` and `attest` libraries.
//!
//! `main` parses, [`run`] returns the exit code: 0 verified/ok, 1 verification
//! or policy failed, 2 usage or input error.

#![forbid(unsafe_code)]

mod bundle_args;
mod clock;
mod cmd;
mod files;
mod gpg_sign;
mod images;
mod keyless_sign;
mod keys;
mod link_signing;
mod policy_args;
mod progress;
mod record_state;
mod registry_args;
mod style;
mod trust_roots;
mod verbosity;
mod verdict;
mod vsa_args;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: verification of big links allocates and frees millions of
/// small strings and map nodes; glibc's allocator spends a third of the
/// time there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// toto: signed evidence of what each build step did, checked against a
/// signed supply-chain policy (in-toto), with keys or keylessly.
#[derive(Debug, Parser)]
#[command(name = "toto", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 verified/ok, 1 verification failed, 2 usage or input error.\n\n\
    Examples:\n  toto demo\n  toto run -n build -k bob.pem -m src -p dist -- make\n  \
    toto verify -l root.layout -k alice.pub -v\n  toto verify -l root.layout -k alice.pub -q --color never"
)]
pub struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
    /// Show more on stderr: -v what was excluded, loaded, verified by which
    /// key, Sigstore calls, and each artifact rule's queue; -vv every file
    /// hashed.
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Print nothing but errors (and --format json's output).
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Color verdicts: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = style::ColorChoice::Auto, global = true)]
    color: style::ColorChoice,
    /// Largest link, layout or envelope file read, in MiB (default 64;
    /// decoded payloads may be 3/4 of it). Raise it for monorepo-sized links.
    #[arg(long, value_name = "MIB", global = true, env = "TOTO_MAX_DOCUMENT_MIB",
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    max_document_mib: Option<u32>,
}

/// Seconds `in-toto-run` gives the step's command (the reference's
/// `LINK_CMD_EXEC_TIMEOUT`) when no `--run-timeout`/`--timeout` is given.
const COMPAT_RUN_TIMEOUT: u64 = 10;

/// When toto is invoked under a reference command's name (a symlink made
/// by `toto install-compat`), the toto command line that does the same,
/// with the reference's defaults (classic Metablock links).
fn compat_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let Some(name) = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .map(str::to_owned)
    else {
        return args;
    };
    let rest = args.iter().skip(1).cloned();
    let use_dsse = args.iter().any(|a| a == "--use-dsse");
    let metablock = if use_dsse {
        vec![]
    } else {
        vec!["--encoding".into(), "metablock".into()]
    };
    let mut out: Vec<std::ffi::OsString> = vec!["toto".into()];
    match name.as_str() {
        "in-toto-run" => {
            out.push("run".into());
            out.extend(metablock);
            // The reference kills the step after 10 s unless told otherwise
            // (`toto run` itself has no limit by default); a --run-timeout
            // given comes later and overrides this one.
            out.extend(["--timeout".into(), COMPAT_RUN_TIMEOUT.to_string().into()]);
            out.extend(rest);
        }
        "in-toto-record" => {
            out.push("record".into());
            let mut rest: Vec<_> = rest.collect();
            if !rest.is_empty() {
                let phase = rest.remove(0);
                out.push(phase);
                out.extend(metablock);
            }
            out.extend(rest);
        }
        "in-toto-verify" | "in-toto-sign" | "in-toto-mock" | "in-toto-match-products" => {
            out.push(name.trim_start_matches("in-toto-").into());
            out.extend(rest);
        }
        _ => return args,
    }
    out
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(compat_args(std::env::args_os().collect())) {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    style::init(cli.color);
    if let Some(mib) = cli.max_document_mib {
        crate::files::set_max_document_bytes(usize::try_from(mib).unwrap_or(64) << 20);
    }
    verbosity::init(cli.quiet, cli.verbose);
    match cli.command.run() {
        Ok(code) => code,
        Err(err) => {
            let code = crate::verdict::exit_code_for(&err);
            eprintln!("{} {err}", style::bad("toto: error:"));
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(code)
        }
    }
}
