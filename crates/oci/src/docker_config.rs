//! Credentials from a Docker `config.json` (`auths`: base64 `user:password`
//! under the registry's host, or Docker Hub's `https://index.docker.io/v1/`).
//! Credential helpers (`credsStore`, `credHelpers`) are not run: toto names
//! them in the error so the user can pass the credentials another way.

use std::path::Path;

use base64::Engine as _;
use serde::Deserialize;

use crate::registry::Credentials;
use crate::Error;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The credentials `path` holds for `host`, if any (a missing file holds
/// none).
pub fn credentials(path: &Path, host: &str) -> Result<Option<Credentials>, Error> {
    let bad = |reason: String| Error::Config {
        what: format!("Docker config {}", path.display()),
        reason,
    };
    let bytes = match dsse::file::read_bounded(path, 1 << 20, None) {
        Ok(bytes) => bytes,
        Err(_) if !path.exists() => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let config: ConfigFile = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let keys = if host == crate::reference::DOCKER_HUB {
        vec![
            "https://index.docker.io/v1/".to_owned(),
            host.to_owned(),
            "docker.io".to_owned(),
        ]
    } else {
        vec![
            host.to_owned(),
            format!("https://{host}"),
            format!("http://{host}"),
        ]
    };
    for key in &keys {
        let Some(entry) = config.auths.get(key) else {
            continue;
        };
        if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
            return Ok(Some(Credentials {
                username: username.clone(),
                password: password.clone(),
            }));
        }
        if let Some(auth) = &entry.auth {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad(format!("auths.{key:?}.auth is not base64")))?;
            let text = String::from_utf8(decoded)
                .map_err(|_| bad(format!("auths.{key:?}.auth is not UTF-8")))?;
            let (username, password) = text
                .split_once(':')
                .ok_or_else(|| bad(format!("auths.{key:?}.auth is not user:password")))?;
            return Ok(Some(Credentials {
                username: username.to_owned(),
                password: password.to_owned(),
            }));
        }
    }
    if let Some(helper) = config
        .cred_helpers
        .get(host)
        .or(config.creds_store.as_ref())
    {
        return Err(bad(format!(
            "credentials for {host} are kept by the credential helper docker-credential-{helper}, \
             which toto does not run yet: pass --registry-username/--registry-password \
             (or TOTO_REGISTRY_USERNAME/TOTO_REGISTRY_PASSWORD)"
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn auths_by_host_in_base64() {
        // "alice:s3cret"
        let (_d, path) = config(r#"{"auths":{"127.0.0.1:5000":{"auth":"YWxpY2U6czNjcmV0"}}}"#);
        let c = credentials(&path, "127.0.0.1:5000").unwrap().unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("alice", "s3cret")
        );
        assert!(credentials(&path, "ghcr.io").unwrap().is_none());
    }

    #[test]
    fn docker_hub_under_its_v1_url() {
        let (_d, path) =
            config(r#"{"auths":{"https://index.docker.io/v1/":{"auth":"YWxpY2U6czNjcmV0"}}}"#);
        assert!(credentials(&path, "index.docker.io").unwrap().is_some());
    }

    #[test]
    fn a_credential_helper_is_named_not_run() {
        let (_d, path) = config(r#"{"credsStore":"desktop"}"#);
        let err = credentials(&path, "ghcr.io").unwrap_err().to_string();
        assert!(err.contains("docker-credential-desktop"), "{err}");
    }

    #[test]
    fn no_file_no_credentials() {
        let dir = tempfile::tempdir().unwrap();
        assert!(credentials(&dir.path().join("none.json"), "ghcr.io")
            .unwrap()
            .is_none());
    }
}
