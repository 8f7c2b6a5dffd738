//! The one HTTP client of the crate, for the signer (OIDC, Fulcio, Rekor,
//! TSA) and the TUF client: blocking `ureq` over rustls with the roots of
//! [`crate::tls`], timeouts, a retry only where the service cannot have
//! acted on the request, bodies read up to a bound, and service text turned
//! into [`Error::Service`] (bounded, escaped, redacted: [`ServiceText`]).

use std::io::Read as _;
use std::time::Duration;

use serde_json::Value;

use crate::error::{service_error, Error};

/// Largest response read from a Sigstore service.
pub(crate) const MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// Attempts per request when retrying is safe.
const ATTEMPTS: u32 = 3;

/// Seconds a request to a Sigstore service may take: `TOTO_HTTP_TIMEOUT`
/// (1 to 3600), else 60.
fn request_timeout_secs() -> u64 {
    std::env::var("TOTO_HTTP_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .unwrap_or(60)
}

/// Sends a request, again (up to [`ATTEMPTS`] times, backing off) only when
/// the service cannot have acted on it: the connection failed, or it
/// answered 502, 503 or 504. Timeouts and other answers are final, so a
/// Rekor entry is never logged twice by a retry.
fn retrying(
    send: impl Fn() -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let mut attempt = 1;
    loop {
        let response = send();
        let again = match &response {
            Err(ureq::Error::ConnectionFailed) => true,
            Ok(r) => matches!(r.status().as_u16(), 502..=504),
            Err(_) => false,
        };
        if !again || attempt >= ATTEMPTS {
            return response;
        }
        std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
        attempt += 1;
    }
}

/// `application/x-www-form-urlencoded` escaping.
fn form_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A request: GET when it has no body, else POST.
pub(crate) struct Request<'a> {
    url: &'a str,
    headers: Vec<(&'static str, String)>,
    body: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// GET `url`.
    pub(crate) fn get(url: &'a str) -> Request<'a> {
        Request {
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    /// POST `body` to `url`, of media type `content_type`.
    pub(crate) fn post(url: &'a str, content_type: &str, body: &'a [u8]) -> Request<'a> {
        Request {
            url,
            headers: vec![("Content-Type", content_type.to_owned())],
            body: Some(body),
        }
    }

    /// With the header `name: value`.
    pub(crate) fn header(mut self, name: &'static str, value: &str) -> Request<'a> {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// With `Authorization: Bearer <token>`, when there is a token.
    fn bearer(self, token: Option<&str>) -> Request<'a> {
        match token {
            Some(token) => self.header("Authorization", &format!("Bearer {token}")),
            None => self,
        }
    }
}

/// Why no answer was read.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The request got no answer (unreachable, TLS, timeout).
    Send(ureq::Error),
    /// The answer's body could not be read, or is longer than the bound
    /// (`ureq::Error::BodyExceedsLimit`).
    Read(ureq::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Send(ureq::Error::Timeout(_)) => write!(
                f,
                "no answer within {} s (timeout; TOTO_HTTP_TIMEOUT sets it)",
                request_timeout_secs()
            ),
            Failure::Send(e) => write!(f, "unreachable: {e}"),
            Failure::Read(e) => write!(f, "cannot read the response: {e}"),
        }
    }
}

/// A small blocking HTTP client with timeouts and bounded responses.
pub(crate) struct Http {
    agent: ureq::Agent,
}

impl Http {
    /// A client trusting the bundled and the system's TLS roots
    /// ([`crate::tls`]); fails when `SSL_CERT_FILE`/`SSL_CERT_DIR` name an
    /// unusable certificate store.
    pub(crate) fn new() -> Result<Http, Error> {
        // rustls needs a process-wide provider; aws-lc-rs is the one
        // sigstore-verify already builds. A second install is harmless.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let roots = crate::tls::root_certificates()?;
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(roots)))
            .build();
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_global(Some(Duration::from_secs(request_timeout_secs())))
            .timeout_connect(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .user_agent(concat!("toto/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Http {
            agent: ureq::Agent::new_with_config(config),
        })
    }

    /// Sends `request` ([`retrying`] when safe) and reads the answer's body,
    /// up to `limit` bytes: its status and body, whatever the status.
    pub(crate) fn exchange(
        &self,
        request: &Request<'_>,
        limit: u64,
    ) -> Result<(u16, Vec<u8>), Failure> {
        let mut response = retrying(|| match request.body {
            Some(body) => {
                let mut builder = self.agent.post(request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(*name, value);
                }
                builder.send(body)
            }
            None => {
                let mut builder = self.agent.get(request.url);
                for (name, value) in &request.headers {
                    builder = builder.header(*name, value);
                }
                builder.call()
            }
        })
        .map_err(Failure::Send)?;
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().limit(limit);
        if !(200..300).contains(&status) {
            // An error answer is only shown (or, for OAuth, read as JSON):
            // its first `limit` bytes, whatever follows.
            let mut text = Vec::new();
            let _ = body.reader().take(limit).read_to_end(&mut text);
            return Ok((status, text));
        }
        let body = body.read_to_vec().map_err(Failure::Read)?;
        Ok((status, body))
    }

    /// The body of a successful answer from `service`, read up to `limit`
    /// bytes; a failed request or an error status becomes
    /// [`Error::Service`], with the answer's JSON `message` (or its text)
    /// for a status.
    fn answer(
        &self,
        service: &'static str,
        request: &Request<'_>,
        limit: u64,
    ) -> Result<Vec<u8>, Error> {
        let fail = |reason: String| service_error(service, request.url, reason);
        let (status, body) = self
            .exchange(request, limit)
            .map_err(|e| fail(e.to_string()))?;
        if !(200..300).contains(&status) {
            // The answer's JSON `message`, else its text: bounded, escaped
            // and redacted by `service_error`.
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(fail(format!("HTTP {}: {message}", status_line(status))));
        }
        Ok(body)
    }

    /// The JSON of a successful answer (see [`Http::answer`]).
    fn answer_json(&self, service: &'static str, request: &Request<'_>) -> Result<Value, Error> {
        let body = self.answer(service, request, MAX_RESPONSE_BYTES)?;
        serde_json::from_slice(&body).map_err(|e| {
            service_error(
                service,
                request.url,
                format!("the response is not JSON: {e}"),
            )
        })
    }

    /// GETs JSON from `service`, with a bearer token when given.
    pub(crate) fn get(
        &self,
        service: &'static str,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<Value, Error> {
        let request = Request::get(url)
            .header("Accept", "application/json")
            .bearer(bearer);
        self.answer_json(service, &request)
    }

    /// POSTs JSON to `service` and returns its JSON answer, with a bearer
    /// token when given.
    pub(crate) fn post(
        &self,
        service: &'static str,
        url: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<Value, Error> {
        let body = body.to_string();
        let request = Request::post(url, "application/json", body.as_bytes())
            .header("Accept", "application/json")
            .bearer(bearer);
        self.answer_json(service, &request)
    }

    /// POSTs DER (RFC 3161) and returns the DER answer, up to `limit` bytes.
    pub(crate) fn post_der(
        &self,
        service: &'static str,
        url: &str,
        body: &[u8],
        (request_type, answer_type): (&str, &str),
        limit: u64,
    ) -> Result<Vec<u8>, Error> {
        let request = Request::post(url, request_type, body).header("Accept", answer_type);
        self.answer(service, &request, limit)
    }

    /// POSTs a form; returns the status and the JSON answer, error answers
    /// included (OAuth reports its errors as 400 with JSON).
    pub(crate) fn post_form(
        &self,
        service: &'static str,
        url: &str,
        fields: &[(&str, &str)],
    ) -> Result<(u16, Value), Error> {
        let fail = |reason: String| service_error(service, url, reason);
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
            .collect();
        let body = body.join("&");
        let request = Request::post(url, "application/x-www-form-urlencoded", body.as_bytes())
            .header("Accept", "application/json");
        let (status, bytes) = self
            .exchange(&request, MAX_RESPONSE_BYTES)
            .map_err(|e| fail(e.to_string()))?;
        let value = serde_json::from_slice(&bytes)
            .map_err(|e| fail(format!("HTTP {status}, and the response is not JSON: {e}")))?;
        Ok((status, value))
    }
}

/// A status as `http::StatusCode` shows it (`404 Not Found`).
pub(crate) fn status_line(status: u16) -> String {
    ureq::http::StatusCode::from_u16(status).map_or_else(|_| status.to_string(), |s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_escaped() {
        assert_eq!(form_escape("openid email"), "openid+email");
        assert_eq!(form_escape("urn:a/b&c=d~_.-"), "urn%3Aa%2Fb%26c%3Dd~_.-");
    }
}
