//! Keyless signing: an identity token buys a 10-minute Fulcio certificate
//! for an ephemeral P-256 key; each signature is logged in Rekor (v1, or v2
//! when the signing config offers it, with an RFC 3161 timestamp from the
//! configured timestamp authority: see [`v2`]); the result is a Sigstore
//! bundle v0.3, verified against the trusted root (chain, SCT, inclusion
//! proof, checkpoint, SET or timestamp, identity) before it is handed back.

mod link;
pub use link::link_bundle_name;
mod preflight;
mod v2;

/// Entry points for the fuzz targets into the signer's readers of service
/// answers; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use serde_json::Value;

    /// `Ok` when `der` is a granted RFC 3161 answer carrying a token.
    pub fn check_timestamp_response(der: &[u8]) -> Result<(), String> {
        super::v2::check_timestamp_response(der)
    }

    /// A Rekor v2 request, as the signer would send it, for fixed inputs.
    pub fn sample_v2_request() -> Value {
        super::v2::hashedrekord_request(&[1; 32], &[2; 64], &[3; 16])
    }

    /// Checks a Rekor v2 `answer` to `sent`; its log index when accepted.
    pub fn check_v2_entry(answer: &Value, sent: &Value) -> Result<u64, crate::Error> {
        super::v2::check_entry(answer, sent, "http://fuzz").map(|e| e.log_index)
    }
}

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::EncodePublicKey as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use x509_cert::der::{Decode as _, DecodePem as _, Encode as _};

use crate::bundle::{Artifact, BundleVerifier, Error, Policy, TrustRoot};
use crate::text::{is_plain_line, untrusted_text, ServiceText};

/// The audience Sigstore's Fulcio expects.
pub const AUDIENCE: &str = "sigstore";
/// Largest response read from a service.
const MAX_RESPONSE_BYTES: u64 = 16 << 20;
/// The bundle media type written.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
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

fn malformed(what: &'static str, reason: impl Into<String>) -> Error {
    Error::Malformed {
        what,
        reason: reason.into(),
    }
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

    fn read(
        text: &str,
        rekor_version: Option<u32>,
        now: jiff::Timestamp,
    ) -> Result<TrustConfig, Error> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| malformed("trust config", e.to_string()))?;
        if value.get("mediaType").and_then(Value::as_str) != Some(CLIENT_TRUST_CONFIG) {
            return Err(malformed(
                "trust config",
                format!("mediaType is not {CLIENT_TRUST_CONFIG}"),
            ));
        }
        let root = value
            .get("trustedRoot")
            .ok_or_else(|| malformed("trust config", "no trustedRoot"))?;
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

/// An OIDC identity token, with the claims a signer needs checked.
#[derive(Clone)]
pub struct IdentityToken {
    raw: String,
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `email`, when verified.
    pub email: Option<String>,
    /// `job_workflow_ref` (GitHub Actions tokens).
    pub workflow: Option<String>,
    /// Issued by a federating issuer (Dex: `federated_claims`), whose
    /// certificates name the upstream issuer (e.g. GitHub's or Google's),
    /// not the token's `iss`.
    pub federated: bool,
    /// `exp`, Unix seconds.
    pub expires: i64,
}

impl std::fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityToken")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl IdentityToken {
    /// Reads a JWT's claims (Fulcio checks its signature) and checks what a
    /// client can: shape, `aud` = `sigstore`, expiry, `email_verified`.
    pub fn parse(raw: &str, now: i64) -> Result<IdentityToken, Error> {
        let raw = raw.trim();
        let parts: Vec<&str> = raw.split('.').collect();
        let [_, claims, _] = parts.as_slice() else {
            return Err(Error::Token(
                "not a JWT (expected three dot-separated base64url parts)".into(),
            ));
        };
        let claims: Value = B64URL
            .decode(claims.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| Error::Token("its claims are not base64url JSON".into()))?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let issuer = text("iss").ok_or_else(|| Error::Token("no iss claim".into()))?;
        let subject = text("sub").ok_or_else(|| Error::Token("no sub claim".into()))?;
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == AUDIENCE,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(AUDIENCE)),
            _ => false,
        };
        if !aud_ok {
            return Err(Error::Token(format!(
                "audience is {}, not \"{AUDIENCE}\"",
                claims
                    .get("aud")
                    .map_or_else(|| "missing".into(), |aud| untrusted_text(&aud.to_string()))
            )));
        }
        let expires = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(|| Error::Token("no exp claim".into()))?;
        if expires <= now {
            return Err(Error::Token(format!(
                "expired {} s ago; get a fresh one",
                now - expires
            )));
        }
        let email = match text("email") {
            Some(e) if claims.get("email_verified").and_then(Value::as_bool) == Some(true) => {
                Some(e)
            }
            Some(e) => {
                return Err(Error::Token(format!(
                    "email {} is not verified (email_verified)",
                    untrusted_text(&e)
                )))
            }
            None => None,
        };
        Ok(IdentityToken {
            raw: raw.to_owned(),
            issuer,
            subject,
            email,
            workflow: text("job_workflow_ref"),
            federated: claims.get("federated_claims").is_some_and(Value::is_object),
            expires,
        })
    }

    /// What the proof of possession signs: the email, or else `sub`.
    fn challenge(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.subject)
    }

    /// The certificate identities Fulcio may issue for this token.
    fn acceptable_identities(&self) -> Vec<String> {
        let mut out = vec![self.subject.clone()];
        out.extend(self.email.clone());
        out.extend(
            self.workflow
                .as_ref()
                .map(|w| format!("https://github.com/{w}")),
        );
        out
    }
}

/// Where an identity token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `SIGSTORE_ID_TOKEN` (cosign, sigstore-js).
    SigstoreIdToken,
    /// `SIGSTORE_IDENTITY_TOKEN` (sigstore-python).
    SigstoreIdentityToken,
    /// GitHub Actions' ID-token endpoint.
    GitHubActions,
}

/// Finds an ambient identity token: `SIGSTORE_ID_TOKEN`,
/// `SIGSTORE_IDENTITY_TOKEN`, then GitHub Actions
/// (`ACTIONS_ID_TOKEN_REQUEST_URL` + `ACTIONS_ID_TOKEN_REQUEST_TOKEN`,
/// audience `sigstore`). `Ok(None)` when there is none.
pub fn ambient_token(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(String, TokenSource)>, Error> {
    if let Some(t) = env("SIGSTORE_ID_TOKEN").filter(|t| !t.trim().is_empty()) {
        return Ok(Some((t, TokenSource::SigstoreIdToken)));
    }
    if let Some(t) = env("SIGSTORE_IDENTITY_TOKEN").filter(|t| !t.trim().is_empty()) {
        return Ok(Some((t, TokenSource::SigstoreIdentityToken)));
    }
    let (Some(url), Some(bearer)) = (
        env("ACTIONS_ID_TOKEN_REQUEST_URL"),
        env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) else {
        return Ok(None);
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}audience={AUDIENCE}");
    let service = "GitHub Actions OIDC";
    let response = Http::new()?.get(service, &url, Some(&bearer))?;
    let token = response
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| service_error(service, &url, "the response has no \"value\" token"))?;
    Ok(Some((token.to_owned(), TokenSource::GitHubActions)))
}

/// `application/x-www-form-urlencoded` escaping.
fn form_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What a person at a terminal is asked to do in the device flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePrompt {
    /// Where to go.
    pub verification_uri: String,
    /// The code to enter there.
    pub user_code: String,
    /// The same with the code filled in, when the issuer gives one.
    pub verification_uri_complete: Option<String>,
}

/// Gets an identity token from `issuer` by the OAuth 2.0 device
/// authorization grant (RFC 8628): `prompt` tells the person where to log
/// in, then the issuer is polled until they have (or the code expires).
pub fn device_flow(issuer: &str, prompt: &dyn Fn(&DevicePrompt)) -> Result<String, Error> {
    const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
    let http = Http::new()?;
    let discovery_url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let discovery = http.get("OIDC", &discovery_url, None)?;
    let endpoint = |name: &str| {
        discovery
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                service_error(
                    "OIDC",
                    &discovery_url,
                    format!("the issuer has no {name} (no device flow)"),
                )
            })
    };
    let device_endpoint = endpoint("device_authorization_endpoint")?;
    let token_endpoint = endpoint("token_endpoint")?;
    let (status, grant) = http.post_form(
        "OIDC",
        &device_endpoint,
        &[("client_id", "sigstore"), ("scope", "openid email")],
    )?;
    let text = |name: &str| grant.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(device_code), Some(user_code), Some(verification_uri)) = (
        text("device_code"),
        text("user_code"),
        text("verification_uri"),
    ) else {
        return Err(service_error(
            "OIDC",
            &device_endpoint,
            format!("HTTP {status}: no device_code, user_code and verification_uri"),
        ));
    };
    // Shown to the person: the issuer's text, made safe to print.
    prompt(&DevicePrompt {
        verification_uri: untrusted_text(&verification_uri),
        user_code: untrusted_text(&user_code),
        verification_uri_complete: text("verification_uri_complete").map(|u| untrusted_text(&u)),
    });
    let mut interval = grant
        .get("interval")
        .and_then(Value::as_u64)
        .unwrap_or(5)
        .clamp(1, 60);
    let expires_in = grant
        .get("expires_in")
        .and_then(Value::as_u64)
        .unwrap_or(600)
        .min(3600);
    let deadline = std::time::Instant::now() + Duration::from_secs(expires_in);
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(interval));
        let (status, answer) = http.post_form(
            "OIDC",
            &token_endpoint,
            &[
                ("grant_type", GRANT),
                ("device_code", &device_code),
                ("client_id", "sigstore"),
            ],
        )?;
        if let Some(token) = answer.get("id_token").and_then(Value::as_str) {
            return Ok(token.to_owned());
        }
        match answer.get("error").and_then(Value::as_str) {
            Some("authorization_pending") => {}
            Some("slow_down") => interval = (interval + 5).min(60),
            Some("access_denied") => return Err(Error::Token("the login was refused".into())),
            Some("expired_token") => break,
            other => {
                return Err(service_error(
                    "OIDC",
                    &token_endpoint,
                    format!(
                        "HTTP {status}: {}",
                        other.unwrap_or("no id_token in the answer")
                    ),
                ))
            }
        }
    }
    Err(Error::Token(
        "the device code expired before the login was completed; run the command again".into(),
    ))
}

/// A small blocking HTTP client with timeouts and bounded responses.
pub(crate) struct Http {
    agent: ureq::Agent,
}

/// Seconds a request to a Sigstore service may take: `TOTO_HTTP_TIMEOUT`
/// (1 to 3600), else 60.
fn request_timeout_secs() -> u64 {
    std::env::var("TOTO_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .unwrap_or(60)
}

/// Attempts per request when retrying is safe.
const ATTEMPTS: u32 = 3;

/// Sends a request, again (up to [`ATTEMPTS`] times, backing off) only when
/// the service cannot have acted on it: the connection failed, or it
/// answered 502, 503 or 504. Timeouts and other answers are final, so a
/// Rekor entry is never logged twice by a retry.
fn retrying(
    send: impl Fn() -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let mut attempt = 1;
    loop {
        let response = send();
        let again = match &response {
            Err(ureq::Error::ConnectionFailed) => true,
            Ok(r) => matches!(r.status().as_u16(), 502..=504),
            Err(_) => false,
        };
        if !again || attempt >= ATTEMPTS {
            return response;
        }
        std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
        attempt += 1;
    }
}

impl Http {
    /// A client trusting the bundled and the system's TLS roots
    /// ([`crate::tls`]); fails when `SSL_CERT_FILE`/`SSL_CERT_DIR` name an
    /// unusable certificate store.
    pub(crate) fn new() -> Result<Http, Error> {
        // rustls needs a process-wide provider; aws-lc-rs is the one
        // sigstore-verify already builds. A second install is harmless.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let roots = crate::tls::root_certificates()?;
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(roots)))
            .build();
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_global(Some(Duration::from_secs(request_timeout_secs())))
            .timeout_connect(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .user_agent(concat!("toto/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Http {
            agent: ureq::Agent::new_with_config(config),
        })
    }

    fn finish(
        service: &'static str,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, Error> {
        let body = Http::answer(service, url, response, MAX_RESPONSE_BYTES)?;
        serde_json::from_slice(&body)
            .map_err(|e| service_error(service, url, format!("the response is not JSON: {e}")))
    }

    /// The body of a successful answer, read up to `limit` bytes; a failed
    /// request or an error status becomes [`Error::Service`], with the
    /// answer's JSON `message` (or its text) for a status.
    fn answer(
        service: &'static str,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        limit: u64,
    ) -> Result<Vec<u8>, Error> {
        let fail = |reason: String| service_error(service, url, reason);
        let mut response = response.map_err(|e| match e {
            ureq::Error::Timeout(_) => fail(format!(
                "no answer within {} s (timeout; TOTO_HTTP_TIMEOUT sets it)",
                request_timeout_secs()
            )),
            e => fail(format!("unreachable: {e}")),
        })?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| fail(format!("cannot read the response: {e}")))?;
        if !status.is_success() {
            // The answer's JSON `message`, else its text: bounded, escaped
            // and redacted by `service_error`.
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(fail(format!("HTTP {status}: {message}")));
        }
        Ok(body)
    }

    /// POSTs a form; returns the status and the JSON answer, error answers
    /// included (OAuth reports its errors as 400 with JSON).
    fn post_form(
        &self,
        service: &'static str,
        url: &str,
        fields: &[(&str, &str)],
    ) -> Result<(u16, Value), Error> {
        let fail = |reason: String| service_error(service, url, reason);
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
            .collect();
        let body = body.join("&");
        let mut response = retrying(|| {
            self.agent
                .post(url)
                .header("Accept", "application/json")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(body.as_bytes())
        })
        .map_err(|e| fail(format!("unreachable: {e}")))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| fail(format!("cannot read the response: {e}")))?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|e| fail(format!("HTTP {status}, and the response is not JSON: {e}")))?;
        Ok((status, value))
    }

    /// GET `url`, the body left unread for the caller to bound (TUF).
    pub(crate) fn get_response(
        &self,
        url: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        self.agent.get(url).call()
    }

    fn get(&self, service: &'static str, url: &str, bearer: Option<&str>) -> Result<Value, Error> {
        let response = retrying(|| {
            let mut request = self.agent.get(url).header("Accept", "application/json");
            if let Some(b) = bearer {
                request = request.header("Authorization", &format!("bearer {b}"));
            }
            request.call()
        });
        Http::finish(service, url, response)
    }

    /// POSTs DER (RFC 3161) and returns the DER answer, bounded.
    fn post_der(
        &self,
        service: &'static str,
        url: &str,
        body: &[u8],
        request_type: &str,
        answer_type: &str,
    ) -> Result<Vec<u8>, Error> {
        let response = retrying(|| {
            self.agent
                .post(url)
                .header("Accept", answer_type)
                .header("Content-Type", request_type)
                .send(body)
        });
        Http::answer(service, url, response, v2::MAX_TIMESTAMP_BYTES as u64)
    }

    fn post(
        &self,
        service: &'static str,
        url: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<Value, Error> {
        let body = body.to_string();
        let response = retrying(|| {
            let mut request = self
                .agent
                .post(url)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json");
            if let Some(b) = bearer {
                request = request.header("Authorization", &format!("Bearer {b}"));
            }
            request.send(body.as_bytes())
        });
        Http::finish(service, url, response)
    }
}

/// A signed, verified bundle.
#[derive(Debug, Clone)]
pub struct SignedBundle {
    /// The bundle JSON (v0.3), as written.
    pub json: String,
    /// Its Rekor log index.
    pub log_index: u64,
}

/// A keyless signer: an ephemeral key and its Fulcio certificate.
pub struct KeylessSigner {
    key: SigningKey,
    leaf_der: Vec<u8>,
    leaf_pem: String,
    identity: String,
    issuer: String,
    /// The certificate's validity, Unix seconds.
    valid_from: u64,
    valid_until: u64,
    services: Services,
    verifier: BundleVerifier,
    http: Http,
}

impl std::fmt::Debug for KeylessSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeylessSigner")
            .field("identity", &self.identity)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// A service's failure; the URL and the reason may quote the service, so
/// both are shown only as [`ServiceText`] (bounded, escaped, redacted).
fn service_error(service: &'static str, url: &str, reason: impl AsRef<str>) -> Error {
    Error::Service {
        service,
        url: ServiceText::new(url),
        reason: ServiceText::new(reason.as_ref()),
    }
}

/// What a Fulcio certificate says, as the signer checks it before use.
struct CertificateFacts {
    /// The SAN: email or URI.
    san: Option<String>,
    /// The Fulcio OIDC issuer extension (v2, else v1).
    issuer: Option<String>,
    /// An embedded SCT list is present.
    has_sct: bool,
    /// The extended key usages include codeSigning.
    code_signing: bool,
}

/// The OID of the codeSigning extended key usage.
const CODE_SIGNING_EKU: &str = "1.3.6.1.5.5.7.3.3";

fn certificate_facts(cert: &x509_cert::Certificate) -> CertificateFacts {
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
    let mut san = None;
    let mut issuer_v1 = None;
    let mut issuer_v2 = None;
    let mut has_sct = false;
    let mut code_signing = false;
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let value = ext.extn_value.as_bytes();
        match ext.extn_id.to_string().as_str() {
            "2.5.29.17" => {
                if let Ok(names) = SubjectAltName::from_der(value) {
                    san = names.0.iter().find_map(|n| match n {
                        GeneralName::Rfc822Name(s) | GeneralName::UniformResourceIdentifier(s) => {
                            Some(s.to_string())
                        }
                        _ => None,
                    });
                }
            }
            "2.5.29.37" => {
                code_signing = ExtendedKeyUsage::from_der(value)
                    .is_ok_and(|eku| eku.0.iter().any(|oid| oid.to_string() == CODE_SIGNING_EKU));
            }
            "1.3.6.1.4.1.57264.1.1" => issuer_v1 = String::from_utf8(value.to_vec()).ok(),
            "1.3.6.1.4.1.57264.1.8" => {
                issuer_v2 = x509_cert::der::asn1::Utf8StringRef::from_der(value)
                    .ok()
                    .map(|s| s.as_str().to_owned());
            }
            "1.3.6.1.4.1.11129.2.4.2" => has_sct = true,
            _ => {}
        }
    }
    CertificateFacts {
        san,
        issuer: issuer_v2.or(issuer_v1),
        has_sct,
        code_signing,
    }
}

/// A certificate's validity window, in Unix seconds.
fn validity(cert: &x509_cert::Certificate) -> (u64, u64) {
    let window = &cert.tbs_certificate.validity;
    (
        window.not_before.to_unix_duration().as_secs(),
        window.not_after.to_unix_duration().as_secs(),
    )
}

/// Refuses a certificate that is not valid now, naming its window.
fn check_window(service: &'static str, url: &str, from: u64, until: u64) -> Result<(), Error> {
    let now = u64::try_from(jiff::Timestamp::now().as_second()).unwrap_or(0);
    let shown = |t: u64| {
        i64::try_from(t)
            .ok()
            .and_then(|t| jiff::Timestamp::from_second(t).ok())
            .map_or_else(|| t.to_string(), |t| t.to_string())
    };
    if now < from {
        return Err(service_error(
            service,
            url,
            format!(
                "the certificate is not valid before {} (is this machine's clock behind?)",
                shown(from)
            ),
        ));
    }
    if now > until {
        return Err(service_error(
            service,
            url,
            format!(
                "the certificate expired at {}; sign again (it is valid for minutes only)",
                shown(until)
            ),
        ));
    }
    Ok(())
}

impl KeylessSigner {
    /// Gets a certificate from Fulcio for a fresh key and `token`, and checks
    /// it before anything is logged for it: it certifies that key, for the
    /// token's identity and issuer, is valid now, chains to a Fulcio CA of
    /// the trusted root (valid now) for code signing, and carries an SCT by
    /// a CT log of the trusted root.
    pub fn new(config: &TrustConfig, token: &IdentityToken) -> Result<KeylessSigner, Error> {
        let http = Http::new()?;
        let key = SigningKey::random(&mut rand_core::OsRng);
        let spki = key
            .verifying_key()
            .to_public_key_der()
            .map_err(|e| malformed("ephemeral key", e.to_string()))?;
        let spki_pem = x509_cert::der::pem::encode_string(
            "PUBLIC KEY",
            x509_cert::der::pem::LineEnding::LF,
            spki.as_bytes(),
        )
        .map_err(|e| malformed("ephemeral key", e.to_string()))?;
        let proof: DerSignature = key.sign(token.challenge().as_bytes());
        let url = format!("{}/api/v2/signingCert", config.services.fulcio);
        let request = json!({
            "credentials": {"oidcIdentityToken": token.raw},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": spki_pem},
                "proofOfPossession": B64.encode(proof.as_bytes()),
            },
        });
        let response = http.post("Fulcio", &url, Some(&token.raw), &request)?;
        let chain = response
            .pointer("/signedCertificateEmbeddedSct/chain/certificates")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                service_error(
                    "Fulcio",
                    &url,
                    "no signedCertificateEmbeddedSct.chain.certificates in the response",
                )
            })?;
        let leaf_pem = chain
            .first()
            .and_then(Value::as_str)
            .ok_or_else(|| service_error("Fulcio", &url, "the certificate chain is empty"))?
            .to_owned();
        let leaf = x509_cert::Certificate::from_pem(leaf_pem.as_bytes()).map_err(|e| {
            service_error("Fulcio", &url, format!("unreadable leaf certificate: {e}"))
        })?;
        let leaf_der = leaf
            .to_der()
            .map_err(|e| service_error("Fulcio", &url, e.to_string()))?;
        let cert_key = leaf
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| service_error("Fulcio", &url, e.to_string()))?;
        if cert_key != spki.as_bytes() {
            return Err(service_error(
                "Fulcio",
                &url,
                "the certificate is for another key",
            ));
        }
        let facts = certificate_facts(&leaf);
        let identity = facts.san.ok_or_else(|| {
            service_error("Fulcio", &url, "the certificate has no email or URI SAN")
        })?;
        if !token.acceptable_identities().contains(&identity) {
            return Err(service_error(
                "Fulcio",
                &url,
                format!(
                    "the certificate is for {identity}, but the token is for {}",
                    token.challenge()
                ),
            ));
        }
        let issuer = facts.issuer.ok_or_else(|| {
            service_error(
                "Fulcio",
                &url,
                "the certificate has no OIDC issuer extension",
            )
        })?;
        // Both are printed and written into evidence: one plain line each.
        if !is_plain_line(&identity) || !is_plain_line(&issuer) {
            return Err(service_error(
                "Fulcio",
                &url,
                format!(
                    "the certificate's identity {identity:?} or issuer {issuer:?} holds control \
                     or line-breaking characters"
                ),
            ));
        }
        if issuer != token.issuer && !token.federated {
            return Err(service_error(
                "Fulcio",
                &url,
                format!(
                    "the certificate names issuer {issuer}, the token {}",
                    token.issuer
                ),
            ));
        }
        if !facts.has_sct {
            return Err(service_error(
                "Fulcio",
                &url,
                "the certificate has no embedded SCT (not logged in certificate transparency)",
            ));
        }
        if !facts.code_signing {
            return Err(service_error(
                "Fulcio",
                &url,
                "the certificate is not for code signing (no codeSigning extended key usage)",
            ));
        }
        // Before anything is logged for it, the certificate is checked as
        // the bundle's verifier will check it (sigstore-python does the
        // same): chain, validity now, code signing, SCT.
        let verifier = BundleVerifier::new(&config.root)?;
        let (valid_from, valid_until) = validity(&leaf);
        check_window("Fulcio", &url, valid_from, valid_until)?;
        verifier
            .check_signing_certificate(&leaf_der, jiff::Timestamp::now())
            .map_err(|reason| service_error("Fulcio", &url, reason))?;
        let leaf_pem = x509_cert::der::pem::encode_string(
            "CERTIFICATE",
            x509_cert::der::pem::LineEnding::LF,
            &leaf_der,
        )
        .map_err(|e| malformed("certificate", e.to_string()))?;
        Ok(KeylessSigner {
            key,
            leaf_der,
            leaf_pem,
            identity,
            issuer,
            valid_from,
            valid_until,
            services: config.services.clone(),
            verifier,
            http,
        })
    }

    /// The certified identity (email or URI).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The certified OIDC issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Before a signature is timestamped or logged: the certificate is
    /// still valid (a step may run for longer than its few minutes).
    fn check_still_valid(&self) -> Result<(), Error> {
        let url = format!("{}/api/v2/signingCert", self.services.fulcio);
        check_window("Fulcio", &url, self.valid_from, self.valid_until)
    }

    fn policy(&self) -> Policy {
        Policy::Identity {
            identity: self.identity.clone(),
            issuer: self.issuer.clone(),
        }
    }

    /// Signs a DSSE envelope around `payload`, logs it (Rekor `dsse` 0.0.1)
    /// and returns the verified bundle.
    pub fn sign_dsse(&self, payload_type: &str, payload: &[u8]) -> Result<SignedBundle, Error> {
        self.check_still_valid()?;
        // A Statement without subjects binds no artifact, and toto verifies
        // its bundle only from a Rekor v1 entry with no RFC 3161 timestamp
        // (the SET's integrated time is its signing time): with Rekor v2 it
        // is refused before anything is timestamped or logged.
        let unbound = crate::bundle::binds_no_artifact(payload);
        if unbound && self.services.rekor_version == 2 {
            return Err(Error::Malformed {
                what: "Statement",
                reason: "it has no subject, and toto verifies a bundle that binds no artifact \
                         only from a Rekor v1 entry: sign it with --rekor-version 1"
                    .into(),
            });
        }
        let pae = dsse::pae::pae(payload_type, payload);
        let sig: DerSignature = self.key.sign(&pae);
        let sig_b64 = B64.encode(sig.as_bytes());
        let envelope = json!({
            "payload": B64.encode(payload),
            "payloadType": payload_type,
            "signatures": [{"sig": sig_b64, "keyid": ""}],
        });
        if self.services.rekor_version == 2 {
            let bundle = self.sign_v2(
                &Sha256::digest(&pae),
                sig.as_bytes(),
                json!({"dsseEnvelope": envelope}),
            )?;
            self.verifier
                .verify_attestation(bundle.json.as_bytes(), None, &self.policy())?;
            return Ok(bundle);
        }
        let proposed = json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {"proposedContent": {
                "envelope": envelope.to_string(),
                "verifiers": [B64.encode(&self.leaf_pem)],
            }},
        });
        let timestamps = match unbound {
            true => Vec::new(),
            false => self.timestamp(sig.as_bytes())?,
        };
        let entry = self.log(&proposed, "dsse", &sig_b64)?;
        let bundle = self.bundle(
            entry,
            "dsse",
            json!({"dsseEnvelope": envelope}),
            &timestamps,
        )?;
        self.verifier
            .verify_attestation(bundle.json.as_bytes(), None, &self.policy())?;
        Ok(bundle)
    }

    /// Signs a blob (its SHA-256), logs it (Rekor `hashedrekord` 0.0.1) and
    /// returns the verified bundle.
    pub fn sign_blob(&self, blob: &[u8]) -> Result<SignedBundle, Error> {
        self.check_still_valid()?;
        let digest = Sha256::digest(blob);
        let sig: DerSignature = self.key.sign(blob);
        let sig_b64 = B64.encode(sig.as_bytes());
        let content = json!({"messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(digest)},
            "signature": sig_b64,
        }});
        if self.services.rekor_version == 2 {
            let bundle = self.sign_v2(&digest, sig.as_bytes(), content)?;
            self.verifier.verify(
                bundle.json.as_bytes(),
                Artifact::Bytes(blob),
                &self.policy(),
            )?;
            return Ok(bundle);
        }
        let proposed = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
                "signature": {"content": sig_b64, "publicKey": {"content": B64.encode(&self.leaf_pem)}},
            },
        });
        let timestamps = self.timestamp(sig.as_bytes())?;
        let entry = self.log(&proposed, "hashedrekord", &sig_b64)?;
        let bundle = self.bundle(entry, "hashedrekord", content, &timestamps)?;
        self.verifier.verify(
            bundle.json.as_bytes(),
            Artifact::Bytes(blob),
            &self.policy(),
        )?;
        Ok(bundle)
    }

    /// An RFC 3161 timestamp over `signature` from the configured TSA (none
    /// when there is no TSA): the DER `TimeStampResp`, checked to be granted.
    fn timestamp(&self, signature: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        let Some(url) = &self.services.tsa else {
            return Ok(Vec::new());
        };
        let request = v2::timestamp_request(signature);
        let answer = self.http.post_der(
            "TSA",
            url,
            &request,
            "application/timestamp-query",
            "application/timestamp-reply",
        )?;
        v2::check_timestamp_response(&answer)
            .map_err(|reason| service_error("TSA", url, reason))?;
        Ok(vec![answer])
    }

    /// Rekor v2: timestamps the signature, logs a `hashedrekord` 0.0.2 entry
    /// for it (over `digest`, SHA-256), checks the answer and assembles the
    /// bundle around `content` (not yet verified).
    fn sign_v2(
        &self,
        digest: &[u8],
        signature: &[u8],
        content: Value,
    ) -> Result<SignedBundle, Error> {
        let timestamps = self.timestamp(signature)?;
        if timestamps.is_empty() {
            return Err(malformed(
                "trust config",
                "Rekor v2 needs a timestamp authority (tsaUrls)",
            ));
        }
        let url = format!("{}/api/v2/log/entries", self.services.rekor);
        let request = v2::hashedrekord_request(digest, signature, &self.leaf_der);
        let answer = self.http.post("Rekor", &url, None, &request)?;
        let entry = v2::check_entry(&answer, &request, &url)?;
        let mut bundle = json!({
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": {
                "certificate": {"rawBytes": B64.encode(&self.leaf_der)},
                "tlogEntries": [entry.json],
                "timestampVerificationData": {"rfc3161Timestamps": timestamps
                    .iter()
                    .map(|t| json!({"signedTimestamp": B64.encode(t)}))
                    .collect::<Vec<_>>()},
            },
        });
        if let (Some(b), Some(c)) = (bundle.as_object_mut(), content.as_object()) {
            b.extend(c.clone());
        }
        Ok(SignedBundle {
            json: bundle.to_string(),
            log_index: entry.log_index,
        })
    }

    /// Posts an entry; checks the body Rekor logged is ours.
    fn log(&self, proposed: &Value, kind: &str, sig_b64: &str) -> Result<Value, Error> {
        let url = format!("{}/api/v1/log/entries", self.services.rekor);
        let response = self.http.post("Rekor", &url, None, proposed)?;
        let entry = response
            .as_object()
            .and_then(|m| m.values().next())
            .cloned()
            .ok_or_else(|| service_error("Rekor", &url, "the response holds no entry"))?;
        let body: Value = entry
            .get("body")
            .and_then(Value::as_str)
            .and_then(|b| B64.decode(b).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| service_error("Rekor", &url, "the entry's body is not base64 JSON"))?;
        let ours = match kind {
            "dsse" => body
                .pointer("/spec/signatures")
                .and_then(Value::as_array)
                .is_some_and(|s| {
                    s.iter()
                        .any(|s| s.get("signature").and_then(Value::as_str) == Some(sig_b64))
                }),
            _ => {
                body.pointer("/spec/signature/content")
                    .and_then(Value::as_str)
                    == Some(sig_b64)
            }
        };
        if body.get("kind").and_then(Value::as_str) != Some(kind) || !ours {
            return Err(Error::Verification {
                reason: format!("Rekor ({url}) logged a body that is not the entry sent"),
            });
        }
        Ok(entry)
    }

    /// Assembles a v0.3 bundle from a Rekor v1 entry (and RFC 3161
    /// timestamps, when a TSA is configured).
    fn bundle(
        &self,
        entry: Value,
        kind: &str,
        content: Value,
        timestamps: &[Vec<u8>],
    ) -> Result<SignedBundle, Error> {
        let url = format!("{}/api/v1/log/entries", self.services.rekor);
        let bad = |what: &str| {
            service_error(
                "Rekor",
                &url,
                format!("the entry's {what} is missing or malformed"),
            )
        };
        let int = |pointer: &str| entry.pointer(pointer).and_then(Value::as_u64);
        let hex_to_b64 = |h: &str| hex::decode(h).ok().map(|b| B64.encode(b));
        let log_index = int("/logIndex").ok_or_else(|| bad("logIndex"))?;
        let integrated_time = int("/integratedTime").ok_or_else(|| bad("integratedTime"))?;
        let log_id = entry
            .get("logID")
            .and_then(Value::as_str)
            .and_then(hex_to_b64)
            .ok_or_else(|| bad("logID"))?;
        let proof = entry
            .pointer("/verification/inclusionProof")
            .ok_or_else(|| bad("inclusion proof"))?;
        let hashes = proof
            .get("hashes")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("inclusion proof hashes"))?
            .iter()
            .map(|h| h.as_str().and_then(hex_to_b64))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("inclusion proof hashes"))?;
        let root_hash = proof
            .get("rootHash")
            .and_then(Value::as_str)
            .and_then(hex_to_b64)
            .ok_or_else(|| bad("inclusion proof root hash"))?;
        let tree_size = proof
            .get("treeSize")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("tree size"))?;
        let proof_index = proof
            .get("logIndex")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("proof index"))?;
        let checkpoint = proof
            .get("checkpoint")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("checkpoint"))?;
        let set = entry
            .pointer("/verification/signedEntryTimestamp")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("signed entry timestamp"))?;
        let body = entry
            .get("body")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("body"))?;
        let mut bundle = json!({
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": {
                "certificate": {"rawBytes": B64.encode(&self.leaf_der)},
                "tlogEntries": [{
                    "logIndex": log_index.to_string(),
                    "logId": {"keyId": log_id},
                    "kindVersion": {"kind": kind, "version": "0.0.1"},
                    "integratedTime": integrated_time.to_string(),
                    "inclusionPromise": {"signedEntryTimestamp": set},
                    "inclusionProof": {
                        "logIndex": proof_index.to_string(),
                        "rootHash": root_hash,
                        "treeSize": tree_size.to_string(),
                        "hashes": hashes,
                        "checkpoint": {"envelope": checkpoint},
                    },
                    "canonicalizedBody": body,
                }],
            },
        });
        if !timestamps.is_empty() {
            if let Some(material) = bundle
                .get_mut("verificationMaterial")
                .and_then(Value::as_object_mut)
            {
                material.insert(
                    "timestampVerificationData".into(),
                    json!({"rfc3161Timestamps": timestamps
                        .iter()
                        .map(|t| json!({"signedTimestamp": B64.encode(t)}))
                        .collect::<Vec<_>>()}),
                );
            }
        }
        if let (Some(b), Some(c)) = (bundle.as_object_mut(), content.as_object()) {
            b.extend(c.clone());
        }
        Ok(SignedBundle {
            json: bundle.to_string(),
            log_index,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &Value) -> String {
        format!(
            "{}.{}.sig",
            B64URL.encode(r#"{"alg":"ES256"}"#),
            B64URL.encode(claims.to_string())
        )
    }

    #[test]
    fn tokens_are_checked_before_use() {
        let now = 1_000_000;
        let good = json!({"iss": "https://oauth2.sigstore.dev/auth", "sub": "x", "aud": "sigstore",
            "exp": now + 60, "email": "a@example.com", "email_verified": true,
            "federated_claims": {"connector_id": "github"}});
        let token = IdentityToken::parse(&jwt(&good), now).unwrap();
        assert_eq!(token.email.as_deref(), Some("a@example.com"));
        assert!(
            token.federated,
            "Dex tokens name the upstream issuer in certificates"
        );
        let mut plain = good.clone();
        plain.as_object_mut().unwrap().remove("federated_claims");
        assert!(!IdentityToken::parse(&jwt(&plain), now).unwrap().federated);
        for (field, value, why) in [
            ("exp", json!(now - 1), "expired"),
            ("aud", json!("other"), "audience"),
            ("email_verified", json!(false), "not verified"),
        ] {
            let mut bad = good.clone();
            bad[field] = value;
            let err = IdentityToken::parse(&jwt(&bad), now)
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{field}: {err}");
        }
        assert!(IdentityToken::parse("a.b", now).is_err());
        // A list audience that includes sigstore is fine.
        let mut listed = good.clone();
        listed["aud"] = json!(["other", "sigstore"]);
        assert!(IdentityToken::parse(&jwt(&listed), now).is_ok());
    }
}
