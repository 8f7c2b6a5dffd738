//! What a layout description is: the serde types `toto layout new` reads
//! from TOML or YAML, and the caller's [`KeySource`] of keys and certificates.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::layout::GitHubConstraints;
use crate::provenance::SourcePolicy;

/// An error from the caller's [`KeySource`].
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// Where the functionaries' keys come from.
pub trait KeySource {
    /// The public key in file `path`, as the description names it
    /// (relative to the description, say).
    fn public_key(&self, path: &Path) -> Result<dsse::PublicKey, SourceError> {
        Err(format!("no key source for {}", path.display()).into())
    }
    /// The reference's key dict of OpenPGP key `keyid` (`gpg --export`).
    fn gpg_key(&self, keyid: &str) -> Result<Value, SourceError> {
        Err(format!("no OpenPGP key source for {keyid}").into())
    }
    /// The PEM text of certificate file `path` (a root or intermediate CA
    /// of X.509 functionaries).
    fn certificate(&self, path: &Path) -> Result<String, SourceError> {
        Err(format!("no certificate source for {}", path.display()).into())
    }
}

/// A layout description: every field optional, unknown fields refused.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Description {
    pub(super) expires: Option<String>,
    pub(super) readme: String,
    pub(super) steps: Vec<StepDescription>,
    pub(super) inspections: Vec<InspectionDescription>,
    /// Root CA certificate files of X.509 functionaries (ITE-7 `rootcas`).
    pub(super) rootcas: Vec<PathBuf>,
    /// Intermediate CA certificate files (ITE-7 `intermediatecas`).
    pub(super) intermediatecas: Vec<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StepDescription {
    pub(super) name: String,
    #[serde(default)]
    pub(super) functionaries: Vec<PathBuf>,
    #[serde(default)]
    pub(super) identities: Vec<IdentityDescription>,
    /// OpenPGP key ids, exported with `gpg --export`.
    #[serde(default)]
    pub(super) gpg_keys: Vec<String>,
    #[serde(default = "one")]
    pub(super) threshold: usize,
    #[serde(default)]
    pub(super) expected_command: Vec<String>,
    #[serde(default)]
    pub(super) materials: Vec<String>,
    #[serde(default)]
    pub(super) products: Vec<String>,
    /// Checks on the keyless functionaries' certificates.
    #[serde(default)]
    pub(super) github: Option<GitHubConstraints>,
    /// X.509 functionaries: certificates under `rootcas` meeting one of
    /// these (ITE-7 `cert_constraints`).
    #[serde(default)]
    pub(super) cert_constraints: Vec<CertConstraintDescription>,
    /// slsa-verifier's source and builder checks on the keyless
    /// functionaries' provenance and certificates.
    #[serde(default)]
    pub(super) slsa: Option<SourcePolicy>,
}

/// An ITE-7 certificate constraint, field for field as the layout has it
/// (see [`crate::x509`]): a field left out allows no value; `["*"]` (`"*"`
/// for `common_name`) any. `roots` holds `"*"` or the `rootcas` files (all
/// of them: in-toto-golang compares it with every root of the layout).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct CertConstraintDescription {
    pub(super) common_name: String,
    pub(super) dns_names: Vec<String>,
    pub(super) emails: Vec<String>,
    pub(super) organizations: Vec<String>,
    pub(super) roots: Vec<String>,
    pub(super) uris: Vec<String>,
}

/// A keyless functionary: whoever holds a Fulcio certificate for `identity`
/// from `issuer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IdentityDescription {
    pub(super) identity: String,
    pub(super) issuer: String,
}

pub(super) fn one() -> usize {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InspectionDescription {
    pub(super) name: String,
    pub(super) run: Vec<String>,
    #[serde(default)]
    pub(super) materials: Vec<String>,
    #[serde(default)]
    pub(super) products: Vec<String>,
}
