//! `toto sign-blob`: a keyless Sigstore signature over any file (a
//! `hashedrekord` bundle), what `cosign sign-blob` and `sigstore sign` write.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};

use crate::keyless_sign::{cli_error, write_signed_bundle, KeylessArgs};
use crate::verdict::Format;

/// Arguments of `toto sign-blob`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  toto sign-blob --keyless dist/app.tar.gz          # writes dist/app.tar.gz.sigstore.json
  toto sign-blob --keyless --trust-config sigstore-testbed/trust_config.json \\
      --identity-token \"$(toto testbed token --dir sigstore-testbed --identity alice@example.com)\" app.bin

Verify with: toto verify-bundle --bundle dist/app.tar.gz.sigstore.json \\
    --certificate-identity ID --certificate-oidc-issuer URL dist/app.tar.gz")]
pub struct SignBlobArgs {
    /// Files to sign; each gets its own bundle.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    keyless: KeylessArgs,
    /// Bundle path (only with one file; default `<FILE>.sigstore.json`).
    #[arg(long, value_name = "FILE")]
    bundle: Option<PathBuf>,
    /// Output: text, or json (one JSON object on stdout: each file's
    /// bundle, signer and Rekor log index).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// `toto sign-blob`.
pub fn run(args: SignBlobArgs) -> Result<ExitCode> {
    if !args.keyless.keyless {
        bail!("sign-blob signs keylessly: add --keyless (for a key, use `toto envelope sign`)");
    }
    if args.bundle.is_some() && args.files.len() > 1 {
        bail!("--bundle names one bundle; with several files, leave it out");
    }
    let mut blobs = Vec::new();
    for file in &args.files {
        blobs.push(crate::files::read_limited(file, 1 << 30, "file to sign")?);
    }
    let token = args.keyless.token()?;
    let signer = args.keyless.signer(&token)?;
    let mut written = Vec::new();
    for (file, blob) in args.files.iter().zip(&blobs) {
        let bundle = signer.sign_blob(blob).map_err(cli_error)?;
        let path = args.bundle.clone().unwrap_or_else(|| {
            let mut name = file.clone().into_os_string();
            name.push(".sigstore.json");
            PathBuf::from(name)
        });
        write_signed_bundle(&path, &signer, &bundle)?;
        written.push(serde_json::json!({
            "file": file.display().to_string(),
            "bundle": path.display().to_string(),
            "log_index": bundle.log_index,
        }));
    }
    if args.format == Format::Json {
        crate::verdict::print_json(&serde_json::json!({
            "identity": signer.identity(),
            "issuer": signer.issuer(),
            "bundles": written,
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}
