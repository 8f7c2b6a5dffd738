"""A local TUF repository for the `toto trust update` tests, written with
python-tuf's metadata API (the reference implementation).

Usage: tuf_repo.py COMMAND WORK [ARGS]. WORK/repo is the served repository
(consistent snapshots, metadata at its top, targets in targets/), WORK/keys
the private keys (PEM), one per role.

  init WORK TARGET_FILE...   root v1, targets listing each file under its own
                             name, snapshot, timestamp (ECDSA root, Ed25519
                             online roles)
  bump WORK                  new targets, snapshot and timestamp versions
  rotate-root WORK           root v+1 with new root and timestamp keys,
                             signed by the old and new root keys, then bump
  expire-timestamp WORK      a newer timestamp that expired yesterday
  replace WORK TARGET_FILE...  new contents for these targets (each under its
                             own name), then bump
  tamper WORK NAME           flip one byte of target NAME as the current
                             targets list it (length unchanged)
  rewind-snapshot WORK       a newer timestamp pinning snapshot version 1
"""

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)

ROLES = ("root", "targets", "snapshot", "timestamp")


def expiry(days=365):
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(microsecond=0)


def new_key(work, role):
    signer = (
        CryptoSigner.generate_ecdsa() if role == "root" else CryptoSigner.generate_ed25519()
    )
    (work / "keys").mkdir(parents=True, exist_ok=True)
    (work / "keys" / f"{role}.pem").write_bytes(signer.private_bytes)
    return signer


def key(work, role):
    pem = (work / "keys" / f"{role}.pem").read_bytes()
    return CryptoSigner(load_pem_private_key(pem, None))


def write(work, md, name, *signers):
    md.signatures.clear()
    for signer in signers:
        md.sign(signer, append=True)
    md.to_file(str(work / "repo" / name))


def latest_root(work):
    roots = sorted(work.glob("repo/*.root.json"), key=lambda p: int(p.name.split(".")[0]))
    return Metadata[Root].from_file(str(roots[-1]))


def current(work):
    ts = Metadata[Timestamp].from_file(str(work / "repo/timestamp.json"))
    snap_v = ts.signed.snapshot_meta.version
    snap = Metadata[Snapshot].from_file(str(work / f"repo/{snap_v}.snapshot.json"))
    tgt_v = snap.signed.meta["targets.json"].version
    tgt = Metadata[Targets].from_file(str(work / f"repo/{tgt_v}.targets.json"))
    return ts, snap, tgt


def publish(work, ts, snap, tgt, ts_expires=None, step=1):
    """Writes targets, snapshot and timestamp, each `step` versions up."""
    tgt.signed.version += step
    tgt.signed.expires = expiry()
    write(work, tgt, f"{tgt.signed.version}.targets.json", key(work, "targets"))
    snap.signed.version += step
    snap.signed.expires = expiry()
    snap.signed.meta["targets.json"] = MetaFile(version=tgt.signed.version)
    write(work, snap, f"{snap.signed.version}.snapshot.json", key(work, "snapshot"))
    ts.signed.version += step
    ts.signed.expires = ts_expires or expiry()
    ts.signed.snapshot_meta = MetaFile(version=snap.signed.version)
    write(work, ts, "timestamp.json", key(work, "timestamp"))


def init(work, files):
    (work / "repo/targets").mkdir(parents=True)
    root = Root(expires=expiry(), consistent_snapshot=True)
    for role in ROLES:
        root.add_key(new_key(work, role).public_key, role)
    write(work, Metadata(root), "1.root.json", key(work, "root"))
    targets = Targets(expires=expiry())
    for f in map(Path, files):
        data = f.read_bytes()
        tf = TargetFile.from_data(f.name, data, ["sha256"])
        targets.targets[f.name] = tf
        (work / "repo/targets" / f"{tf.hashes['sha256']}.{f.name}").write_bytes(data)
    snap = Snapshot(expires=expiry())
    ts = Timestamp(expires=expiry(), snapshot_meta=MetaFile(version=1))
    publish(work, Metadata(ts), Metadata(snap), Metadata(targets), step=0)


def rotate_root(work):
    old = latest_root(work)
    old_root_key = key(work, "root")
    root = old.signed
    root.version += 1
    root.expires = expiry()
    for role in ("root", "timestamp"):
        for keyid in list(root.roles[role].keyids):
            root.revoke_key(keyid, role)
        root.add_key(new_key(work, role).public_key, role)
    write(work, old, f"{root.version}.root.json", key(work, "root"), old_root_key)
    publish(work, *current(work))


def replace(work, files):
    ts, snap, tgt = current(work)
    for f in map(Path, files):
        data = f.read_bytes()
        tf = TargetFile.from_data(f.name, data, ["sha256"])
        tgt.signed.targets[f.name] = tf
        (work / "repo/targets" / f"{tf.hashes['sha256']}.{f.name}").write_bytes(data)
    publish(work, ts, snap, tgt)


def tamper(work, name):
    listed = current(work)[2].signed.targets[name].hashes["sha256"]
    path = work / "repo/targets" / f"{listed}.{name}"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def main(argv):
    command, work, rest = argv[1], Path(argv[2]), argv[3:]
    if command == "init":
        init(work, rest)
    elif command == "bump":
        publish(work, *current(work))
    elif command == "rotate-root":
        rotate_root(work)
    elif command == "expire-timestamp":
        publish(work, *current(work), ts_expires=expiry(-1))
    elif command == "rewind-snapshot":
        ts = current(work)[0]
        ts.signed.version += 1
        ts.signed.snapshot_meta = MetaFile(version=1)
        write(work, ts, "timestamp.json", key(work, "timestamp"))
    elif command == "replace":
        replace(work, rest)
    elif command == "tamper":
        tamper(work, rest[0])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
