//! CLI quality: every command teaches with an example; completions and the
//! man page come from the real definition.

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
