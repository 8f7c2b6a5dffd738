//! The signing side of a `ClientTrustConfig`: which Fulcio, Rekor (v1 or
//! v2), timestamp authority and OIDC issuer to sign with, read from a
//! signing config v0.2 (only services whose `validFor` holds now), beside
//! the trusted root bundles are verified against.

use serde_json::Value;

use crate::bundle::TrustRoot;
use crate::error::{malformed, Error};

const CLIENT_TRUST_CONFIG: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";
pub(crate) const SIGNING_CONFIG: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/// Where to sign: Fulcio, Rekor and timestamp authority URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services {
    /// Fulcio base URL.
    pub fulcio: String,
    /// Rekor base URL.
    pub rekor: String,
    /// Rekor's major API version: 1 (`/api/v1/log/entries`) or 2
    /// (`/api/v2/log/entries`, needs `tsa`).
    pub rekor_version: u32,
    /// An RFC 3161 timestamp authority's URL (the endpoint itself, e.g.
    /// `https://timestamp.sigstore.dev/api/v1/timestamp`): every signature
    /// is timestamped there when set.
    pub tsa: Option<String>,
    /// OIDC issuer, for interactive flows.
    pub oidc: Option<String>,
}

/// A trusted root and the services to sign with: sigstore-python's
/// `ClientTrustConfig`.
#[derive(Debug, Clone)]
pub struct TrustConfig {
    /// What bundles are verified against.
    pub root: TrustRoot,
    /// Where to sign.
    pub services: Services,
}

/// Whether `service`'s `validFor` window holds `now` (a service without one
/// is current); sigstore-python drops services that are not.
fn current(service: &Value, now: jiff::Timestamp) -> bool {
    let Some(window) = service.get("validFor") else {
        return true;
    };
    let bound = |key| {
        window
            .get(key)
            .and_then(Value::as_str)
            .map(str::parse::<jiff::Timestamp>)
    };
    let started = match bound("start") {
        None => true,
        Some(Ok(start)) => start <= now,
        Some(Err(_)) => false,
    };
    let ended = match bound("end") {
        None => false,
        Some(Ok(end)) => end < now,
        Some(Err(_)) => true,
    };
    started && !ended
}

fn service_url(
    config: &Value,
    field: &str,
    wanted_major: u64,
    now: jiff::Timestamp,
) -> Option<String> {
    config
        .get(field)?
        .as_array()?
        .iter()
        .find(|s| {
            s.get("majorApiVersion")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                == wanted_major
                && current(s, now)
        })
        .and_then(|s| s.get("url"))
        .and_then(Value::as_str)
        .map(|u| u.trim_end_matches('/').to_owned())
}

impl TrustConfig {
    /// The public-good instance: embedded trusted root, sigstore.dev services.
    pub fn public_good() -> Result<TrustConfig, Error> {
        Ok(TrustConfig {
            root: TrustRoot::public_good()?,
            services: Services {
                fulcio: "https://fulcio.sigstore.dev".into(),
                rekor: "https://rekor.sigstore.dev".into(),
                rekor_version: 1,
                tsa: None,
                oidc: Some("https://oauth2.sigstore.dev/auth".into()),
            },
        })
    }

    /// Reads a `ClientTrustConfig` (`trustedRoot` + `signingConfig` v0.2),
    /// signing with the highest Rekor version it offers.
    pub fn from_json(text: &str) -> Result<TrustConfig, Error> {
        TrustConfig::from_json_with(text, None)
    }

    /// Reads a `ClientTrustConfig`, keeping only the services current now
    /// (their `validFor`), with Rekor `rekor_version` (1 or 2) when given,
    /// else the highest version offered (as sigstore-python's
    /// `--rekor-version`).
    pub fn from_json_with(text: &str, rekor_version: Option<u32>) -> Result<TrustConfig, Error> {
        TrustConfig::read(text, rekor_version, jiff::Timestamp::now())
    }

    /// The trusted root of a `ClientTrustConfig`, read as signing reads it,
    /// for verifying: the signing config's services are not looked at (a
    /// bundle stays verifiable after the services it was signed with have
    /// ended).
    pub fn trusted_root_from_json(text: &str) -> Result<TrustRoot, Error> {
        let value = TrustConfig::parse(text)?;
        TrustRoot::from_json(&TrustConfig::root_of(&value)?.to_string())
    }

    /// The JSON of a `ClientTrustConfig`, with its media type checked.
    fn parse(text: &str) -> Result<Value, Error> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| malformed("trust config", e.to_string()))?;
        if value.get("mediaType").and_then(Value::as_str) != Some(CLIENT_TRUST_CONFIG) {
            return Err(malformed(
                "trust config",
                format!("mediaType is not {CLIENT_TRUST_CONFIG}"),
            ));
        }
        Ok(value)
    }

    /// The `trustedRoot` of a `ClientTrustConfig`.
    fn root_of(value: &Value) -> Result<&Value, Error> {
        value
            .get("trustedRoot")
            .ok_or_else(|| malformed("trust config", "no trustedRoot"))
    }

    fn read(
        text: &str,
        rekor_version: Option<u32>,
        now: jiff::Timestamp,
    ) -> Result<TrustConfig, Error> {
        let value = TrustConfig::parse(text)?;
        let root = TrustConfig::root_of(&value)?;
        let signing = value
            .get("signingConfig")
            .ok_or_else(|| malformed("trust config", "no signingConfig"))?;
        if signing.get("mediaType").and_then(Value::as_str) != Some(SIGNING_CONFIG) {
            return Err(malformed(
                "trust config",
                format!("signingConfig.mediaType is not {SIGNING_CONFIG}"),
            ));
        }
        let fulcio = service_url(signing, "caUrls", 1, now).ok_or_else(|| {
            malformed(
                "trust config",
                "no current Fulcio (caUrls) with majorApiVersion 1",
            )
        })?;
        // The version asked for, else the highest offered (as sigstore-python
        // picks).
        let wanted: &[u32] = match rekor_version {
            Some(1) => &[1],
            Some(2) => &[2],
            Some(other) => {
                return Err(malformed(
                    "trust config",
                    format!("Rekor version {other} is not supported (1 or 2)"),
                ))
            }
            None => &[2, 1],
        };
        let (rekor, rekor_version) = wanted
            .iter()
            .find_map(|&v| service_url(signing, "rekorTlogUrls", u64::from(v), now).map(|u| (u, v)))
            .ok_or_else(|| {
                let versions = wanted
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ");
                malformed(
                    "trust config",
                    format!("no current Rekor (rekorTlogUrls) with majorApiVersion {versions}"),
                )
            })?;
        let tsa = service_url(signing, "tsaUrls", 1, now);
        if rekor_version == 2 && tsa.is_none() {
            return Err(malformed(
                "trust config",
                "Rekor v2 gives no signing time: it needs a timestamp authority (tsaUrls with majorApiVersion 1)",
            ));
        }
        Ok(TrustConfig {
            root: TrustRoot::from_json(&root.to_string())?,
            services: Services {
                fulcio,
                rekor,
                rekor_version,
                tsa,
                oidc: service_url(signing, "oidcUrls", 1, now),
            },
        })
    }
}
