//! `toto sign`: sign (or add a signature to) a link or layout in any of the
//! three encodings, or check its signatures with `--verify`. Like
//! `in-toto-sign`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use attest::{Link, SignedDocument};

/// Arguments of `toto sign`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Links are written to <step>.<keyid8>.link unless -o is given; layouts \
    are signed in place. Without --append, existing signatures are replaced.\n\nExit codes \
    with --verify: 0 all keys signed, 1 a signature is missing or bad, 2 input error.\n\n\
    Examples:\n  toto sign -f root.layout -k alice.pem\n  \
    toto sign -f root.layout -k bob.pem --append\n  \
    toto sign -f package.link -k carl.pub --verify\n  \
    toto sign -f package.link --gpg 8465A1E2E0FB2B40ADB2478E18FB3F537E0C8A17 --gpg-home ~/.gnupg"
)]
pub struct SignArgs {
    /// The link or layout file.
    #[arg(long = "file", short = 'f', value_name = "FILE")]
    file: PathBuf,
    /// Private keys to sign with (or, with --verify, public keys to check).
    #[arg(long = "key", short = 'k', visible_alias = "key-file", num_args = 1.., required_unless_present = "gpg", conflicts_with = "gpg", value_name = "FILE")]
    keys: Vec<PathBuf>,
    #[command(flatten)]
    gpg: crate::gpg_sign::GpgArgs,
    /// Password of encrypted keys; without a value, prompt.
    #[arg(long, short = 'P', num_args = 0..=1, value_name = "PASSWORD")]
    password: Option<Option<String>>,
    /// Where to write the signed file.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Keep existing signatures and add the new ones.
    #[arg(long, short = 'a')]
    append: bool,
    /// Check that every key signed instead of signing.
    #[arg(long)]
    verify: bool,
}

/// `toto sign`.
pub fn run(args: SignArgs) -> Result<ExitCode> {
    let limits = crate::files::limits();
    let bytes = crate::files::read_document(&args.file, "file")?;
    let document = SignedDocument::from_json(&bytes, &limits)
        .with_context(|| format!("{} is not a link or layout", args.file.display()))?;
    if let Some(gpg) = args.gpg.signer() {
        return crate::gpg_sign::sign_file(
            &gpg,
            &args.file,
            document,
            args.output,
            args.append,
            args.verify,
        );
    }
    if args.verify {
        for path in &args.keys {
            let key = crate::keys::load_public_key(path)?;
            if document.verify(&[&key], 1).is_err() {
                eprintln!(
                    "{} {} has no valid signature by {} ({})",
                    crate::style::bad("toto: verification failed:"),
                    args.file.display(),
                    key.keyid(),
                    path.display()
                );
                return Ok(ExitCode::from(crate::verdict::EXIT_FAILED));
            }
        }
        println!(
            "{} {} is signed by every key given.",
            crate::style::good("Verified:"),
            args.file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let keys = args
        .keys
        .iter()
        .map(|p| crate::keys::load_private_key(p, args.password.as_ref()))
        .collect::<Result<Vec<_>>>()?;
    let mut signed = if args.append {
        document.clone()
    } else {
        document.unsigned()?
    };
    for key in &keys {
        signed.add_signature(key)?;
    }
    let output = match (&args.output, document.payload_type()) {
        (Some(out), _) => out.clone(),
        (None, Some("layout")) => args.file.clone(),
        (None, _) => {
            let link = Link::from_payload(document.payload().clone())?;
            let name = attest::layout::StepName::parse(&link.name)?;
            let Some(first) = keys.first() else {
                bail!("no key given");
            };
            let dir = args.file.parent().map(PathBuf::from).unwrap_or_default();
            dir.join(name.link_file_name(first.keyid().as_str()))
        }
    };
    let bytes = signed.to_json();
    if document.payload_type() == Some("layout") {
        crate::keyless_sign::check_layout_bundle_kept(&output, &bytes)?;
    }
    crate::files::write_atomic(&output, &bytes, None)?;
    crate::verbosity::info!("wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}
