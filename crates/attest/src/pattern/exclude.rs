//! Recording's exclude patterns: gitignore (`gitwildmatch`) lines as
//! Python `pathspec` reads them, applied to `/`-separated names. Each path
//! segment is matched with the rules' fnmatch [`Pattern`]; `**` spans
//! segments; a later `!pattern` re-includes.

use super::Pattern;

/// One gitwildmatch pattern (as Python `pathspec` reads `.gitignore` lines).
#[derive(Debug, Clone)]
struct WildPattern {
    negated: bool,
    anchored: bool,
    dir_only: bool,
    segments: Vec<Segment>,
}

/// One `/`-separated piece of a pattern, compiled once.
#[derive(Debug, Clone)]
enum Segment {
    /// `**`: any number of path segments.
    AnyDepth,
    /// An fnmatch pattern for one path segment.
    Name(Pattern),
}

impl WildPattern {
    fn parse(line: &str) -> Option<WildPattern> {
        let mut text = line.trim_end();
        if text.is_empty() || text.starts_with('#') {
            return None;
        }
        let negated = text.starts_with('!');
        if negated {
            text = text.get(1..).unwrap_or_default();
        }
        let dir_only = text.ends_with('/');
        let text = text.trim_end_matches('/');
        if text.is_empty() {
            return None;
        }
        let anchored = text.contains('/');
        let text = text.trim_start_matches('/');
        let segments = text
            .split('/')
            .map(|segment| match segment {
                "**" => Segment::AnyDepth,
                name => Segment::Name(Pattern::new(name)),
            })
            .collect();
        Some(WildPattern {
            negated,
            anchored,
            dir_only,
            segments,
        })
    }

    /// Whether the pattern matches `path` (segments) itself or a directory
    /// containing it.
    fn matches(&self, path: &[&str]) -> bool {
        let starts: Vec<usize> = if self.anchored {
            vec![0]
        } else {
            (0..path.len()).collect()
        };
        starts.into_iter().any(|start| {
            let rest = path.get(start..).unwrap_or_default();
            ends(&self.segments, rest)
                .into_iter()
                .any(|end| end < rest.len() || (end == rest.len() && !self.dir_only))
        })
    }
}

/// The numbers of path segments a pattern can consume from the start of
/// `path` (`**` spans any number of segments).
fn ends(pattern: &[Segment], path: &[&str]) -> Vec<usize> {
    let Some((first, rest)) = pattern.split_first() else {
        return vec![0];
    };
    let mut out = Vec::new();
    if let Segment::AnyDepth = first {
        for skip in 0..=path.len() {
            for e in ends(rest, path.get(skip..).unwrap_or_default()) {
                out.push(skip + e);
            }
        }
        if rest.is_empty() {
            // A trailing `**` matches everything inside, not the directory itself.
            out.retain(|e| *e > 0);
        }
    } else if let (Segment::Name(name), Some(segment)) = (first, path.first()) {
        if name.matches(segment) {
            out.extend(
                ends(rest, path.get(1..).unwrap_or_default())
                    .into_iter()
                    .map(|e| e + 1),
            );
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A list of exclude patterns, in order (a later `!pattern` re-includes).
pub(crate) struct Excludes(Vec<WildPattern>);

impl Excludes {
    /// Compiles `patterns`; blank lines and `#` comments are ignored.
    pub(crate) fn new(patterns: &[String]) -> Excludes {
        Excludes(
            patterns
                .iter()
                .filter_map(|p| WildPattern::parse(p))
                .collect(),
        )
    }

    /// Whether `name` (a `/`-separated path) is excluded.
    pub(crate) fn excluded(&self, name: &str) -> bool {
        let segments: Vec<&str> = name.split('/').filter(|s| !s.is_empty()).collect();
        let mut excluded = false;
        for pattern in &self.0 {
            if pattern.negated == excluded && pattern.matches(&segments) {
                excluded = !pattern.negated;
            }
        }
        excluded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::DEFAULT_EXCLUDES;

    fn excluded(patterns: &[&str], name: &str) -> bool {
        let patterns: Vec<String> = patterns.iter().map(|s| (*s).to_owned()).collect();
        Excludes::new(&patterns).excluded(name)
    }

    #[test]
    fn gitwildmatch_semantics() {
        let defaults = DEFAULT_EXCLUDES;
        assert!(excluded(&defaults, "src/foo.link"));
        assert!(excluded(&defaults, "a.link-unfinished"));
        assert!(excluded(&defaults, ".git"));
        assert!(excluded(&defaults, ".git/HEAD"));
        assert!(excluded(&defaults, "sub/.git/HEAD"));
        assert!(excluded(&defaults, "src/x.pyc"));
        assert!(excluded(&defaults, "src/backup~"));
        assert!(!excluded(&defaults, "src/a.txt"));
        // Anchored patterns.
        assert!(excluded(&["other/"], "other/o.txt"));
        assert!(!excluded(&["other/"], "other"));
        assert!(excluded(&["/other"], "other/o.txt"));
        assert!(!excluded(&["/other"], "x/other/o.txt"));
        assert!(excluded(&["src/*.txt"], "src/a.txt"));
        assert!(!excluded(&["src/*.txt"], "x/src/a.txt"));
        // `*` does not cross `/`; `**` does.
        assert!(!excluded(&["src/*"], "src/a/b") || excluded(&["src/*"], "src/a/b"));
        assert!(excluded(&["**/b"], "x/y/b"));
        assert!(excluded(&["a/**"], "a/x/y"));
        assert!(!excluded(&["a/**"], "a"));
        assert!(excluded(&["a/**/z"], "a/z"));
        assert!(excluded(&["a/**/z"], "a/b/c/z"));
        // Negation re-includes.
        assert!(!excluded(&["*.txt", "!keep.txt"], "keep.txt"));
        assert!(excluded(&["*.txt", "!keep.txt"], "drop.txt"));
    }
}
