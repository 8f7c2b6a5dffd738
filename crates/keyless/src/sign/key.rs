//! Managed-key signing into a Sigstore bundle: a DSSE envelope signed with
//! the key (as `toto attest --key` signs), logged in Rekor v1 as a `dsse`
//! 0.0.1 entry whose verifier is the public key (as `cosign attest --key`
//! logs), in a v0.3 bundle whose verification material is the key's hint
//! (its key id) and the log entry. The bundle is verified with the key
//! before it is handed back.

use serde_json::{json, Value};

use super::{rekor_v1, SignedBundle, TrustConfig, BUNDLE_MEDIA_TYPE};
use crate::bundle::{BundleVerifier, Policy};
use crate::error::{malformed, Error};
use crate::http::Http;

/// Signs `payload` (of `payload_type`) with `key` into a DSSE envelope,
/// logs it in the Rekor v1 of `config` and returns the bundle, verified
/// against `config`'s trusted root with `public_pem` (the key's SPKI PEM).
/// A signing config whose Rekor is v2 only is refused: its `hashedrekord`
/// entries do not carry a DSSE envelope signed by a managed key here.
pub fn sign_dsse_with_key(
    config: &TrustConfig,
    key: &dyn dsse::KeyedSigner,
    public_pem: &str,
    payload_type: &str,
    payload: &[u8],
) -> Result<SignedBundle, Error> {
    if config.services.rekor_version != 1 {
        return Err(malformed(
            "trust config",
            "a key-signed bundle is logged in Rekor v1: use a signing config offering Rekor v1 \
             (--rekor-version 1)",
        ));
    }
    let envelope = dsse::Envelope::sign(payload_type, payload.to_vec(), &[key])
        .map_err(|e| malformed("DSSE envelope", e.to_string()))?;
    let envelope_text = String::from_utf8(envelope.to_json())
        .map_err(|e| malformed("DSSE envelope", e.to_string()))?;
    let envelope_json: Value = serde_json::from_str(&envelope_text)
        .map_err(|e| malformed("DSSE envelope", e.to_string()))?;
    let sig_b64 = envelope_json
        .pointer("/signatures/0/sig")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("DSSE envelope", "no signature"))?
        .to_owned();
    use base64::Engine as _;
    let proposed = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": envelope_text,
            "verifiers": [base64::engine::general_purpose::STANDARD.encode(public_pem)],
        }},
    });
    let http = Http::new()?;
    let rekor = &config.services.rekor;
    let entry = rekor_v1::log(&http, rekor, &proposed, "dsse", &sig_b64)?;
    let (tlog, log_index) = rekor_v1::tlog_entry(rekor, &entry, "dsse")?;
    let bundle = json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": key.keyid()},
            "tlogEntries": [tlog],
        },
        "dsseEnvelope": envelope_json,
    });
    let signed = SignedBundle {
        json: bundle.to_string(),
        log_index,
    };
    BundleVerifier::new(&config.root)?.verify_attestation(
        signed.json.as_bytes(),
        None,
        &Policy::Key {
            pem: public_pem.to_owned(),
        },
    )?;
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signing config whose Rekor is v2 is refused before anything is
    /// signed or sent (the key's envelope is logged as a v1 `dsse` entry).
    #[test]
    fn a_rekor_v2_config_is_refused_before_anything_is_sent() {
        let mut config = TrustConfig::public_good().unwrap();
        config.services.rekor_version = 2;
        // Nothing listens here: reaching the network would fail otherwise.
        config.services.rekor = "http://127.0.0.1:9".into();
        let key = dsse::PrivateKey::generate(dsse::KeyKind::EcdsaP256).unwrap();
        let pem = key.public_key().to_pem().unwrap();
        let refused = sign_dsse_with_key(&config, &key, &pem, "text/plain", b"x").unwrap_err();
        assert!(refused.to_string().contains("Rekor v1"), "{refused}");
    }
}
