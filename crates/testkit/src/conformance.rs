//! The sigstore-conformance bundle-verification cases
//! (`../shared/vectors/sigstore-conformance/bundle-verify`): each case's
//! bundle, artifact, trusted root and policy, with the suite's defaults
//! filled in, and whether it must fail.

use std::path::{Path, PathBuf};

/// The identity a case is signed by unless its `identity` file says otherwise.
pub const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
/// The OIDC issuer of a case unless its `issuer` file says otherwise.
pub const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// How many bundle-verification cases the suite holds.
pub const CASES: usize = 70;

/// `../shared/vectors/sigstore-conformance`.
///
/// Panics, naming the directory, when it is missing.
pub fn dir() -> PathBuf {
    let dir = crate::shared().join("vectors/sigstore-conformance");
    if !dir.is_dir() {
        panic!(
            "reference material missing: expected {} (check out ../shared beside the repo, or set TOTO_SHARED)",
            dir.display()
        );
    }
    dir
}

/// The production trusted root the cases use unless they bring their own.
pub fn production_trusted_root() -> PathBuf {
    dir().join("trusted_roots/production_trusted_root.json")
}

/// One bundle-verification case.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case's directory name (`happy-path-v0.3`).
    pub name: String,
    /// The case's directory.
    pub dir: PathBuf,
    /// Its `bundle.sigstore.json` (absent in a few cases that must fail).
    pub bundle: PathBuf,
    /// Its own `artifact`, else the suite's `a.txt`.
    pub artifact: PathBuf,
    /// Its own `trusted_root.json`, else the production root.
    pub trusted_root: PathBuf,
    /// Its `key.pub` when it is verified by key rather than identity.
    pub key: Option<PathBuf>,
    /// The certificate identity expected (the default unless `identity` says).
    pub identity: String,
    /// The OIDC issuer expected (the default unless `issuer` says).
    pub issuer: String,
    /// The name ends in `_fail`: every client must refuse it.
    pub must_fail: bool,
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The case in directory `name`.
pub fn case(name: &str) -> Case {
    let base = dir().join("bundle-verify");
    let dir = base.join(name);
    let own = |file: &str| Some(dir.join(file)).filter(|p| p.exists());
    Case {
        name: name.to_owned(),
        bundle: dir.join("bundle.sigstore.json"),
        artifact: own("artifact").unwrap_or_else(|| base.join("a.txt")),
        trusted_root: own("trusted_root.json").unwrap_or_else(production_trusted_root),
        key: own("key.pub"),
        identity: read_trimmed(&dir.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into()),
        issuer: read_trimmed(&dir.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into()),
        must_fail: name.ends_with("_fail"),
        dir,
    }
}

/// Every case, sorted by name; panics unless there are [`CASES`].
pub fn cases() -> Vec<Case> {
    let base = dir().join("bundle-verify");
    let mut names: Vec<String> = std::fs::read_dir(&base)
        .unwrap_or_else(|e| panic!("{}: {e}", base.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if names.len() != CASES {
        panic!(
            "{}: {} cases, expected the {CASES} conformance cases",
            base.display(),
            names.len()
        );
    }
    names.iter().map(|name| case(name)).collect()
}
