//! A registry client: the ORAS project's `oci-client` for authentication
//! (the bearer-token challenge) and uploads, behind a small blocking facade.
//!
//! Reads are toto's own requests on the reqwest client `oci-client` is
//! built on, with the `Authorization` header `oci-client`'s `auth` hands
//! out. `oci-client` buffers every manifest, index and referrers answer
//! whole before anything can look at its size (`bytes()` on the response),
//! and its referrers call answers a missing tag-schema index and a refused
//! one alike with an empty list. Here every read is bounded while it
//! arrives ([`Limits`]), a 404 is told from a 401, and every manifest and
//! blob is checked against its digest on receipt.
//!
//! Retries: 429 and 5xx answers are retried with exponential backoff
//! ([`Limits::retries`] times; `Retry-After` is honoured up to 10 s).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::RegistryOperation;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION};

use crate::model::{Descriptor, MANIFEST_TYPES};
use crate::reference::{Digest, Reference};
use crate::Error;

/// Requests in flight at once when fetching many manifests or blobs
/// (as many as a registry's rate limits comfortably allow).
pub const CONCURRENCY: usize = 8;

/// Limits on what a registry may send.
#[derive(Clone, Debug)]
pub struct Limits {
    /// A manifest, an index or a referrers listing (the distribution spec
    /// asks registries to accept manifests of at least 4 MiB).
    pub max_manifest_bytes: u64,
    /// A blob toto reads (an attestation bundle).
    pub max_blob_bytes: u64,
    /// Entries of a referrers listing.
    pub max_referrers: usize,
    /// Retries of a request answered 429 or 5xx.
    pub retries: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_manifest_bytes: 4 << 20,
            max_blob_bytes: 16 << 20,
            max_referrers: 1000,
            retries: 4,
        }
    }
}

/// A user name and password (or token) for a registry. `Debug` does not
/// show the password.
#[derive(Clone)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or access token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// How to reach a registry.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Credentials given on the command line; else `docker_config`'s.
    pub credentials: Option<Credentials>,
    /// A Docker `config.json` whose `auths` may hold the registry's
    /// credentials (`~/.docker/config.json`, or `$DOCKER_CONFIG/config.json`).
    pub docker_config: Option<std::path::PathBuf>,
    /// Extra trusted CA certificates (PEM), beside the system's roots.
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// Speak plain HTTP to the registry (cosign's `--allow-http-registry`).
    pub allow_http: bool,
    /// Limits on what the registry may send.
    pub limits: Limits,
}

/// A connection to one registry. Blocking: it owns a current-thread tokio
/// runtime and blocks on it, so callers need no async.
pub struct Registry {
    host: String,
    scheme: &'static str,
    auth: RegistryAuth,
    runtime: tokio::runtime::Runtime,
    client: oci_client::Client,
    http: reqwest::Client,
    limits: Limits,
    /// The `Authorization` header per repository and operation.
    headers: Mutex<HashMap<(String, bool), Option<String>>>,
    /// Requests made (the benchmark's round trips).
    requests: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("host", &self.host)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// What a tag or digest resolved to.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The manifest's descriptor (media type, digest, size).
    pub descriptor: Descriptor,
    /// The manifest's bytes, as digested.
    pub bytes: Vec<u8>,
}

impl Registry {
    /// A client for `host` (as in a [`Reference`]).
    pub fn connect(host: &str, options: &Options) -> Result<Registry, Error> {
        let config_error = |what: &str, reason: String| Error::Config {
            what: what.to_owned(),
            reason,
        };
        let credentials = match &options.credentials {
            Some(c) => Some(c.clone()),
            None => match &options.docker_config {
                Some(path) => crate::docker_config::credentials(path, host)?,
                None => None,
            },
        };
        let auth = match credentials {
            Some(c) => RegistryAuth::Basic(c.username, c.password),
            None => RegistryAuth::Anonymous,
        };
        let mut certificates = Vec::new();
        for pem in &options.extra_ca_pem {
            certificates.push(
                reqwest::Certificate::from_pem(pem)
                    .map_err(|e| config_error("--registry-ca", e.to_string()))?,
            );
        }
        let protocol = if options.allow_http {
            ClientProtocol::HttpsExcept(vec![host.to_owned()])
        } else {
            ClientProtocol::Https
        };
        let client = oci_client::Client::try_from(ClientConfig {
            protocol,
            extra_root_certificates: options
                .extra_ca_pem
                .iter()
                .map(|pem| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data: pem.clone(),
                })
                .collect(),
            connect_timeout: Some(Duration::from_secs(30)),
            read_timeout: Some(Duration::from_secs(60)),
            user_agent: concat!("toto/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        })
        .map_err(|e| config_error("registry client", e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_certs_merge(certificates)
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(60))
            .user_agent(concat!("toto/", env!("CARGO_PKG_VERSION")))
            // Credentials are not sent to wherever a redirect points
            // (reqwest drops Authorization on cross-host redirects).
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| config_error("registry client", e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| config_error("async runtime", e.to_string()))?;
        Ok(Registry {
            host: host.to_owned(),
            scheme: if options.allow_http { "http" } else { "https" },
            auth,
            runtime,
            client,
            http,
            limits: options.limits.clone(),
            headers: Mutex::new(HashMap::new()),
            requests: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The registry host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// HTTP requests made so far (retries and token requests included).
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn count(&self) {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn url(&self, repository: &str, rest: &str) -> String {
        format!("{}://{}/v2/{repository}/{rest}", self.scheme, self.host)
    }

    fn client_reference(reference: &Reference) -> oci_client::Reference {
        match reference.digest() {
            Some(d) => oci_client::Reference::with_digest(
                reference.registry().to_owned(),
                reference.repository().to_owned(),
                d.to_string(),
            ),
            None => oci_client::Reference::with_tag(
                reference.registry().to_owned(),
                reference.repository().to_owned(),
                reference.tag().unwrap_or("latest").to_owned(),
            ),
        }
    }

    /// The transport error, told apart: a TLS handshake with a plain-HTTP
    /// server is named as such.
    fn unreachable(&self, error: &dyn std::error::Error) -> Error {
        let reason = keyless::error_chain(error);
        if self.scheme == "https"
            && (reason.contains("InvalidContentType") || reason.contains("CorruptMessage"))
        {
            return Error::InsecureRegistry {
                registry: self.host.clone(),
            };
        }
        Error::Unreachable {
            registry: self.host.clone(),
            reason,
        }
    }

    fn client_error(&self, repository: &str, what: &str, error: OciDistributionError) -> Error {
        match error {
            OciDistributionError::AuthenticationFailure(_)
            | OciDistributionError::UnauthorizedError { .. } => Error::Unauthorized {
                registry: self.host.clone(),
                repository: repository.to_owned(),
                status: 401,
            },
            OciDistributionError::ServerError {
                code: 401 | 403, ..
            } => Error::Unauthorized {
                registry: self.host.clone(),
                repository: repository.to_owned(),
                status: 401,
            },
            OciDistributionError::ServerError { code, .. } => Error::Status {
                registry: self.host.clone(),
                what: what.to_owned(),
                status: code,
                detail: None,
            },
            OciDistributionError::RegistryError { envelope, .. } => {
                let denied = envelope
                    .errors
                    .iter()
                    .any(|e| matches!(format!("{:?}", e.code).as_str(), "Unauthorized" | "Denied"));
                if denied {
                    Error::Unauthorized {
                        registry: self.host.clone(),
                        repository: repository.to_owned(),
                        status: 401,
                    }
                } else {
                    Error::Status {
                        registry: self.host.clone(),
                        what: what.to_owned(),
                        status: 400,
                        detail: envelope
                            .errors
                            .first()
                            .map(|e| printable(&format!("{:?}: {}", e.code, e.message))),
                    }
                }
            }
            OciDistributionError::RequestError(e) => self.unreachable(&e),
            other => Error::Status {
                registry: self.host.clone(),
                what: what.to_owned(),
                status: 0,
                detail: Some(printable(&other.to_string())),
            },
        }
    }

    /// The `Authorization` header for `repository` (pull, or pull and push),
    /// from `oci-client`'s token exchange; cached per repository.
    async fn authorization(
        &self,
        reference: &Reference,
        push: bool,
    ) -> Result<Option<String>, Error> {
        let key = (reference.repository().to_owned(), push);
        if let Some(header) = self.headers.lock().ok().and_then(|h| h.get(&key).cloned()) {
            return Ok(header);
        }
        let operation = if push {
            RegistryOperation::Push
        } else {
            RegistryOperation::Pull
        };
        self.count();
        let token = self
            .client
            .auth(&Self::client_reference(reference), &self.auth, operation)
            .await
            .map_err(|e| self.client_error(reference.repository(), "authentication", e))?;
        let header = match (token, &self.auth) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, RegistryAuth::Basic(user, password)) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            (None, _) => None,
        };
        if let Ok(mut headers) = self.headers.lock() {
            headers.insert(key, header.clone());
        }
        Ok(header)
    }

    /// GET with retries; `Ok(None)` on 404. The body is read up to `limit`
    /// bytes and refused beyond.
    async fn get(
        &self,
        reference: &Reference,
        url: &str,
        accept: &[&str],
        limit: u64,
        what: &'static str,
        shown: &str,
    ) -> Result<Option<(Vec<u8>, HeaderMap)>, Error> {
        let authorization = self.authorization(reference, false).await?;
        let mut attempt = 0;
        loop {
            let mut request = self.http.get(url);
            if !accept.is_empty() {
                request = request.header(ACCEPT, accept.join(", "));
            }
            if let Some(header) = &authorization {
                request = request.header(AUTHORIZATION, header);
            }
            self.count();
            let mut response = request.send().await.map_err(|e| self.unreachable(&e))?;
            let status = response.status().as_u16();
            match status {
                200 => {}
                404 => return Ok(None),
                401 | 403 => {
                    return Err(Error::Unauthorized {
                        registry: self.host.clone(),
                        repository: reference.repository().to_owned(),
                        status,
                    })
                }
                429 | 500..=599 if attempt < self.limits.retries => {
                    let wait = retry_after(response.headers())
                        .unwrap_or_else(|| Duration::from_millis(200 << attempt));
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                    continue;
                }
                _ => {
                    let detail = error_code(&mut response).await;
                    return Err(Error::Status {
                        registry: self.host.clone(),
                        what: format!("GET {shown}"),
                        status,
                        detail,
                    });
                }
            }
            let too_large = || Error::TooLarge {
                what,
                reference: shown.to_owned(),
                limit,
            };
            if response.content_length().is_some_and(|n| n > limit) {
                return Err(too_large());
            }
            let headers = response.headers().clone();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| self.unreachable(&e))? {
                if body.len() as u64 + chunk.len() as u64 > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(Some((body, headers)));
        }
    }

    /// Resolves a reference to its manifest: by digest (the content must
    /// have that digest), or by tag (the registry's `Docker-Content-Digest`,
    /// when sent, must be the digest of what arrived). One request: the
    /// digest returned is that of the bytes returned.
    pub fn resolve(&self, reference: &Reference) -> Result<Resolved, Error> {
        self.runtime.block_on(self.resolve_async(reference))
    }

    async fn resolve_async(&self, reference: &Reference) -> Result<Resolved, Error> {
        let shown = reference.to_string();
        let url = self.url(
            reference.repository(),
            &format!("manifests/{}", reference.manifest_ref()),
        );
        let (bytes, headers) = self
            .get(
                reference,
                &url,
                MANIFEST_TYPES,
                self.limits.max_manifest_bytes,
                "manifest",
                &shown,
            )
            .await?
            .ok_or_else(|| Error::NotFound {
                reference: shown.clone(),
            })?;
        let found = Digest::of(&bytes);
        let announced = headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let expected = match (reference.digest(), announced) {
            (Some(d), _) => Some(d.to_string()),
            (None, Some(header)) => Some(header),
            (None, None) => None,
        };
        if let Some(expected) = expected {
            if expected != found.to_string() {
                return Err(Error::DigestMismatch {
                    what: "manifest",
                    reference: shown,
                    expected,
                    found: found.to_string(),
                });
            }
        }
        let media_type = crate::model::manifest_media_type(&bytes, &headers, &shown)?;
        Ok(Resolved {
            descriptor: Descriptor {
                media_type,
                digest: found.to_string(),
                size: bytes.len() as u64,
                artifact_type: None,
                annotations: BTreeMap::new(),
            },
            bytes,
        })
    }

    /// The manifest or index at `tag`, if there is one (as [`resolve`],
    /// `None` for 404).
    ///
    /// [`resolve`]: Registry::resolve
    pub fn manifest_at_tag(&self, image: &Reference, tag: &str) -> Result<Option<Resolved>, Error> {
        match self.resolve(&image.at_tag(tag)) {
            Ok(resolved) => Ok(Some(resolved)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A blob by its descriptor: refused before the request when the
    /// descriptor says it is larger than `limit`; read up to its declared
    /// size; its digest and size checked on receipt.
    pub fn blob(&self, image: &Reference, descriptor: &Descriptor) -> Result<Vec<u8>, Error> {
        self.runtime.block_on(self.blob_async(image, descriptor))
    }

    /// Several blobs, fetched [`CONCURRENCY`] at a time (the answers in the
    /// order asked).
    pub fn blobs(
        &self,
        image: &Reference,
        descriptors: &[Descriptor],
    ) -> Vec<Result<Vec<u8>, Error>> {
        self.runtime.block_on(async {
            let mut out = Vec::with_capacity(descriptors.len());
            for chunk in descriptors.chunks(CONCURRENCY) {
                out.extend(join_all(chunk.iter().map(|d| self.blob_async(image, d))).await);
            }
            out
        })
    }

    /// Several manifests by digest, fetched [`CONCURRENCY`] at a time.
    pub fn manifests(&self, image: &Reference, digests: &[Digest]) -> Vec<Result<Resolved, Error>> {
        self.runtime.block_on(async {
            let references: Vec<Reference> = digests.iter().map(|d| image.at_digest(*d)).collect();
            let mut out = Vec::with_capacity(references.len());
            for chunk in references.chunks(CONCURRENCY) {
                out.extend(join_all(chunk.iter().map(|r| self.resolve_async(r))).await);
            }
            out
        })
    }

    async fn blob_async(
        &self,
        image: &Reference,
        descriptor: &Descriptor,
    ) -> Result<Vec<u8>, Error> {
        let digest = descriptor.sha256(&image.to_string())?;
        let shown = format!("{}@{digest}", image.name());
        let limit = self.limits.max_blob_bytes;
        if descriptor.size > limit {
            return Err(Error::TooLarge {
                what: "blob",
                reference: shown,
                limit,
            });
        }
        let url = self.url(image.repository(), &format!("blobs/{digest}"));
        let (bytes, _) = self
            .get(image, &url, &[], descriptor.size, "blob", &shown)
            .await?
            .ok_or_else(|| Error::NotFound {
                reference: shown.clone(),
            })?;
        let found = Digest::of(&bytes);
        if found != digest || bytes.len() as u64 != descriptor.size {
            return Err(Error::DigestMismatch {
                what: "blob",
                reference: shown,
                expected: digest.to_string(),
                found: found.to_string(),
            });
        }
        Ok(bytes)
    }

    /// The referrers of `subject` by the referrers API
    /// (`GET /v2/<name>/referrers/<digest>`), or `None` when the registry
    /// answers 404 (it has no referrers API: read the tag schema instead,
    /// as the distribution spec prescribes).
    pub fn referrers_api(
        &self,
        image: &Reference,
        subject: Digest,
    ) -> Result<Option<Vec<u8>>, Error> {
        self.runtime.block_on(async {
            let url = self.url(image.repository(), &format!("referrers/{subject}"));
            let shown = format!("referrers of {}@{subject}", image.name());
            Ok(self
                .get(
                    image,
                    &url,
                    &[crate::model::INDEX_MEDIA_TYPE],
                    self.limits.max_manifest_bytes,
                    "referrers listing",
                    &shown,
                )
                .await?
                .map(|(body, _)| body))
        })
    }

    /// Uploads a blob (skipped when the registry has it already).
    pub fn push_blob(&self, image: &Reference, bytes: &[u8]) -> Result<Digest, Error> {
        let digest = Digest::of(bytes);
        self.runtime.block_on(async {
            self.authorization(image, true).await?;
            let target = Self::client_reference(image);
            let digest_text = digest.to_string();
            let exists = self
                .retry(image, "blob check", || {
                    self.client.blob_exists(&target, &digest_text)
                })
                .await?;
            if !exists {
                self.retry(image, "blob upload", || {
                    self.client.push_blob(&target, bytes.to_vec(), &digest_text)
                })
                .await?;
            }
            Ok(digest)
        })
    }

    /// Uploads a manifest or index under `reference` (its tag, or its
    /// digest), with `media_type` as Content-Type.
    pub fn push_manifest(
        &self,
        reference: &Reference,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(), Error> {
        let content_type =
            reqwest::header::HeaderValue::from_str(media_type).map_err(|_| Error::Config {
                what: "manifest media type".into(),
                reason: format!("{media_type:?} is not a header value"),
            })?;
        self.runtime.block_on(async {
            self.authorization(reference, true).await?;
            let target = Self::client_reference(reference);
            self.retry(reference, "manifest upload", || {
                self.client
                    .push_manifest_raw(&target, bytes.to_vec(), content_type.clone())
            })
            .await?;
            Ok(())
        })
    }

    async fn retry<T, F, Fut>(&self, image: &Reference, what: &str, mut call: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
    {
        let mut attempt = 0;
        loop {
            self.count();
            match call().await {
                Ok(value) => return Ok(value),
                Err(OciDistributionError::ServerError { code, .. })
                    if (code == 429 || code >= 500) && attempt < self.limits.retries =>
                {
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(self.client_error(image.repository(), what, e)),
            }
        }
    }
}

/// Runs futures concurrently on the current task (a small `join_all`,
/// without a futures dependency): each is polled in turn until all finish.
async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_some() {
                continue;
            }
            match future.as_mut().poll(cx) {
                std::task::Poll::Ready(value) => *output = Some(value),
                std::task::Poll::Pending => pending = true,
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds.min(10)))
}

/// The registry's error code from an error body (read up to 4 KiB).
async fn error_code(response: &mut reqwest::Response) -> Option<String> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > 4096 {
            return None;
        }
    }
    let value: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let first = value.get("errors")?.get(0)?;
    let code = first.get("code")?.as_str()?;
    let message = first.get("message").and_then(|m| m.as_str()).unwrap_or("");
    Some(printable(&format!("{code}: {message}")))
}

/// Text from a registry, bounded and with control characters escaped.
fn printable(text: &str) -> String {
    text.chars()
        .take(200)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Reads `path` (a PEM CA bundle of at most 1 MiB) for
/// [`Options::extra_ca_pem`], through the bounded reader.
pub fn read_ca(path: &Path) -> Result<Vec<u8>, Error> {
    dsse::file::read_bounded(path, 1 << 20, None).map_err(|e| Error::Config {
        what: format!("--registry-ca {}", path.display()),
        reason: e.to_string(),
    })
}
