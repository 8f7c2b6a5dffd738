//! Recording a step: materials → the command → products → a [`Link`], with
//! the command's exit code and streams as byproducts and secrets redacted.
//! `toto run`, `toto mock` and inspections during verification all go
//! through [`run`]; signing and writing the link stay with the caller.
//!
//! Files are walked and hashed by [`crate::record`], the command runs
//! through [`crate::exec`]; progress is reported through a [`StepObserver`],
//! which hands out the [`record::Observer`] of each recording.
//!
//! ```
//! use std::path::PathBuf;
//! use attest::layout::StepName;
//! use attest::record::RecordOptions;
//! use attest::redact::Redactor;
//! use attest::step::{self, Request};
//!
//! let name = StepName::parse("build")?;
//! let (command, sources) = (["echo".to_owned(), "built".to_owned()], [PathBuf::from("src")]);
//! let (options, redactor) = (RecordOptions::default(), Redactor::new(&[], true, &[])?);
//! let mut request = Request::new(&name, &options);
//! request.command = Some(&command);
//! (request.materials, request.products) = (&sources, &sources);
//! (request.redactor, request.record_streams) = (Some(&redactor), true);
//! let step = step::run(&request)?; // sign `step.link` with `attest::SignedDocument`
//! assert_eq!(step.return_value, Some(0));
//! assert_eq!(step.link.byproducts["stdout"], "built\n");
//! # Ok::<(), attest::Error>(())
//! ```

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::digest::{ArtifactMap, DigestSet};
use crate::error::Error;
use crate::exec::{self, ExecError, Outcome};
use crate::layout::StepName;
use crate::link::Link;
use crate::record::{self, RecordError, RecordOptions, Recorded};
use crate::redact::{Redactor, REDACTED};

/// toto's own credentials: taken out of a step's environment
/// ([`Request::remove_env`]) unless the user passes them on.
pub const CREDENTIALS: [&str; 3] = [
    "SIGSTORE_ID_TOKEN",
    "SIGSTORE_IDENTITY_TOKEN",
    "TOTO_KEY_PASSWORD",
];

/// Which artifacts of a step are being recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Artifacts {
    /// Before the command.
    Materials,
    /// After the command.
    Products,
}

impl Artifacts {
    /// "materials" or "products".
    pub fn name(self) -> &'static str {
        match self {
            Artifacts::Materials => "materials",
            Artifacts::Products => "products",
        }
    }
}

impl fmt::Display for Artifacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Told what recording a step does while it does it (progress bars and
/// logs live in the caller). Every method has an empty default; `()`
/// observes nothing.
pub trait StepObserver {
    /// Recording `what` is about to start: the observer of that recording.
    fn recording(&self, what: Artifacts) -> Option<Arc<dyn record::Observer>> {
        let _ = what;
        None
    }
    /// Recording `what` is over, successfully or not.
    fn recorded(&self, what: Artifacts, result: Result<&Recorded, &RecordError>) {
        let _ = (what, result);
    }
    /// The command is about to run; `argv` is as the link records it
    /// (redacted).
    fn running(&self, argv: &[String]) {
        let _ = argv;
    }
    /// The command exited with `return_value`.
    fn ran(&self, return_value: i64) {
        let _ = return_value;
    }
}

impl StepObserver for () {}

/// What to record and run. Built with [`Request::new`] (nothing recorded,
/// no command) and filled in field by field.
#[non_exhaustive]
pub struct Request<'a> {
    /// The step's name, as the link records it.
    pub name: &'a StepName,
    /// The command's argv; `None` records without running anything (the
    /// link then has no command and no byproducts).
    pub command: Option<&'a [String]>,
    /// Paths recorded before the command.
    pub materials: &'a [PathBuf],
    /// Paths recorded after the command.
    pub products: &'a [PathBuf],
    /// How paths are recorded.
    pub options: &'a RecordOptions,
    /// Replaces secrets in the recorded command line and streams (and in
    /// the command's name in errors); `None` records them as they are.
    pub redactor: Option<&'a Redactor>,
    /// The command is killed after this long (`None`: no limit).
    pub timeout: Option<Duration>,
    /// Environment variables taken out of the command's environment.
    pub remove_env: &'a [&'a str],
    /// Record stdout and stderr (still shown) in the byproducts.
    pub record_streams: bool,
    /// Show the command's stdout on stderr (stdout is the caller's).
    pub stdout_to_stderr: bool,
    /// Told about progress.
    pub observer: &'a dyn StepObserver,
}

impl<'a> Request<'a> {
    /// A request for step `name` that records nothing and runs no command.
    pub fn new(name: &'a StepName, options: &'a RecordOptions) -> Request<'a> {
        Request {
            name,
            command: None,
            materials: &[],
            products: &[],
            options,
            redactor: None,
            timeout: None,
            remove_env: &[],
            record_streams: false,
            stdout_to_stderr: false,
            observer: &(),
        }
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The command line may hold secrets: not shown.
        f.debug_struct("Request")
            .field("name", &self.name)
            .field("materials", &self.materials)
            .field("products", &self.products)
            .field("timeout", &self.timeout)
            .field("record_streams", &self.record_streams)
            .finish_non_exhaustive()
    }
}

/// A recorded step.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Step {
    /// The unsigned link.
    pub link: Link,
    /// The command's exit code (a signal `n` is `-n`); `None` without a
    /// command.
    pub return_value: Option<i64>,
}

impl Step {
    /// Adds a product that is not a file: `name` is a URI (`scheme://…`,
    /// e.g. `oci://REGISTRY/REPO` for a container image) and `digest` what
    /// the caller found it to be after the command ended (an image's
    /// manifest digest, resolved in its registry). No file is ever
    /// recorded under such a name (recorded paths never hold `//`), and a
    /// name already recorded is refused: a link names each artifact once.
    pub fn add_product(&mut self, name: &str, digest: DigestSet) -> Result<(), Error> {
        let refused = |reason: String| Error::Malformed {
            what: "product",
            reason,
        };
        let uri = name.split_once("://").filter(|(scheme, rest)| {
            scheme
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase())
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'+')
                && !rest.is_empty()
        });
        if uri.is_none() {
            return Err(refused(format!(
                "{name:?} is not a URI (scheme://…): only files are recorded by path"
            )));
        }
        if self.link.products.contains_key(name) {
            return Err(refused(format!("{name} is recorded twice")));
        }
        self.link.products.insert(name.to_owned(), digest);
        Ok(())
    }
}

/// Records `paths` as `what`, reporting to `observer`. Nothing to record
/// gives an empty map without walking anything.
pub fn record(
    paths: &[PathBuf],
    what: Artifacts,
    options: &RecordOptions,
    observer: &dyn StepObserver,
) -> Result<Recorded, Error> {
    if paths.is_empty() {
        return Ok(Recorded::default());
    }
    let options = match observer.recording(what) {
        Some(o) => RecordOptions {
            observer: Some(o),
            ..options.clone()
        },
        None => options.clone(),
    };
    let recorded = record::record_artifacts(paths, &options);
    observer.recorded(what, recorded.as_ref());
    recorded.map_err(|source| Error::Record { what, source })
}

/// Records the materials, runs the command, records the products and
/// returns the (unsigned) link. A command that cannot be run or times out
/// is an [`Error::Exec`] naming the program redacted; a command that fails
/// is not an error: its exit code is in the link and in
/// [`Step::return_value`].
pub fn run(request: &Request<'_>) -> Result<Step, Error> {
    let observer = request.observer;
    let materials = record(
        request.materials,
        Artifacts::Materials,
        request.options,
        observer,
    )?
    .artifacts;
    let mut link = Link {
        name: request.name.to_string(),
        command: Vec::new(),
        materials,
        products: ArtifactMap::new(),
        byproducts: Map::new(),
        environment: Map::new(),
    };
    let mut return_value = None;
    if let Some(argv) = request.command {
        let (shown, command_redactions) = redact_command(argv, request.redactor);
        observer.running(&shown);
        let options = exec::Options {
            dir: None,
            timeout: request.timeout,
            record_streams: request.record_streams,
            remove_env: request.remove_env,
            stdout_to_stderr: request.stdout_to_stderr,
        };
        let outcome = exec::run(argv, &options)
            .map_err(|e| Error::Exec(redact_exec_error(e, request.redactor)))?;
        observer.ran(outcome.return_value);
        return_value = Some(outcome.return_value);
        link.command = shown;
        link.byproducts = byproducts(&outcome, request.redactor, command_redactions);
    }
    link.products = record(
        request.products,
        Artifacts::Products,
        request.options,
        observer,
    )?
    .artifacts;
    Ok(Step { link, return_value })
}

/// The command line as the link records it, and how many secrets were
/// replaced in it.
fn redact_command(command: &[String], redactor: Option<&Redactor>) -> (Vec<String>, usize) {
    let Some(redactor) = redactor else {
        return (command.to_vec(), 0);
    };
    let mut count = 0;
    let argv = command
        .iter()
        .map(|arg| {
            let (arg, n) = redactor.redact(arg);
            count += n;
            arg
        })
        .collect();
    (argv, count)
}

/// The error with the program's name redacted (it is shown to the user).
fn redact_exec_error(error: ExecError, redactor: Option<&Redactor>) -> ExecError {
    let Some(redactor) = redactor else {
        return error;
    };
    let hide = |program: String| redactor.redact(&program).0;
    match error {
        ExecError::NotFound { program } => ExecError::NotFound {
            program: hide(program),
        },
        ExecError::Spawn { program, source } => ExecError::Spawn {
            program: hide(program),
            source,
        },
        ExecError::Timeout { program, seconds } => ExecError::Timeout {
            program: hide(program),
            seconds,
        },
        other => other,
    }
}

/// The byproducts of a run: exit code and (redacted) streams, and, when
/// anything was redacted, `toto-redacted`: how many secrets were replaced
/// in the command line and in each stream.
fn byproducts(
    outcome: &Outcome,
    redactor: Option<&Redactor>,
    command_redactions: usize,
) -> Map<String, Value> {
    let stream = |text: &str, cut: bool| match redactor {
        None => (text.to_owned(), 0),
        Some(r) if cut => r.redact_cut(text),
        Some(r) => r.redact(text),
    };
    let (stdout, out_count) = stream(&outcome.stdout, outcome.stdout_cut);
    let (stderr, err_count) = stream(&outcome.stderr, outcome.stderr_cut);
    let mut map = Map::new();
    map.insert("return-value".into(), json!(outcome.return_value));
    map.insert("stdout".into(), json!(stdout));
    map.insert("stderr".into(), json!(stderr));
    if command_redactions + out_count + err_count > 0 {
        // Tell verifiers the link was edited before signing.
        map.insert(
            "toto-redacted".into(),
            json!({
                "command": command_redactions,
                "stdout": out_count,
                "stderr": err_count,
                "replacement": REDACTED,
            }),
        );
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn a_step_records_materials_command_streams_and_products() {
        let dir = std::env::temp_dir().join(format!("toto-step-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in.txt");
        let output = dir.join("out.txt");
        std::fs::write(&input, b"hello").unwrap();
        let _ = std::fs::remove_file(&output);
        let name = StepName::parse("build").unwrap();
        let options = RecordOptions::default();
        let command = sh(&format!(
            "cp {} {}; echo done; exit 3",
            input.display(),
            output.display()
        ));
        let materials = [input.clone()];
        let products = [output.clone()];
        let mut request = Request::new(&name, &options);
        request.command = Some(&command);
        request.materials = &materials;
        request.products = &products;
        request.record_streams = true;
        let step = run(&request).unwrap();
        assert_eq!(step.return_value, Some(3));
        assert_eq!(step.link.name, "build");
        assert_eq!(step.link.command, command);
        assert_eq!(step.link.materials.len(), 1);
        assert_eq!(step.link.products.len(), 1);
        assert_eq!(step.link.byproducts["return-value"], json!(3));
        assert_eq!(step.link.byproducts["stdout"], json!("done\n"));
        assert!(!step.link.byproducts.contains_key("toto-redacted"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_image_product_is_added_by_uri_once_and_a_path_is_refused() {
        let name = StepName::parse("build").unwrap();
        let options = RecordOptions::default();
        let mut step = run(&Request::new(&name, &options)).unwrap();
        let digest = DigestSet::single("sha256", &"a".repeat(64)).unwrap();
        step.add_product("oci://127.0.0.1:5000/app", digest.clone())
            .unwrap();
        assert_eq!(step.link.products["oci://127.0.0.1:5000/app"], digest);
        let twice = step
            .add_product("oci://127.0.0.1:5000/app", digest.clone())
            .unwrap_err();
        assert!(twice.to_string().contains("recorded twice"), "{twice}");
        for not_uri in ["dist/app", "://app", "oci://", "OCI://x/app"] {
            let error = step.add_product(not_uri, digest.clone()).unwrap_err();
            assert!(
                error.to_string().contains("not a URI"),
                "{not_uri}: {error}"
            );
        }
        assert_eq!(step.link.products.len(), 1);
    }

    const SECRET: &str = "hunter2-very-secret-value";

    /// Runs `command` (streams recorded) with `$MY_TOKEN` = [`SECRET`]
    /// known to the redactor.
    fn run_with_secret_in_env(command: &[String]) -> Result<Step, Error> {
        let env = [("MY_TOKEN".to_owned(), SECRET.to_owned())];
        let redactor = Redactor::new(&[], true, &env).unwrap();
        let name = StepName::parse("build").unwrap();
        let options = RecordOptions::default();
        let mut request = Request::new(&name, &options);
        request.command = Some(command);
        request.redactor = Some(&redactor);
        request.record_streams = true;
        run(&request)
    }

    #[test]
    fn a_secret_in_the_command_and_its_output_is_redacted_and_counted() {
        let step = run_with_secret_in_env(&sh(&format!("echo {SECRET}"))).unwrap();
        let text = serde_json::to_string(&step.link.to_classic()).unwrap();
        assert!(!text.contains(SECRET), "{text}");
        assert_eq!(
            step.link.byproducts["toto-redacted"],
            json!({"command": 1, "stdout": 1, "stderr": 0, "replacement": REDACTED})
        );
    }

    #[test]
    fn a_secret_program_name_is_redacted_in_the_error() {
        let command = [format!("/nonexistent/{SECRET}")];
        let error = run_with_secret_in_env(&command).unwrap_err().to_string();
        assert!(!error.contains(SECRET), "{error}");
        assert_eq!(error, "command not found: /nonexistent/[REDACTED]");
    }

    #[test]
    fn no_command_records_no_command_and_no_byproducts() {
        let name = StepName::parse("review").unwrap();
        let options = RecordOptions::default();
        let step = run(&Request::new(&name, &options)).unwrap();
        assert_eq!(step.return_value, None);
        assert!(step.link.command.is_empty());
        assert!(step.link.byproducts.is_empty());
        assert!(step.link.materials.is_empty() && step.link.products.is_empty());
    }
}
