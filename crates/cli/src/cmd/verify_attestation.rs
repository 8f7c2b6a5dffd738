//! `toto verify-attestation`: verify an attestation bundle (an in-toto
//! Statement in a DSSE envelope, signed keylessly or with a managed key),
//! check its subjects and predicate, and show the verified Statement.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use attest::predicate::PredicateRequirement;
use keyless::Artifact;
use serde::Deserialize;

use crate::bundle_args::BundleArgs;

/// `verify-attestation oci://…`.
mod image;
use crate::policy_args::ProvenanceArgs;
use crate::verdict::{Format, VerificationFailed};

/// Arguments of `toto verify-attestation`.
#[derive(Debug, clap::Args)]
#[command(after_help = POLICY_HELP)]
pub struct VerifyAttestationArgs {
    #[command(flatten)]
    pub(super) signer: BundleArgs,
    /// Require this predicate type.
    #[arg(long, value_name = "URI")]
    predicate_type: Option<String>,
    /// An artifact that must be a subject (repeatable).
    #[arg(long, value_name = "FILE")]
    pub(super) subject: Vec<PathBuf>,
    /// A digest that must be a subject, `sha256:HEX` or `sha512:HEX` (repeatable).
    #[arg(long, value_name = "ALG:HEX")]
    pub(super) digest: Vec<String>,
    /// Predicate checks (TOML; see below).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// npm's registry key (PEM): with an npm attestations document, its
    /// publish attestation must verify with this key and every other
    /// attestation with the signer flags.
    #[arg(long, value_name = "KEY")]
    npm_publish_key: Option<PathBuf>,
    /// Output: a summary, or the verified Statement and signer as JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(super) format: Format,
    /// The artifact that must be a subject (as --subject; a `sha256:HEX` or
    /// `sha512:HEX` digest when no such file exists). Its bundle defaults to
    /// ARTIFACT.sigstore.json. Or an image, `oci://REGISTRY/REPO:TAG` or
    /// `@sha256:…`: its attestations are read from the registry (OCI 1.1
    /// referrers, or the referrers tag schema) and each is verified; exit 0
    /// when at least one passes every check (docs/oci.md).
    #[arg(value_name = "ARTIFACT|oci://IMAGE")]
    pub(super) artifact: Option<String>,
    #[command(flatten)]
    pub(super) provenance: ProvenanceArgs,
    #[command(flatten)]
    pub(super) registry: crate::registry_args::RegistryArgs,
}

const POLICY_HELP: &str = r#"A policy file holds checks on the predicate, by dotted path:

  [[require]]
  path = "buildDefinition.buildType"
  equals = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"

  [[require]]
  path = "buildDefinition.externalParameters.workflow.repository"
  prefix = "https://github.com/my-org/"

  [[require]]
  path = "runDetails.builder.id"
  one_of = ["https://github.com/actions/runner/github-hosted"]

and the checks of gh's and slsa-verifier's flags, keys named as the flags:

  [github]
  repo = "my-org/app"
  deny_self_hosted_runners = true

  [slsa]
  source_uri = "github.com/my-org/app"
  source_versioned_tag = "v1"

--bundle also takes files holding several bundles: gh's JSON Lines (one bundle
per line, as `gh attestation download` writes them) and npm's attestations
document ({"attestations":[{"predicateType":…,"bundle":{…}}]}). The bundles that
pass every check are selected and named (line N, attestation N). With
--npm-publish-key, an npm document's publish attestation must verify with that
key and every other attestation with the signer flags.

--bundle also takes PyPI's PEP 740 attestations, recognized by their fields:
an attestation object (as pypi-attestations writes, e.g. *.publish.attestation)
or a provenance object (what https://pypi.org/integrity/PROJECT/VERSION/FILE/provenance
returns). Each attestation is verified as the Sigstore bundle v0.3 it stands
for; a provenance object verifies when one of its attestations passes every
check. Its "publisher" is not signed and is not used: require the signer with
--certificate-identity and the GitHub claims flags.

Exit codes: 0 verified, 1 verification or policy failed, 2 usage or input error.

Example:
  toto verify-attestation --bundle app.intoto.sigstore.json \
    --certificate-identity https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1 \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com \
    --predicate-type https://slsa.dev/provenance/v1 --subject app.tar.gz"#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    require: Vec<PredicateRequirement>,
    /// gh's signer checks, as the flags of the same names.
    #[serde(default)]
    github: Option<GitHubTable>,
    /// slsa-verifier's source and builder checks, as the flags.
    #[serde(default)]
    slsa: Option<SlsaTable>,
}

/// `[github]`: `--owner`, `--repo`, … as keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GitHubTable {
    owner: Option<String>,
    repo: Option<String>,
    signer_workflow: Option<String>,
    signer_repo: Option<String>,
    signer_digest: Option<String>,
    source_ref: Option<String>,
    source_digest: Option<String>,
    #[serde(default)]
    deny_self_hosted_runners: bool,
}

/// `[slsa]`: `--source-uri`, `--builder-id`, … as keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlsaTable {
    source_uri: Option<String>,
    source_tag: Option<String>,
    source_branch: Option<String>,
    source_versioned_tag: Option<String>,
    builder_id: Option<String>,
}

/// What a policy file asks: predicate requirements, and the checks the
/// flags also express.
pub(super) struct FilePolicy {
    pub(super) requirements: Vec<PredicateRequirement>,
    pub(super) github: Option<keyless::policy::GitHubSigner>,
    pub(super) source: keyless::provenance::SourcePolicy,
}

impl PolicyFile {
    fn into_checks(self) -> Result<FilePolicy> {
        let github = self.github.map(|g| keyless::policy::GitHubSigner {
            owner: g.owner,
            repo: g.repo,
            signer_workflow: g.signer_workflow,
            signer_repo: g.signer_repo,
            signer_digest: g.signer_digest,
            source_ref: g.source_ref,
            source_digest: g.source_digest,
            deny_self_hosted_runners: g.deny_self_hosted_runners,
        });
        if let Some(github) = &github {
            github.validate()?;
        }
        let source = self
            .slsa
            .map(|s| keyless::provenance::SourcePolicy {
                source_uri: s.source_uri,
                source_tag: s.source_tag,
                source_branch: s.source_branch,
                source_versioned_tag: s.source_versioned_tag,
                builder_id: s.builder_id,
            })
            .unwrap_or_default();
        source.validate()?;
        Ok(FilePolicy {
            requirements: self.require,
            github,
            source,
        })
    }
}

fn parse_digest(text: &str) -> Result<Artifact<'static>> {
    let (alg, hex_part) = text
        .split_once(':')
        .with_context(|| format!("digest {text:?} is not ALG:HEX"))?;
    let bytes = hex::decode(hex_part).with_context(|| format!("digest {text:?} is not hex"))?;
    match alg {
        "sha256" => Ok(Artifact::Sha256(bytes.try_into().map_err(|_| {
            anyhow::anyhow!("sha256 digest {text:?} is not 32 bytes")
        })?)),
        "sha512" => Ok(Artifact::Sha512(bytes.try_into().map_err(|_| {
            anyhow::anyhow!("sha512 digest {text:?} is not 64 bytes")
        })?)),
        other => bail!("digest algorithm {other:?}: use sha256 or sha512"),
    }
}

/// The positional artifact: a file, or a digest when it reads as one and no
/// such file exists.
enum Positional {
    File(PathBuf),
    Digest(Artifact<'static>),
}

fn positional(text: &str) -> Result<Positional> {
    let path = PathBuf::from(text);
    if !path.exists() && text.contains(':') {
        return Ok(Positional::Digest(parse_digest(text)?));
    }
    Ok(Positional::File(path))
}

/// The checks every attestation is held to, from the flags and the policy
/// file: the signer, slsa-verifier's source checks, the policy file's, and
/// the predicate type.
pub(super) struct Setup {
    pub(super) policy: keyless::Policy,
    pub(super) source: keyless::provenance::SourcePolicy,
    pub(super) file: FilePolicy,
    pub(super) predicate_type: Option<String>,
}

impl Setup {
    /// The checks of a bundle: `setup`'s (its policy, source policy, file
    /// policy and predicate type) and `subjects`.
    pub(super) fn checks<'a>(
        (policy, source, file, predicate_type): (
            &'a keyless::Policy,
            &'a keyless::provenance::SourcePolicy,
            &'a FilePolicy,
            Option<&'a str>,
        ),
        subjects: &'a [(String, Vec<Artifact<'a>>)],
        identity_given: bool,
    ) -> Checks<'a> {
        Checks {
            policy,
            subjects,
            predicate_type,
            requirements: &file.requirements,
            source,
            file_github: file.github.as_ref().map(|g| (g, identity_given)),
            file_source: &file.source,
        }
    }
}

/// [`Setup`] from the arguments.
pub(super) fn setup(args: &VerifyAttestationArgs) -> Result<Setup> {
    let policy = args.signer.policy()?;
    let source = args.provenance.source()?;
    let file = match &args.policy {
        None => FilePolicy {
            requirements: Vec::new(),
            github: None,
            source: keyless::provenance::SourcePolicy::default(),
        },
        Some(path) => {
            let text = crate::files::read_limited(path, 1 << 20, "policy")?;
            let text = String::from_utf8(text).context("the policy is not UTF-8")?;
            let file: PolicyFile = toml::from_str(&text)
                .with_context(|| format!("cannot read policy {}", path.display()))?;
            file.into_checks()
                .with_context(|| format!("cannot read policy {}", path.display()))?
        }
    };
    // --predicate-type, else cosign's --type, else gh's default when gh's
    // signer checks are asked for (by flags or the policy file).
    let predicate_type = match (&args.predicate_type, args.provenance.predicate_type()?) {
        (Some(given), _) => Some(given.clone()),
        (None, Some(typed)) => Some(typed),
        (None, None) if !args.signer.github_signer().is_empty() || file.github.is_some() => {
            Some(keyless::policy::GITHUB_DEFAULT_PREDICATE_TYPE.to_owned())
        }
        (None, None) => None,
    };
    Ok(Setup {
        policy,
        source,
        file,
        predicate_type,
    })
}

/// `toto verify-attestation`.
pub fn run(mut args: VerifyAttestationArgs) -> Result<ExitCode> {
    if let Some(text) = args
        .artifact
        .as_deref()
        .filter(|t| oci::Reference::is_image(t))
    {
        let image = oci::Reference::parse(text)?;
        return image::run(&args, &image);
    }
    let artifact = args.artifact.as_deref().map(positional).transpose()?;
    let beside = match &artifact {
        Some(Positional::File(path)) => Some(path.as_path()),
        _ => None,
    };
    args.signer.default_bundle(beside)?;
    let Setup {
        policy,
        source,
        file,
        predicate_type,
    } = setup(&args)?;
    let requirements = &file.requirements;
    // Each subject file hashed once, streaming: the verifier reads it again
    // only when the Statement names it by another digest (`Artifact::File`).
    let mut subjects: Vec<(String, Vec<Artifact<'_>>)> = Vec::new();
    for path in &args.subject {
        let sha256 = crate::files::sha256_file(path, "subject")?;
        subjects.push((
            path.display().to_string(),
            vec![Artifact::File { path, sha256 }],
        ));
    }
    for text in &args.digest {
        subjects.push((text.clone(), vec![parse_digest(text)?]));
    }
    match &artifact {
        Some(Positional::File(path)) => {
            let sha256 = crate::files::sha256_file(path, "artifact")?;
            subjects.push((
                path.display().to_string(),
                vec![Artifact::File { path, sha256 }],
            ));
        }
        Some(Positional::Digest(digest)) => {
            subjects.push((args.artifact.clone().unwrap_or_default(), vec![*digest]));
        }
        None => {}
    }
    if subjects.is_empty() && !args.provenance.no_subject && !crate::verbosity::quiet() {
        eprintln!(
            "{} nothing binds the attestation to an artifact: give the artifact, --subject or \
             --digest (or --no-subject when that is intended)",
            crate::style::bad("toto: warning:")
        );
    }
    let verifier = args.signer.verifier()?;
    let npm_publish_key = match &args.npm_publish_key {
        None => None,
        Some(path) => {
            let pem = crate::files::read_limited(path, 64 << 10, "npm publish key")?;
            Some(keyless::Policy::Key {
                pem: String::from_utf8(pem)
                    .with_context(|| format!("{} is not a PEM file", path.display()))?,
            })
        }
    };
    let raw = args.signer.read_bundle()?;
    let shown = args.signer.bundle().display().to_string();
    // A Sigstore bundle, JSON Lines of bundles (gh), npm's attestations
    // document or a PEP 740 object, read as the bundles it holds; each is
    // then verified like any other bundle.
    let document = keyless::document::read(&raw).with_context(|| format!("cannot read {shown}"))?;
    // With --npm-publish-key, an npm document's publish attestation is
    // verified with that key and every attestation of the document must
    // verify; otherwise the bundles that satisfy every check are selected.
    let npm = document.format == keyless::document::Format::NpmAttestations;
    if npm_publish_key.is_some() && !npm {
        bail!(
            "--npm-publish-key applies to npm's attestations document; {shown} is a {}",
            document.format.name()
        );
    }
    let all_required = npm_publish_key.is_some();
    let mut failures = Vec::new();
    let mut accepted = Vec::new();
    let no_source = keyless::provenance::SourcePolicy::default();
    for entry in &document.entries {
        let publish = all_required && entry.claimed_predicate_type.as_deref() == Some(NPM_PUBLISH);
        let checks = match (&npm_publish_key, publish) {
            (Some(key), true) => Checks {
                policy: key,
                subjects: &subjects,
                predicate_type: Some(NPM_PUBLISH),
                requirements: &[],
                source: &no_source,
                file_github: None,
                file_source: &no_source,
            },
            _ => Setup::checks(
                (&policy, &source, &file, predicate_type.as_deref()),
                &subjects,
                args.signer.names_signer_identity(),
            ),
        };
        let outcome = check(&verifier, &entry.bundle, &checks, &shown)
            .and_then(|checked| claimed_type_holds(entry, checked));
        match outcome {
            Ok(checked) => accepted.push((entry, checked)),
            Err(e) if crate::verdict::exit_code_for(&e) == crate::verdict::EXIT_FAILED => {
                failures.push(format!("{}: {e:#}", entry.place));
            }
            Err(e) => return Err(e),
        }
    }
    let count = document.entries.len();
    // The attestation shown: the first verified that is not npm's publish
    // attestation (the provenance), else the first verified.
    let complete = !all_required || failures.is_empty();
    let verdict = accepted
        .iter()
        .find(|(entry, _)| entry.claimed_predicate_type.as_deref() != Some(NPM_PUBLISH))
        .or(accepted.first())
        .filter(|_| complete);
    let Some((entry, (attestation, statement))) = verdict else {
        let why = match failures.as_slice() {
            [one] if count == 1 => one
                .split_once(": ")
                .map_or(one.as_str(), |(_, why)| why)
                .to_owned(),
            many if all_required => format!(
                "{} of the {count} attestations in the file ({}) not verified (with \
                 --npm-publish-key every one must verify); {}",
                many.len(),
                document.format.name(),
                many.join("; ")
            ),
            many => format!(
                "none of the {count} bundles in the file ({}) satisfies every check; {}",
                document.format.name(),
                many.join("; ")
            ),
        };
        report_failure(&args, &why);
        return Ok(ExitCode::from(crate::verdict::EXIT_FAILED));
    };
    let verified_places: Vec<&str> = accepted.iter().map(|(e, _)| e.place.as_str()).collect();
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "verified": true,
                "format": document.format.name(),
                "entry": entry.place,
                "verified_entries": verified_places,
                "identity": attestation.verified().identity,
                "issuer": attestation.verified().issuer,
                "certificate": attestation
                    .verified()
                    .claims
                    .present()
                    .into_iter()
                    .collect::<std::collections::BTreeMap<_, _>>(),
                "statement": statement.to_value(),
            })
        ),
        Format::Text if crate::verbosity::quiet() => {}
        Format::Text => {
            println!("{} {shown}", crate::style::good("Verified"));
            if document.format != keyless::document::Format::Bundle {
                println!(
                    "  read as:        {} ({count} bundle{}); verified: {}",
                    document.format.name(),
                    if count == 1 { "" } else { "s" },
                    verified_places.join(", ")
                );
            }
            for (other, (attestation, statement)) in
                accepted.iter().filter(|(e, _)| e.place != entry.place)
            {
                let signer = attestation
                    .verified()
                    .identity
                    .clone()
                    .unwrap_or_else(|| "the npm publish key".into());
                println!(
                    "  also verified:  {} ({}), signed by {signer}",
                    other.place, statement.predicate_type
                );
            }
            match (
                &attestation.verified().identity,
                &attestation.verified().issuer,
            ) {
                (Some(id), Some(iss)) => println!("  signed by:      {id} ({iss})"),
                _ => println!("  signed by:      the managed key"),
            }
            println!("  predicate type: {}", statement.predicate_type);
            for s in &statement.subject {
                let digests: Vec<String> = s
                    .digest
                    .iter()
                    .flat_map(|d| d.iter().map(|(a, h)| format!("{a}:{h}")))
                    .collect();
                println!(
                    "  subject:        {} {}",
                    s.name.as_deref().unwrap_or("(unnamed)"),
                    digests.join(" ")
                );
            }
            if !requirements.is_empty() {
                println!(
                    "  policy:         {} requirement(s) hold",
                    requirements.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The signature, signer, subjects, predicate type and predicate checks of
/// one bundle: the verified attestation and its Statement, or why not
/// (a [`VerificationFailed`] or [`keyless::Error`] in the chain for exit 1).
/// What each bundle is checked for.
pub(super) struct Checks<'a> {
    pub(super) policy: &'a keyless::Policy,
    pub(super) subjects: &'a [(String, Vec<Artifact<'a>>)],
    pub(super) predicate_type: Option<&'a str>,
    pub(super) requirements: &'a [PredicateRequirement],
    pub(super) source: &'a keyless::provenance::SourcePolicy,
    /// The policy file's gh checks, and whether the command line named the
    /// signer's identity.
    pub(super) file_github: Option<(&'a keyless::policy::GitHubSigner, bool)>,
    pub(super) file_source: &'a keyless::provenance::SourcePolicy,
}

pub(super) fn check(
    verifier: &keyless::BundleVerifier,
    bundle: &[u8],
    checks: &Checks<'_>,
    shown: &str,
) -> Result<(keyless::VerifiedAttestation, attest::Statement)> {
    let Checks {
        policy,
        subjects,
        predicate_type,
        requirements,
        source,
        file_github,
        file_source,
    } = *checks;
    let attestation = verifier
        .verify_attestation(bundle, None, policy)
        .with_context(|| format!("cannot verify {shown}"))?;
    // Everything below reads the Statement the verifier read and returned.
    let statement = verified_statement(&attestation)?;
    keyless::attestation::check_statement(&statement, subjects, predicate_type, requirements)?;
    source.check(&attestation)?;
    if let Some((github, identity_given)) = file_github {
        github
            .check_verified(attestation.verified(), identity_given)
            .context("policy [github]")?;
    }
    file_source.check(&attestation).context("policy [slsa]")?;
    Ok((attestation, statement))
}

/// npm's publish attestation predicate type.
const NPM_PUBLISH: &str = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";

/// The checked bundle, when the predicate type its file claims for it (npm's
/// document; unsigned) is the one its verified Statement has.
fn claimed_type_holds(
    entry: &keyless::document::Entry,
    checked: (keyless::VerifiedAttestation, attest::Statement),
) -> Result<(keyless::VerifiedAttestation, attest::Statement)> {
    match &entry.claimed_predicate_type {
        Some(claimed) if *claimed != checked.1.predicate_type => Err(VerificationFailed(format!(
            "the document says predicate type {claimed:?}, the signed Statement says {:?}",
            checked.1.predicate_type
        ))
        .into()),
        _ => Ok(checked),
    }
}

/// The Statement a verified attestation signs, as the verifier read it
/// (strictly, by [`attest::Statement`]'s rules: every subject digest
/// lower-case hex, of the algorithm's length when the algorithm is known).
pub(crate) fn verified_statement(
    attestation: &keyless::VerifiedAttestation,
) -> Result<attest::Statement> {
    attestation.statement().cloned().ok_or_else(|| {
        anyhow::anyhow!(
            "the signed payload is of type {:?}, not an in-toto Statement ({})",
            attestation.payload_type(),
            attest::PAYLOAD_TYPE
        )
    })
}

fn report_failure(args: &VerifyAttestationArgs, why: &str) {
    match args.format {
        Format::Json => println!("{}", serde_json::json!({"verified": false, "error": why})),
        Format::Text => eprintln!(
            "{} {}: {why}",
            crate::style::bad("toto: verification failed:"),
            args.signer.bundle().display()
        ),
    }
}
