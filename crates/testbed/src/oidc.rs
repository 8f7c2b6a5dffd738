//! The testbed's OIDC issuer: ES256 JWTs for requested identities, and
//! their verification by the testbed's Fulcio.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Map, Value};

use crate::Error;

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
        c.insert("runner_environment".into(), json!("github-hosted"));
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
