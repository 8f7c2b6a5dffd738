//! One module per subcommand, each holding its clap `Args` and its `run`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

mod attest_cmd;
mod compat;
mod demo;
mod docs;
mod envelope;
mod key;
mod layout;
mod match_products;
mod run;
mod sign;
mod sign_blob;
mod testbed;
mod trust;
mod verify;
mod verify_attestation;
mod verify_bundle;

/// toto's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// See toto's whole job, offline: keys, a layout, a supply chain, verification, tampering caught.
    Demo(demo::DemoArgs),
    /// Tools the demo's steps run.
    #[command(subcommand, hide = true)]
    DemoTool(demo::DemoTool),
    /// Run a step's command and record a signed link of what it did.
    Run(run::RunArgs),
    /// Record a step in two phases: `start` before, `stop` after.
    #[command(
        subcommand,
        after_help = "Example:\n  toto record start -n review --key alice.pem -m docs/\n  \
        (review the documents)\n  toto record stop -n review --key alice.pem -p docs/"
    )]
    Record(run::RecordCommand),
    /// Run a command and write an unsigned link (to explore what a step does).
    Mock(run::MockArgs),
    /// Sign an in-toto Statement of any predicate over any subjects (DSSE, one JSON line).
    Attest(attest_cmd::AttestArgs),
    /// Verify a supply chain: links against a signed layout.
    Verify(verify::VerifyArgs),
    /// Verify a Sigstore bundle for an artifact (offline, against a trusted root).
    #[command(visible_alias = "verify-blob")]
    VerifyBundle(verify_bundle::VerifyBundleArgs),
    /// Verify an attestation bundle: signer, subjects, predicate type and policy.
    #[command(visible_alias = "verify-blob-attestation")]
    VerifyAttestation(Box<verify_attestation::VerifyAttestationArgs>),
    /// Author, sign and show layouts.
    #[command(
        subcommand,
        after_help = "Examples:\n  toto layout new supply-chain.toml -o root.layout\n  \
        toto layout sign --key alice.pem root.layout\n  toto layout show root.layout"
    )]
    Layout(layout::LayoutCommand),
    /// Sign a link or layout, or check its signatures.
    Sign(sign::SignArgs),
    /// Sign files keylessly (Fulcio + Rekor) into Sigstore bundles.
    SignBlob(sign_blob::SignBlobArgs),
    /// Check whether local files match a link's products.
    MatchProducts(match_products::MatchArgs),
    /// Make in-toto-run, in-toto-verify, … symlinks that run toto with the reference's defaults.
    InstallCompat(compat::InstallCompatArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions(docs::CompletionsArgs),
    /// Print the man page (roff).
    #[command(after_help = "Example:\n  toto man > /usr/local/share/man/man1/toto.1")]
    Man,
    /// Sign and verify DSSE envelopes around any payload.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        toto envelope sign --key alice.pem --payload-type text/plain note.txt > note.dsse.json\n  \
        toto envelope verify --key alice.pub note.dsse.json"
    )]
    Envelope(envelope::EnvelopeCommand),
    /// Generate keys and compute key ids.
    #[command(
        subcommand,
        after_help = "Examples:\n  toto key generate -o alice             # ed25519: alice, alice.pub\n  \
        toto key id alice.pub"
    )]
    Key(key::KeyCommand),
    /// A loopback Sigstore (OIDC, Fulcio, Rekor, CT) for offline keyless signing.
    #[command(
        subcommand,
        after_help = "Examples:\n  toto testbed serve --dir sigstore-testbed --port 8080\n  \
        toto testbed token --dir sigstore-testbed --identity alice@example.com"
    )]
    Testbed(testbed::TestbedCommand),
    /// Keep the Sigstore trust material current (TUF).
    #[command(
        subcommand,
        after_help = "Examples:\n  toto trust update\n  toto trust update --cache-dir ./tuf-cache"
    )]
    Trust(trust::TrustCommand),
}

impl Command {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            Command::Demo(args) => demo::run(args),
            Command::DemoTool(t) => t.run(),
            Command::Run(args) => run::run(args),
            Command::Record(c) => run::record(c),
            Command::Mock(args) => run::mock(args),
            Command::Attest(args) => attest_cmd::run(args),
            Command::Verify(args) => verify::run(args),
            Command::VerifyBundle(args) => verify_bundle::run(args),
            Command::VerifyAttestation(args) => verify_attestation::run(*args),
            Command::Layout(c) => c.run(),
            Command::Sign(args) => sign::run(args),
            Command::SignBlob(args) => sign_blob::run(args),
            Command::MatchProducts(args) => match_products::run(args),
            Command::InstallCompat(args) => compat::run(args),
            Command::Completions(args) => docs::completions(args),
            Command::Man => docs::man(),
            Command::Envelope(c) => c.run(),
            Command::Key(c) => c.run(),
            Command::Testbed(c) => c.run(),
            Command::Trust(c) => c.run(),
        }
    }
}
