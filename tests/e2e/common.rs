//! Helpers: the binary, the shared vectors, the Python peer, temp dirs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared` beside the repository (or `TOTO_SHARED`).
pub fn shared() -> PathBuf {
    let dir = match std::env::var_os("TOTO_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    assert!(
        dir.join("vectors").is_dir(),
        "reference material missing at {}: check out ../shared beside the repo",
        dir.display()
    );
    dir
}

/// `../shared/vectors/intoto/<rel>`.
pub fn vector(rel: &str) -> PathBuf {
    shared().join("vectors/intoto").join(rel)
}

/// A command running the toto binary.
pub fn toto() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_toto"));
    c.env_remove("TOTO_KEY_PASSWORD");
    c
}

/// The Python interpreter with in-toto 3.1.0, or `None` (outside CI only).
pub fn python(test: &str) -> Option<PathBuf> {
    match std::env::var_os("TOTO_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("CI").is_some() => {
            panic!("{test}: peer tests need TOTO_PYTHON in CI; run scripts/test")
        }
        None => {
            eprintln!("SKIP: {test}: Python in-toto peer not available (TOTO_PYTHON unset, CI unset); run scripts/test");
            None
        }
    }
}

/// `tests/peer/js/verify.js` (sigstore-js), or `None` (outside CI only).
pub fn node_peer(test: &str) -> Option<PathBuf> {
    match std::env::var_os("TOTO_NODE_PEER") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("CI").is_some() => {
            panic!("{test}: sigstore-js peer tests need TOTO_NODE_PEER in CI; run scripts/test")
        }
        None => {
            eprintln!("SKIP: {test}: sigstore-js peer not available (TOTO_NODE_PEER unset, CI unset); run scripts/test");
            None
        }
    }
}

/// The directory holding the Python venv's scripts (in-toto-run, …).
pub fn python_bin_dir(python: &Path) -> PathBuf {
    python.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Runs `tests/peer/peer.py ARGS` with `python`.
pub fn peer(python: &Path, args: &[&str]) -> Output {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peer/peer.py");
    Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .unwrap()
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Asserts the exit code, printing stdout and stderr on mismatch.
#[track_caller]
pub fn expect_code(output: &Output, code: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Key types of the reference vectors, with their 8-digit key id prefixes.
pub const VECTOR_KEYS: [(&str, &str); 5] = [
    ("ed25519", "6f2fb44c"),
    ("p256", "a39bd120"),
    ("p384", "8bdeb627"),
    ("p521", "c5a38f60"),
    ("rsa", "1a14cce4"),
];
