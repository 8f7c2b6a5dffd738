//! Keys, DSSE envelopes and Metablocks, both directions with the reference.

use std::fs;
use std::path::Path;
use std::process::Output;

use sha2::Digest as _;

use crate::common::*;

#[test]
fn envelope_cli_verifies_reference_envelopes_with_exit_codes() {
    for (kt, short) in VECTOR_KEYS {
        let env = vector(&format!("dsse-{kt}.{short}.link"));
        let ok = envelope_verify(vector(&format!("keys/{kt}.pub")), &env);
        expect_code(&ok, 0, kt);
        let other = if kt == "rsa" { "p256" } else { "rsa" };
        let bad = envelope_verify(vector(&format!("keys/{other}.pub")), &env);
        expect_code(&bad, 1, kt);
    }
    let dir = tempdir();
    let garbage = dir.path().join("garbage.json");
    fs::write(&garbage, b"{\"payload\": \"!!\"").unwrap();
    let out = envelope_verify(vector("keys/p256.pub"), &garbage);
    expect_code(&out, 2, "malformed envelope");
    assert!(String::from_utf8_lossy(&out.stderr).contains("garbage.json"));
}

/// `toto envelope sign` of `payload` into `envelope` with the encrypted
/// test key, unlocked by `password`.
fn sign_with_encrypted_key(
    password: &str,
    payload_type: &str,
    envelope: &Path,
    payload: &Path,
) -> Output {
    toto()
        .args(["envelope", "sign", "--key"])
        .arg(vector("keys/ed25519_enc.pem"))
        .args(["--password", password, "--payload-type", payload_type, "-o"])
        .arg(envelope)
        .arg(payload)
        .output()
        .unwrap()
}

#[test]
fn envelope_sign_verify_round_trip_and_payload_out() {
    let dir = tempdir();
    let payload = dir.path().join("p.json");
    fs::write(&payload, br#"{"hello": "world"}"#).unwrap();
    let env = dir.path().join("p.dsse.json");
    let out = sign_with_encrypted_key("hunter2", "application/json", &env, &payload);
    expect_code(&out, 0, "sign with encrypted key");
    let back = dir.path().join("back.json");
    let out = toto()
        .args(["envelope", "verify", "--key"])
        .arg(vector("keys/ed25519.pub"))
        .arg("--payload-out")
        .arg(&back)
        .arg(&env)
        .output()
        .unwrap();
    expect_code(&out, 0, "verify");
    assert_eq!(fs::read(&back).unwrap(), fs::read(&payload).unwrap());
    // Wrong password: input error, no envelope written.
    let env2 = dir.path().join("p2.dsse.json");
    let out = sign_with_encrypted_key("wrong", "x", &env2, &payload);
    expect_code(&out, 2, "wrong password");
    assert!(!env2.exists());
    // Threshold of 2 with one signature fails verification.
    let out = toto()
        .args(["envelope", "verify", "--threshold", "2", "--key"])
        .arg(vector("keys/ed25519.pub"))
        .arg("--key")
        .arg(vector("keys/p256.pub"))
        .arg(&env)
        .output()
        .unwrap();
    expect_code(&out, 1, "threshold");
}

#[test]
fn key_generate_and_id() {
    let dir = tempdir();
    for kind in ["ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa"] {
        let name = dir.path().join(kind);
        generate_key(&name, &["--type", kind]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&name).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let from_private = toto().args(["key", "id"]).arg(&name).output().unwrap();
        let pub_path = dir.path().join(format!("{kind}.pub"));
        let from_pub = toto().args(["key", "id"]).arg(&pub_path).output().unwrap();
        expect_code(&from_pub, 0, kind);
        assert_eq!(from_private.stdout, from_pub.stdout, "{kind}");
        // Refuses to overwrite.
        let again = toto()
            .args(["key", "generate", "--type", kind, "-o"])
            .arg(&name)
            .output()
            .unwrap();
        expect_code(&again, 2, "overwrite");
    }
    let legacy = toto()
        .args(["key", "id", "--legacy"])
        .arg(vector("keys/p256.pub"))
        .output()
        .unwrap();
    let text = String::from_utf8(legacy.stdout).unwrap();
    assert!(text.starts_with("a39bd12043624088610c6fe79aaa6d25f3b595d5874196c28fa0979e3a252e3f\n"));
    assert!(text.contains("(legacy)"));
}

/// toto signs with every key type; the reference verifies; the reference's
/// key ids equal toto's.
#[test]
fn reference_verifies_what_toto_signs() {
    let Some((py, dir)) = python_tempdir("reference_verifies_what_toto_signs") else {
        return;
    };
    let link_src = vector("step-p256.a39bd120.link");
    for kind in ["ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa"] {
        let key = dir.path().join(kind);
        generate_key(&key, &["--type", kind]);
        let public = dir.path().join(format!("{kind}.pub"));
        let public_s = public.to_str().unwrap();
        // Key ids agree.
        let theirs: serde_json::Value =
            serde_json::from_slice(&peer(&py, &["keyid", public_s]).stdout).unwrap();
        let ours = toto().args(["key", "id"]).arg(&public).output().unwrap();
        assert_eq!(
            String::from_utf8(ours.stdout).unwrap().trim(),
            theirs["keyid"].as_str().unwrap(),
            "{kind}"
        );
        // A DSSE envelope.
        let payload = dir.path().join("payload.txt");
        fs::write(&payload, b"any payload \xff bytes").unwrap();
        let env = dir.path().join(format!("{kind}.dsse.json"));
        let out = toto()
            .args(["envelope", "sign", "--payload-type", "text/plain", "--key"])
            .arg(&key)
            .arg("-o")
            .arg(&env)
            .arg(&payload)
            .output()
            .unwrap();
        expect_code(&out, 0, kind);
        let verdict = peer(&py, &["dsse-verify", env.to_str().unwrap(), public_s]);
        expect_code(
            &verdict,
            0,
            &format!("reference verifies toto's {kind} envelope"),
        );
        // A classic Metablock and a DSSE link, re-signed by toto.
        for format in ["metablock", "dsse"] {
            let input = dir.path().join(format!("in-{kind}-{format}.link"));
            if format == "metablock" {
                fs::copy(&link_src, &input).unwrap();
            } else {
                fs::copy(vector("dsse-p256.a39bd120.link"), &input).unwrap();
            }
            let output = dir.path().join(format!("out-{kind}-{format}.link"));
            let out = toto()
                .args(["sign", "-f"])
                .arg(&input)
                .arg("-k")
                .arg(&key)
                .arg("-o")
                .arg(&output)
                .output()
                .unwrap();
            expect_code(&out, 0, kind);
            let verdict = peer(
                &py,
                &["metadata-verify", output.to_str().unwrap(), public_s],
            );
            expect_code(
                &verdict,
                0,
                &format!("reference verifies toto's {kind} {format}"),
            );
        }
    }
}

/// The reference signs with fresh keys of every type; toto verifies.
#[test]
fn toto_verifies_what_the_reference_signs() {
    let Some((py, dir)) = python_tempdir("toto_verifies_what_the_reference_signs") else {
        return;
    };
    let keys = dir.path().join("keys");
    let out = peer(&py, &["gen-keys", keys.to_str().unwrap()]);
    expect_code(&out, 0, "gen-keys");
    let keyids: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let link_json = dir.path().join("link.json");
    let mb: serde_json::Value =
        serde_json::from_slice(&fs::read(vector("step-p256.a39bd120.link")).unwrap()).unwrap();
    fs::write(&link_json, serde_json::to_vec(&mb["signed"]).unwrap()).unwrap();
    // `peer.py COMMAND --key KEY OPTION VALUE link.json OUTPUT`.
    let peer_sign = |command: &str, key: &Path, option: [&str; 2], output: &Path| {
        let (key, link, output) = (key.to_str(), link_json.to_str(), output.to_str());
        let args = [command, "--key", key.unwrap(), option[0], option[1]];
        let out = peer(
            &py,
            &[&args[..], &[link.unwrap(), output.unwrap()]].concat(),
        );
        expect_code(&out, 0, &format!("peer {command}"));
    };
    // `toto sign --verify -f SIGNED -k KEY`.
    let verify_link = |signed: &Path, key: &Path| {
        toto()
            .args(["sign", "--verify", "-f"])
            .arg(signed)
            .arg("-k")
            .arg(key)
            .output()
            .unwrap()
    };
    for kt in ["ed25519", "p256", "p384", "p521", "rsa"] {
        let private = keys.join(format!("{kt}.pem"));
        let public = keys.join(format!("{kt}.pub"));
        let ours = toto().args(["key", "id"]).arg(&public).output().unwrap();
        assert_eq!(
            String::from_utf8(ours.stdout).unwrap().trim(),
            keyids[kt].as_str().unwrap(),
            "{kt}"
        );
        let env = dir.path().join(format!("{kt}.dsse.json"));
        peer_sign(
            "dsse-sign",
            &private,
            ["--payload-type", "text/plain"],
            &env,
        );
        let verdict = envelope_verify(&public, &env);
        expect_code(
            &verdict,
            0,
            &format!("toto verifies the reference's {kt} envelope"),
        );
        for format in ["metablock", "dsse"] {
            let signed = dir.path().join(format!("{kt}-{format}.link"));
            peer_sign("metadata-sign", &private, ["--format", format], &signed);
            expect_code(
                &verify_link(&signed, &public),
                0,
                &format!("toto verifies the reference's {kt} {format}"),
            );
            let other = keys.join(if kt == "rsa" { "p256.pub" } else { "rsa.pub" });
            expect_code(&verify_link(&signed, &other), 1, "wrong key");
        }
    }
}

#[test]
fn encrypted_keys_toto_writes_load_in_the_reference() {
    let Some((py, dir)) = python_tempdir("encrypted_keys_toto_writes_load_in_the_reference") else {
        return;
    };
    let key = dir.path().join("k.pem");
    // The reference's p384 key, re-encrypted by toto's key writer.
    let plain = dsse::PrivateKey::from_pem(&fs::read(vector("keys/p384.pem")).unwrap(), None, None)
        .unwrap();
    fs::write(
        &key,
        plain.to_pkcs8_pem(Some(b"s3cret")).unwrap().as_bytes(),
    )
    .unwrap();
    let out = peer(
        &py,
        &[
            "load-private",
            key.to_str().unwrap(),
            "--password",
            "s3cret",
        ],
    );
    expect_code(&out, 0, "reference loads toto's encrypted PKCS#8");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["keyid"],
        "8bdeb627aa09516b3794a5e8d0f214dbd74cc7055239832005734c2c84bd3a89"
    );
}

/// Keys toto generates (plain and encrypted) sign with the reference's own
/// `in-toto-run`, and toto verifies what it wrote.
#[test]
fn reference_signs_with_keys_toto_generates() {
    let Some((py, dir)) = python_tempdir("reference_signs_with_keys_toto_generates") else {
        return;
    };
    for kind in ["ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa"] {
        let key = dir.path().join(kind);
        generate_key(&key, &["--type", kind]);
        let plain = dsse::PrivateKey::from_pem(&fs::read(&key).unwrap(), None, None).unwrap();
        let encrypted = dir.path().join(format!("{kind}-enc"));
        fs::write(
            &encrypted,
            plain.to_pkcs8_pem(Some(b"pw")).unwrap().as_bytes(),
        )
        .unwrap();
        for (private, password) in [(&key, None), (&encrypted, Some("pw"))] {
            let out_dir = dir.path().join(format!(
                "out-{}",
                private.file_name().unwrap().to_string_lossy()
            ));
            fs::create_dir_all(&out_dir).unwrap();
            let mut cmd = std::process::Command::new(python_bin_dir(&py).join("in-toto-run"));
            cmd.args(["-n", "step", "-x", "--signing-key"])
                .arg(private)
                .arg("-d")
                .arg(&out_dir);
            if let Some(pw) = password {
                cmd.args(["--password", pw]);
            }
            let out = cmd.output().unwrap();
            expect_code(
                &out,
                0,
                &format!("in-toto-run with toto's {kind} key (password: {password:?})"),
            );
            let link = fs::read_dir(&out_dir)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path();
            let short = &plain.keyid().as_str()[..8];
            assert!(
                link.to_string_lossy()
                    .ends_with(&format!("step.{short}.link")),
                "{}",
                link.display()
            );
            let verdict = toto()
                .args(["sign", "--verify", "-f"])
                .arg(&link)
                .arg("-k")
                .arg(dir.path().join(format!("{kind}.pub")))
                .output()
                .unwrap();
            expect_code(&verdict, 0, kind);
        }
    }
}

/// `toto attest` writes Statement v1 attestations as JSON lines; toto and the
/// reference verify them; the subjects are the files' digests.
#[test]
fn attest_writes_statements_beside_release_artifacts() {
    let dir = tempdir();
    let root = dir.path();
    fs::write(root.join("app.tar.gz"), b"release bytes").unwrap();
    fs::write(root.join("app.sbom"), b"sbom bytes").unwrap();
    fs::write(
        root.join("prov.json"),
        br#"{"buildDefinition": {"buildType": "https://example.com/make"}}"#,
    )
    .unwrap();
    let key = vector("keys/p256.pem");
    for (i, subject) in ["app.tar.gz", "app.sbom"].iter().enumerate() {
        let mut cmd = toto();
        cmd.current_dir(root)
            .args([
                "attest",
                "--predicate-type",
                "https://slsa.dev/provenance/v1",
                "--predicate",
                "prov.json",
            ])
            .args(["--subject", subject, "--key"])
            .arg(&key)
            .args(["-o", "release.intoto.jsonl"]);
        if i > 0 {
            cmd.arg("--append");
        }
        expect_code(&cmd.output().unwrap(), 0, subject);
    }
    let text = fs::read_to_string(root.join("release.intoto.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let env = dsse::Envelope::from_json(lines[0].as_bytes(), &dsse::Limits::default()).unwrap();
    let statement =
        attest::Statement::from_value(serde_json::from_slice(env.payload()).unwrap()).unwrap();
    assert_eq!(statement.predicate_type, "https://slsa.dev/provenance/v1");
    assert_eq!(statement.subject[0].name.as_deref(), Some("app.tar.gz"));
    assert_eq!(
        statement.subject[0].digest.as_ref().unwrap().get("sha256"),
        Some(hex::encode(sha2::Sha256::digest(b"release bytes")).as_str())
    );
    assert_eq!(
        statement.predicate["buildDefinition"]["buildType"],
        "https://example.com/make"
    );
    // toto verifies every line.
    let out = envelope_verify(vector("keys/p256.pub"), root.join("release.intoto.jsonl"));
    expect_code(&out, 0, "verify jsonl");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let out = envelope_verify(
        vector("keys/ed25519.pub"),
        root.join("release.intoto.jsonl"),
    );
    expect_code(&out, 1, "wrong key");
    // The reference verifies each envelope.
    if let Some(py) = python("attest_writes_statements_beside_release_artifacts") {
        for (i, line) in lines.iter().enumerate() {
            let one = root.join(format!("line{i}.json"));
            fs::write(&one, line).unwrap();
            let out = peer(
                &py,
                &[
                    "dsse-verify",
                    one.to_str().unwrap(),
                    vector("keys/p256.pub").to_str().unwrap(),
                ],
            );
            expect_code(&out, 0, "reference verifies toto's attestation");
        }
    }
}
