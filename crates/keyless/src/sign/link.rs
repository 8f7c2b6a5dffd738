//! Keyless signing of in-toto links: the Statement v1 with a link v0.3
//! predicate, signed as a DSSE bundle, named as `toto verify` looks for it.

use super::{KeylessSigner, SignedBundle};
use crate::bundle::Error;
use attest::layout::{Functionary, StepName};
use attest::Link;

/// File name of a keyless link: `<step>.<id8>.link.sigstore.json`.
pub fn link_bundle_name(step: &StepName, id: &str) -> String {
    format!(
        "{}{}",
        step.link_file_name(id),
        attest::verify::KEYLESS_LINK_SUFFIX
    )
}

impl KeylessSigner {
    /// The key id a layout gives this signer's identity (as a
    /// `sigstore-oidc` functionary).
    pub fn functionary_id(&self) -> Result<String, Error> {
        Functionary::Sigstore {
            identity: self.identity().to_owned(),
            issuer: self.issuer().to_owned(),
        }
        .keyid()
        .map_err(|e| Error::Malformed {
            what: "identity",
            reason: e.to_string(),
        })
    }

    /// Signs `link` (Statement v1 + link v0.3 predicate) and returns its
    /// verified bundle and the file name `toto verify` reads it from.
    pub fn sign_link(&self, link: &Link, step: &StepName) -> Result<(String, SignedBundle), Error> {
        let payload = serde_json::to_vec(&link.to_statement().into_value()).map_err(|e| {
            Error::Malformed {
                what: "link",
                reason: e.to_string(),
            }
        })?;
        let name = link_bundle_name(step, &self.functionary_id()?);
        let bundle = self.sign_dsse(attest::statement::PAYLOAD_TYPE, &payload)?;
        Ok((name, bundle))
    }
}
