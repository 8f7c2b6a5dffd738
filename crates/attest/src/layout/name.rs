//! [`StepName`]: the name of a step or inspection, validated so that it
//! can stand in a link file name.

use crate::error::Error;

/// A validated step or inspection name: usable in a link file name
/// (`<name>.<keyid8>.link`), so no path separators, no `..`, no NUL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepName(String);

impl StepName {
    /// Validates a name.
    pub fn parse(name: &str) -> Result<StepName, Error> {
        let bad = |reason: &str| Error::Malformed {
            what: "step name",
            reason: format!("{name:?} {reason}"),
        };
        if name.is_empty() {
            return Err(bad("is empty"));
        }
        if name.len() > 255 {
            return Err(bad("is longer than 255 bytes"));
        }
        if name.contains(['/', '\\', '\0']) {
            return Err(bad(
                "contains a path separator or NUL; it would escape the link directory",
            ));
        }
        if name == "." || name == ".." {
            return Err(bad("is a directory name"));
        }
        Ok(StepName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The link file name for a functionary: `<name>.<keyid8>.link`.
    pub fn link_file_name(&self, keyid: &str) -> String {
        format!("{}.{}.link", self.0, keyid.get(..8).unwrap_or(keyid))
    }
}

impl std::fmt::Display for StepName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
