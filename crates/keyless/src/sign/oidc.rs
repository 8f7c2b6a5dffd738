//! Identity tokens for keyless signing: a JWT's claims read and checked as
//! far as a client can ([`IdentityToken`]), ambient tokens from the
//! environment or GitHub Actions ([`ambient_token`]), and the OAuth 2.0
//! device flow ([`device_flow`]).

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde_json::Value;

use crate::error::{service_error, Error};
use crate::http::Http;
use crate::text::untrusted_text;

/// The audience Sigstore's Fulcio expects.
pub const AUDIENCE: &str = "sigstore";

/// An OIDC identity token, with the claims a signer needs checked.
#[derive(Clone)]
pub struct IdentityToken {
    pub(super) raw: String,
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
    pub(super) fn challenge(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.subject)
    }

    /// The certificate identities Fulcio may issue for this token.
    pub(super) fn acceptable_identities(&self) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
