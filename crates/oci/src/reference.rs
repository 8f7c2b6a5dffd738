//! `oci://REGISTRY/REPO[:TAG][@sha256:HEX]`: an image as a command line
//! names it.
//!
//! The grammar is the distribution spec's (`<name>` path components of
//! lower-case alphanumerics and separators; tags `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`;
//! <https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests>).
//! Docker's defaults are applied only where the tools users compare toto
//! with apply them (cosign and `gh attestation` through go-containerregistry):
//! a first component without `.` or `:` that is not `localhost` is a Docker
//! Hub repository (`index.docker.io`, `library/` before a one-component
//! name). No tag and no digest is an error rather than `latest`: an
//! attestation names one image, and guessing which would be the verifier's
//! choice, not the user's.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The scheme every image reference starts with.
pub const SCHEME: &str = "oci://";

/// Docker Hub's registry host, as go-containerregistry names it.
pub const DOCKER_HUB: &str = "index.docker.io";

/// A SHA-256 digest of registry content: 32 bytes, shown `sha256:<hex>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest(sha2::Sha256::digest(bytes).into())
    }

    /// The 32 bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, without the algorithm.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The referrers tag schema's tag for this digest, `sha256-<hex>`
    /// (distribution spec, "Referrers Tag Schema").
    pub fn referrers_tag(&self) -> String {
        format!("sha256-{}", self.hex())
    }
}

impl FromStr for Digest {
    type Err = Error;

    /// `sha256:` and 64 lower-case hex digits; nothing else (the registry
    /// answers in this form, and upper case would name the same bytes twice).
    fn from_str(text: &str) -> Result<Digest, Error> {
        let bad = |reason: &str| Error::Reference {
            input: text.to_owned(),
            reason: reason.to_owned(),
        };
        let hex_part = text
            .strip_prefix("sha256:")
            .ok_or_else(|| bad("a digest is sha256:<64 hex digits> (only SHA-256 is supported)"))?;
        if hex_part.len() != 64
            || !hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad("a sha256 digest is 64 lower-case hex digits"));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| bad("not hex"))?;
        Ok(Digest(bytes))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An image reference: registry, repository, and a tag, a digest or both.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses `oci://REGISTRY/REPO[:TAG][@sha256:HEX]` (the scheme is
    /// required: it is what tells a file from an image on toto's command
    /// line).
    pub fn parse(input: &str) -> Result<Reference, Error> {
        let bad = |reason: &str| Error::Reference {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = input
            .strip_prefix(SCHEME)
            .ok_or_else(|| bad("an image reference starts with oci://"))?;
        let (name_tag, digest) = match rest.split_once('@') {
            Some((before, digest)) => (
                before,
                Some(digest.parse::<Digest>().map_err(|e| match e {
                    Error::Reference { reason, .. } => bad(&reason),
                    other => other,
                })?),
            ),
            None => (rest, None),
        };
        // A tag follows the last ':' after the last '/' (a ':' before it is
        // the registry's port).
        let last_slash = name_tag.rfind('/');
        let (name, tag) = match name_tag.rfind(':') {
            Some(colon) if last_slash.is_none_or(|slash| colon > slash) => (
                name_tag.get(..colon).unwrap_or_default(),
                Some(name_tag.get(colon + 1..).unwrap_or_default().to_owned()),
            ),
            _ => (name_tag, None),
        };
        if let Some(tag) = &tag {
            if !valid_tag(tag) {
                return Err(bad(
                    "a tag is 1 to 128 of A-Z a-z 0-9 _ . - and does not start with . or -",
                ));
            }
        }
        if tag.is_none() && digest.is_none() {
            return Err(bad(
                "name the image by :TAG or @sha256:DIGEST (toto does not assume :latest)",
            ));
        }
        let (first, after) = name.split_once('/').unwrap_or(("", name));
        let is_host = first.contains('.') || first.contains(':') || first == "localhost";
        let (registry, repository) = if is_host {
            (first.to_owned(), after.to_owned())
        } else {
            (DOCKER_HUB.to_owned(), name.to_owned())
        };
        let registry = match registry.as_str() {
            "docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
            _ => registry,
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if !valid_host(&registry) {
            return Err(bad("the registry is HOST or HOST:PORT"));
        }
        if !valid_repository(&repository) {
            return Err(bad(
                "a repository is lower-case path components of a-z 0-9 separated by . _ __ - or /",
            ));
        }
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// True when `text` is meant as an image reference (starts with `oci://`).
    pub fn is_image(text: &str) -> bool {
        text.starts_with(SCHEME)
    }

    /// The registry host (and port).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path in the registry.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if the reference names one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference names one.
    pub fn digest(&self) -> Option<Digest> {
        self.digest
    }

    /// `REGISTRY/REPO`: the name an in-toto subject gives an image, as
    /// `actions/attest-build-provenance` (its `subject-name` input, e.g.
    /// `ghcr.io/org/app`) and cosign (`Repository.Name()`) write it; the
    /// digest goes into the subject's digest set.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same repository at `digest` (no tag).
    pub fn at_digest(&self, digest: Digest) -> Reference {
        Reference {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// The same repository at `tag` (no digest).
    pub fn at_tag(&self, tag: &str) -> Reference {
        Reference {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: Some(tag.to_owned()),
            digest: None,
        }
    }

    /// What a manifest request names: the digest when there is one, else the tag.
    pub(crate) fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_owned(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && tag.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn valid_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
fn valid_repository(repository: &str) -> bool {
    repository.len() <= 255
        && !repository.is_empty()
        && repository.split('/').all(|component| {
            let bytes = component.as_bytes();
            let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
                return false;
            };
            if !alnum(first) || !alnum(last) {
                return false;
            }
            // Separators: runs of '-', or one '.', or one or two '_'.
            let mut i = 0;
            while let Some(b) = bytes.get(i) {
                if alnum(b) {
                    i += 1;
                    continue;
                }
                let run = bytes
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|c| !alnum(c))
                    .collect::<Vec<_>>();
                let ok = run.iter().all(|c| **c == b'-')
                    || run.as_slice() == [&b'.']
                    || run.as_slice() == [&b'_']
                    || run.as_slice() == [&b'_', &b'_'];
                if !ok {
                    return false;
                }
                i += run.len();
            }
            true
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "4d4f2e1b8f5cde5a9e3a87b0a4f1d4a0c1b7e2f3a4b5c6d7e8f9a0b1c2d3e4f5";

    #[test]
    fn a_registry_a_repository_and_a_tag() {
        let r = Reference::parse("oci://127.0.0.1:5000/team/app:v1").unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "team/app");
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.digest(), None);
        assert_eq!(r.name(), "127.0.0.1:5000/team/app");
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/team/app:v1");
    }

    #[test]
    fn a_digest_with_or_without_a_tag() {
        let r = Reference::parse(&format!("oci://ghcr.io/org/app@sha256:{HEX}")).unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().unwrap().hex(), HEX);
        let r = Reference::parse(&format!("oci://ghcr.io/org/app:v2@sha256:{HEX}")).unwrap();
        assert_eq!(r.tag(), Some("v2"));
        assert_eq!(r.manifest_ref(), format!("sha256:{HEX}"));
    }

    #[test]
    fn docker_hub_defaults_as_go_containerregistry_applies_them() {
        let r = Reference::parse("oci://alpine:3").unwrap();
        assert_eq!(r.name(), "index.docker.io/library/alpine");
        let r = Reference::parse("oci://docker.io/org/app:1").unwrap();
        assert_eq!(r.name(), "index.docker.io/org/app");
        let r = Reference::parse("oci://localhost/app:1").unwrap();
        assert_eq!(r.name(), "localhost/app");
    }

    #[test]
    fn bad_references_name_the_input() {
        for (input, why) in [
            ("ghcr.io/org/app:v1", "oci://"),
            ("oci://ghcr.io/org/app", "does not assume :latest"),
            ("oci://ghcr.io/Org/app:v1", "lower-case"),
            ("oci://ghcr.io/org/app:-v1", "a tag is"),
            ("oci://ghcr.io/org/app@sha256:ABC", "64 lower-case hex"),
            ("oci://ghcr.io/org/app@sha512:abc", "only SHA-256"),
            (
                &format!("oci://ghcr.io/org/app@sha256:{}", HEX.to_uppercase()),
                "lower-case",
            ),
            ("oci://ghcr.io/org//app:v1", "repository"),
            ("oci://ghcr.io/org/a..b:v1", "repository"),
            ("oci://host:port/app:v1", "HOST:PORT"),
        ] {
            let err = Reference::parse(input).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(input), "{text}");
            assert!(text.contains(why), "{input}: {text}");
        }
    }

    #[test]
    fn the_referrers_tag_of_a_digest() {
        let d: Digest = format!("sha256:{HEX}").parse().unwrap();
        assert_eq!(d.referrers_tag(), format!("sha256-{HEX}"));
    }
}
