//! Progress bars (indicatif) for long work: hashing trees in `toto run` /
//! `toto record`, loading and verifying links in `toto verify`.
//!
//! Shown only when stderr is a terminal, at the default verbosity (`-q`
//! silences them; with `-v`/`-vv` the detail lines take their place) and
//! not with `--format json`. A bar starts hidden and appears once the work
//! is big (at least [`BIG_FILES`] files or [`BIG_BYTES`] bytes to hash) or
//! has taken [`DELAY`], so quick commands never flash one. Finished bars
//! are cleared: nothing of them stays in the terminal's scrollback.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use attest::record::{RecordError, Recorded};
use attest::step::Artifacts;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::verbosity::{self, Level};

/// Work of at least this many files shows a bar at once.
pub const BIG_FILES: usize = 1000;
/// Work of at least this many bytes shows a bar at once.
pub const BIG_BYTES: u64 = 64 << 20;
/// Any work shows a bar after this long.
pub const DELAY: Duration = Duration::from_millis(300);

/// Whether progress may be drawn at all.
fn wanted(stderr_is_terminal: bool, level: Level, json: bool) -> bool {
    stderr_is_terminal && level == Level::Normal && !json
}

/// Whether a hidden bar should appear now.
fn due(elapsed: Duration, files: usize, bytes: u64) -> bool {
    elapsed >= DELAY || files >= BIG_FILES || bytes >= BIG_BYTES
}

/// A bar that starts hidden and appears when [`due`].
#[derive(Debug)]
struct Lazy {
    bar: ProgressBar,
    start: Instant,
    shown: AtomicBool,
}

impl Lazy {
    /// `None` when progress is not [`wanted`].
    fn new(json: bool) -> Option<Lazy> {
        if !wanted(std::io::stderr().is_terminal(), verbosity::level(), json) {
            return None;
        }
        Some(Lazy {
            bar: ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
            start: Instant::now(),
            shown: AtomicBool::new(false),
        })
    }

    fn reveal_if_due(&self, files: usize, bytes: u64) {
        if !self.shown.load(Ordering::Relaxed) && due(self.start.elapsed(), files, bytes) {
            self.shown.store(true, Ordering::Relaxed);
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(120));
            // Draw now: the work may be over before the first tick.
            self.bar.tick();
        }
    }
}

fn style(colored: &str, plain: &str) -> ProgressStyle {
    let template = if crate::style::stderr_colored() {
        colored
    } else {
        plain
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Reports recording: a bar over the bytes to hash, and the `-v`/`-vv`
/// detail lines (paths excluded, totals, every file hashed).
#[derive(Debug)]
pub struct Recording {
    what: &'static str,
    lazy: Option<Lazy>,
    files: AtomicUsize,
}

impl Recording {
    /// A reporter for recording `what` ("materials", "products").
    pub fn new(what: &'static str) -> Arc<Recording> {
        Arc::new(Recording {
            what,
            lazy: Lazy::new(false),
            files: AtomicUsize::new(0),
        })
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(lazy) = &self.lazy {
            lazy.bar.finish_and_clear();
        }
    }
}

impl attest::record::Observer for Recording {
    fn walking(&self) {
        if let Some(lazy) = &self.lazy {
            lazy.bar
                .set_style(style("{spinner:.cyan} {msg}", "{spinner} {msg}"));
            lazy.bar.set_message(format!("scanning {}", self.what));
        }
    }

    fn found(&self, files: usize) {
        if let Some(lazy) = &self.lazy {
            if files % 64 == 0 {
                lazy.bar
                    .set_message(format!("scanning {}: {files} files", self.what));
                lazy.reveal_if_due(0, 0);
            }
        }
    }

    fn excluded(&self, name: &str) {
        verbosity::verbose!("excluded {name} (matches an --exclude pattern)");
    }

    fn walked(&self, files: usize, bytes: u64) {
        self.files.store(files, Ordering::Relaxed);
        verbosity::verbose!("hashing {files} files of {} ({bytes} bytes)", self.what);
        if let Some(lazy) = &self.lazy {
            lazy.bar.set_style(style(
                "hashing {prefix} {wide_bar:.cyan/blue} {binary_bytes}/{binary_total_bytes} ({eta})",
                "hashing {prefix} {wide_bar} {binary_bytes}/{binary_total_bytes} ({eta})",
            ));
            lazy.bar.set_prefix(format!("{files} {}", self.what));
            lazy.bar.set_length(bytes);
            lazy.bar.set_position(0);
            lazy.reveal_if_due(files, bytes);
        }
    }

    fn hashed(&self, name: &str, bytes: u64) {
        verbosity::debug!("hashed {name} ({bytes} bytes)");
        if let Some(lazy) = &self.lazy {
            lazy.bar.inc(bytes);
            lazy.reveal_if_due(0, 0);
        }
    }
}

/// Reports a step being recorded (`toto run`, `toto mock`, `toto record`,
/// inspections): a [`Recording`] bar per recording, skipped paths as
/// warnings, and the `-v` lines about the command.
#[derive(Debug, Default)]
pub struct StepProgress {
    /// The bar of the recording under way.
    current: Mutex<Option<Arc<Recording>>>,
    /// Set for an inspection: its name (recording warnings are not shown).
    inspection: Option<String>,
}

impl StepProgress {
    /// Progress of a step the user runs.
    pub fn new() -> StepProgress {
        StepProgress::default()
    }

    /// Progress of inspection `name`.
    pub fn inspection(name: &str) -> StepProgress {
        StepProgress {
            current: Mutex::new(None),
            inspection: Some(name.to_owned()),
        }
    }
}

impl attest::step::StepObserver for StepProgress {
    fn recording(&self, what: Artifacts) -> Option<Arc<dyn attest::record::Observer>> {
        let reporter = Recording::new(what.name());
        if let Ok(mut current) = self.current.lock() {
            *current = Some(Arc::clone(&reporter));
        }
        Some(reporter)
    }

    fn recorded(&self, what: Artifacts, result: Result<&Recorded, &RecordError>) {
        if let Some(reporter) = self.current.lock().ok().and_then(|mut c| c.take()) {
            reporter.finish();
        }
        let (Ok(recorded), None) = (result, &self.inspection) else {
            return;
        };
        for warning in &recorded.warnings {
            verbosity::warning(warning);
        }
        verbosity::verbose!(
            "recorded {} {what} ({} skipped)",
            recorded.artifacts.len(),
            recorded.warnings.len()
        );
    }

    fn running(&self, argv: &[String]) {
        match &self.inspection {
            Some(name) => verbosity::verbose!("running inspection {name} ({argv:?})"),
            None => verbosity::verbose!("running {argv:?}"),
        }
    }

    fn ran(&self, return_value: i64) {
        if self.inspection.is_none() {
            verbosity::verbose!("the command exited with {return_value}");
        }
    }
}

/// Counts links loaded by `toto verify` on a spinner.
#[derive(Debug, Clone)]
pub struct Links {
    lazy: Option<Arc<Lazy>>,
}

impl Links {
    /// A counter; inert with `--format json` (`json`), off a terminal, or
    /// with `-q`/`-v`.
    pub fn new(json: bool) -> Links {
        let lazy = Lazy::new(json).map(Arc::new);
        if let Some(lazy) = &lazy {
            lazy.bar.set_style(style(
                "{spinner:.cyan} verifying: {pos} link files loaded {msg}",
                "{spinner} verifying: {pos} link files loaded {msg}",
            ));
        }
        Links { lazy }
    }

    /// One more link file loaded (`name`).
    pub fn loaded(&self, name: &str) {
        if let Some(lazy) = &self.lazy {
            lazy.bar.inc(1);
            lazy.bar.set_message(name.to_owned());
            let loaded = usize::try_from(lazy.bar.position()).unwrap_or(usize::MAX);
            lazy.reveal_if_due(loaded, 0);
        }
    }

    /// Runs `f` with the spinner hidden (an inspection draws its own bar).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.lazy {
            Some(lazy) => lazy.bar.suspend(f),
            None => f(),
        }
    }

    /// Clears the spinner.
    pub fn finish(&self) {
        if let Some(lazy) = &self.lazy {
            lazy.bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_only_on_a_terminal_at_the_default_level_and_not_for_json() {
        assert!(wanted(true, Level::Normal, false));
        assert!(!wanted(false, Level::Normal, false), "piped stderr");
        assert!(!wanted(true, Level::Quiet, false), "-q");
        assert!(
            !wanted(true, Level::Verbose, false),
            "-v prints lines instead"
        );
        assert!(
            !wanted(true, Level::Debug, false),
            "-vv prints lines instead"
        );
        assert!(!wanted(true, Level::Normal, true), "--format json");
    }

    #[test]
    fn a_bar_appears_for_big_or_slow_work_only() {
        let quick = Duration::from_millis(10);
        assert!(!due(quick, 10, 1000));
        assert!(due(quick, BIG_FILES, 0));
        assert!(due(quick, 1, BIG_BYTES));
        assert!(due(DELAY, 1, 1));
    }
}
