//! Color for verdict lines, with plain ANSI escapes.
//!
//! `--color auto` (the default) colors a stream only when it is a terminal,
//! `NO_COLOR` is not set (to any value, even empty) and `TERM` is not
//! `dumb`; `--color always` and `--color never` decide regardless (an
//! explicit flag beats the environment, as no-color.org asks). Decided once,
//! in `main`, for stdout and stderr separately.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// When to color output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM=dumb.
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

static STDOUT: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(false);

/// Whether a stream gets color, from the choice, whether it is a terminal
/// and the environment (`NO_COLOR`, `TERM`).
fn decide(
    choice: ColorChoice,
    is_terminal: bool,
    env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && env("NO_COLOR").is_none() && env("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

/// Decides color for stdout and stderr; call once, before any output.
pub fn init(choice: ColorChoice) {
    let env = |name: &str| std::env::var_os(name);
    STDOUT.store(
        decide(choice, std::io::stdout().is_terminal(), &env),
        Ordering::Relaxed,
    );
    STDERR.store(
        decide(choice, std::io::stderr().is_terminal(), &env),
        Ordering::Relaxed,
    );
}

/// Which stream a styled text goes to.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

fn paint(stream: Stream, sgr: &str, text: &str) -> String {
    let on = match stream {
        Stream::Stdout => STDOUT.load(Ordering::Relaxed),
        Stream::Stderr => STDERR.load(Ordering::Relaxed),
    };
    if on {
        format!("\x1b[{sgr}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// A success verdict on stdout (`Verified: …`): bold green.
pub fn good(text: &str) -> String {
    paint(Stream::Stdout, "1;32", text)
}

/// A failure label on stderr (`toto: verification failed:`, `toto: error:`):
/// bold red.
pub fn bad(text: &str) -> String {
    paint(Stream::Stderr, "1;31", text)
}

/// A warning label on stderr (`toto: warning:`): bold yellow.
pub fn warn(text: &str) -> String {
    paint(Stream::Stderr, "1;33", text)
}

/// Whether stderr gets color (for progress bars).
pub fn stderr_colored() -> bool {
    STDERR.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(
        vars: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<std::ffi::OsString> {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into())
    }

    #[test]
    fn auto_colors_a_terminal_only_without_no_color() {
        let plain = env_of(&[("TERM", "xterm-256color")]);
        assert!(decide(ColorChoice::Auto, true, &plain));
        assert!(!decide(ColorChoice::Auto, false, &plain));
        // NO_COLOR with any value, even empty, turns color off.
        assert!(!decide(
            ColorChoice::Auto,
            true,
            &env_of(&[("NO_COLOR", "")])
        ));
        assert!(!decide(
            ColorChoice::Auto,
            true,
            &env_of(&[("NO_COLOR", "1")])
        ));
        assert!(!decide(
            ColorChoice::Auto,
            true,
            &env_of(&[("TERM", "dumb")])
        ));
        // An explicit flag decides.
        assert!(decide(
            ColorChoice::Always,
            false,
            &env_of(&[("NO_COLOR", "1")])
        ));
        assert!(!decide(ColorChoice::Never, true, &plain));
    }
}
