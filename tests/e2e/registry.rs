//! A `docker-registry` (Debian's, the CNCF distribution registry 2.8) on
//! 127.0.0.1 for the image tests (images.rs, oci_peers.rs), and the toto
//! invocations they share.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::*;

pub(crate) const USER: &str = "toto";
pub(crate) const PASSWORD: &str = "s3cret-registry";
pub(crate) const PREDICATE_TYPE: &str = "https://example.com/review/v1";

/// A `docker-registry` on 127.0.0.1, ended (and its storage removed) on drop.
pub(crate) struct TestRegistry {
    child: Child,
    pub(crate) host: String,
    pub(crate) ca: Option<PathBuf>,
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
    pub(crate) fn start(test: &str, secure: bool) -> Option<TestRegistry> {
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

    pub(crate) fn image(&self, name: &str) -> String {
        format!("oci://{}/{name}", self.host)
    }

    /// The flags that reach this registry.
    pub(crate) fn flags(&self) -> Vec<String> {
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

    pub(crate) fn client(&self) -> oci::Registry {
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
    pub(crate) fn push_image(&self, reference: &str, layer: &[u8]) -> String {
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
    pub(crate) fn tag_schema_entries(&self, repo: &str, digest: &str) -> usize {
        let digest: oci::Digest = digest.parse().unwrap();
        let image = oci::Reference::parse(&format!("{}@{digest}", self.image(repo))).unwrap();
        let client = self.client();
        let (source, list) = oci::referrers::list(&client, &image, digest).unwrap();
        assert_eq!(source, oci::referrers::Source::TagSchema);
        list.len()
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Generates the key pair `name` (and `name.pub`) in the registry's
    /// directory; the private key's path.
    pub(crate) fn generate_key(&self, name: &str) -> PathBuf {
        let key = self.path().join(name);
        generate_key(&key, &[]);
        key
    }
}

pub(crate) fn predicate(dir: &Path) -> PathBuf {
    write(&dir.join("review.json"), r#"{"reviewed":true}"#)
}

pub(crate) fn attest_with_key(
    registry: &TestRegistry,
    key: &Path,
    image: &str,
) -> std::process::Output {
    attest_predicate_with_key(registry, key, image, &predicate(registry.path()))
}

pub(crate) fn attest_predicate_with_key(
    registry: &TestRegistry,
    key: &Path,
    image: &str,
    predicate: &Path,
) -> std::process::Output {
    toto()
        .args(["attest", "--key"])
        .arg(key)
        .args(["--predicate-type", PREDICATE_TYPE, "--predicate"])
        .arg(predicate)
        .args(["--subject", image, "--push"])
        .args(registry.flags())
        .output()
        .unwrap()
}

pub(crate) fn verify_with_key(
    registry: &TestRegistry,
    public: &Path,
    image: &str,
) -> std::process::Output {
    toto()
        .args(["verify-attestation", image, "--key"])
        .arg(public)
        .args(["--predicate-type", PREDICATE_TYPE, "--format", "json"])
        .args(registry.flags())
        .output()
        .unwrap()
}

pub(crate) fn json_of(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
