//! Checks, before a step runs, that keyless signing can succeed after it:
//! the identity token stays valid long enough, and Fulcio, Rekor (and the
//! timestamp authority, when one is configured) answer. A step that would
//! run for nothing (its link could not be signed) is refused first.

use super::{IdentityToken, Services};
use crate::error::{service_error, Error};
use crate::http::{status_line, Http, Request};

/// Largest answer read from a service's cheap endpoint.
const MAX_PROBE_BYTES: u64 = 1 << 20;

impl IdentityToken {
    /// Refuses a token that expires within `seconds` of `now` (Unix
    /// seconds): Fulcio would refuse it when the link is signed.
    pub fn check_valid_for(&self, now: i64, seconds: u64) -> Result<(), Error> {
        let needed = now.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX));
        if self.expires <= needed {
            return Err(Error::Token(format!(
                "expires in {} s, and it must stay valid for {seconds} s (the step, then \
                 signing); get a fresh one",
                self.expires.saturating_sub(now).max(0)
            )));
        }
        Ok(())
    }
}

/// How a service's cheap endpoint must answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A success status.
    Success,
    /// Any HTTP answer but a server error (the endpoint serves POST only).
    NotServerError,
}

impl Services {
    /// Asks each service one cheap question, so that one that is down,
    /// misnamed or unreachable fails now, naming it, instead of after the
    /// step: Fulcio's `GET /api/v2/trustBundle`, Rekor v1's `GET
    /// /api/v1/log` (Rekor v2 serves its write API by POST only: any answer
    /// but a server error to a GET of `/api/v2/log/entries` will do), the
    /// timestamp authority's `GET …/certchain`. Nothing is sent that a
    /// service could log.
    pub fn preflight(&self) -> Result<(), Error> {
        let http = Http::new()?;
        let mut probes = vec![
            (
                "Fulcio",
                format!("{}/api/v2/trustBundle", self.fulcio),
                Answer::Success,
            ),
            match self.rekor_version {
                2 => (
                    "Rekor",
                    format!("{}/api/v2/log/entries", self.rekor),
                    Answer::NotServerError,
                ),
                _ => (
                    "Rekor",
                    format!("{}/api/v1/log", self.rekor),
                    Answer::Success,
                ),
            },
        ];
        if let Some(tsa) = &self.tsa {
            probes.push(("TSA", format!("{tsa}/certchain"), Answer::Success));
        }
        for (service, url, wanted) in probes {
            probe(&http, service, &url, wanted)?;
        }
        Ok(())
    }
}

/// One GET, its answer bounded; a failure names the service and the URL.
fn probe(http: &Http, service: &'static str, url: &str, wanted: Answer) -> Result<(), Error> {
    let fail = |reason: String| service_error(service, url, reason);
    let (status, _) = http
        .exchange(&Request::get(url), MAX_PROBE_BYTES)
        .map_err(|e| fail(e.to_string()))?;
    let answered = match wanted {
        Answer::Success => (200..300).contains(&status),
        Answer::NotServerError => status < 500,
    };
    if answered {
        Ok(())
    } else {
        Err(fail(format!("HTTP {}", status_line(status))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expires: i64) -> IdentityToken {
        IdentityToken {
            raw: String::new(),
            issuer: "https://issuer.example".into(),
            subject: "alice@example.com".into(),
            email: None,
            workflow: None,
            federated: false,
            expires,
        }
    }

    #[test]
    fn a_token_expiring_during_the_step_is_refused() {
        let err = token(1_000 + 69).check_valid_for(1_000, 70).unwrap_err();
        assert!(
            err.to_string()
                .contains("expires in 69 s, and it must stay valid for 70 s"),
            "{err}"
        );
        token(1_000 + 71).check_valid_for(1_000, 70).unwrap();
    }

    #[test]
    fn a_closed_port_is_named_as_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let services = Services {
            fulcio: format!("http://127.0.0.1:{port}"),
            rekor: format!("http://127.0.0.1:{port}"),
            rekor_version: 1,
            tsa: None,
            oidc: None,
        };
        let err = services.preflight().unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("Fulcio ("), "{text}");
        assert!(text.contains("/api/v2/trustBundle"), "{text}");
        assert!(text.contains("unreachable"), "{text}");
    }
}
