//! Credentials from a Docker `config.json`: `auths` (base64 `user:password`
//! under the registry's host, or Docker Hub's `https://index.docker.io/v1/`),
//! else the credential helper `credHelpers` names for the host or
//! `credsStore` names for all, run as Docker runs it
//! (`docker-credential-NAME get`, the server on stdin, JSON with `Username`
//! and `Secret` on stdout; docker-credential-helpers' protocol). Identity
//! tokens (`Username` `<token>`) are not supported.

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
    match config
        .cred_helpers
        .get(host)
        .or(config.creds_store.as_ref())
    {
        Some(helper) => from_helper(helper, keys.first().map_or(host, String::as_str)),
        None => Ok(None),
    }
}

/// Runs `docker-credential-<helper> get` for `server`. "Not found" (a
/// failing helper) is no credentials; the helper's output is bounded and
/// never shown (it may hold the secret).
fn from_helper(helper: &str, server: &str) -> Result<Option<Credentials>, Error> {
    use std::io::{Read as _, Write as _};
    let program = format!("docker-credential-{helper}");
    let bad = |reason: String| Error::Config {
        what: format!("credential helper {program}"),
        reason,
    };
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if helper.is_empty() || !helper.bytes().all(plain) {
        return Err(bad("the helper's name is not a plain name".into()));
    }
    let mut child = std::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| bad(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| bad(format!("cannot write to it: {e}")))?;
    }
    let mut out = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        stdout
            .take(64 << 10)
            .read_to_end(&mut out)
            .map_err(|e| bad(format!("cannot read its answer: {e}")))?;
    }
    let status = child.wait().map_err(|e| bad(e.to_string()))?;
    if !status.success() {
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    let answer: Answer = serde_json::from_slice(&out)
        .map_err(|_| bad("its answer is not JSON with Username and Secret".into()))?;
    if answer.username == "<token>" {
        return Err(bad(
            "it holds an identity token, which toto does not exchange: pass \
             --registry-username/--registry-password"
                .into(),
        ));
    }
    Ok(Some(Credentials {
        username: answer.username,
        password: answer.secret,
    }))
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
    fn a_missing_credential_helper_is_named() {
        let (_d, path) = config(r#"{"credsStore":"toto-absent-helper"}"#);
        let err = credentials(&path, "ghcr.io").unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-toto-absent-helper"),
            "{err}"
        );
    }

    #[test]
    fn a_helper_name_with_a_path_is_refused() {
        let (_d, path) = config(r#"{"credHelpers":{"ghcr.io":"../../bin/sh"}}"#);
        let err = credentials(&path, "ghcr.io").unwrap_err().to_string();
        assert!(err.contains("not a plain name"), "{err}");
    }

    #[test]
    fn no_file_no_credentials() {
        let dir = tempfile::tempdir().unwrap();
        assert!(credentials(&dir.path().join("none.json"), "ghcr.io")
            .unwrap()
            .is_none());
    }
}
