//! `toto envelope sign|verify`: DSSE envelopes around any payload, like
//! cosign's sign-blob for envelopes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::verdict::Format;

/// Envelope subcommands.
#[derive(Debug, Subcommand)]
pub enum EnvelopeCommand {
    /// Sign a payload file into a DSSE envelope.
    #[command(after_help = "Examples:\n  \
        toto envelope sign --key alice.pem --payload-type application/vnd.in-toto+json -o stmt.dsse.json stmt.json\n  \
        TOTO_KEY_PASSWORD=… toto envelope sign --key enc.pem --payload-type text/plain note.txt > note.dsse.json")]
    Sign(SignArgs),
    /// Verify a DSSE envelope with trusted public keys.
    #[command(
        after_help = "Exit codes: 0 verified, 1 signature or threshold failed, 2 malformed input.\n\n\
        Examples:\n  \
        toto envelope verify --key alice.pub stmt.dsse.json\n  \
        toto envelope verify --key a.pub --key b.pub --threshold 2 --payload-out stmt.json stmt.dsse.json"
    )]
    Verify(VerifyArgs),
}

/// Arguments of `toto envelope sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    signing: crate::keys::SigningKeys,
    /// The envelope's payloadType, e.g. application/vnd.in-toto+json.
    #[arg(long, value_name = "TYPE")]
    payload_type: String,
    /// Where to write the envelope (default: stdout).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output: text (the envelope on stdout unless -o), or json (with -o:
    /// one JSON object on stdout naming the file, payload type and key
    /// ids).
    #[arg(long, value_enum, default_value_t = Format::Text, requires = "output")]
    format: Format,
    /// The payload file.
    payload: PathBuf,
}

/// Arguments of `toto envelope verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Trusted public key (SPKI PEM or securesystemslib key dict); repeatable.
    #[arg(long = "key", short = 'k', required = true, value_name = "FILE")]
    keys: Vec<PathBuf>,
    /// How many distinct trusted keys must have signed (default 1).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    threshold: u32,
    /// Only accept this payloadType.
    #[arg(long, value_name = "TYPE")]
    payload_type: Option<String>,
    /// Write the verified payload here (only after verification succeeded).
    #[arg(long, value_name = "FILE")]
    payload_out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The envelope file.
    envelope: PathBuf,
}

impl EnvelopeCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            EnvelopeCommand::Sign(args) => sign(args),
            EnvelopeCommand::Verify(args) => verify(args),
        }
    }
}

fn sign(args: SignArgs) -> Result<ExitCode> {
    let limits = crate::files::limits();
    let payload = dsse::file::read_bounded(
        &args.payload,
        limits.max_payload_bytes,
        Some(crate::files::MAX_DOCUMENT_FLAG),
    )
    .map_err(|e| crate::files::read_error(e, "payload"))?;
    let keys = args.signing.load()?;
    let signers: Vec<&dyn dsse::KeyedSigner> =
        keys.iter().map(|k| k as &dyn dsse::KeyedSigner).collect();
    let keyids: Vec<String> = keys.iter().map(|k| k.keyid().to_string()).collect();
    let payload_type = args.payload_type.clone();
    let envelope = dsse::Envelope::sign(args.payload_type, payload, &signers)?;
    let mut json = envelope.to_json();
    json.push(b'\n');
    match &args.output {
        Some(path) => {
            crate::files::write_atomic(path, &json, None)?;
            if args.format == Format::Json {
                crate::verdict::print_json(&serde_json::json!({
                    "envelope": path.display().to_string(),
                    "payload_type": payload_type,
                    "keyids": keyids,
                }))?;
            }
        }
        None => std::io::stdout()
            .write_all(&json)
            .context("cannot write to stdout")?,
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let keys = args
        .keys
        .iter()
        .map(|path| crate::keys::load_public_key(path))
        .collect::<Result<Vec<_>>>()?;
    let bytes = crate::files::read_document(&args.envelope, "envelope")?;
    // An `.intoto.jsonl` file holds one envelope per line.
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .collect();
    if lines.len() <= 1 {
        let label = args.envelope.display().to_string();
        return verify_one(&args, &keys, &bytes, &label).map(ExitCode::from);
    }
    if args.payload_out.is_some() {
        bail!(
            "--payload-out takes one envelope; {} holds {}",
            args.envelope.display(),
            lines.len()
        );
    }
    let mut code = 0;
    for (i, line) in lines.iter().enumerate() {
        let label = format!("{}:{}", args.envelope.display(), i + 1);
        code = code.max(verify_one(&args, &keys, line, &label)?);
    }
    Ok(ExitCode::from(code))
}

/// Verifies one envelope; returns the exit code.
fn verify_one(
    args: &VerifyArgs,
    keys: &[dsse::PublicKey],
    bytes: &[u8],
    label: &str,
) -> Result<u8> {
    let limits = crate::files::limits();
    let envelope = dsse::Envelope::from_json(bytes, &limits)
        .with_context(|| format!("{label} is not a valid DSSE envelope"))?;
    let verifiers: Vec<&dyn dsse::KeyedVerifier> =
        keys.iter().map(|k| k as &dyn dsse::KeyedVerifier).collect();
    let outcome = envelope
        .verify(&verifiers, args.threshold as usize)
        .and_then(|v| match &args.payload_type {
            Some(expected) if expected != envelope.payload_type() => Err(dsse::Error::Signature),
            _ => Ok(v),
        });
    let report = |verified: bool, error: Option<String>, keyids: &[String]| {
        json!({
            "verified": verified,
            "envelope": label,
            "payloadType": envelope.payload_type(),
            "keyids": keyids,
            "threshold": args.threshold,
            "error": error,
        })
    };
    match outcome {
        Ok(verified) => {
            if let Some(path) = &args.payload_out {
                crate::files::write_atomic(path, envelope.payload(), None)?;
            }
            match args.format {
                Format::Json => println!("{}", report(true, None, &verified.identities)),
                Format::Text if crate::verbosity::quiet() => {}
                Format::Text => {
                    println!(
                        "{} {label} ({}): signed by {}",
                        crate::style::good("Verified"),
                        envelope.payload_type(),
                        verified.identities.join(", ")
                    );
                }
            }
            Ok(0)
        }
        Err(err) if err.is_verification_failure() => {
            let message = match (&err, &args.payload_type) {
                (dsse::Error::Signature, Some(expected)) if expected != envelope.payload_type() => {
                    format!(
                        "payloadType is {:?}, expected {expected:?}",
                        envelope.payload_type()
                    )
                }
                _ => err.to_string(),
            };
            match args.format {
                Format::Json => println!("{}", report(false, Some(message), &[])),
                Format::Text => eprintln!(
                    "{} {label}: {message} (trusted keys: {})",
                    crate::style::bad("toto: verification failed:"),
                    keys.iter()
                        .map(|k| k.keyid().short().to_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
            Ok(crate::verdict::EXIT_FAILED)
        }
        Err(err) => Err(err).with_context(|| format!("cannot verify {label}")),
    }
}
