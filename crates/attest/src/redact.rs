//! Secrets kept out of evidence: a link is signed, published with the
//! release and (keylessly) logged in Rekor, so everything toto writes into
//! it or prints about it goes through a [`Redactor`] first: the command
//! line, the recorded streams, and `-v`'s log of the command.
//!
//! Redacted by default, each replaced by `[REDACTED]`:
//!
//! - private key blocks (PEM, OpenSSH, armored OpenPGP), through their END
//!   line, or, when it is missing (a key cut short), through the last line
//!   that still looks like the key's body;
//! - well-known token shapes ([`DEFAULT_PATTERNS`]): GitHub and GitLab
//!   tokens, AWS key ids, JWTs, npm `_authToken=` values, and the
//!   `user:password` of URLs;
//! - the values of secret-looking environment variables ([`is_secret_name`]),
//!   and of variables holding a URL with a password (and that password),
//!   also when the output wraps them across lines.
//!
//! A stream cut at a size limit may end inside a secret, where no pattern
//! can recognize it: [`Redactor::redact_cut`] also drops the last,
//! incomplete line and any tail that starts a known secret.
//!
//! Every step is linear in the text (regex-lite has no backtracking; literal
//! search is two-way; cut tails are matched with a prefix function), so
//! hostile output cannot make recording slow. Pure: the environment to
//! protect is passed in.

use regex_lite::Regex;

use crate::error::Error;

/// What a redaction replaces a secret with.
pub const REDACTED: &str = "[REDACTED]";

/// Secret shapes redacted by default (name, regular expression). Groups
/// named `keep` and `tail` are kept around the replacement:
/// `https://u:p@host` becomes `https://[REDACTED]@host`.
pub const DEFAULT_PATTERNS: [(&str, &str); 7] = [
    ("GitHub token", r"gh[pousr]_[A-Za-z0-9]{36,255}"),
    (
        "GitHub fine-grained token",
        r"github_pat_[A-Za-z0-9_]{22,255}",
    ),
    ("GitLab token", r"glpat-[A-Za-z0-9_\-]{20,255}"),
    ("AWS access key id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    (
        "JSON Web Token",
        r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    ),
    (
        "npm auth token",
        r#"(?P<keep>_auth(?:Token)?\s*=\s*)[^\s"']{1,4096}"#,
    ),
    (
        "URL with a password",
        r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.\-]{0,31}://)[^\s/?#@:]{0,256}:[^\s/?#@]{1,256}(?P<tail>@)",
    ),
];

/// For each of [`DEFAULT_PATTERNS`], strings one of which every match
/// contains: text without any is not searched with the pattern.
const NEEDLES: [&[&str]; 7] = [
    &["gh"],
    &["github_pat_"],
    &["glpat-"],
    &["AKIA", "ASIA"],
    &["eyJ"],
    &["_auth"],
    &["://"],
];

/// The first line of a private key block (PEM, OpenSSH, OpenPGP armor).
const KEY_BEGIN: &str = r"-----BEGIN [A-Z0-9 ]{0,64}PRIVATE KEY(?: BLOCK)?-----";
/// Its last line.
const KEY_END: &str = r"-----END [A-Z0-9 ]{0,64}PRIVATE KEY(?: BLOCK)?-----";

/// Substrings of environment variable names whose values are secrets (see
/// [`is_secret_name`] for the whole rule).
pub const SECRET_NAME_PARTS: [&str; 8] = [
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "_PASS",
    "KEY",
    "CREDENTIAL",
];

/// Values shorter than this are not redacted from the environment (too
/// likely to occur by accident: `KEY_COUNT=1`).
pub const MIN_SECRET_LEN: usize = 6;

/// Whether an environment variable of this name holds a secret: its name
/// contains one of [`SECRET_NAME_PARTS`], starts with `PASS`, ends with
/// `_PWD` (not `PWD`, the working directory), or contains `AUTH` other than
/// in `AUTHOR` (`GIT_AUTHOR_NAME` is not secret, `AUTHORIZATION` is).
/// Case-insensitive.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
        || upper.starts_with("PASS")
        || upper.ends_with("_PWD")
        || upper.match_indices("AUTH").any(|(i, _)| {
            let rest = upper.get(i + 4..).unwrap_or_default();
            !rest.starts_with("OR") || rest.starts_with("ORIZ")
        })
}

/// The password of a URL with `user:password@` in `value`, if any.
fn url_password(value: &str) -> Option<&str> {
    let (_, rest) = value.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    Some(password).filter(|p| !p.is_empty())
}

/// Replaces secrets in text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Patterns, what a match becomes, and strings one of which every
    /// match contains (none: always search).
    patterns: Vec<(Regex, &'static str, &'static [&'static str])>,
    /// Known secrets without line breaks, longest first.
    literals: Vec<String>,
    /// BEGIN and END of private key blocks, when redacting them.
    keys: Option<(Regex, Regex)>,
}

fn compile(pattern: &str, what: &'static str) -> Result<(Regex, &'static str), Error> {
    let re = Regex::new(pattern).map_err(|e| Error::Malformed {
        what,
        reason: format!("{pattern:?}: {e}"),
    })?;
    let has = |name: &str| re.capture_names().any(|n| n == Some(name));
    let with = match (has("keep"), has("tail")) {
        (true, true) => "${keep}[REDACTED]${tail}",
        (true, false) => "${keep}[REDACTED]",
        (false, true) => "[REDACTED]${tail}",
        (false, false) => REDACTED,
    };
    Ok((re, with))
}

impl Redactor {
    /// A redactor for the user's `patterns` (regular expressions), plus the
    /// private key blocks, the default shapes and the secret values of
    /// `environment` when `defaults` is set.
    pub fn new(
        patterns: &[String],
        defaults: bool,
        environment: &[(String, String)],
    ) -> Result<Redactor, Error> {
        let mut compiled = Vec::new();
        for p in patterns {
            let (re, with) = compile(p, "redaction pattern")?;
            compiled.push((re, with, &[][..]));
        }
        if !defaults {
            return Ok(Redactor {
                patterns: compiled,
                ..Redactor::default()
            });
        }
        for ((_, p), needles) in DEFAULT_PATTERNS.into_iter().zip(NEEDLES) {
            let (re, with) = compile(p, "built-in redaction pattern")?;
            compiled.push((re, with, needles));
        }
        let keys = Some((
            compile(KEY_BEGIN, "built-in redaction pattern")?.0,
            compile(KEY_END, "built-in redaction pattern")?.0,
        ));
        let mut literals = Vec::new();
        for (name, value) in environment {
            let password = url_password(value);
            if is_secret_name(name) || password.is_some() {
                literals.push(value.as_str());
            }
            literals.extend(password);
        }
        // Line breaks are ignored when matching (a secret may be wrapped).
        let mut literals: Vec<String> = literals
            .into_iter()
            .map(|l| l.replace(['\r', '\n'], ""))
            .filter(|l| l.len() >= MIN_SECRET_LEN)
            .collect();
        literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
        literals.dedup();
        Ok(Redactor {
            patterns: compiled,
            literals,
            keys,
        })
    }

    /// Whether this redactor can change anything.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && self.literals.is_empty() && self.keys.is_none()
    }

    /// The text with every secret replaced, and how many were replaced.
    pub fn redact(&self, text: &str) -> (String, usize) {
        let (mut out, mut count) = match &self.keys {
            Some((begin, end)) => redact_key_blocks(text, begin, end),
            None => (text.to_owned(), 0),
        };
        if !self.literals.is_empty() {
            let (o, n) = redact_literals(&out, &self.literals);
            out = o;
            count += n;
        }
        for (re, with, needles) in &self.patterns {
            if !needles.is_empty() && !needles.iter().any(|n| out.contains(n)) {
                continue;
            }
            let n = re
                .find_iter(&out)
                .filter(|m| !m.as_str().contains(REDACTED))
                .count();
            if n > 0 {
                count += n;
                out = re.replace_all(&out, *with).into_owned();
            }
        }
        (out, count)
    }

    /// [`Redactor::redact`] for text cut at a size limit, which may end
    /// inside a secret no pattern recognizes any more: the last, incomplete
    /// line, and a tail that is the start of a known secret (line breaks
    /// ignored), are replaced too.
    pub fn redact_cut(&self, text: &str) -> (String, usize) {
        let (mut out, mut count) = self.redact(text);
        let whole_lines = out.rfind('\n').map_or(0, |i| i + 1);
        let head = out.get(..whole_lines).unwrap_or_default();
        let cut = self
            .literals
            .iter()
            .filter_map(|l| secret_tail(head, l))
            .min()
            .unwrap_or(whole_lines);
        if cut < out.len() {
            out.truncate(cut);
            out.push_str(REDACTED);
            count += 1;
        }
        (out, count)
    }
}

/// Whether a line can belong to the body of a key block: base64 (with
/// escaped line breaks, as in JSON), an armor header (`Proc-Type: …`), or
/// empty.
fn armor_line(line: &str) -> bool {
    let line = line.trim_end_matches('\r').trim_start();
    let base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '\\');
    if line.chars().all(base64) {
        return true;
    }
    match line.split_once(": ") {
        Some((name, _)) => {
            name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
        None => false,
    }
}

/// Where the key block whose BEGIN line ends at `from` ends: after its END
/// line, or after the last line that still looks like its body.
fn key_block_end(text: &str, from: usize, end: &Regex) -> usize {
    let mut start = from;
    loop {
        let rest = text.get(start..).unwrap_or_default();
        let line = rest.split('\n').next().unwrap_or_default();
        if let Some(m) = end.find(line) {
            if armor_line(line.get(..m.start()).unwrap_or_default()) {
                return start + m.end();
            }
        }
        if !armor_line(line) {
            if start == from {
                // The BEGIN line goes on with something else: keep that.
                let body = line
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "+/=\\".contains(c)))
                    .unwrap_or(line.len());
                return start + body;
            }
            // Up to the line break before this line.
            return start.saturating_sub(1);
        }
        if start + line.len() >= text.len() {
            return text.len();
        }
        start += line.len() + 1;
    }
}

/// Replaces private key blocks.
fn redact_key_blocks(text: &str, begin: &Regex, end: &Regex) -> (String, usize) {
    if !text.contains("PRIVATE KEY") {
        return (text.to_owned(), 0);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut count = 0;
    while let Some(m) = begin.find_at(text, copied) {
        out.push_str(text.get(copied..m.start()).unwrap_or_default());
        out.push_str(REDACTED);
        count += 1;
        copied = key_block_end(text, m.end(), end).max(m.end());
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    (out, count)
}

fn line_break(c: char) -> bool {
    c == '\n' || c == '\r'
}

/// Replaces every occurrence of the `literals` (which have no line
/// breaks), also where line breaks split them.
fn redact_literals(text: &str, literals: &[String]) -> (String, usize) {
    let joined: String = text.chars().filter(|c| !line_break(*c)).collect();
    // Ranges of `joined` to replace, merged where they overlap.
    let mut ranges: Vec<(usize, usize)> = literals
        .iter()
        .flat_map(|l| {
            joined
                .match_indices(l.as_str())
                .map(|(i, m)| (i, i + m.len()))
        })
        .collect();
    if ranges.is_empty() {
        return (text.to_owned(), 0);
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start < last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    // Walk the text and `joined` together.
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut pending = merged.iter().peekable();
    let mut inside_until = None;
    for c in text.chars() {
        if let Some(end) = inside_until {
            if at < end {
                if !line_break(c) {
                    at += c.len_utf8();
                }
                continue;
            }
            inside_until = None;
        }
        if !line_break(c) {
            if let Some(&&(start, end)) = pending.peek() {
                if at == start {
                    out.push_str(REDACTED);
                    pending.next();
                    inside_until = Some(end);
                    at += c.len_utf8();
                    continue;
                }
            }
            at += c.len_utf8();
        }
        out.push(c);
    }
    (out, merged.len())
}

/// Where the tail of `text` that starts `secret` (line breaks in the text
/// ignored) begins, if there is one: a prefix function (Knuth–Morris–Pratt)
/// over the secret, run over the text's last bytes.
fn secret_tail(text: &str, secret: &str) -> Option<usize> {
    let pattern = secret.as_bytes();
    let mut prefix = vec![0usize; pattern.len()];
    let mut k = 0;
    for i in 1..pattern.len() {
        let byte = pattern.get(i).copied();
        while k > 0 && pattern.get(k).copied() != byte {
            k = prefix.get(k - 1).copied().unwrap_or(0);
        }
        if pattern.get(k).copied() == byte {
            k += 1;
        }
        if let Some(p) = prefix.get_mut(i) {
            *p = k;
        }
    }
    // The last `secret.len()` bytes of the text without line breaks.
    let mut tail_start = text.len();
    let mut kept = 0;
    for (i, c) in text.char_indices().rev() {
        if kept >= pattern.len() {
            break;
        }
        tail_start = i;
        if !line_break(c) {
            kept += c.len_utf8();
        }
    }
    let tail = text.get(tail_start..).unwrap_or_default();
    let mut matched = 0;
    for byte in tail.bytes().filter(|b| *b != b'\n' && *b != b'\r') {
        while matched > 0 && (matched == pattern.len() || pattern.get(matched) != Some(&byte)) {
            matched = prefix.get(matched - 1).copied().unwrap_or(0);
        }
        if pattern.get(matched) == Some(&byte) {
            matched += 1;
        }
    }
    if matched == 0 || matched == pattern.len() {
        return None;
    }
    // Back over `matched` bytes that are not line breaks.
    let mut remaining = matched;
    for (i, c) in text.char_indices().rev() {
        if !line_break(c) {
            remaining = remaining.saturating_sub(c.len_utf8());
        }
        if remaining == 0 {
            return Some(i);
        }
    }
    Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_shapes_are_redacted() {
        let r = Redactor::new(&[], true, &[]).unwrap();
        let token = format!("ghp_{}", "a1B2".repeat(9));
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlX2J5dGVz";
        let text = format!(
            "push with {token}\nAKIAIOSFODNN7EXAMPLE and {jwt}\nglpat-abcdefghij0123456789\n"
        );
        let (out, n) = r.redact(&text);
        assert_eq!(n, 4, "{out}");
        assert!(
            !out.contains("ghp_")
                && !out.contains("AKIA")
                && !out.contains("eyJ")
                && !out.contains("glpat-")
        );
        assert_eq!(out.matches(REDACTED).count(), 4);
        let (clean, n) = r.redact("nothing secret here: build ok\n");
        assert_eq!((clean.as_str(), n), ("nothing secret here: build ok\n", 0));
    }

    #[test]
    fn secret_environment_values_and_user_patterns() {
        let env = vec![
            ("NPM_TOKEN".to_owned(), "s3cr3t-value".to_owned()),
            ("db_password".to_owned(), "hunter22".to_owned()),
            ("KEY_COUNT".to_owned(), "1".to_owned()),
            ("HOME".to_owned(), "/home/builder".to_owned()),
        ];
        let r = Redactor::new(&["internal-[0-9]+".to_owned()], true, &env).unwrap();
        let (out, n) =
            r.redact("token s3cr3t-value pw hunter22 at /home/builder id internal-42 count 1");
        assert_eq!(
            out,
            "token [REDACTED] pw [REDACTED] at /home/builder id [REDACTED] count 1"
        );
        assert_eq!(n, 3);
        // Without defaults only the user's patterns apply.
        let r = Redactor::new(&["internal-[0-9]+".to_owned()], false, &env).unwrap();
        assert_eq!(
            r.redact("s3cr3t-value internal-7").0,
            "s3cr3t-value [REDACTED]"
        );
        assert!(Redactor::new(&["(".to_owned()], false, &[]).is_err());
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// An armored OpenPGP private key block, and a private key without its
    /// end line (`head -n 3 key.pem`, then the build goes on; or cut off in
    /// the middle of the body).
    #[test]
    fn private_key_blocks_are_redacted_with_or_without_their_end_line() {
        let r = Redactor::new(&[], true, &[]).unwrap();
        for (text, expected) in [
            (
                "exported:\n-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGX0c2sBCADQ9m1nq3F\n=mX2a\n-----END PGP PRIVATE KEY BLOCK-----\ndone\n",
                "exported:\n[REDACTED]\ndone\n",
            ),
            (
                "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nAAAAMwAAAAtzc2gtZWQyNTUxOQAAACB\nbuild ok\n",
                "key:\n[REDACTED]\nbuild ok\n",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nMIIEpAIB",
                "[REDACTED]",
            ),
        ] {
            assert_eq!(r.redact(text), (expected.to_owned(), 1), "{text}");
        }
    }

    #[test]
    fn a_known_secret_wrapped_across_lines_is_redacted() {
        let secret = "c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZw";
        let r = Redactor::new(&[], true, &env(&[("DEPLOY_TOKEN", secret)])).unwrap();
        let wrapped = format!(
            "token: {}\n{}\r\n{} end\n",
            &secret[..12],
            &secret[12..24],
            &secret[24..]
        );
        let (out, n) = r.redact(&wrapped);
        assert_eq!(out, "token: [REDACTED] end\n");
        assert_eq!(n, 1);
    }

    #[test]
    fn secret_environment_names_beyond_token_secret_password_key() {
        let environment = env(&[
            ("MYSQL_PWD", "pwd-value-1"),
            ("SMTP_PASS", "pass-value-2"),
            ("DB_PASSPHRASE", "phrase-value-3"),
            ("NPM_AUTH", "auth-value-4"),
            ("AUTHORIZATION", "auth-value-5"),
            ("AWS_CREDENTIALS", "cred-value-6"),
            ("GIT_AUTHOR_NAME", "Ada Lovelace"),
            ("PWD", "/home/builder/src"),
            ("OLDPWD", "/home/builder"),
        ]);
        let r = Redactor::new(&[], true, &environment).unwrap();
        let (out, n) = r.redact(
            "pwd-value-1 pass-value-2 phrase-value-3 auth-value-4 auth-value-5 cred-value-6 \
             by Ada Lovelace in /home/builder/src",
        );
        assert_eq!(
            out,
            "[REDACTED] [REDACTED] [REDACTED] [REDACTED] [REDACTED] [REDACTED] \
             by Ada Lovelace in /home/builder/src"
        );
        assert_eq!(n, 6);
    }

    #[test]
    fn urls_with_a_user_and_password_are_redacted() {
        let environment = env(&[("DATABASE_URL", "postgres://app:pa55word@db.internal/prod")]);
        let r = Redactor::new(&[], true, &environment).unwrap();
        let (out, n) = r.redact(
            "connecting to postgres://app:pa55word@db.internal/prod\n\
             password is pa55word\n\
             cloning https://ci:glsecret99@git.example.com/r.git\n\
             see https://example.com/a@b and http://user@host/\n",
        );
        assert_eq!(
            out,
            "connecting to [REDACTED]\n\
             password is [REDACTED]\n\
             cloning https://[REDACTED]@git.example.com/r.git\n\
             see https://example.com/a@b and http://user@host/\n"
        );
        assert_eq!(n, 3);
    }

    #[test]
    fn a_secret_cut_at_the_end_of_a_stream_leaves_no_prefix() {
        let secret = "cut-secret-value-123";
        let r = Redactor::new(&[], true, &env(&[("API_TOKEN", secret)])).unwrap();
        // Cut inside the secret on the last line.
        let (out, n) = r.redact_cut("build ok\nuploading cut-secret-va");
        assert_eq!((out.as_str(), n), ("build ok\n[REDACTED]", 1));
        // Wrapped, and cut on a later line: the earlier part goes too.
        let (out, _) = r.redact_cut("build ok\nwith cut-secret\n-val");
        assert_eq!(out, "build ok\nwith [REDACTED]");
        // A GitHub token cut below its minimum length.
        let (out, _) = r.redact_cut("log line\ntoken ghp_abcdef");
        assert_eq!(out, "log line\n[REDACTED]");
        // Whole lines and no secret: unchanged.
        let (out, n) = r.redact_cut("a\nb\n");
        assert_eq!((out.as_str(), n), ("a\nb\n", 0));
    }

    /// Hostile output cannot make redaction slow: every input here is a
    /// few MiB built to make a backtracking or naive matcher quadratic.
    #[test]
    fn redaction_stays_linear_on_adversarial_text() {
        let secret = format!("{}b", "a".repeat(4096));
        let r = Redactor::new(&[], true, &env(&[("BIG_SECRET", &secret)])).unwrap();
        let inputs = [
            "-----BEGIN PRIVATE KEY-----\n".repeat(80_000),
            format!("-----BEGIN PRIVATE KEY-----{}", "A".repeat(2 << 20)),
            format!("-----BEGIN PRIVATE KEY-----\n{}", "QUJD\n".repeat(400_000)),
            "a".repeat(2 << 20),
            "a\n".repeat(1 << 20),
            "https://u:".repeat(200_000),
            "_authToken=".repeat(200_000),
            "eyJ".repeat(700_000),
            format!("{}{}", "ghp_".repeat(500_000), "A".repeat(35)),
        ];
        for input in &inputs {
            let started = std::time::Instant::now();
            let _ = r.redact(input);
            let _ = r.redact_cut(input);
            let took = started.elapsed();
            assert!(
                took < std::time::Duration::from_secs(20),
                "{took:?} on {:?}…",
                input.get(..40)
            );
        }
    }
}
