//! `--keyless`: signing through Sigstore (OIDC token → Fulcio certificate →
//! Rekor entry → bundle), shared by every command that signs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use attest::layout::StepName;
use attest::Link;
use keyless::{IdentityToken, KeylessSigner, SignedBundle, TrustConfig};

/// Keyless signing options.
#[derive(Debug, Clone, clap::Args)]
pub struct KeylessArgs {
    /// Sign keylessly through Sigstore: an OIDC identity token (from
    /// --identity-token, SIGSTORE_ID_TOKEN, SIGSTORE_IDENTITY_TOKEN or GitHub
    /// Actions) buys a short-lived Fulcio certificate, the signature is
    /// logged in Rekor, and a Sigstore bundle is written.
    #[arg(long)]
    pub keyless: bool,
    /// Sigstore instance to sign with: a ClientTrustConfig JSON (trusted root
    /// and signing config, sigstore-python's --trust-config format).
    /// Default: the public-good instance.
    #[arg(long, value_name = "FILE", env = "TOTO_TRUST_CONFIG")]
    pub trust_config: Option<PathBuf>,
    /// The OIDC identity token (JWT) to sign with (default: SIGSTORE_ID_TOKEN,
    /// SIGSTORE_IDENTITY_TOKEN, or GitHub Actions' ambient token).
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    pub identity_token: Option<String>,
    /// Without a token, log in at the OIDC issuer with a code shown here
    /// (OAuth device flow), even when not at a terminal; at a terminal this
    /// is what happens anyway.
    #[arg(long)]
    pub oidc_device_flow: bool,
    /// The OIDC issuer to log in at (default: the trust config's).
    #[arg(long, value_name = "URL")]
    pub oidc_issuer: Option<String>,
    /// Rekor API version to log in: 1, or 2 (rekor-tiles, with an RFC 3161
    /// timestamp). Default: the highest the trust config offers.
    #[arg(long, value_name = "VERSION", value_parser = clap::value_parser!(u32).range(1..=2))]
    pub rekor_version: Option<u32>,
}

/// Private keys, or `--keyless` instead (for commands that sign either way).
#[derive(Debug, Clone, clap::Args)]
pub struct KeysOrKeyless {
    /// Private key (PKCS#8 PEM, optionally encrypted); repeat to sign with several keys.
    #[arg(
        long = "key",
        short = 'k',
        value_name = "FILE",
        required_unless_present = "keyless"
    )]
    pub keys: Vec<PathBuf>,
    /// Password of an encrypted key; without a value, prompt (also: env TOTO_KEY_PASSWORD).
    #[arg(long, short = 'P', num_args = 0..=1, value_name = "PASSWORD")]
    pub password: Option<Option<String>>,
    #[command(flatten)]
    pub keyless: KeylessArgs,
}

/// A keyless error as the CLI reports it: failed proofs exit 1, the rest 2.
pub fn cli_error(e: keyless::Error) -> anyhow::Error {
    if e.is_verification_failure() {
        anyhow::Error::new(crate::verdict::VerificationFailed(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}

impl KeylessArgs {
    /// The identity token: given, or ambient. Checked for shape and expiry.
    pub fn token(&self) -> Result<IdentityToken> {
        use std::io::IsTerminal as _;
        let raw = match &self.identity_token {
            Some(t) => t.clone(),
            None => {
                match keyless::ambient_token(&|name| std::env::var(name).ok()).map_err(cli_error)? {
                    Some((t, _)) => t,
                    None if self.oidc_device_flow
                        || (std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) =>
                    {
                        self.log_in()?
                    }
                    None => bail!(
                        "--keyless needs an OIDC identity token: pass --identity-token, set \
                     SIGSTORE_ID_TOKEN, run in GitHub Actions with `permissions: id-token: write`, \
                     or log in with --oidc-device-flow"
                    ),
                }
            }
        };
        IdentityToken::parse(&raw, crate::clock::unix_now()).map_err(cli_error)
    }

    /// The device flow: show where to log in, wait for the person to do so.
    fn log_in(&self) -> Result<String> {
        let issuer = match &self.oidc_issuer {
            Some(i) => i.clone(),
            None => self.trust_config()?.services.oidc.ok_or_else(|| {
                anyhow::anyhow!("the trust config names no OIDC issuer: pass --oidc-issuer URL")
            })?,
        };
        keyless::device_flow(&issuer, &|prompt| {
            let place = prompt
                .verification_uri_complete
                .as_deref()
                .unwrap_or(&prompt.verification_uri);
            eprintln!(
                "toto: to sign as yourself, open {place} and enter the code {} \
                 (waiting for the login…)",
                prompt.user_code
            );
        })
        .map_err(cli_error)
    }

    /// The trust config: the file given, or the public-good instance.
    pub fn trust_config(&self) -> Result<TrustConfig> {
        match &self.trust_config {
            Some(path) => {
                let bytes = crate::files::read_limited(path, 16 << 20, "trust config")?;
                let text = String::from_utf8(bytes)
                    .with_context(|| format!("{} is not UTF-8", path.display()))?;
                TrustConfig::from_json_with(&text, self.rekor_version)
                    .map_err(cli_error)
                    .with_context(|| format!("cannot read trust config {}", path.display()))
            }
            None => {
                if self.rekor_version == Some(2) {
                    anyhow::bail!(
                        "--rekor-version 2 needs a --trust-config whose signing config offers Rekor v2 and a timestamp authority"
                    );
                }
                let mut config = TrustConfig::public_good().map_err(cli_error)?;
                // The cached root `toto trust update` fetched, verified, or
                // the embedded one.
                config.root = crate::trust_roots::trust_root(None)?;
                Ok(config)
            }
        }
    }

    /// A signer: token, then a Fulcio certificate.
    pub fn signer(&self, token: &IdentityToken) -> Result<KeylessSigner> {
        self.signer_with(&self.trust_config()?, token)
    }

    /// Signs once with a fresh certificate for the identity token: `sign`
    /// is given the signer; the signer (who signed) and the bundle.
    pub fn sign(
        &self,
        sign: impl FnOnce(&KeylessSigner) -> Result<SignedBundle, keyless::Error>,
    ) -> Result<(KeylessSigner, SignedBundle)> {
        let token = self.token()?;
        let signer = self.signer(&token)?;
        let bundle = sign(&signer).map_err(cli_error)?;
        Ok((signer, bundle))
    }

    /// A signer for the trust config already read (and checked).
    pub fn signer_with(
        &self,
        config: &TrustConfig,
        token: &IdentityToken,
    ) -> Result<KeylessSigner> {
        let fulcio = format!("{}/api/v2/signingCert", config.services.fulcio);
        crate::verbosity::verbose!("Fulcio: POST {fulcio} (certificate for a fresh key)");
        let signer = KeylessSigner::new(config, token).map_err(cli_error)?;
        crate::verbosity::verbose!(
            "Fulcio: certificate for {} ({}); Rekor: {}/api/v{}/log/entries next{}",
            signer.identity(),
            signer.issuer(),
            config.services.rekor,
            config.services.rekor_version,
            config
                .services
                .tsa
                .as_deref()
                .map(|tsa| format!(", after a timestamp from {tsa}"))
                .unwrap_or_default()
        );
        Ok(signer)
    }
}

/// Signs `link` keylessly ([`KeylessSigner::sign_link`]) and writes its
/// bundle into `dir`: the file, and the bundle's JSON.
pub fn write_link(
    link: &Link,
    signer: &KeylessSigner,
    step: &StepName,
    dir: &Path,
) -> Result<(PathBuf, Vec<u8>)> {
    let (name, bundle) = signer.sign_link(link, step).map_err(cli_error)?;
    crate::verbosity::verbose!("Rekor: entry logged; bundle verified against the trusted root");
    let path = dir.join(name);
    write_bundle(&path, &bundle)?;
    Ok((path, bundle.json.into_bytes()))
}

/// Where a layout's keyless signature goes: `<layout>.sigstore.json`.
pub fn layout_bundle_path(layout: &Path) -> PathBuf {
    let mut name = layout.as_os_str().to_owned();
    name.push(".sigstore.json");
    PathBuf::from(name)
}

/// Refuses to write `bytes` to the layout `output` when a keyless signature
/// `<output>.sigstore.json` covers other bytes there: the bundle signs the
/// file's exact bytes, so a key signature added after it would leave a
/// bundle that no longer verifies.
pub fn check_layout_bundle_kept(output: &Path, bytes: &[u8]) -> Result<()> {
    let bundle = layout_bundle_path(output);
    if !bundle.exists() {
        return Ok(());
    }
    let limit = crate::files::limits().max_envelope_bytes;
    let unchanged =
        crate::files::read_limited(output, limit, "layout").is_ok_and(|old| old == bytes);
    if !unchanged {
        bail!(
            "{} is a keyless signature over the exact bytes of {}, and signing changes them: \
             the bundle would no longer verify. Sign with the keys first and with --keyless \
             last (add --keyless to this command to sign again keylessly, or remove {} to \
             drop the keyless signature); nothing was written",
            bundle.display(),
            output.display(),
            bundle.display()
        );
    }
    Ok(())
}

/// Writes a bundle file.
pub fn write_bundle(path: &Path, bundle: &SignedBundle) -> Result<()> {
    let mut text = bundle.json.clone();
    text.push('\n');
    crate::files::write_atomic(path, text.as_bytes(), None)
}

/// Writes the bundle `signer` signed, saying so (`-v`): who signed, and
/// the Rekor entry.
pub fn write_signed_bundle(
    path: &Path,
    signer: &KeylessSigner,
    bundle: &SignedBundle,
) -> Result<()> {
    write_bundle(path, bundle)?;
    crate::verbosity::info!(
        "wrote {} (signed by {}, {}; Rekor log index {})",
        path.display(),
        signer.identity(),
        signer.issuer(),
        bundle.log_index
    );
    Ok(())
}
