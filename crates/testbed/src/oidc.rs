//! The testbed's OIDC issuer: ES256 JWTs for requested identities, and
//! their verification by the testbed's Fulcio; its endpoints (discovery,
//! JWKS, token minting behind the client secret, GitHub Actions' token
//! endpoint) and the device flow (RFC 8628) a terminal logs in with.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Map, Value};

use std::path::Path;

use crate::server::{json_body, lock, str_field, to_response, Answer, Shared};
use crate::{http, now, Error, CLIENT_SECRET};

/// The issuer GitHub Actions tokens carry.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The audience Sigstore clients ask for.
pub const AUDIENCE: &str = "sigstore";
const KID: &str = "toto-testbed";

/// What a minted token asserts.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    /// An email (`alice@example.com`) or a URI subject.
    pub identity: String,
    /// A GitHub Actions workflow, `OWNER/REPO/.github/workflows/FILE@REF`: the
    /// token is then shaped like one from GitHub Actions (issuer, `sub`,
    /// `job_workflow_ref`, `repository`, `ref`, `sha`, `event_name`, …) and
    /// `identity` is ignored.
    pub github_workflow: Option<String>,
    /// `runner_environment` of a GitHub Actions token (default
    /// `github-hosted`; `self-hosted` for a runner its owner runs).
    pub runner_environment: Option<String>,
    /// `aud` (default `sigstore`).
    pub audience: Option<String>,
    /// Lifetime in seconds (default 600); negative for an expired token.
    pub lifetime: Option<i64>,
}

/// Splits `OWNER/REPO/.github/workflows/FILE@REF`.
fn parse_workflow(w: &str) -> Result<(String, String, String), Error> {
    let (path, git_ref) = w
        .split_once('@')
        .ok_or_else(|| Error::BadRequest(format!("workflow {w:?} has no @REF")))?;
    let mut parts = path.splitn(3, '/');
    let owner = parts.next().unwrap_or_default();
    let repo = parts.next().unwrap_or_default();
    let file = parts.next().unwrap_or_default();
    if owner.is_empty() || repo.is_empty() || !file.starts_with(".github/workflows/") {
        return Err(Error::BadRequest(format!(
            "workflow {w:?} is not OWNER/REPO/.github/workflows/FILE@REF"
        )));
    }
    Ok((
        format!("{owner}/{repo}"),
        file.to_owned(),
        git_ref.to_owned(),
    ))
}

/// The claims of a token for `request`, issued by `issuer` at `now`.
pub fn claims(request: &TokenRequest, issuer: &str, now: i64) -> Result<Value, Error> {
    let lifetime = request.lifetime.unwrap_or(600);
    let aud = request.audience.clone().unwrap_or_else(|| AUDIENCE.into());
    let mut c = Map::new();
    c.insert("aud".into(), json!(aud));
    c.insert("iat".into(), json!(now.min(now + lifetime)));
    c.insert("nbf".into(), json!(now.min(now + lifetime)));
    c.insert("exp".into(), json!(now + lifetime));
    if let Some(workflow) = &request.github_workflow {
        let (repository, file, git_ref) = parse_workflow(workflow)?;
        let sha = hex::encode(sha2::Digest::finalize(sha2::Digest::chain_update(
            <sha2::Sha256 as sha2::Digest>::new(),
            workflow.as_bytes(),
        )))
        .get(..40)
        .unwrap_or_default()
        .to_owned();
        c.insert("iss".into(), json!(GITHUB_ISSUER));
        c.insert(
            "sub".into(),
            json!(format!("repo:{repository}:ref:{git_ref}")),
        );
        c.insert("repository".into(), json!(repository));
        c.insert(
            "repository_owner".into(),
            json!(repository.split('/').next().unwrap_or_default()),
        );
        c.insert("ref".into(), json!(git_ref));
        c.insert("sha".into(), json!(sha));
        c.insert(
            "workflow".into(),
            json!(file.rsplit('/').next().unwrap_or_default()),
        );
        c.insert("event_name".into(), json!("push"));
        c.insert("job_workflow_ref".into(), json!(workflow));
        c.insert(
            "runner_environment".into(),
            json!(request
                .runner_environment
                .as_deref()
                .unwrap_or("github-hosted")),
        );
        c.insert("run_id".into(), json!("1"));
        c.insert("run_attempt".into(), json!("1"));
    } else {
        if request.identity.is_empty() {
            return Err(Error::BadRequest("a token needs an identity".into()));
        }
        c.insert("iss".into(), json!(issuer));
        if request.identity.contains('@') && !request.identity.contains(':') {
            c.insert("sub".into(), json!(request.identity));
            c.insert("email".into(), json!(request.identity));
            c.insert("email_verified".into(), json!(true));
        } else {
            c.insert("sub".into(), json!(request.identity));
        }
    }
    Ok(Value::Object(c))
}

/// Signs `claims` as an ES256 JWT.
pub fn mint(key: &SigningKey, claims: &Value) -> String {
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": KID});
    let signing_input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let signature: Signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", B64URL.encode(signature.to_bytes()))
}

/// Checks a token's ES256 signature by the testbed key, its audience and its
/// validity window; returns its claims.
pub fn verify(key: &SigningKey, token: &str, now: i64) -> Result<Value, Error> {
    let bad = |why: &str| Error::Unauthorized(format!("identity token: {why}"));
    let mut parts = token.trim().split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a JWT (three dot-separated parts)"));
    };
    let header: Value = B64URL
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("header is not base64url JSON"))?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(bad(
            "only ES256 tokens from the testbed's issuer are accepted",
        ));
    }
    let sig = B64URL
        .decode(s)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or_else(|| bad("signature is not an ES256 signature"))?;
    key.verifying_key()
        .verify(format!("{h}.{c}").as_bytes(), &sig)
        .map_err(|_| bad("not signed by the testbed's issuer"))?;
    let claims: Value = B64URL
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("claims are not base64url JSON"))?;
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == AUDIENCE,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(AUDIENCE)),
        _ => false,
    };
    if !aud_ok {
        return Err(bad("audience is not \"sigstore\""));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("no exp"))?;
    if exp <= now {
        return Err(bad("expired"));
    }
    if claims
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now + 60)
    {
        return Err(bad("not yet valid"));
    }
    Ok(claims)
}

/// The issuer's public key as a JWK set.
pub fn jwks(key: &SigningKey) -> Value {
    let point = key.verifying_key().to_encoded_point(false);
    let x = point.x().map(|x| B64URL.encode(x)).unwrap_or_default();
    let y = point.y().map(|y| B64URL.encode(y)).unwrap_or_default();
    json!({"keys": [{"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": KID, "alg": "ES256", "use": "sig"}]})
}

/// A device-flow login in progress.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub(crate) device_code: String,
    pub(crate) user_code: String,
    pub(crate) expires: i64,
    /// Set when the user approves (`POST /oauth/device/approve`).
    pub(crate) identity: Option<String>,
}

pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Most device logins kept at once.
pub(crate) const MAX_DEVICES: usize = 1024;

/// Whether `authorization` (an `Authorization` header) is `Bearer SECRET`,
/// compared in constant time.
fn bears_secret(authorization: Option<&str>, secret: &str) -> bool {
    let Some(given) = authorization.and_then(|a| {
        a.get(..7)
            .filter(|p| p.eq_ignore_ascii_case("bearer "))
            .and(a.get(7..))
    }) else {
        return false;
    };
    given.len() == secret.len()
        && given
            .bytes()
            .zip(secret.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

impl Shared {
    /// RFC 8628 §3.1–3.2: a device code for a terminal, a user code for the
    /// person (who approves it with `POST /oauth/device/approve`, the
    /// testbed's stand-in for a browser login).
    pub(crate) fn device_code(&self) -> Answer {
        let mut random = [0u8; 20];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
        let device_code = hex::encode(random);
        const LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
        let user: String = random
            .iter()
            .take(8)
            .map(|b| {
                char::from(
                    LETTERS
                        .get(usize::from(*b) % LETTERS.len())
                        .copied()
                        .unwrap_or(b'B'),
                )
            })
            .collect();
        let user_code = format!(
            "{}-{}",
            user.get(..4).unwrap_or_default(),
            user.get(4..).unwrap_or_default()
        );
        let now = now();
        let mut devices = lock(&self.devices);
        devices.retain(|d| d.expires > now);
        if devices.len() >= MAX_DEVICES {
            return Err(Error::BadRequest(
                "too many device logins in progress".into(),
            ));
        }
        devices.push(Device {
            device_code: device_code.clone(),
            user_code: user_code.clone(),
            expires: now + 600,
            identity: None,
        });
        Ok(http::Response::json(
            200,
            &json!({
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": format!("{}/oauth/device", self.url),
                "verification_uri_complete": format!("{}/oauth/device?user_code={user_code}", self.url),
                "expires_in": 600,
                "interval": 1,
            }),
        ))
    }

    /// Refuses a request that does not carry the client secret.
    pub(crate) fn check_secret(&self, request: &http::Request, what: &str) -> Result<(), Error> {
        if bears_secret(request.authorization.as_deref(), &self.client_secret) {
            return Ok(());
        }
        Err(Error::Unauthorized(format!(
            "{what} needs Authorization: Bearer <the testbed's client secret, in {}>",
            Path::new("keys").join(CLIENT_SECRET).display()
        )))
    }

    /// The person at the browser logs in as `identity` and approves `user_code`.
    pub(crate) fn device_approve(&self, request: &http::Request) -> Answer {
        self.check_secret(request, "approving a device login")?;
        let body = json_body(request)?;
        let code = str_field(&body, "/user_code")?;
        let identity = str_field(&body, "/identity")?;
        let mut devices = lock(&self.devices);
        let device = devices
            .iter_mut()
            .find(|d| d.user_code == code && d.expires > now())
            .ok_or_else(|| Error::BadRequest(format!("no device login with code {code}")))?;
        device.identity = Some(identity.to_owned());
        Ok(http::Response::json(200, &json!({"approved": code})))
    }

    /// RFC 8628 §3.4–3.5: the terminal polls until the person approves.
    pub(crate) fn device_token(&self, request: &http::Request) -> http::Response {
        let form = String::from_utf8_lossy(&request.body).into_owned();
        let field = |name: &str| {
            form.split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (k == name).then(|| v.replace("%3A", ":").replace("%3a", ":"))
            })
        };
        let oauth_error = |code: &str| http::Response::json(400, &json!({"error": code}));
        if field("grant_type").as_deref() != Some(DEVICE_GRANT) {
            return oauth_error("unsupported_grant_type");
        }
        let Some(device_code) = field("device_code") else {
            return oauth_error("invalid_request");
        };
        let now = now();
        let mut devices = lock(&self.devices);
        let Some(position) = devices.iter().position(|d| d.device_code == device_code) else {
            return oauth_error("invalid_grant");
        };
        let Some(device) = devices.get(position).cloned() else {
            return oauth_error("invalid_grant");
        };
        if device.expires <= now {
            devices.remove(position);
            return oauth_error("expired_token");
        }
        let Some(identity) = device.identity else {
            return oauth_error("authorization_pending");
        };
        devices.remove(position);
        drop(devices);
        let token_request = TokenRequest {
            identity,
            ..TokenRequest::default()
        };
        match claims(&token_request, &self.url, now) {
            Ok(claims) => {
                let token = mint(&self.oidc_key, &claims);
                http::Response::json(
                    200,
                    &json!({"id_token": token, "access_token": token, "token_type": "Bearer", "expires_in": 600}),
                )
            }
            Err(e) => to_response(Err(e)),
        }
    }

    pub(crate) fn mint(&self, request: &http::Request) -> Answer {
        self.check_secret(request, "minting a token")?;
        let body = json_body(request)?;
        let token_request = TokenRequest {
            identity: body
                .get("identity")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            github_workflow: body
                .get("github_workflow")
                .and_then(Value::as_str)
                .map(str::to_owned),
            runner_environment: body
                .get("runner_environment")
                .and_then(Value::as_str)
                .map(str::to_owned),
            audience: body
                .get("audience")
                .and_then(Value::as_str)
                .map(str::to_owned),
            lifetime: body.get("lifetime").and_then(Value::as_i64),
        };
        let claims = claims(&token_request, &self.url, now())?;
        let token = mint(&self.oidc_key, &claims);
        Ok(http::Response::json(
            200,
            &json!({"id_token": token, "access_token": token, "token_type": "Bearer", "expires_in": 600}),
        ))
    }

    /// GitHub Actions' ID-token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`,
    /// with the client secret as `ACTIONS_ID_TOKEN_REQUEST_TOKEN`): the
    /// workflow comes from the `workflow` query parameter.
    pub(crate) fn github_token(&self, request: &http::Request) -> Answer {
        // The runner's ACTIONS_ID_TOKEN_REQUEST_TOKEN: here the client secret.
        self.check_secret(
            request,
            "a GitHub Actions token (ACTIONS_ID_TOKEN_REQUEST_TOKEN)",
        )?;
        let workflow = request
            .param("workflow")
            .ok_or_else(|| Error::BadRequest("workflow query parameter missing".into()))?;
        let token_request = TokenRequest {
            github_workflow: Some(workflow),
            audience: request.param("audience"),
            ..TokenRequest::default()
        };
        let claims = claims(&token_request, &self.url, now())?;
        Ok(http::Response::json(
            200,
            &json!({"count": 1, "value": mint(&self.oidc_key, &claims)}),
        ))
    }
}
