//! The TLS roots of toto's HTTPS client: besides the bundled roots it trusts
//! the certificate store, and `SSL_CERT_FILE` names it, so keyless signing
//! works behind a proxy whose CA only the machine trusts. Shown with a
//! loopback HTTPS token endpoint whose CA is only in the file.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use p256::pkcs8::EncodePrivateKey;

use crate::common::*;

/// A loopback HTTPS server answering every request with `body` (JSON),
/// under a certificate from a CA of its own, written to `ca.pem`.
struct HttpsServer {
    url: String,
    ca_pem: PathBuf,
    answered: Arc<AtomicUsize>,
}

fn https_server(dir: &Path, body: String) -> HttpsServer {
    let LoopbackTls {
        ca_pem,
        leaf_der: leaf,
        key,
    } = loopback_tls(dir, "toto test proxy CA");

    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let key_der = key.to_pkcs8_der().unwrap().as_bytes().to_vec();
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![rustls::pki_types::CertificateDer::from(leaf)],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key_der.into()),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let answered = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&answered);
    // A handful of connections, then the thread ends.
    std::thread::spawn(move || {
        for tcp in listener.incoming().take(8) {
            let Ok(tcp) = tcp else { continue };
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
            let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            if !head.windows(4).any(|w| w == b"\r\n\r\n") {
                continue; // the client gave up during the handshake
            }
            count.fetch_add(1, Ordering::SeqCst);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(answer.as_bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    HttpsServer {
        url,
        ca_pem,
        answered,
    }
}

/// `toto sign-blob --keyless` of `artifact` on the testbed, the identity
/// token coming from the GitHub Actions token endpoint at `token_url`, with
/// `SSL_CERT_FILE` set to `ssl_cert_file` (else neither it nor SSL_CERT_DIR).
fn sign_with_ambient_token(
    tb: &testbed::Testbed,
    token_url: &str,
    artifact: &Path,
    bundle: &Path,
    ssl_cert_file: Option<&Path>,
) -> std::process::Output {
    let mut c = toto();
    c.args(["sign-blob", "--keyless", "--trust-config"])
        .arg(tb.trust_config_path())
        .arg("--bundle")
        .arg(bundle)
        .arg(artifact)
        .env_remove("SIGSTORE_ID_TOKEN")
        .env_remove("SIGSTORE_IDENTITY_TOKEN")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", token_url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-request-token");
    if let Some(file) = ssl_cert_file {
        c.env("SSL_CERT_FILE", file);
    }
    c.output().unwrap()
}

#[test]
fn keyless_signing_trusts_a_proxy_ca_given_in_ssl_cert_file() {
    let (dir, tb) = tempdir_testbed();
    let signer = "alice@example.com";
    let body = serde_json::json!({ "value": token(&tb, signer) }).to_string();
    let server = https_server(dir.path(), body);
    let token_url = format!("{}/token", server.url);
    let artifact = write(&dir.path().join("app.tar"), "release\n");

    // The CA is in no store the client reads: the handshake fails, nothing
    // is signed.
    let untrusted = dir.path().join("untrusted.sigstore.json");
    let out = sign_with_ambient_token(&tb, &token_url, &artifact, &untrusted, None);
    expect_error(
        &out,
        2,
        "GitHub Actions OIDC",
        "a CA the client does not trust",
    );
    assert_eq!(server.answered.load(Ordering::SeqCst), 0);
    assert!(!untrusted.exists());

    // The CA only in SSL_CERT_FILE: the token is fetched over HTTPS and the
    // signing goes through.
    let bundle = dir.path().join("app.tar.sigstore.json");
    let out = sign_with_ambient_token(&tb, &token_url, &artifact, &bundle, Some(&server.ca_pem));
    expect_code(&out, 0, "SSL_CERT_FILE holds the proxy's CA");
    assert_eq!(server.answered.load(Ordering::SeqCst), 1);
    expect_code(
        &testbed_verify_bundle(&tb, &bundle, signer, &artifact),
        0,
        "the bundle verifies",
    );
}

#[test]
fn an_ssl_cert_file_without_certificates_is_refused_naming_it() {
    let (dir, tb) = tempdir_testbed();
    let empty = write(&dir.path().join("empty.pem"), "not a certificate\n");
    let artifact = write(&dir.path().join("app.tar"), "release\n");
    let bundle = dir.path().join("app.tar.sigstore.json");
    let out = sign_with_ambient_token(
        &tb,
        "https://127.0.0.1:9/token",
        &artifact,
        &bundle,
        Some(&empty),
    );
    expect_error(
        &out,
        2,
        &format!(
            "SSL_CERT_FILE={}: no PEM certificate in it",
            empty.display()
        ),
        "an SSL_CERT_FILE without certificates",
    );
    assert!(!bundle.exists());
}
