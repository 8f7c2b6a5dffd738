//! Key ids in both styles securesystemslib has used: SHA-256 of the
//! canonical JSON of the key dict, without and with `keyid_hash_algorithms`.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::KeyId;
use crate::cjson;
use crate::error::Error;

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(super) fn compute_keyids(
    keytype: &str,
    scheme: &str,
    public: &str,
    hash_algorithms: &Value,
) -> Result<(KeyId, KeyId), Error> {
    let current = json!({"keytype": keytype, "scheme": scheme, "keyval": {"public": public}});
    let legacy = json!({
        "keytype": keytype,
        "scheme": scheme,
        "keyid_hash_algorithms": hash_algorithms,
        "keyval": {"public": public},
    });
    Ok((
        KeyId(sha256_hex(&cjson::to_canonical(&current)?)),
        KeyId(sha256_hex(&cjson::to_canonical(&legacy)?)),
    ))
}

pub(super) fn default_hash_algorithms() -> Value {
    json!(["sha256", "sha512"])
}
