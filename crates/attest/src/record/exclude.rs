//! Exclude patterns with gitignore (`gitwildmatch`) semantics, as Python
//! `pathspec` reads them for the reference: negation, anchoring, `**`,
//! directory-only patterns; a pattern matching a directory excludes what
//! is inside it.

use crate::rules::fnmatch;

/// One gitwildmatch pattern (as Python `pathspec` reads `.gitignore` lines).
#[derive(Debug, Clone)]
struct WildPattern {
    negated: bool,
    anchored: bool,
    dir_only: bool,
    segments: Vec<String>,
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
        let segments = text.split('/').map(str::to_owned).collect();
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
fn ends(pattern: &[String], path: &[&str]) -> Vec<usize> {
    let Some((first, rest)) = pattern.split_first() else {
        return vec![0];
    };
    let mut out = Vec::new();
    if first == "**" {
        for skip in 0..=path.len() {
            for e in ends(rest, path.get(skip..).unwrap_or_default()) {
                out.push(skip + e);
            }
        }
        if rest.is_empty() {
            // A trailing `**` matches everything inside, not the directory itself.
            out.retain(|e| *e > 0);
        }
    } else if let Some(segment) = path.first() {
        if fnmatch(segment, first) {
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

pub(super) struct Excludes(Vec<WildPattern>);

impl Excludes {
    pub(super) fn new(patterns: &[String]) -> Excludes {
        Excludes(
            patterns
                .iter()
                .filter_map(|p| WildPattern::parse(p))
                .collect(),
        )
    }

    pub(super) fn excluded(&self, name: &str) -> bool {
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
