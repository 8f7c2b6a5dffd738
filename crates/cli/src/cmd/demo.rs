//! `toto demo`: toto's whole job in one command, offline. It plays the
//! in-toto demo supply chain (clone → update-version → package, an
//! inspection that unpacks and checks the package) with an owner and two
//! functionaries, verifies it, then tampers with the source and shows the
//! verification fail. Bob signs with a key; Carl signs keylessly, through
//! the embedded Sigstore testbed (OIDC, Fulcio, Rekor, CT on 127.0.0.1).
//! Every step runs the real `toto` commands a user would.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use clap::{Args, Subcommand};

/// Arguments of `toto demo`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  toto demo               # in a temporary directory, removed afterwards\n  \
    toto demo --dir ./demo  # keep every file it writes"
)]
pub struct DemoArgs {
    /// Work here and keep the files (default: a temporary directory, removed).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Tools the demo's steps run (hidden: the demo needs nothing but toto).
#[derive(Debug, Subcommand)]
pub enum DemoTool {
    /// Write TEXT (and a newline) to FILE, creating directories.
    Write {
        /// File.
        file: PathBuf,
        /// Content.
        text: String,
    },
    /// Pack the files of DIR into ARCHIVE (a JSON map of path → base64).
    Pack {
        /// Archive to write.
        archive: PathBuf,
        /// Directory to pack.
        dir: PathBuf,
    },
    /// Unpack ARCHIVE into the current directory.
    Unpack {
        /// Archive to read.
        archive: PathBuf,
    },
}

/// The demo's layout description (`ISSUER` is replaced by the testbed's issuer).
const CHAIN: &str = include_str!("demo_chain.toml");

/// How the client verifies (in `client/` and `client-tampered/`).
const VERIFY: [&str; 7] = [
    "verify",
    "--layout",
    "root.layout",
    "--layout-key",
    "alice.pub",
    "--trusted-root",
    "trusted_root.json",
];

struct Demo {
    exe: PathBuf,
    root: PathBuf,
    /// Carl's identity token, handed to `toto run` as SIGSTORE_ID_TOKEN.
    carl_token: String,
}

/// What a toto command the demo ran printed, and how it exited.
struct Ran {
    code: i32,
    stderr: String,
}

impl Demo {
    fn say(&self, text: &str) {
        println!("{text}");
    }

    /// Runs `toto ARGS` in `dir`, echoing the command; returns its exit code.
    fn toto(&self, dir: &Path, args: &[&str]) -> Result<Ran> {
        self.toto_with(dir, args, &[])
    }

    /// Like [`Demo::toto`], with environment variables `(name, value, shown as)`.
    /// The command is echoed after a prompt naming its working directory
    /// relative to the demo's (`client$ toto verify …`), so that it can be
    /// run again as printed.
    fn toto_with(&self, dir: &Path, args: &[&str], env: &[(&str, &str, &str)]) -> Result<Ran> {
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        let prefix: String = env
            .iter()
            .map(|(name, _, shown)| format!("{name}={shown} "))
            .collect();
        let here = dir
            .strip_prefix(&self.root)
            .unwrap_or(dir)
            .display()
            .to_string();
        println!(
            "  {here}$ {prefix}toto {}",
            shown
                .join(" ")
                .replace(&self.exe.display().to_string(), "toto")
        );
        let mut command = Command::new(&self.exe);
        command
            .current_dir(dir)
            .args(args)
            .env_remove("TOTO_KEY_PASSWORD")
            .env_remove("SIGSTORE_ID_TOKEN")
            .env_remove("SIGSTORE_IDENTITY_TOKEN")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL");
        for (name, value, _) in env {
            command.env(name, value);
        }
        let out = command
            .output()
            .with_context(|| format!("cannot run {}", self.exe.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        for line in String::from_utf8_lossy(&out.stdout)
            .lines()
            .chain(stderr.lines())
        {
            println!("    {line}");
        }
        Ok(Ran {
            code: out.status.code().unwrap_or(-1),
            stderr,
        })
    }

    fn must(&self, dir: &Path, args: &[&str]) -> Result<()> {
        let code = self.toto(dir, args)?.code;
        if code != 0 {
            bail!("`toto {}` failed with exit code {code}", args.join(" "));
        }
        Ok(())
    }

    /// Bob runs step `step`: it writes `VERSION = "{version}"` into
    /// demo-project/foo.py, recording the project as products (and first as
    /// materials, with `materials`).
    fn bob_writes(
        &self,
        work: &Path,
        exe: &str,
        step: &str,
        materials: bool,
        version: &str,
    ) -> Result<()> {
        let content = format!("VERSION = \"{version}\"");
        let mut args = vec!["run", "-n", step, "--key", "../keys/bob"];
        if materials {
            args.extend(["-m", "demo-project"]);
        }
        args.extend(["-p", "demo-project", "--", exe, "demo-tool", "write"]);
        args.extend(["demo-project/foo.py", &content]);
        self.must(work, &args)
    }

    fn run_chain(&self, work: &Path, exe: &str, tamper: bool) -> Result<()> {
        self.bob_writes(work, exe, "clone", false, "foo-v0")?;
        self.bob_writes(work, exe, "update-version", true, "foo-v1")?;
        if tamper {
            self.say("  (an attacker slips a change into demo-project/foo.py before packaging)");
            fs::write(
                work.join("demo-project/foo.py"),
                "VERSION = \"foo-v1\"\nimport evil\n",
            )?;
        }
        let code = self
            .toto_with(
                work,
                &[
                    "run",
                    "-n",
                    "package",
                    "--keyless",
                    "--trust-config",
                    "../sigstore-testbed/trust_config.json",
                    "-m",
                    "demo-project",
                    "-p",
                    "demo-project.pkg",
                    "--",
                    exe,
                    "demo-tool",
                    "pack",
                    "demo-project.pkg",
                    "demo-project",
                ],
                &[(
                    "SIGSTORE_ID_TOKEN",
                    &self.carl_token,
                    "$(toto testbed token --dir ../sigstore-testbed --identity carl@example.com)",
                )],
            )?
            .code;
        if code != 0 {
            bail!("carl's keyless `toto run -n package` failed with exit code {code}");
        }
        Ok(())
    }

    /// Copies what a client receives (layout, keys, links, package) to `to`.
    fn deliver(&self, work: &Path, to: &Path) -> Result<()> {
        fs::create_dir_all(to)?;
        fs::copy(self.root.join("owner/root.layout"), to.join("root.layout"))?;
        for name in ["alice.pub", "bob.pub"] {
            fs::copy(self.root.join("keys").join(name), to.join(name))?;
        }
        fs::copy(
            self.root.join("sigstore-testbed/trusted_root.json"),
            to.join("trusted_root.json"),
        )?;
        for entry in fs::read_dir(work)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.ends_with(".link")
                || name.ends_with(".link.sigstore.json")
                || name == "demo-project.pkg"
            {
                fs::copy(&path, to.join(&name))?;
            }
        }
        Ok(())
    }
}

/// `toto demo`.
pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find the toto binary")?;
    let temp;
    let root = match &args.dir {
        Some(dir) => {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            dir.canonicalize()?
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("toto-demo-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            temp.path().canonicalize()?
        }
    };
    if root.join("keys").exists() {
        bail!(
            "{} already holds a demo; pass an empty --dir",
            root.display()
        );
    }
    let exe_s = exe.display().to_string();
    println!("toto demo in {}\n", root.display());

    println!("0. A Sigstore testbed starts on 127.0.0.1: OIDC issuer, Fulcio, Rekor, CT log.");
    let testbed = testbed::Testbed::start(&testbed::Config {
        dir: root.join("sigstore-testbed"),
        port: 0,
    })
    .context("cannot start the Sigstore testbed")?;
    println!(
        "  (what `toto testbed serve --dir sigstore-testbed` runs; serving on {})",
        testbed.url()
    );
    let carl_token = testbed
        .token(&testbed::TokenRequest {
            identity: "carl@example.com".into(),
            // The demo's tampered run signs again later.
            lifetime: Some(3600),
            ..testbed::TokenRequest::default()
        })
        .context("cannot mint Carl's identity token")?;
    let demo = Demo {
        exe: exe.clone(),
        root: root.clone(),
        carl_token,
    };

    demo.say("\n1. Keys: Alice owns the project and Bob is a functionary, each with a key pair;");
    demo.say("   Carl, the other functionary, has no key: he signs keylessly as carl@example.com.");
    fs::create_dir_all(root.join("keys"))?;
    demo.must(&root.join("keys"), &["key", "generate", "-o", "alice"])?;
    demo.must(
        &root.join("keys"),
        &["key", "generate", "--type", "ecdsa-p256", "-o", "bob"],
    )?;

    demo.say("\n2. Alice writes the supply chain's policy (layout) and signs it.");
    demo.say("   Each step names who may perform it and rules for what it reads (materials)");
    demo.say("   and writes (products); MATCH ties an artifact to the step that made it, and");
    demo.say("   DISALLOW * refuses anything the rules before it did not account for.");
    demo.say("   The inspection runs when the client verifies: it unpacks the package and checks");
    demo.say("   its contents against the links. owner/chain.toml:");
    fs::create_dir_all(root.join("owner"))?;
    // The binary's path last: a path with "keys/" in it (a checkout named
    // `…-keys`) must not be rewritten.
    let chain = CHAIN
        .replace("keys/", "../keys/")
        .replace("ISSUER", testbed.issuer())
        .replace("\"TOTO\"", &format!("{exe_s:?}"));
    for line in chain.lines() {
        println!("{}", format!("    {line}").trim_end());
    }
    fs::write(root.join("owner/chain.toml"), &chain)?;
    demo.must(
        &root.join("owner"),
        &["layout", "new", "chain.toml", "-o", "root.layout"],
    )?;
    demo.must(
        &root.join("owner"),
        &["layout", "sign", "--key", "../keys/alice", "root.layout"],
    )?;
    demo.must(&root.join("owner"), &["layout", "show", "root.layout"])?;

    demo.say("\n3. Bob and Carl carry out the steps; toto records signed evidence (links).");
    demo.say("   Carl's link goes to Fulcio (a 10-minute certificate) and Rekor (a log entry),");
    demo.say("   and is written as a Sigstore bundle: package.<id>.link.sigstore.json.");
    let work = root.join("work");
    fs::create_dir_all(&work)?;
    demo.run_chain(&work, &exe_s, false)?;

    demo.say("\n4. A client receives the package with the layout and links, and verifies.");
    let good = root.join("client");
    demo.deliver(&work, &good)?;
    let verified = demo.toto(&good, &VERIFY)?.code;

    demo.say("\n5. The same supply chain, but the source is changed behind Bob's back.");
    let bad_work = root.join("work-tampered");
    fs::create_dir_all(&bad_work)?;
    demo.run_chain(&bad_work, &exe_s, true)?;
    let bad = root.join("client-tampered");
    demo.deliver(&bad_work, &bad)?;
    let caught = demo.toto(&bad, &VERIFY)?;

    demo.say("\nSummary:");
    demo.say(&format!(
        "  honest chain:   toto verify exited {verified} (0 = verified)"
    ));
    demo.say(&format!(
        "  tampered chain: toto verify exited {} (1 = verification failed)",
        caught.code
    ));
    if args.dir.is_some() {
        demo.say(&format!(
            "  files: keys/ (keys), owner/root.layout (signed layout), sigstore-testbed/ (the testbed's keys, log and trust files), work*/ (links, bundles, package), client*/ (what was verified), all in {}",
            root.display()
        ));
        demo.say(&format!(
            "  every command above ran in the directory before its $ (relative to {}); run \
             one again as printed, e.g. cd {}/client && toto {}",
            root.display(),
            root.display(),
            VERIFY.join(" ")
        ));
    }
    if verified == 0 && caught.code == 1 {
        demo.say(&format!(
            "toto caught the tampering: {}",
            cause(&caught.stderr)
        ));
        demo.say("Demo complete.");
        Ok(ExitCode::SUCCESS)
    } else {
        bail!(
            "the demo did not go as expected (verified: {verified}, tampered: {})",
            caught.code
        )
    }
}

/// The cause of a failed `toto verify`: the message after its
/// `verification failed:` (or `error:`) line, the chain of causes included.
fn cause(stderr: &str) -> String {
    let message = |marker: &str| {
        let mut lines = stderr.lines().skip_while(|l| !l.contains(marker));
        let first = lines.next()?.split_once(marker)?.1.trim().to_owned();
        let rest: Vec<&str> = lines.map(str::trim).filter(|l| !l.is_empty()).collect();
        Some(if rest.is_empty() {
            first
        } else {
            format!("{first} {}", rest.join(" "))
        })
    };
    message("verification failed:")
        .or_else(|| message("error:"))
        .unwrap_or_else(|| "verification failed (see above)".to_owned())
}

fn walk(
    dir: &Path,
    base: &Path,
    out: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, base, out)?;
        } else {
            let name = path
                .strip_prefix(base)?
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = crate::files::read_document(&path, "file")?;
            out.insert(
                name,
                base64::engine::general_purpose::STANDARD
                    .encode(bytes)
                    .into(),
            );
        }
    }
    Ok(())
}

impl DemoTool {
    /// Runs the tool.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            DemoTool::Write { file, text } => {
                if let Some(parent) = file.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::write(&file, format!("{text}\n"))?;
            }
            DemoTool::Pack { archive, dir } => {
                let mut files = serde_json::Map::new();
                let base = dir.parent().unwrap_or(Path::new(""));
                walk(&dir, base, &mut files)?;
                fs::write(&archive, serde_json::to_vec_pretty(&files)?)?;
            }
            DemoTool::Unpack { archive } => {
                let files: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_slice(&crate::files::read_document(&archive, "archive")?)?;
                for (name, content) in files {
                    if name.split('/').any(|c| c == ".." || c.is_empty()) {
                        bail!("refusing to unpack {name:?}");
                    }
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(content.as_str().unwrap_or_default())
                        .with_context(|| format!("{name}: bad content"))?;
                    let path = PathBuf::from(&name);
                    if let Some(parent) = path.parent() {
                        fs::create_dir_all(parent)?;
                    }
                    fs::write(&path, bytes)?;
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
