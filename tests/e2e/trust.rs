//! `toto trust update` against a local TUF repository written by python-tuf
//! (`tests/peer/tuf_repo.py`): targets fetched byte-identical and usable, a
//! root rotation followed, and expired, tampered, rolled-back and
//! unreachable repositories refused with the documented exit codes.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{
    expect_code, expect_error, python, shared, sign_blob, start_testbed, tempdir, token, toto,
    verify_bundle, VerifyFlags,
};

/// Runs `tests/peer/tuf_repo.py COMMAND WORK ARGS`.
fn repo_tool(python: &Path, command: &str, work: &Path, args: &[&Path]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peer/tuf_repo.py");
    let out = Command::new(python)
        .arg(script)
        .arg(command)
        .arg(work)
        .args(args)
        .output()
        .unwrap();
    expect_code(&out, 0, &format!("tuf_repo.py {command}"));
}

/// A repository in `work/repo` serving `files` (each under its file name).
fn init_repo(python: &Path, work: &Path, files: &[&Path]) {
    repo_tool(python, "init", work, files);
}

fn production_trusted_root() -> PathBuf {
    shared().join("vectors/sigstore-conformance/trusted_roots/production_trusted_root.json")
}

/// The public-good trusted root copied to `dir/trusted_root.json`, the
/// target name clients ask for.
fn trusted_root_in(dir: &Path) -> PathBuf {
    let path = dir.join("trusted_root.json");
    fs::copy(production_trusted_root(), &path).unwrap();
    path
}

/// A repository in `tmp/work/repo` serving the public-good trusted root;
/// returns `tmp/work` and the cache directory `tmp/cache`.
fn production_repo(python: &Path, tmp: &Path) -> (PathBuf, PathBuf) {
    let (work, cache) = (tmp.join("work"), tmp.join("cache"));
    init_repo(python, &work, &[&trusted_root_in(tmp)]);
    (work, cache)
}

/// `toto trust update` from `work/repo`, trusting its version-1 root.
fn update(work: &Path, cache: &Path) -> Output {
    update_from(work.join("repo"), work, cache)
}

/// `toto trust update` from `repository` (a directory or URL) serving
/// `work/repo`, trusting its version-1 root.
fn update_from(repository: impl AsRef<OsStr>, work: &Path, cache: &Path) -> Output {
    toto()
        .args(["trust", "update", "--repository"])
        .arg(repository)
        .arg("--root")
        .arg(work.join("repo/1.root.json"))
        .arg("--cache-dir")
        .arg(cache)
        .output()
        .unwrap()
}

/// The target `name` as written to the cache (one repository in it).
fn cached(cache: &Path, name: &str) -> Vec<u8> {
    let dirs: Vec<_> = fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    fs::read(dirs[0].join("targets").join(name)).unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn trust_update_writes_verified_targets_and_follows_root_rotation() {
    let Some(py) = python("trust_update_writes_verified_targets_and_follows_root_rotation") else {
        return;
    };
    let tmp = tempdir();
    let tb = start_testbed(tmp.path());
    let signing_config = tmp.path().join("signing_config.v0.2.json");
    fs::copy(tb.dir().join("signing_config.json"), &signing_config).unwrap();
    let (work, cache) = (tmp.path().join("work"), tmp.path().join("cache"));
    init_repo(&py, &work, &[&tb.trusted_root_path(), &signing_config]);

    let out = update(&work, &cache);
    expect_code(&out, 0, "first update");
    assert!(stdout(&out).contains("root version 1"), "{}", stdout(&out));
    assert_eq!(
        cached(&cache, "trusted_root.json"),
        fs::read(tb.trusted_root_path()).unwrap()
    );
    assert_eq!(
        cached(&cache, "signing_config.v0.2.json"),
        fs::read(&signing_config).unwrap()
    );

    // New root and timestamp keys: only a client that walks 1 → 2 accepts
    // the new timestamp.
    repo_tool(&py, "rotate-root", &work, &[]);
    let out = update(&work, &cache);
    expect_code(&out, 0, "update after a root rotation");
    assert!(stdout(&out).contains("root version 2"), "{}", stdout(&out));

    // The trusted root from TUF is what verification runs on: a bundle the
    // testbed signs verifies against the cached copy.
    let token = token(&tb, "alice@example.com");
    let blob = tmp.path().join("app.bin");
    fs::write(&blob, b"app").unwrap();
    let out = sign_blob(&tb, &token, &blob);
    expect_code(&out, 0, "sign-blob against the testbed");
    let trusted_root = tmp.path().join("from_tuf.json");
    fs::write(&trusted_root, cached(&cache, "trusted_root.json")).unwrap();
    let out = verify_bundle(tmp.path().join("app.bin.sigstore.json"))
        .signer("alice@example.com", tb.issuer())
        .trusted_root(&trusted_root)
        .arg(&blob)
        .output()
        .unwrap();
    expect_code(
        &out,
        0,
        "verify-bundle with the trusted root fetched through TUF",
    );
}

#[test]
fn trust_update_rejects_expired_timestamp() {
    let Some(py) = python("trust_update_rejects_expired_timestamp") else {
        return;
    };
    let tmp = tempdir();
    let (work, cache) = production_repo(&py, tmp.path());
    repo_tool(&py, "expire-timestamp", &work, &[]);
    let out = update(&work, &cache);
    expect_error(&out, 1, "timestamp metadata expired", "expired timestamp");
}

#[test]
fn trust_update_rejects_tampered_target_and_keeps_the_verified_copy() {
    let Some(py) = python("trust_update_rejects_tampered_target_and_keeps_the_verified_copy")
    else {
        return;
    };
    let tmp = tempdir();
    let good = fs::read(production_trusted_root()).unwrap();
    let (work, cache) = production_repo(&py, tmp.path());
    expect_code(&update(&work, &cache), 0, "update before tampering");

    repo_tool(&py, "tamper", &work, &[Path::new("trusted_root.json")]);
    let out = update(&work, &cache);
    expect_error(
        &out,
        1,
        "trusted_root.json: sha256 mismatch",
        "tampered target",
    );
    assert_eq!(cached(&cache, "trusted_root.json"), good);
}

#[test]
fn trust_update_rejects_timestamp_and_snapshot_rollback() {
    let Some(py) = python("trust_update_rejects_timestamp_and_snapshot_rollback") else {
        return;
    };
    let tmp = tempdir();
    let (work, cache) = production_repo(&py, tmp.path());
    let old_timestamp = fs::read(work.join("repo/timestamp.json")).unwrap();
    repo_tool(&py, "bump", &work, &[]);
    expect_code(&update(&work, &cache), 0, "update to timestamp version 2");

    // The repository (or an attacker in front of it) serves version 1 again;
    // the cache remembers version 2.
    let new_timestamp = fs::read(work.join("repo/timestamp.json")).unwrap();
    fs::write(work.join("repo/timestamp.json"), old_timestamp).unwrap();
    let out = update(&work, &cache);
    expect_error(
        &out,
        1,
        "rollback detected for timestamp",
        "timestamp rollback",
    );

    // A fresh timestamp (version 3) that points back at snapshot version 1.
    fs::write(work.join("repo/timestamp.json"), new_timestamp).unwrap();
    repo_tool(&py, "rewind-snapshot", &work, &[]);
    let out = update(&work, &cache);
    expect_error(
        &out,
        1,
        "rollback detected for snapshot",
        "snapshot rollback",
    );
}

/// `python -m http.server` on an ephemeral port, killed on drop.
struct Server(std::process::Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(python: &Path, dir: &Path) -> Server {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(python)
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "Serving HTTP on 127.0.0.1 port 36905 (http://127.0.0.1:36905/) ..."
    let port = line
        .split(" port ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    Server(child, url)
}

#[test]
fn trust_update_over_http() {
    let Some(py) = python("trust_update_over_http") else {
        return;
    };
    let tmp = tempdir();
    let (work, cache) = (tmp.path().join("work"), tmp.path().join("cache"));
    let trusted_root = trusted_root_in(tmp.path());
    init_repo(&py, &work, &[&trusted_root]);
    repo_tool(&py, "rotate-root", &work, &[]);
    let server = serve(&py, &work.join("repo"));
    let out = update_from(&server.1, &work, &cache);
    expect_code(&out, 0, "update over HTTP");
    assert!(stdout(&out).contains("root version 2"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("signing_config.v0.2.json: not in the repository"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        cached(&cache, "trusted_root.json"),
        fs::read(&trusted_root).unwrap()
    );

    repo_tool(&py, "tamper", &work, &[Path::new("trusted_root.json")]);
    let out = update_from(&server.1, &work, &cache);
    expect_code(&out, 1, "tampered target over HTTP");
}

#[test]
fn trust_update_usage_and_network_errors_exit_2() {
    let tmp = tempdir();
    let root = shared().join("vectors/sigstore-conformance/trusted_roots/production_tuf_root.json");
    let cache = tmp.path().join("cache");
    for repository in ["http://127.0.0.1:1", "/nonexistent/tuf-repo"] {
        let out = toto()
            .args(["trust", "update", "--repository", repository, "--root"])
            .arg(&root)
            .arg("--cache-dir")
            .arg(&cache)
            .output()
            .unwrap();
        expect_error(&out, 2, "cannot fetch", repository);
    }
    // No trust on first use: another repository needs its root.
    let out = toto()
        .args([
            "trust",
            "update",
            "--repository",
            "http://127.0.0.1:1",
            "--cache-dir",
        ])
        .arg(&cache)
        .output()
        .unwrap();
    expect_error(&out, 2, "--root", "--root missing");
    // A trusted root.json is not a TUF root.
    let out = toto()
        .args(["trust", "update", "--root"])
        .arg(production_trusted_root())
        .arg("--cache-dir")
        .arg(&cache)
        .output()
        .unwrap();
    expect_error(&out, 2, "initial TUF root", "not a TUF root");
}
