#!/usr/bin/env python3
"""Differential campaign: toto `verify-bundle` against sigstore-python 4.5.1.

Mutates real Sigstore bundles structurally (seeded, reproducible), asks both
verifiers for a verdict on every mutation, and writes the tally and every
disagreement to a results directory. Run it through `scripts/differential-bundles`,
which makes the venv and builds toto; see that script for usage.

Both sides read the system clock (neither lets a caller set "now"), so every
batch is verified by both at the same time: toto runs in a thread beside
sigstore-python's loop over the same batch, and the start and end of each
batch are recorded.

Subcommands:
  run    the campaign (COUNT mutations from SEED)
  show   regenerate mutation N of a seed and write it (for a reproduction)
  check  sigstore-python's verdict on one bundle, as the campaign computes it
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]
DEFAULT_IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
GITHUB = "https://token.actions.githubusercontent.com"
PYPI_ID = "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/v0.0.19"

# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


@dataclass
class Case:
    """One real bundle with what it must be verified against."""

    name: str
    bundle: Any  # the parsed bundle
    artifact: Path
    identity: str
    issuer: str
    trusted_root: Path
    # Baseline verdicts on the unmutated (re-serialized) bundle.
    toto: dict = field(default_factory=dict)
    python: dict = field(default_factory=dict)

    @property
    def content(self) -> str:
        if "dsseEnvelope" in self.bundle:
            return "dsse"
        if "messageSignature" in self.bundle:
            return "msgsig"
        return "none"


def shared_dir() -> Path:
    env = os.environ.get("TOTO_SHARED")
    return Path(env) if env else REPO.parent / "shared"


def pep740_to_bundle(path: Path) -> dict:
    """A PEP 740 attestation (or provenance object) as the bundle v0.3 it
    stands for, as `pypi-attestations`' `to_bundle` builds it."""
    doc = json.loads(path.read_text())
    att = doc["attestation_bundles"][0]["attestations"][0] if "attestation_bundles" in doc else doc
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": att["verification_material"]["certificate"]},
            "tlogEntries": att["verification_material"]["transparency_entries"][:1],
        },
        "dsseEnvelope": {
            "payload": att["envelope"]["statement"],
            "payloadType": "application/vnd.in-toto+json",
            "signatures": [{"sig": att["envelope"]["signature"]}],
        },
    }


def load_cases() -> tuple[list[Case], list[str]]:
    """The conformance cases and the real-world bundles; and what was left out, why."""
    cases: list[Case] = []
    skipped: list[str] = []
    conf = shared_dir() / "vectors/sigstore-conformance"
    prod_root = conf / "trusted_roots/production_trusted_root.json"
    base = conf / "bundle-verify"
    for case in sorted(p for p in base.iterdir() if p.is_dir()):
        if (case / "key.pub").exists():
            skipped.append(
                f"conformance/{case.name}: managed key (sigstore-python 4.5.1 has no managed-key verification)"
            )
            continue
        try:
            bundle = json.loads((case / "bundle.sigstore.json").read_text())
        except ValueError:
            skipped.append(f"conformance/{case.name}: not JSON, nothing to mutate structurally")
            continue

        def read(name: str, default: str) -> str:
            p = case / name
            return p.read_text().strip() if p.exists() else default

        cases.append(
            Case(
                name=f"conformance/{case.name}",
                bundle=bundle,
                artifact=case / "artifact" if (case / "artifact").exists() else base / "a.txt",
                identity=read("identity", DEFAULT_IDENTITY),
                issuer=read("issuer", GITHUB),
                trusted_root=case / "trusted_root.json" if (case / "trusted_root.json").exists() else prod_root,
            )
        )
    rw = REPO / "testdata/real-world"
    real = [
        (
            "cosign-v3-blob.sigstore.json",
            "cosign-v3-blob.txt",
            "w.vollprecht@gmail.com",
            "https://github.com/login/oauth",
        ),
        (
            "conda-attestation.sigstore.json",
            "signed-package-2.1.0-hb0f4dca_0.conda",
            "https://github.com/prefix-dev/sigstore-example/.github/workflows/action.yaml@refs/heads/main",
            GITHUB,
        ),
        (
            "reusable-workflow-artifact.sigstore.json",
            "reusable-workflow-artifact",
            "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d",
            GITHUB,
        ),
        (
            "sigstore-2.1.0.tgz.provenance.sigstore.json",
            "sigstore-2.1.0.tgz",
            "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
            GITHUB,
        ),
        ("pypi_attestations-0.0.19.tar.gz.provenance", "pypi_attestations-0.0.19.tar.gz", PYPI_ID, GITHUB),
        ("pypi_attestations-0.0.19.tar.gz.slsa.attestation", "pypi_attestations-0.0.19.tar.gz", PYPI_ID, GITHUB),
        (
            "gitlab_oidc_project-0.0.3.tar.gz.publish.attestation",
            "gitlab_oidc_project-0.0.3.tar.gz",
            "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main",
            "https://gitlab.com",
        ),
    ]
    for file, artifact, identity, issuer in real:
        path = rw / file
        bundle = json.loads(path.read_text()) if file.endswith(".json") else pep740_to_bundle(path)
        cases.append(Case(f"real-world/{file}", bundle, rw / artifact, identity, issuer, prod_root))
    skipped += [
        "real-world/sigstore-1.3.0.tgz.provenance.sigstore.json: the subject is named by SHA-512 only and the tarball is not kept",
        "real-world/sigstore-1.3.0.tgz.publish.sigstore.json: managed key (npm registry)",
    ]
    return cases, skipped


# ---------------------------------------------------------------------------
# Mutations
# ---------------------------------------------------------------------------

Path_ = tuple  # a JSON path: keys and indices


def path_str(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or "(root)"


def path_pattern(path: Path_) -> str:
    """The path with array indices erased: the class of a mutation's target."""
    return re.sub(r"\[\d+\]", "[]", path_str(path))


def walk(value: Any, path: Path_ = ()):
    """Every (path, value) in a JSON value, the root included."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, path + (i,))


def get(value: Any, path: Path_) -> Any:
    for p in path:
        value = value[p]
    return value


def has(value: Any, path: Path_) -> bool:
    try:
        get(value, path)
        return True
    except (KeyError, IndexError, TypeError):
        return False


def put(value: Any, path: Path_, new: Any) -> None:
    get(value, path[:-1])[path[-1]] = new


def delete(value: Any, path: Path_) -> None:
    parent = get(value, path[:-1])
    del parent[path[-1]]


class Skip(Exception):
    """This mutation does not apply to this bundle; draw another."""


@dataclass
class Mutation:
    kind: str  # the operator, e.g. "drop", "two-contents"
    path: str  # where, with indices
    pattern: str  # where, indices erased (the class)
    description: str
    text: str  # the mutated bundle


B64_RE = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
NUM_RE = re.compile(r"^-?\d+$")


def is_b64(s: Any) -> bool:
    return isinstance(s, str) and len(s) >= 8 and len(s) % 4 == 0 and bool(B64_RE.match(s))


MEDIA_TYPES = [
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle.v0.4+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.4",
    "application/vnd.dev.sigstore.bundle.v0.3.1+json",
    "application/vnd.dev.sigstore.bundle+json",
    "APPLICATION/VND.DEV.SIGSTORE.BUNDLE.V0.3+JSON",
    "application/vnd.dev.sigstore.bundle.v0.3+json ",
    "application/vnd.dev.sigstore.bundle+json; version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3",
    "application/json",
    "",
]

UNKNOWN_KEYS = [
    "unknown",
    "x",
    "extensions",
    "$schema",
    "__proto__",
    "mediatype",
    "MediaType",
    "dsseEnvelopes",
    "messageSignatures",
    "tlogEntry",
    "timestampVerificationDatas",
    "Certificate",
    "rawbytes",
    "publicKey",
    "keyid",
    "signature",
    "verificationMaterial",
]


def snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def mutate(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    """One structural mutation of `case`'s bundle, drawn with `rng`."""
    ops: list[tuple[int, Callable[[Case, list[Case], random.Random], Mutation]]] = [
        (20, op_two_of_something),
        (10, op_drop),
        (10, op_swap),
        (10, op_type),
        (10, op_encoding),
        (5, op_truncate),
        (8, op_unknown_field),
        (5, op_key_spelling),
        (5, op_case),
        (4, op_media_type),
        (5, op_numbers),
        (4, op_duplicate_key),
        (5, op_checkpoint),
        (5, op_nested_body),
    ]
    total = sum(w for w, _ in ops)
    for _ in range(50):
        pick = rng.randrange(total)
        for weight, op in ops:
            if pick < weight:
                break
            pick -= weight
        try:
            return op(case, cases, rng)
        except Skip:
            continue
    raise Skip("no operator applies")


def dump(bundle: Any) -> str:
    return json.dumps(bundle, indent=2) + "\n"


def mutated(kind: str, path: Path_, description: str, bundle: Any) -> Mutation:
    return Mutation(kind, path_str(path), path_pattern(path), description, dump(bundle))


def donor(cases: list[Case], rng: random.Random, test: Callable[[Any], bool], not_case: Case | None = None) -> Case:
    pool = [c for c in cases if c is not not_case and test(c.bundle)]
    if not pool:
        raise Skip("no donor")
    return rng.choice(pool)


def add_second(items: list, how: str, where: Path_, case: Case, cases: list[Case], rng: random.Random) -> str:
    """A second element in `items` (at `where`): the first again ("same"), or
    the first at `where` of another bundle, after or before ours."""
    if how == "same":
        items.append(copy.deepcopy(items[0]))
        return f"{where[-1]}[0] twice"
    d = donor(cases, rng, lambda x: has(x, where + (0,)), case)
    theirs = copy.deepcopy(get(d.bundle, where + (0,)))
    if how == "donor-after":
        items.append(theirs)
    else:
        items.insert(0, theirs)
    return f"{d.name}'s {where[-1]}[0] {'after' if how == 'donor-after' else 'before'} ours"


def op_two_of_something(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    """Two of something the verifier expects once (checklist: "Two of something")."""
    b = copy.deepcopy(case.bundle)
    vm = b.get("verificationMaterial")
    if not isinstance(vm, dict):
        raise Skip("no verificationMaterial")
    choice = rng.choice(
        ["contents", "contents", "tlog", "tlog", "timestamp", "timestamp", "certs", "certs", "dsse-sigs", "dsse-sigs"]
    )
    if choice == "contents":
        if "messageSignature" in b and "dsseEnvelope" not in b:
            d = donor(cases, rng, lambda x: "dsseEnvelope" in x)
            b["dsseEnvelope"] = copy.deepcopy(d.bundle["dsseEnvelope"])
            order = rng.random() < 0.5
            if order:  # dsseEnvelope first in the text
                b = {
                    k: b[k] for k in ["mediaType", "verificationMaterial", "dsseEnvelope", "messageSignature"] if k in b
                } | b
            return mutated(
                "two-contents",
                ("dsseEnvelope",),
                f"add dsseEnvelope from {d.name} to a messageSignature bundle ({'before' if order else 'after'} it)",
                b,
            )
        if "dsseEnvelope" in b and "messageSignature" not in b:
            d = donor(cases, rng, lambda x: "messageSignature" in x)
            b["messageSignature"] = copy.deepcopy(d.bundle["messageSignature"])
            return mutated(
                "two-contents", ("messageSignature",), f"add messageSignature from {d.name} to a DSSE bundle", b
            )
        raise Skip("no single content")
    if choice == "tlog":
        entries = vm.get("tlogEntries")
        if not isinstance(entries, list) or not entries:
            raise Skip("no tlog entries")
        how = rng.choice(["same", "donor-after", "donor-before"])
        desc = "two tlog entries: " + add_second(
            entries, how, ("verificationMaterial", "tlogEntries"), case, cases, rng
        )
        return mutated("two-tlog-entries", ("verificationMaterial", "tlogEntries"), desc, b)
    if choice == "timestamp":
        tvd = vm.get("timestampVerificationData")
        ours = tvd.get("rfc3161Timestamps") if isinstance(tvd, dict) else None
        if isinstance(ours, list) and ours and rng.random() < 0.5:
            ours.append(copy.deepcopy(ours[0]))
            desc = "two timestamps: rfc3161Timestamps[0] twice"
        else:
            d = donor(
                cases,
                rng,
                lambda x: bool(
                    x.get("verificationMaterial", {}).get("timestampVerificationData", {}).get("rfc3161Timestamps")
                ),
                case,
            )
            theirs = copy.deepcopy(
                d.bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
            )
            if isinstance(ours, list):
                ours.append(theirs)
                desc = f"two timestamps: ours and {d.name}'s"
            else:
                vm["timestampVerificationData"] = {"rfc3161Timestamps": [theirs]}
                desc = f"a timestamp from {d.name} added to a bundle without one"
        return mutated(
            "two-timestamps", ("verificationMaterial", "timestampVerificationData", "rfc3161Timestamps"), desc, b
        )
    if choice == "certs":
        cert = vm.get("certificate")
        chain = vm.get("x509CertificateChain")
        how = rng.choice(["both", "chain-of-two"])
        if how == "both":
            if isinstance(cert, dict) and "x509CertificateChain" not in vm:
                vm["x509CertificateChain"] = {"certificates": [copy.deepcopy(cert)]}
                desc = "both certificate and x509CertificateChain (the same leaf)"
                where = ("verificationMaterial", "x509CertificateChain")
            elif isinstance(chain, dict) and chain.get("certificates") and "certificate" not in vm:
                vm["certificate"] = copy.deepcopy(chain["certificates"][0])
                desc = "both x509CertificateChain and certificate (the same leaf)"
                where = ("verificationMaterial", "certificate")
            else:
                raise Skip("no certificate")
        else:
            d = donor(
                cases, rng, lambda x: isinstance(x.get("verificationMaterial", {}).get("certificate"), dict), case
            )
            theirs = copy.deepcopy(d.bundle["verificationMaterial"]["certificate"])
            if isinstance(cert, dict):
                del vm["certificate"]
                first = rng.random() < 0.5
                vm["x509CertificateChain"] = {"certificates": [theirs, cert] if first else [cert, theirs]}
                desc = f"certificate turned into a chain of two with {d.name}'s leaf {'first' if first else 'second'}"
            elif isinstance(chain, dict) and isinstance(chain.get("certificates"), list):
                chain["certificates"].append(theirs)
                desc = f"{d.name}'s leaf appended to the chain"
            else:
                raise Skip("no certificate")
            where = ("verificationMaterial", "x509CertificateChain", "certificates")
        return mutated("two-certificates", where, desc, b)
    # dsse-sigs
    env = b.get("dsseEnvelope")
    if not isinstance(env, dict) or not isinstance(env.get("signatures"), list) or not env["signatures"]:
        raise Skip("no DSSE signatures")
    sigs = env["signatures"]
    how = rng.choice(["same", "same-keyid", "donor-after", "donor-before"])
    if how == "same-keyid":
        sigs.append(dict(sigs[0], keyid="other"))
        desc = 'two DSSE signatures: signatures[0] again with keyid "other"'
    else:
        desc = "two DSSE signatures: " + add_second(sigs, how, ("dsseEnvelope", "signatures"), case, cases, rng)
    return mutated("two-dsse-signatures", ("dsseEnvelope", "signatures"), desc, b)


def all_paths(b: Any, leaves_only: bool = False) -> list[Path_]:
    return [p for p, v in walk(b) if p and (not leaves_only or not isinstance(v, (dict, list)))]


def op_drop(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    b = copy.deepcopy(case.bundle)
    path = rng.choice(all_paths(b))
    delete(b, path)
    return mutated("drop", path, f"drop {path_str(path)}", b)


def op_swap(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    """The same field from another bundle."""
    b = copy.deepcopy(case.bundle)
    paths = all_paths(b)
    rng.shuffle(paths)
    for path in paths[:40]:
        here = get(b, path)
        donors = [c for c in cases if c is not case and has(c.bundle, path) and get(c.bundle, path) != here]
        if donors:
            d = rng.choice(donors)
            put(b, path, copy.deepcopy(get(d.bundle, path)))
            return mutated("swap", path, f"{path_str(path)} taken from {d.name}", b)
    raise Skip("nothing to swap")


def retype(value: Any, rng: random.Random) -> tuple[Any, str]:
    kinds = ["string", "number", "array", "object", "null", "bool"]
    current = {
        str: "string",
        int: "number",
        float: "number",
        list: "array",
        dict: "object",
        type(None): "null",
        bool: "bool",
    }[type(value)]
    target = rng.choice([k for k in kinds if k != current])
    if target == "string":
        new = json.dumps(value) if not isinstance(value, (int, float)) or isinstance(value, bool) else str(value)
    elif target == "number":
        new = (
            int(value)
            if isinstance(value, str) and NUM_RE.match(value)
            else (len(value) if isinstance(value, (str, list, dict)) else 1)
        )
    elif target == "array":
        new = [value]
    elif target == "object":
        new = {"value": value} if not isinstance(value, list) else {str(i): v for i, v in enumerate(value)}
    elif target == "null":
        new = None
    else:
        new = bool(value)
    return new, f"{current} -> {target}"


def op_type(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    b = copy.deepcopy(case.bundle)
    path = rng.choice(all_paths(b))
    new, how = retype(get(b, path), rng)
    put(b, path, new)
    return mutated("type", path, f"{path_str(path)}: {how}", b)


def b64_variants(s: str, rng: random.Random) -> tuple[str, str]:
    """Another spelling of the same bytes (or nearly: hex, with a space)."""
    raw = base64.b64decode(s)
    choices = ["url", "unpadded", "extra-pad", "newline", "space", "trailing-bits", "hex", "hex-upper", "url-unpadded"]
    how = rng.choice(choices)
    if how == "url":
        out = base64.urlsafe_b64encode(raw).decode()
    elif how == "url-unpadded":
        out = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    elif how == "unpadded":
        out = s.rstrip("=")
    elif how == "extra-pad":
        out = s + "=="
    elif how == "newline":
        k = rng.randrange(1, len(s))
        out = s[:k] + "\n" + s[k:]
    elif how == "space":
        out = rng.choice([" " + s, s + " ", s[: len(s) // 2] + " " + s[len(s) // 2 :]])
    elif how == "trailing-bits":
        # Same bytes, non-zero unused bits in the last character: only
        # lenient decoders (that ignore those bits) read it.
        pad = len(s) - len(s.rstrip("="))
        if pad == 0:
            raise Skip("no unused bits")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        data = s.rstrip("=")
        idx = alphabet.index(data[-1]) | rng.randrange(1, 4 if pad == 1 else 16)
        out = data[:-1] + alphabet[idx] + "=" * pad
        if out == s:
            raise Skip("unchanged")
    elif how == "hex":
        out = raw.hex()
    else:
        out = raw.hex().upper()
    if out == s:
        raise Skip("unchanged")
    return out, how


def op_encoding(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    """The same bytes spelled differently (base64url, padding, hex, …)."""
    b = copy.deepcopy(case.bundle)
    paths = [p for p, v in walk(b) if is_b64(v)]
    if not paths:
        raise Skip("no base64")
    path = rng.choice(paths)
    new, how = b64_variants(get(b, path), rng)
    put(b, path, new)
    return mutated(f"encoding:{how}", path, f"{path_str(path)} re-encoded as {how}", b)


def op_truncate(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    b = copy.deepcopy(case.bundle)
    paths = [p for p, v in walk(b) if isinstance(v, list) and v and p]
    if not paths:
        raise Skip("no array")
    path = rng.choice(paths)
    arr = get(b, path)
    n = rng.randrange(0, len(arr))
    put(b, path, arr[:n])
    return mutated("truncate", path, f"{path_str(path)} truncated from {len(arr)} to {n}", b)


def op_unknown_field(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    b = copy.deepcopy(case.bundle)
    objs = [p for p, v in walk(b) if isinstance(v, dict)]
    path = rng.choice(objs)
    obj = get(b, path)
    key = rng.choice(UNKNOWN_KEYS)
    if key in obj:
        raise Skip("key exists")
    siblings = [v for v in obj.values()]
    value = rng.choice(
        ["x", 1, None, [], {}, {"a": "b"}, True] + ([copy.deepcopy(rng.choice(siblings))] if siblings else [])
    )
    obj[key] = value
    return mutated(
        "unknown-field", path + (key,), f"add unknown field {key!r} = {json.dumps(value)[:60]} at {path_str(path)}", b
    )


def op_key_spelling(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    """A key in another spelling: snake_case (protobuf JSON's original field
    names, which the JSON mapping also accepts), or another case."""
    b = copy.deepcopy(case.bundle)
    keys = [p for p, _ in walk(b) if p and isinstance(p[-1], str)]
    path = rng.choice(keys)
    parent = get(b, path[:-1])
    old = path[-1]
    how = rng.choice(["snake", "lower", "upper-first"])
    new = {"snake": snake(old), "lower": old.lower(), "upper-first": old[:1].upper() + old[1:]}[how]
    if new == old or new in parent:
        raise Skip("same spelling")
    items = [(new if k == old else k, v) for k, v in parent.items()]
    parent.clear()
    parent.update(items)
    return mutated(f"key-spelling:{how}", path, f"key {path_str(path)} spelled {new!r}", b)


def op_case(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    """Another case of a (non-base64) string value: mediaType, kind, algorithm…"""
    b = copy.deepcopy(case.bundle)
    paths = [
        p for p, v in walk(b) if isinstance(v, str) and not is_b64(v) and any(ch.isalpha() for ch in v) and len(v) < 200
    ]
    if not paths:
        raise Skip("no text")
    path = rng.choice(paths)
    old = get(b, path)
    how = rng.choice(["upper", "lower", "swapcase"])
    new = getattr(old, how)()
    if new == old:
        raise Skip("same")
    put(b, path, new)
    return mutated(f"case:{how}", path, f"{path_str(path)} {old!r} -> {new!r}", b)


def op_media_type(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    b = copy.deepcopy(case.bundle)
    new = rng.choice(MEDIA_TYPES)
    if b.get("mediaType") == new:
        raise Skip("same")
    b["mediaType"] = new
    return mutated("media-type", ("mediaType",), f"mediaType -> {new!r}", b)


def op_numbers(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    """A number in another spelling or off by one (logIndex, treeSize, integratedTime)."""
    b = copy.deepcopy(case.bundle)
    paths = [
        p
        for p, v in walk(b)
        if (isinstance(v, str) and NUM_RE.match(v)) or (isinstance(v, int) and not isinstance(v, bool))
    ]
    if not paths:
        raise Skip("no numbers")
    path = rng.choice(paths)
    old = get(b, path)
    n = int(old)
    how = rng.choice(
        [
            "number",
            "leading-zero",
            "plus",
            "exponent",
            "float",
            "plus-one",
            "minus-one",
            "negative",
            "zero",
            "huge",
            "space",
        ]
    )
    new = {
        "number": n if isinstance(old, str) else str(n),
        "leading-zero": "0" + str(n),
        "plus": "+" + str(n),
        "exponent": f"{n}e0",
        "float": float(n) if isinstance(old, int) else f"{n}.0",
        "plus-one": type(old)(n + 1),
        "minus-one": type(old)(n - 1),
        "negative": type(old)(-n),
        "zero": type(old)(0),
        "huge": type(old)(2**64 + n),
        "space": f" {n}",
    }[how]
    if new == old and type(new) is type(old):
        raise Skip("same")
    put(b, path, new)
    return mutated(f"number:{how}", path, f"{path_str(path)} {json.dumps(old)} -> {json.dumps(new)}", b)


class Pairs(list):
    """A JSON object as (key, value) pairs: it can hold a key twice."""


def dump_pairs(value: Any) -> str:
    if isinstance(value, Pairs):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump_pairs(v)}" for k, v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump_pairs(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump_pairs(v) for v in value) + "]"
    return json.dumps(value)


def op_duplicate_key(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    """The same key twice in one JSON object: two readers may take different
    ones (checklist: duplicate JSON keys)."""
    b = copy.deepcopy(case.bundle)
    objs = [p for p, v in walk(b) if isinstance(v, dict) and v]
    path = rng.choice(objs)
    obj = get(b, path)
    key = rng.choice(list(obj))
    # The other value: the same field from another bundle, else a type change.
    donors = [
        c for c in cases if c is not case and has(c.bundle, path + (key,)) and get(c.bundle, path + (key,)) != obj[key]
    ]
    if donors and rng.random() < 0.7:
        d = rng.choice(donors)
        other = copy.deepcopy(get(d.bundle, path + (key,)))
        whence = f"{d.name}'s"
    else:
        other, how = retype(obj[key], rng)
        whence = f"a retyped ({how})"
    first = rng.random() < 0.5
    pairs = Pairs()
    for k, v in obj.items():
        if k == key:
            pairs += [(k, other), (k, v)] if first else [(k, v), (k, other)]
        else:
            pairs.append((k, v))
    if path:
        put(b, path, pairs)
    else:
        b = pairs
    where = path + (key,)
    return Mutation(
        "duplicate-key",
        path_str(where),
        path_pattern(where),
        f"key {path_str(where)} twice, {whence} value {'first' if first else 'last'}",
        dump_pairs(b) + "\n",
    )


def checkpoint_paths(b: Any) -> list[Path_]:
    return [p for p, v in walk(b) if p and p[-1] == "envelope" and isinstance(v, str) and "\n\n" in v]


def op_checkpoint(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    """The signed note of an inclusion proof: lines added, dropped, reordered
    (checklist: "Where verification stops")."""
    b = copy.deepcopy(case.bundle)
    paths = checkpoint_paths(b)
    if not paths:
        raise Skip("no checkpoint")
    path = rng.choice(paths)
    note = get(b, path)
    body, _, sigs = note.partition("\n\n")
    sig_lines = [s for s in sigs.split("\n") if s]
    body_lines = body.split("\n")
    how = rng.choice(
        [
            "dup-sig",
            "donor-sig-first",
            "donor-sig-last",
            "drop-sigs",
            "reverse-sigs",
            "crlf",
            "no-final-newline",
            "extra-body-line",
            "drop-body-line",
            "blank-line",
        ]
    )
    if how == "dup-sig":
        sig_lines = sig_lines + sig_lines[:1]
    elif how in ("donor-sig-first", "donor-sig-last"):
        others = [get(c.bundle, p) for c in cases for p in checkpoint_paths(c.bundle) if c is not case]
        if not others:
            raise Skip("no donor")
        theirs = [s for s in rng.choice(others).partition("\n\n")[2].split("\n") if s]
        sig_lines = theirs[:1] + sig_lines if how == "donor-sig-first" else sig_lines + theirs[:1]
    elif how == "drop-sigs":
        sig_lines = []
    elif how == "reverse-sigs":
        if len(sig_lines) < 2:
            raise Skip("one signature")
        sig_lines = sig_lines[::-1]
    elif how == "extra-body-line":
        body_lines.insert(rng.randrange(1, len(body_lines) + 1), "extension line")
    elif how == "drop-body-line":
        del body_lines[rng.randrange(len(body_lines))]
    new = "\n".join(body_lines) + "\n\n" + "".join(s + "\n" for s in sig_lines)
    if how == "crlf":
        new = note.replace("\n", "\r\n")
    elif how == "no-final-newline":
        new = note.rstrip("\n")
    elif how == "blank-line":
        new = note.replace("\n\n", "\n\n\n", 1)
    if new == note:
        raise Skip("same")
    put(b, path, new)
    return mutated(f"checkpoint:{how}", path, f"checkpoint note at {path_str(path)}: {how}", b)


def op_nested_body(case: Case, cases: list[Case], rng: random.Random) -> Mutation:
    """The log entry's canonicalized body (base64 JSON, covered by the SET
    and the inclusion proof): its JSON mutated and re-encoded."""
    b = copy.deepcopy(case.bundle)
    paths = [p for p, v in walk(b) if p and p[-1] == "canonicalizedBody" and isinstance(v, str)]
    if not paths:
        raise Skip("no body")
    path = rng.choice(paths)
    try:
        body = json.loads(base64.b64decode(get(b, path)))
    except ValueError:
        raise Skip("body not JSON")
    how = rng.choice(["hex-upper", "unknown-field", "drop", "retype", "reserialize"])
    inner = [p for p, v in walk(body) if p]
    if how == "hex-upper":
        hexes = [p for p, v in walk(body) if isinstance(v, str) and re.fullmatch(r"[0-9a-f]{32,}", v)]
        if not hexes:
            raise Skip("no hex")
        p = rng.choice(hexes)
        put(body, p, get(body, p).upper())
    elif how == "unknown-field":
        objs = [p for p, v in walk(body) if isinstance(v, dict)]
        p = rng.choice(objs) + ("unknown",)
        put(body, p, "x")
    elif how == "drop":
        p = rng.choice(inner)
        delete(body, p)
    elif how == "retype":
        p = rng.choice(inner)
        put(body, p, retype(get(body, p), rng)[0])
    else:
        p = ()  # same JSON, other whitespace: the bytes change, the value does not
    text = json.dumps(body, indent=1) if how == "reserialize" else json.dumps(body, separators=(",", ":"))
    put(b, path, base64.b64encode(text.encode()).decode())
    return mutated(f"body:{how}", path + p, f"canonicalizedBody {how} at {path_str(p)}", b)


def generate(cases: list[Case], seed: int, index: int) -> tuple[Case, Mutation]:
    """Mutation number `index` of `seed`: depends only on (seed, index)."""
    rng = random.Random(f"{seed}:{index}")
    weights = [3 if c.toto.get("ok") else 1 for c in cases]
    while True:
        case = rng.choices(cases, weights)[0]
        try:
            m = mutate(case, cases, rng)
        except Skip:
            continue
        return case, m


# ---------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------


class Python:
    """sigstore-python 4.5.1 in this process, as its CLI's `verify identity`
    decides (`_cli._verify_common`): DSSE bundles by `verify_dsse` and the
    Statement's sha256 subjects, others by `verify_artifact`."""

    def __init__(self) -> None:
        import logging

        import sigstore  # noqa: F401  (fail early when the venv is wrong)

        # Warnings such as "this bundle contains a root CA" would flood stderr.
        logging.getLogger("sigstore").setLevel(logging.ERROR)

        self.verifiers: dict[Path, Any] = {}
        self.version = sigstore.__version__

    def verifier(self, root: Path) -> Any:
        from sigstore.models import TrustedRoot
        from sigstore.verify import Verifier

        if root not in self.verifiers:
            try:
                self.verifiers[root] = Verifier(trusted_root=TrustedRoot.from_file(str(root)))
            except Exception as e:  # a broken trusted root refuses every bundle
                self.verifiers[root] = e
        return self.verifiers[root]

    def verify(self, text: str, artifact: bytes, identity: str, issuer: str, root: Path) -> dict:
        from sigstore import dsse
        from sigstore._utils import sha256_digest
        from sigstore.errors import Error, VerificationError
        from sigstore.models import Bundle
        from sigstore.verify.policy import Identity

        verifier = self.verifier(root)
        if isinstance(verifier, Exception):
            return {"ok": False, "reason": f"trusted root: {type(verifier).__name__}: {verifier}"[:400]}
        try:
            bundle = Bundle.from_json(text)
            policy = Identity(identity=identity, issuer=issuer)
            hashed = sha256_digest(artifact)
            if bundle._dsse_envelope:
                type_, payload = verifier.verify_dsse(bundle=bundle, policy=policy)
                if type_ != dsse.Envelope._TYPE:
                    raise VerificationError(f"expected JSON payload for DSSE, got {type_}")
                if not dsse.Statement(payload)._matches_digest(hashed):
                    raise VerificationError(f"in-toto statement has no subject for digest {hashed.digest.hex()}")
            else:
                verifier.verify_artifact(input_=hashed, bundle=bundle, policy=policy)
            return {"ok": True, "reason": ""}
        except Error as e:
            return {"ok": False, "reason": f"{type(e).__name__}: {e}"[:400]}
        except Exception as e:  # not one of sigstore's errors: note it as a crash
            return {"ok": False, "crash": True, "reason": f"{type(e).__name__}: {e}"[:400]}


def toto_batch(toto: Path, case: Case, files: list[Path], env: dict) -> dict[str, dict]:
    """toto's verdicts on `files` (mutations of one case), one invocation per
    chunk, `--format json`, keyed by file path."""
    out: dict[str, dict] = {}
    for start in range(0, len(files), 500):
        chunk = files[start : start + 500]
        cmd = [str(toto), "verify-bundle", "--format", "json"]
        for f in chunk:
            cmd += ["--bundle", str(f)]
        cmd += [
            "--certificate-identity",
            case.identity,
            "--certificate-oidc-issuer",
            case.issuer,
            "--trusted-root",
            str(case.trusted_root),
            str(case.artifact),
        ]
        run = subprocess.run(cmd, capture_output=True, text=True, env=env)
        for line in run.stdout.splitlines():
            try:
                v = json.loads(line)
            except ValueError:
                continue
            out[v.get("bundle", "")] = {"ok": v.get("verified") is True, "reason": v.get("error", "")}
        for f in chunk:
            if str(f) not in out:  # the whole invocation failed (exit 2 before any bundle)
                out[str(f)] = {
                    "ok": False,
                    "reason": f"exit {run.returncode}: {run.stderr.strip()[:400]}",
                    "no-line": True,
                }
    return out


def toto_command(toto: Path, case: Case, bundle: str) -> str:
    words = [str(toto), "verify-bundle", "--bundle", bundle, "--certificate-identity", case.identity]
    words += ["--certificate-oidc-issuer", case.issuer, "--trusted-root", str(case.trusted_root), str(case.artifact)]
    return " ".join(shlex.quote(w) for w in words)


def python_command(case: Case, bundle: str) -> str:
    return " ".join(
        shlex.quote(w)
        for w in [sys.executable, str(Path(__file__).resolve()), "check", "--bundle", bundle, "--case", case.name]
    )


def verdict(v: dict) -> str:
    return "accept" if v["ok"] else "refuse"


# ---------------------------------------------------------------------------
# The campaign
# ---------------------------------------------------------------------------


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def baseline(cases: list[Case], py: Python, toto: Path, work: Path, env: dict) -> None:
    for i, case in enumerate(cases):
        f = work / f"base-{i}.sigstore.json"
        f.write_text(dump(case.bundle))
        case.toto = toto_batch(toto, case, [f], env)[str(f)]
        case.python = py.verify(
            dump(case.bundle), case.artifact.read_bytes(), case.identity, case.issuer, case.trusted_root
        )


def cmd_run(args: argparse.Namespace) -> int:
    toto = Path(args.toto).resolve()
    results = Path(args.results).resolve()
    if results.exists():
        shutil.rmtree(results)
    (results / "disagreements").mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="toto-differential-"))
    env = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"), NO_COLOR="1")
    py = Python()
    started = time.monotonic()
    cases, skipped = load_cases()
    baseline(cases, py, toto, work, env)
    agreeing = [c for c in cases if c.toto["ok"] == c.python["ok"]]
    base_rows = [
        {
            "case": c.name,
            "content": c.content,
            "toto": verdict(c.toto),
            "python": verdict(c.python),
            "toto_reason": c.toto["reason"],
            "python_reason": c.python["reason"],
        }
        for c in cases
    ]
    (results / "bases.json").write_text(json.dumps({"skipped": skipped, "bases": base_rows}, indent=2) + "\n")
    print(
        f"{len(cases)} bases ({sum(c.toto['ok'] for c in agreeing)} accepted by both), "
        f"{len(cases) - len(agreeing)} left out (verdicts differ unmutated), {len(skipped)} skipped",
        file=sys.stderr,
    )

    tally = {
        "mutations": 0,
        "both_accept": 0,
        "both_refuse": 0,
        "toto_only_accept": 0,
        "python_only_accept": 0,
        "python_crash": 0,
    }
    seen: set[str] = set()
    rows = open(results / "all.jsonl", "w")
    dis = open(results / "disagreements.jsonl", "w")
    clocks = []
    index = 0
    by_kind: dict[str, dict[str, int]] = {}
    while tally["mutations"] < args.count:
        batch: list[tuple[int, Case, Mutation, Path]] = []
        bdir = work / "batch"
        if bdir.exists():
            shutil.rmtree(bdir)
        bdir.mkdir()
        while len(batch) < min(args.batch, args.count - tally["mutations"]):
            i = index
            index += 1
            case, m = generate(agreeing, args.seed, i)
            digest = hashlib.sha256(m.text.encode()).hexdigest()
            if digest in seen or m.text == dump(case.bundle):
                continue
            seen.add(digest)
            f = bdir / f"m{i:06d}.sigstore.json"
            f.write_text(m.text)
            batch.append((i, case, m, f))
        t0 = now()
        by_case: dict[int, list[Path]] = {}
        for _, case, _, f in batch:
            by_case.setdefault(id(case), []).append(f)
        case_of = {id(c): c for _, c, _, _ in batch}
        toto_out: dict[str, dict] = {}

        def run_toto() -> None:
            for key, files in by_case.items():
                toto_out.update(toto_batch(toto, case_of[key], files, env))

        thread = threading.Thread(target=run_toto)
        thread.start()
        artifacts: dict[Path, bytes] = {}
        py_out = {}
        for i, case, m, f in batch:
            data = artifacts.setdefault(case.artifact, case.artifact.read_bytes())
            py_out[i] = py.verify(m.text, data, case.identity, case.issuer, case.trusted_root)
        thread.join()
        clocks.append({"batch_start": t0, "batch_end": now(), "mutations": len(batch)})
        for i, case, m, f in batch:
            t, p = toto_out[str(f)], py_out[i]
            tally["mutations"] += 1
            tally["python_crash"] += bool(p.get("crash"))
            if t["ok"] and p["ok"]:
                outcome = "both_accept"
            elif not t["ok"] and not p["ok"]:
                outcome = "both_refuse"
            elif t["ok"]:
                outcome = "toto_only_accept"
            else:
                outcome = "python_only_accept"
            tally[outcome] += 1
            k = by_kind.setdefault(m.kind.split(":")[0], {})
            k[outcome] = k.get(outcome, 0) + 1
            row = {
                "index": i,
                "case": case.name,
                "content": case.content,
                "kind": m.kind,
                "path": m.path,
                "pattern": m.pattern,
                "description": m.description,
                "outcome": outcome,
                "toto": t,
                "python": p,
            }
            rows.write(json.dumps(row) + "\n")
            if outcome in ("toto_only_accept", "python_only_accept"):
                kept = results / "disagreements" / f"m{i:06d}.sigstore.json"
                shutil.copy(f, kept)
                row["bundle"] = str(kept)
                row["toto_command"] = toto_command(toto, case, str(kept))
                row["python_command"] = python_command(case, str(kept))
                dis.write(json.dumps(row) + "\n")
        print(f"{now()} {tally}", file=sys.stderr)
    rows.close()
    dis.close()
    shutil.rmtree(work)
    elapsed = time.monotonic() - started
    summarize(results, args, tally, by_kind, clocks, elapsed, py.version, toto, cases, agreeing, skipped)
    print((results / "summary.md").read_text())
    return 0


def one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def class_of(r: dict) -> tuple:
    """Disagreements are grouped by outcome, operator and path (indices
    erased; an added unknown field's name erased too), and content type."""
    pattern = r["pattern"]
    if r["kind"] == "unknown-field":
        pattern = re.sub(r"\.?[^.\[\]]+$", "", pattern) + ".<unknown>"
    return (r["outcome"], r["kind"], pattern, r["content"])


def summarize(results, args, tally, by_kind, clocks, elapsed, py_version, toto, cases, agreeing, skipped) -> None:
    classes: dict[tuple, dict] = {}
    for line in open(results / "disagreements.jsonl"):
        r = json.loads(line)
        c = classes.setdefault(class_of(r), {"count": 0, "cases": set(), "example": r})
        c["count"] += 1
        c["cases"].add(r["case"])
    toto_version = subprocess.run([str(toto), "--version"], capture_output=True, text=True).stdout.strip()
    md = [
        "# Differential run: toto verify-bundle vs sigstore-python",
        "",
        f"- command: `scripts/differential-bundles {args.count} {args.seed}` (results in `{results}`)",
        f"- toto: `{toto}` ({toto_version}); sigstore-python {py_version}",
        f"- clock: both read the system clock; first batch {clocks[0]['batch_start'] if clocks else '-'}, "
        f"last batch ended {clocks[-1]['batch_end'] if clocks else '-'}",
        f"- elapsed: {elapsed:.0f} s",
        f"- bases: {len(agreeing)} mutated ({sum(1 for c in agreeing if c.toto['ok'])} accepted by both, "
        f"{sum(1 for c in agreeing if not c.toto['ok'])} refused by both); "
        f"{len(cases) - len(agreeing)} left out because the verdicts already differ unmutated; "
        f"{len(skipped)} skipped (see bases.json)",
        "",
        "## Tally",
        "",
        "| mutations | both accept | both refuse | toto-only accept | python-only accept | python crashed (counted as refusal) |",
        "|---|---|---|---|---|---|",
        f"| {tally['mutations']} | {tally['both_accept']} | {tally['both_refuse']} | {tally['toto_only_accept']} "
        f"| {tally['python_only_accept']} | {tally['python_crash']} |",
        "",
        "## By operator",
        "",
        "| operator | both accept | both refuse | toto-only accept | python-only accept |",
        "|---|---|---|---|---|",
    ]
    for kind in sorted(by_kind):
        k = by_kind[kind]
        md.append(
            f"| {kind} | {k.get('both_accept', 0)} | {k.get('both_refuse', 0)} "
            f"| {k.get('toto_only_accept', 0)} | {k.get('python_only_accept', 0)} |"
        )
    md += ["", "## Bases left out (verdicts differ unmutated)", ""]
    for c in cases:
        if c not in agreeing:
            md.append(
                f"- {c.name}: toto {verdict(c.toto)} {one_line(c.toto['reason'])}; "
                f"python {verdict(c.python)} {one_line(c.python['reason'])}"
            )
    md += ["", "## Skipped inputs", ""] + [f"- {s}" for s in skipped]
    for outcome in ("toto_only_accept", "python_only_accept"):
        md += [
            "",
            f"## Disagreement classes: {outcome.replace('_', '-')}",
            "",
            "Each row is one class; `m<N>` is the example's bundle in `disagreements/` "
            "(its commands are in disagreements.jsonl).",
            "",
            "| operator | path | content | mutations | bases | example | toto says | sigstore-python says |",
            "|---|---|---|---|---|---|---|---|",
        ]
        rows = sorted(((k, v) for k, v in classes.items() if k[0] == outcome), key=lambda kv: (kv[0][1], kv[0][2]))
        for (_, kind, pattern, content), c in rows:
            r = c["example"]
            reason = r["python"]["reason"] if outcome == "toto_only_accept" else r["toto"]["reason"]
            md.append(
                f"| {kind} | `{pattern}` | {content} | {c['count']} | {len(c['cases'])} "
                f"| m{r['index']:06d} ({r['case']}: {one_line(r['description'], 120)}) "
                f"| {'accept' if outcome == 'toto_only_accept' else one_line(reason)} "
                f"| {one_line(reason) if outcome == 'toto_only_accept' else 'accept'} |"
            )
    (results / "summary.md").write_text("\n".join(md) + "\n")
    (results / "summary.json").write_text(
        json.dumps(
            {
                "tally": tally,
                "by_operator": by_kind,
                "clocks": clocks,
                "elapsed_seconds": round(elapsed),
                "classes": [
                    {
                        "outcome": k[0],
                        "kind": k[1],
                        "pattern": k[2],
                        "content": k[3],
                        "count": v["count"],
                        "bases": sorted(v["cases"]),
                        "example": v["example"]["index"],
                    }
                    for k, v in classes.items()
                ],
            },
            indent=2,
        )
        + "\n"
    )


def find_case(name: str) -> Case:
    cases, _ = load_cases()
    for c in cases:
        if c.name == name:
            return c
    sys.exit(f"no case {name!r}; cases: {', '.join(c.name for c in cases)}")


def cmd_check(args: argparse.Namespace) -> int:
    case = find_case(args.case)
    text = Path(args.bundle).read_text()
    v = Python().verify(text, case.artifact.read_bytes(), case.identity, case.issuer, case.trusted_root)
    print(json.dumps({"python": verdict(v), **v}))
    return 0 if v["ok"] else 1


def cmd_show(args: argparse.Namespace) -> int:
    """Mutation N of SEED. The base set and weights depend on the baseline,
    so this needs the bases.json of the run."""
    bases = json.loads((Path(args.results) / "bases.json").read_text())["bases"]
    verdicts = {b["case"]: b for b in bases}
    cases, _ = load_cases()
    agreeing = []
    for c in cases:
        b = verdicts.get(c.name)
        if b and b["toto"] == b["python"]:
            c.toto = {"ok": b["toto"] == "accept"}
            agreeing.append(c)
    case, m = generate(agreeing, args.seed, args.index)
    Path(args.out).write_text(m.text)
    print(json.dumps({"case": case.name, "kind": m.kind, "path": m.path, "description": m.description}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--seed", type=int, required=True)
    r.add_argument("--toto", required=True)
    r.add_argument("--results", required=True)
    r.add_argument("--batch", type=int, default=1000)
    c = sub.add_parser("check")
    c.add_argument("--bundle", required=True)
    c.add_argument("--case", required=True)
    s = sub.add_parser("show")
    s.add_argument("--results", required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--index", type=int, required=True)
    s.add_argument("--out", required=True)
    args = ap.parse_args()
    return {"run": cmd_run, "check": cmd_check, "show": cmd_show}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
