//! Rekor v1 for the keyless signer: a proposed entry (`dsse` or
//! `hashedrekord` 0.0.1) logged and the logged body checked to be ours, and
//! the log's answer turned into a bundle's `TransparencyLogEntry` (SET,
//! inclusion proof, checkpoint), verified with the whole bundle.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::error::{service_error, Error};
use crate::http::Http;

/// Where Rekor v1 takes entries.
fn entries_url(rekor: &str) -> String {
    format!("{rekor}/api/v1/log/entries")
}

/// Posts an entry to the Rekor v1 at `rekor`; checks the body Rekor logged
/// is ours (its `kind` and signature `sig_b64`) and returns the log's entry.
pub(super) fn log(
    http: &Http,
    rekor: &str,
    proposed: &Value,
    kind: &str,
    sig_b64: &str,
) -> Result<Value, Error> {
    let url = entries_url(rekor);
    let response = http.post("Rekor", &url, None, proposed)?;
    let entry = response
        .as_object()
        .and_then(|m| m.values().next())
        .cloned()
        .ok_or_else(|| service_error("Rekor", &url, "the response holds no entry"))?;
    let body: Value = entry
        .get("body")
        .and_then(Value::as_str)
        .and_then(|b| B64.decode(b).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| service_error("Rekor", &url, "the entry's body is not base64 JSON"))?;
    let ours = match kind {
        "dsse" => body
            .pointer("/spec/signatures")
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter()
                    .any(|s| s.get("signature").and_then(Value::as_str) == Some(sig_b64))
            }),
        _ => {
            body.pointer("/spec/signature/content")
                .and_then(Value::as_str)
                == Some(sig_b64)
        }
    };
    if body.get("kind").and_then(Value::as_str) != Some(kind) || !ours {
        return Err(Error::Verification {
            reason: format!("Rekor ({url}) logged a body that is not the entry sent"),
        });
    }
    Ok(entry)
}

/// A logged entry (of `kind`, from [`log`]) as a bundle's
/// `TransparencyLogEntry`, and its log index.
pub(super) fn tlog_entry(rekor: &str, entry: &Value, kind: &str) -> Result<(Value, u64), Error> {
    let url = entries_url(rekor);
    let bad = |what: &str| {
        service_error(
            "Rekor",
            &url,
            format!("the entry's {what} is missing or malformed"),
        )
    };
    let int = |pointer: &str| entry.pointer(pointer).and_then(Value::as_u64);
    let text = |pointer: &str| entry.pointer(pointer).and_then(Value::as_str);
    let hex_to_b64 = |h: &str| hex::decode(h).ok().map(|b| B64.encode(b));
    let proof = "/verification/inclusionProof";
    let log_index = int("/logIndex").ok_or_else(|| bad("logIndex"))?;
    let integrated_time = int("/integratedTime").ok_or_else(|| bad("integratedTime"))?;
    let log_id = text("/logID")
        .and_then(hex_to_b64)
        .ok_or_else(|| bad("logID"))?;
    entry.pointer(proof).ok_or_else(|| bad("inclusion proof"))?;
    let hashes = entry
        .pointer(&format!("{proof}/hashes"))
        .and_then(Value::as_array)
        .ok_or_else(|| bad("inclusion proof hashes"))?
        .iter()
        .map(|h| h.as_str().and_then(hex_to_b64))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("inclusion proof hashes"))?;
    let root_hash = text(&format!("{proof}/rootHash"))
        .and_then(hex_to_b64)
        .ok_or_else(|| bad("inclusion proof root hash"))?;
    let tree_size = int(&format!("{proof}/treeSize")).ok_or_else(|| bad("tree size"))?;
    let proof_index = int(&format!("{proof}/logIndex")).ok_or_else(|| bad("proof index"))?;
    let checkpoint = text(&format!("{proof}/checkpoint")).ok_or_else(|| bad("checkpoint"))?;
    let set =
        text("/verification/signedEntryTimestamp").ok_or_else(|| bad("signed entry timestamp"))?;
    let body = text("/body").ok_or_else(|| bad("body"))?;
    let tlog = json!({
        "logIndex": log_index.to_string(),
        "logId": {"keyId": log_id},
        "kindVersion": {"kind": kind, "version": "0.0.1"},
        "integratedTime": integrated_time.to_string(),
        "inclusionPromise": {"signedEntryTimestamp": set},
        "inclusionProof": {
            "logIndex": proof_index.to_string(),
            "rootHash": root_hash,
            "treeSize": tree_size.to_string(),
            "hashes": hashes,
            "checkpoint": {"envelope": checkpoint},
        },
        "canonicalizedBody": body,
    });
    Ok((tlog, log_index))
}
