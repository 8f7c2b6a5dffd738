//! What signs a link and how: the signing flags `run` and `record` share,
//! everything signing needs loaded and checked before a step runs (key,
//! password, gpg's secret key, or the identity token, the trust config and
//! its services), and signing and writing the finished link.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use attest::layout::StepName;
use attest::record::{HashAlgorithm, RecordOptions};
use attest::step;
use attest::{Encoding, Link, LinkDocument};
use clap::{Args, ValueEnum};

use crate::gpg_sign::LinkSigner;
use crate::record_state::Signer;

/// Link encodings `toto` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LinkFormat {
    /// DSSE around an in-toto Statement v1 with a link v0.3 predicate (default).
    Statement,
    /// DSSE around a classic link, as `in-toto-run --use-dsse` writes it.
    DsseLink,
    /// Classic Metablock, as `in-toto-run` writes it.
    Metablock,
}

/// `--format` of run and record: the output format, or (deprecated, for
/// one release) the link encoding it used to choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputOrEncoding {
    /// A line on stderr saying what was written.
    Text,
    /// One JSON object on stdout describing the link written.
    Json,
    /// Deprecated: --encoding statement.
    #[value(hide = true)]
    Statement,
    /// Deprecated: --encoding dsse-link.
    #[value(hide = true)]
    DsseLink,
    /// Deprecated: --encoding metablock.
    #[value(hide = true)]
    Metablock,
}

impl LinkFormat {
    /// The name `--encoding` takes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            LinkFormat::Statement => "statement",
            LinkFormat::DsseLink => "dsse-link",
            LinkFormat::Metablock => "metablock",
        }
    }

    pub(crate) fn encoding(self) -> Encoding {
        match self {
            LinkFormat::Statement => Encoding::Statement,
            LinkFormat::DsseLink => Encoding::Dsse,
            LinkFormat::Metablock => Encoding::Metablock,
        }
    }
}

/// How artifacts are recorded: shared by run, record and mock.
#[derive(Debug, Args, Clone)]
pub struct ArtifactArgs {
    /// Record paths relative to this directory.
    #[arg(long = "base-path", value_name = "DIR")]
    pub(crate) base_path: Option<PathBuf>,
    /// Strip these prefixes from recorded paths (error if two paths collide).
    #[arg(long = "lstrip-paths", num_args = 1.., value_name = "PREFIX")]
    pub(crate) lstrip_paths: Vec<String>,
    /// gitignore-style patterns to exclude; replace the defaults
    /// (*.link*, .git, *.pyc, *~).
    #[arg(long = "exclude", short = 'e', num_args = 1.., value_name = "PATTERN")]
    pub(crate) exclude: Option<Vec<String>>,
    /// Digest algorithms, comma-separated (sha256, sha384, sha512).
    #[arg(
        long = "digest",
        value_delimiter = ',',
        default_value = "sha256",
        value_name = "ALG"
    )]
    pub(crate) digest: Vec<String>,
    /// Do not follow symbolic links to directories and files met while
    /// recording (they are skipped with a warning); paths given are followed.
    #[arg(long = "no-follow-symlinks")]
    pub(crate) no_follow_symlinks: bool,
}

impl ArtifactArgs {
    pub(crate) fn options(&self) -> Result<RecordOptions> {
        let algorithms = self
            .digest
            .iter()
            .map(|a| {
                a.parse::<HashAlgorithm>().map_err(|_| {
                    anyhow::anyhow!("unknown digest algorithm {a:?} (use sha256, sha384 or sha512)")
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordOptions {
            base_path: self.base_path.clone(),
            lstrip_paths: self.lstrip_paths.clone(),
            exclude: self.exclude.clone(),
            follow_symlinks: !self.no_follow_symlinks,
            algorithms,
            ..RecordOptions::default()
        })
    }
}

/// Signing and output options shared by run and record.
#[derive(Debug, Args, Clone)]
pub struct SigningArgs {
    /// Private key to sign the link with (PKCS#8 PEM).
    #[arg(
        long = "key",
        short = 'k',
        visible_alias = "signing-key",
        value_name = "FILE",
        conflicts_with = "gpg"
    )]
    pub(crate) key: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) gpg: crate::gpg_sign::GpgArgs,
    #[command(flatten)]
    pub(crate) keyless: crate::keyless_sign::KeylessArgs,
    /// Password of an encrypted key; without a value, prompt (also: env TOTO_KEY_PASSWORD).
    #[arg(long, short = 'P', num_args = 0..=1, value_name = "PASSWORD")]
    pub(crate) password: Option<Option<String>>,
    /// Directory to write the link to.
    #[arg(
        long = "metadata-directory",
        short = 'd',
        visible_alias = "outdir",
        value_name = "DIR",
        default_value = "."
    )]
    pub(crate) metadata_directory: PathBuf,
    /// Link encoding (default: statement; `in-toto-run`: metablock).
    #[arg(long, value_enum, value_name = "ENCODING", overrides_with = "encoding")]
    pub(crate) encoding: Option<LinkFormat>,
    /// Output: text, or json (one JSON object on stdout: the link written,
    /// its step, signer and artifact counts; the command's own stdout then
    /// goes to stderr). `--format statement|dsse-link|metablock` still
    /// chooses the encoding for one release (deprecated: use --encoding).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputOrEncoding::Text)]
    pub(crate) format: OutputOrEncoding,
    /// Same as --encoding dsse-link (the reference's flag).
    #[arg(long = "use-dsse", conflicts_with = "encoding")]
    pub(crate) use_dsse: bool,
    /// With --keyless: how many seconds the step may take. The identity
    /// token must stay valid that long and a minute more to sign, or the
    /// step is not run (default: `run`'s --timeout, else 300).
    #[arg(long, value_name = "SECONDS", requires = "keyless")]
    pub(crate) expected_duration: Option<u64>,
}

/// Seconds a keyless step is expected to take when neither
/// --expected-duration nor a timeout says.
pub(crate) const DEFAULT_STEP_SECONDS: u64 = 300;
/// Seconds the identity token must stay valid after the step: Fulcio is
/// asked for the certificate then.
pub(crate) const SIGNING_MARGIN_SECONDS: u64 = 60;

/// The key-id part of a keyless recording's unfinished link name.
pub(crate) const KEYLESS_UNFINISHED: &str = "keyless";

/// Stands for a key id not known before signing (gpg's default key, a
/// Sigstore identity) in a link file name: only its length matters.
pub(crate) const UNKNOWN_KEYID: &str = "00000000";

/// The variables taken out of the step's environment: [`step::CREDENTIALS`],
/// unless they are to be passed.
pub(crate) fn removed_credentials(pass_credentials: bool) -> &'static [&'static str] {
    if pass_credentials {
        &[]
    } else {
        &step::CREDENTIALS
    }
}

/// What signs a link, ready before the step runs.
#[derive(Debug)]
pub(crate) enum Signing {
    /// A key file or gpg.
    Key(LinkSigner),
    /// Sigstore, with this (checked) identity token and the trust config
    /// the pre-flight checked (read once: signing uses the same services).
    Keyless {
        /// The identity token.
        token: keyless::IdentityToken,
        /// The trust config.
        config: Box<keyless::TrustConfig>,
    },
}

impl SigningArgs {
    /// Reads the deprecated `--format statement|dsse-link|metablock` as
    /// `--encoding`, with a note on stderr; afterwards `format` is the
    /// output format only. Checked before anything else happens.
    pub(crate) fn settle_format(&mut self) -> Result<()> {
        let deprecated = match self.format {
            OutputOrEncoding::Text | OutputOrEncoding::Json => return Ok(()),
            OutputOrEncoding::Statement => LinkFormat::Statement,
            OutputOrEncoding::DsseLink => LinkFormat::DsseLink,
            OutputOrEncoding::Metablock => LinkFormat::Metablock,
        };
        let name = deprecated.name();
        if let Some(encoding) = self.encoding {
            bail!(
                "--format {name} and --encoding {}: --format for the encoding is deprecated; \
                 give only --encoding",
                encoding.name()
            );
        }
        if self.use_dsse {
            bail!("--format {name} and --use-dsse both choose the encoding: give only --encoding");
        }
        crate::verbosity::warning(format_args!(
            "--format for the encoding is deprecated; use --encoding {name} \
             (--format is the output format: text or json)"
        ));
        self.encoding = Some(deprecated);
        self.format = OutputOrEncoding::Text;
        Ok(())
    }

    /// Whether `--format json` was asked for.
    pub(crate) fn json(&self) -> bool {
        self.format == OutputOrEncoding::Json
    }

    /// With `--keyless`, the identity token (checked now, so a bad token
    /// fails before the step runs).
    pub(crate) fn keyless_token(&self) -> Result<Option<keyless::IdentityToken>> {
        if !self.keyless.keyless {
            return Ok(None);
        }
        if self.key.is_some() || self.gpg.signer().is_some() {
            bail!("--keyless signs without a key: drop --key/--gpg, or drop --keyless");
        }
        if self.format() != LinkFormat::Statement {
            bail!("--keyless writes a Sigstore bundle of a Statement v1 link: drop --encoding/--use-dsse");
        }
        self.keyless.token().map(Some)
    }

    pub(crate) fn format(&self) -> LinkFormat {
        if self.use_dsse {
            LinkFormat::DsseLink
        } else {
            self.encoding.unwrap_or(LinkFormat::Statement)
        }
    }

    pub(crate) fn load_key(&self) -> Result<LinkSigner> {
        if let Some(gpg) = self.gpg.signer() {
            if self.format() != LinkFormat::Metablock {
                bail!(
                    "--gpg signs Metablocks only, as the reference does: add --encoding metablock"
                );
            }
            gpg.check_secret_key()?;
            return Ok(LinkSigner::Gpg(gpg));
        }
        let Some(path) = &self.key else {
            bail!("no signing key: pass --key FILE (or --signing-key FILE), or --gpg [KEYID]");
        };
        let key = crate::keys::load_private_key(path, self.password.as_ref())?;
        Ok(LinkSigner::Key(Box::new(key)))
    }

    /// How long the step to come may take: --expected-duration, else the
    /// step's timeout, else [`DEFAULT_STEP_SECONDS`].
    pub(crate) fn step_seconds(&self, timeout: Option<u64>) -> u64 {
        self.expected_duration
            .or(timeout)
            .unwrap_or(DEFAULT_STEP_SECONDS)
    }

    /// Everything signing needs, loaded and checked before the step runs:
    /// the key (and its password), or the identity token (valid for the
    /// `step` seconds still to come and the signing after them), the trust
    /// config, that a link with `no_products` can be logged, and, last, that
    /// the services answer.
    pub(crate) fn prepare(&self, step: u64, no_products: bool) -> Result<Signing> {
        match self.keyless_token()? {
            Some(token) => {
                let config = self.keyless.trust_config()?;
                token
                    .check_valid_for(
                        crate::clock::unix_now(),
                        step.saturating_add(SIGNING_MARGIN_SECONDS),
                    )
                    .map_err(crate::keyless_sign::cli_error)
                    .with_context(|| {
                        format!(
                            "--keyless: the identity token would expire before the link is \
                             signed (the step may take {step} s: --expected-duration, or the \
                             timeout); nothing was run or signed"
                        )
                    })?;
                if no_products {
                    check_keyless_products(&config, 0)?;
                }
                config
                    .services
                    .preflight()
                    .map_err(crate::keyless_sign::cli_error)
                    .context("--keyless: a Sigstore service is not ready to sign; nothing was run or signed")?;
                Ok(Signing::Keyless {
                    token,
                    config: Box::new(config),
                })
            }
            None => Ok(Signing::Key(self.load_key()?)),
        }
    }

    /// Secrets given on the command line, for the redactor.
    pub(crate) fn secrets(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(Some(password)) = &self.password {
            out.push(("--password".to_owned(), password.clone()));
        }
        if let Some(token) = &self.keyless.identity_token {
            out.push(("--identity-token".to_owned(), token.clone()));
        }
        out
    }
}

impl Signing {
    /// The name of the finished link's file (with a stand-in for a key id
    /// not known yet).
    pub(crate) fn link_name(&self, name: &StepName) -> String {
        match self {
            Signing::Keyless { .. } => keyless::link_bundle_name(name, UNKNOWN_KEYID),
            Signing::Key(LinkSigner::Key(key)) => name.link_file_name(key.keyid().as_str()),
            Signing::Key(LinkSigner::Gpg(_)) => name.link_file_name(UNKNOWN_KEYID),
        }
    }

    /// The key id part of the unfinished link's name (a stand-in for gpg).
    pub(crate) fn unfinished_id(&self) -> String {
        match self {
            Signing::Keyless { .. } => KEYLESS_UNFINISHED.to_owned(),
            Signing::Key(LinkSigner::Key(key)) => key.keyid().to_string(),
            Signing::Key(LinkSigner::Gpg(_)) => UNKNOWN_KEYID.to_owned(),
        }
    }
}

/// Signs and writes `link`; `path` names the file from the signing key id
/// (or refuses the key). Returns the file's path, the bytes written and the
/// key id.
pub(crate) fn write_link(
    link: &Link,
    key: Option<&LinkSigner>,
    format: LinkFormat,
    path: impl FnOnce(&str) -> Result<PathBuf>,
) -> Result<(PathBuf, Vec<u8>, String)> {
    // Written straight from the link's maps: no JSON value of its
    // artifact lists (memory stays near the file's size).
    let mut document = LinkDocument::new(link, format.encoding())?;
    let keyid = match key {
        Some(key) => key.sign(&mut document)?,
        None => String::new(),
    };
    if !keyid.is_empty() {
        crate::verbosity::verbose!("signed the {format:?} link with key {keyid}");
    }
    let path = path(&keyid)?;
    let bytes = document.into_json()?;
    crate::files::write_atomic(&path, &bytes, None)?;
    Ok((path, bytes, keyid))
}

/// A keyless link is a Statement whose subjects are the step's products.
/// Without products it binds no artifact, and toto verifies such a bundle
/// only from a Rekor v1 entry: with Rekor v2 it is refused here, before the
/// step runs and before anything reaches Fulcio or Rekor.
pub(crate) fn check_keyless_products(config: &keyless::TrustConfig, products: usize) -> Result<()> {
    if products == 0 && config.services.rekor_version == 2 {
        bail!(
            "--keyless signs the link as a Statement whose subjects are the step's products, \
             and there are none: a link without products is logged to Rekor v1 only; pass \
             --rekor-version 1 or record products with -p PATH (nothing was signed or logged)"
        );
    }
    Ok(())
}

/// A signed link written: what `--format json` reports.
pub(crate) struct Written {
    /// The link file.
    pub(crate) path: PathBuf,
    /// `--encoding`'s name, or `sigstore-bundle`.
    pub(crate) encoding: &'static str,
    /// Who signed it (see [`signer_json`]).
    pub(crate) signer: serde_json::Value,
    /// What it holds that can be attached to an image (`toto run --push`);
    /// `None` for Metablocks and DSSE-wrapped classic links, which are not
    /// Statements.
    pub(crate) bundle: Option<Attachable>,
}

/// A written link that can be attached to an image.
pub(crate) enum Attachable {
    /// The Sigstore bundle of a keyless link.
    Bundle(Vec<u8>),
    /// The key-signed DSSE envelope of a Statement, as written; put in a
    /// bundle only when it is attached (most runs never push, and a big
    /// link's bundle is a copy of it).
    Envelope { envelope: Vec<u8>, keyid: String },
}

impl Attachable {
    /// The bundle to attach.
    pub(crate) fn bundle(&self) -> Result<std::borrow::Cow<'_, [u8]>> {
        Ok(match self {
            Attachable::Bundle(bundle) => bundle.into(),
            Attachable::Envelope { envelope, keyid } => {
                crate::images::key_bundle(envelope, keyid)?.into()
            }
        })
    }
}

/// A signer as `--format json` reports it: `{"kind": "key"|"gpg", "keyid"}`
/// or `{"kind": "keyless", "identity", "issuer"}`.
pub(crate) fn signer_json(signer: &Signer) -> serde_json::Value {
    match signer {
        Signer::Key { keyid } => serde_json::json!({"kind": "key", "keyid": keyid}),
        Signer::Gpg { keyid } => serde_json::json!({"kind": "gpg", "keyid": keyid}),
        Signer::Keyless {
            issuer,
            subject,
            email,
            workflow,
        } => serde_json::json!({
            "kind": "keyless",
            "identity": email.as_ref().or(workflow.as_ref()).unwrap_or(subject),
            "issuer": issuer,
        }),
    }
}

/// `--format json` of a link written by run or record stop.
pub(crate) fn link_report(
    written: &Written,
    name: &StepName,
    link: &Link,
    exit_code: Option<i64>,
) -> serde_json::Value {
    serde_json::json!({
        "link": written.path.display().to_string(),
        "step": name.as_str(),
        "encoding": written.encoding,
        "signer": written.signer,
        "materials": link.materials.len(),
        "products": link.products.len(),
        "exit_code": exit_code,
    })
}

/// Signs a finished step's link with the key, or keylessly, and writes it
/// into the metadata directory as `<step>.<id8>.link` (`.link.sigstore.json`
/// when keyless). Checks first that the file can be written, so nothing is
/// logged in Rekor for a link that cannot be; `check_keyid` may refuse the
/// key a key signer signed with.
pub(crate) fn sign_link(
    link: &Link,
    signing_args: &SigningArgs,
    signing: &Signing,
    name: &StepName,
    check_keyid: &dyn Fn(&str) -> Result<()>,
) -> Result<Written> {
    let dir = &signing_args.metadata_directory;
    crate::files::check_writable(dir, &[signing.link_name(name)])?;
    match signing {
        Signing::Keyless { token, config } => {
            check_keyless_products(config, link.products.len())?;
            let signer = signing_args.keyless.signer_with(config, token)?;
            let (path, bundle) = crate::keyless_sign::write_link(link, &signer, name, dir)?;
            Ok(Written {
                path,
                bundle: Some(Attachable::Bundle(bundle)),
                encoding: "sigstore-bundle",
                signer: serde_json::json!({
                    "kind": "keyless",
                    "identity": signer.identity(),
                    "issuer": signer.issuer(),
                }),
            })
        }
        Signing::Key(key) => {
            let format = signing_args.format();
            let (path, bytes, keyid) = write_link(link, Some(key), format, |id| {
                check_keyid(id)?;
                Ok(dir.join(name.link_file_name(id)))
            })?;
            let signer = match key {
                LinkSigner::Key(_) => Signer::Key {
                    keyid: keyid.clone(),
                },
                LinkSigner::Gpg(_) => Signer::Gpg {
                    keyid: keyid.clone(),
                },
            };
            let bundle = match format {
                LinkFormat::Statement => Some(Attachable::Envelope {
                    envelope: bytes,
                    keyid,
                }),
                LinkFormat::DsseLink | LinkFormat::Metablock => None,
            };
            Ok(Written {
                path,
                bundle,
                encoding: format.name(),
                signer: signer_json(&signer),
            })
        }
    }
}
