//! `toto key generate|id`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::verdict::Format;

/// Key subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a key pair: NAME (PKCS#8 PEM, mode 0600) and NAME.pub (SPKI PEM).
    #[command(after_help = "Examples:\n  \
        toto key generate -o alice             # ed25519: alice, alice.pub\n  \
        toto key generate --type rsa -o bob\n  \
        toto key generate --type ecdsa-p256 --password-prompt -o carl")]
    Generate(GenerateArgs),
    /// Print a key's id (current style; with --legacy also the legacy style).
    #[command(
        after_help = "Accepts SPKI public PEMs, private PEMs (their public half) and \
        securesystemslib key dicts.\n\nExample:\n  toto key id alice.pub"
    )]
    Id(IdArgs),
}

/// Key types `toto key generate` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyType {
    /// Ed25519 (default).
    Ed25519,
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// ECDSA on NIST P-521.
    EcdsaP521,
    /// RSA 3072, RSASSA-PSS with SHA-256.
    Rsa,
}

/// Arguments of `toto key generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Key type.
    #[arg(long = "type", short = 't', value_enum, default_value_t = KeyType::Ed25519)]
    key_type: KeyType,
    /// Encrypt the private key with a password read from the terminal.
    #[arg(long)]
    password_prompt: bool,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
    /// Output name: writes NAME and NAME.pub.
    #[arg(long, short = 'o', value_name = "NAME")]
    output: PathBuf,
    /// Output: text, or json (one JSON object on stdout: key id, type,
    /// scheme, the two paths, whether the private key is encrypted).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Arguments of `toto key id`.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// Also print the legacy key id (with keyid_hash_algorithms), as
    /// in-toto-golang and in-toto 2.x compute it, and for an ECDSA key the id
    /// in-toto-golang gives it under its default scheme ecdsa-sha2-nistp256.
    #[arg(long)]
    legacy: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Key file.
    key: PathBuf,
}

impl KeyCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            KeyCommand::Generate(args) => generate(args),
            KeyCommand::Id(args) => id(args),
        }
    }
}

fn generate(args: GenerateArgs) -> Result<ExitCode> {
    let private_path = args.output.clone();
    let mut public_path = args.output.clone().into_os_string();
    public_path.push(".pub");
    let public_path = PathBuf::from(public_path);
    if !args.force {
        for path in [&private_path, &public_path] {
            if path.exists() {
                bail!("{} exists; pass --force to overwrite it", path.display());
            }
        }
    }
    let password = if args.password_prompt {
        let first = crate::keys::prompt("Password for the new key: ")?;
        let again = crate::keys::prompt("Repeat the password: ")?;
        if *first != *again {
            bail!("the passwords differ; no key written");
        }
        Some(first)
    } else {
        None
    };
    let kind = match args.key_type {
        KeyType::Ed25519 => dsse::KeyKind::Ed25519,
        KeyType::EcdsaP256 => dsse::KeyKind::EcdsaP256,
        KeyType::EcdsaP384 => dsse::KeyKind::EcdsaP384,
        KeyType::EcdsaP521 => dsse::KeyKind::EcdsaP521,
        KeyType::Rsa => dsse::KeyKind::Rsa,
    };
    let key = dsse::PrivateKey::generate(kind)?;
    let pem = key.to_pkcs8_pem(password.as_ref().map(|p| p.as_bytes()))?;
    crate::files::write_atomic(&private_path, pem.as_bytes(), Some(0o600))?;
    crate::files::write_atomic(
        &public_path,
        key.public_key().to_pem()?.as_bytes(),
        Some(0o644),
    )?;
    if !crate::verbosity::quiet() {
        eprintln!(
            "Wrote {} (private, mode 0600) and {} (public); key id {}",
            private_path.display(),
            public_path.display(),
            key.keyid()
        );
    }
    if args.format == Format::Json {
        let public = key.public_key();
        crate::verdict::print_json(&json!({
            "keyid": key.keyid().as_str(),
            "type": args.key_type.to_possible_value().map(|v| v.get_name().to_owned()),
            "scheme": public.scheme().to_string(),
            "private_key": private_path.display().to_string(),
            "public_key": public_path.display().to_string(),
            "encrypted": password.is_some(),
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn id(args: IdArgs) -> Result<ExitCode> {
    let key = crate::keys::load_public_key(&args.key)?;
    match args.format {
        Format::Json => {
            let mut dict = key.to_key_dict();
            if let Some(obj) = dict.as_object_mut() {
                obj.insert("keyid".into(), json!(key.keyid().as_str()));
                if args.legacy {
                    obj.insert("legacy_keyid".into(), json!(key.legacy_keyid().as_str()));
                    let others: Vec<&str> = key
                        .other_legacy_keyids()
                        .iter()
                        .map(|id| id.as_str())
                        .collect();
                    if !others.is_empty() {
                        obj.insert("other_legacy_keyids".into(), json!(others));
                    }
                }
            }
            println!("{dict}");
        }
        Format::Text if args.legacy => {
            println!("{}", key.keyid());
            println!("{} (legacy)", key.legacy_keyid());
            for id in key.other_legacy_keyids() {
                println!("{id} (legacy, scheme ecdsa-sha2-nistp256 as in-toto-golang's default)");
            }
        }
        Format::Text => println!("{}", key.keyid()),
    }
    Ok(ExitCode::SUCCESS)
}
