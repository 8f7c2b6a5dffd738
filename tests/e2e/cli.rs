//! CLI quality: every command teaches with an example; completions and the
//! man page come from the real definition; `-q`/`-v`/`-vv`, `--color` and
//! progress bars behave on terminals and pipes.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::*;

/// Every leaf subcommand, as argv after `toto`.
const COMMANDS: &[&[&str]] = &[
    &["run"],
    &["attest"],
    &["record", "start"],
    &["record", "stop"],
    &["mock"],
    &["verify"],
    &["verify-bundle"],
    &["verify-attestation"],
    &["layout", "new"],
    &["layout", "sign"],
    &["layout", "show"],
    &["sign"],
    &["match-products"],
    &["install-compat"],
    &["completions"],
    &["man"],
    &["envelope", "sign"],
    &["envelope", "verify"],
    &["key", "generate"],
    &["key", "id"],
    &["demo"],
    &["trust", "update"],
    &["sign-blob"],
    &["testbed", "serve"],
    &["testbed", "token"],
    // Groups teach too.
    &["record"],
    &["layout"],
    &["envelope"],
    &["key"],
    &["testbed"],
    &["trust"],
];

#[test]
fn every_command_has_help_with_an_example() {
    for command in COMMANDS {
        let out = toto().args(*command).arg("--help").output().unwrap();
        expect_code(&out, 0, &format!("{command:?} --help"));
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(
            help.contains("Example"),
            "`toto {}` --help has no example:\n{help}",
            command.join(" ")
        );
    }
}

#[test]
fn completions_and_man_page_cover_the_commands() {
    let bash = toto().args(["completions", "bash"]).output().unwrap();
    expect_code(&bash, 0, "bash completions");
    let bash = String::from_utf8(bash.stdout).unwrap();
    for word in [
        "verify-bundle",
        "verify-attestation",
        "install-compat",
        "--layout-key",
    ] {
        assert!(bash.contains(word), "bash completions lack {word}");
    }
    let man = toto().arg("man").output().unwrap();
    expect_code(&man, 0, "man");
    let man = String::from_utf8(man.stdout).unwrap();
    assert!(man.contains(".TH toto 1"));
    assert!(man.contains("verify\\-bundle"));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    expect_code(&toto().output().unwrap(), 2, "no subcommand");
    expect_code(
        &toto().arg("frobnicate").output().unwrap(),
        2,
        "unknown subcommand",
    );
    expect_code(&toto().arg("--help").output().unwrap(), 0, "--help");
    expect_code(&toto().arg("--version").output().unwrap(), 0, "--version");
}

/// The reference demo's signed evidence, in a fresh directory (its
/// inspection writes there).
fn demo_dir() -> tempfile::TempDir {
    demo_copy()
}

/// `toto verify` of the demo in `dir`, `NO_COLOR` unset.
fn verify_demo_command(dir: &Path) -> Command {
    let mut verify = toto();
    verify.current_dir(dir).env_remove("NO_COLOR").args([
        "verify",
        "-l",
        "root.layout",
        "-k",
        "alice.pub",
    ]);
    verify
}

/// `toto verify` of the demo in `dir`, with `extra` arguments.
fn verify_demo(dir: &Path, extra: &[&str]) -> Output {
    verify_demo_command(dir).args(extra).output().unwrap()
}

/// `what` succeeded and its stderr has every one of `lines`; returns that
/// stderr.
#[track_caller]
fn succeeds_saying_all(out: &Output, what: &str, lines: &[&str]) -> String {
    expect_code(out, 0, what);
    let stderr = text(&out.stderr);
    for line in lines {
        assert!(stderr.contains(line), "{what} lacks {line:?}:\n{stderr}");
    }
    stderr
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const ESC: char = '\u{1b}';

#[test]
fn piped_output_has_no_color_and_no_progress() {
    let dir = demo_dir();
    let out = verify_demo(dir.path(), &[]);
    expect_code(&out, 0, "verify the demo");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        stdout, "Verified: the supply chain of root.layout holds.\n",
        "plain verdict on a pipe"
    );
    assert!(
        !stdout.contains(ESC) && !stderr.contains(ESC),
        "escapes in piped output: {stdout:?} {stderr:?}"
    );
    assert!(
        !stderr.contains('\r'),
        "progress drawn into a pipe: {stderr:?}"
    );

    // A failure, piped: the label is plain too.
    fs::remove_file(dir.path().join("package.be06db20.link")).unwrap();
    let out = verify_demo(dir.path(), &[]);
    expect_code(&out, 1, "verify without the package link");
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("toto: verification failed: "),
        "{stderr}"
    );
    assert!(!stderr.contains(ESC), "{stderr:?}");
}

#[test]
fn color_always_colors_the_verdicts_and_no_color_turns_auto_off() {
    let dir = demo_dir();
    let out = verify_demo(dir.path(), &["--color", "always"]);
    expect_code(&out, 0, "verify --color always");
    assert_eq!(
        text(&out.stdout),
        "\u{1b}[1;32mVerified: the supply chain of root.layout holds.\u{1b}[0m\n"
    );

    let dir = demo_dir();
    let out = verify_demo_command(dir.path())
        .env("NO_COLOR", "1")
        .args(["--color", "auto"])
        .output()
        .unwrap();
    expect_code(&out, 0, "NO_COLOR=1 verify --color auto");
    assert!(!text(&out.stdout).contains(ESC), "{:?}", text(&out.stdout));

    let dir = demo_dir();
    fs::remove_file(dir.path().join("package.be06db20.link")).unwrap();
    let out = verify_demo(dir.path(), &["--color", "always"]);
    expect_code(&out, 1, "no package link, --color always");
    assert!(
        text(&out.stderr).starts_with("\u{1b}[1;31mtoto: verification failed:\u{1b}[0m "),
        "{:?}",
        text(&out.stderr)
    );

    // Errors are colored too; --color never leaves them plain.
    let missing = ["verify", "-l", "missing.layout", "-k", "missing.pub"];
    let out = toto()
        .args(["--color", "always"])
        .args(missing)
        .output()
        .unwrap();
    expect_code(&out, 2, "missing files");
    assert!(
        text(&out.stderr).starts_with("\u{1b}[1;31mtoto: error:\u{1b}[0m "),
        "{:?}",
        text(&out.stderr)
    );
    let out = toto()
        .args(["--color", "never"])
        .args(missing)
        .output()
        .unwrap();
    assert!(text(&out.stderr).starts_with("toto: error: "));
}

#[test]
fn verbose_verify_names_the_keys_links_and_functionaries() {
    let dir = demo_dir();
    let out = verify_demo(dir.path(), &["-v"]);
    succeeds_saying_all(
        &out,
        "verify -v",
        &[
            "toto: layout key alice.pub: key id ",
            "toto: loaded clone.210dcc50.link (",
            "toto: loaded package.be06db20.link (",
            "toto: step \"clone\": clone.210dcc50.link verified by functionary 210dcc50",
            "toto: step \"package\": package.be06db20.link verified by functionary be06db20",
            "toto: running inspection untar",
        ],
    );
    assert!(text(&out.stdout).starts_with("Verified: "));
    // Without -v: none of it.
    let dir = demo_dir();
    let out = verify_demo(dir.path(), &[]);
    assert_eq!(text(&out.stderr), "", "default verify prints no detail");
}

#[test]
fn quiet_prints_nothing_on_success_and_the_failure_on_failure() {
    let dir = demo_dir();
    let out = verify_demo(dir.path(), &["-q"]);
    expect_code(&out, 0, "verify -q");
    assert_eq!(
        (text(&out.stdout), text(&out.stderr)),
        (String::new(), String::new())
    );

    fs::remove_file(dir.path().join("package.be06db20.link")).unwrap();
    let out = verify_demo(dir.path(), &["-q"]);
    expect_code(&out, 1, "verify -q, no package link");
    assert!(text(&out.stderr).starts_with("toto: verification failed: "));

    let work = tempdir();
    fs::create_dir(work.path().join("src")).unwrap();
    fs::write(work.path().join("src/a.c"), "int a;\n").unwrap();
    let out = toto()
        .current_dir(work.path())
        .args(["run", "-q", "-n", "build", "-k"])
        .arg(vector("keys/ed25519.pem"))
        .args(["-m", "src", "-p", "src", "missing", "--", "true"])
        .output()
        .unwrap();
    expect_code(&out, 0, "run -q");
    assert_eq!(
        (text(&out.stdout), text(&out.stderr)),
        (String::new(), String::new()),
        "-q silences even the missing-path warning"
    );
    assert!(work.path().join("build.6f2fb44c.link").is_file());

    // -v and -q contradict each other, as in the reference.
    let out = verify_demo(dir.path(), &["-v", "-q"]);
    expect_code(&out, 2, "-v with -q");
}

#[test]
fn verbose_run_lists_exclusions_and_vv_every_file() {
    let work = tempdir();
    fs::create_dir_all(work.path().join("src/.git")).unwrap();
    fs::write(work.path().join("src/a.c"), "int a;\n").unwrap();
    fs::write(work.path().join("src/b.pyc"), "x").unwrap();
    fs::write(work.path().join("src/.git/HEAD"), "ref").unwrap();
    let run = |flag: &str| {
        toto()
            .current_dir(work.path())
            .args(["run", flag, "-n", "build", "-k"])
            .arg(vector("keys/ed25519.pem"))
            .args(["-m", "src", "-p", "src", "--", "true"])
            .output()
            .unwrap()
    };
    let out = run("-v");
    let stderr = succeeds_saying_all(
        &out,
        "run -v",
        &[
            "toto: excluded src/.git (matches an --exclude pattern)",
            "toto: excluded src/b.pyc (matches an --exclude pattern)",
            "toto: hashing 1 files of materials (7 bytes)",
            "toto: recorded 1 materials (0 skipped)",
            "toto: running [\"true\"]",
            "toto: the command exited with 0",
            "toto: recorded 1 products (0 skipped)",
            "toto: signed the Statement link with key 6f2fb44c",
            "toto: wrote ./build.6f2fb44c.link",
        ],
    );
    assert!(
        !stderr.contains("toto: hashed "),
        "per-file lines need -vv:\n{stderr}"
    );
    let out = run("-vv");
    expect_code(&out, 0, "run -vv");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("toto: hashed src/a.c (7 bytes)"),
        "{stderr}"
    );
    // The reference's long flag.
    let out = run("--verbose");
    expect_code(&out, 0, "run --verbose");
    assert!(text(&out.stderr).contains("toto: recorded 1 materials"));
}

/// Runs `command` under a pseudo-terminal (util-linux `script`); `None`
/// when `script` is missing (outside CI only).
fn on_a_terminal(command: &str, dir: &Path) -> Option<Output> {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the progress test needs util-linux `script` in CI"
        );
        eprintln!("SKIP: progress_bar_on_a_terminal_only: no `script`");
        return None;
    }
    Some(
        Command::new("script")
            .current_dir(dir)
            .env_remove("NO_COLOR")
            .env("TERM", "xterm")
            .args(["-qec", command, "/dev/null"])
            .output()
            .unwrap(),
    )
}

/// `toto verify` on a terminal: the inspection's hashing shows a bar, the
/// bar is cleared before the verdict, and into a pipe nothing is drawn.
#[test]
fn verify_shows_progress_on_a_terminal_only() {
    let work = tempdir();
    let dir = work.path();
    for i in 0..3000 {
        fs::write(dir.join(format!("f{i}.txt")), format!("{i}\n")).unwrap();
    }
    fs::copy(vector("keys/ed25519.pub"), dir.join("func.pub")).unwrap();
    fs::write(
        dir.join("chain.toml"),
        "expires = \"30d\"\n\
         [[steps]]\nname = \"build\"\nfunctionaries = [\"func.pub\"]\n\
         products = [\"ALLOW *\"]\n\
         [[inspections]]\nname = \"look\"\nrun = [\"true\"]\n\
         materials = [\"ALLOW *\"]\nproducts = [\"ALLOW *\"]\n",
    )
    .unwrap();
    let owner = vector("keys/p256.pem");
    let ok = |args: &[&str]| {
        let out = toto().current_dir(dir).args(args).output().unwrap();
        expect_code(&out, 0, &args.join(" "));
    };
    ok(&["layout", "new", "chain.toml", "-o", "root.layout"]);
    ok(&[
        "layout",
        "sign",
        "-k",
        owner.to_str().unwrap(),
        "root.layout",
    ]);
    let func = vector("keys/ed25519.pem");
    ok(&[
        "run",
        "-n",
        "build",
        "-k",
        func.to_str().unwrap(),
        "-x",
        "--",
        "true",
    ]);
    let verify = format!(
        "'{}' verify -l root.layout -k '{}'",
        env!("CARGO_BIN_EXE_toto"),
        vector("keys/p256.pub").display()
    );
    let Some(out) = on_a_terminal(&verify, dir) else {
        return;
    };
    // A progress bar while the inspection hashes.
    bar_drawn_and_cleared(&out, "verify on a terminal", "materials", "\u{1b}[2K");
    let out = toto()
        .current_dir(dir)
        .args(["verify", "-l", "root.layout", "-k"])
        .arg(vector("keys/p256.pub"))
        .output()
        .unwrap();
    expect_code(&out, 0, "verify into a pipe");
    assert!(
        !text(&out.stderr).contains("KiB") && !text(&out.stderr).contains('\u{1b}'),
        "progress drawn into a pipe: {:?}",
        text(&out.stderr)
    );
}

/// `out` of a command on a terminal succeeded and drew a progress bar
/// (`bar`, with sizes in KiB), cleared (`cleared`).
#[track_caller]
fn bar_drawn_and_cleared(out: &Output, what: &str, bar: &str, cleared: &str) {
    expect_code(out, 0, what);
    let seen = text(&out.stdout);
    assert!(
        seen.contains(bar) && seen.contains("KiB"),
        "{what}: no progress bar: {seen:?}"
    );
    assert!(
        seen.contains(cleared),
        "{what}: the bar is not cleared: {seen:?}"
    );
}

#[test]
fn progress_bar_on_a_terminal_only() {
    let work = tempdir();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 0..3000 {
        fs::write(src.join(format!("f{i}.txt")), format!("{i}\n")).unwrap();
    }
    let key = vector("keys/ed25519.pem");
    let command = |extra: &str| {
        format!(
            "'{}' run -n build -k '{}' -m src -x {extra}",
            env!("CARGO_BIN_EXE_toto"),
            key.display()
        )
    };
    let Some(out) = on_a_terminal(&command(""), work.path()) else {
        return;
    };
    // Cleared before the last line: nothing of the bar stays.
    let cleared = "\u{1b}[2Ktoto: wrote ./build.6f2fb44c.link";
    let bar = "hashing 3000 materials";
    bar_drawn_and_cleared(&out, "run on a terminal", bar, cleared);
    // -q on a terminal: no bar, no output.
    let out = on_a_terminal(&command("-q"), work.path()).unwrap();
    expect_code(&out, 0, "run -q on a terminal");
    assert_eq!(text(&out.stdout), "", "-q on a terminal");
    // The same run into a pipe: no bar.
    let out = toto()
        .current_dir(work.path())
        .args(["run", "-n", "build", "-k"])
        .arg(&key)
        .args(["-m", "src", "-x"])
        .output()
        .unwrap();
    expect_code(&out, 0, "run piped");
    assert_eq!(text(&out.stderr), "toto: wrote ./build.6f2fb44c.link\n");
}

/// `--max-document-mib` (or TOTO_MAX_DOCUMENT_MIB) moves the size limit of
/// the documents toto reads, both ways.
#[test]
fn the_document_size_limit_can_be_lowered_and_raised() {
    let dir = tempdir();
    let root = dir.path();
    generate_key(&root.join("k"), &[]);
    std::fs::write(root.join("payload"), "x".repeat(900 << 10)).unwrap();
    let out = toto_in(
        root,
        &[
            "envelope",
            "sign",
            "--key",
            "k",
            "--payload-type",
            "text/plain",
            "-o",
            "env.json",
            "payload",
        ],
    );
    expect_code(&out, 0, "envelope sign");
    let verify = |extra: &[&str], env: Option<&str>| {
        let mut c = toto();
        c.current_dir(root).env_remove("TOTO_MAX_DOCUMENT_MIB");
        if let Some(v) = env {
            c.env("TOTO_MAX_DOCUMENT_MIB", v);
        }
        c.args(["envelope", "verify", "--key", "k.pub"])
            .args(extra)
            .arg("env.json")
            .output()
            .unwrap()
    };
    expect_code(&verify(&[], None), 0, "default limit (64 MiB)");
    let out = verify(&["--max-document-mib", "1"], None);
    expect_code(&out, 2, "an envelope over the 1 MiB limit");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("limit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    expect_code(&verify(&[], Some("1")), 2, "the limit from the environment");
    expect_code(
        &verify(&["--max-document-mib", "2"], None),
        0,
        "a 2 MiB limit",
    );
    expect_code(
        &verify(&["--max-document-mib", "0"], None),
        2,
        "0 is not a limit",
    );
}

/// `-q` silences success output everywhere, and failures still speak.
#[test]
fn quiet_success_is_silent_for_keys_and_envelopes() {
    let dir = tempdir();
    let root = dir.path();
    let out = toto_in(root, &["-q", "key", "generate", "-o", "k"]);
    expect_code(&out, 0, "key generate -q");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    std::fs::write(root.join("p"), "payload").unwrap();
    let out = toto_in(
        root,
        &[
            "envelope",
            "sign",
            "-k",
            "k",
            "--payload-type",
            "text/plain",
            "-o",
            "e.json",
            "p",
        ],
    );
    expect_code(&out, 0, "envelope sign");
    let out = toto_in(root, &["envelope", "verify", "-q", "-k", "k.pub", "e.json"]);
    expect_code(&out, 0, "envelope verify -q");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    let out = toto_in(root, &["key", "generate", "-o", "other"]);
    expect_code(&out, 0, "another key");
    let out = toto_in(
        root,
        &["envelope", "verify", "-q", "-k", "other.pub", "e.json"],
    );
    expect_code(&out, 1, "a wrong key, quietly");
    assert!(!out.stderr.is_empty(), "the failure is still reported");
}
