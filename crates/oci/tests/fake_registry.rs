//! The registry client against a scripted registry on 127.0.0.1: what a
//! real registry (tests/e2e/images.rs, distribution 2.8) never does on its
//! own — a referrers API, oversized or wrong content, 503s, refusals — each
//! answered here and each refused or handled as the client promises.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
#![allow(clippy::expect_used, reason = "a test fails by panicking")]
#![allow(clippy::panic, reason = "a test fails by panicking")]
#![allow(clippy::indexing_slicing, reason = "a test fails by panicking")]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use oci::model::{Descriptor, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE};
use oci::{Digest, Error, Options, Reference, Registry};

/// An answer: status, extra headers, body.
type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

/// What the scripted registry is asked: the path (with its query) and the
/// `Authorization` header, if any.
struct Request {
    path: String,
    authorization: Option<String>,
}

/// Serves `answer(path)` for every request (GET /v2/ answers 200), on a
/// thread that lives as long as the test process.
fn serve(answer: impl Fn(&str) -> Answer + Send + 'static) -> String {
    serve_requests(move |request, _| {
        if request.path == "/v2/" {
            (200, Vec::new(), b"{}".to_vec())
        } else {
            answer(&request.path)
        }
    })
}

/// Serves `answer(request, host)` for every request, on a thread that lives
/// as long as the test process.
fn serve_requests(answer: impl Fn(&Request, &str) -> Answer + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let own = host.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut authorization = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("authorization") {
                        authorization = Some(value.trim().to_owned());
                    }
                }
            }
            let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
            let (status, headers, body) = answer(
                &Request {
                    path,
                    authorization,
                },
                &own,
            );
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    host
}

fn client(host: &str, limits: oci::Limits) -> Registry {
    let options = Options {
        allow_http: true,
        limits,
        ..Options::default()
    };
    Registry::connect(host, &options).unwrap()
}

/// The error `registry` (serving `host`) answers when asked to resolve
/// `oci://HOST/NAME`; the test fails if it resolves.
fn resolve_refused(registry: &Registry, host: &str, name: &str) -> Error {
    let reference = Reference::parse(&format!("oci://{host}/{name}")).unwrap();
    registry.resolve(&reference).unwrap_err()
}

fn image_manifest() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": Descriptor::of("application/vnd.oci.image.config.v1+json", b"{}"),
        "layers": [],
    }))
    .unwrap()
}

fn index_of(entries: usize) -> Vec<u8> {
    let entry = |i: usize| {
        let mut d = Descriptor::of(MANIFEST_MEDIA_TYPE, format!("referrer {i}").as_bytes());
        d.artifact_type = Some(oci::referrers::BUNDLE_MEDIA_TYPE.into());
        d
    };
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": (0..entries).map(entry).collect::<Vec<_>>(),
    }))
    .unwrap()
}

fn manifest_answer(body: Vec<u8>) -> Answer {
    (
        200,
        vec![("Content-Type", MANIFEST_MEDIA_TYPE.into())],
        body,
    )
}

/// Where the image's referrers were found, and how many, when the registry
/// serves an index of `entries` referrers at `path` (of the image's digest)
/// and answers 404 to everything else.
fn referrers_served_at(
    path: fn(&Digest) -> String,
    entries: usize,
) -> (oci::referrers::Source, usize) {
    let subject = Digest::of(&image_manifest());
    let served = path(&subject);
    let host = serve(move |asked| {
        if asked == served {
            (
                200,
                vec![("Content-Type", INDEX_MEDIA_TYPE.into())],
                index_of(entries),
            )
        } else {
            (404, Vec::new(), Vec::new())
        }
    });
    let registry = client(&host, oci::Limits::default());
    let image = Reference::parse(&format!("oci://{host}/app@{subject}")).unwrap();
    let (source, listed) = oci::referrers::list(&registry, &image, subject).unwrap();
    (source, listed.len())
}

#[test]
fn the_referrers_api_is_read_when_the_registry_has_one() {
    assert_eq!(
        referrers_served_at(|subject| format!("/v2/app/referrers/{subject}"), 2),
        (oci::referrers::Source::Api, 2)
    );
}

#[test]
fn without_a_referrers_api_the_tag_schema_index_is_read() {
    assert_eq!(
        referrers_served_at(
            |subject| format!("/v2/app/manifests/{}", subject.referrers_tag()),
            3
        ),
        (oci::referrers::Source::TagSchema, 3)
    );
}

#[test]
fn a_referrers_listing_beyond_the_entry_limit_is_refused() {
    let subject = Digest::of(&image_manifest());
    let host = serve(move |_| (200, Vec::new(), index_of(5)));
    let limits = oci::Limits {
        max_referrers: 4,
        ..oci::Limits::default()
    };
    let registry = client(&host, limits);
    let image = Reference::parse(&format!("oci://{host}/app@{subject}")).unwrap();
    let err = oci::referrers::list(&registry, &image, subject).unwrap_err();
    assert!(matches!(err, Error::TooLarge { limit: 4, .. }), "{err}");
}

#[test]
fn a_manifest_beyond_the_size_limit_is_refused() {
    let host = serve(|_| manifest_answer(vec![b' '; 2000]));
    let limits = oci::Limits {
        max_manifest_bytes: 1000,
        ..oci::Limits::default()
    };
    let registry = client(&host, limits);
    let err = resolve_refused(&registry, &host, "app:v1");
    assert!(
        matches!(
            err,
            Error::TooLarge {
                what: "manifest",
                limit: 1000,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_manifest_that_is_not_the_digest_asked_for_is_refused() {
    let host = serve(|_| manifest_answer(image_manifest()));
    let registry = client(&host, oci::Limits::default());
    let asked = Digest::of(b"another manifest");
    let err = resolve_refused(&registry, &host, &format!("app@{asked}"));
    assert!(
        matches!(
            err,
            Error::DigestMismatch {
                what: "manifest",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_tag_whose_announced_digest_is_not_the_content_s_is_refused() {
    let announced = Digest::of(b"what the registry claims").to_string();
    let host = serve(move |_| {
        let (status, mut headers, body) = manifest_answer(image_manifest());
        headers.push(("Docker-Content-Digest", announced.clone()));
        (status, headers, body)
    });
    let registry = client(&host, oci::Limits::default());
    let err = resolve_refused(&registry, &host, "app:v1");
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
}

#[test]
fn a_blob_that_is_not_its_digest_is_refused_and_one_too_large_is_not_fetched() {
    let asked = Descriptor::of("application/octet-stream", b"the real bundle");
    let fetched = Arc::new(AtomicUsize::new(0));
    let counter = fetched.clone();
    let host = serve(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        (200, Vec::new(), b"a forged bundle".to_vec())
    });
    let registry = client(
        &host,
        oci::Limits {
            max_blob_bytes: 20,
            ..oci::Limits::default()
        },
    );
    let image = Reference::parse(&format!("oci://{host}/app:v1")).unwrap();
    let err = registry.blob(&image, &asked).unwrap_err();
    assert!(
        matches!(err, Error::DigestMismatch { what: "blob", .. }),
        "{err}"
    );
    assert_eq!(fetched.load(Ordering::SeqCst), 1);

    let big = Descriptor::of("application/octet-stream", &[0u8; 21]);
    let err = registry.blob(&image, &big).unwrap_err();
    assert!(matches!(err, Error::TooLarge { what: "blob", .. }), "{err}");
    assert_eq!(
        fetched.load(Ordering::SeqCst),
        1,
        "no request for a blob over the limit"
    );
}

#[test]
fn busy_answers_are_retried_and_refusals_are_not() {
    let answered = Arc::new(AtomicUsize::new(0));
    let counter = answered.clone();
    let host = serve(move |path| {
        if path.starts_with("/v2/locked/") {
            return (401, Vec::new(), Vec::new());
        }
        if counter.fetch_add(1, Ordering::SeqCst) < 2 {
            (503, Vec::new(), Vec::new())
        } else {
            manifest_answer(image_manifest())
        }
    });
    let registry = client(&host, oci::Limits::default());
    let resolved = registry
        .resolve(&Reference::parse(&format!("oci://{host}/app:v1")).unwrap())
        .unwrap();
    assert_eq!(
        resolved.descriptor.digest,
        Digest::of(&image_manifest()).to_string()
    );
    assert_eq!(
        answered.load(Ordering::SeqCst),
        3,
        "two 503s, then the manifest"
    );

    let err = resolve_refused(&registry, &host, "locked:v1");
    assert!(
        matches!(err, Error::Unauthorized { status: 401, .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&host), "{err}");
    assert!(err.is_input_error(), "a refusal is an input error (exit 2)");
}

/// Anonymous pulls as ghcr.io and Docker Hub answer them: every request
/// without a token is a 401 with a Bearer challenge naming the token
/// service; the client fetches an anonymous token for the repository's pull
/// scope and sends it; nothing is read without it.
#[test]
fn an_anonymous_pull_answers_the_bearer_challenge_with_a_token() {
    const TOKEN: &str = "anonymous-pull-token";
    let token_requests = Arc::new(AtomicUsize::new(0));
    let unauthorized = Arc::new(AtomicUsize::new(0));
    let (tokens, refused) = (token_requests.clone(), unauthorized.clone());
    let manifest = image_manifest();
    let host = serve_requests(move |request, host| {
        let challenge = format!(
            r#"Bearer realm="http://{host}/token",service="fake-registry",scope="repository:team/app:pull""#
        );
        if request.path.starts_with("/token") {
            tokens.fetch_add(1, Ordering::SeqCst);
            assert!(
                request
                    .path
                    .contains("scope=repository%3Ateam%2Fapp%3Apull")
                    || request.path.contains("scope=repository:team/app:pull"),
                "the token is asked for the repository's pull scope: {}",
                request.path
            );
            assert_eq!(
                request.authorization, None,
                "anonymous: no credentials sent"
            );
            let body = format!(r#"{{"token":"{TOKEN}","access_token":"{TOKEN}"}}"#);
            return (
                200,
                vec![("Content-Type", "application/json".into())],
                body.into_bytes(),
            );
        }
        if request.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
            refused.fetch_add(1, Ordering::SeqCst);
            return (401, vec![("WWW-Authenticate", challenge)], Vec::new());
        }
        if request.path == "/v2/" {
            (200, Vec::new(), b"{}".to_vec())
        } else {
            manifest_answer(manifest.clone())
        }
    });
    let registry = client(&host, oci::Limits::default());
    let reference = Reference::parse(&format!("oci://{host}/team/app:v1")).unwrap();
    let resolved = registry.resolve(&reference).unwrap();
    assert_eq!(
        resolved.descriptor.digest,
        Digest::of(&image_manifest()).to_string()
    );
    assert!(
        token_requests.load(Ordering::SeqCst) >= 1,
        "a token was fetched"
    );
    // Only the challenge itself went without the token: the manifest was
    // asked for with it.
    assert!(
        unauthorized.load(Ordering::SeqCst) >= 1,
        "the challenge was met"
    );

    // A registry whose token service refuses: an error naming the registry,
    // not a panic and not an anonymous read.
    let host = serve_requests(|request, host| {
        if request.path.starts_with("/token") {
            return (403, Vec::new(), b"denied".to_vec());
        }
        let challenge = format!(r#"Bearer realm="http://{host}/token",service="fake-registry""#);
        (401, vec![("WWW-Authenticate", challenge)], Vec::new())
    });
    let registry = client(&host, oci::Limits::default());
    let err = resolve_refused(&registry, &host, "team/app:v1");
    assert!(err.to_string().contains(&host), "{err}");
}
