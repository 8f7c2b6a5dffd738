//! Evidence says only what happened and carries no secret (issue #17, the
//! recording side): secrets stay out of every signed or logged field, the
//! step does not get toto's own credentials, and whatever can fail after
//! the step is checked before it runs. `record` is in `record_binding`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::*;

/// The key id prefix of `keys/ed25519.pem`.
pub const ED25519: &str = "6f2fb44c";
pub const FULCIO: &str = "/api/v2/signingCert";

/// A work directory with `src/main.c`, and `record`'s state kept beside it
/// (`XDG_STATE_HOME`), so each test sees only its own.
pub struct Bench {
    pub dir: tempfile::TempDir,
}

impl Bench {
    pub fn new() -> Bench {
        let dir = tempdir();
        fs::create_dir_all(dir.path().join("work/src")).unwrap();
        write(
            &dir.path().join("work/src/main.c"),
            "int main(void) { return 0; }\n",
        );
        Bench { dir }
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// `toto` in the work directory, with this bench's state directory and
    /// none of toto's credentials in its environment.
    pub fn toto(&self) -> Command {
        let mut c = toto();
        c.current_dir(self.work())
            .env("XDG_STATE_HOME", self.state())
            .env_remove("SIGSTORE_ID_TOKEN")
            .env_remove("SIGSTORE_IDENTITY_TOKEN");
        c
    }

    /// `toto record PHASE -n STEP --signing-key keys/KEY.pem EXTRA…`.
    pub fn record(&self, phase: &str, step: &str, key: &str, extra: &[&str]) -> Output {
        self.toto()
            .args(["record", phase, "-n", step, "--signing-key"])
            .arg(vector(&format!("keys/{key}.pem")))
            .args(extra)
            .output()
            .unwrap()
    }

    /// `toto run -n STEP --signing-key keys/ed25519.pem EXTRA…`.
    pub fn run(&self, step: &str, extra: &[&str]) -> Output {
        self.toto()
            .args(["run", "-n", step, "--signing-key"])
            .arg(vector("keys/ed25519.pem"))
            .args(extra)
            .output()
            .unwrap()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.work().join(name)
    }

    /// `toto run -n STEP ARGS… -- sh -c 'touch ran'` is refused before the
    /// command runs: exit 2, stderr says `needle`, and nothing ran.
    #[track_caller]
    pub fn refused_before_running(&self, step: &str, args: &[&str], needle: &str, what: &str) {
        let out = self
            .toto()
            .args(["run", "-n", step])
            .args(args)
            .args(["--", "sh", "-c", "touch ran"])
            .output()
            .unwrap();
        expect_error(&out, 2, needle, what);
        assert!(!self.path("ran").exists(), "{what}: the command ran");
    }

    /// The names of the files in the work directory.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.work())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

pub fn signed_part(path: &Path) -> Value {
    let doc: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    doc["signed"].clone()
}

#[cfg(unix)]
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = tempdir();
    fs::metadata(probe.path()).unwrap().uid() == 0
}

/// A secret in argv (here expanded by the caller's shell, as in
/// `toto run -- npm publish --//registry/:_authToken=$NPM_TOKEN`) and a URL
/// with a password are redacted from the signed command, from `-v`'s log,
/// and the link says the command was redacted.
#[test]
fn a_secret_in_the_command_line_is_redacted_from_the_link_and_the_log() {
    let b = Bench::new();
    let secret = "npm-secret-value-42";
    let script = format!(
        "echo publishing --//registry/:_authToken={secret} https://ci:hunter2hunter2@git.example.com/r.git >/dev/null"
    );
    for format in ["metablock", "statement"] {
        let step = format!("publish-{format}");
        let out = b
            .toto()
            .env("NPM_TOKEN", secret)
            .args([
                "-v",
                "run",
                "-n",
                &step,
                "--format",
                format,
                "--signing-key",
            ])
            .arg(vector("keys/ed25519.pem"))
            .args(["--", "sh", "-c", &script])
            .output()
            .unwrap();
        expect_code(&out, 0, format);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(log.contains("running"), "{log}");
        assert!(
            !log.contains(secret) && !log.contains("hunter2"),
            "-v printed a secret: {log}"
        );
        let bytes = fs::read(b.path(&format!("{step}.{ED25519}.link"))).unwrap();
        let doc = attest::SignedDocument::from_json(&bytes, &dsse::Limits::default()).unwrap();
        let link = attest::Link::from_payload(doc.payload().clone()).unwrap();
        assert_eq!(
            link.command,
            [
                "sh",
                "-c",
                "echo publishing --//registry/:_authToken=[REDACTED] https://[REDACTED]@git.example.com/r.git >/dev/null"
            ],
            "{format}"
        );
        assert_eq!(link.byproducts["toto-redacted"]["command"], 2, "{format}");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(secret) && !text.contains("hunter2"),
            "{format}: {text}"
        );
    }
    // `toto mock` too.
    let out = b
        .toto()
        .env("NPM_TOKEN", secret)
        .args(["mock", "-n", "m", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    expect_code(&out, 0, "mock");
    let link = signed_part(&b.path("m.link"));
    assert!(
        !link.to_string().contains(secret),
        "mock signed the secret: {link}"
    );
    assert_eq!(link["byproducts"]["toto-redacted"]["command"], 2);
}

/// A secret straddling the 16 MiB stream limit: the part that fits must
/// not survive in the link.
#[test]
fn a_secret_cut_by_the_stream_limit_leaves_no_prefix_in_the_link() {
    let b = Bench::new();
    let secret = "npm-secret-value-42";
    let limit = attest::exec::MAX_RECORDED_STREAM;
    // The limit falls 10 bytes into the secret.
    let script = format!(
        "head -c {} /dev/zero | tr '\\0' x; printf 'ok\\n'; printf '%s' \"$NPM_TOKEN\"",
        limit - 13
    );
    let out = b
        .toto()
        .env("NPM_TOKEN", secret)
        .args([
            "run",
            "-n",
            "cut",
            "--format",
            "metablock",
            "--record-streams",
        ])
        .args(["--signing-key"])
        .arg(vector("keys/ed25519.pem"))
        .args(["--", "sh", "-c", &script])
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    expect_code(&out, 0, "run");
    let link = signed_part(&b.path(&format!("cut.{ED25519}.link")));
    let stdout = link["byproducts"]["stdout"].as_str().unwrap();
    assert!(stdout.len() <= limit + 16, "{}", stdout.len());
    assert!(
        !stdout.contains("npm-se"),
        "a prefix of the secret survived: {:?}",
        &stdout[stdout.len().saturating_sub(40)..]
    );
    assert!(
        stdout.ends_with("xxok\n[REDACTED]"),
        "{:?}",
        &stdout[stdout.len() - 20..]
    );
}

/// `keys/ed25519_enc.pem` with its password from `TOTO_KEY_PASSWORD`, and
/// identity tokens in the environment: none reach the step's command
/// unless `--pass-credentials` is given.
#[test]
fn the_step_does_not_inherit_totos_credentials() {
    let b = Bench::new();
    let names = [
        "TOTO_KEY_PASSWORD",
        "SIGSTORE_ID_TOKEN",
        "SIGSTORE_IDENTITY_TOKEN",
    ];
    let run = |step: &str, extra: &[&str]| {
        let out = b
            .toto()
            .env("TOTO_KEY_PASSWORD", "hunter2")
            .env("SIGSTORE_ID_TOKEN", "not-a-token-1")
            .env("SIGSTORE_IDENTITY_TOKEN", "not-a-token-2")
            .args(["run", "-n", step, "--signing-key"])
            .arg(vector("keys/ed25519_enc.pem"))
            .args(extra)
            .args(["--", "sh", "-c"])
            .arg(format!("env > {step}.env"))
            .output()
            .unwrap();
        expect_code(&out, 0, step);
        fs::read_to_string(b.path(&format!("{step}.env"))).unwrap()
    };
    let env = run("scrubbed", &[]);
    for name in names {
        assert!(
            !env.contains(&format!("{name}=")),
            "{name} reached the step"
        );
    }
    assert!(
        env.contains("PATH="),
        "the rest of the environment is passed"
    );
    let env = run("passed", &["--pass-credentials"]);
    for name in names {
        assert!(
            env.contains(&format!("{name}=")),
            "{name} with --pass-credentials"
        );
    }
    let help = help_of(&["run"]);
    assert!(
        help.contains("--pass-credentials") && help.contains("TOTO_KEY_PASSWORD"),
        "{help}"
    );
}

/// `toto mock` and the inspections `toto verify` runs get none of toto's
/// credentials either (`mock --pass-credentials` passes them).
#[test]
fn mock_and_inspections_do_not_inherit_totos_credentials() {
    let b = Bench::new();
    let with_credentials = |c: &mut Command| {
        c.env("TOTO_KEY_PASSWORD", "hunter2")
            .env("SIGSTORE_ID_TOKEN", "not-a-token-1")
            .env("SIGSTORE_IDENTITY_TOKEN", "not-a-token-2");
    };
    let leaked = |file: &str| {
        let env = fs::read_to_string(b.path(file)).unwrap();
        [
            "TOTO_KEY_PASSWORD=",
            "SIGSTORE_ID_TOKEN=",
            "SIGSTORE_IDENTITY_TOKEN=",
        ]
        .into_iter()
        .filter(|name| env.contains(name))
        .count()
    };
    for (file, extra, expected) in [
        ("mock.env", &[][..], 0),
        ("passed.env", &["--pass-credentials"][..], 3),
    ] {
        let mut c = b.toto();
        with_credentials(&mut c);
        let out = c
            .args(["mock", "-n", "try"])
            .args(extra)
            .args(["--", "sh", "-c"])
            .arg(format!("env > {file}"))
            .output()
            .unwrap();
        expect_code(&out, 0, "toto mock");
        assert_eq!(leaked(file), expected, "mock {extra:?}");
    }
    fs::copy(vector("keys/ed25519.pub"), b.path("func.pub")).unwrap();
    write(
        &b.path("chain.toml"),
        "expires = \"30d\"\n\
         [[steps]]\nname = \"build\"\nfunctionaries = [\"func.pub\"]\n\
         products = [\"ALLOW *\"]\n\
         [[inspections]]\nname = \"look\"\nrun = [\"sh\", \"-c\", \"env > inspection.env\"]\n\
         materials = [\"ALLOW *\"]\nproducts = [\"ALLOW *\"]\n",
    );
    let ok = |args: &[&std::ffi::OsStr]| {
        let mut c = b.toto();
        with_credentials(&mut c);
        let out = c.args(args).output().unwrap();
        expect_code(&out, 0, &format!("{args:?}"));
    };
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    ok(&[
        os("layout"),
        os("new"),
        os("chain.toml"),
        os("-o"),
        os("root.layout"),
    ]);
    let owner = vector("keys/p256.pem");
    ok(&[
        os("layout"),
        os("sign"),
        os("-k"),
        owner.as_os_str(),
        os("root.layout"),
    ]);
    let func = vector("keys/ed25519.pem");
    ok(&[
        os("run"),
        os("-n"),
        os("build"),
        os("-k"),
        func.as_os_str(),
        os("--"),
        os("true"),
    ]);
    let owner_pub = vector("keys/p256.pub");
    ok(&[
        os("verify"),
        os("--layout"),
        os("root.layout"),
        os("--layout-key"),
        owner_pub.as_os_str(),
    ]);
    assert_eq!(
        leaked("inspection.env"),
        0,
        "an inspection got toto's credentials"
    );
}

/// An environment variable whose name or value is not UTF-8 neither
/// panics `run` nor `mock`; a secret one is still redacted.
#[cfg(unix)]
#[test]
fn a_non_utf8_environment_variable_does_not_panic_run_or_mock() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let b = Bench::new();
    let with_env = |c: &mut Command| {
        c.env(OsStr::from_bytes(b"\xff"), "x")
            .env("LATIN1", OsStr::from_bytes(b"caf\xe9"))
            .env("API_TOKEN", OsStr::from_bytes(b"\xffsecret-value-1"));
    };
    let mut c = b.toto();
    with_env(&mut c);
    let out = c
        .args([
            "run",
            "-n",
            "env",
            "--format",
            "metablock",
            "--record-streams",
        ])
        .args(["--signing-key"])
        .arg(vector("keys/ed25519.pem"))
        .args(["--", "sh", "-c", "printf '%s\\n' \"$API_TOKEN\""])
        .output()
        .unwrap();
    expect_code(&out, 0, "run with a non-UTF-8 environment");
    let link = signed_part(&b.path(&format!("env.{ED25519}.link")));
    let stdout = link["byproducts"]["stdout"].as_str().unwrap();
    assert!(!stdout.contains("secret-value-1"), "{stdout:?}");
    let mut c = b.toto();
    with_env(&mut c);
    let out = c.args(["mock", "-n", "m", "--", "true"]).output().unwrap();
    expect_code(&out, 0, "mock with a non-UTF-8 environment");
}

/// What must hold for the link to be written is checked before the step
/// runs: its command (which would create `ran`) does not run.
#[test]
fn nothing_runs_when_the_link_cannot_be_written() {
    let b = Bench::new();
    let cases: Vec<(String, Vec<String>, &str)> = vec![
        (
            "build".into(),
            vec!["-d".into(), "no/such/dir".into()],
            "no/such/dir",
        ),
        (
            "build".into(),
            vec!["-d".into(), "src/main.c".into()],
            "is not a directory",
        ),
        ("b".repeat(250), vec![], "too long"),
    ];
    let key = |name: &str| vector(&format!("keys/{name}")).display().to_string();
    let ed25519 = key("ed25519.pem");
    for (step, extra, needle) in &cases {
        let mut args = vec!["--signing-key", ed25519.as_str()];
        args.extend(extra.iter().map(String::as_str));
        b.refused_before_running(step, &args, needle, needle);
    }
    // A key that does not load (wrong password).
    let encrypted = key("ed25519_enc.pem");
    let args = ["--signing-key", &encrypted, "--password", "wrong"];
    b.refused_before_running("build", &args, "ed25519_enc.pem", "wrong password");
    // record start checks the link record stop will write, too.
    let out = b.record("start", &"b".repeat(250), "ed25519", &["-m", "src"]);
    expect_error(
        &out,
        2,
        "too long",
        "record start of a step too long to name",
    );
    assert_eq!(b.files(), ["src"], "record start left nothing");
}

#[cfg(unix)]
#[test]
fn nothing_runs_when_the_link_directory_is_not_writable() {
    use std::os::unix::fs::PermissionsExt;
    if is_root() {
        eprintln!(
            "SKIP: nothing_runs_when_the_link_directory_is_not_writable: root writes anywhere"
        );
        return;
    }
    let b = Bench::new();
    let out_dir = b.path("links");
    fs::create_dir(&out_dir).unwrap();
    fs::set_permissions(&out_dir, fs::Permissions::from_mode(0o555)).unwrap();
    let out = b.run("build", &["-d", "links", "--", "sh", "-c", "touch ran"]);
    expect_error(&out, 2, "cannot write", "read-only link directory");
    assert!(!b.path("ran").exists());
}

/// Keyless: a link that cannot be written, a token that is expired, a
/// trust config that does not load: the command does not run and nothing
/// reaches Fulcio or Rekor.
#[test]
fn nothing_runs_or_reaches_rekor_when_a_keyless_link_cannot_be_written() {
    let b = Bench::new();
    let tb = start_testbed(b.dir.path());
    let alice = token(&tb, "alice@example.com");
    let expired = tb
        .token(&testbed::TokenRequest {
            identity: "alice@example.com".into(),
            lifetime: Some(-60),
            ..Default::default()
        })
        .unwrap();
    let bad_config = write(&b.dir.path().join("bad-trust-config.json"), "{}");
    let products = || vec!["-p".to_owned(), "src".to_owned()];
    let cases: Vec<(String, Vec<String>, &str)> = vec![
        (
            "build".into(),
            [
                keyless(&tb, &alice),
                products(),
                vec!["-d".into(), "no/such/dir".into()],
            ]
            .concat(),
            "no/such/dir",
        ),
        (
            "b".repeat(250),
            [keyless(&tb, &alice), products()].concat(),
            "too long",
        ),
        (
            "build".into(),
            [keyless(&tb, &expired), products()].concat(),
            "expired",
        ),
        (
            "build".into(),
            vec![
                "--keyless".into(),
                "--trust-config".into(),
                bad_config.display().to_string(),
                "--identity-token".into(),
                alice.clone(),
                "-p".into(),
                "src".into(),
            ],
            "bad-trust-config.json",
        ),
    ];
    for (step, flags, needle) in &cases {
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        b.refused_before_running(step, &flags, needle, needle);
    }
    assert_eq!(tb.requests(FULCIO), 0, "nothing was sent to Fulcio");
    assert_eq!(tb.log_size(), 0, "nothing was logged in Rekor");
}
