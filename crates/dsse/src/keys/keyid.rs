//! Key ids in both styles securesystemslib has used: SHA-256 of the
//! canonical JSON of the key dict, without and with `keyid_hash_algorithms`.
//!
//! Which text is hashed as `keyval.public` matters as much as the dict:
//! - securesystemslib's `SSlibKey.from_crypto` (in-toto 2.x `--signing-key`,
//!   3.x) writes the SPKI PEM with its final newline and hashes the current
//!   style;
//! - in-toto-golang (`keylib.go`, `setKeyComponents` then `generateKeyID`)
//!   re-encodes the key as PEM and trims the final newline; securesystemslib's
//!   legacy `import_rsakey_from_public_pem` (in-toto 2.x `--key`,
//!   `--layout-keys`) keeps the file's text from `-----BEGIN` to the end of
//!   `-----END PUBLIC KEY-----` with `\r\n` made `\n`: the same text for
//!   the 64-column PEM toto reads. Both hash the legacy style with
//!   `["sha256", "sha512"]`.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::KeyId;
use crate::cjson;
use crate::error::Error;

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The current-style key id: no `keyid_hash_algorithms`.
pub(super) fn current_keyid(keytype: &str, scheme: &str, public: &str) -> Result<KeyId, Error> {
    let dict = json!({"keytype": keytype, "scheme": scheme, "keyval": {"public": public}});
    Ok(KeyId(sha256_hex(&cjson::to_canonical(&dict)?)))
}

/// The legacy-style key id: with `keyid_hash_algorithms`.
pub(super) fn legacy_keyid(
    keytype: &str,
    scheme: &str,
    public: &str,
    hash_algorithms: &Value,
) -> Result<KeyId, Error> {
    let dict = json!({
        "keytype": keytype,
        "scheme": scheme,
        "keyid_hash_algorithms": hash_algorithms,
        "keyval": {"public": public},
    });
    Ok(KeyId(sha256_hex(&cjson::to_canonical(&dict)?)))
}

pub(super) fn default_hash_algorithms() -> Value {
    json!(["sha256", "sha512"])
}
