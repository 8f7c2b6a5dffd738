//! A real registry for end-to-end tests: Debian's `docker-registry` (the
//! CNCF distribution registry 2.8) on 127.0.0.1, with basic auth over TLS
//! under a throw-away CA or over plain HTTP, and images pushed to it by the
//! distribution API. Shared by the image tests (`images`, `image_layouts`, `oci_peers`).

use std::ffi::OsStr;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::*;

pub const USER: &str = "toto";
pub const PASSWORD: &str = "s3cret-registry";

/// A `docker-registry` on 127.0.0.1, ended (and its storage removed) on drop.
pub struct TestRegistry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// The CA certificate (PEM file) of a TLS registry.
    pub ca: Option<PathBuf>,
    dir: tempfile::TempDir,
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(binary: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(binary))
        .find(|p| p.is_file())
}

/// The registry binary, or `None` (the test is skipped) outside CI.
fn registry_binary(test: &str) -> Option<PathBuf> {
    match (which("docker-registry"), which("htpasswd")) {
        (Some(bin), Some(_)) => Some(bin),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{test}: docker-registry and htpasswd are needed (scripts/test installs them)")
        }
        _ => {
            eprintln!(
                "{test}: skipped: docker-registry or htpasswd not installed \
                 (apt-get install docker-registry apache2-utils; scripts/test does)"
            );
            None
        }
    }
}

impl TestRegistry {
    /// Starts a registry: `secure` = basic auth over TLS, else plain HTTP
    /// without auth.
    pub fn start(test: &str, secure: bool) -> Option<TestRegistry> {
        let bin = registry_binary(test)?;
        let dir = tempdir();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
             delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            dir.path().join("storage").display()
        );
        let mut ca = None;
        if secure {
            use p256::pkcs8::EncodePrivateKey as _;
            let tls = loopback_tls(dir.path(), "toto test registry CA");
            let cert = write(
                &dir.path().join("cert.pem"),
                &pem("CERTIFICATE", &tls.leaf_der),
            );
            let key_pem = write(
                &dir.path().join("key.pem"),
                &pem("PRIVATE KEY", tls.key.to_pkcs8_der().unwrap().as_bytes()),
            );
            ca = Some(tls.ca_pem);
            let htpasswd = Command::new("htpasswd")
                .args(["-Bbn", USER, PASSWORD])
                .output()
                .unwrap();
            assert!(htpasswd.status.success(), "htpasswd failed");
            let htpasswd_file = dir.path().join("htpasswd");
            std::fs::write(&htpasswd_file, &htpasswd.stdout).unwrap();
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: toto-test\n    \
                 path: {}\n",
                cert.display(),
                key_pem.display(),
                htpasswd_file.display()
            ));
        }
        let config_file = write(&dir.path().join("config.yml"), &config);
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let registry = TestRegistry {
            child,
            host,
            ca,
            dir,
        };
        // Ready when it accepts connections (bounded wait; not a timed assertion).
        for _ in 0..400 {
            if TcpStream::connect(&registry.host).is_ok() {
                return Some(registry);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("{test}: docker-registry did not start on {}", registry.host);
    }

    pub fn image(&self, name: &str) -> String {
        format!("oci://{}/{name}", self.host)
    }

    /// The flags that reach this registry.
    pub fn flags(&self) -> Vec<String> {
        match &self.ca {
            Some(ca) => vec![
                "--registry-ca".into(),
                ca.display().to_string(),
                "--registry-username".into(),
                USER.into(),
                "--registry-password".into(),
                PASSWORD.into(),
            ],
            None => vec!["--allow-http-registry".into()],
        }
    }

    pub fn client(&self) -> oci::Registry {
        let options = oci::Options {
            credentials: self.ca.as_ref().map(|_| oci::Credentials {
                username: USER.into(),
                password: PASSWORD.into(),
            }),
            extra_ca_pem: self.ca.iter().map(|p| std::fs::read(p).unwrap()).collect(),
            allow_http: self.ca.is_none(),
            ..oci::Options::default()
        };
        oci::Registry::connect(&self.host, &options).unwrap()
    }

    /// Pushes a small image (a config blob, one layer, a manifest) by the
    /// distribution API under `reference` (`repo:tag`); its manifest digest.
    pub fn push_image(&self, reference: &str, layer: &[u8]) -> String {
        let image = oci::Reference::parse(&self.image(reference)).unwrap();
        let client = self.client();
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        client.push_blob(&image, config).unwrap();
        client.push_blob(&image, layer).unwrap();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": oci::model::MANIFEST_MEDIA_TYPE,
            "config": oci::model::Descriptor::of("application/vnd.oci.image.config.v1+json", config),
            "layers": [oci::model::Descriptor::of("application/vnd.oci.image.layer.v1.tar", layer)],
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        client
            .push_manifest(&image, &bytes, oci::model::MANIFEST_MEDIA_TYPE)
            .unwrap();
        oci::Digest::of(&bytes).to_string()
    }

    /// The referrers tag schema's index for `digest` in `repo`: its entries.
    pub fn tag_schema_entries(&self, repo: &str, digest: &str) -> usize {
        let digest: oci::Digest = digest.parse().unwrap();
        let image = oci::Reference::parse(&format!("{}@{digest}", self.image(repo))).unwrap();
        let client = self.client();
        let (source, list) = oci::referrers::list(&client, &image, digest).unwrap();
        assert_eq!(source, oci::referrers::Source::TagSchema);
        list.len()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Generates the key pair `name` (and `name.pub`) in the registry's
    /// directory; the private key's path.
    pub fn generate_key(&self, name: &str) -> PathBuf {
        let key = self.path().join(name);
        generate_key(&key, &[]);
        key
    }
}

/// The JSON a command printed on stdout (`--format json`).
pub fn json_of(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

pub const PREDICATE_TYPE: &str = "https://example.com/review/v1";

pub fn predicate(dir: &Path) -> PathBuf {
    write(&dir.join("review.json"), r#"{"reviewed":true}"#)
}

pub fn attest_with_key(registry: &TestRegistry, key: &Path, image: &str) -> std::process::Output {
    attest_predicate_with_key(registry, key, image, &predicate(registry.path()))
}

pub fn attest_predicate_with_key(
    registry: &TestRegistry,
    key: &Path,
    image: &str,
    predicate: &Path,
) -> std::process::Output {
    let signer = [OsStr::new("--key"), key.as_os_str()];
    attest_pushed(registry, signer, (PREDICATE_TYPE, predicate), image)
}

/// `attest --predicate-type TYPE --predicate FILE --subject IMAGE --push`,
/// signed as `signer` says (`--key FILE`, or keyless flags).
pub fn attest_pushed<S: AsRef<OsStr>>(
    registry: &TestRegistry,
    signer: impl IntoIterator<Item = S>,
    (predicate_type, predicate): (&str, &Path),
    image: &str,
) -> std::process::Output {
    toto()
        .arg("attest")
        .args(signer)
        .args(["--predicate-type", predicate_type, "--predicate"])
        .arg(predicate)
        .args(["--subject", image, "--push"])
        .args(registry.flags())
        .output()
        .unwrap()
}

/// `verify-attestation IMAGE --key PUBLIC FLAGS…`.
pub fn verify_key<S: AsRef<OsStr>>(
    image: &str,
    public: &Path,
    flags: impl IntoIterator<Item = S>,
) -> std::process::Output {
    toto()
        .args(["verify-attestation", image, "--key"])
        .arg(public)
        .args(flags)
        .output()
        .unwrap()
}

/// `verify-attestation` of `image` in `registry` with `public`, for
/// [`PREDICATE_TYPE`], in JSON.
pub fn verify_with_key(
    registry: &TestRegistry,
    public: &Path,
    image: &str,
) -> std::process::Output {
    let checks = ["--predicate-type", PREDICATE_TYPE, "--format", "json"].map(String::from);
    verify_key(image, public, checks.into_iter().chain(registry.flags()))
}
