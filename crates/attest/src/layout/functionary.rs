//! Who may perform a step ([`Functionary`]: a key, an OpenPGP key, a
//! keyless identity) read from the layout's key dicts, and the [`Signer`]
//! behind each, by which thresholds count.

use serde_json::{json, Value};

use crate::error::Error;

use super::*;

/// `keytype` of a keyless functionary: an OIDC identity vouched for by an
/// issuer, whose evidence is a Sigstore bundle (the securesystemslib form).
pub const SIGSTORE_KEYTYPE: &str = "sigstore-oidc";
/// `scheme` of a keyless functionary.
pub const SIGSTORE_SCHEME: &str = "Fulcio";

/// Who may perform a step: a key, or a keyless (Sigstore) identity.
#[derive(Debug, Clone)]
pub enum Functionary {
    /// A public key; evidence is a signed link.
    Key(Box<dsse::PublicKey>),
    /// An OpenPGP key (the reference's `gpg` key dict, kept as received);
    /// evidence is a Metablock signed with it or one of its subkeys.
    Gpg {
        /// The key.
        key: Box<dsse::gpg::GpgKey>,
        /// The key dict as the layout carries it.
        dict: Value,
    },
    /// An OIDC identity and issuer; evidence is a Sigstore bundle whose
    /// certificate names them.
    Sigstore {
        /// Certificate identity (an email, URI or username SAN), matched exactly.
        identity: String,
        /// OIDC issuer, matched exactly.
        issuer: String,
    },
}

impl Functionary {
    /// The key dict the layout carries (`keyid` not included).
    pub fn to_key_dict(&self) -> Value {
        match self {
            Functionary::Key(key) => key.to_key_dict(),
            Functionary::Gpg { dict, .. } => dict.clone(),
            Functionary::Sigstore { identity, issuer } => json!({
                "keytype": SIGSTORE_KEYTYPE,
                "scheme": SIGSTORE_SCHEME,
                "keyval": {"identity": identity, "issuer": issuer},
            }),
        }
    }

    /// The key id: for keys as securesystemslib computes it; for
    /// identities the SHA-256 of the canonical key dict, the same rule.
    pub fn keyid(&self) -> Result<String, Error> {
        match self {
            Functionary::Key(key) => Ok(key.keyid().to_string()),
            Functionary::Gpg { key, .. } => Ok(key.keyid().to_owned()),
            Functionary::Sigstore { .. } => {
                use sha2::Digest as _;
                let canonical = dsse::cjson::to_canonical(&self.to_key_dict())?;
                Ok(hex::encode(sha2::Sha256::digest(canonical)))
            }
        }
    }

    /// Who stands behind this functionary (see [`Signer`]).
    pub fn signer(&self) -> Signer {
        match self {
            Functionary::Key(key) => Signer {
                names: vec![format!("key:{}", key.spki_sha256())],
                shown: format!("key {}", key.keyid()),
            },
            Functionary::Gpg { key, .. } => Signer {
                names: std::iter::once(key.keyid())
                    .chain(key.subkey_ids())
                    .map(|fpr| format!("openpgp:{fpr}"))
                    .collect(),
                shown: format!("OpenPGP key {}", key.keyid()),
            },
            Functionary::Sigstore { identity, issuer } => Signer {
                names: vec![format!("sigstore:{}", json!([issuer, identity]))],
                shown: format!("{identity} ({issuer})"),
            },
        }
    }

    pub(super) fn from_key_dict(keyid: &str, dict: &Value) -> Result<Functionary, Error> {
        if dsse::gpg::is_gpg_key_dict(dict) {
            let key = dsse::gpg::GpgKey::from_key_dict(dict)
                .map_err(|e| malformed(format!("key {keyid}: {e}")))?;
            if key.keyid() != keyid {
                return Err(malformed(format!(
                    "OpenPGP key listed as {keyid} has fingerprint {}",
                    key.keyid()
                )));
            }
            return Ok(Functionary::Gpg {
                key: Box::new(key),
                dict: dict.clone(),
            });
        }
        if dict.get("keytype").and_then(Value::as_str) == Some(SIGSTORE_KEYTYPE) {
            let field = |name: &str| {
                dict.get("keyval")
                    .and_then(|v| v.get(name))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| malformed(format!("key {keyid}: keyval.{name} missing")))
            };
            let functionary = Functionary::Sigstore {
                identity: field("identity")?,
                issuer: field("issuer")?,
            };
            let computed = functionary.keyid()?;
            if computed != keyid {
                return Err(malformed(format!(
                    "key listed as {keyid} has key id {computed}"
                )));
            }
            return Ok(functionary);
        }
        let key = dsse::PublicKey::from_key_dict(dict)
            .map_err(|e| malformed(format!("key {keyid}: {e}")))?;
        if !key.matches_keyid(keyid) {
            return Err(malformed(format!(
                "key listed as {keyid} has key id {}",
                key.keyid()
            )));
        }
        Ok(Functionary::Key(Box::new(key)))
    }
}

/// The signer behind a functionary entry, by canonical names: two entries
/// of a layout are one signer when they share a name, however the layout
/// spells them. A key is named by its SubjectPublicKeyInfo (so its current
/// and legacy key ids, PEM spellings, keytype aliases and schemes are one
/// signer); an OpenPGP key by its fingerprint and its subkeys'; a keyless
/// functionary by its issuer and identity. Thresholds count signers, not
/// entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    names: Vec<String>,
    shown: String,
}

impl Signer {
    /// The signer behind a certificate functionary's link: its key (one
    /// signer with a key functionary of the same key).
    pub(crate) fn certificate(key: &dsse::PublicKey, subject: &str) -> Signer {
        Signer {
            names: vec![format!("key:{}", key.spki_sha256())],
            shown: format!("certificate {subject:?} (key {})", key.keyid()),
        }
    }

    /// True when both stand for the same signer.
    pub fn same_as(&self, other: &Signer) -> bool {
        self.names.iter().any(|name| other.names.contains(name))
    }
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}
