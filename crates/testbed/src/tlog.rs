//! The testbed's transparency log: an RFC 6962 Merkle tree over Rekor entry
//! bodies, persisted append-only, with signed checkpoints and SETs.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::Error;

/// The checkpoint origin's name: a substring of every loopback base URL
/// (sigstore-js requires that), whatever the port.
pub const ORIGIN_NAME: &str = "127.0.0.1";

type Hash = [u8; 32];

fn leaf_hash(body: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(body);
    h.finalize().into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Largest power of two smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// MTH(D[n]) of RFC 6962.
fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => Sha256::digest([]).into(),
        [one] => *one,
        _ => {
            let k = split(leaves.len());
            let (l, r) = leaves.split_at(k);
            node_hash(&root(l), &root(r))
        }
    }
}

/// PATH(m, D[n]): the audit path of leaf `m`, bottom-up.
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = split(leaves.len());
    let (l, r) = leaves.split_at(k);
    if m < k {
        let mut p = path(m, l);
        p.push(root(r));
        p
    } else {
        let mut p = path(m - k, r);
        p.push(root(l));
        p
    }
}

/// SUBPROOF(m, D[n], b) of RFC 6962.
fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if whole {
            Vec::new()
        } else {
            vec![root(leaves)]
        };
    }
    let k = split(n);
    let (l, r) = leaves.split_at(k);
    if m <= k {
        let mut p = subproof(m, l, whole);
        p.push(root(r));
        p
    } else {
        let mut p = subproof(m - k, r, false);
        p.push(root(l));
        p
    }
}

/// A checkpoint (signed note, the `c2sp.org/tlog-checkpoint` form Rekor v1
/// writes) of a tree of `size` leaves with root `root`, signed by `key`.
pub fn signed_checkpoint(key: &SigningKey, tree_id: u64, size: usize, root: &Hash) -> String {
    signed_note(key, &format!("{ORIGIN_NAME} - {tree_id}"), size, root)
}

/// A Rekor v2 checkpoint (rekor-tiles' form): the origin line is the log's
/// name alone, no tree id; the signature line names the same origin and
/// starts with the first four bytes of the log id (the trusted root's
/// `logId.keyId`, SHA-256 of the key's DER SPKI), which is what
/// sigstore-python, sigstore-verify and sigstore-js match key hints against.
pub fn signed_checkpoint_v2(key: &SigningKey, size: usize, root: &Hash) -> String {
    signed_note(key, ORIGIN_NAME, size, root)
}

/// The checkpoint note `origin`, `size`, `root`, and its signature line:
/// `ORIGIN_NAME`, then the first four bytes of the log id (SHA-256 of the
/// key's DER SPKI) followed by `key`'s signature over the note, base64.
fn signed_note(key: &SigningKey, origin: &str, size: usize, root: &Hash) -> String {
    let note = format!("{origin}\n{size}\n{}\n", B64.encode(root));
    let signature: DerSignature = key.sign(note.as_bytes());
    let log_id: Hash = crate::pki::spki_der(key)
        .map(|spki| Sha256::digest(spki).into())
        .unwrap_or_default();
    let mut blob = log_id.get(..4).unwrap_or_default().to_vec();
    blob.extend_from_slice(signature.as_bytes());
    format!("{note}\n\u{2014} {ORIGIN_NAME} {}\n", B64.encode(blob))
}

/// A signed entry timestamp (Rekor v1's inclusion promise), base64: `key`'s
/// signature over the RFC 8785 JSON of body, integrated time, log id (hex)
/// and log index.
pub fn signed_entry_timestamp(
    key: &SigningKey,
    body_b64: &str,
    integrated_time: i64,
    log_id_hex: &str,
    index: usize,
) -> String {
    let promise = json!({
        "body": body_b64,
        "integratedTime": integrated_time,
        "logID": log_id_hex,
        "logIndex": index,
    });
    // serde_json maps are sorted and compact: RFC 8785 for these ASCII
    // strings and integers.
    let set: DerSignature = key.sign(promise.to_string().as_bytes());
    B64.encode(set.as_bytes())
}

/// One entry of the log.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The canonical body, as stored.
    pub body: Vec<u8>,
    /// When it was integrated (Unix seconds).
    pub integrated_time: i64,
}

/// The log.
#[derive(Debug)]
pub struct Log {
    key: SigningKey,
    log_id: Hash,
    tree_id: u64,
    /// A Rekor v2 log (checkpoints without tree id, no SETs).
    v2: bool,
    entries: Vec<Entry>,
    leaves: Vec<Hash>,
    file: Option<File>,
}

impl Log {
    /// Opens (or creates) the log persisted in `file`, replaying its entries.
    pub fn open(key: SigningKey, tree_id: u64, file: Option<&Path>) -> Result<Log, Error> {
        let log_id = Sha256::digest(crate::pki::spki_der(&key)?).into();
        let mut log = Log {
            key,
            log_id,
            tree_id,
            v2: false,
            entries: Vec::new(),
            leaves: Vec::new(),
            file: None,
        };
        if let Some(path) = file {
            if path.exists() {
                let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
                // An entry is acknowledged only once its line, newline
                // included, is synced. A crash mid-append (kill -9, power
                // loss) can leave a torn last line: it was never
                // acknowledged, so it is cut off; damage anywhere else is
                // an error.
                let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                if complete < text.len() {
                    OpenOptions::new()
                        .write(true)
                        .open(path)
                        .and_then(|f| f.set_len(complete as u64).and_then(|()| f.sync_all()))
                        .map_err(|e| Error::io(path, e))?;
                }
                let reader = BufReader::new(text.get(..complete).unwrap_or_default());
                for (n, line) in reader.lines().enumerate() {
                    let line = line.map_err(|e| Error::io(path, e))?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    let bad = || {
                        Error::Internal(format!("{}: line {} is damaged", path.display(), n + 1))
                    };
                    let v: Value = serde_json::from_str(&line).map_err(|_| bad())?;
                    let body = v
                        .get("body")
                        .and_then(Value::as_str)
                        .and_then(|b| B64.decode(b).ok())
                        .ok_or_else(bad)?;
                    let integrated_time = v
                        .get("integratedTime")
                        .and_then(Value::as_i64)
                        .ok_or_else(bad)?;
                    log.leaves.push(leaf_hash(&body));
                    log.entries.push(Entry {
                        body,
                        integrated_time,
                    });
                }
            }
            let handle = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Error::io(path, e))?;
            log.file = Some(handle);
        }
        Ok(log)
    }

    /// Opens (or creates) a Rekor v2 log persisted in `file`.
    pub fn open_v2(key: SigningKey, file: Option<&Path>) -> Result<Log, Error> {
        let mut log = Log::open(key, 0, file)?;
        log.v2 = true;
        Ok(log)
    }

    /// The log id: SHA-256 of the log key's DER SPKI.
    pub fn log_id(&self) -> &Hash {
        &self.log_id
    }

    /// Number of entries.
    pub fn size(&self) -> usize {
        self.leaves.len()
    }

    /// Appends a body; returns its index. Written to disk before it counts.
    pub fn append(&mut self, body: Vec<u8>, integrated_time: i64) -> Result<usize, Error> {
        if let Some(file) = self.file.as_mut() {
            let line = json!({"body": B64.encode(&body), "integratedTime": integrated_time});
            let mut text = line.to_string();
            text.push('\n');
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_data())
                .map_err(|e| Error::Internal(format!("cannot persist the log: {e}")))?;
        }
        self.leaves.push(leaf_hash(&body));
        self.entries.push(Entry {
            body,
            integrated_time,
        });
        Ok(self.leaves.len() - 1)
    }

    /// The index of the entry whose UUID is `uuid`: its leaf hash in hex,
    /// alone or after a 16-hex-digit tree id (Rekor's entry ID).
    pub fn index_of_uuid(&self, uuid: &str) -> Option<usize> {
        let leaf = match uuid.len() {
            64 => uuid,
            80 => uuid.get(16..)?,
            _ => return None,
        };
        let leaf: Hash = hex::decode(leaf).ok()?.try_into().ok()?;
        self.leaves.iter().position(|l| *l == leaf)
    }

    /// The indices of the entries whose body Rekor indexes under `key`
    /// ([`crate::rekor::index_keys`]), in log order.
    pub fn search(&self, key: &str) -> Vec<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| crate::rekor::index_keys(&e.body).iter().any(|k| k == key))
            .map(|(i, _)| i)
            .collect()
    }

    /// An entry.
    pub fn entry(&self, index: usize) -> Option<&Entry> {
        self.entries.get(index)
    }

    /// The root hash of the first `size` entries.
    pub fn root_at(&self, size: usize) -> Hash {
        root(self.leaves.get(..size).unwrap_or(&self.leaves))
    }

    /// A signed checkpoint (signed note) for the first `size` entries.
    pub fn checkpoint(&self, size: usize) -> String {
        if self.v2 {
            return signed_checkpoint_v2(&self.key, size, &self.root_at(size));
        }
        signed_checkpoint(&self.key, self.tree_id, size, &self.root_at(size))
    }

    /// Rekor v2's answer for an entry: a `TransparencyLogEntry` (protobuf
    /// JSON, 64-bit integers as strings, bytes as base64) with the
    /// canonicalized body and an inclusion proof in the current tree whose
    /// checkpoint is signed; no integrated time, no SET.
    pub fn entry_v2_json(&self, index: usize, kind: &str) -> Option<Value> {
        let entry = self.entries.get(index)?;
        let size = self.size();
        let hashes: Vec<String> = path(index, &self.leaves)
            .iter()
            .map(|h| B64.encode(h))
            .collect();
        Some(json!({
            "logIndex": index.to_string(),
            "logId": {"keyId": B64.encode(self.log_id)},
            "kindVersion": {"kind": kind, "version": "0.0.2"},
            "inclusionProof": {
                "logIndex": index.to_string(),
                "rootHash": B64.encode(self.root_at(size)),
                "treeSize": size.to_string(),
                "hashes": hashes,
                "checkpoint": {"envelope": self.checkpoint(size)},
            },
            "canonicalizedBody": B64.encode(&entry.body),
        }))
    }

    /// Rekor v1's view of an entry: body, time, log id and index,
    /// inclusion proof in the current tree with a checkpoint, and the SET.
    pub fn entry_json(&self, index: usize) -> Option<(String, Value)> {
        let entry = self.entries.get(index)?;
        let size = self.size();
        let body = B64.encode(&entry.body);
        let log_id = hex::encode(self.log_id);
        let set = signed_entry_timestamp(&self.key, &body, entry.integrated_time, &log_id, index);
        let hashes: Vec<String> = path(index, &self.leaves).iter().map(hex::encode).collect();
        let uuid = hex::encode(self.leaves.get(index)?);
        Some((
            uuid,
            json!({
                "body": body,
                "integratedTime": entry.integrated_time,
                "logID": log_id,
                "logIndex": index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": self.checkpoint(size),
                        "hashes": hashes,
                        "logIndex": index,
                        "rootHash": hex::encode(self.root_at(size)),
                        "treeSize": size,
                    },
                    "signedEntryTimestamp": set,
                },
            }),
        ))
    }

    /// A consistency proof from the tree of `first` entries to that of `last`.
    pub fn consistency(&self, first: usize, last: usize) -> Option<Vec<Hash>> {
        if first == 0 || first > last || last > self.size() {
            return None;
        }
        if first == last {
            return Some(Vec::new());
        }
        Some(subproof(first, self.leaves.get(..last)?, true))
    }

    /// `GET /api/v1/log`.
    pub fn info(&self) -> Value {
        let size = self.size();
        json!({
            "rootHash": hex::encode(self.root_at(size)),
            "treeSize": size,
            "signedTreeHead": self.checkpoint(size),
            "treeID": self.tree_id.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Recomputes the root from a leaf and its path (RFC 9162 §2.1.3.2).
    fn root_from_path(index: usize, size: usize, leaf: Hash, proof: &[Hash]) -> Hash {
        let (mut f, mut s) = (index, size - 1);
        let mut r = leaf;
        for p in proof {
            if f & 1 == 1 || f == s {
                r = node_hash(p, &r);
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            } else {
                r = node_hash(&r, p);
            }
            f >>= 1;
            s >>= 1;
        }
        r
    }

    #[test]
    fn a_torn_last_line_is_cut_and_damage_elsewhere_refused() {
        let dir = std::env::temp_dir().join(format!("toto-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.jsonl");
        let _ = std::fs::remove_file(&path);
        let key = || SigningKey::from_slice(&[3u8; 32]).unwrap();
        let mut log = Log::open(key(), 1, Some(&path)).unwrap();
        log.append(b"one".to_vec(), 10).unwrap();
        log.append(b"two".to_vec(), 11).unwrap();
        let root = log.root_at(2);
        drop(log);
        let good = std::fs::read(&path).unwrap();
        let mut torn = good.clone();
        torn.extend_from_slice(br#"{"body":"dGhy"#);
        std::fs::write(&path, &torn).unwrap();
        let log = Log::open(key(), 1, Some(&path)).unwrap();
        assert_eq!((log.size(), log.root_at(2)), (2, root));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            good,
            "the torn line is cut off"
        );
        drop(log);
        let mut damaged = b"not json\n".to_vec();
        damaged.extend_from_slice(&good);
        std::fs::write(&path, &damaged).unwrap();
        assert!(Log::open(key(), 1, Some(&path)).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_audit_path_leads_to_the_root() {
        for n in 1..40 {
            let all = leaves(n);
            for m in 0..n {
                let p = path(m, &all);
                assert_eq!(root_from_path(m, n, all[m], &p), root(&all), "n={n} m={m}");
            }
        }
    }
}
