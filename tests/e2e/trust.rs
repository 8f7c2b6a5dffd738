//! `toto trust update` against a local TUF repository written by python-tuf
//! (`tests/peer/tuf_repo.py`): targets fetched byte-identical and usable, a
//! root rotation followed, and expired, tampered, rolled-back and
//! unreachable repositories refused with the documented exit codes.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use sha2::{Digest as _, Sha256};

use crate::common::{
    expect_code, expect_error, python, python_tempdir, repo_path, shared, sign_blob, start_testbed,
    tempdir, token, toto, verify_bundle, VerifyFlags,
};

/// Runs `tests/peer/tuf_repo.py COMMAND WORK ARGS`.
fn repo_tool(python: &Path, command: &str, work: &Path, args: &[&Path]) {
    let out = Command::new(python)
        .arg(repo_path("tests/peer/tuf_repo.py"))
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

/// For `test`: the Python peer, a temporary directory, and there a
/// repository serving the production trusted root ([`production_repo`]):
/// `(python, dir, work, cache)`; `None` without the peer (outside CI only).
fn production_test(test: &str) -> Option<(PathBuf, tempfile::TempDir, PathBuf, PathBuf)> {
    let py = python(test)?;
    let tmp = tempdir();
    let (work, cache) = production_repo(&py, tmp.path());
    Some((py, tmp, work, cache))
}

/// A testbed in `tmp`, and a repository in `tmp/work/repo` serving its
/// trusted root and signing config (copied to `tmp/signing_config.v0.2.json`,
/// the target name); returns them, `tmp/work` and the cache `tmp/cache`.
fn testbed_repo(python: &Path, tmp: &Path) -> (testbed::Testbed, PathBuf, PathBuf, PathBuf) {
    let tb = start_testbed(tmp);
    let signing_config = tmp.join("signing_config.v0.2.json");
    fs::copy(tb.dir().join("signing_config.json"), &signing_config).unwrap();
    let (work, cache) = (tmp.join("work"), tmp.join("cache"));
    init_repo(python, &work, &[&tb.trusted_root_path(), &signing_config]);
    (tb, signing_config, work, cache)
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

/// The cache directory of the one repository in `cache`.
fn repository_cache(cache: &Path) -> PathBuf {
    let dirs: Vec<_> = fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// The target `name` as written to the cache (one repository in it).
fn cached(cache: &Path, name: &str) -> Vec<u8> {
    cached_file(cache, &format!("targets/{name}"))
}

/// The file `relative` of the cache directory of the one repository in it.
fn cached_file(cache: &Path, relative: &str) -> Vec<u8> {
    fs::read(repository_cache(cache).join(relative)).unwrap()
}

/// The files an update writes into a repository's cache directory: the
/// two targets and the metadata that lists them.
const CACHED_FILES: [&str; 4] = [
    "targets/trusted_root.json",
    "targets/signing_config.v0.2.json",
    "targets.json",
    "timestamp.json",
];

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn trust_update_writes_verified_targets_and_follows_root_rotation() {
    let Some((py, tmp)) =
        python_tempdir("trust_update_writes_verified_targets_and_follows_root_rotation")
    else {
        return;
    };
    let (tb, signing_config, work, cache) = testbed_repo(&py, tmp.path());

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
    let Some((py, _tmp, work, cache)) = production_test("trust_update_rejects_expired_timestamp")
    else {
        return;
    };
    repo_tool(&py, "expire-timestamp", &work, &[]);
    let out = update(&work, &cache);
    expect_error(&out, 1, "timestamp metadata expired", "expired timestamp");
}

#[test]
fn trust_update_rejects_tampered_target_and_keeps_the_verified_copy() {
    let Some((py, _tmp, work, cache)) =
        production_test("trust_update_rejects_tampered_target_and_keeps_the_verified_copy")
    else {
        return;
    };
    let good = fs::read(production_trusted_root()).unwrap();
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

/// A repository publishes a new trusted root and signing config, but the
/// signing config it serves does not match its hash: the update fails
/// (exit 1) and leaves both cached files, and the metadata vouching for
/// them, byte for byte as they were; the old pair is still what TUF
/// vouches for.
#[test]
fn a_failed_update_leaves_the_trusted_root_and_signing_config_as_they_were() {
    let Some(py) =
        python("a_failed_update_leaves_the_trusted_root_and_signing_config_as_they_were")
    else {
        return;
    };
    let tmp = tempdir();
    let (_tb, signing_config, work, cache) = testbed_repo(&py, tmp.path());
    expect_code(&update(&work, &cache), 0, "first update");
    let before: Vec<Vec<u8>> = CACHED_FILES
        .iter()
        .map(|f| cached_file(&cache, f))
        .collect();

    // The next release: another trusted root, another signing config.
    let next = tmp.path().join("next");
    fs::create_dir_all(&next).unwrap();
    let next_root = trusted_root_in(&next);
    let next_config = next.join("signing_config.v0.2.json");
    let text = fs::read_to_string(&signing_config).unwrap();
    fs::write(&next_config, text.replace("toto-testbed", "toto-testbed-2")).unwrap();
    repo_tool(&py, "replace", &work, &[&next_root, &next_config]);
    repo_tool(
        &py,
        "tamper",
        &work,
        &[Path::new("signing_config.v0.2.json")],
    );

    let out = update(&work, &cache);
    expect_error(
        &out,
        1,
        "signing_config.v0.2.json: sha256 mismatch",
        "a bad signing config after a good trusted root",
    );
    for (name, old) in CACHED_FILES.iter().zip(&before) {
        assert!(cached_file(&cache, name) == *old, "{name} changed");
    }
    let root = fs::read(work.join("repo/1.root.json")).unwrap();
    let vouched = keyless::tuf::cached_target(
        &repository_cache(&cache),
        &root,
        "trusted_root.json",
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(vouched, before[0], "the cache no longer verifies");
}

/// What `toto` reads from the cache is re-verified on every use against the
/// TUF metadata cached beside it: a target edited in place, edited targets
/// metadata, a root planted in the root history, expired metadata and a
/// target the metadata does not list are refused.
#[test]
fn cached_targets_are_rechecked_against_the_cached_tuf_metadata() {
    let Some((_py, _tmp, work, cache)) =
        production_test("cached_targets_are_rechecked_against_the_cached_tuf_metadata")
    else {
        return;
    };
    expect_code(&update(&work, &cache), 0, "update");
    let dir = repository_cache(&cache);
    let root = fs::read(work.join("repo/1.root.json")).unwrap();
    let now = SystemTime::now();
    let check = |name: &str, now: SystemTime| keyless::tuf::cached_target(&dir, &root, name, now);
    let good = fs::read(production_trusted_root()).unwrap();
    assert_eq!(check("trusted_root.json", now).unwrap(), good);

    let refused = |what: &str, needle: &str, result: Result<Vec<u8>, keyless::Error>| {
        let err = result.expect_err(what);
        let shown = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(
            shown.contains("cached target") && shown.contains(needle),
            "{what}: {shown}"
        );
    };
    let edit = |relative: &str, edit: &dyn Fn(&mut Vec<u8>), what: &str, needle: &str| {
        let path = dir.join(relative);
        let original = fs::read(&path).unwrap();
        let mut edited = original.clone();
        edit(&mut edited);
        fs::write(&path, &edited).unwrap();
        refused(what, needle, check("trusted_root.json", now));
        fs::write(&path, original).unwrap();
    };
    let flip = |bytes: &mut Vec<u8>| {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
    };
    edit(
        "targets/trusted_root.json",
        &flip,
        "a trusted root edited in the cache",
        "sha256 mismatch",
    );
    edit(
        "targets/trusted_root.json",
        &|bytes| bytes.push(b'\n'),
        "a trusted root grown in the cache",
        "longer than",
    );
    // Someone who can write the cache plants a root of theirs and edits the
    // targets metadata to list it.
    let planted_root = br#"{"mediaType": "planted"}"#;
    edit(
        "targets.json",
        &|bytes| {
            let mut targets: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            let listed = &mut targets["signed"]["targets"]["trusted_root.json"];
            listed["length"] = planted_root.len().into();
            listed["hashes"]["sha256"] = hex::encode(Sha256::digest(planted_root)).into();
            *bytes = serde_json::to_vec(&targets).unwrap();
            fs::write(dir.join("targets/trusted_root.json"), planted_root).unwrap();
        },
        "targets metadata edited to list a planted root",
        "threshold",
    );
    fs::write(dir.join("targets/trusted_root.json"), &good).unwrap();
    let planted = dir.join("root_history/2.root.json");
    fs::write(&planted, fs::read(work.join("repo/1.root.json")).unwrap()).unwrap();
    refused(
        "a root planted in the root history",
        "root version must increment",
        check("trusted_root.json", now),
    );
    fs::remove_file(&planted).unwrap();
    assert_eq!(check("trusted_root.json", now).unwrap(), good);
    refused(
        "metadata expired by the time of use",
        "expired",
        check(
            "trusted_root.json",
            now + std::time::Duration::from_secs(2 * 366 * 86400),
        ),
    );
    refused(
        "a target the metadata does not list",
        "not listed",
        check("signing_config.v0.2.json", now),
    );
}

#[test]
fn trust_update_rejects_timestamp_and_snapshot_rollback() {
    let Some((py, _tmp, work, cache)) =
        production_test("trust_update_rejects_timestamp_and_snapshot_rollback")
    else {
        return;
    };
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
    let Some((py, tmp)) = python_tempdir("trust_update_over_http") else {
        return;
    };
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
