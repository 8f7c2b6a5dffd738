//! Text from services is untrusted: what Fulcio, Rekor, an OIDC issuer, a
//! timestamp authority or a TUF repository say (error bodies, messages,
//! names in metadata) is shown only through [`untrusted_text`].
//!
//! CI systems read commands from logs (`::error::…` in GitHub Actions,
//! `##[error]…` in Azure Pipelines), terminals obey escape sequences, and a
//! service may echo the identity token it was sent. So the text is:
//!
//! - **redacted**: JWT-shaped strings (`eyJ…` with two or more dots), the
//!   word after `Bearer` or `Basic`, and long secret-shaped runs (32 or more
//!   characters of hex, or of base64/base64url mixing letters and digits,
//!   or 64 or more of either alphabet) become `[redacted]`;
//! - **escaped**: control characters (newlines included) and the Unicode
//!   characters that break or reorder lines (U+2028, U+2029, bidirectional
//!   controls, zero-width characters) are written as `\n`, `\r`, `\t` or
//!   `\u{…}`, so the text is one line;
//! - **bounded**: at most [`MAX_SHOWN_CHARS`] characters, then
//!   `… (N more bytes)`.
//!
//! Redaction runs before the cut, so no token is split into a visible
//! prefix; the work is linear in the input.

use std::borrow::Cow;
use std::fmt;

/// Most characters of untrusted text shown.
pub const MAX_SHOWN_CHARS: usize = 512;

/// What replaces a redacted token.
const REDACTED: &str = "[redacted]";

/// Characters of the runs that may be tokens: base64, base64url, hex, and
/// `.` (the JWT separator).
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-' | '.')
}

/// A run holding a JWT (or JWS/JWE) in compact form: a piece starting
/// with `eyJ` (base64url of `{"`) followed by at least two more pieces.
fn holds_jwt(run: &str) -> bool {
    let mut pieces = run.split('.');
    while let Some(piece) = pieces.next() {
        if piece.starts_with("eyJ") {
            return pieces.count() >= 2;
        }
    }
    false
}

/// A dot-free piece of a run that looks like a secret: 32 or more hex
/// digits, or as many base64/base64url characters mixing letters and
/// digits, or 64 or more of any.
fn is_secret_shaped(piece: &str) -> bool {
    let long = piece.len() >= 32;
    let hex = piece.chars().all(|c| c.is_ascii_hexdigit());
    let digits = piece.chars().any(|c| c.is_ascii_digit());
    let letters = piece.chars().any(|c| c.is_ascii_alphabetic());
    (long && (hex || (digits && letters))) || piece.len() >= 64
}

/// Characters that end or reorder a line in some viewer, beyond the
/// control characters: line and paragraph separators, bidirectional
/// embeddings, overrides and isolates, zero-width characters, the BOM.
fn is_invisible_or_reordering(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Whether `text` is shown as it is, as far as characters go: no control
/// characters and nothing that breaks or reorders a line (redaction and
/// the length bound aside).
pub(crate) fn is_plain_line(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() || is_invisible_or_reordering(c))
}

/// `c` as shown: itself, or an escape.
fn escape(c: char) -> Cow<'static, str> {
    match c {
        '\n' => Cow::Borrowed("\\n"),
        '\r' => Cow::Borrowed("\\r"),
        '\t' => Cow::Borrowed("\\t"),
        c if c.is_control() || is_invisible_or_reordering(c) => {
            Cow::Owned(format!("\\u{{{:x}}}", u32::from(c)))
        }
        c => Cow::Owned(c.to_string()),
    }
}

/// The next piece of a run that holds no JWT (`rest` starts in it): a `.`,
/// or the characters up to the next one, redacted when secret-shaped, cut
/// to `room` characters when shown as they are. Returns it and the bytes
/// of `rest` it stands for.
fn next_piece(rest: &str, room: usize) -> (Cow<'_, str>, usize) {
    if rest.starts_with('.') {
        return (Cow::Borrowed("."), 1);
    }
    let end = rest
        .find(|c| c == '.' || !is_token_char(c))
        .unwrap_or(rest.len());
    let piece = rest.get(..end).unwrap_or(rest);
    if is_secret_shaped(piece) {
        (Cow::Borrowed(REDACTED), end)
    } else if piece.len() > room {
        // ASCII, so bytes are characters: cut at the limit.
        (Cow::Borrowed(piece.get(..room).unwrap_or_default()), room)
    } else {
        (Cow::Borrowed(piece), end)
    }
}

/// `text` (from a service) made safe to print on one line: token-shaped
/// strings redacted, control and line-breaking characters escaped, at most
/// [`MAX_SHOWN_CHARS`] characters followed by `… (N more bytes)` when cut,
/// N counting the bytes of `text` not shown. See the module documentation.
pub fn untrusted_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_SHOWN_CHARS + 32));
    let mut shown = 0;
    let mut pos = 0;
    // The current run of token characters holds no JWT up to here: it is
    // shown piece by piece.
    let mut plain_until = 0;
    // The previous word was `Bearer` or `Basic` (and only blanks since).
    let mut credential_next = false;
    while let Some(rest) = text.get(pos..).filter(|r| !r.is_empty()) {
        let Some(c) = rest.chars().next() else { break };
        let room = MAX_SHOWN_CHARS.saturating_sub(shown);
        let (piece, consumed) = if !is_token_char(c) {
            credential_next = credential_next && (c == ' ' || c == '\t');
            (escape(c), c.len_utf8())
        } else if pos >= plain_until {
            // The start of a run: redacted whole, or shown piece by piece.
            let end = rest.find(|c| !is_token_char(c)).unwrap_or(rest.len());
            let run = rest.get(..end).unwrap_or(rest);
            let whole = credential_next || holds_jwt(run);
            credential_next =
                run.eq_ignore_ascii_case("bearer") || run.eq_ignore_ascii_case("basic");
            plain_until = pos + end;
            if whole {
                (Cow::Borrowed(REDACTED), end)
            } else {
                next_piece(rest, room)
            }
        } else {
            next_piece(rest, room)
        };
        let width = piece.chars().count();
        if width > room || width == 0 {
            break;
        }
        out.push_str(&piece);
        shown += width;
        pos += consumed;
    }
    let left = text.len().saturating_sub(pos);
    if left > 0 {
        out.push_str(&format!("… ({left} more bytes)"));
    }
    out
}

/// An error and its causes, `a: b: c`, as given (not made safe to print:
/// see [`ServiceText::of_error`] for that).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

/// Text that came from a service (or quotes it), made safe to print by
/// [`untrusted_text`]: the only way to build one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceText(String);

impl ServiceText {
    /// `raw`, through [`untrusted_text`].
    pub fn new(raw: &str) -> ServiceText {
        ServiceText(untrusted_text(raw))
    }

    /// An error and its causes (`a: b: c`), through [`untrusted_text`].
    pub fn of_error(error: &dyn std::error::Error) -> ServiceText {
        ServiceText::new(&error_chain(error))
    }

    /// The text as shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServiceText {}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwic3ViIjoiYWxpY2UifQ.c2lnbmF0dXJlLWJ5dGVzLXNpZ25hdHVyZS1ieXRlcw";

    #[test]
    fn a_newline_cannot_start_a_ci_command() {
        let shown = untrusted_text("denied\n::error::pwned\r\n##[error]also\u{2028}::warning::x");
        assert_eq!(
            shown,
            "denied\\n::error::pwned\\r\\n##[error]also\\u{2028}::warning::x"
        );
        assert!(!shown.contains('\n') && !shown.contains('\r'));
        assert_eq!(
            untrusted_text("\u{1b}[2J\u{202e}x\0"),
            "\\u{1b}[2J\\u{202e}x\\u{0}"
        );
    }

    #[test]
    fn tokens_and_secret_shaped_strings_are_redacted() {
        for (raw, shown) in [
            (
                format!("token {JWT} refused"),
                "token [redacted] refused".to_owned(),
            ),
            (format!("\"{JWT}\""), "\"[redacted]\"".to_owned()),
            (
                "Authorization: Bearer abc.def".into(),
                "Authorization: Bearer [redacted]".into(),
            ),
            ("bearer\tshort".into(), "bearer\\t[redacted]".into()),
            ("Basic dXNlcjpwYXNz".into(), "Basic [redacted]".into()),
            (
                format!("key {}", "ab12".repeat(10)),
                "key [redacted]".into(),
            ),
            (
                "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8".into(),
                "[redacted]".into(),
            ),
            (
                format!("sha256:{}", "0f".repeat(32)),
                "sha256:[redacted]".into(),
            ),
            // Ordinary words, URLs and short ids stay.
            (
                "https://fulcio.example/api/v2/signingCert: HTTP 500 for alice@example.com".into(),
                "https://fulcio.example/api/v2/signingCert: HTTP 500 for alice@example.com".into(),
            ),
            (
                "log index 12345, version 0.0.1".into(),
                "log index 12345, version 0.0.1".into(),
            ),
        ] {
            assert_eq!(untrusted_text(&raw), shown, "{raw}");
        }
    }

    #[test]
    fn long_text_is_cut_with_the_bytes_left_counted() {
        let raw = "word ".repeat(400);
        let shown = untrusted_text(&raw);
        let (head, tail) = shown.split_once('…').unwrap();
        assert_eq!(head.chars().count(), MAX_SHOWN_CHARS);
        assert_eq!(
            tail,
            format!(" ({} more bytes)", raw.len() - MAX_SHOWN_CHARS)
        );
        // A word at the limit is cut inside; one of 64 or more characters
        // is redacted whatever it looks like.
        let raw = "z".repeat(40) + " " + &"y".repeat(60);
        assert_eq!(untrusted_text(&raw), raw);
        assert_eq!(untrusted_text(&"y".repeat(600)), "[redacted]");
        // A token at the cut is redacted, not shown in part.
        let raw = "a ".repeat(250) + JWT;
        let shown = untrusted_text(&raw);
        assert!(!shown.contains("eyJ"), "{shown}");
        // Escapes count as what they show; nothing is cut when it fits.
        assert_eq!(untrusted_text(&"\n".repeat(10)), "\\n".repeat(10));
        let shown = untrusted_text(&"\n".repeat(300));
        assert_eq!(shown, "\\n".repeat(256) + "… (44 more bytes)");
    }

    #[test]
    fn adversarial_input_takes_linear_time() {
        let started = std::time::Instant::now();
        for raw in [
            "a.".repeat(1 << 20),
            "eyJ.".repeat(1 << 19),
            "\n".repeat(1 << 21),
            "bearer ".repeat(1 << 18),
        ] {
            let shown = untrusted_text(&raw);
            assert!(shown.chars().count() < MAX_SHOWN_CHARS + 40);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn error_chains_are_shown_as_one_line() {
        let io = std::io::Error::other("disk\nfull");
        assert_eq!(ServiceText::of_error(&io).as_str(), "disk\\nfull");
    }
}
