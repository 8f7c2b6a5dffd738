//! Secrets kept out of evidence: recorded streams are published with the
//! link, so well-known secret shapes (and the user's own patterns) are
//! replaced by `[REDACTED]` before signing. Pure: the environment to
//! protect is passed in.

use regex_lite::Regex;

use crate::error::Error;

/// What a redaction replaces a secret with.
pub const REDACTED: &str = "[REDACTED]";

/// Secret shapes redacted by default.
pub const DEFAULT_PATTERNS: [(&str, &str); 6] = [
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
        "private key block",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    ),
];

/// Substrings of environment variable names whose values are secrets.
pub const SECRET_NAME_PARTS: [&str; 4] = ["TOKEN", "SECRET", "PASSWORD", "KEY"];

/// Values shorter than this are not redacted from the environment (too
/// likely to occur by accident: `KEY_COUNT=1`).
pub const MIN_SECRET_LEN: usize = 6;

/// Replaces secrets in text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    patterns: Vec<Regex>,
    literals: Vec<String>,
}

impl Redactor {
    /// A redactor for the user's `patterns` (regular expressions), plus the
    /// default shapes and the secret-looking values of `environment` when
    /// `defaults` is set.
    pub fn new(
        patterns: &[String],
        defaults: bool,
        environment: &[(String, String)],
    ) -> Result<Redactor, Error> {
        let mut compiled = Vec::new();
        for p in patterns {
            compiled.push(Regex::new(p).map_err(|e| Error::Malformed {
                what: "redaction pattern",
                reason: format!("{p:?}: {e}"),
            })?);
        }
        let mut literals = Vec::new();
        if defaults {
            for (_, p) in DEFAULT_PATTERNS {
                compiled.push(Regex::new(p).map_err(|e| Error::Malformed {
                    what: "built-in redaction pattern",
                    reason: e.to_string(),
                })?);
            }
            for (name, value) in environment {
                let upper = name.to_ascii_uppercase();
                if SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
                    && value.len() >= MIN_SECRET_LEN
                {
                    literals.push(value.clone());
                }
            }
            // Longest first, so a secret containing another is replaced whole.
            literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
        }
        Ok(Redactor {
            patterns: compiled,
            literals,
        })
    }

    /// Whether this redactor can change anything.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && self.literals.is_empty()
    }

    /// The text with every secret replaced, and how many were replaced.
    pub fn redact(&self, text: &str) -> (String, usize) {
        let mut out = text.to_owned();
        let mut count = 0;
        for literal in &self.literals {
            let n = out.matches(literal.as_str()).count();
            if n > 0 {
                count += n;
                out = out.replace(literal.as_str(), REDACTED);
            }
        }
        for re in &self.patterns {
            let n = re
                .find_iter(&out)
                .filter(|m| m.as_str() != REDACTED)
                .count();
            if n > 0 {
                count += n;
                out = re.replace_all(&out, REDACTED).into_owned();
            }
        }
        (out, count)
    }
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
}
