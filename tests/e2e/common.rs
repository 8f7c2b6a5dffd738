//! Helpers: the binary, the shared vectors, the Python peer, temp dirs,
//! the loopback testbed, the verify command lines, the README's commands.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared` beside the repository (or `TOTO_SHARED`),
/// `../shared/vectors/intoto/<rel>`, and the Python peers (`TOTO_PYTHON`).
pub use testkit::{python, shared, token, vector};

/// A command running the toto binary.
pub fn toto() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_toto"));
    c.env_remove("TOTO_KEY_PASSWORD");
    c
}

/// `toto` with no identity token in its environment.
pub fn tokenless() -> Command {
    let mut c = toto();
    for name in [
        "SIGSTORE_ID_TOKEN",
        "SIGSTORE_IDENTITY_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
    ] {
        c.env_remove(name);
    }
    c
}

/// `toto ARGS` run in `dir`, to its end.
pub fn toto_in(dir: &Path, args: &[&str]) -> Output {
    toto().current_dir(dir).args(args).output().unwrap()
}

/// `tests/peer/js/verify.js` (sigstore-js), or `None` (outside CI only).
pub fn node_peer(test: &str) -> Option<PathBuf> {
    testkit::peer("TOTO_NODE_PEER", "the sigstore-js peer", test)
}

/// The directory holding the Python venv's scripts (in-toto-run, …).
pub fn python_bin_dir(python: &Path) -> PathBuf {
    python.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The reference implementation's `tool` (`in-toto-verify`, `in-toto-run`,
/// …) from the venv of `python`, run in `dir` with `args`, to its end.
pub fn reference_tool(python: &Path, tool: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(python_bin_dir(python).join(tool))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// Runs `tests/peer/peer.py ARGS` with `python`.
pub fn peer(python: &Path, args: &[&str]) -> Output {
    Command::new(python)
        .arg(repo_path("tests/peer/peer.py"))
        .args(args)
        .output()
        .unwrap()
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// For `test`: the Python peer ([`python`]) and a fresh temporary
/// directory; `None` without the peer (outside CI only).
pub fn python_tempdir(test: &str) -> Option<(PathBuf, tempfile::TempDir)> {
    Some((python(test)?, tempdir()))
}

/// Copies the files of `from` into the directory `to`.
pub fn copy_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The reference's demo chain (its signed evidence) copied into a fresh
/// directory, where its inspection may write.
pub fn demo_copy() -> tempfile::TempDir {
    let dir = tempdir();
    copy_files(&vector("demo_metablock_good"), dir.path());
    dir
}

/// The files in `dir` whose names end with `suffix`, sorted.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

/// The first file in `dir` whose name ends with `suffix`.
#[track_caller]
pub fn file_ending(dir: &Path, suffix: &str) -> PathBuf {
    let files = files_ending(dir, suffix);
    let first = files.first();
    first
        .unwrap_or_else(|| panic!("no *{suffix} in {}", dir.display()))
        .clone()
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

/// Asserts a peer refused (exited with anything but 0); `what` says what
/// it would have accepted.
#[track_caller]
pub fn expect_refused(output: &Output, what: &str) {
    assert_ne!(
        output.status.code(),
        Some(0),
        "{what}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts the exit code and that stderr says `needle`.
#[track_caller]
pub fn expect_error(output: &Output, code: i32, needle: &str, what: &str) {
    expect_code(output, code, what);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(needle), "{what}: {stderr}");
}

/// Asserts the exit code and that stdout says every one of `needles`.
#[track_caller]
pub fn expect_stdout(output: &Output, code: i32, needles: &[&str], what: &str) {
    expect_code(output, code, what);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for needle in needles {
        assert!(stdout.contains(needle), "{what}: {needle:?} in {stdout}");
    }
}

/// Asserts the exit code and that stderr, then stdout, says `needle`.
#[track_caller]
pub fn expect_said(output: &Output, code: i32, needle: &str, what: &str) {
    expect_code(output, code, what);
    let said = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(said.contains(needle), "{what}: {said}");
}

/// Key types of the reference vectors, with their 8-digit key id prefixes.
pub const VECTOR_KEYS: [(&str, &str); 5] = [
    ("ed25519", "6f2fb44c"),
    ("p256", "a39bd120"),
    ("p384", "8bdeb627"),
    ("p521", "c5a38f60"),
    ("rsa", "1a14cce4"),
];

/// Writes `text` to `path`; returns the path.
pub fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_owned()
}

/// A loopback testbed keeping its state in `dir/testbed`.
pub fn start_testbed(dir: &Path) -> testbed::Testbed {
    testkit::testbed(&dir.join("testbed"))
}

/// A fresh temporary directory and a loopback testbed keeping its state
/// there (dropped in that order's reverse: the testbed first).
pub fn tempdir_testbed() -> (tempfile::TempDir, testbed::Testbed) {
    let dir = tempdir();
    let tb = start_testbed(dir.path());
    (dir, tb)
}

/// A loopback testbed in a fresh temporary directory, a forge holding the
/// testbed's keys ([`testkit::forge`]), and the artifact `app.tar.gz`.
pub struct Forged {
    pub dir: tempfile::TempDir,
    pub tb: testbed::Testbed,
    pub forge: testkit::forge::Forge,
    pub artifact: PathBuf,
}

impl Forged {
    /// The fixture, with `artifact` as the artifact's bytes.
    pub fn new(artifact: &[u8]) -> Forged {
        let (dir, tb) = tempdir_testbed();
        let forge = testkit::forge::Forge::open(tb.dir()).unwrap();
        let path = dir.path().join("app.tar.gz");
        std::fs::write(&path, artifact).unwrap();
        Forged {
            dir,
            tb,
            forge,
            artifact: path,
        }
    }

    /// `name` in the fixture's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The testbed's default faults (none) with `set` applied.
pub fn faults(set: fn(&mut testbed::Faults)) -> testbed::Faults {
    let mut faults = testbed::Faults::default();
    set(&mut faults);
    faults
}

/// A testbed token for a GitHub Actions `workflow` run on `runner`
/// (`github-hosted` or `self-hosted`).
pub fn github_actions_token(tb: &testbed::Testbed, workflow: &str, runner: &str) -> String {
    tb.token(&testbed::TokenRequest {
        github_workflow: Some(workflow.into()),
        runner_environment: Some(runner.into()),
        ..Default::default()
    })
    .unwrap()
}

/// `--keyless --trust-config TESTBED --identity-token TOKEN`.
pub fn keyless(tb: &testbed::Testbed, token: &str) -> Vec<String> {
    vec![
        "--keyless".into(),
        "--trust-config".into(),
        tb.trust_config_path().display().to_string(),
        "--identity-token".into(),
        token.into(),
    ]
}

/// The build step's materials, products and command after `toto run -n
/// build`'s other flags: `src/main.c` copied to the product `app`.
pub const BUILD_STEP: [&str; 8] = [
    "-m",
    "src",
    "-p",
    "app",
    "--",
    "sh",
    "-c",
    "cp src/main.c app",
];

/// `toto run -n build --keyless` in `work` with `token`: [`BUILD_STEP`].
pub fn keyless_build(tb: &testbed::Testbed, token: &str, work: &Path) -> Output {
    toto()
        .current_dir(work)
        .args(["run", "-n", "build"])
        .args(keyless(tb, token))
        .args(BUILD_STEP)
        .output()
        .unwrap()
}

/// `toto sign-blob --keyless ARTIFACT`: the bundle beside the artifact.
pub fn sign_blob(tb: &testbed::Testbed, token: &str, artifact: &Path) -> Output {
    toto()
        .arg("sign-blob")
        .args(keyless(tb, token))
        .arg(artifact)
        .output()
        .unwrap()
}

/// `toto key generate EXTRA… -o PATH`, which must succeed: a new key
/// pair `PATH` and `PATH.pub`.
#[track_caller]
pub fn generate_key(path: &Path, extra: &[&str]) {
    let mut generate = toto();
    generate
        .args(["key", "generate"])
        .args(extra)
        .arg("-o")
        .arg(path);
    let what = format!("key generate {extra:?} -o {}", path.display());
    expect_code(&generate.output().unwrap(), 0, &what);
}

/// The help `toto COMMAND… --help` prints, which must succeed.
#[track_caller]
pub fn help_of(command: &[&str]) -> String {
    let out = toto().args(command).arg("--help").output().unwrap();
    expect_code(&out, 0, &format!("{} --help", command.join(" ")));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `toto attest KEYLESS… --predicate-type https://slsa.dev/provenance/v1
/// --predicate PREDICATE --subject SUBJECT -o BUNDLE`, which must succeed.
#[track_caller]
pub fn attest_provenance(keyless: &[String], predicate: &Path, subject: &Path, bundle: &Path) {
    attest_predicate(
        keyless,
        "https://slsa.dev/provenance/v1",
        predicate,
        subject,
        bundle,
    );
}

/// `toto attest KEYLESS… --predicate-type TYPE --predicate PREDICATE
/// --subject SUBJECT -o BUNDLE`, which must succeed.
#[track_caller]
pub fn attest_predicate(
    keyless: &[String],
    predicate_type: &str,
    predicate: &Path,
    subject: &Path,
    bundle: &Path,
) {
    let out = toto()
        .arg("attest")
        .args(keyless)
        .args(["--predicate-type", predicate_type])
        .arg("--predicate")
        .arg(predicate)
        .arg("--subject")
        .arg(subject)
        .arg("-o")
        .arg(bundle)
        .output()
        .unwrap();
    expect_code(&out, 0, &format!("toto attest --keyless, {predicate_type}"));
}

/// A new key pair `owner`(.pub), and the layout `toml` describes written
/// to `layout` and signed with it.
pub fn owner_signed_layout(toml: &Path, owner: &Path, layout: &Path) {
    generate_key(owner, &[]);
    let out = toto()
        .args(["layout", "new"])
        .arg(toml)
        .arg("-o")
        .arg(layout)
        .output()
        .unwrap();
    expect_code(&out, 0, "layout new");
    let out = toto()
        .args(["layout", "sign", "--key"])
        .arg(owner)
        .arg(layout)
        .output()
        .unwrap();
    expect_code(&out, 0, "layout sign");
}

/// A layout step (TOML) `name`, performed by `identity` of `issuer`, with
/// its `rules` (TOML lines).
pub fn keyless_step(name: &str, identity: &str, issuer: &str, rules: &str) -> String {
    format!(
        "[[steps]]\nname = \"{name}\"\n\
         identities = [{{ identity = \"{identity}\", issuer = \"{issuer}\" }}]\n{rules}"
    )
}

/// In `dir`: `layout.toml` with `toml`, and from it `root.layout` signed by
/// a new key pair `owner`(.pub); returns the owner's key and the layout.
pub fn layout_signed_in(dir: &Path, toml: &str) -> (PathBuf, PathBuf) {
    let (owner, layout) = (dir.join("owner"), dir.join("root.layout"));
    owner_signed_layout(&write(&dir.join("layout.toml"), toml), &owner, &layout);
    (owner, layout)
}

/// `toto verify` of the links in `link_dir` against `layout` signed by
/// `owner` (.pub), with the testbed's trusted root for keyless links.
pub fn verify_chain(layout: &Path, owner: &Path, link_dir: &Path, tb: &testbed::Testbed) -> Output {
    toto()
        .args(["verify", "--layout"])
        .arg(layout)
        .arg("--layout-key")
        .arg(owner.with_extension("pub"))
        .arg("--link-dir")
        .arg(link_dir)
        .arg("--trusted-root")
        .arg(tb.trusted_root_path())
        .output()
        .unwrap()
}

/// `toto envelope verify --key KEY ENVELOPE`.
pub fn envelope_verify(key: impl AsRef<OsStr>, envelope: impl AsRef<OsStr>) -> Output {
    toto()
        .args(["envelope", "verify", "--key"])
        .arg(key)
        .arg(envelope)
        .output()
        .unwrap()
}

/// `toto verify-bundle --bundle BUNDLE`; the caller adds the signer
/// ([`VerifyFlags`]) and the artifact.
pub fn verify_bundle(bundle: impl AsRef<OsStr>) -> Command {
    toto_bundle("verify-bundle", bundle)
}

/// `toto COMMAND --bundle BUNDLE`.
fn toto_bundle(command: &str, bundle: impl AsRef<OsStr>) -> Command {
    let mut c = toto();
    c.args([command, "--bundle"]).arg(bundle);
    c
}

/// `toto verify-attestation --bundle BUNDLE`; the caller adds the signer
/// ([`VerifyFlags`]) and the subject.
pub fn verify_attestation(bundle: impl AsRef<OsStr>) -> Command {
    toto_bundle("verify-attestation", bundle)
}

/// The flags `toto verify-bundle` and `toto verify-attestation` share.
pub trait VerifyFlags {
    /// `--certificate-identity IDENTITY --certificate-oidc-issuer ISSUER`.
    fn signer(&mut self, identity: &str, issuer: &str) -> &mut Self;
    /// `--trusted-root PATH`.
    fn trusted_root(&mut self, path: impl AsRef<OsStr>) -> &mut Self;
    /// `--subject PATH` (verify-attestation).
    fn subject(&mut self, path: impl AsRef<OsStr>) -> &mut Self;
    /// Signed by `identity` at the testbed's issuer, checked against the
    /// testbed's trusted root.
    fn testbed_signer(&mut self, tb: &testbed::Testbed, identity: &str) -> &mut Self {
        self.signer(identity, tb.issuer())
            .trusted_root(tb.trusted_root_path())
    }
}

impl VerifyFlags for Command {
    fn signer(&mut self, identity: &str, issuer: &str) -> &mut Self {
        self.args([
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
        ])
    }

    fn trusted_root(&mut self, path: impl AsRef<OsStr>) -> &mut Self {
        self.arg("--trusted-root").arg(path)
    }

    fn subject(&mut self, path: impl AsRef<OsStr>) -> &mut Self {
        self.arg("--subject").arg(path)
    }
}

/// One test's testbed, with the artifact `signer` signs and another file
/// beside it (`other`, not the artifact's bytes), in a temporary directory.
pub struct Signing {
    pub dir: tempfile::TempDir,
    pub tb: testbed::Testbed,
    pub artifact: PathBuf,
    pub other: PathBuf,
    pub signer: &'static str,
    pub token: String,
}

impl Signing {
    /// A testbed from `start` (given the directory); the artifact is the
    /// file `artifact` (its bytes name it).
    pub fn new(
        start: fn(&Path) -> testbed::Testbed,
        signer: &'static str,
        artifact: &str,
    ) -> Signing {
        let dir = tempdir();
        let tb = start(dir.path());
        let artifact = write(
            &dir.path().join(artifact),
            &format!("the bytes of {artifact}\n"),
        );
        let other = write(&dir.path().join("other"), "not the artifact\n");
        let token = token(&tb, signer);
        Signing {
            dir,
            tb,
            artifact,
            other,
            signer,
            token,
        }
    }

    /// `name` in the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `toto sign-blob --keyless` of the artifact into `bundle`.
    pub fn sign_blob(&self, bundle: &Path) -> Output {
        toto()
            .arg("sign-blob")
            .args(keyless(&self.tb, &self.token))
            .arg("--bundle")
            .arg(bundle)
            .arg(&self.artifact)
            .output()
            .unwrap()
    }

    /// `toto attest --keyless` of the artifact into `bundle`.
    pub fn attest(&self, bundle: &Path) -> Output {
        toto()
            .arg("attest")
            .args(keyless(&self.tb, &self.token))
            .args([
                "--predicate-type",
                "https://example.com/review/v1",
                "--subject",
            ])
            .arg(&self.artifact)
            .arg("-o")
            .arg(bundle)
            .output()
            .unwrap()
    }

    /// A blob bundle and an attestation of the artifact by toto:
    /// `STEM.sigstore.json` and `STEM.att.sigstore.json`.
    pub fn sign_both(&self, stem: &str) -> (PathBuf, PathBuf) {
        let blob = self.path(&format!("{stem}.sigstore.json"));
        expect_code(&self.sign_blob(&blob), 0, "toto sign-blob --keyless");
        let attestation = self.path(&format!("{stem}.att.sigstore.json"));
        expect_code(&self.attest(&attestation), 0, "toto attest --keyless");
        (blob, attestation)
    }

    /// toto's verdict on `bundle` as the signer's, over the artifact.
    pub fn verify_bundle(&self, bundle: &Path) -> Output {
        testbed_verify_bundle(&self.tb, bundle, self.signer, &self.artifact)
    }

    /// `verify` (toto's [`testbed_verify_bundle`] or
    /// [`testbed_verify_attestation`]) accepts `bundle` as the signer's over
    /// the artifact, and refuses it (exit 1) over the other file and as
    /// `stranger`'s.
    #[track_caller]
    pub fn expect_bound(
        &self,
        verify: fn(&testbed::Testbed, &Path, &str, &Path) -> Output,
        bundle: &Path,
        stranger: &str,
        what: &str,
    ) {
        let (tb, signer, artifact) = (&self.tb, self.signer, &self.artifact);
        expect_code(&verify(tb, bundle, signer, artifact), 0, what);
        expect_code(
            &verify(tb, bundle, signer, &self.other),
            1,
            &format!("{what}: another artifact"),
        );
        expect_code(
            &verify(tb, bundle, stranger, artifact),
            1,
            &format!("{what}: another identity"),
        );
    }

    /// sigstore-python's verdict on `bundle` as `identity`'s over `file`.
    pub fn python_verify(&self, py: &Path, bundle: &Path, identity: &str, file: &Path) -> Output {
        python_verify(py, &self.tb, bundle, identity, file)
    }

    /// sigstore-js (`script`) accepts toto's `blob` and `attestation` as
    /// the signer's and refuses them as another's, and refuses the blob
    /// over the other file. For a DSSE bundle sigstore-js checks the
    /// envelope, not the Statement's subjects (that is the caller's
    /// policy), so only the blob is bound to the artifact here.
    #[track_caller]
    pub fn expect_js_verdicts(&self, script: &Path, blob: &Path, attestation: &Path) {
        let js = |bundle: &Path, file: &Path, identity: &str| {
            js_verify(script, &self.tb, bundle, file, identity)
        };
        for bundle in [blob, attestation] {
            expect_code(
                &js(bundle, &self.artifact, self.signer),
                0,
                "sigstore-js verifies",
            );
            expect_code(
                &js(bundle, &self.artifact, "eve@example.com"),
                1,
                "sigstore-js: wrong identity",
            );
        }
        expect_code(
            &js(blob, &self.other, self.signer),
            1,
            "sigstore-js: wrong artifact",
        );
    }
}

/// For `test`: `dana@example.com` signs a blob bundle and an attestation
/// of the artifact `pkg.tgz` with toto on the testbed `start` makes, and
/// sigstore-js accepts both as hers and refuses them as another's, and the
/// blob over the other file ([`Signing::expect_js_verdicts`]). Returns
/// sigstore-js, the signing and the blob bundle, or `None` without
/// sigstore-js (outside CI only).
pub fn js_verifies_toto_bundles(
    test: &str,
    start: fn(&Path) -> testbed::Testbed,
) -> Option<(PathBuf, Signing, PathBuf)> {
    let script = node_peer(test)?;
    let signing = Signing::new(start, "dana@example.com", "pkg.tgz");
    let (blob, attestation) = signing.sign_both("pkg");
    signing.expect_js_verdicts(&script, &blob, &attestation);
    Some((script, signing, blob))
}

/// `toto verify-bundle` of `bundle` over `file`, signed by `identity` on
/// the testbed.
pub fn testbed_verify_bundle(
    tb: &testbed::Testbed,
    bundle: &Path,
    identity: &str,
    file: &Path,
) -> Output {
    verify_bundle(bundle)
        .testbed_signer(tb, identity)
        .arg(file)
        .output()
        .unwrap()
}

/// `toto verify-attestation` of `bundle` for `subject`, signed by
/// `identity` on the testbed.
pub fn testbed_verify_attestation(
    tb: &testbed::Testbed,
    bundle: &Path,
    identity: &str,
    subject: &Path,
) -> Output {
    verify_attestation(bundle)
        .testbed_signer(tb, identity)
        .subject(subject)
        .output()
        .unwrap()
}

/// sigstore-python's `sigstore` from the venv of `python`, with no identity
/// token in its environment.
pub fn sigstore(python: &Path) -> Command {
    let mut c = Command::new(python_bin_dir(python).join("sigstore"));
    c.env_remove("SIGSTORE_IDENTITY_TOKEN");
    c
}

/// `sigstore … verify identity --bundle BUNDLE --cert-identity IDENTITY
/// --cert-oidc-issuer ISSUER`, after the global options already on
/// `sigstore`; the caller adds the files.
pub fn sigstore_verify(
    mut sigstore: Command,
    bundle: &Path,
    identity: &str,
    issuer: &str,
) -> Command {
    sigstore
        .args(["verify", "identity", "--bundle"])
        .arg(bundle)
        .args(["--cert-identity", identity, "--cert-oidc-issuer", issuer]);
    sigstore
}

/// `sigstore --trust-config TESTBED`.
pub fn sigstore_on(python: &Path, tb: &testbed::Testbed) -> Command {
    let mut c = sigstore(python);
    c.arg("--trust-config").arg(tb.trust_config_path());
    c
}

/// sigstore-python's verdict on `bundle` over `file`, signed by `identity`
/// on the testbed.
pub fn python_verify(
    python: &Path,
    tb: &testbed::Testbed,
    bundle: &Path,
    identity: &str,
    file: &Path,
) -> Output {
    sigstore_verify(sigstore_on(python, tb), bundle, identity, tb.issuer())
        .arg(file)
        .output()
        .unwrap()
}

/// `sigstore sign EXTRA… --identity-token TOKEN --bundle BUNDLE ARTIFACT`
/// against the testbed.
pub fn python_sign(
    python: &Path,
    tb: &testbed::Testbed,
    token: &str,
    extra: &[&str],
    bundle: &Path,
    artifact: &Path,
) -> Output {
    sigstore_on(python, tb)
        .arg("sign")
        .args(extra)
        .args(["--identity-token", token, "--bundle"])
        .arg(bundle)
        .arg(artifact)
        .output()
        .unwrap()
}

/// A SLSA v1 provenance predicate with only the required fields.
pub const PROVENANCE: &str = r#"{"buildDefinition":{"buildType":"https://example.com/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}"#;

/// `sigstore attest` of `artifact` with the SLSA v1 provenance in
/// `predicate`, into `bundle`, against the testbed.
pub fn python_attest(
    python: &Path,
    tb: &testbed::Testbed,
    token: &str,
    predicate: &Path,
    bundle: &Path,
    artifact: &Path,
) -> Output {
    sigstore_on(python, tb)
        .args([
            "attest",
            "--identity-token",
            token,
            "--predicate-type",
            "https://slsa.dev/provenance/v1",
            "--predicate",
        ])
        .arg(predicate)
        .arg("--bundle")
        .arg(bundle)
        .arg(artifact)
        .output()
        .unwrap()
}

/// sigstore-js's verdict (`tests/peer/js/verify.js` at `script`) on
/// `bundle` over `file`, signed by `identity` on the testbed.
pub fn js_verify(
    script: &Path,
    tb: &testbed::Testbed,
    bundle: &Path,
    file: &Path,
    identity: &str,
) -> Output {
    Command::new("node")
        .arg(script)
        .arg(tb.trusted_root_path())
        .arg(bundle)
        .arg(file)
        .args([identity, tb.issuer()])
        .output()
        .unwrap()
}

/// A path in the repository (`rel` from its root).
pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// A file of the repository, as text (`rel` from its root).
pub fn repo_text(rel: &str) -> String {
    std::fs::read_to_string(repo_path(rel)).unwrap()
}

/// The lines of the README's first code block after `marker`, without its
/// opening fence.
pub fn readme_block(marker: &str) -> String {
    let readme = repo_text("README.md");
    let after = readme
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("README lacks {marker}"));
    let block = after.split("```").nth(1).unwrap();
    block.lines().skip(1).collect::<Vec<_>>().join("\n")
}

/// Splits a README command line: whitespace, and single quotes.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quote in {line}");
    if started {
        words.push(word);
    }
    words
}

/// Runs the `toto` commands of the README's shell block after `marker`, as
/// written, from `dir` (comments and `cd` skipped): each must exit 0.
/// Returns how many ran.
pub fn readme_commands_pass(marker: &str, dir: &Path) -> usize {
    let joined = readme_block(marker).replace("\\\n", " ");
    let commands: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("cd "))
        .collect();
    let cache = tempdir();
    for command in &commands {
        let words = shell_words(command);
        assert_eq!(words[0], "toto", "{command}");
        let out = toto()
            .current_dir(dir)
            .env("XDG_CACHE_HOME", cache.path())
            .args(&words[1..])
            .output()
            .unwrap();
        expect_code(&out, 0, command);
    }
    commands.len()
}

/// DER as PEM under `label` (e.g. `CERTIFICATE`, `PRIVATE KEY`).
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A TLS server certificate for 127.0.0.1 from a throw-away CA named
/// `ca_name`, valid for the next hour.
pub struct LoopbackTls {
    /// The CA certificate, written to `dir/ca.pem`.
    pub ca_pem: PathBuf,
    /// The server certificate (DER).
    pub leaf_der: Vec<u8>,
    /// The server's key.
    pub key: p256::ecdsa::SigningKey,
}

/// A [`LoopbackTls`], its CA written to `dir/ca.pem`.
pub fn loopback_tls(dir: &Path, ca_name: &str) -> LoopbackTls {
    let now = testbed::now();
    let ca = testbed::pki::Authority::new(
        p256::ecdsa::SigningKey::random(&mut rand_core::OsRng),
        ca_name,
        None,
        now - 60,
        now + 3600,
    )
    .unwrap();
    let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let leaf_der = ca
        .issue_tls_server(&key, "127.0.0.1".parse().unwrap(), now - 60, now + 3600)
        .unwrap();
    let ca_pem = write(&dir.join("ca.pem"), &pem("CERTIFICATE", ca.cert_der()));
    LoopbackTls {
        ca_pem,
        leaf_der,
        key,
    }
}
