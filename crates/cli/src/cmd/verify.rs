//! `toto verify`: check the evidence of a supply chain against its signed
//! layout, with the reference's verdicts. `in-toto-verify`'s flag names are
//! accepted.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use attest::layout::Inspection;
use attest::record::{self, RecordOptions};
use attest::verify::{self, Evidence, Options, Report};
use attest::{Link, SignedDocument};
use keyless::BundleVerifier;
use serde_json::{json, Map};

use crate::util::{self, Format};

/// Arguments of `toto verify`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 verified, 1 verification failed, 2 usage or input error.\n\n\
    Inspections run in the current directory and write files there (as in-toto-verify does): \
    verify in a scratch copy of the release.\n\nExamples:\n  \
    toto verify --layout root.layout --layout-key alice.pub --link-dir links/\n  \
    toto verify -l root.layout -k alice.pub --format json > report.json\n  \
    in-toto-verify --layout root.layout --verification-keys alice.pub"
)]
pub struct VerifyArgs {
    /// The signed layout (Metablock or DSSE).
    #[arg(long = "layout", short = 'l', value_name = "FILE")]
    layout: PathBuf,
    /// Public key(s) of the layout's owner(s); every one must have signed.
    #[arg(long = "layout-key", short = 'k', visible_alias = "verification-keys", num_args = 1.., required = true, value_name = "FILE")]
    layout_keys: Vec<PathBuf>,
    /// Directory with the link files (default: current directory).
    #[arg(long = "link-dir", value_name = "DIR", default_value = ".")]
    link_dir: PathBuf,
    /// Skip inspections (the result is then partial).
    #[arg(long = "no-inspections")]
    no_inspections: bool,
    /// Seconds an inspection may run (0: no limit).
    #[arg(long = "inspection-timeout", default_value_t = 10)]
    inspection_timeout: u64,
    /// Trusted root for keyless functionaries' bundles (default: the
    /// embedded public-good Sigstore root).
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Show more output.
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Show no output but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
}

struct FsEvidence {
    dir: PathBuf,
    limits: dsse::Limits,
    inspection_timeout: Option<Duration>,
    /// Built on first use: only layouts with keyless functionaries need it.
    bundles: Rc<OnceCell<Result<BundleVerifier, String>>>,
    trusted_root: Option<PathBuf>,
}

impl Evidence for FsEvidence {
    fn read_link(&self, file_name: &str) -> Result<Option<Vec<u8>>, attest::Error> {
        let path = self.dir.join(file_name);
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(attest::Error::Io { path, source }),
            Ok(m) if m.len() > self.limits.max_envelope_bytes as u64 => {
                return Err(dsse::Error::TooLarge {
                    what: "link file",
                    limit: self.limits.max_envelope_bytes,
                    actual: usize::try_from(m.len()).unwrap_or(usize::MAX),
                }
                .into())
            }
            Ok(_) => {}
        }
        std::fs::read(&path)
            .map(Some)
            .map_err(|source| attest::Error::Io { path, source })
    }

    fn subdirectory(&self, dir_name: &str) -> Box<dyn Evidence + '_> {
        Box::new(FsEvidence {
            dir: self.dir.join(dir_name),
            limits: self.limits,
            inspection_timeout: self.inspection_timeout,
            bundles: Rc::clone(&self.bundles),
            trusted_root: self.trusted_root.clone(),
        })
    }

    fn run_inspection(&self, inspection: &Inspection) -> Result<Link, attest::Error> {
        let options = RecordOptions::default();
        let here = [PathBuf::from(".")];
        let materials = record::record_artifacts(&here, &options)
            .map_err(|e| attest::Error::Malformed {
                what: "inspection materials",
                reason: e.to_string(),
            })?
            .artifacts;
        let outcome = attest::exec::run(&inspection.run, None, self.inspection_timeout, true)?;
        let products = record::record_artifacts(&here, &options)
            .map_err(|e| attest::Error::Malformed {
                what: "inspection products",
                reason: e.to_string(),
            })?
            .artifacts;
        let mut byproducts = Map::new();
        byproducts.insert("return-value".into(), json!(outcome.return_value));
        byproducts.insert("stdout".into(), json!(outcome.stdout));
        byproducts.insert("stderr".into(), json!(outcome.stderr));
        let link = Link {
            name: inspection.name.to_string(),
            command: inspection.run.clone(),
            materials,
            products,
            byproducts,
            environment: Map::new(),
        };
        // Like the reference, keep the inspection's (unsigned) link beside the evidence.
        if let Ok(document) = SignedDocument::new(link.to_classic(), attest::Encoding::Metablock) {
            let _ = util::write_atomic(
                Path::new(&format!("{}.link", inspection.name)),
                &document.to_json(),
                None,
            );
        }
        Ok(link)
    }

    fn verify_sigstore(
        &self,
        bundle: &[u8],
        identity: &str,
        issuer: &str,
    ) -> Result<Vec<u8>, attest::Error> {
        let verifier = self.bundles.get_or_init(|| {
            crate::cmd::verify_bundle::trust_root(self.trusted_root.as_deref())
                .and_then(|root| Ok(BundleVerifier::new(&root)?))
                .map_err(|e| format!("{e:#}"))
        });
        let verifier = verifier
            .as_ref()
            .map_err(|reason| attest::Error::Malformed {
                what: "trusted root",
                reason: reason.clone(),
            })?;
        let policy = keyless::Policy::Identity {
            identity: identity.to_owned(),
            issuer: issuer.to_owned(),
        };
        verifier
            .verify_attestation(bundle, None, &policy)
            .map(|a| a.payload)
            .map_err(|e| attest::Error::Malformed {
                what: "bundle",
                reason: e.to_string(),
            })
    }

    fn describe(&self, file_name: &str) -> String {
        if self.dir == Path::new(".") {
            file_name.to_owned()
        } else {
            self.dir.join(file_name).display().to_string()
        }
    }
}

/// `toto verify`.
pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    let limits = dsse::Limits::default();
    let keys = args
        .layout_keys
        .iter()
        .map(|p| util::load_public_key(p))
        .collect::<Result<Vec<_>>>()?;
    let bytes = util::read_limited(&args.layout, limits.max_envelope_bytes, "layout")?;
    let document = SignedDocument::from_json(&bytes, &limits)
        .with_context(|| format!("cannot read layout {}", args.layout.display()))?;
    if !args.link_dir.is_dir() {
        bail!("link directory {} does not exist", args.link_dir.display());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let evidence = FsEvidence {
        dir: args.link_dir.clone(),
        limits,
        bundles: Rc::new(OnceCell::new()),
        trusted_root: args.trusted_root.clone(),
        inspection_timeout: (args.inspection_timeout > 0)
            .then(|| Duration::from_secs(args.inspection_timeout)),
    };
    let options = Options {
        now,
        run_inspections: !args.no_inspections,
        limits,
    };
    let report = verify::verify_layout(&document, &keys, &evidence, &options)
        .with_context(|| format!("cannot verify with layout {}", args.layout.display()))?;
    print_report(&args, &report);
    Ok(if report.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(util::EXIT_FAILED)
    })
}

fn print_report(args: &VerifyArgs, report: &Report) {
    match args.format {
        Format::Json => {
            let value = serde_json::to_value(report).unwrap_or_default();
            println!("{value}");
        }
        Format::Text => {
            if !args.quiet {
                for w in &report.warnings {
                    eprintln!("toto: warning: {w}");
                }
                for step in &report.steps {
                    for w in &step.warnings {
                        eprintln!("toto: warning: step {:?}: {w}", step.name);
                    }
                    if args.verbose {
                        let links: Vec<&str> = step.links.values().map(String::as_str).collect();
                        eprintln!("step {:?}: links {}", step.name, links.join(", "));
                    }
                }
            }
            match &report.failure {
                None => {
                    if !args.quiet {
                        println!(
                            "Verified: the supply chain of {} holds.",
                            args.layout.display()
                        );
                    }
                }
                Some(failure) => eprintln!("toto: verification failed: {failure}"),
            }
        }
    }
}
