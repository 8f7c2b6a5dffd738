//! Layouts: the signed policy of a supply chain (in-toto spec v1.0,
//! section 4.3). Steps say who may perform them and what artifacts they may
//! touch; inspections are commands run at verification time.
//!
//! One file per job: `name` ([`StepName`]), `item` ([`Step`] and
//! [`Inspection`]), `functionary` ([`Functionary`], [`Signer`]), `wire` (the
//! layout's JSON, read and written); `describe` authors a layout.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::time::{parse_rfc3339_utc, UnixTime};
use crate::x509::CaCertificate;

pub mod describe;
mod functionary;
mod item;
mod name;
mod wire;

pub use functionary::{Functionary, Signer, SIGSTORE_KEYTYPE, SIGSTORE_SCHEME};
pub(crate) use item::certificate_constraints;
pub use item::{
    GitHubConstraints, Inspection, Step, GITHUB_CONSTRAINTS_FIELD, SLSA_CONSTRAINTS_FIELD,
};
pub use name::StepName;

/// A layout.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Expiry (`YYYY-MM-DDTHH:MM:SSZ`); `None` when the layout has none.
    pub expires: Option<String>,
    /// Free text.
    pub readme: String,
    /// Functionaries by the key id the layout names them with.
    pub keys: BTreeMap<String, Functionary>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The inspections, in order.
    pub inspect: Vec<Inspection>,
    /// ITE-7 `rootcas`: the roots certificate functionaries chain to, by
    /// id; see [`Step::cert_constraints`].
    pub rootcas: BTreeMap<String, CaCertificate>,
    /// ITE-7 `intermediatecas`: certificates a chain may pass through.
    pub intermediatecas: BTreeMap<String, CaCertificate>,
}

fn malformed(reason: String) -> Error {
    Error::Malformed {
        what: "layout",
        reason,
    }
}

impl Layout {
    /// The first step listing one signer twice (see [`Signer`]), with the
    /// positions of the two entries in its `pubkeys`. A threshold counts
    /// the signer once, so such a step needs one more functionary than it
    /// seems to.
    pub fn duplicate_functionary(&self) -> Option<(&Step, usize, usize)> {
        for step in &self.steps {
            let mut seen: Vec<(usize, Signer)> = Vec::with_capacity(step.pubkeys.len());
            for (index, keyid) in step.pubkeys.iter().enumerate() {
                let Some(functionary) = self.keys.get(keyid) else {
                    continue;
                };
                let signer = functionary.signer();
                if let Some((first, _)) = seen.iter().find(|(_, s)| s.same_as(&signer)) {
                    return Some((step, *first, index));
                }
                seen.push((index, signer));
            }
        }
        None
    }

    /// The expiry as Unix time, if the layout has one.
    pub fn expires_at(&self) -> Result<Option<UnixTime>, Error> {
        self.expires.as_deref().map(parse_rfc3339_utc).transpose()
    }
}
