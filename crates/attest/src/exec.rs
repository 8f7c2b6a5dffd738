//! The one place toto runs commands: a step's command under `toto run`, and
//! inspections during verification. Streams can be recorded (and still
//! shown on the terminal, like the reference's tee), with a timeout.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::Error;

/// Most bytes of each stream kept in a link (the rest is still shown).
pub const MAX_RECORDED_STREAM: usize = 16 << 20;

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Exit code; a signal `n` is reported as `-n`, as Python does.
    pub return_value: i64,
    /// Recorded stdout (lossy UTF-8), when recording.
    pub stdout: String,
    /// Recorded stderr (lossy UTF-8), when recording.
    pub stderr: String,
    /// stdout was longer than [`MAX_RECORDED_STREAM`]; `stdout` is its start.
    pub stdout_cut: bool,
    /// stderr was longer than [`MAX_RECORDED_STREAM`]; `stderr` is its start.
    pub stderr_cut: bool,
}

/// Why a command could not be run to completion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The argv is empty.
    #[error("no command given")]
    Empty,
    /// The program does not exist.
    #[error("command not found: {program}")]
    NotFound {
        /// `argv[0]`.
        program: String,
    },
    /// The program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// `argv[0]`.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The command ran longer than allowed and was killed.
    #[error("command {program} timed out after {seconds} s and was killed")]
    Timeout {
        /// `argv[0]`.
        program: String,
        /// The limit.
        seconds: u64,
    },
}

impl From<ExecError> for Error {
    fn from(e: ExecError) -> Error {
        Error::Exec(e)
    }
}

/// Starts `command` (whose program is `program`): [`ExecError::NotFound`]
/// when there is no such program.
pub(crate) fn spawn(command: &mut Command, program: &str) -> Result<Child, ExecError> {
    command.spawn().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ExecError::NotFound {
                program: program.to_owned(),
            }
        } else {
            ExecError::Spawn {
                program: program.to_owned(),
                source,
            }
        }
    })
}

/// A recorded stream: its first bytes, and whether there were more.
type Kept = (Vec<u8>, bool);

fn pump(mut from: impl Read + Send + 'static, echo: fn(&[u8])) -> thread::JoinHandle<Kept> {
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut cut = false;
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let chunk = buf.get(..n).unwrap_or_default();
                    echo(chunk);
                    let room = MAX_RECORDED_STREAM.saturating_sub(kept.len());
                    cut |= n > room;
                    kept.extend_from_slice(chunk.get(..n.min(room)).unwrap_or_default());
                }
            }
        }
        (kept, cut)
    })
}

fn echo_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

fn echo_stderr(bytes: &[u8]) {
    let _ = std::io::stderr().lock().write_all(bytes);
}

/// How a command runs; the default: in the current directory, streams
/// inherited, no time limit, the whole environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// The working directory (the current one when `None`).
    pub dir: Option<&'a std::path::Path>,
    /// The command is killed after this long (`None`: waits forever).
    pub timeout: Option<Duration>,
    /// stdout and stderr are captured, and still echoed; otherwise they are
    /// inherited.
    pub record_streams: bool,
    /// Environment variables taken out of the command's environment (the
    /// caller's credentials, say).
    pub remove_env: &'a [&'a str],
    /// The command's stdout is shown on stderr (so that stdout carries only
    /// the caller's own output, e.g. a JSON report); recorded streams are
    /// unchanged.
    pub stdout_to_stderr: bool,
}

/// Runs `argv` as `options` say.
pub fn run(argv: &[String], options: &Options<'_>) -> Result<Outcome, ExecError> {
    let Options {
        dir,
        timeout,
        record_streams,
        remove_env: remove,
        stdout_to_stderr,
    } = *options;
    let (program, args) = argv.split_first().ok_or(ExecError::Empty)?;
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::inherit());
    for name in remove {
        command.env_remove(name);
    }
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    if record_streams {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else if stdout_to_stderr {
        command.stdout(std::io::stderr());
    }
    let mut child = spawn(&mut command, program)?;
    let echo_out = if stdout_to_stderr {
        echo_stderr
    } else {
        echo_stdout
    };
    let out = child.stdout.take().map(|s| pump(s, echo_out));
    let err = child.stderr.take().map(|s| pump(s, echo_stderr));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => {
                return Err(ExecError::Spawn {
                    program: program.clone(),
                    source,
                })
            }
        }
        if let Some(limit) = timeout {
            if started.elapsed() >= limit {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ExecError::Timeout {
                    program: program.clone(),
                    seconds: limit.as_secs(),
                });
            }
        }
        thread::sleep(Duration::from_millis(2));
    };
    let collect = |h: Option<thread::JoinHandle<Kept>>| {
        h.and_then(|h| h.join().ok())
            .map(|(b, cut)| (String::from_utf8_lossy(&b).into_owned(), cut))
            .unwrap_or_default()
    };
    let (stdout, stdout_cut) = collect(out);
    let (stderr, stderr_cut) = collect(err);
    Ok(Outcome {
        return_value: exit_code(&status),
        stdout,
        stderr,
        stdout_cut,
        stderr_cut,
    })
}

#[cfg(unix)]
fn exit_code(status: &std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => i64::from(code),
        (None, Some(signal)) => -i64::from(signal),
        (None, None) => -1,
    }
}

#[cfg(not(unix))]
fn exit_code(status: &std::process::ExitStatus) -> i64 {
    status.code().map_or(-1, i64::from)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn argv(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn records_streams_and_exit_code() {
        let recording = Options {
            record_streams: true,
            ..Options::default()
        };
        let o = run(
            &argv(&["sh", "-c", "printf 'h\\303\\251'; echo err >&2; exit 7"]),
            &recording,
        )
        .unwrap();
        assert_eq!(o.return_value, 7);
        assert_eq!(o.stdout, "hé");
        assert_eq!(o.stderr, "err\n");
    }

    #[test]
    fn timeout_and_not_found() {
        let limited = Options {
            timeout: Some(Duration::from_millis(100)),
            ..Options::default()
        };
        let e = run(&argv(&["sleep", "5"]), &limited).unwrap_err();
        assert!(matches!(e, ExecError::Timeout { .. }));
        let e = run(&argv(&["toto-no-such-program"]), &Options::default()).unwrap_err();
        assert!(matches!(e, ExecError::NotFound { .. }));
    }
}
