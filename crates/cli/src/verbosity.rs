//! toto's stderr logger: one global level set from `-q`, `-v`, `-vv`.
//!
//! - `-q`: errors and verdicts of failure only (and `--format json`'s JSON);
//! - default: what a command wrote, warnings, its verdict;
//! - `-v`: what the command looked at: paths excluded from recording, totals
//!   hashed, link files loaded, which key or identity verified each link,
//!   the Sigstore services called, each artifact rule's queue before and
//!   after it ran;
//! - `-vv`: every file hashed, with its size.
//!
//! Detail lines start with `toto: ` and go to stderr, so stdout stays
//! for results. Small on purpose: no `tracing`, no dependency.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

/// How much toto says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `-q`: nothing but errors.
    Quiet = 0,
    /// The default.
    Normal = 1,
    /// `-v`.
    Verbose = 2,
    /// `-vv` (or more).
    Debug = 3,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Normal as u8);

/// The level the global flags ask for.
fn level_of(quiet: bool, verbose: u8) -> Level {
    match (quiet, verbose) {
        (true, _) => Level::Quiet,
        (false, 0) => Level::Normal,
        (false, 1) => Level::Verbose,
        (false, _) => Level::Debug,
    }
}

/// Sets the level from the global flags.
pub fn init(quiet: bool, verbose: u8) {
    LEVEL.store(level_of(quiet, verbose) as u8, Ordering::Relaxed);
}

/// The level in effect.
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Level::Quiet,
        1 => Level::Normal,
        2 => Level::Verbose,
        _ => Level::Debug,
    }
}

/// Whether messages of `level` are shown.
pub fn enabled(level: Level) -> bool {
    self::level() >= level
}

/// Whether `-q` is in effect.
pub fn quiet() -> bool {
    level() == Level::Quiet
}

/// Prints one `toto: ` line to stderr (use the macros).
pub fn emit(args: fmt::Arguments<'_>) {
    eprintln!("toto: {args}");
}

/// Prints a warning, unless `-q`.
pub fn warning(message: impl fmt::Display) {
    if !quiet() {
        eprintln!("{} {message}", crate::style::warn("toto: warning:"));
    }
}

/// A detail line shown with `-v`.
macro_rules! verbose {
    ($($arg:tt)*) => {
        if $crate::verbosity::enabled($crate::verbosity::Level::Verbose) {
            $crate::verbosity::emit(format_args!($($arg)*));
        }
    };
}

/// A detail line shown with `-vv`.
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::verbosity::enabled($crate::verbosity::Level::Debug) {
            $crate::verbosity::emit(format_args!($($arg)*));
        }
    };
}

/// A line shown unless `-q` (what a command wrote).
macro_rules! info {
    ($($arg:tt)*) => {
        if $crate::verbosity::enabled($crate::verbosity::Level::Normal) {
            $crate::verbosity::emit(format_args!($($arg)*));
        }
    };
}

pub(crate) use {debug, info, verbose};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_levels() {
        assert_eq!(level_of(false, 0), Level::Normal);
        assert_eq!(level_of(false, 1), Level::Verbose);
        assert_eq!(level_of(false, 2), Level::Debug);
        assert_eq!(level_of(false, 5), Level::Debug);
        assert_eq!(level_of(true, 0), Level::Quiet);
        assert!(Level::Debug > Level::Verbose && Level::Normal > Level::Quiet);
    }
}
