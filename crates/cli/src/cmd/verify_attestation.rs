//! `toto verify-attestation`: verify an attestation bundle (an in-toto
//! Statement in a DSSE envelope, signed keylessly or with a managed key),
//! check its subjects and predicate, and show the verified Statement.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use attest::predicate::PredicateRequirement;
use attest::vsa::VSA_PREDICATE_TYPE;
use keyless::Artifact;
use serde::Deserialize;
use sha2::Digest as _;

use crate::bundle_args::BundleArgs;

/// The checks every attestation is held to.
mod checks;
/// `verify-attestation oci://…` (and what `verify-bundle oci://…` shares).
pub(super) mod image;
use crate::policy_args::ProvenanceArgs;
use crate::verdict::{Format, VerificationFailed};
use checks::{check, vsa_holds, Checks};

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
    #[arg(long, visible_alias = "subject-digest", value_name = "ALG:HEX")]
    pub(super) digest: Vec<String>,
    /// Checks on the verified Statement: TOML, or Rego when named *.rego
    /// (see below).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// npm's registry key (PEM): with an npm attestations document, its
    /// publish attestation must verify with this key and every other
    /// attestation with the signer flags.
    #[arg(long, value_name = "KEY")]
    npm_publish_key: Option<PathBuf>,
    /// Rekor to look up the log entry of a bare DSSE envelope whose
    /// signature carries a certificate (slsa-github-generator's legacy
    /// .intoto.jsonl), e.g. https://rekor.sigstore.dev.
    #[arg(long, value_name = "URL")]
    rekor_url: Option<String>,
    /// Output: a summary, or the verified Statement and signer as JSON.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(super) format: Format,
    /// The artifact that must be a subject (as --subject; a `sha256:HEX` or
    /// `sha512:HEX` digest when no such file exists). Its bundle defaults to
    /// ARTIFACT.sigstore.json. Or an image, `oci://REGISTRY/REPO:TAG` or
    /// `@sha256:…`: its attestations are read from the registry (OCI 1.1
    /// referrers or the referrers tag schema, and cosign's sha256-<hex>.att
    /// tag) and each is verified; exit 0 when at least one passes every
    /// check. BuildKit's attestation manifests in an index are listed as
    /// unsigned evidence, never verified (see --allow-unsigned; docs/oci.md).
    #[arg(value_name = "ARTIFACT|oci://IMAGE")]
    pub(super) artifact: Option<String>,
    #[command(flatten)]
    pub(super) provenance: ProvenanceArgs,
    #[command(flatten)]
    pub(super) vsa_check: crate::vsa_args::VsaCheckArgs,
    #[command(flatten)]
    pub(super) vsa: crate::vsa_args::VsaArgs,
    #[command(flatten)]
    pub(super) registry: crate::registry_args::RegistryArgs,
    #[command(flatten)]
    pub(super) image: image::ImageArgs,
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

A policy named *.rego is a Rego module (as cosign's and witness's --policy),
evaluated on the verified Statement and signer only after every other check
passed: its package's `allow` must be true when declared, and its `deny`
messages (when declared) must be none; each message is printed. The input is
the Statement (_type, subject, predicateType, predicate) and `signer`
({kind, identity, issuer, certificate: {sourceRepositoryURI, …}}):

  package signature
  import rego.v1
  allow if input.predicate.buildDefinition.buildType == "https://actions.github.io/buildtypes/workflow/v1"
  deny contains "built on a self-hosted runner" if
      input.signer.certificate.runnerEnvironment != "github-hosted"

--bundle also takes files holding several bundles: gh's JSON Lines (one bundle
per line, as `gh attestation download` writes them) and npm's attestations
document ({"attestations":[{"predicateType":…,"bundle":{…}}]}). The bundles that
pass every check are selected and named (line N, attestation N). With
--npm-publish-key, an npm document's publish attestation must verify with that
key and every other attestation with the signer flags.

--bundle also takes slsa-github-generator's legacy .intoto.jsonl (a bare DSSE
envelope whose signature carries its certificate) with --rekor-url URL: its log
entry is looked up in that Rekor (by the payload's SHA-256, then by UUID) and
each entry that logged its signature is verified like a bundle.

--bundle also takes PyPI's PEP 740 attestations, recognized by their fields:
an attestation object (as pypi-attestations writes, e.g. *.publish.attestation)
or a provenance object (what https://pypi.org/integrity/PROJECT/VERSION/FILE/provenance
returns). Each attestation is verified as the Sigstore bundle v0.3 it stands
for; a provenance object verifies when one of its attestations passes every
check. Its "publisher" is not signed and is not used: require the signer with
--certificate-identity and the GitHub claims flags.

--vsa FILE writes a signed SLSA verification summary of a successful verification
(docs/vsa.md); --verified-level, --resource-uri, --verifier-id, --policy-uri and
--policy-digest check one, as slsa-verifier's verify-vsa:
  toto verify-attestation app.tar.gz --bundle app.vsa.sigstore.json --key verifier.pub \
    --verified-level SLSA_BUILD_LEVEL_2 --resource-uri app.tar.gz

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
    /// slsa-verifier's source and builder checks, as the flags (the value
    /// the flags and a layout step's `x-toto-slsa` build).
    #[serde(default)]
    slsa: Option<keyless::provenance::SourcePolicy>,
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

/// What a policy file asks: predicate requirements, and the checks the
/// flags also express.
pub(super) struct FilePolicy {
    pub(super) requirements: Vec<PredicateRequirement>,
    /// A Rego policy (`--policy FILE.rego`).
    pub(super) rego: Option<keyless::rego::RegoPolicy>,
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
        let source = self.slsa.unwrap_or_default();
        source.validate()?;
        Ok(FilePolicy {
            requirements: self.require,
            rego: None,
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
    /// What a verification summary must show (`--verified-level`, …).
    pub(super) vsa_expected: attest::vsa::VsaExpectations,
    /// The policy file's bytes, as read (a VSA names their digest).
    pub(super) policy_bytes: Option<Vec<u8>>,
}

impl Setup {
    /// The checks of a bundle: `setup`'s (its policy, source policy, file
    /// policy and predicate type) and `subjects`.
    pub(super) fn checks<'a>(
        &'a self,
        subjects: &'a [(String, Vec<Artifact<'a>>)],
        identity_given: bool,
    ) -> Checks<'a> {
        let predicate_type = self.predicate_type.as_deref();
        Checks {
            policy: &self.policy,
            subjects,
            predicate_type,
            requirements: &self.file.requirements,
            source: &self.source,
            file_github: self.file.github.as_ref().map(|g| (g, identity_given)),
            file_source: &self.file.source,
            rego: self.file.rego.as_ref(),
            vsa: (predicate_type == Some(VSA_PREDICATE_TYPE)).then_some(&self.vsa_expected),
        }
    }
}

/// [`Setup`] from the arguments.
pub(super) fn setup(args: &VerifyAttestationArgs) -> Result<Setup> {
    let vsa_expected = args.vsa_check.expectations()?;
    let policy = args.signer.policy()?;
    let source = args.provenance.source()?;
    let mut policy_bytes = None;
    let file = match &args.policy {
        None => FilePolicy {
            requirements: Vec::new(),
            rego: None,
            github: None,
            source: keyless::provenance::SourcePolicy::default(),
        },
        Some(path) => {
            let bytes =
                crate::files::read_limited(path, keyless::rego::MAX_POLICY_BYTES, "policy")?;
            let text = String::from_utf8(bytes)
                .with_context(|| format!("the policy {} is not UTF-8", path.display()))?;
            let read = if path.extension().is_some_and(|e| e == "rego") {
                FilePolicy {
                    requirements: Vec::new(),
                    rego: Some(keyless::rego::RegoPolicy::parse(
                        &path.display().to_string(),
                        &text,
                    )?),
                    github: None,
                    source: keyless::provenance::SourcePolicy::default(),
                }
            } else {
                let file: PolicyFile = toml::from_str(&text)
                    .with_context(|| format!("cannot read policy {}", path.display()))?;
                file.into_checks()
                    .with_context(|| format!("cannot read policy {}", path.display()))?
            };
            // The bytes read, unchanged (a VSA names their digest).
            policy_bytes = Some(text.into_bytes());
            read
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
        (None, None) if !vsa_expected.is_empty() => Some(VSA_PREDICATE_TYPE.to_owned()),
        (None, None) => None,
    };
    if !vsa_expected.is_empty() && predicate_type.as_deref() != Some(VSA_PREDICATE_TYPE) {
        bail!(
            "--verified-level, --resource-uri, --verifier-id, --policy-uri and --policy-digest \
             check a verification summary (predicate type {VSA_PREDICATE_TYPE}), not {}",
            predicate_type.as_deref().unwrap_or_default()
        );
    }
    Ok(Setup {
        policy,
        source,
        file,
        predicate_type,
        vsa_expected,
        policy_bytes,
    })
}

/// `toto verify-attestation`.
pub fn run(mut args: VerifyAttestationArgs) -> Result<ExitCode> {
    args.vsa.check()?;
    if let Some(url) = &args.rekor_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            bail!("--rekor-url {url:?} is not an http(s):// URL");
        }
    }
    if let Some(text) = args
        .artifact
        .as_deref()
        .filter(|t| oci::Reference::is_image(t))
    {
        let image = oci::Reference::parse(text)?;
        return image::run(&args, &image);
    }
    args.image.only_for_images()?;
    let artifact = args.artifact.as_deref().map(positional).transpose()?;
    let beside = match &artifact {
        Some(Positional::File(path)) => Some(path.as_path()),
        _ => None,
    };
    args.signer.default_bundle(beside)?;
    let setup = setup(&args)?;
    let Setup {
        file, policy_bytes, ..
    } = &setup;
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
    if subjects.is_empty() && args.vsa.vsa.is_some() {
        bail!(
            "--vsa summarizes the verification of an artifact: give the artifact, --subject \
             or --digest"
        );
    }
    if subjects.is_empty() && !args.provenance.no_subject && !crate::verbosity::quiet() {
        eprintln!(
            "{} nothing binds the attestation to an artifact: give the artifact, --subject or \
             --digest (or --no-subject when that is intended)",
            crate::style::bad("toto: warning:")
        );
    }
    let verifier = args.signer.verifier()?;
    let vsa_signer = args.vsa.signer(args.signer.trust().trust_config())?;
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
    let document = match &args.rekor_url {
        // slsa-github-generator's legacy envelope: its entry is in Rekor.
        Some(rekor) => {
            if !keyless::legacy::is_legacy_envelope(&raw) {
                bail!(
                    "--rekor-url looks up the log entry of a bare DSSE envelope \
                     (slsa-github-generator's .intoto.jsonl); {shown} is not one"
                );
            }
            let envelope =
                keyless::legacy::read(&raw).with_context(|| format!("cannot read {shown}"))?;
            keyless::legacy::lookup(rekor, &envelope)
                .with_context(|| format!("cannot find the log entry of {shown}"))?
        }
        None => keyless::document::read(&raw).with_context(|| format!("cannot read {shown}"))?,
    };
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
                rego: None,
                vsa: None,
            },
            _ => setup.checks(&subjects, args.signer.names_signer_identity()),
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
        let vsa = match args.vsa.wanted(false) {
            false => serde_json::Value::Null,
            true => {
                let summary = crate::vsa_args::Summary {
                    subjects: vsa_subjects(&subjects),
                    policy: vsa_policy(&args, policy_bytes.as_deref()),
                    // What was examined: the file, as read.
                    inputs: vec![crate::vsa_args::described(shown.clone(), &raw)],
                    levels: Vec::new(),
                    result: attest::vsa::VerificationResult::Failed,
                };
                args.vsa
                    .write(summary, vsa_signer.as_ref().context("no VSA signer")?)?
            }
        };
        report_failure(&args, &why, vsa);
        return Ok(ExitCode::from(crate::verdict::EXIT_FAILED));
    };
    let vsa = match args.vsa.wanted(true) {
        false => serde_json::Value::Null,
        true => {
            use keyless::document::Format as F;
            let inputs = match document.format {
                // The file is the bundle verified.
                F::Bundle => vec![crate::vsa_args::described(shown.clone(), &raw)],
                // Each bundle of the file that passed, by its place.
                F::JsonLines | F::NpmAttestations => accepted
                    .iter()
                    .map(|(entry, _)| {
                        crate::vsa_args::described(
                            format!("{shown}#{}", entry.place),
                            &entry.bundle,
                        )
                    })
                    .collect(),
                // The bundles were made from the file (a PEP 740 object, a
                // legacy envelope and its log entry): the file is the input.
                _ => vec![crate::vsa_args::described(shown.clone(), &raw)],
            };
            let hosted = attestation.verified().claims.runner_environment.as_deref()
                == Some("github-hosted");
            let summary = crate::vsa_args::Summary {
                subjects: vsa_subjects(&subjects),
                policy: vsa_policy(&args, policy_bytes.as_deref()),
                inputs,
                levels: vec![attest::vsa::build_level(&statement.predicate_type, hosted).to_owned()],
                result: attest::vsa::VerificationResult::Passed,
            };
            args.vsa
                .write(summary, vsa_signer.as_ref().context("no VSA signer")?)?
        }
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
                "vsa": vsa,
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
            if statement.predicate_type == VSA_PREDICATE_TYPE {
                if let Ok(vsa) = attest::vsa::VerificationSummary::from_statement(statement) {
                    println!(
                        "  summary:        {} by {} for {} ({})",
                        vsa.verification_result.as_str(),
                        vsa.verifier.id,
                        vsa.resource_uri,
                        vsa.verified_levels.join(", ")
                    );
                }
            }
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
            if let Some(rego) = &file.rego {
                println!("  policy:         {} allows", rego.name());
            }
            if !file.requirements.is_empty() {
                println!(
                    "  policy:         {} requirement(s) hold",
                    file.requirements.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
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

fn report_failure(args: &VerifyAttestationArgs, why: &str, vsa: serde_json::Value) {
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::json!({"verified": false, "error": why, "vsa": vsa})
        ),
        Format::Text => eprintln!(
            "{} {}: {why}",
            crate::style::bad("toto: verification failed:"),
            args.signer.bundle().display()
        ),
    }
}

/// The artifacts the command bound, as the VSA's subjects.
fn vsa_subjects(subjects: &[(String, Vec<Artifact<'_>>)]) -> Vec<attest::ResourceDescriptor> {
    let digest = |alg: &str, bytes: &[u8]| attest::DigestSet::single(alg, &hex::encode(bytes)).ok();
    subjects
        .iter()
        .flat_map(|(_, artifacts)| artifacts)
        .map(|artifact| match artifact {
            Artifact::File { path, sha256 } => attest::ResourceDescriptor {
                name: Some(path.display().to_string().replace('\\', "/")),
                digest: digest("sha256", sha256),
                ..Default::default()
            },
            Artifact::Sha256(d) => attest::ResourceDescriptor {
                digest: digest("sha256", d),
                ..Default::default()
            },
            Artifact::Sha512(d) => attest::ResourceDescriptor {
                digest: digest("sha512", d),
                ..Default::default()
            },
            Artifact::Bytes(bytes) => attest::ResourceDescriptor {
                digest: digest("sha256", &sha2::Sha256::digest(bytes)),
                ..Default::default()
            },
        })
        .collect()
}

/// The policy the VSA names: the policy file (with its digest), else the
/// command line.
fn vsa_policy(args: &VerifyAttestationArgs, bytes: Option<&[u8]>) -> attest::ResourceDescriptor {
    let file = args.policy.as_deref().zip(bytes);
    args.vsa.policy(file, "urn:toto:verify-attestation")
}
