//! `toto testbed`: a loopback Sigstore (OIDC issuer, Fulcio, Rekor, CT log)
//! for trying keyless signing without the public-good instance. A test
//! service: it certifies whoever asks for a token.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

/// `toto testbed …`.
#[derive(Debug, Subcommand)]
pub enum TestbedCommand {
    /// Serve OIDC, Fulcio, Rekor and CT on 127.0.0.1 until interrupted (a test service).
    #[command(
        after_help = "A test service, not a Sigstore instance: its OIDC issuer mints tokens for
any identity, so what it signs means something only to tests and demos that
trust its trusted_root.json. It listens on 127.0.0.1 only; minting a token over
HTTP (POST /oauth/token, POST /oauth/device/approve, the GitHub Actions token
endpoint) needs `Authorization: Bearer SECRET`, the client secret in
DIR/keys/client-secret. Its keys and that secret are readable by the user who
started it alone (0600 files in a 0700 directory).

Examples:
  toto testbed serve --dir sigstore-testbed --port 8080
  TOKEN=$(toto testbed token --dir sigstore-testbed --identity alice@example.com)
  toto attest --keyless --trust-config sigstore-testbed/trust_config.json \\
      --identity-token \"$TOKEN\" --predicate-type https://example.com/p --predicate p.json --subject app.tar.gz
  sigstore --trust-config sigstore-testbed/trust_config.json verify identity \\
      --bundle app.tar.gz.sigstore.json --cert-identity alice@example.com \\
      --cert-oidc-issuer http://127.0.0.1:8080 app.tar.gz"
    )]
    Serve(ServeArgs),
    /// Print an identity token from a testbed's issuer (the testbed need not run).
    #[command(
        after_help = "Signs the token with the issuer key in DIR/keys (readable by the testbed's user
alone), so only that user can mint tokens this way.

Examples:
  toto testbed token --dir sigstore-testbed --identity alice@example.com
  toto testbed token --dir sigstore-testbed \\
      --github-workflow org/repo/.github/workflows/release.yml@refs/heads/main"
    )]
    Token(TokenArgs),
}

/// `toto testbed serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// State directory: keys, certificates, the log, and the trust files
    /// clients need (trust_config.json, trusted_root.json, signing_config.json).
    #[arg(long, default_value = "sigstore-testbed")]
    dir: PathBuf,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Also serve a Rekor v2 log and an RFC 3161 timestamp authority, and
    /// point the signing config at them (clients pick Rekor v2).
    #[arg(long)]
    rekor_v2: bool,
}

/// `toto testbed token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The testbed's state directory.
    #[arg(long, default_value = "sigstore-testbed")]
    dir: PathBuf,
    /// Identity: an email (becomes the certificate's email SAN) or a URI.
    #[arg(long, required_unless_present = "github_workflow")]
    identity: Option<String>,
    /// A GitHub Actions-shaped token for OWNER/REPO/.github/workflows/FILE@REF.
    #[arg(long, conflicts_with = "identity")]
    github_workflow: Option<String>,
    /// Lifetime in seconds (negative: already expired).
    #[arg(long, default_value_t = 600, allow_negative_numbers = true)]
    lifetime: i64,
}

impl TestbedCommand {
    /// Runs it.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            TestbedCommand::Serve(args) => {
                let testbed = testbed::Testbed::start_with(
                    &testbed::Config {
                        dir: args.dir.clone(),
                        port: args.port,
                    },
                    &testbed::Options {
                        rekor_v2: args.rekor_v2,
                    },
                )
                .with_context(|| format!("cannot start the testbed in {}", args.dir.display()))?;
                // Whoever started us may stop reading; serving goes on.
                let mut out = std::io::stdout();
                macro_rules! say {
                    ($($arg:tt)*) => {{
                        let _ = writeln!(out, $($arg)*);
                        let _ = out.flush();
                    }};
                }
                say!("toto testbed serving on {}", testbed.url());
                say!("  OIDC issuer  {}", testbed.issuer());
                say!("  Fulcio       {}/api/v2/signingCert", testbed.url());
                say!("  Rekor        {}/api/v1/log", testbed.url());
                if args.rekor_v2 {
                    say!("  Rekor v2     {}/api/v2/log/entries", testbed.url());
                    say!("  TSA          {}/api/v1/timestamp", testbed.url());
                }
                say!("  trust config {}", testbed.trust_config_path().display());
                say!("  trusted root {}", testbed.trusted_root_path().display());
                say!("Stop with Ctrl-C.");
                loop {
                    std::thread::park();
                }
            }
            TestbedCommand::Token(args) => {
                let request = testbed::TokenRequest {
                    identity: args.identity.unwrap_or_default(),
                    github_workflow: args.github_workflow,
                    runner_environment: None,
                    audience: None,
                    lifetime: Some(args.lifetime),
                };
                let token = testbed::token_from_dir(&args.dir, &request)?;
                println!("{token}");
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}
