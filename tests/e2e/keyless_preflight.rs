//! Keyless signing checks first (issue #19): `toto run --keyless` and
//! `toto record start --keyless` refuse, before the step's command runs,
//! a token that would expire before the link is signed and a Fulcio or
//! Rekor that does not answer; `toto layout sign --keyless` keeps the key
//! signatures a layout has, and a key signature is not added under a
//! keyless one it would invalidate.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{
    expect_code, expect_error, generate_key, keyless, owner_signed_layout, start_testbed, tempdir,
    token, toto, write,
};

/// `toto run -n build --keyless … -p out -- sh -c 'echo ran > out'` in `work`,
/// with extra flags `extra` before `--`.
fn run_step(tb: &testbed::Testbed, token: &str, work: &Path, extra: &[String]) -> Output {
    toto()
        .current_dir(work)
        .args(["run", "-n", "build"])
        .args(keyless(tb, token))
        .args(extra)
        .args(["-p", "out", "--", "sh", "-c", "echo ran > out"])
        .output()
        .unwrap()
}

/// A work directory under `dir`.
fn work_dir(dir: &Path) -> PathBuf {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    work
}

/// A token of the testbed for `identity` that lives `lifetime` seconds.
fn token_for(tb: &testbed::Testbed, identity: &str, lifetime: i64) -> String {
    tb.token(&testbed::TokenRequest {
        identity: identity.into(),
        lifetime: Some(lifetime),
        ..Default::default()
    })
    .unwrap()
}

/// `flags` with the value after `--trust-config` replaced by `path`.
fn with_trust_config(mut flags: Vec<String>, path: &Path) -> Vec<String> {
    if let Some(i) = flags.iter().position(|f| f == "--trust-config") {
        flags[i + 1] = path.display().to_string();
    }
    flags
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The testbed's trust config with `field`'s (`caUrls`, `rekorTlogUrls`)
/// URLs pointing at a closed port, written to `dir/broken.json`.
fn trust_config_without(tb: &testbed::Testbed, dir: &Path, field: &str) -> PathBuf {
    let text = std::fs::read_to_string(tb.trust_config_path()).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&text).unwrap();
    let closed = format!("http://127.0.0.1:{}", closed_port());
    for service in config["signingConfig"][field].as_array_mut().unwrap() {
        service["url"] = closed.clone().into();
    }
    write(&dir.join("broken.json"), &config.to_string())
}

#[test]
fn a_token_expiring_during_the_step_is_refused_before_the_step_runs() {
    let dir = tempdir();
    let tb = start_testbed(dir.path());
    let work = work_dir(dir.path());
    // Valid for 30 s: without a timeout the step is expected to take 300 s
    // (--expected-duration's default), then signing a minute.
    let short = token_for(&tb, "alice@example.com", 30);
    let out = run_step(&tb, &short, &work, &[]);
    expect_error(
        &out,
        2,
        "the identity token would expire before the link is signed",
        "a token that expires during the step",
    );
    expect_error(&out, 2, "must stay valid for 360 s", "the time it needs");
    // A --timeout bounds the step: 10 s, then signing a minute.
    let flags = ["--timeout".to_owned(), "10".to_owned()];
    let out = run_step(&tb, &short, &work, &flags);
    expect_error(
        &out,
        2,
        "must stay valid for 70 s",
        "a step with --timeout 10",
    );
    assert!(!work.join("out").exists(), "the step ran");
    assert_eq!(tb.requests("/api/v2/signingCert"), 0);

    // A longer step asks more of the token: refused with --expected-duration.
    let ten_minutes = token(&tb, "alice@example.com");
    let flags = ["--expected-duration".to_owned(), "3600".to_owned()];
    let out = run_step(&tb, &ten_minutes, &work, &flags);
    expect_error(&out, 2, "must stay valid for 3660 s", "a long step");
    assert!(!work.join("out").exists(), "the step ran");

    // An expired token, likewise.
    let expired = token_for(&tb, "alice@example.com", -60);
    let out = run_step(&tb, &expired, &work, &[]);
    expect_error(&out, 2, "expired", "an expired token");
    assert!(!work.join("out").exists(), "the step ran");

    // `record start` checks it too, before recording anything.
    let out = toto()
        .current_dir(&work)
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .args(["record", "start", "-n", "build"])
        .args(keyless(&tb, &short))
        .args(["-m", "."])
        .output()
        .unwrap();
    expect_error(
        &out,
        2,
        "must stay valid for 360 s",
        "record start with a token that expires during the step",
    );
    assert!(!work.join(".build.keyless.link-unfinished").exists());
}

#[test]
fn an_unreachable_fulcio_or_rekor_is_refused_before_the_step_runs() {
    let dir = tempdir();
    let tb = start_testbed(dir.path());
    let work = work_dir(dir.path());
    let alice = token(&tb, "alice@example.com");
    for (field, service) in [("caUrls", "Fulcio"), ("rekorTlogUrls", "Rekor")] {
        let broken = trust_config_without(&tb, dir.path(), field);
        let flags = with_trust_config(keyless(&tb, &alice), &broken);
        let out = toto()
            .current_dir(&work)
            .args(["run", "-n", "build"])
            .args(&flags)
            .args(["-p", "out", "--", "sh", "-c", "echo ran > out"])
            .output()
            .unwrap();
        expect_error(
            &out,
            2,
            "a Sigstore service is not ready to sign; nothing was run or signed",
            service,
        );
        expect_error(&out, 2, &format!("{service} (http://127.0.0.1:"), service);
        expect_error(&out, 2, "unreachable", service);
        assert!(
            !work.join("out").exists(),
            "the step ran with {service} down"
        );

        let out = toto()
            .current_dir(&work)
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .args(["record", "start", "-n", "build"])
            .args(&flags)
            .args(["-m", "."])
            .output()
            .unwrap();
        expect_error(&out, 2, "not ready to sign", service);
    }
    assert_eq!(tb.requests("/api/v2/signingCert"), 0);
    assert_eq!(tb.log_size(), 0);

    // With every service up, the step runs and its link is signed.
    let out = run_step(&tb, &alice, &work, &[]);
    expect_code(&out, 0, "run --keyless, every service up");
    assert_eq!(std::fs::read_to_string(work.join("out")).unwrap(), "ran\n");
    assert_eq!(tb.log_size(), 1);
}

/// A layout with one step whose functionary is `bob`, and a link of it.
struct KeyAndKeyless {
    dir: tempfile::TempDir,
    tb: testbed::Testbed,
}

impl KeyAndKeyless {
    fn new() -> KeyAndKeyless {
        let dir = tempdir();
        let tb = start_testbed(dir.path());
        let root = dir.path();
        generate_key(&root.join("bob"), &[]);
        let toml = write(
            &root.join("chain.toml"),
            "expires = \"30d\"\n[[steps]]\nname = \"build\"\nfunctionaries = [\"bob.pub\"]\n\
             products = [\"CREATE out\", \"DISALLOW *\"]\n",
        );
        owner_signed_layout(&toml, &root.join("owner"), &root.join("root.layout"));
        let out = toto()
            .current_dir(root)
            .args(["run", "-n", "build", "--key", "bob", "-p", "out"])
            .args(["--", "sh", "-c", "echo x > out"])
            .output()
            .unwrap();
        expect_code(&out, 0, "run");
        KeyAndKeyless { dir, tb }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `toto layout sign ARGS root.layout`.
    fn sign(&self, args: &[String]) -> Output {
        toto()
            .current_dir(self.root())
            .args(["layout", "sign"])
            .args(args)
            .arg("root.layout")
            .output()
            .unwrap()
    }

    fn keyless_flags(&self) -> Vec<String> {
        keyless(&self.tb, &token(&self.tb, "owner@example.com"))
    }

    /// `toto verify` with the owner's key, or its keyless identity, or both.
    fn verify(&self, key: bool, identity: bool) -> Output {
        let mut cmd = toto();
        cmd.current_dir(self.root())
            .args(["verify", "--layout", "root.layout", "--trusted-root"])
            .arg(self.tb.trusted_root_path());
        if key {
            cmd.args(["--layout-key", "owner.pub"]);
        }
        if identity {
            cmd.args(["--layout-identity", "owner@example.com"])
                .args(["--layout-issuer", self.tb.issuer()]);
        }
        cmd.output().unwrap()
    }
}

#[test]
fn layout_sign_keyless_after_a_key_keeps_the_key_signature() {
    let chain = KeyAndKeyless::new();
    let out = chain.sign(&chain.keyless_flags());
    expect_code(&out, 0, "layout sign --keyless after a key signature");
    expect_code(&chain.verify(true, true), 0, "the key and the identity");
    expect_code(&chain.verify(true, false), 0, "the key alone");
    expect_code(&chain.verify(false, true), 0, "the identity alone");
}

#[test]
fn a_key_signature_after_a_keyless_one_is_refused_as_it_would_break_the_bundle() {
    let chain = KeyAndKeyless::new();
    let out = chain.sign(&chain.keyless_flags());
    expect_code(&out, 0, "layout sign --keyless");
    let layout = chain.root().join("root.layout");
    let before = std::fs::read(&layout).unwrap();
    generate_key(&chain.root().join("carol"), &[]);
    let append = [
        "--key".to_owned(),
        "carol".to_owned(),
        "--append".to_owned(),
    ];
    let out = chain.sign(&append);
    expect_error(
        &out,
        2,
        "root.layout.sigstore.json is a keyless signature over the exact bytes of root.layout, \
         and signing changes them: the bundle would no longer verify",
        "a key signature under a keyless one",
    );
    // `toto sign` refuses it the same way.
    let out = toto()
        .current_dir(chain.root())
        .args(["sign", "-f", "root.layout", "-k", "carol", "--append"])
        .output()
        .unwrap();
    expect_error(&out, 2, "the bundle would no longer verify", "toto sign");
    assert_eq!(
        std::fs::read(&layout).unwrap(),
        before,
        "the layout changed"
    );
    expect_code(&chain.verify(true, true), 0, "both still verify");

    // Signing again keylessly with the new key keeps every signature valid.
    let mut both = append.to_vec();
    both.extend(chain.keyless_flags());
    let out = chain.sign(&both);
    expect_code(&out, 0, "a key and --keyless again");
    expect_code(&chain.verify(true, true), 0, "owner's key and identity");
    let out = toto()
        .current_dir(chain.root())
        .args([
            "verify",
            "--layout",
            "root.layout",
            "--layout-key",
            "carol.pub",
        ])
        .output()
        .unwrap();
    expect_code(&out, 0, "carol's key");
}
