//! `toto sign`: sign (or add a signature to) a link or layout in any of the
//! three encodings, or check its signatures with `--verify`. Like
//! `in-toto-sign`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use attest::{Link, SignedDocument};

use crate::gpg_sign::LinkSigner;
use crate::verdict::{print_json, Format};

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
    /// Sign as an X.509 functionary (in-toto-golang's ITE-7): the PEM
    /// certificate of the one --key, written beside the signature of a
    /// Metablock, which is made under the certificate key's in-toto-golang
    /// key id.
    #[arg(long, value_name = "CERT", conflicts_with_all = ["verify", "gpg"])]
    cert: Option<PathBuf>,
    /// Check that every key signed instead of signing.
    #[arg(long)]
    verify: bool,
    /// Output: text, or json (one JSON object on stdout: the file written
    /// and its signatures, or --verify's verdict).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `toto sign`: one flow for key files and gpg.
pub fn run(args: SignArgs) -> Result<ExitCode> {
    let json_out = args.format == Format::Json;
    let limits = crate::files::limits();
    let bytes = crate::files::read_document(&args.file, "file")?;
    let document = SignedDocument::from_json(&bytes, &limits)
        .with_context(|| format!("{} is not a link or layout", args.file.display()))?;
    let gpg = args.gpg.signer();
    if args.verify {
        return verify(&args, gpg.as_ref(), &document, json_out);
    }
    let signers = match gpg {
        Some(gpg) => vec![LinkSigner::Gpg(gpg)],
        None => args
            .keys
            .iter()
            .map(|p| crate::keys::load_private_key(p, args.password.as_ref()))
            .map(|key| key.map(|key| LinkSigner::Key(Box::new(key))))
            .collect::<Result<Vec<_>>>()?,
    };
    let mut signed = if args.append {
        document.clone()
    } else {
        document.unsigned()?
    };
    let mut first_keyid = None;
    if let Some(cert) = &args.cert {
        let [LinkSigner::Key(key)] = signers.as_slice() else {
            anyhow::bail!("--cert signs with exactly one --key: the certificate's");
        };
        let pem = crate::files::read_limited(cert, 1 << 20, "certificate")?;
        let pem = String::from_utf8(pem).context("the certificate is not PEM text")?;
        let keyid = signed
            .add_certificate_signature(key, &pem)
            .with_context(|| {
                format!(
                    "cannot sign {} with {}",
                    args.file.display(),
                    cert.display()
                )
            })?;
        first_keyid = Some(keyid);
    }
    for signer in signers.iter().filter(|_| args.cert.is_none()) {
        let keyid = signer.sign(&mut signed)?;
        first_keyid.get_or_insert(keyid);
    }
    let output = match (&args.output, document.payload_type()) {
        (Some(out), _) => out.clone(),
        (None, Some("layout")) => args.file.clone(),
        (None, _) => {
            let link = Link::from_payload(document.payload().clone())?;
            let name = attest::layout::StepName::parse(&link.name)?;
            let Some(first) = first_keyid else {
                bail!("no key given");
            };
            let dir = args.file.parent().map(PathBuf::from).unwrap_or_default();
            dir.join(name.link_file_name(&first))
        }
    };
    let bytes = signed.to_json();
    if document.payload_type() == Some("layout") {
        crate::keyless_sign::check_layout_bundle_kept(&output, &bytes)?;
    }
    crate::files::write_atomic(&output, &bytes, None)?;
    crate::verbosity::info!("wrote {}", output.display());
    if json_out {
        print_json(&serde_json::json!({
            "file": output.display().to_string(),
            "signatures": signed.signature_count(),
            "keyids": signed.signature_keyids(),
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `toto sign --verify`: every key given (or the OpenPGP key gpg exports)
/// signed the document.
fn verify(
    args: &SignArgs,
    gpg: Option<&attest::gpg::Gpg>,
    document: &SignedDocument,
    json_out: bool,
) -> Result<ExitCode> {
    let file = args.file.display().to_string();
    let failed = |keyid: &str, by: String| {
        if json_out {
            print_json(&serde_json::json!({
                "verified": false,
                "file": file,
                "missing": keyid,
            }))?;
        }
        eprintln!(
            "{} {file} has no valid signature by {by}",
            crate::style::bad("toto: verification failed:"),
        );
        Ok(ExitCode::from(crate::verdict::EXIT_FAILED))
    };
    let verified = |by: &str| {
        if json_out {
            print_json(&serde_json::json!({"verified": true, "file": file}))?;
        } else {
            println!(
                "{} {file} is signed by {by}.",
                crate::style::good("Verified:")
            );
        }
        Ok(ExitCode::SUCCESS)
    };
    if let Some(gpg) = gpg {
        let keyid = gpg
            .keyid
            .clone()
            .context("--verify --gpg needs the key id: --gpg KEYID")?;
        let key = gpg.key(&keyid)?;
        if document.verify_gpg(&key, crate::clock::unix_now()).is_err() {
            return failed(&keyid, format!("OpenPGP key {keyid}"));
        }
        return verified(&format!("OpenPGP key {keyid}"));
    }
    for path in &args.keys {
        let key = crate::keys::load_public_key(path)?;
        if document.verify(&[&key], 1).is_err() {
            return failed(
                key.keyid().as_str(),
                format!("{} ({})", key.keyid(), path.display()),
            );
        }
    }
    verified("every key given")
}
