//! The testbed as a process under faults: `kill -9` in the middle of a
//! signing load (plus a torn last line, as a crash mid-append leaves) loses
//! no acknowledged entry, and the restarted log is consistent with what
//! clients saw before; a slow service gives a clear timeout.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use sigstore_types::Sha256Hash;
use testkit::get_json;

use crate::common::{
    expect_code, tempdir, tempdir_testbed, token, toto, verify_bundle, VerifyFlags,
};

/// Starts `toto testbed serve` and returns it with its URL.
#[allow(
    clippy::zombie_processes,
    reason = "the caller kills and waits for the server; a failed start kills it here"
)]
fn serve(dir: &Path) -> (Child, String) {
    std::fs::create_dir_all(dir).unwrap();
    let log = dir.with_extension("stdout");
    let mut child = toto()
        .args(["testbed", "serve", "--port", "0", "--dir"])
        .arg(dir)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().next().filter(|_| text.contains('\n')) {
            let url = line.trim().rsplit(' ').next().unwrap().to_owned();
            assert!(url.starts_with("http://127.0.0.1:"), "{line}");
            return (child, url);
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the testbed did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `METHOD path` with `body` and an optional `Authorization` header; the
/// status code and body of the answer.
fn request(url: &str, method: &str, path: &str, auth: Option<&str>, body: &str) -> (u16, String) {
    let host = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    let auth = auth.map_or_else(String::new, |a| format!("Authorization: {a}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

fn hash(text: &str) -> Sha256Hash {
    Sha256Hash::from_hex(text).unwrap()
}

fn b64_hash(text: &str) -> Sha256Hash {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    Sha256Hash::new(bytes.try_into().unwrap())
}

/// A token from `toto testbed token`, for the server in `dir`.
fn served_token(dir: &Path, identity: &str) -> String {
    let out = toto()
        .args([
            "testbed",
            "token",
            "--identity",
            identity,
            "--lifetime",
            "3600",
            "--dir",
        ])
        .arg(dir)
        .output()
        .unwrap();
    expect_code(&out, 0, "testbed token");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `toto sign-blob --keyless --identity-token TOKEN --trust-config CONFIG BLOB`.
fn sign_blob(token: &str, trust_config: &Path, blob: &Path) -> Command {
    let mut c = toto();
    c.args([
        "sign-blob",
        "--keyless",
        "--identity-token",
        token,
        "--trust-config",
    ])
    .arg(trust_config)
    .arg(blob);
    c
}

#[test]
fn kill_9_mid_load_loses_no_acknowledged_entry() {
    let dir = tempdir();
    let state = dir.path().join("testbed");
    let (mut server, issuer) = serve(&state);
    let token = served_token(&state, "load@example.com");
    let trust_config = state.join("trust_config.json");
    let work = dir.path().join("blobs");
    std::fs::create_dir_all(&work).unwrap();

    // Six clients sign blobs until the server dies under them.
    let stop = AtomicBool::new(false);
    let acknowledged: Vec<PathBuf> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..6)
            .map(|client| {
                let (stop, work, token, trust_config) = (&stop, &work, &token, &trust_config);
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    for n in 0.. {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let blob = work.join(format!("c{client}-{n}"));
                        std::fs::write(&blob, format!("client {client} blob {n}\n")).unwrap();
                        let out = sign_blob(token, trust_config, &blob).output().unwrap();
                        let bundle = work.join(format!("c{client}-{n}.sigstore.json"));
                        match out.status.code() {
                            Some(0) => mine.push(bundle),
                            // The server died mid-request: a clear error, no bundle.
                            _ => {
                                assert!(!bundle.exists(), "a bundle after a failed signing");
                                assert!(
                                    String::from_utf8_lossy(&out.stderr).contains("toto: error")
                                );
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        let started = Instant::now();
        while std::fs::read_dir(&work)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".sigstore.json")
            })
            .count()
            < 30
            && started.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::SeqCst);
        clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect()
    });
    assert!(
        acknowledged.len() >= 30,
        "only {} signings before the kill",
        acknowledged.len()
    );

    // What a crash in the middle of an append leaves behind.
    let log = state.join("log.jsonl");
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    file.write_all(br#"{"body":"eyJhcGlWZXJzaW9uIjoi"#).unwrap();
    drop(file);

    let (mut server, url) = serve(&state);
    let info = get_json(&url, "/api/v1/log");
    let size = info["treeSize"].as_u64().unwrap();
    let root = hash(info["rootHash"].as_str().unwrap());
    let mut seen_before = (0u64, root);
    for bundle in &acknowledged {
        let b: Value = serde_json::from_str(&std::fs::read_to_string(bundle).unwrap()).unwrap();
        let entry = &b["verificationMaterial"]["tlogEntries"][0];
        let index: u64 = entry["logIndex"].as_str().unwrap().parse().unwrap();
        assert!(
            index < size,
            "acknowledged entry {index} lost (tree size {size})"
        );
        let logged = get_json(&url, &format!("/api/v1/log/entries?logIndex={index}"));
        let logged = logged.as_object().unwrap().values().next().unwrap();
        assert_eq!(
            logged["body"], entry["canonicalizedBody"],
            "entry {index} changed"
        );
        // Every acknowledged bundle still verifies.
        let blob = bundle.with_extension("").with_extension("");
        let out = verify_bundle(bundle)
            .signer("load@example.com", &issuer)
            .trusted_root(state.join("trusted_root.json"))
            .arg(&blob)
            .output()
            .unwrap();
        expect_code(&out, 0, "an acknowledged bundle after the restart");
        let proof = &entry["inclusionProof"];
        let tree_size: u64 = proof["treeSize"].as_str().unwrap().parse().unwrap();
        if tree_size > seen_before.0 {
            seen_before = (tree_size, b64_hash(proof["rootHash"].as_str().unwrap()));
        }
    }
    // The largest tree a client saw before the kill is a prefix of today's.
    let (old_size, old_root) = seen_before;
    let proof = get_json(
        &url,
        &format!("/api/v1/log/proof?firstSize={old_size}&lastSize={size}"),
    );
    let hashes: Vec<Sha256Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash(h.as_str().unwrap()))
        .collect();
    sigstore_merkle::verify_consistency_proof(old_size, size, &hashes, &old_root, &root).unwrap();
    // The torn line is gone and the log takes new entries.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count() as u64, size);
    let blob = work.join("after");
    std::fs::write(&blob, "after the restart\n").unwrap();
    let out = sign_blob(&token, &state.join("trust_config.json"), &blob)
        .output()
        .unwrap();
    expect_code(&out, 0, "signing after the restart");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn a_slow_service_times_out_with_a_clear_error() {
    let (dir, tb) = tempdir_testbed();
    tb.set_faults(testbed::Faults {
        delay: Some(Duration::from_secs(30)),
        ..Default::default()
    });
    let blob = dir.path().join("a.bin");
    std::fs::write(&blob, "x\n").unwrap();
    let token = token(&tb, "slow@example.com");
    let started = Instant::now();
    let out = sign_blob(&token, &tb.trust_config_path(), &blob)
        .env("TOTO_HTTP_TIMEOUT", "1")
        .output()
        .unwrap();
    expect_code(&out, 2, "a service slower than the timeout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Fulcio") && stderr.contains("timeout"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout was not applied"
    );
    assert!(!dir.path().join("a.bin.sigstore.json").exists());
}

/// The testbed mints tokens for any identity, so only the user who started
/// it may ask: its keys and the client secret in `--dir/keys` are readable
/// by that user alone (0600, in a 0700 directory), and `POST /oauth/token`,
/// the device-flow approval and the GitHub Actions token endpoint refuse
/// (401) a request without that secret or with another one.
#[test]
fn only_the_testbed_user_can_mint_tokens() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempdir();
    let state = dir.path().join("testbed");
    let (mut server, url) = serve(&state);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let keys = state.join("keys");
    assert_eq!(mode(&keys), 0o700, "{}", keys.display());
    let mut files = 0;
    for entry in std::fs::read_dir(&keys).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    assert!(files >= 6, "{files} files in keys/");
    let secret = std::fs::read_to_string(keys.join("client-secret")).unwrap();
    let secret = secret.trim();
    assert!(secret.len() >= 32, "a short secret");

    let mint = r#"{"identity":"mallory@example.com"}"#;
    let approve = r#"{"user_code":"BCDF-GHJK","identity":"mallory@example.com"}"#;
    for (what, auth) in [
        ("no credential", None),
        (
            "a wrong credential",
            Some("Bearer not-the-secret".to_owned()),
        ),
        ("the secret without Bearer", Some(secret.to_owned())),
    ] {
        let auth = auth.as_deref();
        let (status, body) = request(&url, "POST", "/oauth/token", auth, mint);
        assert_eq!(status, 401, "token with {what}: {body}");
        assert!(!body.contains("id_token"), "token with {what}: {body}");
        let (status, body) = request(&url, "POST", "/oauth/device/approve", auth, approve);
        assert_eq!(status, 401, "approval with {what}: {body}");
        let path = "/github-actions/token?workflow=o/r/.github/workflows/x.yml@refs/heads/main";
        let (status, body) = request(&url, "GET", path, auth, "");
        assert_eq!(status, 401, "GitHub Actions token with {what}: {body}");
    }
    let bearer = format!("Bearer {secret}");
    let (status, body) = request(&url, "POST", "/oauth/token", Some(&bearer), mint);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("id_token"), "{body}");
    // `toto testbed token` reads what it needs from --dir.
    assert!(served_token(&state, "alice@example.com").starts_with("eyJ"));
    server.kill().unwrap();
    server.wait().unwrap();
}
