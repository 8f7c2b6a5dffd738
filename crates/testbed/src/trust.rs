//! The files clients trust the testbed with: `trusted_root.json` (its CA,
//! Rekor, CT log and TSA keys), `signing_config.json` (its service URLs)
//! and `trust_config.json` (both, sigstore-python's `--trust-config`).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::rfc3339;
use crate::server::Shared;

impl Shared {
    pub(crate) fn trusted_root(&self) -> Value {
        let start = rfc3339(self.created - 3600);
        let key = |spki: &[u8], url: &str| {
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": B64.encode(spki),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": start},
                },
                "logId": {"keyId": B64.encode(Sha256::digest(spki))},
            })
        };
        let mut tlogs = vec![key(&self.rekor_spki, &self.url)];
        if let Some((spki, _)) = &self.v2 {
            tlogs.push(key(spki, &self.url));
        }
        let tsas: Vec<Value> = self
            .tsa
            .iter()
            .map(|tsa| {
                json!({
                    "subject": {"organization": "toto testbed", "commonName": "toto testbed TSA"},
                    "uri": format!("{}/api/v1/timestamp", self.url),
                    "certChain": {"certificates": [
                        {"rawBytes": B64.encode(tsa.leaf_der())},
                        {"rawBytes": B64.encode(tsa.root_der())},
                    ]},
                    "validFor": {"start": start},
                })
            })
            .collect();
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": tlogs,
            "certificateAuthorities": [{
                "subject": {"organization": "toto testbed", "commonName": "toto testbed intermediate"},
                "uri": self.url,
                "certChain": {"certificates": [
                    {"rawBytes": B64.encode(self.intermediate.cert_der())},
                    {"rawBytes": B64.encode(self.root.cert_der())},
                ]},
                "validFor": {"start": start},
            }],
            "ctlogs": [key(&self.ct_spki, &self.url)],
            "timestampAuthorities": tsas,
        })
    }

    pub(crate) fn signing_config(&self) -> Value {
        let start = rfc3339(self.created - 3600);
        let service = |version: u32| json!([{"url": self.url, "majorApiVersion": version, "validFor": {"start": start}, "operator": "toto-testbed"}]);
        let mut rekors = service(1);
        let mut tsas = json!([]);
        if self.v2.is_some() {
            // Both versions, one operator: clients pick the highest they
            // support (sigstore-python's rule; `--rekor-version 1` forces v1).
            if let Some(list) = rekors.as_array_mut() {
                list.insert(0, json!({"url": self.url, "majorApiVersion": 2, "validFor": {"start": start}, "operator": "toto-testbed"}));
            }
        }
        if self.tsa.is_some() {
            tsas = json!([{"url": format!("{}/api/v1/timestamp", self.url), "majorApiVersion": 1, "validFor": {"start": start}, "operator": "toto-testbed"}]);
        }
        json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": service(1),
            "oidcUrls": service(1),
            "rekorTlogUrls": rekors,
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaUrls": tsas,
            "tsaConfig": {"selector": "ANY"},
        })
    }

    pub(crate) fn trust_config(&self) -> Value {
        json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": self.trusted_root(),
            "signingConfig": self.signing_config(),
        })
    }
}
