//! `toto verify-bundle`: verify a Sigstore bundle for an artifact, offline,
//! against a trusted root. Speaks the sigstore-conformance client protocol.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use keyless::{Artifact, BundleVerifier, Policy};

use sha2::{Digest, Sha256};

use crate::bundle_args::BundleArgs;
use crate::verdict::Format;

/// `verify-bundle oci://…`: an image's signatures.
mod image;

/// Arguments of `toto verify-bundle`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "FILE_OR_DIGEST is a digest only when it is sha256: followed by 64 hex \
    digits and no such file exists.\n\nExit codes: 0 verified, 1 verification failed, 2 usage or input error.\n\n\
    FILE_OR_DIGEST may also be an image, oci://REGISTRY/REPO[:TAG|@sha256:…]: its signatures are \
    read from the registry (cosign's sha256-<hex>.sig tag, whose simple-signing payload must name \
    the image's digest; Sigstore bundles attached as referrers: a message signature over the \
    manifest, or cosign --new-bundle-format's https://sigstore.dev/cosign/sign/v1 Statement) and \
    each is verified; exit 0 when at least one verifies (docs/oci.md).\n\n\
    Examples:\n  toto verify-bundle --bundle app.sigstore.json \\\n    \
    --certificate-identity https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1 \\\n    \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com app.tar.gz\n  \
    toto verify-bundle --bundle b.sigstore.json --key cosign.pub sha256:0123…"
)]
pub struct VerifyBundleArgs {
    #[command(flatten)]
    signer: BundleArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The artifact, or its digest `sha256:<64 hex>`, or an image
    /// `oci://REGISTRY/REPO[:TAG|@DIGEST]`.
    #[arg(value_name = "FILE_OR_DIGEST|oci://IMAGE")]
    artifact: String,
    /// For an image index: verify the signatures of the index's manifest
    /// for this platform, `os/arch[/variant]` (e.g. linux/amd64). Without
    /// it, the index's own.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    #[command(flatten)]
    registry: crate::registry_args::RegistryArgs,
}

/// Reads a `sha256:<hex>` digest when `text` is one and names no file.
fn as_digest(text: &str) -> Option<[u8; 32]> {
    let hex_part = text.strip_prefix("sha256:")?;
    if Path::new(text).exists() || hex_part.len() != 64 {
        return None;
    }
    let bytes = hex::decode(hex_part).ok()?;
    bytes.try_into().ok()
}

/// `toto verify-bundle`.
pub fn run(mut args: VerifyBundleArgs) -> Result<ExitCode> {
    if oci::Reference::is_image(&args.artifact) {
        let image = oci::Reference::parse(&args.artifact)?;
        return image::run(&args, &image);
    }
    if args.platform.is_some() {
        anyhow::bail!("--platform applies to images (oci://REGISTRY/REPO…)");
    }
    if as_digest(&args.artifact).is_none() {
        args.signer
            .default_bundle(Some(Path::new(&args.artifact)))?;
    } else {
        args.signer.default_bundle(None)?;
    }
    let policy = args.signer.policy()?;
    let verifier = args.signer.verifier()?;
    // A file is hashed once, streaming; the verifier reads it again only
    // for a bundle that needs more than its SHA-256 (`Artifact::File`).
    let path = Path::new(&args.artifact);
    let artifact = match as_digest(&args.artifact) {
        Some(d) => Artifact::Sha256(d),
        None => Artifact::File {
            path,
            sha256: crate::files::sha256_file(path, "artifact")?,
        },
    };
    let shown_digest = match artifact {
        Artifact::Sha256(d) | Artifact::File { sha256: d, .. } => hex::encode(d),
        Artifact::Sha512(d) => hex::encode(d),
        Artifact::Bytes(b) => hex::encode(Sha256::digest(b)),
    };
    let outcomes = verify_all(&verifier, &args.signer.bundles, artifact, &policy);
    // One write per stream at the end, not one per bundle.
    let (mut out, mut err) = (String::new(), String::new());
    let mut code = 0;
    for (path, outcome) in args.signer.bundles.iter().zip(outcomes) {
        let shown = path.display();
        match outcome {
            Ok(verified) => match args.format {
                Format::Json => writeln!(
                    out,
                    "{}",
                    serde_json::json!({
                        "verified": true,
                        "bundle": shown.to_string(),
                        "artifact": {"sha256": shown_digest},
                        "identity": verified.identity,
                        "issuer": verified.issuer,
                        "times": verified.times,
                    })
                )?,
                Format::Text if crate::verbosity::quiet() => {}
                Format::Text => writeln!(
                    out,
                    "{} {shown} for sha256:{shown_digest}{}",
                    crate::style::good("Verified"),
                    match (&verified.identity, &verified.issuer) {
                        (Some(id), Some(iss)) => format!(": signed by {id} ({iss})"),
                        _ => ": signed by the managed key".into(),
                    }
                )?,
            },
            Err(failure) => {
                let failed = matches!(&failure, Failure::Verify(e) if e.is_verification_failure());
                code = code.max(if failed {
                    crate::verdict::EXIT_FAILED
                } else {
                    crate::verdict::EXIT_USAGE
                });
                let reason = match &failure {
                    Failure::Read(e) => format!("{e:#}"),
                    Failure::Verify(e) => e.to_string(),
                };
                match args.format {
                    Format::Json => writeln!(
                        out,
                        "{}",
                        serde_json::json!({"verified": false, "bundle": shown.to_string(), "error": reason})
                    )?,
                    Format::Text if failed => writeln!(
                        err,
                        "{} {shown}: {reason}",
                        crate::style::bad("toto: verification failed:")
                    )?,
                    Format::Text => match failure {
                        Failure::Read(_) => {
                            writeln!(err, "{} {reason}", crate::style::bad("toto: error:"))?
                        }
                        Failure::Verify(_) => writeln!(
                            err,
                            "{} cannot verify {shown}: {reason}",
                            crate::style::bad("toto: error:")
                        )?,
                    },
                }
            }
        }
    }
    std::io::stdout().write_all(out.as_bytes())?;
    std::io::stderr().write_all(err.as_bytes())?;
    Ok(ExitCode::from(code))
}

/// Why one bundle of a batch was not verified.
enum Failure {
    /// Its file could not be read.
    Read(anyhow::Error),
    /// It did not verify, or is malformed.
    Verify(keyless::Error),
}

/// True for an attestation bundle (a DSSE envelope, which binds an artifact
/// through its Statement's subjects), read with the strict parser the
/// verifier uses; a bundle that does not parse is left to the verifier to
/// refuse.
fn is_attestation(bundle: &[u8]) -> bool {
    dsse::json::Tree::parse(bundle).is_ok_and(|tree| tree.root().get("dsseEnvelope").is_some())
}

/// Reads and verifies every bundle, on all cores, keeping the input order.
/// Workers take the next bundle as they finish one, so a core the machine
/// slows down does not hold the others up, and each bundle's bytes are
/// dropped as soon as it is verified.
fn verify_all(
    verifier: &BundleVerifier,
    bundles: &[PathBuf],
    artifact: Artifact<'_>,
    policy: &Policy,
) -> Vec<Result<keyless::Verified, Failure>> {
    let one = |path: &PathBuf| {
        let bytes = crate::files::read_limited(path, keyless::MAX_BUNDLE_BYTES, "bundle")
            .map_err(Failure::Read)?;
        if !is_attestation(&bytes) {
            return verifier
                .verify(&bytes, artifact, policy)
                .map_err(Failure::Verify);
        }
        // An attestation binds the artifact through its Statement's
        // subjects: read them by the rule verify-attestation applies.
        let attestation = verifier
            .verify_attestation(&bytes, Some(artifact), policy)
            .map_err(Failure::Verify)?;
        // The verifier read its Statement (when the payload is one) by the
        // rule verify-attestation applies.
        Ok(attestation.verified().clone())
    };
    attest::parallel::map(bundles, 0, || (), |(), path| one(path))
        .into_iter()
        .map(|outcome| {
            outcome.unwrap_or_else(|| {
                Err(Failure::Verify(keyless::Error::Malformed {
                    what: "bundle",
                    reason: "verification thread failed".into(),
                }))
            })
        })
        .collect()
}
