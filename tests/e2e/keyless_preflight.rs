//! Keyless signing checks first (issue #19): `toto run --keyless` and
//! `toto record start --keyless` refuse, before the step's command runs,
//! a token that would expire before the link is signed and a Fulcio or
//! Rekor that does not answer.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{
    expect_code, expect_error, keyless, start_testbed, tempdir, token, toto, write,
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
    // Valid for 30 s: the step may take its 10 s timeout, then signing a minute.
    let short = token_for(&tb, "alice@example.com", 30);
    let out = run_step(&tb, &short, &work, &[]);
    expect_error(
        &out,
        2,
        "the identity token would expire before the link is signed",
        "a token that expires during the step",
    );
    expect_error(&out, 2, "must stay valid for 70 s", "the time it needs");
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
