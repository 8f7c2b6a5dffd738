//! How to reach a registry: the flags every command that takes an
//! `oci://` reference shares (`attest --push`, `verify-attestation`).

use std::path::PathBuf;

use anyhow::{Context, Result};

/// Registry credentials and transport.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// Registry user name (else ~/.docker/config.json's `auths`, else anonymous).
    #[arg(
        long,
        value_name = "USER",
        env = "TOTO_REGISTRY_USERNAME",
        requires = "registry_password"
    )]
    registry_username: Option<String>,
    /// Registry password or token (prefer the environment variable: argv is visible to other users).
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "TOTO_REGISTRY_PASSWORD",
        hide_env_values = true,
        requires = "registry_username"
    )]
    registry_password: Option<String>,
    /// A CA certificate (PEM) to trust for the registry, beside the system's roots.
    #[arg(long, value_name = "FILE")]
    registry_ca: Option<PathBuf>,
    /// Speak plain HTTP to the registry (anyone on the path can change what it serves).
    #[arg(long)]
    allow_http_registry: bool,
}

impl RegistryArgs {
    /// A client for the registry of `image`.
    pub fn connect(&self, image: &oci::Reference) -> Result<oci::Registry> {
        let mut options = oci::Options {
            allow_http: self.allow_http_registry,
            ..oci::Options::default()
        };
        if let (Some(username), Some(password)) = (&self.registry_username, &self.registry_password)
        {
            options.credentials = Some(oci::Credentials {
                username: username.clone(),
                password: password.clone(),
            });
        } else {
            options.docker_config = docker_config();
        }
        if let Some(ca) = &self.registry_ca {
            options.extra_ca_pem.push(oci::read_ca(ca)?);
        }
        oci::Registry::connect(image.registry(), &options)
            .with_context(|| format!("cannot set up a client for registry {}", image.registry()))
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}
